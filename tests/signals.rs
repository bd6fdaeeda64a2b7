//! Signals (issue #11.10): the first SIGINT/SIGTERM stops taking input and finishes what is
//! pending, the second exits at once (the audio stays on disk and the line says how to
//! resume); an interrupted batch exits 128 + the signal and starts no further file; a
//! worker never outlives recorder, even a stopped one after `kill -9`.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::poll_until;
use support::run::{Sandbox, eval_clip, tiny_en};

fn jfk(test: &str) -> Option<PathBuf> {
    let p = eval_clip("fw_jfk.wav");
    if p.is_none() {
        support::skip(test, "../shared/eval is absent");
    }
    p
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a child of this test.
    assert_eq!(
        unsafe { libc::kill(pid as i32, sig) },
        0,
        "kill {pid} {sig}"
    );
}

fn alive(pid: u32) -> bool {
    // A zombie still answers kill(0): look at its state too.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next());
    !stat.is_empty() && state != Some("Z")
}

/// The worker processes of recorder `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return vec![];
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

fn journal_has(sessions: &Path, event: &str) -> bool {
    let Ok(dirs) = std::fs::read_dir(sessions) else {
        return false;
    };
    dirs.flatten().any(|d| {
        std::fs::read_to_string(d.path().join("journal.jsonl"))
            .is_ok_and(|j| j.contains(&format!("\"event\":\"{event}\"")))
    })
}

fn headless(sb: &Sandbox, wav: &Path) -> Child {
    sb.cmd()
        .args(["--headless", "--keep", "--input"])
        .arg(wav)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The worker, once it said it is ready.
fn ready_worker(sb: &Sandbox, child: &Child) -> u32 {
    let mut worker = 0;
    poll_until(Duration::from_secs(30), "the worker to be ready", || {
        worker = children(child.id()).first().copied().unwrap_or(0);
        Ok(worker != 0 && sb.log().contains("ready in"))
    })
    .unwrap();
    worker
}

/// The output of `child` once it exits, or a panic after `limit` (it is killed then).
fn exit_within(mut child: Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!(
        "recorder still running {} s after the signal",
        limit.as_secs()
    );
}

/// A hung worker (stopped with SIGSTOP) holds the first utterance. The first SIGTERM stops
/// the input and waits for it; the second exits at once with 143 and says how to resume;
/// the stopped worker is killed with it.
#[test]
fn a_second_signal_exits_at_once_even_with_a_hung_worker() {
    tiny_en();
    let Some(wav) = jfk("a_second_signal_exits_at_once…") else {
        return;
    };
    let sb = Sandbox::new();
    let child = headless(&sb, &wav);
    let worker = ready_worker(&sb, &child);
    signal(worker, libc::SIGSTOP);
    poll_until(Duration::from_secs(30), "an utterance recorded", || {
        Ok(journal_has(&sb.sessions(), "utterance_recorded"))
    })
    .unwrap();
    signal(child.id(), libc::SIGTERM);
    // The input stops: the audio side ends the session; the hung job keeps the run waiting.
    poll_until(Duration::from_secs(10), "the input to stop", || {
        Ok(journal_has(&sb.sessions(), "session_ended"))
    })
    .unwrap();
    assert!(alive(child.id()), "it waits for the pending utterance");
    signal(child.id(), libc::SIGTERM);
    let o = exit_within(child, Duration::from_secs(10));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.contains("sessions resume"), "{err}");
    poll_until(Duration::from_secs(5), "the stopped worker to go", || {
        Ok(!alive(worker))
    })
    .unwrap();
}

/// `kill -9` of recorder takes its (stopped) worker with it.
#[test]
fn a_stopped_worker_dies_with_a_killed_recorder() {
    tiny_en();
    let Some(wav) = jfk("a_stopped_worker_dies_with_a_killed_recorder") else {
        return;
    };
    let sb = Sandbox::new();
    let mut child = headless(&sb, &wav);
    let worker = ready_worker(&sb, &child);
    signal(worker, libc::SIGSTOP);
    child.kill().unwrap(); // SIGKILL: no cleanup runs in recorder
    child.wait().unwrap();
    poll_until(Duration::from_secs(5), "the orphaned worker to go", || {
        Ok(!alive(worker))
    })
    .unwrap();
}

/// Ctrl-C during the first file of a batch: that file's utterances are finished, the next
/// file is never started, and the exit code is 130.
#[test]
fn an_interrupted_batch_stops_and_exits_130() {
    tiny_en();
    let Some(wav) = jfk("an_interrupted_batch_stops_and_exits_130") else {
        return;
    };
    let sb = Sandbox::new();
    // A long first file: JFK four times over (44 s of audio, a few seconds of work).
    let one = recorder::audio::wav::read_16k_mono(&wav).unwrap();
    let long: Vec<f32> = (0..4).flat_map(|_| one.iter().copied()).collect();
    let first = sb.path().join("first.wav");
    recorder::audio::wav::write_16k_mono(&first, &long).unwrap();
    let child = sb
        .cmd()
        .args(["transcribe", "--keep"])
        .arg(&first)
        .arg(&wav)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    poll_until(Duration::from_secs(30), "an utterance recorded", || {
        Ok(journal_has(&sb.sessions(), "utterance_recorded"))
    })
    .unwrap();
    signal(child.id(), libc::SIGINT);
    let o = exit_within(child, Duration::from_secs(60));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(130), "{out}");
    assert!(out.contains("first.wav"), "{out}");
    assert!(
        !out.contains("fw_jfk.wav"),
        "the next file was started: {out}"
    );
    let sessions = std::fs::read_dir(sb.sessions()).unwrap().count();
    assert_eq!(sessions, 1, "one session: the first file's");
}
