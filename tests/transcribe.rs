//! The real pipeline (Silero VAD through ONNX Runtime, whisper tiny.en in worker processes) on
//! real speech: the JFK clip, espeak-ng sentences, and a two-minute recording of many
//! utterances played through `--input`, which must lose none.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use support::run::{Sandbox, concat_with_gaps, eval_clip, norm, output, texts, tiny_en};
use support::{have, skip, speak};

#[test]
fn transcribes_the_jfk_clip() {
    tiny_en();
    let Some(jfk) = eval_clip("fw_jfk.wav") else {
        return skip("transcribes_the_jfk_clip", "../shared/eval is absent");
    };
    let sb = Sandbox::new();
    let o = output(sb.cmd().args(["transcribe", "--keep"]).arg(&jfk));
    let (out, err) = texts(&o);
    assert!(o.status.success(), "exit {:?}: {err}", o.status);
    let text = norm(&out);
    for words in [
        "fellow americans",
        "ask not",
        "what your country can do for you",
        "for your country",
    ] {
        assert!(text.contains(words), "missing {words:?} in {out:?}");
    }
    // Settled as one piece, the clip reads as the one sentence it is: a paragraph, with no
    // sentence end but the last (each utterance alone gave "Americans. / Ask not! / What…").
    let said = out.trim();
    assert_eq!(said.lines().count(), 1, "one paragraph: {out:?}");
    let ends = said.matches(['.', '!', '?']).count();
    assert!(ends == 1 && said.ends_with('.'), "one sentence: {out:?}");
    // Audio reaches disk before it is transcribed: the utterance WAVs are in the session.
    let sessions: Vec<_> = std::fs::read_dir(sb.sessions())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(sessions.len(), 1);
    let wavs = std::fs::read_dir(sessions[0].path()).unwrap().count();
    assert!(wavs >= 1, "no utterance WAVs kept");
}

#[test]
fn transcribes_espeak_speech_as_json() {
    tiny_en();
    if !have("espeak-ng") {
        return skip(
            "transcribes_espeak_speech_as_json",
            "espeak-ng is not installed",
        );
    }
    let sb = Sandbox::new();
    let wav = sb.path().join("fox.wav");
    speak(
        "This recorder keeps every word you say on your own computer.",
        &wav,
    )
    .unwrap();
    let o = output(sb.cmd().args(["transcribe", "--json"]).arg(&wav));
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .filter(|v: &serde_json::Value| v["kind"] == "final")
        .collect();
    assert_eq!(lines.len(), 1, "{out}");
    let v = &lines[0];
    assert_eq!(v["id"], 1);
    assert!(v["end"].as_f64().unwrap() > v["start"].as_f64().unwrap());
    assert!(v["timings"]["worker_ms"].as_f64().unwrap() > 0.0);
    let text = norm(v["text"].as_str().unwrap());
    for w in ["recorder", "keeps", "say", "your own computer"] {
        assert!(text.contains(w), "missing {w:?} in {text:?}");
    }
}

/// 24 distinct sentences, each with a word whisper must get, separated by pauses.
pub const SENTENCES: &[(&str, &str)] = &[
    ("Good morning, everyone.", "morning"),
    ("Please send the report tomorrow.", "report"),
    ("I would like a cup of coffee.", "coffee"),
    ("The garden is full of flowers.", "garden"),
    ("She plays the guitar every evening.", "guitar"),
    ("Open the window please.", "window"),
    ("The doctor will see you now.", "doctor"),
    ("We climbed the mountain yesterday.", "mountain"),
    ("The children are playing football.", "football"),
    ("Turn off the lights before bed.", "light"),
    ("The meeting starts after lunch.", "meeting"),
    ("I lost my keys again.", "keys"),
    ("The river runs through the valley.", "river"),
    ("Dinner is ready in the kitchen.", "kitchen"),
    ("He reads the newspaper every morning.", "reads"),
    ("The museum opens on Monday.", "museum"),
    ("Bring an umbrella because it might rain.", "umbrella"),
    ("The cat is sleeping on the sofa.", "sleeping"),
    ("The library closes at noon.", "library"),
    ("Our flight was delayed by fog.", "flight"),
    ("Please call me later.", "call"),
    ("Let us finish this project.", "project"),
    ("We went to the beach on Sunday.", "beach"),
    ("Thank you for listening.", "listening"),
];

#[test]
fn input_file_of_many_utterances_loses_none() {
    tiny_en();
    if !have("espeak-ng") {
        return skip(
            "input_file_of_many_utterances_loses_none",
            "espeak-ng is not installed",
        );
    }
    let sb = Sandbox::new();
    let parts: Vec<_> = SENTENCES
        .iter()
        .enumerate()
        .map(|(i, (s, _))| {
            let p = sb.path().join(format!("s{i}.wav"));
            speak(s, &p).unwrap();
            // Pauses of 2-3 s, as between dictated sentences.
            (p, 2.0 + (i % 3) as f32 * 0.5)
        })
        .collect();
    let long = sb.path().join("long.wav");
    concat_with_gaps(&parts, &long);
    let dur = hound::WavReader::open(&long)
        .map(|r| r.duration() as f64 / r.spec().sample_rate as f64)
        .unwrap();
    assert!(dur > 100.0, "recording is only {dur:.0} s");
    let o = output(
        sb.cmd()
            .args(["--headless", "--json", "--fast", "--input"])
            .arg(&long),
    );
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    // Each sentence has one final; the settle pass's `settled` lines may follow and replace
    // its words (a final pass unsure of a word leaves the full-window decode to it).
    let all: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<&serde_json::Value> = all.iter().filter(|v| v["kind"] == "final").collect();
    let got: Vec<String> = lines
        .iter()
        .map(|v| {
            let settled = all
                .iter()
                .rfind(|s| s["kind"] == "settled" && s["id"] == v["id"]);
            norm(settled.unwrap_or(v)["text"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        lines.len(),
        SENTENCES.len(),
        "one line per sentence, got:\n{}",
        got.join("\n")
    );
    // Each line is its own sentence, in order. tiny.en mishears synthetic speech now and then
    // (that is the accuracy issue's business), so allow two misses of 24 key words; a lost or
    // merged utterance shifts every later line and fails this by far.
    let mut misses = Vec::new();
    for (i, ((_, word), text)) in SENTENCES.iter().zip(&got).enumerate() {
        if !text.contains(word) {
            misses.push(format!("line {i}: {word:?} missing in {text:?}"));
        }
        assert_eq!(lines[i]["id"], i as u64 + 1, "ids in order");
    }
    assert!(misses.len() <= 2, "{}", misses.join("\n"));
    // Utterance times are increasing and inside the recording.
    let ends: Vec<f64> = lines.iter().map(|v| v["end"].as_f64().unwrap()).collect();
    assert!(ends.windows(2).all(|w| w[0] < w[1]));
    assert!(*ends.last().unwrap() <= dur + 0.1);
}

/// Running files is not recording: `transcribe` and `--headless --input` leave no session
/// (their scratch folder is removed) unless `--keep`, so `sessions list` and `sessions show
/// last` are about recordings. `transcribe --json` answers a file with no speech with one
/// line of empty text.
#[test]
fn file_runs_leave_no_session_unless_kept() {
    tiny_en();
    let sb = Sandbox::new();
    let quiet = sb.path().join("quiet.wav");
    recorder::audio::wav::write_16k_mono(&quiet, &[0.0; 32_000]).unwrap();
    let leftovers = || std::fs::read_dir(sb.path().join("tmp")).unwrap().count();

    let o = output(sb.cmd().args(["transcribe", "--json"]).arg(&quiet));
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "one answer for the file: {out}");
    assert_eq!(lines[0]["text"], "", "{out}");
    assert_eq!(lines[0]["no_speech"], true, "{out}");
    assert!(lines[0]["file"].as_str().unwrap().ends_with("quiet.wav"));

    let o = output(
        sb.cmd()
            .args(["--headless", "--fast", "--input"])
            .arg(&quiet),
    );
    assert!(o.status.success(), "{}", texts(&o).1);
    assert!(!sb.sessions().exists(), "a file run made a session");
    assert_eq!(leftovers(), 0, "the scratch folder was left behind");
    let (list, _) = texts(&output(sb.cmd().args(["sessions", "list"])));
    assert!(list.starts_with("no sessions"), "{list}");

    let o = output(sb.cmd().args(["transcribe", "--keep"]).arg(&quiet));
    assert!(o.status.success(), "{}", texts(&o).1);
    let kept = std::fs::read_dir(sb.sessions()).unwrap().count();
    assert_eq!(kept, 1, "--keep keeps the run");
    let (list, _) = texts(&output(sb.cmd().args(["sessions", "list"])));
    let rows: Vec<&str> = list.lines().collect();
    assert_eq!(rows.len(), 2, "a header and the session: {list}");
    assert!(rows[0].starts_with("SESSION") && rows[0].contains("FIRST WORDS"));
    for part in [
        "0:02",
        "quiet.wav",
        "(nothing said)",
        "0 utterances",
        "complete",
    ] {
        assert!(rows[1].contains(part), "{part:?} not in {:?}", rows[1]);
    }
}

/// FLAC, Ogg Vorbis (44.1 kHz stereo) and MP3 are decoded (symphonia), not refused: each
/// made from the JFK clip gives its words; a file cut in half keeps what is there or says
/// in one line what is wrong, never a panic.
#[test]
fn compressed_audio_is_decoded() {
    tiny_en();
    let Some(jfk) = eval_clip("fw_jfk.wav") else {
        return skip("compressed_audio_is_decoded", "../shared/eval is absent");
    };
    for tool in ["sox", "lame"] {
        if !have(tool) {
            return skip(
                "compressed_audio_is_decoded",
                &format!("{tool} is not installed"),
            );
        }
    }
    let sb = Sandbox::new();
    let run = |cmd: &mut std::process::Command| assert!(cmd.status().unwrap().success());
    let flac = sb.path().join("jfk.flac");
    let ogg = sb.path().join("jfk.ogg");
    let mp3 = sb.path().join("jfk.mp3");
    run(std::process::Command::new("sox").arg(&jfk).arg(&flac));
    run(std::process::Command::new("sox")
        .arg(&jfk)
        .args(["-r", "44100", "-c", "2"])
        .arg(&ogg));
    run(std::process::Command::new("lame")
        .arg("--quiet")
        .arg(&jfk)
        .arg(&mp3));
    let o = output(
        sb.cmd()
            .args(["transcribe", "--json"])
            .args([&flac, &ogg, &mp3]),
    );
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    for file in ["jfk.flac", "jfk.ogg", "jfk.mp3"] {
        let said: String = out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["file"].as_str().is_some_and(|f| f.ends_with(file)))
            .filter_map(|v| v["text"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
            .join(" ");
        let said = norm(&said);
        for words in ["fellow americans", "your country"] {
            assert!(said.contains(words), "{file}: {words:?} not in {said:?}");
        }
    }
    let bytes = std::fs::read(&ogg).unwrap();
    let half = sb.path().join("half.ogg");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let o = output(sb.cmd().arg("transcribe").arg(&half));
    let (out, err) = texts(&o);
    assert!(!err.contains("panicked"), "{err}");
    if o.status.success() {
        assert!(norm(&out).contains("fellow americans"), "{out}");
    } else {
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("half.ogg"), "{err}");
    }
}
