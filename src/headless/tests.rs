//! Output order and formats of `--headless` and `transcribe`.

use super::*;

fn text(id: u64, s: &str) -> Outcome {
    Outcome::Text(Transcript {
        id: UtteranceId(id),
        span: Span::new(id as f64, id as f64 + 1.0),
        text: s.into(),
        segments: vec![],
        no_speech_prob: 0.0,
        timings: Timings::default(),
    })
}

#[test]
fn out_of_order_results_are_released_in_order() {
    let mut r = Reorder::default();
    for id in 1..=3 {
        r.queued(UtteranceId(id), Span::new(0.0, 1.0));
    }
    assert!(r.finished(text(2, "b")).is_empty());
    assert!(r.finished(text(3, "c")).is_empty());
    let ready: Vec<u64> = r.finished(text(1, "a")).iter().map(|o| o.id().0).collect();
    assert_eq!(ready, vec![1, 2, 3]);
    assert_eq!(r.outstanding(), 0);
}

#[test]
fn failures_hold_their_place() {
    let mut r = Reorder::default();
    r.queued(UtteranceId(1), Span::new(0.0, 1.0));
    r.queued(UtteranceId(2), Span::new(1.0, 2.0));
    let f = Outcome::Failed {
        id: UtteranceId(1),
        span: Span::new(0.0, 1.0),
        reason: "x".into(),
        wav: "/a.wav".into(),
    };
    assert!(r.finished(text(2, "b")).is_empty());
    assert_eq!(r.finished(f).len(), 2);
}

#[test]
fn json_lines_carry_id_times_text_and_timings() {
    let line = format_outcome(&text(4, " hello "), true, None)
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["kind"], "final");
    assert_eq!(v["id"], 4);
    assert_eq!(v["start"], 4.0);
    assert_eq!(v["end"], 5.0);
    assert_eq!(v["text"], "hello");
    assert!(v["timings"]["total_ms"].is_number());
    assert!(!line.contains('\n'));
}

#[test]
fn plain_mode_skips_empty_text_and_reports_failures_separately() {
    assert_eq!(format_outcome(&text(1, "  "), false, None), Ok(None));
    assert_eq!(
        format_outcome(&text(1, "hi"), false, None),
        Ok(Some("hi".into()))
    );
    let f = Outcome::Failed {
        id: UtteranceId(9),
        span: Span::new(0.0, 1.0),
        reason: "boom".into(),
        wav: "/u.wav".into(),
    };
    let e = format_outcome(&f, false, None).unwrap_err();
    assert!(e.contains("#9") && e.contains("boom") && e.contains("/u.wav"));
}
