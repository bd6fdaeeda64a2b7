//! One process at a time per session: the recorder recording it, or the one resuming it,
//! holds an exclusive `flock` on `lock` in its folder. Without it a live session looked
//! crashed (`sessions list` said "interrupted", a second instance offered to resume it) and
//! two concurrent resumes both transcribed everything (34 journal lines for 17 utterances).
//! The kernel drops the lock when its holder dies, `kill -9` included, so a crashed session
//! is free at once; the file itself stays (its name and the holder's pid in it are harmless).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::private_append;

pub const LOCK: &str = "lock";

/// Who holds a session's lock: "recording" or "resuming", and its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub what: String,
    pub pid: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.what.as_str() {
            "recording" => "recording now",
            "resuming" => "being resumed now",
            _ => "in use now",
        };
        write!(f, "{what} (pid {})", self.pid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("session {session} is {holder}; wait for it to finish")]
    Busy { session: String, holder: Holder },
    #[error("cannot lock session folder '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A held session lock; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct SessionLock {
    _file: File,
}

/// Takes the session folder `dir`'s lock for `what` ("recording" / "resuming"), or says who
/// holds it.
pub fn lock(dir: &Path, what: &str) -> Result<SessionLock, LockError> {
    let path = dir.join(LOCK);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = private_append(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(LockError::Busy {
                session: super::id_of(dir),
                holder: read_holder(&path),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    writeln!(file, "{} {what}", std::process::id()).map_err(io)?;
    Ok(SessionLock { _file: file })
}

/// Who holds `dir`'s lock, if anyone does now.
pub fn holder(dir: &Path) -> Option<Holder> {
    let path = dir.join(LOCK);
    let file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => Some(read_holder(&path)),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

fn read_holder(path: &Path) -> Holder {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut words = text.split_whitespace();
    let pid = words.next().unwrap_or("?").to_string();
    let what = words.next().unwrap_or("").to_string();
    Holder { what, pid }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None);
        let held = lock(dir.path(), "recording").unwrap();
        let h = holder(dir.path()).unwrap();
        assert_eq!(h.pid, std::process::id().to_string());
        assert_eq!(h.to_string(), format!("recording now (pid {})", h.pid));
        let err = lock(dir.path(), "resuming").unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("recording now"), "{err}");
        drop(held);
        assert_eq!(holder(dir.path()), None);
        let again = lock(dir.path(), "resuming").unwrap();
        assert_eq!(holder(dir.path()).unwrap().what, "resuming");
        drop(again);
    }
}
