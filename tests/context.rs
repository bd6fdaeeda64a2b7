//! The text said before an utterance reaches its worker as the prompt's context: through
//! the real audio thread (Silero on spoken phrases) and the engine, with a scripted worker
//! that logs each request and answers "Utterance N." (whisper's part of it, the echo guard
//! and the effect on the eval set, is measured by `recorder eval`).

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use recorder::engine::{EngineConfig, EngineEvent};
use recorder::pool::WorkerSpec;
use support::run::{Sandbox, concat_with_gaps, drive_file, scripted_engine, worker_script};
use support::{have, skip, speak};

/// A worker that logs every request line to `requests.log` and answers "Utterance N.".
fn logging_worker(dir: &Path) -> WorkerSpec {
    let log = dir.join("requests.log");
    let body = format!(
        r#"#!/bin/sh
echo '{{"type":"hello","version":2,"pid":1,"model":"fake","multilingual":false,"load_ms":0}}'
while read -r line; do
  printf '%s\n' "$line" >> '{log}'
  id=$(printf '%s' "$line" | sed 's/.*"id":\([0-9]*\).*/\1/')
  echo "{{\"type\":\"done\",\"id\":$id,\"text\":\"Utterance $id.\",\"segments\":[],\"no_speech_prob\":0.0,\"encode_ms\":1,\"decode_ms\":1,\"worker_ms\":2}}"
done
"#,
        log = log.display()
    );
    worker_script(dir, "worker.sh", &body)
}

/// Three spoken phrases 1.5 s apart.
fn three_phrases(sb: &Sandbox) -> std::path::PathBuf {
    let texts = [
        "Please send the report tomorrow.",
        "We climbed the mountain yesterday.",
        "Thank you for listening.",
    ];
    let mut parts = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let p = sb.path().join(format!("p{i}.wav"));
        speak(text, &p).unwrap();
        parts.push((p, 1.5));
    }
    let file = sb.path().join("three.wav");
    concat_with_gaps(&parts, &file);
    file
}

/// Runs `file` through an engine with the logging worker; returns the request lines.
async fn requests(sb: &Sandbox, file: &Path, context_chars: usize) -> Vec<String> {
    let cfg = EngineConfig {
        context_chars,
        ..scripted_engine(sb.path().join("sessions"), logging_worker(sb.path()))
    };
    let mut texts = Vec::new();
    let on = |ev| {
        if let EngineEvent::Transcribed { text, .. } = ev {
            texts.push(text.text);
        }
        Ok(())
    };
    drive_file(cfg, file, false, on).await;
    assert_eq!(texts, ["Utterance 1.", "Utterance 2.", "Utterance 3."]);
    let log = std::fs::read_to_string(sb.path().join("requests.log")).unwrap();
    std::fs::remove_file(sb.path().join("requests.log")).unwrap();
    log.lines().map(String::from).collect()
}

fn context_of(request: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(request).unwrap();
    v.get("context").map(|c| c.as_str().unwrap().to_string())
}

#[tokio::test]
async fn each_utterance_is_decoded_with_the_text_before_it() {
    if !have("espeak-ng") {
        return skip("each_utterance_is_decoded…", "espeak-ng is not installed");
    }
    let sb = Sandbox::new();
    let file = three_phrases(&sb);
    let lines = requests(&sb, &file, 200).await;
    let contexts: Vec<Option<String>> = lines.iter().map(|l| context_of(l)).collect();
    assert_eq!(
        contexts,
        [
            None,
            Some("Utterance 1".into()),
            Some("Utterance 1. Utterance 2".into())
        ]
    );
    // Bounded: 14 characters hold one of the texts, cut at a word.
    let lines = requests(&sb, &file, 14).await;
    assert_eq!(context_of(&lines[2]).as_deref(), Some("Utterance 2"));
    // Off.
    let lines = requests(&sb, &file, 0).await;
    assert!(lines.iter().all(|l| context_of(l).is_none()), "{lines:?}");
}
