//! Running the real `recorder` binary in a sandbox: its own XDG folders (sessions, logs,
//! config) in a temp dir, so tests never touch the user's files or see their config.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The binary under test (built by cargo for this test run).
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_recorder"))
}

/// The repo's models folder, filled by `make setup`.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// The tiny.en model; a missing model is a broken setup, so tests fail (not skip) on it.
pub fn tiny_en() -> PathBuf {
    let p = models_dir().join("ggml-tiny.en.bin");
    assert!(
        p.is_file(),
        "{} is missing: run `make setup` first",
        p.display()
    );
    p
}

/// A clip from the project owners' eval set, if `../shared/eval` is there.
pub fn eval_clip(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/eval/audio")
        .join(name);
    p.is_file().then_some(p)
}

pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `recorder ARGS` with the sandbox's XDG folders and no inherited overrides.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        let d = self.path();
        c.env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("RECORDER_LOG_FILE", d.join("recorder.log"))
            .env_remove("ORT_DYLIB_PATH")
            .env_remove("RECORDER_MODELS_DIR")
            .env_remove("RUST_BACKTRACE");
        c
    }

    pub fn sessions(&self) -> PathBuf {
        self.path().join("data/recorder/sessions")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("recorder.log")).unwrap_or_default()
    }
}

/// Runs a command to completion, capturing output.
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdin(std::process::Stdio::null())
        .output()
        .expect("running recorder")
}

/// Stdout and stderr as strings.
pub fn texts(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Lowercase, punctuation removed: for keyword checks on whisper's output.
pub fn norm(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `parts` (each a mono 16-bit WAV of any rate, plus seconds of silence after it) into
/// one WAV at the first part's rate.
pub fn concat_with_gaps(parts: &[(PathBuf, f32)], out: &Path) {
    let mut writer: Option<hound::WavWriter<_>> = None;
    let mut rate = 0;
    for (wav, gap) in parts {
        let mut r = hound::WavReader::open(wav).expect("espeak wav");
        let spec = r.spec();
        if writer.is_none() {
            rate = spec.sample_rate;
            writer = Some(hound::WavWriter::create(out, spec).expect("create wav"));
        }
        assert_eq!(spec.sample_rate, rate, "all parts at one rate");
        let w = writer.as_mut().unwrap();
        for s in r.samples::<i16>() {
            w.write_sample(s.unwrap()).unwrap();
        }
        for _ in 0..(gap * rate as f32) as usize {
            w.write_sample(0i16).unwrap();
        }
    }
    writer.expect("at least one part").finalize().unwrap();
}
