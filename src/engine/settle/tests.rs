//! The settler's pure parts: which stretch is settled next, and whether a pass is taken.

use super::*;

fn member(id: u64, start_s: f64, end_s: f64, first: First) -> Member {
    Member {
        utt: UtteranceRef {
            id: UtteranceId(id),
            span: Span::new(start_s, end_s),
            wav: PathBuf::from(format!("utt-{id}.wav")),
            hints: Hints::default(),
        },
        first,
        alone: false,
    }
}

fn text(t: &str) -> First {
    First::Text {
        text: t.into(),
        confidence: Some((-0.5, 4)),
        unsure: false,
    }
}

fn ids(g: &[Member]) -> Vec<u64> {
    g.iter().map(|m| m.utt.id.0).collect()
}

#[test]
fn a_stretch_waits_until_every_first_text_is_in() {
    let mut m = vec![
        member(1, 0.0, 2.0, text("One.")),
        member(2, 3.0, 5.0, First::Waiting),
    ];
    assert!(next_group(&mut m, true).is_none());
    assert_eq!(m.len(), 2, "nothing taken while one is waiting");
    m[1].first = text("Two.");
    assert_eq!(ids(&next_group(&mut m, true).unwrap()), [1, 2]);
    assert!(m.is_empty());
}

#[test]
fn a_stretch_fits_the_window_and_stops_at_a_failure_or_a_split() {
    let mut m = vec![
        member(1, 0.0, 10.0, text("One.")),
        member(2, 11.0, 20.0, text("Two.")),
        member(3, 21.0, 29.0, text("Three.")),
        member(4, 30.0, 32.0, text("Four.")),
        member(5, 33.0, 34.0, First::Failed),
        member(6, 35.0, 36.0, text("Six.")),
        member(7, 37.0, 38.0, text("Seven.")),
    ];
    m[6].utt.hints.keep_from_s = Some(1.0);
    // 1-2 fit in 28 s (3 ends at 29 s); 3-4 next; 5 failed and 6 alone are dropped;
    // 7 is a split's second part: never joined to the part before.
    assert_eq!(ids(&next_group(&mut m, true).unwrap()), [1, 2]);
    assert_eq!(ids(&next_group(&mut m, true).unwrap()), [3, 4]);
    assert!(next_group(&mut m, true).is_none());
    assert!(m.is_empty());
}

#[test]
fn one_utterance_alone_is_settled_when_its_recheck_was_deferred() {
    let unsure = First::Text {
        text: "Old-sposed.".into(),
        confidence: Some((-0.9, 4)),
        unsure: true,
    };
    let mut m = vec![
        member(1, 0.0, 3.0, unsure),
        member(2, 9.0, 10.0, First::Failed),
    ];
    assert_eq!(ids(&next_group(&mut m, true).unwrap()), [1]);
    assert!(next_group(&mut m, true).is_none());
}

#[test]
fn an_owed_recheck_is_settled_alone_and_taken_as_the_recheck_in_line_was() {
    let unsure = || First::Text {
        text: "hold the microf".into(),
        confidence: Some((-0.2, 4)),
        unsure: true,
    };
    let mut m = vec![member(1, 0.0, 3.0, unsure()), member(2, 3.5, 5.0, unsure())];
    m[0].alone = true;
    m[1].alone = true;
    let first = next_group(&mut m, true).unwrap();
    assert_eq!(ids(&first), [1]);
    assert_eq!(ids(&next_group(&mut m, true).unwrap()), [2]);
    // Less sure than the first pass, and longer: still taken (the in-line re-check
    // replaced the text without comparing).
    let pass = SettleText {
        text: "hold the microphone open".into(),
        segments: vec![],
        worker_ms: 1.0,
    };
    assert_eq!(
        decide(&first, &pass).unwrap(),
        [(UtteranceId(1), "hold the microphone open".to_string())]
    );
}

#[test]
fn the_parts_of_a_split_are_never_joined() {
    let mut m = vec![
        member(1, 0.0, 2.0, text("One.")),
        member(2, 3.0, 27.0, text("Two.")),
        member(3, 26.0, 30.0, text("Three.")),
        member(4, 31.0, 32.0, text("Four.")),
        member(5, 33.0, 34.0, text("Five.")),
    ];
    m[1].utt.hints.keep_to_s = Some(23.5);
    m[2].utt.hints.keep_from_s = Some(0.5);
    // 1 stops before the first part; each part alone (dropped: not unsure); 4-5 join.
    assert_eq!(ids(&next_group(&mut m, true).unwrap()), [4, 5]);
    assert!(m.is_empty());
}

#[test]
fn a_stretch_without_words_or_with_the_pass_off_is_dropped() {
    let mut m = vec![
        member(1, 0.0, 1.0, text("")),
        member(2, 2.0, 3.0, text(" ")),
    ];
    assert!(next_group(&mut m, true).is_none());
    assert!(m.is_empty());
    let mut m = vec![
        member(1, 0.0, 1.0, text("One.")),
        member(2, 2.0, 3.0, text("Two.")),
    ];
    assert!(next_group(&mut m, false).is_none());
    assert!(m.is_empty());
}

#[test]
fn a_decision_weighs_confidence_and_lost_words() {
    let group = [
        member(1, 0.0, 1.0, text("And so.")),
        member(2, 2.0, 3.0, text("Ask not!")),
    ];
    let pass = |text: &str, lp: f32| SettleText {
        text: text.into(),
        segments: vec![Segment {
            start_s: 0.0,
            end_s: 3.0,
            text: text.into(),
            no_speech_prob: 0.0,
            avg_logprob: lp,
            tokens: 6,
        }],
        worker_ms: 1.0,
    };
    let ok = decide(&group, &pass("And so, ask not.", -0.3)).unwrap();
    assert_eq!(
        ok,
        [
            (UtteranceId(1), "And so,".into()),
            (UtteranceId(2), "ask not.".into())
        ]
    );
    assert!(decide(&group, &pass("And so, ask not.", -0.8)).is_err());
    assert!(decide(&group, &pass("And so.", -0.1)).is_err());
}
