//! Live text: with `--headless --json --interim`, interim lines for an utterance come while it
//! is being spoken (played at real-time pace), before its final line; plain headless output
//! stays final-only.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use support::run::{Sandbox, norm, output, texts, tiny_en};
use support::{have, skip, speak};

#[test]
fn interim_lines_come_before_the_final_line() {
    tiny_en();
    if !have("espeak-ng") {
        return skip(
            "interim_lines_come_before_the_final_line",
            "espeak-ng is not installed",
        );
    }
    let sb = Sandbox::new();
    let wav = sb.path().join("long.wav");
    speak(
        "Please send the report tomorrow morning before the meeting starts, and remember to bring the charts we discussed last week.",
        &wav,
    )
    .unwrap();
    let o = output(
        sb.cmd()
            .args(["--headless", "--json", "--interim", "--input"])
            .arg(&wav),
    );
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    let all: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A `settled` line may follow: the settle pass's full-window decode of an utterance
    // whose final pass was unsure of a word; the words are checked as they end up.
    let settled = all.iter().rfind(|v| v["kind"] == "settled");
    let lines: Vec<&serde_json::Value> = all.iter().filter(|v| v["kind"] != "settled").collect();
    let kinds: Vec<&str> = lines.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert!(kinds.len() >= 2 && kinds[0] == "interim", "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"final"));
    assert_eq!(kinds.iter().filter(|k| **k == "final").count(), 1);
    assert!(all.iter().all(|v| v["id"] == 1));
    let final_text = norm(
        settled.unwrap_or(lines.last().unwrap())["text"]
            .as_str()
            .unwrap(),
    );
    assert!(
        final_text.contains("report") && final_text.contains("meeting"),
        "{final_text}"
    );
    // Interim text is a guess at the same words: its first words are the final's.
    let first_interim = norm(
        lines.iter().rev().find(|v| v["kind"] == "interim").unwrap()["text"]
            .as_str()
            .unwrap(),
    );
    let first_word = first_interim.split(' ').next().unwrap_or("");
    assert!(
        final_text.starts_with(first_word),
        "{first_interim:?} vs {final_text:?}"
    );

    // Without --interim: final lines only.
    let o = output(
        sb.cmd()
            .args(["--headless", "--json", "--fast", "--input"])
            .arg(&wav),
    );
    let out = texts(&o).0;
    assert!(
        out.lines()
            .all(|l| l.contains("\"kind\":\"final\"") || l.contains("\"kind\":\"settled\"")),
        "{out}"
    );
}
