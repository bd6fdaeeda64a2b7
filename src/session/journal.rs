//! The journal: one JSON object per line, appended and never rewritten, from which a session
//! is read back ([`super::Session::load`]).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::JOURNAL;
use crate::protocol::{Segment, Timings};
use crate::vocab::{Hints, Span, UtteranceId, UtteranceRef};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    SessionStarted {
        time: String,
        input: String,
        model: String,
        version: String,
    },
    /// The segmenter closed utterance `id`; its WAV is being written. Journaled (without
    /// fsync) before the WAV, so that a crash during the write leaves the times from which
    /// `sessions resume` rebuilds the utterance out of `session.wav`.
    UtteranceClosed {
        id: UtteranceId,
        start_s: f64,
        end_s: f64,
    },
    /// The utterance's WAV (a file name in the session folder) is complete on disk.
    UtteranceRecorded {
        id: UtteranceId,
        start_s: f64,
        end_s: f64,
        wav: String,
        /// What the VAD knew about it (the worker's guards and an overlapped split use it).
        #[serde(default)]
        hints: Hints,
    },
    /// A candidate the segmenter did not keep (almost no speech evidence: a click). Its
    /// audio is in `wav` (a file name in the session folder) and in `session.wav`;
    /// `sessions resume --discarded` turns it into an utterance and transcribes it.
    Discarded {
        start_s: f64,
        end_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wav: Option<String>,
    },
    Transcribed {
        id: UtteranceId,
        text: String,
        #[serde(default)]
        segments: Vec<Segment>,
        #[serde(default)]
        no_speech_prob: f32,
        #[serde(default)]
        timings: Timings,
    },
    Failed {
        id: UtteranceId,
        reason: String,
    },
    /// The settle pass re-decoded a stretch of utterances as one piece and this is
    /// utterance `id`'s share of it; the first result (`transcribed`) stays in the journal
    /// beside it, and exports use this one.
    Settled {
        id: UtteranceId,
        text: String,
    },
    /// The user corrected utterance `id`'s text in the TUI: it wins over the settled and
    /// the first text (both stay in the journal) in the pane and in every export.
    Edited {
        id: UtteranceId,
        text: String,
    },
    /// The user removed utterance `id` from the transcript (`x` in the TUI); its text and
    /// audio stay, and `restored` brings it back.
    Deleted {
        id: UtteranceId,
    },
    Restored {
        id: UtteranceId,
    },
    Paused {
        at_s: f64,
    },
    Resumed {
        at_s: f64,
    },
    DeviceLost {
        at_s: f64,
        reason: String,
    },
    DeviceBack {
        at_s: f64,
    },
    /// The audio side ended (stop, end of input, or a fatal error).
    SessionEnded {
        time: String,
        reason: String,
    },
}

impl Entry {
    /// `utterance_closed`: the times of an utterance whose WAV is about to be written.
    pub fn closed(id: UtteranceId, span: Span) -> Entry {
        Entry::UtteranceClosed {
            id,
            start_s: span.start_s,
            end_s: span.end_s,
        }
    }

    /// `utterance_recorded`: `utt`'s WAV (named as [`UtteranceId::wav_name`] says) is
    /// complete in the session folder.
    pub fn recorded(utt: &UtteranceRef) -> Entry {
        Entry::UtteranceRecorded {
            id: utt.id,
            start_s: utt.span.start_s,
            end_s: utt.span.end_s,
            wav: utt.id.wav_name(),
            hints: utt.hints,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write the session journal '{path}': {source}")]
pub struct JournalError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The append-only journal. Shared by the audio thread (utterances) and the engine (results);
/// each append is one `write` of one whole line.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    /// Written as `session_ended` when the last handle goes (see [`Journal::ending_when_dropped`]).
    end_on_drop: Option<String>,
    /// Held while this journal is being written by a recording or a resume; declared last so
    /// it is released after the drop's last entry.
    _lock: Option<super::SessionLock>,
}

/// Opens `path` for appending with mode 0600 (the journal holds what the user said).
pub fn private_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Creates (truncates) `path` with mode 0600.
pub fn private_create(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

impl Journal {
    /// Opens (creates) the journal of the session folder `dir` for appending. A last line
    /// without its newline (a full disk or a crash cut it) is ended first: otherwise the next
    /// entry would be glued onto it and lost with it.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let path = dir.join(JOURNAL);
        let err = |source| JournalError {
            path: path.clone(),
            source,
        };
        let mut file = private_append(&path).map_err(err)?;
        end_torn_line(&mut file).map_err(err)?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
            end_on_drop: None,
            _lock: None,
        })
    }

    /// This journal, holding the session's lock for as long as it lives (the jobs that write
    /// results into it hold it too, so a resume cannot start while results are still due).
    pub fn holding(mut self, lock: super::SessionLock) -> Journal {
        self._lock = Some(lock);
        self
    }

    /// This journal, ending the session (`session_ended`, `reason`) when its last handle is
    /// dropped: for a resume, whose jobs share it, that is when the last result is in.
    pub fn ending_when_dropped(mut self, reason: &str) -> Journal {
        self.end_on_drop = Some(reason.to_string());
        self
    }

    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Appends one entry; `sync` fsyncs it (at utterance boundaries: what is acknowledged is on
    /// disk even if the machine loses power).
    pub fn append(&self, entry: &Entry, sync: bool) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(entry).expect("journal entries serialise");
        line.push('\n');
        let err = |source| JournalError {
            path: self.path.clone(),
            source,
        };
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes()).map_err(err)?;
        if sync {
            f.sync_data().map_err(err)?;
        }
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some(reason) = self.end_on_drop.take() {
            let entry = Entry::SessionEnded {
                time: super::now_text(),
                reason,
            };
            if let Err(e) = self.append(&entry, true) {
                tracing::error!("{e}");
            }
        }
    }
}

/// Appends a newline if the file's last byte is not one.
fn end_torn_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] != b'\n' {
        tracing::warn!("journal: ending a torn last line ({len} bytes)");
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}
