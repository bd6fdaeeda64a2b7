//! Converts a real CTranslate2 Whisper model (tiny.en, as faster-whisper ships it) to ggml and
//! checks that whisper.cpp, through whisper-rs, loads the result and transcribes JFK correctly.
//!
//! The model is not in the repository (models/ is git-ignored). Point `RECORDER_CT2_TINY_EN`
//! at a CT2 model directory, or place one at `models/ct2/tiny.en`; without it the test says so
//! on stderr and passes.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use recorder::models::ggml::{ImportReport, import_ct2};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The CT2 model directory: `$RECORDER_CT2_TINY_EN`, else `models/ct2/tiny.en`.
fn model_dir() -> PathBuf {
    std::env::var_os("RECORDER_CT2_TINY_EN")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("models/ct2/tiny.en"))
}

fn jfk_wav() -> PathBuf {
    manifest_dir().join("../shared/eval/audio/fw_jfk.wav")
}

/// Reads a 16 kHz mono 16-bit WAV as f32 samples in [-1, 1), whisper.cpp's input format.
fn read_wav_16k_mono(path: &Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).expect("open wav");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16_000, 1, 16),
        "{path:?}"
    );
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("wav sample")) / 32768.0)
        .collect()
}

/// Runs whisper.cpp greedy decoding over `samples` and joins the segment texts.
fn transcribe(model: &Path, samples: &[f32]) -> String {
    let ctx = whisper_rs::WhisperContext::new_with_params(
        model,
        whisper_rs::WhisperContextParameters::default(),
    )
    .expect("whisper.cpp loads the converted model");
    let mut state = ctx.create_state().expect("whisper state");
    let mut params =
        whisper_rs::FullParams::new(whisper_rs::SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(2);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    state.full(params, samples).expect("transcription");
    (0..state.full_n_segments())
        .filter_map(|i| state.get_segment(i))
        .map(|segment| segment.to_str().expect("segment text is UTF-8").to_owned())
        .collect()
}

/// Tensors whisper.cpp expects: 7 encoder globals and 15 per encoder layer, 4 decoder globals
/// and 24 per decoder layer (cross-attention included; no key biases).
fn expected_tensor_count(report: &ImportReport) -> usize {
    7 + 15 * report.n_audio_layer as usize + 4 + 24 * report.n_text_layer as usize
}

#[test]
fn imports_ct2_tiny_en_and_transcribes_jfk() {
    let dir = model_dir();
    if !dir.join("model.bin").is_file() {
        eprintln!(
            "SKIPPED imports_ct2_tiny_en_and_transcribes_jfk: no CT2 model at {} \
             (set RECORDER_CT2_TINY_EN or copy a CT2 tiny.en model directory there)",
            dir.display()
        );
        return;
    }
    let wav = jfk_wav();
    if !wav.is_file() {
        eprintln!(
            "SKIPPED imports_ct2_tiny_en_and_transcribes_jfk: no audio at {}",
            wav.display()
        );
        return;
    }
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = out_dir.path().join("ggml-model.bin");

    let started = Instant::now();
    let report = import_ct2(&dir, &out).expect("import succeeds");
    eprintln!(
        "converted {} in {:.2?}: {report:?}",
        dir.display(),
        started.elapsed()
    );

    assert_eq!(
        report.bytes,
        std::fs::metadata(&out).expect("output exists").len()
    );
    assert_eq!(report.n_tensors, expected_tensor_count(&report));
    assert_eq!(report.multilingual, report.n_vocab >= 51_865);

    let text = transcribe(&out, &read_wav_16k_mono(&wav));
    eprintln!("transcript: {text}");
    let lower = text.to_lowercase();
    for phrase in ["ask not", "country"] {
        assert!(
            lower.contains(phrase),
            "{phrase:?} missing from transcript {text:?}"
        );
    }
}
