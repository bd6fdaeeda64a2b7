//! The real Silero VAD (ONNX Runtime from `models/onnxruntime`) and the audio thread on real
//! speech: speech is found, silence and noise are not, and sentences separated by pauses are
//! cut into one utterance each, written to disk, at the right places.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use recorder::audio::pipeline::{self, AudioEvent, PipelineConfig};
use recorder::audio::segmenter::SegmenterConfig;
use recorder::audio::vad::{SileroVad, Vad};
use recorder::audio::{CHUNK, wav};
use recorder::engine::Source;
use recorder::session::Journal;
use recorder::store::Store;
use support::run::{Sandbox, concat_with_gaps, eval_clip};
use support::{have, skip, speak};

fn init_ort() {
    recorder::ortlib::init(None).expect("ONNX Runtime (run `make setup`)");
}

fn speech_fraction(vad: &mut SileroVad, samples: &[f32]) -> f64 {
    vad.reset();
    let chunks: Vec<f32> = samples
        .chunks_exact(CHUNK)
        .map(|c| vad.predict(c))
        .collect();
    chunks.iter().filter(|&&p| p >= 0.5).count() as f64 / chunks.len() as f64
}

#[test]
fn silero_finds_speech_and_ignores_silence_and_noise() {
    init_ort();
    let mut vad = SileroVad::new().unwrap();
    let silence = vec![0.0f32; 16_000 * 3];
    assert_eq!(speech_fraction(&mut vad, &silence), 0.0);
    // White noise at about -30 dBFS (a deterministic LCG, no rand dependency).
    let mut x: u32 = 12345;
    let noise: Vec<f32> = (0..16_000 * 3)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.1
        })
        .collect();
    let f = speech_fraction(&mut vad, &noise);
    assert!(
        f < 0.05,
        "noise judged speech {:.0}% of the time",
        f * 100.0
    );
    let Some(jfk) = eval_clip("fw_jfk.wav") else {
        return skip("silero_finds_speech…", "../shared/eval is absent");
    };
    let speech = wav::read_16k_mono(&jfk).unwrap();
    let f = speech_fraction(&mut vad, &speech);
    assert!(
        f > 0.45, // JFK speaks ~7 of the clip's 11 s, with long pauses (measured: 60%)
        "JFK judged speech only {:.0}% of the time",
        f * 100.0
    );
}

#[test]
fn audio_thread_cuts_sentences_at_the_pauses() {
    init_ort();
    if !have("espeak-ng") {
        return skip(
            "audio_thread_cuts_sentences_at_the_pauses",
            "espeak-ng is not installed",
        );
    }
    let sb = Sandbox::new();
    let texts = [
        "Please send the report tomorrow.",
        "We climbed the mountain yesterday.",
        "Thank you for listening.",
    ];
    let mut parts = Vec::new();
    let mut starts = Vec::new();
    let mut t = 0.0;
    for (i, text) in texts.iter().enumerate() {
        let p = sb.path().join(format!("p{i}.wav"));
        speak(text, &p).unwrap();
        let r = hound::WavReader::open(&p).unwrap();
        let dur = r.duration() as f64 / r.spec().sample_rate as f64;
        starts.push(t);
        t += dur + 1.5;
        parts.push((p, 1.5));
    }
    let file = sb.path().join("three.wav");
    concat_with_gaps(&parts, &file);

    let (tx, rx) = crossbeam_channel::unbounded();
    let journal = std::sync::Arc::new(Journal::open(sb.path()).unwrap());
    let cfg = PipelineConfig {
        segmenter: SegmenterConfig::default(),
        store: Store::new(journal).unwrap(),
        first_id: recorder::vocab::UtteranceId::FIRST,
        interim_every: None,
        settle_pause: None,
        speculate: None,
        probe: None,
    };
    let vad: pipeline::VadFactory = Box::new(|| Ok(Box::new(SileroVad::new()?) as Box<dyn Vad>));
    let source = Source::File {
        path: file,
        realtime: false,
    };
    let (thread, _ctl, _name) = pipeline::spawn(source, cfg, vad, move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    let mut cuts = Vec::new();
    loop {
        match rx
            .recv_timeout(Duration::from_secs(60))
            .expect("audio thread events")
        {
            AudioEvent::Utterance(u) => cuts.push((u.id.0, u.span.start_s, u.span.end_s, u.wav)),
            AudioEvent::Stopped => break,
            AudioEvent::Failed(e) => panic!("{e}"),
            _ => {}
        }
    }
    thread.join().unwrap();
    assert_eq!(cuts.len(), 3, "{cuts:?}");
    for (i, (id, start, end, path)) in cuts.iter().enumerate() {
        assert_eq!(*id, i as u64 + 1);
        // Onset within the pre-roll (300 ms) plus Silero's reaction time of the true start.
        assert!(
            (start - starts[i]).abs() < 0.5,
            "cut {i} starts at {start:.2}, speech at {:.2}",
            starts[i]
        );
        assert!(end > start);
        let samples = wav::read_16k_mono(path).unwrap();
        assert!((samples.len() as f64 / 16_000.0 - (end - start)).abs() < 0.01);
    }
}
