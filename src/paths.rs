//! Where things live. Models and the ONNX Runtime library are looked up in several folders so
//! that `recorder` works from the repository (`models/`, filled by the setup script) and as an
//! installed binary (the XDG data dir, `~/.local/share/recorder/models`).

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

fn project() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "recorder")
}

/// `~/.config/recorder/config.toml` (XDG_CONFIG_HOME honoured).
pub fn config_file() -> Option<PathBuf> {
    project().map(|p| p.config_dir().join("config.toml"))
}

/// `~/.local/share/recorder` (XDG_DATA_HOME honoured).
pub fn data_dir() -> PathBuf {
    project()
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("recorder"))
}

/// Recording sessions: one folder per session with its utterance WAVs.
pub fn sessions_dir() -> PathBuf {
    data_dir().join("sessions")
}

/// `~/.local/state/recorder/recorder.log` (XDG_STATE_HOME honoured), else in the data dir.
pub fn log_file() -> PathBuf {
    project()
        .and_then(|p| p.state_dir().map(Path::to_path_buf))
        .unwrap_or_else(data_dir)
        .join("recorder.log")
}

/// The folders searched for models and for ONNX Runtime, first match wins:
/// 1. `explicit` (`--models-dir` / `models_dir` in the config),
/// 2. `$RECORDER_MODELS_DIR`,
/// 3. `models/` of the source checkout this binary was built from (what `make setup` fills),
/// 4. `models/` next to the executable,
/// 5. the XDG data dir's `models/` (where `recorder models install` writes by default).
pub fn model_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    dirs.extend(explicit.map(Path::to_path_buf));
    if let Some(env) = std::env::var_os("RECORDER_MODELS_DIR").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(env));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("models"));
    }
    dirs.push(data_dir().join("models"));
    dirs.dedup();
    dirs
}

/// The file name a model called `name` has: `ggml-NAME.bin` (whisper.cpp's convention).
pub fn model_file_name(name: &str) -> String {
    format!("ggml-{name}.bin")
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file '{0}' does not exist")]
    NoFile(PathBuf),
    #[error(
        "whisper model '{name}' not found (looked for {file} in {searched}); run `make setup` in the recorder checkout, or `recorder models install {name}`, or pass `--model PATH`"
    )]
    NotFound {
        name: String,
        file: String,
        searched: String,
    },
}

/// Resolves `--model`: a path to a ggml file, or a model name looked up in [`model_dirs`].
pub fn resolve_model(model: &str, explicit_dir: Option<&Path>) -> Result<PathBuf, ModelError> {
    let as_path = Path::new(model);
    if model.contains('/') || model.ends_with(".bin") {
        return if as_path.is_file() {
            Ok(as_path.to_path_buf())
        } else {
            Err(ModelError::NoFile(as_path.to_path_buf()))
        };
    }
    let file = model_file_name(model);
    let dirs = model_dirs(explicit_dir);
    for d in &dirs {
        if let Some(found) = model_in(d, model) {
            return Ok(found);
        }
    }
    let searched = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(ModelError::NotFound {
        name: model.to_string(),
        file,
        searched,
    })
}

/// The quantisation a model name prefers when both files sit in one folder.
pub const PREFERRED_QUANT: &str = "q8_0";

/// `NAME` in folder `dir`: `ggml-NAME-q8_0.bin` when present (what `make setup` writes for
/// tiny.en), else `ggml-NAME.bin`. `NAME-f16` names the unquantised `ggml-NAME.bin`.
///
/// Why q8_0 first, measured on the 2-core machine over the 22 eval clips (README "Speed"):
/// tiny.en q8_0 encodes in 111 ms median vs 137 ms for f16 (latency 164 vs 199 ms, 0.48 vs
/// 0.58 of faster-whisper int8), the worker peaks at 181 MB after a 25 s utterance vs 212 MB,
/// and the word error rate is the same (3.07%, 10/326 words, with audio_ctx).
pub fn model_in(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut candidates = vec![
        dir.join(model_file_name(&format!("{name}-{PREFERRED_QUANT}"))),
        dir.join(model_file_name(name)),
    ];
    if let Some(base) = name.strip_suffix("-f16") {
        candidates.push(dir.join(model_file_name(base)));
    }
    candidates.into_iter().find(|c| c.is_file())
}

/// Models found in the search folders: (name, path, size in bytes).
pub fn installed_models(explicit_dir: Option<&Path>) -> Vec<(String, PathBuf, u64)> {
    let mut found: Vec<(String, PathBuf, u64)> = Vec::new();
    for d in model_dirs(explicit_dir) {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut here: Vec<_> = entries.flatten().collect();
        here.sort_by_key(|e| e.file_name());
        for e in here {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(model) = name
                .strip_prefix("ggml-")
                .and_then(|n| n.strip_suffix(".bin"))
            else {
                continue;
            };
            if found.iter().any(|(n, _, _)| n == model) {
                continue;
            }
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            found.push((model.to_string(), e.path(), size));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_prefers_q8_0_and_name_f16_the_unquantised_file() {
        let dir = tempfile::tempdir().unwrap();
        let f16 = dir.path().join("ggml-tiny.en.bin");
        let q8 = dir.path().join("ggml-tiny.en-q8_0.bin");
        std::fs::write(&f16, b"f16").unwrap();
        assert_eq!(model_in(dir.path(), "tiny.en"), Some(f16.clone()));
        std::fs::write(&q8, b"q8").unwrap();
        assert_eq!(model_in(dir.path(), "tiny.en"), Some(q8.clone()));
        assert_eq!(model_in(dir.path(), "tiny.en-f16"), Some(f16));
        assert_eq!(model_in(dir.path(), "tiny.en-q8_0"), Some(q8));
        assert_eq!(model_in(dir.path(), "base.en"), None);
        assert_eq!(model_in(dir.path(), "base.en-f16"), None);
    }
}
