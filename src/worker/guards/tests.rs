//! The guards on scripted segments and levels.
use super::*;

fn seg(text: &str, nsp: f32, logprob: f32) -> Segment {
    Segment {
        text: text.into(),
        no_speech_prob: nsp,
        avg_logprob: logprob,
        ..Segment::default()
    }
}

const CLEAR: Level = Level {
    speech_db: -20.0,
    floor_db: -60.0,
};
const NOISY: Level = Level {
    speech_db: -20.0,
    floor_db: -28.0,
};

fn texts(segs: &[Segment]) -> Vec<&str> {
    segs.iter().map(|s| s.text.as_str()).collect()
}

#[test]
fn parse_and_describe() {
    assert_eq!(Guards::parse("").unwrap(), Guards::default());
    assert_eq!(Guards::parse("default").unwrap().describe(), "default");
    assert!(!Guards::default().nst && Guards::all().nst);
    assert_eq!(Guards::parse("all").unwrap().describe(), "all");
    assert_eq!(Guards::parse("none").unwrap(), Guards::none());
    assert_eq!(Guards::none().describe(), "none");
    let g = Guards::parse("-tags, -gate").unwrap();
    assert!(!g.tags && !g.gate && !g.nst && g.phrases && g.energy);
    let g = Guards::parse("nst,energy").unwrap();
    assert_eq!(g.describe(), "nst,energy");
    assert!(Guards::parse("bogus").unwrap_err().contains("bogus"));
    assert!(Guards::parse("nst,-tags").is_err());
}

#[test]
fn sound_tags_are_removed() {
    assert_eq!(strip_sound_tags("[BLANK_AUDIO]"), "");
    assert_eq!(strip_sound_tags(" (screams) "), "");
    assert_eq!(strip_sound_tags("[Music] ♪ ♪"), "");
    assert_eq!(strip_sound_tags("*laughs* ..."), "");
    assert_eq!(strip_sound_tags("[whistling]"), "");
    assert_eq!(
        strip_sound_tags("So (laughs) I said [inaudible] yes."),
        "So I said yes."
    );
    assert_eq!(strip_sound_tags("Nothing to strip."), "Nothing to strip.");
}

#[test]
fn stock_phrases_match_whole_utterances_only() {
    for p in [
        "Thank you.",
        "thank you",
        "Thanks for watching!",
        "Subtitles by the Amara.org community",
        " you ",
        "Bye.",
    ] {
        assert!(is_stock_phrase(p), "{p}");
    }
    for p in ["Thank you for the report.", "You said so.", "", "..."] {
        assert!(!is_stock_phrase(p), "{p}");
    }
}

#[test]
fn stock_phrase_needs_weak_audio_or_likely_silence() {
    let g = Guards::default();
    // Real "Thank you." at the end of a talk (eval clip leopard_diarization: nsp 0.09).
    let kept = filter(&g, vec![seg("Thank you.", 0.09, -0.3)], &CLEAR, false);
    assert_eq!(texts(&kept), ["Thank you."]);
    assert!(filter(&g, vec![seg("Thank you.", 0.45, -0.3)], &CLEAR, false).is_empty());
    assert!(filter(&g, vec![seg("Thank you.", 0.05, -0.3)], &NOISY, false).is_empty());
    let off = Guards::parse("-phrases").unwrap();
    assert_eq!(
        filter(&off, vec![seg("Thank you.", 0.45, -0.3)], &CLEAR, false).len(),
        1
    );
}

#[test]
fn gate_is_whispers_rule() {
    assert!(is_silence(&seg("you", 0.7, -1.2)));
    assert!(
        !is_silence(&seg("hello", 0.7, -0.5)),
        "confident text stays"
    );
    assert!(
        !is_silence(&seg("hello", 0.5, -1.5)),
        "speech likely: stays"
    );
    assert!(is_silence(&seg(
        "The magic has reopened again!",
        0.53,
        -5.96
    )));
    let g = Guards::parse("gate").unwrap();
    let two = || vec![seg("Hello there.", 0.1, -0.2), seg("Wow.", 0.8, -1.4)];
    let kept = filter(&g, two(), &NOISY, false);
    assert_eq!(texts(&kept), ["Hello there."]);
    // Audio that stands clear of its floor: whisper's no-speech alone does not drop it,
    // improbable text does.
    assert_eq!(filter(&g, two(), &CLEAR, false).len(), 2);
    let horn = vec![seg("The magic has reopened again!", 0.53, -5.96)];
    assert!(filter(&g, horn, &CLEAR, false).is_empty());
}

#[test]
fn whispers_no_speech_alone_never_drops_what_the_vad_vouches_for() {
    let g = Guards::default();
    // "and then" in a dictation pause: no-speech 0.53 and unsure tokens (logged).
    let unsure = || vec![seg("And then...", 0.65, -1.3)];
    assert!(filter(&g, unsure(), &NOISY, false).is_empty());
    assert_eq!(filter(&g, unsure(), &CLEAR, false).len(), 1);
    assert_eq!(texts(&filter(&g, unsure(), &CLEAR, true)), ["And then..."]);
    // A stock phrase with a likely no-speech but clear audio and a sure VAD stays; with
    // audio that barely stands out of its noise it goes whatever the VAD says.
    let thanks = || vec![seg("Thank you.", 0.45, -0.3)];
    assert_eq!(filter(&g, thanks(), &CLEAR, true).len(), 1);
    assert!(filter(&g, thanks(), &NOISY, true).is_empty());
}

#[test]
fn filter_strips_tags_and_drops_empty_segments() {
    let kept = filter(
        &Guards::default(),
        vec![
            seg("[BLANK_AUDIO]", 0.2, -0.5),
            seg("Go forward.", 0.01, -0.2),
        ],
        &CLEAR,
        false,
    );
    assert_eq!(texts(&kept), ["Go forward."]);
    let off = Guards::none();
    assert_eq!(
        filter(&off, vec![seg("(beeping)", 0.2, -0.5)], &CLEAR, false).len(),
        1
    );
}

#[test]
fn repetition_loops_collapse() {
    assert_eq!(collapse_repeats("I am. I am. I am. I am. I am."), "I am.");
    assert_eq!(collapse_repeats("so so so so so so so so"), "so");
    assert_eq!(
        collapse_repeats("It was the first. The end, the end, the end."),
        "It was the first. The end,"
    );
    // What people really say stays.
    for s in [
        "no, no, no",
        "very very good",
        "that that is, is",
        "go go go go",
    ] {
        assert_eq!(collapse_repeats(s), s);
    }
    let g = Guards::parse("repeats").unwrap();
    let segs = vec![seg("Okay.", 0.1, -0.3); 5];
    assert_eq!(filter(&g, segs, &CLEAR, false).len(), 2);
}

#[test]
fn level_and_energy_floor() {
    let silence = vec![0.0f32; 16_000];
    assert!(too_weak(&level(&silence)));
    // Steady noise: every frame alike, nothing stands out.
    let steady: Vec<f32> = (0..16_000)
        .map(|i| 0.1 * ((i * 7919 % 1000) as f32 / 500.0 - 1.0))
        .collect();
    let l = level(&steady);
    assert!(l.snr_db() < 1.0, "{l:?}");
    assert!(too_weak(&l));
    // A burst 30 dB over a quiet floor: speech-like, kept even when quiet overall.
    let mut burst = vec![0.0005f32; 16_000];
    for (i, s) in burst.iter_mut().enumerate().skip(4_000).take(6_000) {
        *s = if i % 2 == 0 { 0.016 } else { -0.016 };
    }
    let l = level(&burst);
    assert!((l.snr_db() - 30.1).abs() < 0.5, "{l:?}");
    assert!(!too_weak(&l));
    assert_eq!(level(&[]).speech_db, MIN_DB);
}

#[test]
fn token_budget_grows_with_audio() {
    assert_eq!(max_tokens(0.0), 24);
    assert_eq!(max_tokens(1.0), 36);
    assert_eq!(max_tokens(25.0), 324);
    // Faster than anyone talks (eval peak: 4.4 text tokens/s), far below 224.
    assert!(max_tokens(2.0) as f32 / 2.0 > 4.0 * 4.4);
}
