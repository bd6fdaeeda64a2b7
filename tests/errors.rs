//! Bad input and missing parts: each gives one clear line on stderr naming what is wrong and
//! what to do, a non-zero exit, and never a panic.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::run::{Sandbox, output, texts, tiny_en};

/// Asserts a failed run with exactly one line on stderr containing every needle.
fn one_line_error(o: &std::process::Output, needles: &[&str]) {
    let (_, err) = texts(o);
    assert!(!o.status.success(), "expected failure, stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    for n in needles {
        assert!(err.contains(n), "{n:?} missing in {err:?}");
    }
}

#[test]
fn missing_model_file() {
    let sb = Sandbox::new();
    let o = output(sb.cmd().args([
        "transcribe",
        "x.wav",
        "--model",
        "/nonexistent/ggml-big.bin",
    ]));
    one_line_error(&o, &["/nonexistent/ggml-big.bin"]);
}

#[test]
fn unknown_model_name_says_how_to_get_it() {
    let sb = Sandbox::new();
    let o = output(sb.cmd().args(["--headless", "--model", "no-such-model"]));
    one_line_error(&o, &["no-such-model", "models install"]);
}

#[test]
fn missing_onnx_runtime() {
    tiny_en();
    let sb = Sandbox::new();
    let o = output(
        sb.cmd()
            .args(["transcribe", "x.wav"])
            .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so"),
    );
    one_line_error(&o, &["/nonexistent/libonnxruntime.so", "ORT_DYLIB_PATH"]);
}

#[test]
fn onnx_runtime_that_is_not_a_library() {
    tiny_en();
    let sb = Sandbox::new();
    let fake = sb.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not an ELF file").unwrap();
    let o = output(
        sb.cmd()
            .args(["transcribe", "x.wav"])
            .env("ORT_DYLIB_PATH", &fake),
    );
    one_line_error(
        &o,
        &["cannot load ONNX Runtime", &fake.display().to_string()],
    );
}

fn corrupt_wavs(dir: &Path) -> Vec<std::path::PathBuf> {
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunkjunk").unwrap();
    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.join("notes.wav");
    std::fs::write(&text, "hello, this is text").unwrap();
    vec![garbage, empty, text]
}

#[test]
fn corrupt_wavs_name_the_file() {
    tiny_en();
    let sb = Sandbox::new();
    for wav in corrupt_wavs(sb.path()) {
        let o = output(sb.cmd().arg("transcribe").arg(&wav));
        one_line_error(&o, &[&wav.display().to_string()]);
        let o = output(sb.cmd().args(["--headless", "--input"]).arg(&wav));
        one_line_error(&o, &[&wav.display().to_string()]);
    }
    let missing = sb.path().join("missing.wav");
    for args in [&["transcribe"][..], &["--headless", "--input"]] {
        let o = output(sb.cmd().args(args).arg(&missing));
        one_line_error(&o, &["missing.wav"]);
        // The cause once, not repeated by each layer of the error chain.
        let (_, err) = texts(&o);
        assert_eq!(err.matches("No such file").count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn unknown_device() {
    tiny_en();
    let sb = Sandbox::new();
    let o = output(
        sb.cmd()
            .args(["--headless", "--device", "no-such-device-xyz"]),
    );
    one_line_error(&o, &["no-such-device-xyz", "recorder devices"]);
}

/// With no sound server and no card, cpal still returns a default device; the failure comes
/// when it is opened. Headless says so in one line and points at `--input`; the TUI opens
/// anyway and offers the device picker (tests/tui.rs).
#[test]
fn no_usable_microphone() {
    tiny_en();
    let sb = Sandbox::new();
    let alsa = sb.path().join("config/alsa");
    std::fs::create_dir_all(&alsa).unwrap();
    std::fs::write(
        alsa.join("asoundrc"),
        "pcm.!default { type pulse server \"unix:/nonexistent/pulse\" }\nctl.!default { type pulse server \"unix:/nonexistent/pulse\" }\n",
    )
    .unwrap();
    let o = output(
        sb.cmd()
            .arg("--headless")
            .env("PULSE_SERVER", "unix:/nonexistent/pulse"),
    );
    one_line_error(&o, &["microphone", "--input"]);
}

#[test]
fn bad_config_file_is_named() {
    let sb = Sandbox::new();
    let cfg = sb.path().join("bad.toml");
    std::fs::write(&cfg, "wrokers = 2\n").unwrap();
    let o = output(sb.cmd().args(["transcribe", "x.wav", "--config"]).arg(&cfg));
    one_line_error(&o, &["bad.toml", "wrokers"]);
}

/// A model whose start is real and the rest random bytes: refused before any worker loads
/// it (whisper.cpp trusted its sizes and every worker grew to ~24 GB), in one line.
#[test]
fn damaged_model_is_refused_before_a_worker_loads_it() {
    let real = std::fs::read(tiny_en()).unwrap();
    let sb = Sandbox::new();
    let bad = sb.path().join("ggml-damaged.bin");
    let mut bytes = real[..200_000].to_vec();
    let mut x: u32 = 2_463_534_242;
    bytes.extend((0..real.len() - 200_000).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    std::fs::write(&bad, &bytes).unwrap();
    let wav = sb.path().join("quiet.wav");
    recorder::audio::wav::write_16k_mono(&wav, &[0.0; 16_000]).unwrap();
    let t0 = std::time::Instant::now();
    let o = output(
        sb.cmd()
            .arg("transcribe")
            .arg(&wav)
            .arg("--model")
            .arg(&bad),
    );
    one_line_error(&o, &["ggml-damaged.bin", "damaged", "reinstall"]);
    assert!(
        !sb.log().contains("worker") || !sb.log().contains("ready"),
        "{}",
        sb.log()
    );
    eprintln!("refused in {:.2} s", t0.elapsed().as_secs_f64());
}

/// Settings that would silently transcribe nothing, or a language the model cannot do, are
/// one line naming the key or the value.
#[test]
fn config_values_that_transcribe_nothing_are_refused_naming_the_key() {
    tiny_en();
    let sb = Sandbox::new();
    for (toml, needle) in [
        (
            "[segmenter]\nstart_threshold = 2.0\n",
            "segmenter.start_threshold",
        ),
        (
            "[segmenter]\nend_silence_ms = 0\n",
            "segmenter.end_silence_ms",
        ),
        (
            "[segmenter]\nmax_utterance_s = nan\n",
            "segmenter.max_utterance_s",
        ),
        ("[segmenter]\nfoo = 1\n", "segmenter.foo"),
        ("workers = \"two\"\n", "workers"),
        ("language = \"klingon\"\n", "klingon"),
    ] {
        let cfg = sb.path().join("c.toml");
        std::fs::write(&cfg, toml).unwrap();
        let o = output(sb.cmd().args(["transcribe", "x.wav", "--config"]).arg(&cfg));
        one_line_error(&o, &[needle, "c.toml"]);
    }
    let o = output(sb.cmd().args(["transcribe", "x.wav", "--language", "de"]));
    one_line_error(&o, &["English-only", "de"]);
}
