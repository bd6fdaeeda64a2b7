//! The segmenter driven by scripted probabilities.
use super::*;

/// Runs a probability script through a segmenter; chunk `i` holds the value `i` in every
/// sample so tests can see exactly which chunks an utterance kept.
fn run(cfg: SegmenterConfig, probs: &[f32], flush: bool) -> Vec<SegEvent> {
    let mut seg = Segmenter::new(cfg);
    let mut out = Vec::new();
    for (i, &p) in probs.iter().enumerate() {
        seg.push(&[i as f32; CHUNK], p, &mut out);
    }
    if flush {
        seg.flush(&mut out);
    }
    out
}

fn cuts(events: &[SegEvent]) -> Vec<&Cut> {
    events
        .iter()
        .filter_map(|e| match e {
            SegEvent::Utterance(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn chunk_ids(cut: &Cut) -> Vec<usize> {
    cut.samples.chunks(CHUNK).map(|c| c[0] as usize).collect()
}

fn script(parts: &[(f32, usize)]) -> Vec<f32> {
    parts
        .iter()
        .flat_map(|&(p, n)| std::iter::repeat_n(p, n))
        .collect()
}

#[test]
fn one_utterance_with_pre_roll_and_post_roll() {
    // 20 silent chunks, 30 speech, 40 silent.
    let probs = script(&[(0.0, 20), (0.9, 30), (0.0, 40)]);
    let events = run(SegmenterConfig::default(), &probs, false);
    let c = cuts(&events);
    assert_eq!(c.len(), 1);
    let ids = chunk_ids(c[0]);
    // Pre-roll 300 ms = 10 chunks, post-roll 300 ms = 10 chunks.
    assert_eq!(ids.first(), Some(&10));
    assert_eq!(ids.last(), Some(&59));
    assert_eq!(c[0].start_sample, 10 * CHUNK as u64);
    assert!(
        matches!(events[0], SegEvent::Start { id: UtteranceId(1), start_sample } if start_sample == 10 * CHUNK as u64)
    );
}

#[test]
fn the_onset_reaches_back_over_a_soft_word_before_it() {
    // 40 silent chunks, a soft word the VAD is unsure of (0.2-0.3, with a two-chunk dip at
    // 0.1 inside it), then the chunk that reaches the start threshold.
    let probs = script(&[
        (0.0, 40),
        (0.2, 6),
        (0.1, 2),
        (0.3, 5),
        (0.9, 10),
        (0.0, 40),
    ]);
    let c = run(SegmenterConfig::default(), &probs, false);
    let ids = chunk_ids(cuts(&c)[0]);
    // The soft word starts at chunk 40; the 10-chunk pre-roll is counted from there.
    assert_eq!(ids.first(), Some(&30));
    // Its weak chunks are evidence too.
    assert_eq!(cuts(&c)[0].hints.voiced_ms, (10.0 * 32.0) as u32);
}

#[test]
fn the_onset_does_not_reach_back_across_a_pause() {
    // A weak blip, a 3-chunk pause under the weak threshold, then the word.
    let probs = script(&[(0.0, 40), (0.2, 4), (0.05, 3), (0.9, 10), (0.0, 40)]);
    let c = run(SegmenterConfig::default(), &probs, false);
    let ids = chunk_ids(cuts(&c)[0]);
    // Only the usual pre-roll before chunk 47.
    assert_eq!(ids.first(), Some(&37));
}

#[test]
fn hysteresis_keeps_soft_tail_inside() {
    // Probabilities dip to 0.4 (between the thresholds) for 30 chunks: still speech.
    let probs = script(&[(0.9, 10), (0.4, 30), (0.9, 10), (0.0, 40)]);
    let c = run(SegmenterConfig::default(), &probs, false);
    assert_eq!(cuts(&c).len(), 1);
}

#[test]
fn short_pause_does_not_split_but_long_one_does() {
    let probs = script(&[
        (0.9, 20),
        (0.0, 10),
        (0.9, 20),
        (0.0, 20),
        (0.9, 20),
        (0.0, 40),
    ]);
    let events = run(SegmenterConfig::default(), &probs, false);
    let c = cuts(&events);
    // 10 chunks = 320 ms < 550 ms: joined; 20 chunks = 640 ms: split.
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].id, UtteranceId(1));
    assert_eq!(c[1].id, UtteranceId(2));
}

#[test]
fn clicks_are_discarded_with_their_span_and_their_id_reused() {
    // 2 chunks (64 ms) of evidence: under min_evidence_ms (96 ms).
    let probs = script(&[(0.0, 20), (0.9, 2), (0.0, 40), (0.9, 30), (0.0, 40)]);
    let events = run(SegmenterConfig::default(), &probs, false);
    let discard = events
        .iter()
        .find_map(|e| match e {
            SegEvent::Discard {
                id,
                start_sample,
                end_sample,
                samples,
            } => Some((*id, *start_sample, *end_sample, samples.len())),
            _ => None,
        })
        .expect("a discard");
    // From the pre-roll (10 chunks before the onset) to the end of the kept post-roll.
    assert_eq!(
        discard,
        (
            UtteranceId(1),
            10 * CHUNK as u64,
            32 * CHUNK as u64,
            22 * CHUNK
        )
    );
    let c = cuts(&events);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].id, UtteranceId(1));
    assert!(c[0].hints.vad_sure);
}

#[test]
fn short_weak_speech_is_transcribed_not_dropped() {
    // JFK's "ask not" with 24 ms of silence in front: a bump of 0.1-0.5 with 4 voiced
    // chunks (under the 8 of min_speech_ms) that used to be discarded.
    let mut probs = script(&[(0.0, 20)]);
    probs.extend([
        0.2, 0.33, 0.36, 0.17, 0.25, 0.53, 0.45, 0.2, 0.1, 0.32, 0.39, 0.27, 0.35,
    ]);
    probs.extend(script(&[(0.0, 40)]));
    let events = run(SegmenterConfig::default(), &probs, false);
    assert!(!events.iter().any(|e| matches!(e, SegEvent::Discard { .. })));
    let c = cuts(&events);
    assert_eq!(c.len(), 1);
    assert!(!c[0].hints.vad_sure, "the VAD does not vouch for it");
    // The whole bump is inside, and the pre-roll before its first weak chunk.
    assert_eq!(chunk_ids(c[0]).first(), Some(&10));
    assert!(chunk_ids(c[0]).contains(&32));
}

#[test]
fn a_soft_tail_is_kept_and_waited_for() {
    // Voiced until chunk 49, then 10 chunks under end_threshold, then a soft word at
    // 0.25 (chunks 60-65, under end_threshold but over weak_threshold), then silence.
    let probs = script(&[(0.0, 20), (0.9, 30), (0.05, 10), (0.25, 6), (0.0, 40)]);
    let events = run(SegmenterConfig::default(), &probs, false);
    let c = cuts(&events);
    assert_eq!(c.len(), 1);
    let ids = chunk_ids(c[0]);
    // Post-roll (10 chunks) counted from the soft word's last chunk (65).
    assert_eq!(ids.last(), Some(&75));
}

#[test]
fn noise_around_weak_threshold_cannot_hold_an_utterance_open() {
    let probs = script(&[(0.9, 30), (0.2, 200)]);
    let events = run(SegmenterConfig::default(), &probs, false);
    let c = cuts(&events);
    assert_eq!(c.len(), 1);
    // Closed after end_silence (18 chunks) + post_roll (10).
    assert_eq!(c[0].samples.len(), (30 + 28) * CHUNK);
}

#[test]
fn flush_closes_open_utterance() {
    let probs = script(&[(0.0, 5), (0.9, 30)]);
    let events = run(SegmenterConfig::default(), &probs, true);
    let c = cuts(&events);
    assert_eq!(c.len(), 1);
    assert_eq!(chunk_ids(c[0]).last(), Some(&34));
}

fn split_cfg() -> SegmenterConfig {
    SegmenterConfig {
        max_utterance_s: 4.0,
        split_window_s: 1.0,
        split_overlap_ms: 320,
        ..Default::default()
    }
}

#[test]
fn a_monologue_without_pauses_is_split_with_overlapping_parts() {
    // 4 s = 125 chunks; overlap 320 ms = 10 chunks; the cut is searched in chunks
    // 83..115. One quieter chunk (0.36, still voiced: no pause) at 100.
    let mut probs = script(&[(0.9, 300)]);
    probs[100] = 0.36;
    probs.extend(script(&[(0.0, 40)]));
    let events = run(split_cfg(), &probs, false);
    let c = cuts(&events);
    assert!(c.len() >= 3, "{} cuts", c.len());
    // The first part runs 10 chunks past the cut (after chunk 100) and keeps words
    // before it; the second starts 10 chunks before it and keeps words after 0.32 s.
    assert_eq!(chunk_ids(c[0]).last(), Some(&110));
    assert_eq!(
        c[0].hints.keep_to_s,
        Some(101.0 * CHUNK as f64 / 16_000.0 + SEAM_MARGIN_S)
    );
    assert_eq!(c[0].hints.keep_from_s, None);
    assert_eq!(chunk_ids(c[1]).first(), Some(&91));
    assert_eq!(c[1].start_sample, 91 * CHUNK as u64);
    assert_eq!(
        c[1].hints.keep_from_s,
        Some(10.0 * CHUNK as f64 / 16_000.0 - SEAM_MARGIN_S)
    );
    // Kept spans tile the stream: every chunk up to the post-roll is kept exactly once.
    assert_eq!(kept_chunks(&c), (0..310).collect::<Vec<_>>());
    // Ids stay consecutive; no part is longer than the limit.
    let ids: Vec<u64> = c.iter().map(|c| c.id.0).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    for cut in &c {
        assert!(cut.samples.len() <= 125 * CHUNK);
    }
}

#[test]
fn a_monologue_with_a_real_pause_is_split_there_without_overlap() {
    // A 6-chunk pause (chunks 90-95, under end_threshold but shorter than end_silence).
    let mut probs = script(&[(0.9, 300)]);
    for p in &mut probs[90..96] {
        *p = 0.1;
    }
    probs.extend(script(&[(0.0, 40)]));
    let events = run(split_cfg(), &probs, false);
    let c = cuts(&events);
    // Cut in the middle of the pause: after chunk 93.
    assert_eq!(chunk_ids(c[0]).last(), Some(&93));
    assert_eq!(chunk_ids(c[1]).first(), Some(&94));
    assert_eq!(c[0].hints.keep_to_s, None);
    assert_eq!(c[1].hints.keep_from_s, None);
    assert_eq!(kept_chunks(&c), (0..310).collect::<Vec<_>>());
}

/// The chunks each part keeps (its keep span), in order.
fn kept_chunks(c: &[&Cut]) -> Vec<usize> {
    let mut kept = Vec::new();
    for cut in c {
        let ids = chunk_ids(cut);
        // Back to the cut itself (the margins overlap by design).
        let at = |s: f64| (s * 16_000.0).round() as usize / CHUNK;
        let from = cut.hints.keep_from_s.map_or(0, |s| at(s + SEAM_MARGIN_S));
        let to = cut
            .hints
            .keep_to_s
            .map_or(ids.len(), |s| at(s - SEAM_MARGIN_S));
        kept.extend_from_slice(&ids[from..to]);
    }
    kept
}

#[test]
fn times_follow_the_stream_clock_including_skips() {
    let mut seg = Segmenter::new(SegmenterConfig::default());
    let mut out = Vec::new();
    seg.skip(16_000);
    for p in script(&[(0.9, 30), (0.0, 40)]) {
        seg.push(&[0.1; CHUNK], p, &mut out);
    }
    let c = cuts(&out);
    assert_eq!(c[0].start_sample, 16_000);
    assert!((c[0].span().start_s - 1.0).abs() < 1e-9);
}

/// Every fixed cut the segmenter reports while it waits, and the utterances it closes.
fn run_watching_cuts(probs: &[f32], after_ms: u32) -> (Vec<(usize, Span)>, Vec<Cut>) {
    let mut seg = Segmenter::new(SegmenterConfig::default());
    let (mut fixed, mut out) = (Vec::new(), Vec::new());
    for (i, &p) in probs.iter().enumerate() {
        seg.push(&[i as f32; CHUNK], p, &mut out);
        if let Some(cut) = seg.fixed_cut(after_ms)
            && fixed.last().is_none_or(|&(_, s)| s != cut.span())
        {
            fixed.push((i, cut.span()));
        }
    }
    let cuts = out
        .into_iter()
        .filter_map(|e| match e {
            SegEvent::Utterance(c) => Some(c),
            _ => None,
        })
        .collect();
    (fixed, cuts)
}

#[test]
fn the_cut_is_known_a_post_roll_after_the_speech_and_is_the_one_closed() {
    // Speech, then 40 chunks of silence: the cut is fixed 10 chunks (the post-roll) into the
    // silence, 8 chunks before the utterance closes, and it is the cut the utterance gets.
    let probs = script(&[(0.0, 20), (0.9, 30), (0.0, 40)]);
    let (fixed, cuts) = run_watching_cuts(&probs, 300);
    assert_eq!(cuts.len(), 1);
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert_eq!(
        fixed[0].0,
        50 + 10 - 1,
        "fixed once the post-roll has passed"
    );
    assert_eq!(fixed[0].1, cuts[0].span());
    // Known as early as asked: 3 chunks into the silence, the same cut.
    let (early, _) = run_watching_cuts(&probs, 96);
    assert_eq!(early, vec![(50 + 3 - 1, cuts[0].span())]);
}

#[test]
fn a_soft_sound_in_the_silence_moves_the_cut() {
    // A soft tail (0.2, under end_threshold) 12 chunks into the silence: the first fixed cut
    // no longer holds (the pipeline voids its speculation). The new one is fixed a post-roll
    // after the tail, when the end silence has long passed: the utterance closes right
    // there, with that cut.
    let probs = script(&[(0.0, 20), (0.9, 30), (0.0, 12), (0.2, 2), (0.0, 40)]);
    let (fixed, cuts) = run_watching_cuts(&probs, 300);
    assert_eq!(cuts.len(), 1);
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert!(
        fixed[0].1.end_s < cuts[0].span().end_s,
        "{fixed:?} {:?}",
        cuts[0].span()
    );
    assert_eq!(chunk_ids(&cuts[0]).last(), Some(&(63 + 10)));
    // Asked for early, both cuts are known before the close, the second one right.
    let (early, _) = run_watching_cuts(&probs, 96);
    assert_eq!(early.len(), 2, "{early:?}");
    assert_eq!(early[1], (63 + 3, cuts[0].span()));
}

#[test]
fn a_click_has_no_fixed_cut() {
    let probs = script(&[(0.0, 20), (0.6, 1), (0.0, 40)]);
    let (fixed, _) = run_watching_cuts(&probs, 96);
    assert!(fixed.is_empty(), "{fixed:?}");
}

#[test]
fn a_text_says_whether_its_sentence_ended() {
    assert_eq!(Ending::of("Please send the report."), Ending::Finished);
    assert_eq!(Ending::of("Is it Monday? "), Ending::Finished);
    assert_eq!(Ending::of("So the plan for tomorrow is,"), Ending::GoesOn);
    assert_eq!(Ending::of("and then..."), Ending::GoesOn);
    assert_eq!(Ending::of("We review it and."), Ending::GoesOn);
    assert_eq!(Ending::of("first, we review the"), Ending::GoesOn);
    assert_eq!(Ending::of("Thank you"), Ending::Unsure);
    assert_eq!(Ending::of(""), Ending::Unsure);
}

/// The chunk at which the utterance of `probs` closes when its text is heard as `text` once
/// its cut is fixed (3 chunks into the silence).
fn closes_at(probs: &[f32], text: Option<&str>, cfg: SegmenterConfig) -> usize {
    let mut seg = Segmenter::new(cfg);
    let mut out = Vec::new();
    for (i, &p) in probs.iter().enumerate() {
        seg.push(&[i as f32; CHUNK], p, &mut out);
        if out.iter().any(|e| matches!(e, SegEvent::Utterance(_))) {
            return i;
        }
        if let (Some(text), Some(cut)) = (text, seg.fixed_cut(96)) {
            seg.hear_ending(cut.id, cut.len, text);
        }
    }
    panic!("never closed");
}

#[test]
fn a_phrase_that_goes_on_waits_and_a_finished_sentence_may_close_sooner() {
    let probs = script(&[(0.0, 20), (0.9, 30), (0.0, 60)]);
    let cfg = SegmenterConfig::default();
    let usual = closes_at(&probs, None, cfg.clone());
    assert_eq!(usual, 50 + 18 - 1, "550 ms of silence");
    assert_eq!(closes_at(&probs, Some("Thank you"), cfg.clone()), usual);
    assert_eq!(
        closes_at(&probs, Some("and the"), cfg.clone()),
        50 + 30 - 1,
        "950 ms of silence: 400 ms longer"
    );
    // A finished sentence waits as any other by default; with `sentence_end_ms` it closes
    // after that, and never before its cut (the post-roll, 10 chunks) is heard.
    assert_eq!(closes_at(&probs, Some("Send it."), cfg.clone()), usual);
    let sooner = |ms| SegmenterConfig {
        sentence_end_ms: ms,
        ..cfg.clone()
    };
    assert_eq!(
        closes_at(&probs, Some("Send it."), sooner(300)),
        50 + 10 - 1
    );
    assert_eq!(
        closes_at(&probs, Some("Send it."), sooner(100)),
        50 + 10 - 1
    );
    assert_eq!(
        closes_at(&probs, Some("Send it."), sooner(448)),
        50 + 14 - 1
    );
    let off = SegmenterConfig {
        smart_endpoint: false,
        ..sooner(300)
    };
    assert_eq!(closes_at(&probs, Some("Send it."), off.clone()), usual);
    assert_eq!(closes_at(&probs, Some("and the"), off), usual);
}

#[test]
fn a_text_about_another_cut_moves_nothing() {
    // Heard for a cut 1 chunk longer than the real one: ignored.
    let probs = script(&[(0.0, 20), (0.9, 30), (0.0, 60)]);
    let mut seg = Segmenter::new(SegmenterConfig {
        sentence_end_ms: 300,
        ..SegmenterConfig::default()
    });
    let mut out = Vec::new();
    for (i, &p) in probs.iter().enumerate() {
        seg.push(&[i as f32; CHUNK], p, &mut out);
        if let Some(cut) = seg.fixed_cut(96) {
            seg.hear_ending(cut.id, cut.len + CHUNK, "Done.");
        }
        if out.iter().any(|e| matches!(e, SegEvent::Utterance(_))) {
            assert_eq!(i, 50 + 18 - 1);
            return;
        }
    }
    panic!("never closed");
}
