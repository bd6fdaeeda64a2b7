//! `recorder sessions list | show | export | resume`, and the start-up check that tells the
//! user about sessions a crash left unfinished.

use std::path::Path;
use std::time::Duration;

use crate::cli::SessionsCommand;
use crate::engine::{Drive, Engine, EngineConfig, EngineEvent};
use crate::export::{self, Doc, Format};
use crate::inert::inert_line;
use crate::prose::ProseConfig;
use crate::session::{self, Session};

fn status(s: &Session) -> String {
    let id = inert_line(&s.id);
    let mut parts = Vec::new();
    if let Some(h) = &s.busy {
        parts.push(h.to_string());
    }
    if let Some(why) = &s.unreadable {
        parts.push(why.clone());
    }
    let pending = s.pending();
    if s.busy.is_none() && s.unreadable.is_none() {
        parts.push(match (s.ended.is_some(), pending) {
            (true, 0) => "complete".into(),
            (false, 0) => "interrupted, all transcribed".into(),
            (_, n) => format!("{n} untranscribed: `recorder sessions resume {id}`"),
        });
    }
    if s.bad_lines > 0 {
        parts.push(format!("journal damaged: {}", lines(s.bad_lines)));
    }
    match s.pending_discards().len() {
        0 => {}
        n => parts.push(format!(
            "{n} discarded as no speech: `recorder sessions resume {id} --discarded`"
        )),
    }
    parts.join("; ")
}

fn lines(n: usize) -> String {
    match n {
        1 => "1 line".into(),
        n => format!("{n} lines"),
    }
}

fn format_of(name: &str) -> Format {
    Format::ALL
        .into_iter()
        .find(|f| f.ext() == name)
        .unwrap_or(Format::Txt)
}

fn doc(s: &Session, prose: &ProseConfig) -> Doc {
    let utterances = s
        .utterances
        .values()
        .filter_map(|u| {
            u.shown_text().map(|t| export::Utterance {
                id: u.id,
                start: u.span.start_s,
                end: u.span.end_s,
                text: t.clone(),
            })
        })
        .collect();
    Doc {
        session: 1,
        input: s.input.clone(),
        folder: s.dir.display().to_string(),
        utterances,
        prose: prose.clone(),
    }
}

/// Runs a `sessions` subcommand. `engine` is only built for `resume`.
pub fn run(
    action: SessionsCommand,
    root: &Path,
    prose: &ProseConfig,
    engine_cfg: impl FnOnce() -> anyhow::Result<EngineConfig>,
) -> anyhow::Result<i32> {
    match action {
        SessionsCommand::List => list(root),
        SessionsCommand::Show { id } => show(root, &id),
        SessionsCommand::Export { id, format, out } => export_to(root, &id, &format, out, prose),
        SessionsCommand::Resume { id, discarded, .. } => {
            resume_cmd(root, &id, discarded, engine_cfg)
        }
    }
}

/// `sessions list`: one line per session folder, oldest first: its id (the start time), how
/// long it recorded, the input, its first words and its state.
fn list(root: &Path) -> anyhow::Result<i32> {
    let all = session::list(root);
    if all.is_empty() {
        crate::outln!("no sessions in {}", root.display());
        return Ok(0);
    }
    crate::outln!(
        "{:<22} {:>6}  {:<14}  {:<30}  STATE",
        "SESSION",
        "LENGTH",
        "INPUT",
        "FIRST WORDS"
    );
    for s in all {
        crate::outln!(
            "{:<22} {:>6}  {:<14}  {:<30}  {} · {}",
            inert_line(&s.id),
            length(&s),
            cut_front(&inert_line(input_name(&s.input)), 14),
            cut(&inert_line(&first_words(&s)), 30),
            count(s.utterances.len(), "utterance"),
            status(&s)
        );
    }
    Ok(0)
}

/// `n things`, `1 thing`.
fn count(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

/// How long the session recorded (`m:ss`), from its audio file (16 kHz, 16-bit, a 44-byte
/// header); `-` when there is none.
fn length(s: &Session) -> String {
    match std::fs::metadata(s.dir.join(session::SESSION_WAV)) {
        Ok(m) if m.len() > 44 => {
            let secs = (m.len() - 44) / 32_000;
            format!("{}:{:02}", secs / 60, secs % 60)
        }
        _ => "-".into(),
    }
}

/// The text the session starts with, or what it has instead.
fn first_words(s: &Session) -> String {
    let text = s
        .utterances
        .values()
        .filter_map(|u| u.shown_text())
        .map(|t| t.trim())
        .find(|t| !t.is_empty());
    match text {
        Some(t) => format!("\"{t}"),
        None if s.utterances.is_empty() => "(nothing said)".into(),
        None => "(no text yet)".into(),
    }
}

/// A file input by its name (the folder is in `sessions show`); a device as it is.
fn input_name(input: &str) -> &str {
    match input.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() => name,
        _ => input,
    }
}

/// `text` in at most `width` characters, the start cut (`…ce.wav`): the end names it.
fn cut_front(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n + 1 - width).collect();
    format!("…{tail}")
}

/// `text` in at most `width` characters, `…` where it was cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `sessions show ID`: the transcript with times, and what the journal could not say.
fn show(root: &Path, id: &str) -> anyhow::Result<i32> {
    let s = session::find(root, id).map_err(anyhow::Error::msg)?;
    crate::outln!(
        "# {} · {} · {}",
        inert_line(&s.id),
        inert_line(&s.input),
        status(&s)
    );
    for p in &s.problems {
        crate::outln!("! journal {}", inert_line(p));
    }
    for u in s.utterances.values().filter(|u| !u.deleted) {
        let t = u.span.start_s as u64;
        let body = match (u.final_text(), &u.failed) {
            // No speech in it (a cough, a door): nothing to show, not a bare time.
            (Some(t), _) if t.trim().is_empty() => continue,
            (Some(t), _) => t.clone(),
            (None, Some(f)) => format!("(failed: {f})"),
            (None, None) => "(not transcribed)".into(),
        };
        crate::outln!("[{:02}:{:02}] {}", t / 60, t % 60, inert_line(&body));
    }
    Ok(0)
}

/// `sessions export ID --format F [--out FILE]`.
fn export_to(
    root: &Path,
    id: &str,
    format: &str,
    out: Option<std::path::PathBuf>,
    prose: &ProseConfig,
) -> anyhow::Result<i32> {
    let s = session::find(root, id).map_err(anyhow::Error::msg)?;
    let text = export::render(&doc(&s, prose), format_of(format));
    match out {
        // 0600 whatever the umask: it is what the user said.
        Some(path) => session::private_create(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot write '{}': {e}",
                    inert_line(&path.display().to_string())
                )
            })?,
        None => crate::out::text(&text),
    }
    Ok(0)
}

/// `sessions resume ID [--discarded]`: rebuilds what it can, then transcribes what is left.
fn resume_cmd(
    root: &Path,
    id: &str,
    discarded: bool,
    engine_cfg: impl FnOnce() -> anyhow::Result<EngineConfig>,
) -> anyhow::Result<i32> {
    let s = session::find(root, id).map_err(anyhow::Error::msg)?;
    let mut p = session::prepare_resume(&s.dir)?;
    if discarded && p.session.take_up_discards()? > 0 {
        p.reload()?;
    }
    let s = &p.session;
    for id in &p.rebuilt.ids {
        eprintln!("recorder: utterance #{id} rebuilt from the session's audio");
    }
    if s.bad_lines > 0 {
        eprintln!(
            "recorder: journal of session {} damaged: {} skipped ({})",
            inert_line(&s.id),
            lines(s.bad_lines),
            inert_line(&s.problems.join("; "))
        );
    }
    if !s.untranscribed().is_empty() {
        let cfg = engine_cfg()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        return rt.block_on(resume(p, cfg));
    }
    crate::outln!(
        "session {} has nothing left to transcribe",
        inert_line(&s.id)
    );
    for (id, why) in &p.rebuilt.failed {
        eprintln!(
            "recorder: utterance #{id} cannot be rebuilt: {}",
            inert_line(why)
        );
    }
    Ok(i32::from(!p.rebuilt.failed.is_empty() || s.refused > 0))
}

/// Transcribes what `p` has without text and prints the whole transcript. Exits 1 when
/// anything is still missing afterwards (failed, not rebuilt, or a damaged journal line
/// that was a result), naming what and why on stderr.
async fn resume(p: session::Prepared, cfg: EngineConfig) -> anyhow::Result<i32> {
    let (mut engine, mut events) = Engine::new(cfg)?;
    let (rec, ids) = engine.resume_session(&p);
    let dir = p.session.dir.clone();
    let failed_rebuilds = p.rebuilt.failed.clone();
    // The jobs hold the journal (and the lock) until their results are in.
    drop(p);
    eprintln!(
        "recorder: transcribing {} of session {}",
        utterances(ids.len()),
        inert_line(&session::id_of(&dir))
    );
    let report = |ev| {
        match ev {
            EngineEvent::Failed { id, reason, .. } => {
                eprintln!(
                    "recorder: utterance #{id} failed: {}",
                    inert_line(&reason.to_string())
                );
            }
            EngineEvent::Notice(n) => eprintln!("recorder: {}", inert_line(&n)),
            _ => {}
        }
        Ok(())
    };
    // What is still missing afterwards is read back from the journal below.
    let drive = Drive::waiting_for(rec, ids.iter().copied());
    if let Err(e) = engine.drive(&mut events, drive, None, report).await {
        eprintln!("recorder: {}", crate::error_line(&e));
    }
    engine.shutdown(Duration::from_secs(10)).await;
    // Print the whole transcript as it now stands.
    let s = Session::load(&dir)?;
    for u in s.utterances.values() {
        if let Some(t) = u.shown_text() {
            crate::outln!("{}", inert_line(t));
        }
    }
    let missing = s.untranscribed().len() + failed_rebuilds.len() + s.refused;
    if s.refused > 0 {
        eprintln!(
            "recorder: {} of the journal refused: {}",
            lines(s.refused),
            inert_line(&s.problems.join("; "))
        );
    }
    for (id, why) in &failed_rebuilds {
        eprintln!(
            "recorder: utterance #{id} cannot be rebuilt: {}",
            inert_line(why)
        );
    }
    if missing > 0 {
        eprintln!(
            "recorder: {} of session {} still without text (audio kept; `recorder sessions resume {}` tries again)",
            utterances(missing),
            inert_line(&s.id),
            inert_line(&s.id)
        );
        return Ok(1);
    }
    Ok(0)
}

fn utterances(n: usize) -> String {
    match n {
        1 => "1 utterance".into(),
        n => format!("{n} utterances"),
    }
}

/// The newest session a crash left with untranscribed audio (the TUI offers to resume it).
pub fn newest_unfinished(root: &Path) -> Option<Session> {
    session::list(root)
        .into_iter()
        .rfind(|s| s.busy.is_none() && s.pending() > 0)
}

/// One line about sessions a crash left with untranscribed audio, or `None`.
pub fn unfinished_notice(root: &Path) -> Option<String> {
    let pending: Vec<Session> = session::list(root)
        .into_iter()
        .filter(|s| s.busy.is_none() && s.pending() > 0)
        .collect();
    let last = pending.last()?;
    let n: usize = pending.iter().map(Session::pending).sum();
    Some(format!(
        "{} earlier session(s) have {n} untranscribed utterance(s); run `recorder sessions resume {}`",
        pending.len(),
        inert_line(&last.id)
    ))
}
