//! Nothing lost: a recorder killed with SIGKILL mid-session leaves every recorded utterance's
//! audio in its session folder, and `recorder sessions resume` then completes the transcript
//! exactly as an uninterrupted run would have it. Sessions can be listed, shown and exported.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use recorder::session::Session;
use support::run::{Sandbox, concat_with_gaps, norm, output, texts, tiny_en};
use support::{have, poll_until, skip, speak};

const SENTENCES: &[&str] = &[
    "Please send the report tomorrow.",
    "We climbed the mountain yesterday.",
    "The museum opens on Monday.",
    "Our flight was delayed by fog.",
    "I lost my keys again.",
    "The cat is sleeping on the sofa.",
    "Dinner is ready in the kitchen.",
    "Thank you for listening.",
];

fn recording(sb: &Sandbox) -> PathBuf {
    let parts: Vec<_> = SENTENCES
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = sb.path().join(format!("s{i}.wav"));
            speak(s, &p).unwrap();
            (p, 1.5)
        })
        .collect();
    let out = sb.path().join("talk.wav");
    concat_with_gaps(&parts, &out);
    out
}

fn only_session(sb: &Sandbox) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(sb.sessions())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

fn count(journal: &Path, event: &str) -> usize {
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(&format!("\"event\":\"{event}\"")))
        .count()
}

#[test]
fn killed_mid_session_then_resumed_gives_the_uninterrupted_transcript() {
    tiny_en();
    if !have("espeak-ng") {
        return skip("killed_mid_session…", "espeak-ng is not installed");
    }
    // The reference: the same recording, uninterrupted.
    let reference = Sandbox::new();
    let talk = recording(&reference);
    let o = output(
        reference
            .cmd()
            .args(["--headless", "--fast", "--keep", "--input"])
            .arg(&talk),
    );
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    let expected: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(expected.len(), SENTENCES.len(), "{out}");

    // The crash: SIGKILL once some utterances are recorded but not all transcribed.
    let sb = Sandbox::new();
    let mut child = sb
        .cmd()
        .args(["--headless", "--fast", "--keep", "--input"])
        .arg(&talk)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut journal = PathBuf::new();
    poll_until(Duration::from_secs(60), "4 utterances recorded", || {
        let Ok(mut dirs) = std::fs::read_dir(sb.sessions()) else {
            return Ok(false);
        };
        let Some(Ok(d)) = dirs.next() else {
            return Ok(false);
        };
        journal = d.path().join("journal.jsonl");
        Ok(count(&journal, "utterance_recorded") >= 4)
    })
    .unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let recorded = count(&journal, "utterance_recorded");
    let done = count(&journal, "transcribed");
    assert!(
        done < recorded,
        "killed too late to test anything ({done}/{recorded} transcribed)"
    );
    let dir = only_session(&sb);
    let s = Session::load(&dir).unwrap();
    assert!(s.is_unfinished());
    for u in s.utterances.values() {
        assert!(u.wav.is_file(), "utterance #{} audio missing", u.id);
    }

    // The next start says so.
    let o = output(sb.cmd().args(["sessions", "list"]));
    assert!(texts(&o).0.contains("untranscribed"), "{}", texts(&o).0);

    // Resume completes it, equal to the uninterrupted run for what was recorded.
    let o = output(sb.cmd().args(["sessions", "resume", "last"]));
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    let s = Session::load(&dir).unwrap();
    assert!(s.untranscribed().is_empty());
    let got: Vec<String> = s
        .utterances
        .values()
        .map(|u| u.text.clone().unwrap())
        .collect();
    assert_eq!(got.len(), recorded);
    assert_eq!(got, expected[..recorded].to_vec());
    assert_eq!(
        out.lines().count(),
        recorded,
        "resume prints the whole transcript"
    );
    // The whole-session audio is readable after the crash (its header repaired).
    let r = hound::WavReader::open(dir.join("session.wav")).unwrap();
    let secs = r.duration() as f64 / 16_000.0;
    let last_end = s
        .utterances
        .values()
        .map(|u| u.span.end_s)
        .fold(0.0, f64::max);
    assert!(
        secs >= last_end - 0.05,
        "session.wav holds {secs:.1} s, utterances reach {last_end:.1} s"
    );

    // Export.
    let o = output(
        sb.cmd()
            .args(["sessions", "export", "last", "--format", "srt"]),
    );
    let srt = texts(&o).0;
    assert!(srt.starts_with("1\n00:00:"), "{srt}");
    assert!(norm(&srt).contains("report"));
}

#[test]
fn session_folder_is_private_and_complete_after_a_normal_run() {
    tiny_en();
    if !have("espeak-ng") {
        return skip("session_folder_is_private…", "espeak-ng is not installed");
    }
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let wav = sb.path().join("one.wav");
    speak("We climbed the mountain yesterday.", &wav).unwrap();
    let o = output(
        sb.cmd()
            .args(["--headless", "--fast", "--keep", "--input"])
            .arg(&wav),
    );
    assert!(o.status.success(), "{}", texts(&o).1);
    let dir = only_session(&sb);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?}", e.path());
    }
    let s = Session::load(&dir).unwrap();
    assert!(!s.is_unfinished());
    assert_eq!(s.transcribed(), 1);
    let o = output(sb.cmd().args(["sessions", "show", "last"]));
    assert!(norm(&texts(&o).0).contains("mountain"));
}

#[test]
fn unwritable_sessions_folder_is_one_clear_line() {
    tiny_en();
    let sb = Sandbox::new();
    let blocker = sb.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let cfg = sb.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("sessions_dir = \"{}/sub\"\n", blocker.display()),
    )
    .unwrap();
    let wav = sb.path().join("quiet.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for _ in 0..16_000 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let o = output(
        sb.cmd()
            .args(["transcribe", "--keep", "--config"])
            .arg(&cfg)
            .arg(&wav),
    );
    let (_, err) = texts(&o);
    assert!(!o.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not-a-dir"), "{err}");
}

/// What the segmenter discarded stays recoverable: a session whose journal has a
/// `discarded` candidate (here the audio of JFK's "ask not", as a soft phrase at the wrong
/// chunk offset could once be) lists it, and `sessions resume --discarded` transcribes it
/// into the session; a second resume has nothing left to do.
#[test]
fn discarded_candidates_are_transcribed_on_request() {
    tiny_en();
    let test = "discarded_candidates_are_transcribed_on_request";
    let Some(jfk) = support::run::eval_clip("fw_jfk.wav") else {
        return skip(test, "../shared/eval is absent");
    };
    let sb = Sandbox::new();
    let dir = sb.sessions().join("2026-12-01_10-00-00");
    std::fs::create_dir_all(&dir).unwrap();
    let samples = recorder::audio::wav::read_16k_mono(&jfk).unwrap();
    let ask_not = &samples[(3.0 * 16_000.0) as usize..(4.6 * 16_000.0) as usize];
    recorder::audio::wav::write_16k_mono(&dir.join("discard-000003000.wav"), ask_not).unwrap();
    let journal = [
        r#"{"event":"session_started","time":"2026-12-01T10:00:00","input":"mic","model":"tiny.en","version":"0"}"#,
        r#"{"event":"discarded","start_s":3.0,"end_s":4.6,"wav":"discard-000003000.wav"}"#,
        r#"{"event":"session_ended","time":"2026-12-01T10:00:09","reason":"stopped"}"#,
    ];
    std::fs::write(dir.join("journal.jsonl"), journal.join("\n") + "\n").unwrap();

    let (list, _) = texts(&output(sb.cmd().args(["sessions", "list"])));
    assert!(list.contains("1 discarded"), "{list}");
    let o = output(sb.cmd().args(["sessions", "resume", "last", "--discarded"]));
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}\n{}", sb.log());
    assert!(norm(&out).contains("ask"), "{out}");
    let s = Session::load(&dir).unwrap();
    assert_eq!(s.transcribed(), 1);
    assert!(s.pending_discards().is_empty());
    let (again, _) = texts(&output(sb.cmd().args([
        "sessions",
        "resume",
        "last",
        "--discarded",
    ])));
    assert!(again.contains("nothing left"), "{again}");
}

/// What the TUI journals when the user works on the text (`edited`, `deleted`), and a
/// no-speech utterance: `sessions show`, `list` and the exports use the edit, leave out the
/// deleted one and print no bare time for the empty one; the Markdown heading has the date.
#[test]
fn edits_and_deletes_reach_show_list_and_exports() {
    let sb = Sandbox::new();
    let dir = sb.sessions().join("2026-12-01T10-00-00");
    std::fs::create_dir_all(&dir).unwrap();
    let mut lines = vec![
        r#"{"event":"session_started","time":"2026-12-01T10:00:00","input":"mic","model":"tiny.en","version":"0"}"#.to_string(),
    ];
    for (id, text) in [
        (1, "Helo wrld."),
        (2, ""),
        (3, "Say nothing of this."),
        (4, "Last words."),
    ] {
        let start = id as f64 * 3.0;
        lines.push(format!(
            r#"{{"event":"utterance_recorded","id":{id},"start_s":{start},"end_s":{},"wav":"utt-{id:06}.wav"}}"#,
            start + 2.0
        ));
        lines.push(format!(
            r#"{{"event":"transcribed","id":{id},"text":"{text}","segments":[],"no_speech_prob":0.1}}"#
        ));
    }
    lines.push(r#"{"event":"edited","id":1,"text":"Hello world."}"#.into());
    lines.push(r#"{"event":"deleted","id":3}"#.into());
    lines.push(
        r#"{"event":"session_ended","time":"2026-12-01T10:00:20","reason":"stopped"}"#.into(),
    );
    std::fs::write(dir.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();

    let (show, err) = texts(&output(sb.cmd().args(["sessions", "show", "last"])));
    assert!(err.is_empty(), "{err}");
    let body: Vec<&str> = show.lines().skip(1).collect();
    assert_eq!(
        body,
        ["[00:03] Hello world.", "[00:12] Last words."],
        "{show}"
    );
    let (list, _) = texts(&output(sb.cmd().args(["sessions", "list"])));
    assert!(list.contains("\"Hello world."), "{list}");
    let (md, _) = texts(&output(
        sb.cmd()
            .args(["sessions", "export", "last", "--format", "md"]),
    ));
    assert!(md.starts_with("# Transcript, 2026-12-01 10:00\n"), "{md}");
    assert!(md.contains("Hello world.") && !md.contains("Helo"), "{md}");
    assert!(!md.contains("Say nothing"), "{md}");
}
