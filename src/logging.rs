//! Logs go to a file (never to the terminal, which the TUI owns): `~/.local/state/recorder/
//! recorder.log` by default, `RECORDER_LOG_FILE` to override, `RECORDER_LOG` for the filter
//! (e.g. `debug`). Workers log to their stderr, which the pool copies into this file.
//!
//! The log holds file names, device names and timings of what the user said: it is created
//! 0600 in a 0700 folder whatever the umask (it was 0644 in a 0755 folder, 0666/0777 under
//! umask 000), and a symbolic link at the log's path or as its folder is refused (a planted
//! link made `recorder sessions list` append to another file).

use std::fs::OpenOptions;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("not logging: '{0}' is a symbolic link (remove it, or set RECORDER_LOG_FILE)")]
    Symlink(PathBuf),
    #[error("not logging: cannot open '{path}': {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Starts file logging; returns the log file's path. Failure to open the file is not fatal
/// (recording matters more than logs): logging is then off and the error says why.
pub fn init() -> Result<PathBuf, LogError> {
    let path = std::env::var_os("RECORDER_LOG_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(crate::paths::log_file);
    let file = open_private(&path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RECORDER_LOG")
        .unwrap_or_else(|_| "info".into());
    // A second init in one process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    Ok(path)
}

/// Opens `path` for appending, 0600, its folder made 0700 if missing; refuses symbolic links
/// at either.
pub fn open_private(path: &Path) -> Result<std::fs::File, LogError> {
    let open_err = |source| LogError::Open {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(LogError::Symlink(dir.to_path_buf()));
        }
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(open_err)?;
        }
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                LogError::Symlink(path.to_path_buf())
            } else {
                open_err(e)
            }
        })?;
    // A log made by an older version (0644) becomes private too.
    if let Ok(m) = file.metadata()
        && m.permissions().mode() & 0o077 != 0
    {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_log_and_its_folder_are_private_and_links_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let log = root.path().join("state/recorder/recorder.log");
        drop(open_private(&log).unwrap());
        assert_eq!(mode(&log), 0o600);
        assert_eq!(mode(log.parent().unwrap()), 0o700);

        let victim = root.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let linked = root.path().join("linked.log");
        std::os::unix::fs::symlink(&victim, &linked).unwrap();
        assert!(matches!(open_private(&linked), Err(LogError::Symlink(_))));

        let dir_link = root.path().join("dirlink");
        std::os::unix::fs::symlink(root.path(), &dir_link).unwrap();
        let err = open_private(&dir_link.join("recorder.log")).unwrap_err();
        assert!(matches!(err, LogError::Symlink(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }
}
