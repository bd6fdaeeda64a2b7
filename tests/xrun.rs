//! A stalled audio path is not a lost device. The recorder (all of it: cpal's thread, the
//! audio thread) or the virtual microphone's PulseAudio daemon is stopped with SIGSTOP in
//! the middle of a sentence and continued: the sentence comes out as one utterance with its
//! words from before and after the stall, and the session goes on without a device loss.
//! (A real disconnect, the daemon killed, is `tests/device_loss.rs`.)

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Child;
use std::time::Duration;

use support::run::{Sandbox, norm, tiny_en};
use support::vmic::{self, VirtualMic};
use support::{skip, speak, wait_child, wait_line};

const SENTENCE: &str = "This sentence is long enough to hold the microphone open while the \
                        process is stopped for a short while and then it simply continues.";

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a process this test started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// Records `SENTENCE` from the virtual mic; once live text shows the utterance is open,
/// stops `target(child, mic)` for `stall`, continues it, and returns the final lines, the
/// settle pass's lines, stderr and the journal.
fn stalled_sentence(
    test: &str,
    stall: Duration,
    target: impl Fn(&Child, &VirtualMic) -> i32,
) -> Option<Stalled> {
    tiny_en();
    if let Some(why) = vmic::unavailable() {
        skip(test, &why);
        return None;
    }
    let sb = Sandbox::new();
    let mic = VirtualMic::start().expect("virtual mic");
    let wav = sb.path().join("long.wav");
    speak(SENTENCE, &wav).unwrap();
    let rec = mic.record(&sb, &["--headless", "--json", "--interim"]);
    let (mut child, out, err) = (rec.child, rec.out, rec.err);
    std::thread::scope(|s| {
        let feeding = s.spawn(|| mic.feed(&wav));
        // Live text means the utterance is open: stall now, in its middle.
        wait_line(&out, "\"kind\":\"interim\"", 30);
        let pid = target(&child, &mic);
        signal(pid, libc::SIGSTOP);
        // The stall itself (the fault injected), not a wait for anything.
        std::thread::sleep(stall);
        signal(pid, libc::SIGCONT);
        feeding.join().unwrap().unwrap();
    });
    let last = wait_line(&out, "\"kind\":\"final\"", 60);
    signal(child.id() as i32, libc::SIGINT);
    let status = wait_child(&mut child, Duration::from_secs(30), "recorder").unwrap();
    assert_eq!(status.code(), Some(130), "exit {status}\n{}", sb.log());
    let mut finals = vec![last];
    // Until its output closes (the lines are read by a thread of their own).
    let mut rest = Vec::new();
    while let Ok(line) = out.recv_timeout(Duration::from_secs(5)) {
        rest.push(line);
    }
    finals.extend(
        rest.iter()
            .filter(|l| l.contains("\"kind\":\"final\""))
            .cloned(),
    );
    let settled = rest
        .into_iter()
        .filter(|l| l.contains("\"kind\":\"settled\""))
        .collect();
    let stderr: Vec<String> = err.try_iter().collect();
    let dirs: Vec<_> = std::fs::read_dir(sb.sessions())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(dirs.len(), 1, "one session");
    let journal = std::fs::read_to_string(dirs[0].path().join("journal.jsonl")).unwrap();
    Some(Stalled {
        finals,
        settled,
        stderr,
        journal,
    })
}

/// What [`stalled_sentence`] saw.
struct Stalled {
    finals: Vec<String>,
    settled: Vec<String>,
    stderr: Vec<String>,
    journal: String,
}

fn assert_whole(s: &Stalled) {
    let Stalled {
        finals,
        settled,
        stderr,
        journal,
    } = s;
    assert_eq!(
        finals.len(),
        1,
        "one utterance, not cut at the stall: {finals:#?}"
    );
    // The words as they end up: the settle pass's text when it re-decoded the utterance
    // (a final pass unsure of a word leaves it to the settle pass: "continue" for
    // "continues" was seen), else the final's.
    let text = norm(settled.last().unwrap_or(&finals[0]));
    for word in ["sentence", "microphone", "continues"] {
        assert!(text.contains(word), "{word:?} missing: {text}");
    }
    assert!(
        !stderr.iter().any(|l| l.contains("on hold")),
        "a stall is not a device loss: {stderr:?}"
    );
    assert!(!journal.contains("device_lost"), "{journal}");
}

#[test]
fn the_recorder_stopped_mid_sentence_keeps_the_utterance_whole() {
    let stalled = stalled_sentence(
        "the_recorder_stopped_mid_sentence_keeps_the_utterance_whole",
        // Longer than the 1 s after which a silent device counts as lost.
        Duration::from_millis(2500),
        |child, _| child.id() as i32,
    );
    if let Some(stalled) = stalled {
        assert_whole(&stalled);
    }
}

#[test]
fn the_sound_server_stalled_mid_sentence_keeps_the_utterance_whole() {
    let stalled = stalled_sentence(
        "the_sound_server_stalled_mid_sentence_keeps_the_utterance_whole",
        Duration::from_millis(700),
        |_, mic| mic.daemon_pid().expect("daemon running"),
    );
    if let Some(stalled) = stalled {
        assert_whole(&stalled);
    }
}
