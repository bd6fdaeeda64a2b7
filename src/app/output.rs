//! Getting text out: copying an utterance or the whole transcript, and exporting a session to
//! a file. The app decides what the text is and where it goes; the shell does the I/O and
//! answers with [`super::Msg::Copied`] / [`super::Msg::Written`], which end up in the status
//! line.

use std::path::{Path, PathBuf};

use super::{App, Effect, EntryKey, NoticeLevel, Overlay, Session};
use crate::export::{self, Format};
use crate::prose::Said;

impl App {
    /// Copies the selected utterance, or the newest finished one when none is selected.
    pub(super) fn copy(&mut self) -> Vec<Effect> {
        let chosen = match self.selected {
            Some(key) => match self.history.get(key) {
                Some(entry) => match entry.text() {
                    Some(text) => Some((key, text)),
                    None => {
                        self.set_notice(
                            NoticeLevel::Warn,
                            "the selected utterance has no text (yet)".into(),
                        );
                        return vec![];
                    }
                },
                None => None,
            },
            None => self.history.last_done(),
        };
        let Some((key, text)) = chosen else {
            self.set_notice(NoticeLevel::Warn, "nothing to copy yet".into());
            return vec![];
        };
        let what = match self.selected {
            Some(_) => self.utterance_label(key),
            None => "the last utterance".to_string(),
        };
        vec![Effect::Copy {
            text: text.to_string(),
            what,
        }]
    }

    /// Copies every finished utterance of every session, one per line, a blank line between
    /// sessions.
    pub(super) fn copy_all(&mut self) -> Vec<Effect> {
        let sessions: Vec<String> = self
            .history
            .sessions()
            .iter()
            .map(|s| self.session_text(s))
            .filter(|text| !text.is_empty())
            .collect();
        if sessions.is_empty() {
            self.set_notice(NoticeLevel::Warn, "nothing to copy yet".into());
            return vec![];
        }
        vec![Effect::Copy {
            text: sessions.join("\n\n"),
            what: "the whole transcript".into(),
        }]
    }

    /// A session's text as the txt export lays it out: paragraphs, spoken commands applied,
    /// deleted utterances left out.
    fn session_text(&self, s: &super::history::Session) -> String {
        let said: Vec<Said<'_>> = s
            .entries
            .iter()
            .filter_map(|(&id, e)| {
                let text = e.text()?;
                Some(Said {
                    id,
                    span: e.span,
                    text,
                })
            })
            .collect();
        let prose = crate::prose::compose(&said, &self.prose);
        let paragraphs: Vec<String> = prose.paragraphs.iter().map(|p| p.text()).collect();
        paragraphs.join("\n\n")
    }

    /// `copy_on_stop`: once the stopped session `copy_when_done` has all its texts, copies
    /// them (what was said is on the clipboard the moment it is all there).
    pub(super) fn copy_when_done(&mut self) -> Vec<Effect> {
        let Some(index) = self.copy_when_done else {
            return vec![];
        };
        let Some(session) = self.history.sessions().get(index) else {
            self.copy_when_done = None;
            return vec![];
        };
        if session.entries.values().any(|e| e.state.is_pending()) {
            return vec![];
        }
        self.copy_when_done = None;
        let text = self.session_text(session);
        if text.is_empty() {
            return vec![];
        }
        vec![Effect::Copy {
            text,
            what: format!("session {}'s text", session.number),
        }]
    }

    pub(super) fn copied(&mut self, what: &str, chars: usize, tools: &[String], errors: &[String]) {
        let via = if tools.is_empty() {
            "via the terminal (OSC 52)".to_string()
        } else {
            format!("via {} and OSC 52", tools.join(", "))
        };
        let mut text = format!("copied {what} ({chars} characters) {via}");
        let level = if errors.is_empty() {
            NoticeLevel::Info
        } else {
            text.push_str(&format!("; failed: {}", errors.join(", ")));
            NoticeLevel::Warn
        };
        self.set_notice(level, text);
    }

    /// The session an export takes: the selected utterance's, else the newest one with text.
    fn export_session(&self) -> Option<usize> {
        if let Some(key) = self.selected {
            return Some(key.session);
        }
        let sessions = self.history.sessions();
        sessions
            .iter()
            .rposition(|s| s.entries.values().any(|e| e.text().is_some()))
    }

    /// Opens the format list, or says why there is nothing to export.
    pub(super) fn open_export(&mut self) {
        match self.export_session() {
            Some(_) => {
                self.overlay = Some(Overlay::Export {
                    cursor: self.export_format.min(Format::ALL.len() - 1),
                });
            }
            None => self.set_notice(NoticeLevel::Warn, "nothing to export yet".into()),
        }
    }

    /// Exports the session to `transcript.EXT` in its folder (next to its audio), replacing
    /// an earlier export of the same format: re-exporting after more text arrived updates it.
    pub(super) fn export(&mut self, format_index: usize) -> Vec<Effect> {
        self.overlay = None;
        let Some(format) = Format::ALL.get(format_index).copied() else {
            return vec![];
        };
        self.export_format = format_index;
        let Some(session) = self
            .export_session()
            .and_then(|i| self.history.sessions().get(i))
        else {
            self.set_notice(NoticeLevel::Warn, "nothing to export yet".into());
            return vec![];
        };
        let Some(dir) = session.dir.clone() else {
            self.set_notice(
                NoticeLevel::Error,
                "this session has no folder to export into".into(),
            );
            return vec![];
        };
        let (doc, pending) = export_doc(session, &dir, &self.prose);
        let mut note = super::resume::utterances(doc.utterances.len());
        if pending > 0 {
            note.push_str(&format!(", {pending} still pending left out"));
        }
        vec![Effect::Write {
            path: dir.join(format!("transcript.{}", format.ext())),
            contents: export::render(&doc, format),
            note,
        }]
    }

    pub(super) fn written(&mut self, path: &Path, result: Result<(), String>, note: &str) {
        match result {
            Ok(()) => self.set_notice(
                NoticeLevel::Info,
                format!("exported to {} ({note})", short_path(path, SHORT_PATH)),
            ),
            Err(err) => self.set_notice(
                NoticeLevel::Error,
                format!("export to {} failed: {err}", path.display()),
            ),
        }
    }

    /// `3` or `2.3` (session 2's utterance 3) when there are several sessions.
    /// The utterance as the screen shows it: by its time (ids are never on screen; "copied
    /// utterance 37" named one the user could not find).
    fn utterance_label(&self, key: EntryKey) -> String {
        let sessions = self.history.sessions();
        let at = self
            .history
            .get(key)
            .map_or_else(String::new, |e| super::layout::clock(e.span.start_s));
        if sessions.len() > 1 {
            format!("the utterance at {at} of session {}", key.session + 1)
        } else {
            format!("the utterance at {at}")
        }
    }
}

/// The finished utterances of `session`, and how many are still pending (left out).
fn export_doc(
    session: &Session,
    dir: &Path,
    prose: &crate::prose::ProseConfig,
) -> (export::Doc, usize) {
    let utterances = session
        .entries
        .iter()
        .filter_map(|(&id, e)| {
            Some(export::Utterance {
                id,
                start: e.span.start_s,
                end: e.span.end_s,
                text: e.text()?.to_string(),
            })
        })
        .collect();
    let pending = session
        .entries
        .values()
        .filter(|e| e.state.is_pending())
        .count();
    let doc = export::Doc {
        session: session.number,
        input: session.input.clone(),
        folder: PathBuf::from(dir).display().to_string(),
        utterances,
        prose: prose.clone(),
    };
    (doc, pending)
}

/// Characters of a path in a notice: "exported to …" and its note fit in 80 columns.
const SHORT_PATH: usize = 48;

/// `path` in at most `max` characters, its middle left out (`/home/…/2026-11-25T21-10-58/
/// transcript.md`): the file and its session folder are what say which export it was; the
/// whole path is in `?` (the session folder).
pub fn short_path(path: &Path, max: usize) -> String {
    let full = path.display().to_string();
    if full.chars().count() <= max {
        return full;
    }
    let parts: Vec<&str> = full.split('/').collect();
    let tail = parts[parts.len().saturating_sub(2)..].join("/");
    let head = parts.iter().take(2).copied().collect::<Vec<_>>().join("/");
    let with_head = format!("{head}/…/{tail}");
    if parts.len() > 4 && with_head.chars().count() <= max {
        return with_head;
    }
    let tail_only = format!("…/{tail}");
    if tail_only.chars().count() <= max {
        return tail_only;
    }
    // A file name longer than the room: its end, which has the extension.
    let name = parts.last().copied().unwrap_or_default();
    let keep: String = name.chars().rev().take(max.saturating_sub(1)).collect();
    format!("…{}", keep.chars().rev().collect::<String>())
}

#[cfg(test)]
mod short_path_tests {
    use super::*;

    #[test]
    fn keeps_the_file_and_its_folder() {
        let p =
            Path::new("/home/ann/.local/share/recorder/sessions/2026-11-25T21-10-58/transcript.md");
        assert_eq!(
            short_path(p, 48),
            "/home/…/2026-11-25T21-10-58/transcript.md"
        );
        assert_eq!(short_path(p, 36), "…/2026-11-25T21-10-58/transcript.md");
        assert_eq!(
            short_path(Path::new("/tmp/s/transcript.srt"), 48),
            "/tmp/s/transcript.srt"
        );
        let long = short_path(Path::new("/a/b/c/a-very-long-file-name-indeed.md"), 12);
        assert_eq!(long, "…e-indeed.md");
        assert!(short_path(p, 48).chars().count() <= 48);
    }
}
