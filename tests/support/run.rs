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
        // Runs that are not kept write to the temporary folder: the sandbox's, so a test sees
        // what is left there.
        let tmp = d.join("tmp");
        std::fs::create_dir_all(&tmp).expect("sandbox tmp");
        c.env("TMPDIR", tmp)
            .env("XDG_DATA_HOME", d.join("data"))
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

/// An engine for a scripted worker: one worker of one thread, one attempt, sessions in
/// `sessions`, no interim passes, no context, no settle pass and no speculative finals (a test turns on what it
/// is about).
pub fn scripted_engine(
    sessions: PathBuf,
    worker: recorder::pool::WorkerSpec,
) -> recorder::engine::EngineConfig {
    recorder::engine::EngineConfig {
        model: "fake".into(),
        workers: 1,
        threads: 1,
        language: None,
        max_attempts: 1,
        segmenter: recorder::audio::segmenter::SegmenterConfig::default(),
        sessions_dir: sessions,
        interim: None,
        context_chars: 0,
        settle_pause: None,
        speculate: None,
        worker: Some(worker),
    }
}

/// Records `file` through an engine of `cfg` (the real audio thread and Silero) to its end,
/// handing each event to `on`; at most 120 s.
pub async fn drive_file(
    cfg: recorder::engine::EngineConfig,
    file: &Path,
    realtime: bool,
    on: impl FnMut(recorder::engine::EngineEvent) -> anyhow::Result<()>,
) {
    recorder::ortlib::init(None).expect("ONNX Runtime (run `make setup`)");
    let (mut engine, mut events) = recorder::engine::Engine::new(cfg).unwrap();
    let source = recorder::engine::Source::File {
        path: file.to_path_buf(),
        realtime,
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    engine
        .drive_recording(&mut events, source, Some(deadline), on)
        .await
        .unwrap();
    engine.shutdown(std::time::Duration::from_secs(5)).await;
}

/// A scripted worker: `body` (a shell script, shebang included) as `dir/name`, executable.
pub fn worker_script(dir: &Path, name: &str, body: &str) -> recorder::pool::WorkerSpec {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    recorder::pool::WorkerSpec {
        program: p,
        args: vec![],
    }
}
