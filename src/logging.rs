//! Logs go to a file (never to the terminal, which the TUI owns): `~/.local/state/recorder/
//! recorder.log` by default, `RECORDER_LOG_FILE` to override, `RECORDER_LOG` for the filter
//! (e.g. `debug`). Workers log to their stderr, which the pool copies into this file.

use std::path::PathBuf;
use std::sync::Mutex;

/// Starts file logging; returns the log file's path. Failure to open the file is not fatal
/// (recording matters more than logs): logging is then off and `None` returned.
pub fn init() -> Option<PathBuf> {
    let path = std::env::var_os("RECORDER_LOG_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(crate::paths::log_file);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RECORDER_LOG")
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(path)
}
