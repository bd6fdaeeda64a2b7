//! Recording sessions on disk: one folder per session (0700, files 0600) holding
//! - `session.wav`: all recorded audio, 16 kHz mono, its header rewritten at every utterance
//!   boundary so the file is readable after a crash,
//! - `utt-NNNNNN.wav`: each utterance, written and fsynced before its job is queued,
//! - `journal.jsonl`: an append-only log of what happened (fsynced at utterance boundaries),
//!   from which `recorder sessions` lists, shows, exports and resumes sessions,
//! - `lock`: held by the process recording or resuming the session ([`lock`]).
//!
//! The journal is read as untrusted input: a line that is torn, not UTF-8 or not an entry is
//! skipped and counted, and an entry naming a file outside the folder or an impossible id
//! is reported, not obeyed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::protocol::Segment;
use crate::vocab::{Hints, Span, UtteranceId, UtteranceRef};

mod audio;
mod journal;
mod lock;
mod recover;
pub use audio::{SessionAudio, repair_wav_header};
pub use journal::{Entry, Journal, JournalError, private_append, private_create};
pub use lock::{Holder, LOCK, LockError, SessionLock, holder, lock};
pub use recover::{PrepareError, Prepared, Rebuilt, prepare_resume};

pub const JOURNAL: &str = "journal.jsonl";
pub const SESSION_WAV: &str = "session.wav";

/// Utterance ids count from 1; one at or above this is a forged or garbled entry (an id with
/// bit 48 set once collided with how the engine tagged resumed jobs, and a resume waited
/// forever).
pub const MAX_ID: u64 = 1 << 40;

/// At most this many journal problems are kept in words (the count is always exact).
const MAX_PROBLEMS: usize = 20;

/// The local time as `2026-11-25 21:10:58`.
pub fn now_text() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    now.format(&fmt).unwrap_or_default()
}

/// One utterance as the journal tells it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Utterance {
    pub id: UtteranceId,
    pub span: Span,
    pub wav: PathBuf,
    pub hints: Hints,
    pub text: Option<String>,
    /// Its text from the settle pass, when one replaced the first result.
    pub settled: Option<String>,
    /// The user's correction (TUI `Enter`): wins over both.
    pub edited: Option<String>,
    /// Removed from the transcript by the user (TUI `x`): not shown nor exported.
    pub deleted: bool,
    pub segments: Vec<Segment>,
    pub failed: Option<String>,
}

/// A candidate the segmenter discarded, as the journal tells it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discarded {
    pub span: Span,
    pub wav: Option<PathBuf>,
}

impl Utterance {
    /// The text to show and export: the user's, else the settled one, else the first.
    pub fn final_text(&self) -> Option<&String> {
        self.edited
            .as_ref()
            .or(self.settled.as_ref())
            .or(self.text.as_ref())
    }

    /// The text that goes into the transcript: none for a deleted utterance.
    pub fn shown_text(&self) -> Option<&String> {
        (!self.deleted).then(|| self.final_text()).flatten()
    }

    /// The utterance as a job takes it (its WAV, times and hints).
    pub fn reference(&self) -> UtteranceRef {
        UtteranceRef {
            id: self.id,
            span: self.span,
            wav: self.wav.clone(),
            hints: self.hints,
        }
    }
}

/// Why a journal line was skipped.
enum Bad {
    Garbled(String),
    Refused(String),
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
    pub utterances: BTreeMap<UtteranceId, Utterance>,
    /// Utterances closed by the segmenter (id → start, end) whose WAV was never journaled:
    /// a crash during its write ([`Session::rebuild_unwritten`] makes them again).
    pub unwritten: BTreeMap<UtteranceId, Span>,
    /// Journal lines skipped: torn, not UTF-8, not an entry, or an entry refused (below).
    pub bad_lines: usize,
    /// What was wrong with the first of them, in words (`line N: …`).
    pub problems: Vec<String>,
    /// Of those, entries read but refused (a file outside the folder, an impossible id):
    /// what they describe cannot be done, so a resume reports them and fails.
    pub refused: usize,
    /// Set when the journal itself cannot be read (the folder is still listed).
    pub unreadable: Option<String>,
    /// The process recording or resuming this session now, if any.
    pub busy: Option<Holder>,
    /// Candidates the segmenter discarded (their audio is in `session.wav` and, since
    /// journals record it, a file of their own).
    pub discarded: Vec<Discarded>,
}

impl Session {
    /// Reads a session folder; a bad line is counted and described, not fatal. Fails only
    /// when the journal cannot be read at all.
    pub fn load(dir: &Path) -> std::io::Result<Session> {
        let bytes = std::fs::read(dir.join(JOURNAL))?;
        let mut s = Session::empty(dir);
        // Line by line as bytes: one invalid UTF-8 byte used to fail the whole read
        // (`lines()?`), and the session vanished from `sessions list`.
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let entry = std::str::from_utf8(line)
                .map_err(|_| Bad::Garbled("not UTF-8".into()))
                .and_then(|l| {
                    serde_json::from_str::<Entry>(l)
                        .map_err(|_| Bad::Garbled("not a journal entry".into()))
                })
                .and_then(|e| s.check(e).map_err(Bad::Refused));
            match entry {
                Ok(e) => s.apply(e),
                Err(Bad::Garbled(why)) => s.problem(n + 1, why),
                Err(Bad::Refused(why)) => {
                    s.refused += 1;
                    s.problem(n + 1, why);
                }
            }
        }
        s.unwritten.retain(|id, _| !s.utterances.contains_key(id));
        Ok(s)
    }

    /// A folder whose journal cannot be read: listed with the reason, never hidden.
    fn unreadable(dir: &Path, e: &std::io::Error) -> Session {
        Session {
            unreadable: Some(format!("journal unreadable: {e}")),
            ..Session::empty(dir)
        }
    }

    /// The folder `dir` as a session with nothing read yet.
    fn empty(dir: &Path) -> Session {
        Session {
            id: id_of(dir),
            dir: dir.to_path_buf(),
            busy: holder(dir),
            ..Session::default()
        }
    }

    fn problem(&mut self, line: usize, why: String) {
        self.bad_lines += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(format!("line {line}: {why}"));
        }
    }

    /// Refuses entries that would make recorder read outside the session folder or use an
    /// id it cannot track.
    fn check(&self, e: Entry) -> Result<Entry, String> {
        let id = match &e {
            Entry::UtteranceClosed { id, .. }
            | Entry::UtteranceRecorded { id, .. }
            | Entry::Transcribed { id, .. }
            | Entry::Settled { id, .. }
            | Entry::Edited { id, .. }
            | Entry::Deleted { id }
            | Entry::Restored { id }
            | Entry::Failed { id, .. } => Some(*id),
            _ => None,
        };
        if let Some(id) = id.filter(|&id| id.0 == 0 || id.0 >= MAX_ID) {
            return Err(format!("utterance id {id} out of range"));
        }
        let wav = match &e {
            Entry::UtteranceRecorded { wav, .. } => Some(wav.as_str()),
            Entry::Discarded { wav, .. } => wav.as_deref(),
            _ => None,
        };
        if let Some(w) = wav.filter(|w| !is_plain_file_name(w)) {
            return Err(format!(
                "audio file '{}' is not a file in the session folder",
                crate::inert::inert(w)
            ));
        }
        Ok(e)
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
            Entry::UtteranceClosed { id, start_s, end_s } => {
                self.unwritten.insert(id, Span::new(start_s, end_s));
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
                u.span = Span::new(start_s, end_s);
                u.wav = self.dir.join(wav);
                u.hints = hints;
            }
            Entry::Discarded {
                start_s,
                end_s,
                wav,
            } => self.discarded.push(Discarded {
                span: Span::new(start_s, end_s),
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
            Entry::Settled { id, text } => {
                if let Some(u) = self.utterances.get_mut(&id).filter(|u| u.text.is_some()) {
                    u.settled = Some(text);
                }
            }
            Entry::Failed { id, reason } => {
                if let Some(u) = self.utterances.get_mut(&id).filter(|u| u.text.is_none()) {
                    u.failed = Some(reason);
                }
            }
            Entry::Edited { id, text } => {
                if let Some(u) = self.utterances.get_mut(&id) {
                    u.edited = Some(text);
                }
            }
            Entry::Deleted { id } => {
                if let Some(u) = self.utterances.get_mut(&id) {
                    u.deleted = true;
                }
            }
            Entry::Restored { id } => {
                if let Some(u) = self.utterances.get_mut(&id) {
                    u.deleted = false;
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
        let first = self.utterances.keys().max().map_or(1, |id| id.0 + 1);
        for (id, d) in (first..).map(UtteranceId).zip(&pending) {
            let wav = d
                .wav
                .as_ref()
                .and_then(|w| w.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let entry = Entry::UtteranceRecorded {
                id,
                start_s: d.span.start_s,
                end_s: d.span.end_s,
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

    /// What a resume has to do: utterances without text plus those whose WAV a crash cut.
    pub fn pending(&self) -> usize {
        self.untranscribed().len() + self.unwritten.len()
    }

    /// Not ended cleanly, or with utterances still waiting for text.
    pub fn is_unfinished(&self) -> bool {
        self.ended.is_none() || self.pending() > 0
    }

    pub fn transcribed(&self) -> usize {
        self.utterances
            .values()
            .filter(|u| u.text.is_some())
            .count()
    }
}

/// All sessions under `root`, oldest first: every folder with a journal or a recording,
/// whether or not its journal can be read.
pub fn list(root: &Path) -> Vec<Session> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(JOURNAL).exists() || p.join(SESSION_WAV).exists())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|d| Session::load(d).unwrap_or_else(|e| Session::unreadable(d, &e)))
        .collect()
}

/// A session's id: its folder's name.
pub fn id_of(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `name` is one plain file name: not empty, not absolute, no `/`, not `.` or `..`.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
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
mod tests;
