//! End to end through real capture: `recorder --headless` on the default ALSA device, which is
//! a private PulseAudio daemon's virtual microphone; spoken sentences are fed into it one after
//! another, and each must come out as its own line shortly after it ends.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::run::{Sandbox, norm, tiny_en};
use support::vmic::{self, VirtualMic};
use support::{skip, speak, wait_child};

const SENTENCES: &[(&str, &str)] = &[
    ("Please send the report tomorrow.", "report"),
    ("We climbed the mountain yesterday.", "mountain"),
    ("The museum opens on Monday.", "museum"),
];

/// How long after feeding a sentence its line may take: tiny.en needs ~1 s on 2 cores; the
/// rest is slack for a loaded CI machine (a deadline, not a sleep).
const LINE_DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn headless_prints_each_spoken_sentence_as_its_own_line() {
    tiny_en();
    if let Some(why) = vmic::unavailable() {
        return skip("headless_prints_each_spoken_sentence_as_its_own_line", &why);
    }
    let sb = Sandbox::new();
    let mic = VirtualMic::start().expect("virtual mic");
    let mut cmd: Command = sb.cmd();
    // The mic's env sets XDG_CONFIG_HOME for ALSA; the sandbox's other folders stay.
    cmd.envs(mic.env())
        .args(["--headless", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start recorder");
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());

    mic.wait_for_capture(Duration::from_secs(30))
        .expect("recorder opens the mic");
    let mut lines = Vec::new();
    for (i, (sentence, word)) in SENTENCES.iter().enumerate() {
        let wav = sb.path().join(format!("live{i}.wav"));
        speak(sentence, &wav).unwrap();
        mic.feed(&wav).unwrap();
        // A settle pass's `settled` lines may come between the finals.
        let v = loop {
            let line = rx
                .recv_timeout(LINE_DEADLINE)
                .unwrap_or_else(|_| panic!("no line for {sentence:?}"));
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
            if v["kind"] == "final" {
                break v;
            }
        };
        assert_eq!(v["id"], i as u64 + 1);
        lines.push((v, *word));
    }
    // Ctrl-C ends the session cleanly (exit 130, as for any program stopped by SIGINT), with
    // no more finals to print (the settle pass's lines may follow).
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_child(&mut child, Duration::from_secs(30), "recorder").unwrap();
    let err = errors.join().unwrap();
    assert_eq!(status.code(), Some(130), "exit {status}: {err}");
    // Until its output closes (read by a thread of its own).
    let mut rest: Vec<serde_json::Value> = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        rest.push(serde_json::from_str(&line).expect("JSON line"));
    }
    let extra: Vec<_> = rest.iter().filter(|v| v["kind"] != "settled").collect();
    assert!(extra.is_empty(), "no extra finals: {extra:?}");
    // Each sentence's word, in its text as it ends up: the settle pass's when it re-decoded
    // the utterance (a final pass unsure of a word leaves that to it), else the final's.
    for (v, word) in &lines {
        let settled = rest.iter().rfind(|s| s["id"] == v["id"]);
        let text = norm(settled.unwrap_or(v)["text"].as_str().unwrap_or(""));
        assert!(text.contains(word), "{word:?} missing in {text:?}");
    }
    // Silence follows each sentence: its final pass ran while the segmenter still waited for
    // the end, and that text is the final one (a speculative final).
    for (v, _) in &lines {
        assert_eq!(v["timings"]["speculative"], true, "{v}");
    }
    let lines: Vec<serde_json::Value> = lines.into_iter().map(|(v, _)| v).collect();
    // Utterances are placed on the session clock, in order, without overlap.
    let spans: Vec<(f64, f64)> = lines
        .iter()
        .map(|v| (v["start"].as_f64().unwrap(), v["end"].as_f64().unwrap()))
        .collect();
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "{spans:?}");
}

/// In the silence after the clip the settle pass decodes its utterances again as one piece:
/// "…fellow Americans ask not what your country…", one sentence where each utterance alone
/// made three ("And so my fellow Americans. / Ask not! / What your country…").
fn settles_as_one_sentence(rx: &std::sync::mpsc::Receiver<String>) {
    let mut settled = String::new();
    while !norm(&settled).contains("for your country") {
        let line = rx
            .recv_timeout(LINE_DEADLINE)
            .unwrap_or_else(|_| panic!("no settled text after {settled:?}"));
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        if v["kind"] == "settled" {
            settled.push_str(v["text"].as_str().unwrap_or(""));
            settled.push(' ');
        }
    }
    let joined = norm(&settled);
    assert!(
        joined.contains("fellow americans ask not what your country can do for you"),
        "{settled:?}"
    );
    let between = settled
        .split("Americans")
        .nth(1)
        .and_then(|rest| rest.split("country").next())
        .unwrap_or_default();
    assert!(
        !between.contains(['.', '!', '?']),
        "a sentence break: {settled:?}"
    );
}

/// JFK's "ask not" is a soft, short phrase whose Silero probabilities depend on where the
/// 32 ms chunk grid falls; through the microphone (48 kHz stereo from the sound server,
/// resampled) that is wherever the stream happens to start. Played three times into one
/// session, each time at another offset of the grid, the phrase must come out every time.
#[test]
fn jfk_keeps_ask_not_through_the_microphone_every_time() {
    tiny_en();
    let test = "jfk_keeps_ask_not_through_the_microphone_every_time";
    if let Some(why) = vmic::unavailable() {
        return skip(test, &why);
    }
    let Some(jfk) = support::run::eval_clip("fw_jfk.wav") else {
        return skip(test, "../shared/eval is absent");
    };
    let sb = Sandbox::new();
    let mic = VirtualMic::start().expect("virtual mic");
    let rec = mic.record(&sb, &["--headless", "--json"]);
    let (mut child, rx) = (rec.child, rec.out);
    for run in 1..=3 {
        mic.feed(&jfk).unwrap();
        // The clip's last utterance ends "... for your country."; collect up to it.
        let mut heard = String::new();
        // Each utterance's span and text, for the message if the phrase is lost.
        let mut spans = Vec::new();
        while !heard.contains("do for your country") {
            let line = rx
                .recv_timeout(LINE_DEADLINE)
                .unwrap_or_else(|_| panic!("run {run}: no more lines after {heard:?}"));
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
            if v["kind"] != "final" {
                continue;
            }
            heard.push_str(&norm(v["text"].as_str().unwrap_or("")));
            heard.push(' ');
            spans.push(format!("{}-{} {}", v["start"], v["end"], v["text"]));
        }
        // Both words of the phrase are there. What tiny.en makes of them is another matter:
        // "not" comes out as "knock" now and then, and "ask" as "S" ("S NOT!": seen in 1 run
        // in 3 under load, CI included; that utterance's WAV holds the whole word after
        // 320 ms of pre-roll, and whisper says "S NOT!" on it alone and on a longer cut of
        // session.wav around it). A lost or clipped phrase leaves fewer words.
        // "Americans" is found by its stem: its final fricative sits under the VAD's 0.15 and
        // tiny.en once wrote "so my fellow america" (CI, under load), which is not the
        // phrase this test is about.
        let phrase = heard
            .split_once("americ")
            .map(|(_, rest)| rest.split_once(' ').map_or("", |(_, r)| r))
            .and_then(|rest| rest.split("what your country").next())
            .map(|p| p.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default();
        if phrase.len() != 2 {
            // Kept for a look at the utterances' audio: was the word cut, or misheard?
            let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-jfk-failure");
            let _ = std::fs::remove_dir_all(&kept);
            let copied = std::process::Command::new("cp")
                .arg("-r")
                .arg(sb.sessions())
                .arg(&kept)
                .status();
            panic!(
                "run {run}: \"ask not\" lost: {heard:?}; utterances: {spans:#?}; sessions \
                 copied to {} ({copied:?})",
                kept.display()
            );
        }
        if run == 1 {
            settles_as_one_sentence(&rx);
        }
    }
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_child(&mut child, Duration::from_secs(30), "recorder").unwrap();
    assert_eq!(status.code(), Some(130), "exit {status}");
}
