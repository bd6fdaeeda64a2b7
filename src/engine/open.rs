//! Opening a recording session: its folder (0700), journal and the audio thread. Split from
//! the engine so a front end can run it off its own loop ([`super::Engine::opener`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc::UnboundedSender;

use super::settle::Note;
use super::{EngineConfig, EngineEvent, Outlets, Recording, Source, on_audio_event};
use crate::audio::pipeline::{self, AudioEvent, PipelineConfig};
use crate::pool::{Context, Submitter};
use crate::session::{self, Entry, Journal};
use crate::store::Store;
use crate::vocab::{RecordingId, UtteranceId};

/// A recording opened by [`Engine::opener`], not yet adopted.
pub struct Opened {
    pub(super) recording: Recording,
    pub(super) input: String,
    pub(super) session_dir: PathBuf,
}

/// Makes the session folder and journal and starts the audio thread on `source`.
pub(super) fn open_recording(
    cfg: &EngineConfig,
    source: Source,
    rec: RecordingId,
    (events, notes): (UnboundedSender<EngineEvent>, UnboundedSender<Note>),
    submitter: Submitter,
    next_id: Arc<AtomicU64>,
) -> anyhow::Result<Opened> {
    let dir = new_session_dir(&cfg.sessions_dir)?;
    let held = session::lock(&dir, "recording")?;
    let journal = Arc::new(Journal::open(&dir)?.holding(held));
    journal.append(
        &Entry::SessionStarted {
            time: session::now_text(),
            input: describe(&source),
            model: cfg.model.display().to_string(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        true,
    )?;
    let store = Store::new(journal.clone())?;
    let vad: pipeline::VadFactory = Box::new(crate::audio::vad::silero);
    let first_id = UtteranceId(next_id.load(Ordering::SeqCst));
    let out = Outlets {
        rec,
        events,
        notes,
        pool: submitter,
        journal,
        context: Arc::new(Context::new(cfg.context_chars)),
        settle: cfg.settle_pause.is_some(),
    };
    let emit = move |ev: AudioEvent| {
        if let AudioEvent::Utterance(utt) = &ev {
            next_id.fetch_max(utt.id.0 + 1, Ordering::SeqCst);
        }
        on_audio_event(ev, &out)
    };
    let pcfg = PipelineConfig {
        segmenter: cfg.segmenter.clone(),
        store,
        first_id,
        interim_every: cfg.interim,
        settle_pause: cfg.settle_pause,
        speculate: cfg.speculate,
        probe: None,
    };
    let (thread, control, input) = pipeline::spawn(source, pcfg, vad, emit)?;
    Ok(Opened {
        recording: Recording {
            rec,
            control,
            thread: Some(thread),
        },
        input,
        session_dir: dir,
    })
}

/// `sessions/2026-11-25T21-10-58` (+ `-2`, `-3` … if two start in the same second), mode 0700:
/// the audio is the user's speech.
fn new_session_dir(root: &std::path::Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let stamp = session_stamp();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|e| anyhow::anyhow!("cannot create sessions folder '{}': {e}", root.display()))?;
    for n in 1..1000 {
        let name = if n == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = root.join(name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => anyhow::bail!("cannot create session folder '{}': {e}", dir.display()),
        }
    }
    anyhow::bail!("cannot create a session folder in '{}'", root.display())
}

fn session_stamp() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]-[minute]-[second]");
    now.format(&fmt).unwrap_or_else(|_| "session".into())
}

fn describe(source: &Source) -> String {
    match source {
        Source::Device(Some(d)) => d.clone(),
        Source::Device(None) => "default input".into(),
        Source::File { path, .. } if crate::audio::wav::is_stdin(path) => "standard input".into(),
        Source::File { path, .. } => path.display().to_string(),
    }
}
