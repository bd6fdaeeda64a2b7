//! The engine ties the audio thread to the worker pool and reports everything that happens as
//! [`EngineEvent`]s on a tokio channel. Both front ends (the TUI and `--headless`) drive it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::audio::Level;
use crate::audio::pipeline::{AudioEvent, Control};
use crate::protocol::Transcript;
use crate::session::{self, Journal};
use crate::vocab::{RecordingId, Span, UtteranceId, UtteranceRef};

mod drive;
pub mod interim;
pub mod junction;
mod open;
mod results;
pub mod settle;

pub use drive::Drive;
pub use open::Opened;
use open::open_recording;

pub use crate::pool::JobFailure;
use crate::pool::{Context, Job, Origin, Pool, PoolConfig, Submitter, WorkerSpec};

pub use crate::audio::source::Source;

/// Everything the front ends hear about. Events about a recording name it (`rec`): a late
/// result of an earlier recording is never taken for the current one's.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// The recording started on this input (device name or file path).
    RecordingStarted {
        rec: RecordingId,
        input: String,
        session_dir: PathBuf,
    },
    /// Input level and speech probability, about 20 times a second while recording.
    Level(Level),
    /// The VAD opened an utterance (speech is being heard).
    SpeechStarted {
        rec: RecordingId,
        id: UtteranceId,
        start_s: f64,
    },
    /// The open utterance turned out to be a blip (shorter than the minimum) and was dropped;
    /// the next `SpeechStarted` reuses its id (ids of queued utterances have no gaps).
    SpeechDiscarded { rec: RecordingId, id: UtteranceId },
    /// An utterance was closed, written to disk and queued for transcription.
    Queued { rec: RecordingId, utt: UtteranceRef },
    /// A worker took the job.
    Transcribing {
        rec: RecordingId,
        id: UtteranceId,
        worker: usize,
    },
    /// The final text of an utterance.
    Transcribed { rec: RecordingId, text: Transcript },
    /// An utterance could not be transcribed; its audio stays on disk at `wav`.
    Failed {
        rec: RecordingId,
        id: UtteranceId,
        reason: JobFailure,
        wav: PathBuf,
    },
    /// Something the user should know that is not fatal (a worker was replaced, overruns).
    Notice(String),
    /// Recording moved to this input ([`Engine::switch_input`]), in the same session.
    InputSwitched { rec: RecordingId, input: String },
    /// The microphone went away or came back (the recording holds on meanwhile).
    Input {
        rec: RecordingId,
        status: InputStatus,
    },
    /// The recording ended (stop, or the input file finished): no more utterances follow.
    RecordingStopped { rec: RecordingId },
    /// The audio source failed (device lost, unreadable file).
    SourceError { rec: RecordingId, reason: String },
    /// Interim text of the utterance still being spoken: `stable` is what two consecutive
    /// passes agreed on (it only grows), `tentative` the rest of the newest pass.
    Interim {
        rec: RecordingId,
        id: UtteranceId,
        stable: String,
        tentative: String,
    },
    /// Interim passes were turned off because the workers cannot keep up (the reason, for
    /// the user, also goes out as a `Notice`); the front end says live text is off.
    InterimOff(String),
    /// They are back on: final passes have been quick for a while (`engine/interim.rs`).
    InterimOn,
    /// An utterance of an earlier session queued by [`Engine::resume_in_background`] got its
    /// text (`error: None`) or failed; either way the result is in that session's journal.
    Resumed {
        id: UtteranceId,
        span: Span,
        /// Its text (`None` when it failed).
        text: Option<String>,
        error: Option<String>,
    },
    /// A settle pass re-decoded utterances `ids` of recording `rec` as one piece: their new
    /// texts (journaled as `settled`), or why their first texts stand.
    Settled {
        rec: RecordingId,
        ids: Vec<UtteranceId>,
        texts: Result<Vec<(UtteranceId, String)>, String>,
        worker_ms: f64,
    },
    /// Recording `rec` has stopped and nothing of it is left to settle (after its last
    /// `Settled`, or at once when the settle pass is off): its texts are final.
    RecordingSettled { rec: RecordingId },
    /// Worker pool state changed (`ready`: a worker has loaded its model).
    Workers {
        busy: usize,
        idle: usize,
        queued: usize,
        ready: bool,
    },
}

/// What happened to the microphone of a running recording.
#[derive(Debug, Clone, PartialEq)]
pub enum InputStatus {
    /// A stream error or no audio for a second: the open utterance was closed and queued,
    /// and the device is tried again every 500 ms.
    Lost { reason: String },
    /// The device opened again; recording continues in the same session.
    Back { input: String },
}

impl std::fmt::Display for InputStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputStatus::Lost { reason } => {
                write!(f, "{reason}; recording is on hold until it is back")
            }
            InputStatus::Back { input } => {
                write!(f, "input '{input}' is back; recording continues")
            }
        }
    }
}

/// Settings the engine needs (resolved from CLI + config by the caller).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub model: PathBuf,
    pub workers: usize,
    pub threads: usize,
    pub language: Option<String>,
    pub max_attempts: u32,
    pub segmenter: crate::audio::segmenter::SegmenterConfig,
    /// Folder under which each recording session gets its own folder of utterance WAVs.
    pub sessions_dir: PathBuf,
    /// Interim passes over the open utterance this often (None: off).
    pub interim: Option<Duration>,
    /// Characters of the text before an utterance in its prompt (0: none; see
    /// [`crate::pool::context`]).
    pub context_chars: usize,
    /// Silence after which the utterances since the last settle are decoded again as one
    /// piece (None: no settle pass; see [`settle`]).
    pub settle_pause: Option<Duration>,
    /// Speculative finals once the speaker has been quiet this many ms (live input only;
    /// None: off; see `pool/speculate.rs`).
    pub speculate: Option<u32>,
    /// How workers are started (default: this binary in worker mode).
    pub worker: Option<WorkerSpec>,
}

impl EngineConfig {
    /// From the resolved settings: the model found on the search path, this binary's worker
    /// mode, sessions in `sessions_dir` (or the data dir), interim passes off.
    pub fn from_config(cfg: &crate::config::Config) -> anyhow::Result<EngineConfig> {
        let model = crate::paths::resolve_model(&cfg.model, cfg.models_dir.as_deref())?;
        // Before any worker loads it: whisper.cpp trusts the file's sizes.
        let info = crate::models::check::check_ggml(&model)?;
        if let Some(lang) = cfg.language.as_deref()
            && !info.is_multilingual()
            && !matches!(lang, "en" | "english" | "auto")
        {
            anyhow::bail!(
                "model '{}' is English-only and cannot transcribe language '{}'; choose a multilingual model (e.g. --model base) or drop --language",
                model.display(),
                crate::inert::inert_line(lang)
            );
        }
        let worker = Some(crate::pool::WorkerSpec::for_config(cfg, &model)?);
        Ok(EngineConfig {
            model,
            workers: cfg.workers,
            threads: cfg.threads,
            language: cfg.language.clone(),
            max_attempts: cfg.max_attempts,
            segmenter: cfg.segmenter.clone(),
            sessions_dir: cfg
                .sessions_dir
                .clone()
                .unwrap_or_else(crate::paths::sessions_dir),
            interim: None,
            context_chars: context_chars(cfg.context_chars),
            settle_pause: settle_pause(cfg.settle_pause_s),
            speculate: speculate(cfg.speculative_finals),
            worker,
        })
    }
}

/// The config's `context_chars`, or `RECORDER_CONTEXT_CHARS` when set (for measurement).
fn context_chars(configured: usize) -> usize {
    std::env::var("RECORDER_CONTEXT_CHARS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(configured)
}

/// The config's `settle_pause_s` (0: off), or `RECORDER_SETTLE_PAUSE_S` when set (for
/// measurement).
fn settle_pause(configured: f64) -> Option<Duration> {
    let s = std::env::var("RECORDER_SETTLE_PAUSE_S")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(configured);
    (s > 0.0 && s.is_finite()).then(|| Duration::from_secs_f64(s))
}

/// How long the speaker must have been quiet before a speculative final starts: the whole
/// post-roll (300 ms), so that the speculation decodes exactly the utterance's audio. At
/// 96 ms (`RECORDER_SPECULATE=96`: the unheard rest of the post-roll decoded as silence)
/// the median speech end -> final was ~0.1-0.2 s lower, but through the microphone JFK's
/// "Americans" once came out "America" (CI, tests/live.rs): a word's last fricative can
/// sit under the VAD's 0.15 past 96 ms.
pub const SPECULATE_AFTER_MS: u32 = 300;

/// The config's `speculative_finals`, or `RECORDER_SPECULATE` when set (for measurement:
/// `0` off, or after how many ms of quiet).
fn speculate(configured: bool) -> Option<u32> {
    match std::env::var("RECORDER_SPECULATE").ok() {
        Some(v) => v.trim().parse().ok().filter(|&ms| ms > 0),
        None => configured.then_some(SPECULATE_AFTER_MS),
    }
}

/// The running engine: a warm worker pool plus, while recording, the audio thread.
pub struct Engine {
    cfg: EngineConfig,
    pool: Pool,
    submitter: Submitter,
    events: UnboundedSender<EngineEvent>,
    /// Notes for the settler (in the results task) from the audio threads.
    notes: UnboundedSender<settle::Note>,
    recording: Option<Recording>,
    /// Next utterance id: ids are unique over the engine's life, across sessions.
    next_id: Arc<AtomicU64>,
    /// The last recording's id (recordings and foreground resumes count from 1).
    last_rec: RecordingId,
}

struct Recording {
    rec: RecordingId,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the worker pool (workers load the model in the background) and returns the event
    /// stream. ONNX Runtime must have been initialised ([`crate::ortlib::init`]).
    pub fn new(cfg: EngineConfig) -> anyhow::Result<(Engine, UnboundedReceiver<EngineEvent>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (pool_tx, pool_rx) = mpsc::unbounded_channel();
        let spec = match &cfg.worker {
            Some(s) => s.clone(),
            None => WorkerSpec::this_binary(&cfg.model, cfg.threads, cfg.language.as_deref())?,
        };
        let mut pool_cfg = PoolConfig::new(cfg.workers, spec);
        pool_cfg.max_attempts = cfg.max_attempts;
        let (pool, submitter) = Pool::start(pool_cfg, pool_tx);
        let (notes, notes_rx) = mpsc::unbounded_channel();
        let settler = settle::Settler::new(
            cfg.settle_pause.is_some(),
            submitter.settle_queue(),
            tx.clone(),
        );
        tokio::spawn(results::forward_pool_events(
            pool_rx,
            notes_rx,
            tx.clone(),
            submitter.interim_switch(),
            cfg.interim,
            settler,
        ));
        Ok((
            Engine {
                cfg,
                pool,
                submitter,
                events: tx,
                notes,
                recording: None,
                next_id: Arc::new(AtomicU64::new(1)),
                last_rec: RecordingId(0),
            },
            rx,
        ))
    }

    /// Opens a new recording session on `source` and returns its id (that of the one
    /// already open, if one is). Errors (no such device, unreadable file) are returned here,
    /// not as events.
    pub fn start_recording(&mut self, source: Source) -> anyhow::Result<RecordingId> {
        self.reap_finished();
        if let Some(r) = &self.recording {
            return Ok(r.rec);
        }
        let opened = self.opener(source)()?;
        let started = self.adopt(opened);
        let _ = self.events.send(started);
        Ok(self.last_rec)
    }

    /// The id the next recording (or foreground resume) gets.
    fn new_rec(&mut self) -> RecordingId {
        self.last_rec = RecordingId(self.last_rec.0 + 1);
        self.last_rec
    }

    /// [`Engine::start_recording`] in two halves, for a front end that must not wait while
    /// the session folder is made and the input and the VAD are opened (~0.1 s): run the
    /// returned closure on another thread, then hand what it opened to [`Engine::adopt`].
    pub fn opener(
        &mut self,
        source: Source,
    ) -> impl FnOnce() -> anyhow::Result<Opened> + Send + 'static {
        let cfg = self.cfg.clone();
        let events = self.events.clone();
        let submitter = self.submitter.clone();
        let notes = self.notes.clone();
        let next_id = self.next_id.clone();
        let rec = self.new_rec();
        move || open_recording(&cfg, source, rec, (events, notes), submitter, next_id)
    }

    /// Takes over a recording [`Engine::opener`] opened; returns the `RecordingStarted` event
    /// for the caller to deliver (only now can pause and stop reach it). A recording already
    /// open wins: the new one is dropped, which stops it.
    pub fn adopt(&mut self, opened: Opened) -> EngineEvent {
        let Opened {
            recording,
            input,
            session_dir,
        } = opened;
        let rec = recording.rec;
        self.reap_finished();
        if self.recording.is_none() {
            self.recording = Some(recording);
        }
        EngineEvent::RecordingStarted {
            rec,
            input,
            session_dir,
        }
    }

    /// Pauses within the session: the open utterance is closed and queued, then audio is
    /// neither recorded nor transcribed until [`Engine::resume`].
    pub fn pause(&mut self) {
        if let Some(r) = &self.recording {
            let _ = r.control.send(Control::Pause);
        }
    }

    pub fn resume(&mut self) {
        if let Some(r) = &self.recording {
            let _ = r.control.send(Control::Resume);
        }
    }

    /// Moves the open recording to another microphone (`None`: the default) without ending
    /// the session; `InputSwitched` follows, or a `Notice` when it cannot be opened. False when
    /// no recording is open (the caller records from it at the next start instead).
    pub fn switch_input(&mut self, device: Option<String>) -> bool {
        match &self.recording {
            Some(r) => r.control.send(Control::Switch(device)).is_ok(),
            None => false,
        }
    }

    /// Ends the recording session: the open utterance is closed and queued (not dropped);
    /// `RecordingStopped` follows once the audio thread has finished.
    pub fn stop_recording(&mut self) {
        if let Some(mut r) = self.recording.take() {
            let _ = r.control.send(Control::Stop);
            // The audio thread exits within one poll interval (10 ms) after flushing.
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// Like [`Engine::stop_recording`] without waiting: the audio thread flushes the open
    /// utterance and ends by itself, `RecordingStopped` says so, and [`Engine::recording_ended`]
    /// then joins it (at once: it has finished). For a front end whose loop must not stall on
    /// the flush (WAV and journal writes, fsync).
    pub fn request_stop(&mut self) {
        if let Some(r) = &self.recording {
            let _ = r.control.send(Control::Stop);
        }
    }

    /// Forgets a recording whose audio thread has ended by itself (end of input, a failed
    /// device), so a new one starts even if the front end has not called
    /// [`Engine::recording_ended`] yet (before, the next `start_recording` silently did
    /// nothing).
    fn reap_finished(&mut self) {
        let finished = self
            .recording
            .as_ref()
            .is_some_and(|r| r.thread.as_ref().is_none_or(JoinHandle::is_finished));
        if finished {
            self.end_recording();
        }
    }

    /// Call when `RecordingStopped { rec }` arrives on its own (end of input, device
    /// failure): forgets recording `rec`'s finished audio thread so a new recording can start
    /// (a later recording is left alone).
    pub fn recording_ended(&mut self, rec: RecordingId) {
        if self.recording.as_ref().is_some_and(|r| r.rec == rec) {
            self.end_recording();
        }
    }

    /// Forgets the recording, joining its audio thread.
    fn end_recording(&mut self) {
        if let Some(mut r) = self.recording.take()
            && let Some(t) = r.thread.take()
        {
            let _ = t.join();
        }
    }

    /// Queues again the utterances of an earlier session that have audio but no text (after a
    /// crash, or failed ones); their results are appended to that session's journal. They
    /// report as a recording of their own (the returned id; its `Queued`, `Transcribed`, …).
    /// The jobs hold `p`'s journal, and with it the session's lock, until their results are in.
    pub fn resume_session(&mut self, p: &session::Prepared) -> (RecordingId, Vec<UtteranceId>) {
        let rec = self.new_rec();
        let context = self.context_of(&p.session);
        let mut ids = Vec::new();
        for u in p.session.untranscribed() {
            let utt = u.reference();
            let _ = self.events.send(EngineEvent::Queued {
                rec,
                utt: utt.clone(),
            });
            ids.push(utt.id);
            let journal = Some(p.journal.clone());
            let job = Job::new(utt, Origin::Live(rec), journal);
            self.submitter.submit(job.with_context(context.clone()));
        }
        (rec, ids)
    }

    /// Like [`Engine::resume_session`], while a recording may be running: the jobs queue
    /// behind nothing already queued and report only as [`EngineEvent::Resumed`] (no
    /// `Queued`/`Transcribing`/`Transcribed`, which name live utterances). Returns how many
    /// were queued.
    pub fn resume_in_background(&mut self, p: &session::Prepared) -> usize {
        let pending = p.session.untranscribed();
        let context = self.context_of(&p.session);
        for u in &pending {
            let journal = Some(p.journal.clone());
            let job = Job::new(u.reference(), Origin::Resumed, journal);
            self.submitter.submit(job.with_context(context.clone()));
        }
        pending.len()
    }

    /// A resumed session's texts so far, for the prompts of those still without one.
    fn context_of(&self, s: &session::Session) -> Option<Arc<Context>> {
        let context = Context::new(self.cfg.context_chars);
        for u in s.utterances.values() {
            if let Some(text) = u.final_text() {
                context.record(u.id, text);
            }
        }
        Some(Arc::new(context))
    }

    /// True while a recording session is open (paused or not).
    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// Number of utterances queued or being transcribed.
    pub fn pending(&self) -> usize {
        self.pool.pending()
    }

    /// Stops recording, waits up to `wait` for pending jobs, then stops the workers.
    pub async fn shutdown(mut self, wait: Duration) {
        self.stop_recording();
        let Engine {
            pool, submitter, ..
        } = self;
        drop(submitter);
        pool.join(wait).await;
    }
}

/// Where a recording's audio events go: its id, the front end's events, the pool, and the
/// session's journal and texts (each job gets both).
struct Outlets {
    rec: RecordingId,
    events: UnboundedSender<EngineEvent>,
    notes: UnboundedSender<settle::Note>,
    pool: Submitter,
    journal: Arc<Journal>,
    context: Arc<Context>,
    /// The settle pass is on: final passes leave their re-check to it.
    settle: bool,
}

impl Outlets {
    fn job(&self, utt: UtteranceRef, journal: Option<Arc<Journal>>) -> Job {
        // Not for a part of a split: its words are kept by time and its seam reconciled on
        // the first text, which a re-decode of the part alone would bypass.
        let split = utt.hints.keep_from_s.is_some() || utt.hints.keep_to_s.is_some();
        Job::new(utt, Origin::Live(self.rec), journal)
            .with_context(Some(self.context.clone()))
            .deferring_recheck(self.settle && !split)
    }
}

/// Runs on the audio thread of recording `out.rec`: utterances go to the pool (their WAV is
/// already on disk and journaled).
fn on_audio_event(ev: AudioEvent, out: &Outlets) {
    let (rec, events, pool) = (out.rec, &out.events, &out.pool);
    let input = |status| EngineEvent::Input { rec, status };
    let event = match ev {
        AudioEvent::Level(l) => EngineEvent::Level(l),
        AudioEvent::SpeechStarted { id, start_s } => {
            EngineEvent::SpeechStarted { rec, id, start_s }
        }
        AudioEvent::SpeechDiscarded { id } => EngineEvent::SpeechDiscarded { rec, id },
        AudioEvent::Utterance(utt) => {
            let job = out.job(utt.clone(), Some(out.journal.clone()));
            let _ = out.notes.send(settle::Note::Queued {
                rec,
                utt: utt.clone(),
                journal: out.journal.clone(),
                context: out.context.clone(),
            });
            let _ = events.send(EngineEvent::Queued { rec, utt });
            pool.submit(job);
            return;
        }
        AudioEvent::Notice(n) => EngineEvent::Notice(n),
        AudioEvent::Failed(reason) => EngineEvent::SourceError { rec, reason },
        AudioEvent::Interim { id, span, wav } => {
            if pool.interim_enabled() {
                let utt = UtteranceRef {
                    id,
                    span,
                    wav,
                    hints: Default::default(),
                };
                pool.submit_interim(out.job(utt, None));
            }
            return;
        }
        AudioEvent::DeviceLost(reason) => input(InputStatus::Lost { reason }),
        AudioEvent::Switched(input) => EngineEvent::InputSwitched { rec, input },
        AudioEvent::DeviceBack(name) => input(InputStatus::Back { input: name }),
        AudioEvent::Speculate { utt, tell } => {
            let job = Job {
                tell: Some(tell),
                ..out.job(utt, None)
            };
            pool.speculate(job);
            return;
        }
        AudioEvent::SpeculationVoid { id } => {
            pool.cancel_speculation(id);
            return;
        }
        AudioEvent::Pause { .. } => {
            let _ = out.notes.send(settle::Note::Pause { rec });
            return;
        }
        AudioEvent::Stopped => {
            let _ = out.notes.send(settle::Note::Stopped { rec });
            EngineEvent::RecordingStopped { rec }
        }
    };
    let _ = events.send(event);
}
