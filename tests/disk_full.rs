//! Disk full mid-session: recording stops safely with one clear line, and nothing already
//! written is corrupted. No root and no small file system needed: recorder runs with
//! RLIMIT_FSIZE set low (every write past the limit fails with EFBIG, as on a full disk,
//! once SIGXFSZ is ignored), so `session.wav`, the file that grows fastest (32 kB/s), hits
//! the limit a few utterances into the session.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use recorder::session::{Session, repair_wav_header};
use support::run::{Sandbox, concat_with_gaps, output, texts, tiny_en};
use support::{have, skip, speak};

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

/// 288 KiB: 9.2 s of `session.wav` (16 kHz, 16-bit), inside the third sentence of the
/// ~29 s recording (8.1-10.4 s with espeak-ng 1.51), so the disk fills mid-utterance after
/// two utterances were recorded; utterance WAVs (~2.5 s, 80 kB), the journal and the log
/// stay far below it.
const LIMIT: u64 = 288 * 1024;

fn only_session(sb: &Sandbox) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(sb.sessions())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Every sample of a WAV, or why it cannot be read.
fn read_all(path: &Path) -> Result<Vec<i16>, String> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    r.samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[test]
fn disk_full_mid_session_stops_cleanly_and_keeps_what_was_written() {
    tiny_en();
    if !have("espeak-ng") {
        return skip("disk_full_mid_session…", "espeak-ng is not installed");
    }
    let sb = Sandbox::new();
    let parts: Vec<_> = SENTENCES
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = sb.path().join(format!("s{i}.wav"));
            speak(s, &p).unwrap();
            (p, 1.5)
        })
        .collect();
    let long = sb.path().join("long.wav");
    concat_with_gaps(&parts, &long);
    // Where each sentence is in the recording (espeak's own file, then 1.5 s of silence).
    let mut spans = Vec::new();
    let mut t = 0.0;
    for (p, gap) in &parts {
        let r = hound::WavReader::open(p).unwrap();
        let d = r.duration() as f64 / r.spec().sample_rate as f64;
        spans.push((t, t + d));
        t += d + f64::from(*gap);
    }
    // session.wav stops growing here: what fit under the limit, at 16 kHz, 16-bit.
    let fail_s = (LIMIT - 44) as f64 / 2.0 / 16_000.0;

    let mut cmd = sb.cmd();
    cmd.args(["--headless", "--fast", "--keep", "--input"])
        .arg(&long);
    // SAFETY: setrlimit and signal are async-signal-safe; nothing else runs between fork and
    // exec. SIG_IGN survives exec, so recorder's writes fail with EFBIG instead of killing it.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: LIMIT as libc::rlim_t,
                rlim_max: LIMIT as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = output(&mut cmd);
    let (out, err) = texts(&o);
    let log = sb.log();

    // A clean, failing exit (not a signal, not a panic) with one clear line about it.
    assert!(
        o.status.code().is_some_and(|c| c != 0),
        "{:?}\nstdout: {out}\nstderr: {err}\n{log}",
        o.status
    );
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {err}\nstdout: {out}\n{log}");
    assert!(
        lines[0].contains("session.wav") && lines[0].contains("recording stopped"),
        "{err}"
    );

    let dir = only_session(&sb);
    // The journal parses, every line of it, and says the session ended.
    let s = Session::load(&dir).unwrap();
    assert_eq!(s.bad_lines, 0, "{s:?}");
    assert!(s.ended.is_some(), "{s:?}");
    // Some utterances were recorded before the disk filled, and not all of them.
    let n = s.utterances.len();
    assert!(n >= 1 && n < SENTENCES.len(), "{n} utterances: {s:?}");
    // Each has its WAV, complete: as long as the journal says.
    for u in s.utterances.values() {
        let wav = dir.join(&u.wav);
        let samples = read_all(&wav).unwrap_or_else(|e| panic!("utterance {}: {e}", u.id));
        let want = (u.span.duration_s() * 16_000.0).round() as i64;
        assert!(
            (samples.len() as i64 - want).abs() <= 1,
            "utterance {}: {} samples, journal says {want}",
            u.id,
            samples.len()
        );
    }
    // The utterance open when the disk filled was closed and kept, not lost with the
    // failure (it was, before: rewriting session.wav's header for it retried the failed
    // write).
    assert!(
        spans
            .iter()
            .any(|&(a, b)| a + 0.3 < fail_s && fail_s < b - 0.3),
        "the limit ({fail_s:.2} s) no longer falls inside a sentence {spans:?}: adjust LIMIT"
    );
    assert!(
        s.utterances
            .values()
            .any(|u| u.span.start_s < fail_s && u.span.end_s > fail_s - 0.1),
        "no utterance spans the failure at {fail_s:.2} s: {s:?}"
    );
    // Each one that got a transcript was printed (stdout lines are the utterances' texts).
    let printed = out.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(printed, s.transcribed(), "stdout: {out}");

    // session.wav is readable as it is, and holds everything that fit under the limit (a
    // header true to its data, not one counting the samples whose writes failed): all of
    // the audio up to the failure, so every utterance closed before it. (The one open at
    // the failure was closed after it: its audio is in its own WAV only.)
    let session_wav = dir.join("session.wav");
    let samples = read_all(&session_wav).unwrap();
    assert!(
        44 + 2 * samples.len() as u64 >= LIMIT - 1,
        "{} samples: less than what fit under {LIMIT} bytes",
        samples.len()
    );
    let mut ends: Vec<f64> = s.utterances.values().map(|u| u.span.end_s).collect();
    ends.pop();
    for end in ends {
        assert!(samples.len() as f64 >= end * 16_000.0 - 1.0, "{end} s");
    }
    // And `sessions resume`'s header repair finds nothing more in it.
    let held = repair_wav_header(&session_wav).unwrap();
    assert_eq!(held, samples.len() as u64);
}
