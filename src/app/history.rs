//! The transcript history: utterances grouped by recording session and kept in id order, so
//! results that arrive out of order (several workers finish in any order) still read top to
//! bottom in the order they were spoken.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::vocab::{RecordingId, Span, UtteranceId};

/// Where one utterance stands.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryState {
    /// The VAD has it open: the speaker is still talking.
    Listening,
    /// Closed and waiting for a worker.
    Queued,
    /// A worker is on it.
    Transcribing,
    /// The final text (trimmed; may be empty when whisper heard no words).
    Done(String),
    /// Transcription failed; the audio stays on disk.
    Failed(String),
}

impl EntryState {
    /// True until the utterance has its final text or has failed.
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Listening | Self::Queued | Self::Transcribing)
    }
}

/// One utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Seconds from the start of its session; it ends where it starts until the utterance
    /// is closed.
    pub span: Span,
    pub state: EntryState,
    /// Live text while it is spoken: (stable words, tentative rest). Replaced by the final
    /// text when it arrives.
    pub interim: Option<(String, String)>,
    /// The text is the settle pass's (the stretch around it decoded again as one piece).
    pub settled: bool,
    /// The text is the user's correction (a later settle pass leaves it alone).
    pub edited: bool,
    /// Removed from the transcript by the user (kept in the journal; `x` again restores).
    pub deleted: bool,
}

impl Entry {
    fn new(span: Span) -> Entry {
        Entry {
            span,
            state: EntryState::Listening,
            interim: None,
            settled: false,
            edited: false,
            deleted: false,
        }
    }

    /// The final text, once there is one (whisper may hear no words: that is no text); none
    /// for a deleted utterance.
    pub fn text(&self) -> Option<&str> {
        match &self.state {
            EntryState::Done(text) if !text.is_empty() && !self.deleted => Some(text),
            _ => None,
        }
    }

    /// Whether the pane leaves it out: deleted, or heard as no speech and not the newest
    /// of its session (a cough kept `(no speech)` on screen for the whole run; the newest
    /// stays so the speaker sees what became of the last sound).
    pub fn hidden(&self, newest: bool) -> bool {
        self.deleted || (!newest && matches!(&self.state, EntryState::Done(t) if t.is_empty()))
    }
}

/// Names one utterance: its session's index (0-based) and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryKey {
    pub session: usize,
    pub id: UtteranceId,
}

/// One recording session: what a `RecordingStarted` opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// 1-based, in the order the sessions were opened.
    pub number: usize,
    /// The engine's recording whose events fill it (`None`: not known yet).
    pub rec: Option<RecordingId>,
    pub input: String,
    /// Where the engine keeps its audio (and where exports go).
    pub dir: Option<PathBuf>,
    /// An earlier session being resumed in the background: its texts come as `Resumed`
    /// events, never from a recording (and its pending ones are counted by the resume).
    pub resumed: bool,
    pub entries: BTreeMap<UtteranceId, Entry>,
}

/// One row of the history as the transcript pane shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Row<'a> {
    Heading(&'a Session),
    Utterance {
        key: EntryKey,
        entry: &'a Entry,
        /// 1-based place in the transcription queue (oldest first), for queued entries.
        queue_pos: Option<usize>,
    },
}

/// All sessions of this run, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    sessions: Vec<Session>,
    /// Bumped by every change: the transcript's layout is rebuilt only when it moves.
    revision: Revision,
}

/// A change counter that two histories with the same content need not share.
#[derive(Debug, Clone, Copy, Default)]
struct Revision(u64);

impl PartialEq for Revision {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl History {
    /// Starts a new section for recording `rec`; its utterances go into it.
    pub fn open_session(&mut self, rec: Option<RecordingId>, input: String, dir: Option<PathBuf>) {
        self.revision.0 += 1;
        let number = self.sessions.len() + 1;
        self.sessions.push(Session {
            number,
            rec,
            input,
            dir,
            resumed: false,
            entries: BTreeMap::new(),
        });
    }

    /// A section for the earlier session in `dir` being resumed: its texts so far, and the
    /// utterances still to come as queued.
    pub fn open_resumed(
        &mut self,
        input: String,
        dir: PathBuf,
        utterances: Vec<(UtteranceId, Span, Option<String>)>,
    ) {
        self.open_session(None, input, Some(dir));
        let session = self.sessions.last_mut().expect("just opened");
        session.resumed = true;
        for (id, span, text) in utterances {
            let mut entry = Entry::new(span);
            entry.state = match text {
                Some(t) => EntryState::Done(t.trim().to_string()),
                None => EntryState::Queued,
            };
            session.entries.insert(id, entry);
        }
    }

    /// Utterance `id` of the session being resumed has its outcome.
    pub fn resumed(&mut self, id: UtteranceId, span: Span, state: EntryState) {
        self.revision.0 += 1;
        let Some(session) = self.sessions.iter_mut().rev().find(|s| s.resumed) else {
            return;
        };
        let entry = session
            .entries
            .entry(id)
            .or_insert_with(|| Entry::new(span));
        entry.span = span;
        entry.state = state;
    }

    /// Changes so far (see [`crate::app::layout`]).
    pub fn revision(&self) -> u64 {
        self.revision.0
    }

    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.iter().all(|s| s.entries.is_empty())
    }

    /// Records a newly opened utterance of recording `rec`.
    pub fn open(&mut self, rec: RecordingId, id: UtteranceId, start_s: f64) {
        self.revision.0 += 1;
        let session = self.session_for(rec);
        let entry = Entry::new(Span::new(start_s, start_s));
        self.sessions[session].entries.insert(id, entry);
    }

    /// Moves utterance `id` of recording `rec` to `state`, creating it when this is the
    /// first we hear of it. `span` replaces the known times when given.
    pub fn set(
        &mut self,
        rec: RecordingId,
        id: UtteranceId,
        span: Option<Span>,
        state: EntryState,
    ) {
        self.revision.0 += 1;
        let session = self.session_for(rec);
        let entry = self.sessions[session]
            .entries
            .entry(id)
            .or_insert_with(|| Entry::new(span.unwrap_or_default()));
        if let Some(span) = span {
            entry.span = span;
        }
        entry.state = state;
    }

    /// The settle pass's text for utterance `id` of recording `rec` (ignored unless it has
    /// its first text).
    pub fn settle(&mut self, rec: RecordingId, id: UtteranceId, text: &str) {
        let Some(session) = self.sessions.iter().rposition(|s| s.rec == Some(rec)) else {
            return;
        };
        if let Some(e) = self.sessions[session].entries.get_mut(&id)
            && matches!(e.state, EntryState::Done(_))
            && !e.edited
        {
            self.revision.0 += 1;
            e.state = EntryState::Done(text.trim().to_string());
            e.settled = true;
        }
    }

    /// Live text for a pending utterance (ignored once it is final).
    pub fn interim(
        &mut self,
        rec: RecordingId,
        id: UtteranceId,
        stable: String,
        tentative: String,
    ) {
        self.revision.0 += 1;
        let session = self.session_for(rec);
        if let Some(e) = self.sessions[session]
            .entries
            .get_mut(&id)
            .filter(|e| e.state.is_pending())
        {
            e.interim = Some((stable, tentative));
        }
    }

    /// The utterance `key` names, if it (still) exists.
    pub fn get(&self, key: EntryKey) -> Option<&Entry> {
        self.sessions.get(key.session)?.entries.get(&key.id)
    }

    /// Every shown utterance's key, in display order.
    pub fn keys(&self) -> Vec<EntryKey> {
        self.rows()
            .filter_map(|row| match row {
                Row::Utterance { key, .. } => Some(key),
                Row::Heading(_) => None,
            })
            .collect()
    }

    /// The user's text for utterance `key` (`Enter` in the pane); false when it is gone.
    pub fn edit(&mut self, key: EntryKey, text: &str) -> bool {
        let Some(e) = self.entry_mut(key) else {
            return false;
        };
        e.state = EntryState::Done(text.trim().to_string());
        e.edited = true;
        e.interim = None;
        true
    }

    /// Deletes utterance `key` from the pane, or brings it back; its new `deleted`.
    pub fn toggle_deleted(&mut self, key: EntryKey) -> Option<bool> {
        let e = self.entry_mut(key)?;
        e.deleted = !e.deleted;
        Some(e.deleted)
    }

    fn entry_mut(&mut self, key: EntryKey) -> Option<&mut Entry> {
        self.revision.0 += 1;
        self.sessions.get_mut(key.session)?.entries.get_mut(&key.id)
    }

    /// The newest utterance that has its text.
    pub fn last_done(&self) -> Option<(EntryKey, &str)> {
        self.sessions
            .iter()
            .enumerate()
            .rev()
            .find_map(|(session, s)| {
                s.entries
                    .iter()
                    .rev()
                    .find_map(|(&id, e)| Some((EntryKey { session, id }, e.text()?)))
            })
    }

    /// Forgets an open utterance that turned out to be a blip.
    pub fn discard(&mut self, rec: RecordingId, id: UtteranceId) {
        self.revision.0 += 1;
        let index = self.session_for(rec);
        let session = &mut self.sessions[index];
        if session
            .entries
            .get(&id)
            .is_some_and(|e| e.state == EntryState::Listening)
        {
            session.entries.remove(&id);
        }
    }

    /// Drops utterances recording `rec` still has open: once it has stopped no `Queued` can
    /// follow for them, and leaving them would keep a quit waiting forever.
    pub fn close_open(&mut self, rec: RecordingId) {
        self.revision.0 += 1;
        let session = self.session_for(rec);
        self.sessions[session]
            .entries
            .retain(|_, e| e.state != EntryState::Listening);
    }

    /// Utterances not yet transcribed (open, queued or in a worker), over all sessions.
    pub fn pending(&self) -> usize {
        self.sessions
            .iter()
            .filter(|s| !s.resumed)
            .flat_map(|s| s.entries.values())
            .filter(|e| e.state.is_pending())
            .count()
    }

    /// The rows to show, oldest first, with queue positions filled in.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        let mut queued = 0;
        self.sessions
            .iter()
            .enumerate()
            .flat_map(move |(index, session)| {
                let newest = session.entries.keys().next_back().copied();
                let shown = session
                    .entries
                    .iter()
                    .filter(move |(id, e)| !e.hidden(Some(**id) == newest));
                let utterances = shown.map(move |(&id, entry)| {
                    let queue_pos = (entry.state == EntryState::Queued).then(|| {
                        queued += 1;
                        queued
                    });
                    Row::Utterance {
                        key: EntryKey { session: index, id },
                        entry,
                        queue_pos,
                    }
                });
                std::iter::once(Row::Heading(session)).chain(utterances)
            })
    }

    /// The section of recording `rec`: the one its `RecordingStarted` opened, or, for events
    /// of a recording the front end did not see start, the newest section not claimed by
    /// another recording (a new one if there is none).
    fn session_for(&mut self, rec: RecordingId) -> usize {
        if let Some(i) = self.sessions.iter().rposition(|s| s.rec == Some(rec)) {
            return i;
        }
        match self.sessions.last_mut() {
            Some(s) if s.rec.is_none() && !s.resumed => s.rec = Some(rec),
            _ => self.open_session(Some(rec), String::new(), None),
        }
        self.sessions.len() - 1
    }
}
