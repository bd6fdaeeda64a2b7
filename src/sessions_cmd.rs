//! `recorder sessions list | show | export | resume`, and the start-up check that tells the
//! user about sessions a crash left unfinished.

use std::path::Path;
use std::time::Duration;

use crate::cli::SessionsCommand;
use crate::engine::{Engine, EngineConfig, EngineEvent};
use crate::export::{self, Doc, Format};
use crate::session::{self, Session};

fn status(s: &Session) -> String {
    let pending = s.untranscribed().len();
    let state = match (s.ended.is_some(), pending) {
        (true, 0) => "complete".into(),
        (false, 0) => "interrupted, all transcribed".into(),
        (_, n) => format!("{n} untranscribed: `recorder sessions resume {}`", s.id),
    };
    match s.pending_discards().len() {
        0 => state,
        n => format!(
            "{state}; {n} discarded as no speech: `recorder sessions resume {} --discarded`",
            s.id
        ),
    }
}

fn format_of(name: &str) -> Format {
    Format::ALL
        .into_iter()
        .find(|f| f.ext() == name)
        .unwrap_or(Format::Txt)
}

fn doc(s: &Session) -> Doc {
    let utterances = s
        .utterances
        .values()
        .filter_map(|u| {
            u.text.as_ref().map(|t| export::Utterance {
                id: u.id,
                start: u.start_s,
                end: u.end_s,
                text: t.clone(),
            })
        })
        .collect();
    Doc {
        session: 1,
        input: s.input.clone(),
        folder: s.dir.display().to_string(),
        utterances,
    }
}

/// Runs a `sessions` subcommand. `engine` is only built for `resume`.
pub fn run(
    action: SessionsCommand,
    root: &Path,
    engine_cfg: impl FnOnce() -> anyhow::Result<EngineConfig>,
) -> anyhow::Result<i32> {
    match action {
        SessionsCommand::List => {
            let all = session::list(root);
            if all.is_empty() {
                println!("no sessions in {}", root.display());
            }
            for s in all {
                println!(
                    "{:<22} {:>4} utterances  {}",
                    s.id,
                    s.utterances.len(),
                    status(&s)
                );
            }
            Ok(0)
        }
        SessionsCommand::Show { id } => {
            let s = session::find(root, &id).map_err(anyhow::Error::msg)?;
            println!("# {} · {} · {}", s.id, s.input, status(&s));
            for u in s.utterances.values() {
                let t = u.start_s as u64;
                let body = match (&u.text, &u.failed) {
                    (Some(t), _) => t.clone(),
                    (None, Some(f)) => format!("(failed: {f})"),
                    (None, None) => "(not transcribed)".into(),
                };
                println!("[{:02}:{:02}] {body}", t / 60, t % 60);
            }
            Ok(0)
        }
        SessionsCommand::Export { id, format, out } => {
            let s = session::find(root, &id).map_err(anyhow::Error::msg)?;
            let text = export::render(&doc(&s), format_of(&format));
            match out {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| anyhow::anyhow!("cannot write '{}': {e}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(0)
        }
        SessionsCommand::Resume { id, discarded } => {
            let mut s = session::find(root, &id).map_err(anyhow::Error::msg)?;
            if discarded && s.take_up_discards()? > 0 {
                s = Session::load(&s.dir)?;
            }
            let wav = s.dir.join(session::SESSION_WAV);
            if wav.is_file() {
                // A crash leaves the header behind the data; make the whole recording readable.
                if let Err(e) = session::repair_wav_header(&wav) {
                    eprintln!("recorder: cannot repair '{}': {e}", wav.display());
                }
            }
            if s.untranscribed().is_empty() {
                println!("session {} has nothing left to transcribe", s.id);
                return Ok(0);
            }
            let cfg = engine_cfg()?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(resume(s, cfg))
        }
    }
}

async fn resume(s: Session, cfg: EngineConfig) -> anyhow::Result<i32> {
    let (mut engine, mut events) = Engine::new(cfg)?;
    let ids = engine.resume_session(&s)?;
    eprintln!(
        "recorder: transcribing {} utterances of session {}",
        ids.len(),
        s.id
    );
    let mut left = ids.len();
    let mut failed = 0;
    while left > 0 {
        match events.recv().await {
            Some(EngineEvent::Transcribed(_)) => left -= 1,
            Some(EngineEvent::Failed { id, reason, .. }) => {
                eprintln!("recorder: utterance #{id} failed: {reason}");
                failed += 1;
                left -= 1;
            }
            Some(EngineEvent::Notice(n)) => eprintln!("recorder: {n}"),
            Some(_) => {}
            None => break,
        }
    }
    engine.shutdown(Duration::from_secs(10)).await;
    // Print the whole transcript as it now stands.
    let s = Session::load(&s.dir)?;
    for u in s.utterances.values() {
        if let Some(t) = &u.text {
            println!("{t}");
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The newest session a crash left with untranscribed audio (the TUI offers to resume it).
pub fn newest_unfinished(root: &Path) -> Option<Session> {
    session::list(root)
        .into_iter()
        .rfind(|s| !s.untranscribed().is_empty())
}

/// One line about sessions a crash left with untranscribed audio, or `None`.
pub fn unfinished_notice(root: &Path) -> Option<String> {
    let pending: Vec<Session> = session::list(root)
        .into_iter()
        .filter(|s| !s.untranscribed().is_empty())
        .collect();
    let last = pending.last()?;
    let n: usize = pending.iter().map(|s| s.untranscribed().len()).sum();
    Some(format!(
        "{} earlier session(s) have {n} untranscribed utterance(s); run `recorder sessions resume {}`",
        pending.len(),
        last.id
    ))
}
