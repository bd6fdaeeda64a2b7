//! Recovery in the TUI: a session a crash left with an untranscribed utterance is offered on
//! the status line at start; `y` transcribes it in the background, its text goes into that
//! session's journal and the status line says so. Runs the real `recorder` in tmux (no
//! microphone needed: a file is its input, and it starts idle).

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use support::run::{Sandbox, tiny_en};
use support::tmux::{Tmux, check_restored, header, script};
use support::{have, skip, speak};

const START: Duration = Duration::from_secs(60);
const TEXT: Duration = Duration::from_secs(60);

/// The folder a crash leaves: the journal has the session's start and one recorded utterance
/// (its 16 kHz WAV beside it), and no text, no end.
fn crashed_session(sb: &Sandbox) -> Result<std::path::PathBuf> {
    let dir = sb.sessions().join("2026-11-25T21-10-58");
    std::fs::create_dir_all(&dir)?;
    let spoken = sb.path().join("spoken.wav");
    speak("The museum opens on Monday.", &spoken)?;
    let status = Command::new("sox")
        .arg(&spoken)
        .args(["-r", "16000", "-c", "1", "-b", "16"])
        .arg(dir.join("utt-000001.wav"))
        .status()
        .context("running sox")?;
    ensure!(status.success(), "sox failed");
    let journal = [
        r#"{"event":"session_started","time":"2026-11-25T21:10:58","input":"mic","model":"tiny.en","version":"0"}"#,
        r#"{"event":"utterance_recorded","id":1,"start_s":0.5,"end_s":2.5,"wav":"utt-000001.wav"}"#,
    ];
    std::fs::write(dir.join("journal.jsonl"), journal.join("\n") + "\n")?;
    Ok(dir)
}

fn journal_has_text(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("journal.jsonl")).is_ok_and(|j| {
        j.lines()
            .any(|l| l.contains(r#""event":"transcribed""#) && l.to_lowercase().contains("museum"))
    })
}

#[test]
fn an_unfinished_session_is_offered_and_resumed_in_the_background() {
    tiny_en();
    if !have("tmux") || !have("espeak-ng") || !have("sox") {
        return skip(
            "an_unfinished_session_is_offered_and_resumed_in_the_background",
            "needs tmux, espeak-ng and sox",
        );
    }
    let sb = Sandbox::new();
    if let Err(err) = resume(&sb) {
        panic!("{err:#}\n--- recorder log ---\n{}", sb.log());
    }
}

fn resume(sb: &Sandbox) -> Result<()> {
    let dir = crashed_session(sb)?;
    let input = sb.path().join("spoken.wav").display().to_string();
    let tmux = Tmux::start(&script(sb, None, &["--idle", "--input", &input])?)?;
    // The prompt: recorder exited; no point waiting for the question then.
    let screen = tmux.wait_for(START, "the question on the status line", |s| {
        s.contains("resume?") || s.contains("PROMPT>")
    })?;
    ensure!(
        screen.contains("2026-11-25T21-10-58 has 1 utterance without text — resume? y/n"),
        "no question:\n{screen}"
    );
    tmux.keys(&["y"])?;
    let screen = tmux.wait_for(TEXT, "the resume finished", |s| {
        s.contains("1 utterance transcribed into its journal")
    })?;
    ensure!(
        header(&screen).contains("IDLE"),
        "resuming started a recording:\n{screen}"
    );
    ensure!(
        journal_has_text(&dir),
        "no text in the journal:\n{}",
        std::fs::read_to_string(dir.join("journal.jsonl"))?
    );
    tmux.keys(&["q"])?;
    let screen = tmux.wait_for(START, "the shell prompt", |s| s.contains("PROMPT>"))?;
    check_restored(&screen)
}
