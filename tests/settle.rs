//! The settle pass: at a pause (and at the stop) the utterances since the last settle are
//! decoded again as one piece and their texts replaced where whisper is surer of the whole.
//! Through the real audio thread (Silero on spoken phrases) and the engine, with a scripted
//! worker that answers "Utterance N." for each utterance and a text of the test's choosing
//! for a settle pass (what whisper makes of the whole is measured by `recorder eval
//! --long-form`, README "Long-form dictation").

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use recorder::engine::{EngineConfig, EngineEvent};
use recorder::pool::WorkerSpec;
use recorder::session::Session;
use recorder::vocab::UtteranceId;
use support::run::{Sandbox, concat_with_gaps, drive_file, scripted_engine, worker_script};
use support::{have, skip, speak};

/// A worker that answers "Utterance N." (mean log-prob -0.5) for an utterance and
/// `settled` (mean log-prob `logprob`) for a settle pass (its WAV is `settle.wav`); it logs
/// the WAV of each request.
fn scripted_worker(dir: &Path, settled: &str, logprob: f32) -> WorkerSpec {
    let log = dir.join("requests.log");
    let seg = |text: &str, lp: f32| {
        format!(
            r#"[{{\"start_s\":0.0,\"end_s\":1.0,\"text\":\"{text}\",\"no_speech_prob\":0.0,\"avg_logprob\":{lp},\"tokens\":4}}]"#
        )
    };
    let body = format!(
        r#"#!/bin/sh
echo '{{"type":"hello","version":2,"pid":1,"model":"fake","multilingual":false,"load_ms":0}}'
while read -r line; do
  id=$(printf '%s' "$line" | sed 's/.*"id":\([0-9]*\).*/\1/')
  case "$line" in
    *settle.wav*)
      echo settle >> '{log}'
      echo "{{\"type\":\"done\",\"id\":$id,\"text\":\"{settled}\",\"segments\":{sseg},\"no_speech_prob\":0.0,\"encode_ms\":1,\"decode_ms\":1,\"worker_ms\":2}}" ;;
    *)
      echo "utterance $id" >> '{log}'
      echo "{{\"type\":\"done\",\"id\":$id,\"text\":\"Utterance $id.\",\"segments\":{useg},\"no_speech_prob\":0.0,\"encode_ms\":1,\"decode_ms\":1,\"worker_ms\":2}}" ;;
  esac
done
"#,
        log = log.display(),
        sseg = seg(settled, logprob),
        useg = seg("Utterance $id.", -0.5),
    );
    worker_script(dir, "worker.sh", &body)
}

/// Spoken phrases with the given pauses after each (seconds).
fn phrases(sb: &Sandbox, gaps: &[f32]) -> std::path::PathBuf {
    let texts = [
        "Please send the report tomorrow.",
        "We climbed the mountain yesterday.",
        "Thank you for listening.",
    ];
    let mut parts = Vec::new();
    for (i, (text, gap)) in texts.iter().zip(gaps).enumerate() {
        let p = sb.path().join(format!("p{i}.wav"));
        speak(text, &p).unwrap();
        parts.push((p, *gap));
    }
    let file = sb.path().join("phrases.wav");
    concat_with_gaps(&parts, &file);
    file
}

/// Utterance texts by id.
type Texts = Vec<(UtteranceId, String)>;

/// What a recording of `file` said: each `Settled` event's ids and texts (None: refused),
/// the order of the events that matter, and the session's folder.
struct Run {
    settled: Vec<(Vec<UtteranceId>, Option<Texts>)>,
    order: Vec<&'static str>,
    dir: std::path::PathBuf,
}

async fn record(sb: &Sandbox, file: &Path, worker: WorkerSpec, realtime: bool) -> Run {
    let cfg = EngineConfig {
        settle_pause: Some(Duration::from_secs(2)),
        ..scripted_engine(sb.sessions(), worker)
    };
    let mut run = Run {
        settled: Vec::new(),
        order: Vec::new(),
        dir: Default::default(),
    };
    let on = |ev| {
        match ev {
            EngineEvent::RecordingStarted { session_dir, .. } => run.dir = session_dir,
            EngineEvent::Transcribed { .. } => run.order.push("transcribed"),
            EngineEvent::Queued { .. } => run.order.push("queued"),
            EngineEvent::Settled { ids, texts, .. } => {
                run.order.push("settled");
                run.settled.push((ids, texts.ok()));
            }
            EngineEvent::RecordingStopped { .. } => run.order.push("stopped"),
            EngineEvent::RecordingSettled { .. } => run.order.push("recording settled"),
            _ => {}
        }
        Ok(())
    };
    // Returns only after `RecordingSettled`: the settle pass is part of the run.
    drive_file(cfg, file, realtime, on).await;
    run
}

fn ids(n: &[u64]) -> Vec<UtteranceId> {
    n.iter().map(|&i| UtteranceId(i)).collect()
}

#[tokio::test]
async fn a_surer_settle_pass_replaces_the_texts_in_the_journal_and_exports() {
    if !have("espeak-ng") {
        return skip("a_surer_settle_pass…", "espeak-ng is not installed");
    }
    let sb = Sandbox::new();
    let file = phrases(&sb, &[1.2, 1.2, 0.5]);
    let worker = scripted_worker(
        sb.path(),
        "Utterance one, utterance two, utterance three.",
        -0.2,
    );
    let run = record(&sb, &file, worker, false).await;
    let texts = vec![
        (UtteranceId(1), "Utterance one,".to_string()),
        (UtteranceId(2), "utterance two,".to_string()),
        (UtteranceId(3), "utterance three.".to_string()),
    ];
    assert_eq!(run.settled, [(ids(&[1, 2, 3]), Some(texts))]);
    assert_eq!(
        run.order.last(),
        Some(&"recording settled"),
        "{:?}",
        run.order
    );
    // The journal keeps both texts; what is shown and exported is the settled one.
    let s = Session::load(&run.dir).unwrap();
    let u = &s.utterances[&UtteranceId(2)];
    assert_eq!(u.text.as_deref(), Some("Utterance 2."));
    assert_eq!(u.settled.as_deref(), Some("utterance two,"));
    let journal = std::fs::read_to_string(run.dir.join("journal.jsonl")).unwrap();
    assert_eq!(
        journal.matches("\"event\":\"settled\"").count(),
        3,
        "{journal}"
    );
    assert!(
        !run.dir.join("settle.wav").exists(),
        "the pass's WAV is scratch"
    );
    let o = sb
        .cmd()
        .args(["sessions", "export", "last", "--format", "txt"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.trim(),
        "Utterance one, utterance two, utterance three.",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[tokio::test]
async fn a_less_sure_settle_pass_leaves_the_first_texts() {
    if !have("espeak-ng") {
        return skip("a_less_sure_settle_pass…", "espeak-ng is not installed");
    }
    let sb = Sandbox::new();
    let file = phrases(&sb, &[1.2, 1.2, 0.5]);
    let worker = scripted_worker(
        sb.path(),
        "Utterance one, utterance two, utterance three.",
        -0.9,
    );
    let run = record(&sb, &file, worker, false).await;
    assert_eq!(run.settled.len(), 1);
    assert_eq!(run.settled[0], (ids(&[1, 2, 3]), None));
    let s = Session::load(&run.dir).unwrap();
    assert!(s.utterances.values().all(|u| u.settled.is_none()));
    let finals: Vec<_> = s
        .utterances
        .values()
        .map(|u| u.final_text().cloned())
        .collect();
    assert_eq!(
        finals,
        ["Utterance 1.", "Utterance 2.", "Utterance 3."].map(|t| Some(t.to_string()))
    );
}

#[tokio::test]
async fn a_pause_settles_the_stretch_before_it_while_recording() {
    if !have("espeak-ng") {
        return skip("a_pause_settles…", "espeak-ng is not installed");
    }
    let sb = Sandbox::new();
    // A 4 s pause after the second phrase: the first two are settled in it, in real time,
    // before the third is spoken; the third alone is nothing to settle.
    let file = phrases(&sb, &[1.0, 4.0, 0.5]);
    let worker = scripted_worker(sb.path(), "Utterance one, utterance two.", -0.2);
    let run = record(&sb, &file, worker, true).await;
    assert_eq!(run.settled.len(), 1, "{:?}", run.settled);
    assert_eq!(run.settled[0].0, ids(&[1, 2]));
    let at = |what| run.order.iter().position(|e| *e == what).unwrap();
    let third_queued = run.order.iter().rposition(|e| *e == "queued").unwrap();
    assert!(at("settled") < third_queued, "{:?}", run.order);
    let log = std::fs::read_to_string(sb.path().join("requests.log")).unwrap();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["utterance 1", "utterance 2", "settle", "utterance 3"]
    );
}
