//! The input device disappearing mid-session (the virtual microphone's PulseAudio daemon is
//! killed) puts recording on hold with a notice; when the daemon is back, recording continues
//! in the same session, and the journal tells both.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use recorder::session::Session;
use support::run::{Sandbox, norm, tiny_en};
use support::vmic::{self, VirtualMic};
use support::{skip, speak, wait_child, wait_line};

#[test]
fn device_loss_and_return_continue_the_same_session() {
    tiny_en();
    if let Some(why) = vmic::unavailable() {
        return skip("device_loss_and_return_continue_the_same_session", &why);
    }
    let sb = Sandbox::new();
    let mut mic = VirtualMic::start().expect("virtual mic");
    let rec = mic.record(&sb, &["--headless", "--json"]);
    let (mut child, out, err) = (rec.child, rec.out, rec.err);

    let first = sb.path().join("a.wav");
    speak("Please send the report tomorrow.", &first).unwrap();
    mic.feed(&first).unwrap();
    let l = wait_line(&out, "\"id\":1", 30);
    assert!(norm(&l).contains("report"), "{l}");

    mic.stop_daemon().unwrap();
    wait_line(&err, "on hold", 20);
    mic.restart_daemon().unwrap();
    wait_line(&err, "is back", 30);
    mic.wait_for_capture(Duration::from_secs(30)).unwrap();

    let second = sb.path().join("b.wav");
    speak("We climbed the mountain yesterday.", &second).unwrap();
    mic.feed(&second).unwrap();
    let l = wait_line(&out, "\"id\":2", 30);
    assert!(norm(&l).contains("mountain"), "{l}");

    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_child(&mut child, Duration::from_secs(30), "recorder").unwrap();
    assert_eq!(status.code(), Some(130), "exit {status}");

    let dirs: Vec<_> = std::fs::read_dir(sb.sessions())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(dirs.len(), 1, "one session across the loss");
    let journal = std::fs::read_to_string(dirs[0].path().join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"event\":\"device_lost\""), "{journal}");
    assert!(journal.contains("\"event\":\"device_back\""), "{journal}");
    let s = Session::load(&dirs[0].path()).unwrap();
    assert_eq!(s.transcribed(), 2);
    assert!(!s.is_unfinished());
}
