//! Recording sessions on disk: one folder per session (0700, files 0600) holding
//! - `session.wav`: all recorded audio, 16 kHz mono, its header rewritten at every utterance
//!   boundary so the file is readable after a crash,
//! - `utt-NNNNNN.wav`: each utterance, written and fsynced before its job is queued,
//! - `journal.jsonl`: an append-only log of what happened (fsynced at utterance boundaries),
//!   from which `recorder sessions` lists, shows, exports and resumes sessions.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::audio::segmenter::Hints;
use crate::transcribe::{Segment, Timings};

mod audio;
mod store;
pub use audio::{SessionAudio, repair_wav_header};
pub use store::{Store, StoreError, Stored};

pub const JOURNAL: &str = "journal.jsonl";
pub const SESSION_WAV: &str = "session.wav";

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
    /// The utterance's WAV (a file name in the session folder) is complete on disk.
    UtteranceRecorded {
        id: u64,
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
        id: u64,
        text: String,
        #[serde(default)]
        segments: Vec<Segment>,
        #[serde(default)]
        no_speech_prob: f32,
        #[serde(default)]
        timings: Timings,
    },
    Failed {
        id: u64,
        reason: String,
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
}

/// Opens `path` for appending with mode 0600 (the journal holds what the user said).
pub fn private_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
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
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let path = dir.join(JOURNAL);
        let file = private_append(&path).map_err(|source| JournalError {
            path: path.clone(),
            source,
        })?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
        })
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

/// The local time as `2026-11-25 21:10:58`.
pub fn now_text() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    now.format(&fmt).unwrap_or_default()
}

/// One utterance as the journal tells it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Utterance {
    pub id: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub wav: PathBuf,
    pub hints: Hints,
    pub text: Option<String>,
    pub segments: Vec<Segment>,
    pub failed: Option<String>,
}

/// A candidate the segmenter discarded, as the journal tells it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discarded {
    pub start_s: f64,
    pub end_s: f64,
    pub wav: Option<PathBuf>,
}

/// A session read back from its folder.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub id: String,
    pub dir: PathBuf,
    pub started: Option<String>,
    pub input: String,
    pub model: String,
    pub ended: Option<String>,
    pub utterances: BTreeMap<u64, Utterance>,
    /// Journal lines that could not be read (a line torn by a crash).
    pub bad_lines: usize,
    /// Candidates the segmenter discarded (their audio is in `session.wav` and, since
    /// journals record it, a file of their own).
    pub discarded: Vec<Discarded>,
}

impl Session {
    /// Reads a session folder; a torn or garbled line is counted, not fatal.
    pub fn load(dir: &Path) -> std::io::Result<Session> {
        let file = File::open(dir.join(JOURNAL))?;
        let mut s = Session {
            id: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: dir.to_path_buf(),
            ..Session::default()
        };
        for line in BufReader::new(file).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(&line) {
                Ok(e) => s.apply(e),
                Err(_) => s.bad_lines += 1,
            }
        }
        Ok(s)
    }

    fn apply(&mut self, e: Entry) {
        match e {
            Entry::SessionStarted {
                time, input, model, ..
            } => {
                self.started = Some(time);
                self.input = input;
                self.model = model;
            }
            Entry::UtteranceRecorded {
                id,
                start_s,
                end_s,
                wav,
                hints,
            } => {
                let u = self.utterances.entry(id).or_default();
                u.id = id;
                u.start_s = start_s;
                u.end_s = end_s;
                u.wav = self.dir.join(wav);
                u.hints = hints;
            }
            Entry::Discarded {
                start_s,
                end_s,
                wav,
            } => self.discarded.push(Discarded {
                start_s,
                end_s,
                wav: wav.map(|w| self.dir.join(w)),
            }),
            Entry::Transcribed {
                id, text, segments, ..
            } => {
                if let Some(u) = self.utterances.get_mut(&id) {
                    u.text = Some(text);
                    u.segments = segments;
                    u.failed = None;
                }
            }
            Entry::Failed { id, reason } => {
                if let Some(u) = self.utterances.get_mut(&id).filter(|u| u.text.is_none()) {
                    u.failed = Some(reason);
                }
            }
            Entry::SessionEnded { time, .. } => self.ended = Some(time),
            _ => {}
        }
    }

    /// Discarded candidates with audio of their own that no utterance took up yet.
    pub fn pending_discards(&self) -> Vec<&Discarded> {
        self.discarded
            .iter()
            .filter(|d| {
                d.wav
                    .as_ref()
                    .is_some_and(|w| w.is_file() && !self.utterances.values().any(|u| &u.wav == w))
            })
            .collect()
    }

    /// Journals each pending discard as an utterance (ids after the last one), so that the
    /// next resume transcribes it; returns how many.
    pub fn take_up_discards(&self) -> Result<usize, JournalError> {
        let pending = self.pending_discards();
        if pending.is_empty() {
            return Ok(0);
        }
        let journal = Journal::open(&self.dir)?;
        let first = self.utterances.keys().max().copied().unwrap_or(0) + 1;
        for (id, d) in (first..).zip(&pending) {
            let wav = d
                .wav
                .as_ref()
                .and_then(|w| w.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let entry = Entry::UtteranceRecorded {
                id,
                start_s: d.start_s,
                end_s: d.end_s,
                wav,
                hints: Hints::default(),
            };
            journal.append(&entry, true)?;
        }
        Ok(pending.len())
    }

    /// Utterances with audio on disk but no text yet (failed ones included).
    pub fn untranscribed(&self) -> Vec<&Utterance> {
        self.utterances
            .values()
            .filter(|u| u.text.is_none())
            .collect()
    }

    /// Not ended cleanly, or with utterances still waiting for text.
    pub fn is_unfinished(&self) -> bool {
        self.ended.is_none() || !self.untranscribed().is_empty()
    }

    pub fn transcribed(&self) -> usize {
        self.utterances
            .values()
            .filter(|u| u.text.is_some())
            .count()
    }
}

/// All sessions under `root`, oldest first.
pub fn list(root: &Path) -> Vec<Session> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(JOURNAL).is_file())
        .collect();
    dirs.sort();
    dirs.iter().filter_map(|d| Session::load(d).ok()).collect()
}

/// Finds a session by its id (folder name), a unique prefix of it, or `last`.
pub fn find(root: &Path, id: &str) -> Result<Session, String> {
    let all = list(root);
    if id == "last" {
        return all
            .into_iter()
            .last()
            .ok_or_else(|| format!("no sessions in '{}'", root.display()));
    }
    let matches: Vec<Session> = all.into_iter().filter(|s| s.id.starts_with(id)).collect();
    match matches.len() {
        1 => Ok(matches.into_iter().next().expect("one")),
        0 => Err(format!(
            "no session '{id}' in '{}'; `recorder sessions list` shows them",
            root.display()
        )),
        n => Err(format!("'{id}' matches {n} sessions; give more of the id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal_with(dir: &Path, entries: &[Entry]) -> Journal {
        let j = Journal::open(dir).unwrap();
        for e in entries {
            j.append(e, true).unwrap();
        }
        j
    }

    fn rec(id: u64) -> Entry {
        Entry::UtteranceRecorded {
            id,
            start_s: id as f64,
            end_s: id as f64 + 0.5,
            wav: format!("utt-{id:06}.wav"),
            hints: Hints::default(),
        }
    }

    fn text(id: u64, t: &str) -> Entry {
        Entry::Transcribed {
            id,
            text: t.into(),
            segments: vec![],
            no_speech_prob: 0.0,
            timings: Timings::default(),
        }
    }

    #[test]
    fn journal_round_trip_and_unfinished_detection() {
        let dir = tempfile::tempdir().unwrap();
        journal_with(
            dir.path(),
            &[
                Entry::SessionStarted {
                    time: "t".into(),
                    input: "mic".into(),
                    model: "m".into(),
                    version: "1".into(),
                },
                rec(1),
                text(1, "one"),
                rec(2),
                Entry::Failed {
                    id: 2,
                    reason: "boom".into(),
                },
                rec(3),
            ],
        );
        let s = Session::load(dir.path()).unwrap();
        assert_eq!(s.utterances.len(), 3);
        assert_eq!(s.transcribed(), 1);
        let pending: Vec<u64> = s.untranscribed().iter().map(|u| u.id).collect();
        assert_eq!(pending, vec![2, 3]);
        assert_eq!(s.utterances[&2].failed.as_deref(), Some("boom"));
        assert!(s.is_unfinished());
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        journal_with(
            dir.path(),
            &[
                rec(1),
                text(1, "one"),
                Entry::SessionEnded {
                    time: "t".into(),
                    reason: "stop".into(),
                },
            ],
        );
        let mut f = private_append(&dir.path().join(JOURNAL)).unwrap();
        f.write_all(b"{\"event\":\"utterance_rec").unwrap();
        let s = Session::load(dir.path()).unwrap();
        assert_eq!(s.bad_lines, 1);
        assert!(!s.is_unfinished());
    }

    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        journal_with(dir.path(), &[rec(1)]);
        let a = SessionAudio::create(dir.path()).unwrap();
        a.finish().unwrap();
        for f in [JOURNAL, SESSION_WAV] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }

    #[test]
    fn session_audio_survives_a_crash_between_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = SessionAudio::create(dir.path()).unwrap();
        a.write(&vec![0.25; 16_000]).unwrap();
        a.checkpoint().unwrap();
        a.write(&vec![0.5; 8_000]).unwrap();
        // Simulate a crash: the process dies without finalising.
        std::mem::forget(a);
        let path = dir.path().join(SESSION_WAV);
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.duration(), 16_000, "readable up to the last checkpoint");
        drop(r);
        assert_eq!(repair_wav_header(&path).unwrap(), 24_000);
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.duration(), 24_000, "everything after repair");
    }

    #[test]
    fn find_by_prefix_and_last() {
        let root = tempfile::tempdir().unwrap();
        for name in ["2026-01-01T10-00-00", "2026-01-02T10-00-00"] {
            let d = root.path().join(name);
            std::fs::create_dir(&d).unwrap();
            journal_with(&d, &[rec(1)]);
        }
        assert_eq!(find(root.path(), "last").unwrap().id, "2026-01-02T10-00-00");
        assert_eq!(
            find(root.path(), "2026-01-01").unwrap().id,
            "2026-01-01T10-00-00"
        );
        assert!(
            find(root.path(), "2026")
                .unwrap_err()
                .contains("2 sessions")
        );
        assert!(
            find(root.path(), "1999")
                .unwrap_err()
                .contains("sessions list")
        );
    }
}
