//! The journal as untrusted, damaged input (issue #11): a torn last line, an invalid UTF-8
//! byte, an utterance whose WAV write a crash cut, entries pointing outside the session
//! folder, escape sequences in its text, and a session that is being recorded right now.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use recorder::session::{JOURNAL, Session, SessionAudio};
use recorder::vocab::UtteranceId;
use support::run::{Sandbox, eval_clip, norm, output, texts, tiny_en};
use support::{poll_until, skip};

const START: &str = r#"{"event":"session_started","time":"2026-12-01 10:00:00","input":"mic","model":"tiny.en","version":"0"}"#;

fn session_dir(sb: &Sandbox) -> PathBuf {
    let dir = sb.sessions().join("2026-12-01T10-00-00");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_journal(dir: &Path, lines: &[&[u8]], torn_tail: &[u8]) {
    let mut f = std::fs::File::create(dir.join(JOURNAL)).unwrap();
    for l in lines {
        f.write_all(l).unwrap();
        f.write_all(b"\n").unwrap();
    }
    f.write_all(torn_tail).unwrap();
}

/// A crash (the whole recording in `session.wav` with a stale header), a kill during the
/// second utterance's WAV write (`.part`, no `utterance_recorded`), an invalid UTF-8 line,
/// a forged entry naming a file outside the folder, and a full disk that tore the last line.
/// Resume rebuilds and transcribes the cut utterance, ends the torn line before appending,
/// ends the session, refuses the forged entry and says so with a non-zero exit.
#[test]
fn resume_makes_a_crashed_and_damaged_session_whole_and_reports_what_it_cannot_do() {
    tiny_en();
    let test = "resume_makes_a_crashed_and_damaged_session_whole…";
    let Some(jfk) = eval_clip("fw_jfk.wav") else {
        return skip(test, "../shared/eval is absent");
    };
    let sb = Sandbox::new();
    let dir = session_dir(&sb);
    let samples = recorder::audio::wav::read_16k_mono(&jfk).unwrap();
    let mut audio = SessionAudio::create(&dir).unwrap();
    audio.write(&samples).unwrap();
    std::mem::forget(audio); // killed: the header never covered the audio
    let first = &samples[..(2.5 * 16_000.0) as usize];
    recorder::audio::wav::write_16k_mono(&dir.join("utt-000001.wav"), first).unwrap();
    std::fs::write(dir.join("utt-000002.wav.part"), b"RIFF\x24\x00").unwrap();
    write_journal(
        &dir,
        &[
            START.as_bytes(),
            br#"{"event":"utterance_recorded","id":1,"start_s":0.0,"end_s":2.5,"wav":"utt-000001.wav"}"#,
            br#"{"event":"transcribed","id":1,"text":"And so, my fellow Americans."}"#,
            br#"{"event":"utterance_closed","id":2,"start_s":3.0,"end_s":4.6}"#,
            b"{\"event\":\"paused\",\"at_s\":5\xff}",
            br#"{"event":"utterance_recorded","id":3,"start_s":5.0,"end_s":6.0,"wav":"../../../../../etc/hostname"}"#,
        ],
        br#"{"event":"transcribed","id":2,"text":"8 of spa"#,
    );

    let (list, _) = texts(&output(sb.cmd().args(["sessions", "list"])));
    assert!(list.contains("1 untranscribed"), "{list}");
    assert!(list.contains("journal damaged: 3 lines"), "{list}");

    let o = output(sb.cmd().args(["sessions", "resume", "last"]));
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}\n{}", sb.log());
    assert!(err.contains("#2 rebuilt"), "{err}");
    assert!(
        err.contains("refused") && err.contains("etc/hostname"),
        "{err}"
    );
    assert!(norm(&out).contains("ask"), "{out}");

    let s = Session::load(&dir).unwrap();
    assert!(norm(s.utterances[&UtteranceId(2)].text.as_deref().unwrap()).contains("ask"));
    assert!(
        !s.utterances.contains_key(&UtteranceId(3)),
        "the forged entry is not obeyed"
    );
    assert!(s.ended.is_some(), "resume ends the session");
    assert!(
        !dir.join("utt-000002.wav.part").exists(),
        ".part cleaned up"
    );
    assert_eq!(s.bad_lines, 3, "{:?}", s.problems);
    let journal = std::fs::read(dir.join(JOURNAL)).unwrap();
    let glued = journal
        .split(|&b| b == b'\n')
        .filter(|l| l.windows(8).filter(|w| w == b"{\"event\"").count() > 1)
        .count();
    assert_eq!(glued, 0, "an entry was appended onto the torn line");
}

/// Escape sequences in journal text, the input name and the session id never reach the
/// terminal or a txt export raw; JSON keeps them, escaped; an export file is 0600 even
/// under umask 000.
#[test]
fn hostile_journal_text_stays_inert_and_exports_are_private() {
    let sb = Sandbox::new();
    let dir = session_dir(&sb);
    let hostile = r#"\u001b]52;c;aGVsbG8=\u0007hello\u001b[2J\u001b]0;pwned\u0007 world\u009b31m"#;
    let transcribed =
        format!(r#"{{"event":"transcribed","id":1,"text":"{hostile}","segments":[]}}"#);
    let start = START.replace("\"mic\"", r#""mic\u001b]0;x\u0007""#);
    write_journal(
        &dir,
        &[
            start.as_bytes(),
            br#"{"event":"utterance_recorded","id":1,"start_s":0.0,"end_s":1.0,"wav":"utt-000001.wav"}"#,
            transcribed.as_bytes(),
            br#"{"event":"session_ended","time":"t","reason":"stop"}"#,
        ],
        b"",
    );
    let raw = |s: &str| s.chars().any(|c| c.is_control() && c != '\n');
    for args in [
        &["sessions", "show", "last"][..],
        &["sessions", "list"],
        &["sessions", "export", "last"],
        &["sessions", "export", "last", "--format", "md"],
        &["sessions", "export", "last", "--format", "srt"],
        &["sessions", "export", "last", "--format", "json"],
    ] {
        let o = output(sb.cmd().args(args));
        let (out, err) = texts(&o);
        assert!(o.status.success(), "{args:?}: {err}");
        assert!(!raw(&out) && !raw(&err), "{args:?} printed {out:?}");
        if args[1] != "list" {
            assert!(
                out.contains("hello") && out.contains("world"),
                "{args:?}: {out}"
            );
        }
    }
    let (json, _) = texts(&output(
        sb.cmd()
            .args(["sessions", "export", "last", "--format", "json"]),
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        v["utterances"][0]["text"]
            .as_str()
            .unwrap()
            .contains('\u{1b}')
    );

    let out = sb.path().join("export.txt");
    let o = output(
        std::process::Command::new("sh")
            .args(["-c", "umask 000; exec \"$0\" \"$@\""])
            .arg(support::run::bin())
            .args(["sessions", "export", "last", "--out"])
            .arg(&out)
            .envs(sb.cmd().get_envs().filter_map(|(k, v)| Some((k, v?)))),
    );
    assert!(o.status.success(), "{}", texts(&o).1);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// While a recorder records a session, others see it as such and cannot resume it; once
/// that recorder is killed, the session is free.
#[test]
fn a_session_being_recorded_is_locked_until_its_recorder_dies() {
    tiny_en();
    let test = "a_session_being_recorded_is_locked…";
    let Some(jfk) = eval_clip("fw_jfk.wav") else {
        return skip(test, "../shared/eval is absent");
    };
    let sb = Sandbox::new();
    // Real-time pace: the 11 s clip keeps the session open while we look.
    let mut child = sb
        .cmd()
        .args(["--headless", "--keep", "--input"])
        .arg(&jfk)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    poll_until(Duration::from_secs(30), "the session to start", || {
        let Ok(dirs) = std::fs::read_dir(sb.sessions()) else {
            return Ok(false);
        };
        Ok(dirs
            .flatten()
            .any(|d| std::fs::read_to_string(d.path().join(JOURNAL)).is_ok_and(|j| !j.is_empty())))
    })
    .unwrap();
    let (list, _) = texts(&output(sb.cmd().args(["sessions", "list"])));
    let live = format!("recording now (pid {})", child.id());
    assert!(list.contains(&live), "{list}");
    assert!(!list.contains("interrupted"), "{list}");
    let o = output(sb.cmd().args(["sessions", "resume", "last"]));
    let (_, err) = texts(&o);
    assert!(!o.status.success());
    assert!(err.contains(&live), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    child.kill().unwrap(); // SIGKILL: the kernel drops its lock
    child.wait().unwrap();
    let (list, _) = texts(&output(sb.cmd().args(["sessions", "list"])));
    assert!(!list.contains("recording now"), "{list}");
}

/// File names are outside input too: the `# NAME` headers of `transcribe` and its error
/// lines carry no raw control characters.
#[test]
fn hostile_file_names_stay_inert() {
    tiny_en();
    let sb = Sandbox::new();
    let quiet = sb.path().join("quiet\x1b]0;pwned\x07.wav");
    recorder::audio::wav::write_16k_mono(&quiet, &[0.0; 16_000]).unwrap();
    let missing = sb.path().join("gone\x1b[2J.wav");
    let o = output(sb.cmd().arg("transcribe").arg(&quiet).arg(&missing));
    let (out, err) = texts(&o);
    assert!(out.contains("# ") && out.contains("pwned"), "{out}");
    assert!(err.contains("gone"), "{err}");
    for s in [&out, &err] {
        assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s:?}");
    }
}

/// The log is 0600 in a 0700 folder even under umask 000, and a symbolic link planted at its
/// path is not followed (the file it points to stays as it was).
#[test]
fn the_log_is_private_and_a_planted_link_is_not_followed() {
    let sb = Sandbox::new();
    let umask0 = |extra: &[(&str, &Path)]| {
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "umask 000; exec \"$0\" \"$@\""])
            .arg(support::run::bin())
            .args(["sessions", "list"])
            .envs(sb.cmd().get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env_remove("RECORDER_LOG_FILE");
        for (k, v) in extra {
            c.env(k, v);
        }
        output(&mut c)
    };
    let o = umask0(&[]);
    assert!(o.status.success(), "{}", texts(&o).1);
    let log = sb.path().join("state/recorder/recorder.log");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(log.parent().unwrap()), 0o700);

    let victim = sb.path().join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    let planted = sb.path().join("planted.log");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let o = umask0(&[("RECORDER_LOG_FILE", &planted)]);
    let (_, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
}
