//! Working on the transcript: `Enter` edits the selected utterance in place, `x` deletes it
//! from the visible transcript (`u` brings the last one back), `/` searches the text and
//! `n`/`N` jump between matches, `P` plays the selected utterance's audio. Edits and deletes
//! go into the session's journal (`edited`, `deleted`, `restored`), so exports and
//! `sessions show` use them; the first texts stay there beside them.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, EntryKey, NoticeLevel};
use crate::app::msg::Effect;
use crate::session::Entry;

/// An utterance's text being edited: the text so far and the cursor (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    pub key: EntryKey,
    pub text: String,
    pub cursor: usize,
}

impl Editor {
    /// The text with the cursor drawn in it (`▏`: visible without colour, and in a copy of
    /// the screen).
    pub fn shown(&self) -> String {
        let mut out: String = self.text.chars().take(self.cursor).collect();
        out.push('▏');
        out.extend(self.text.chars().skip(self.cursor));
        out
    }

    fn byte(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Applies an editing key; false for a key that is not one.
    fn key(&mut self, code: KeyCode) -> bool {
        let len = self.text.chars().count();
        match code {
            KeyCode::Char(c) => {
                let at = self.byte(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

/// A search: the query being typed, or the one whose matches `n`/`N` step through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    /// Still typing the query (the status line shows it as a prompt).
    pub typing: bool,
}

impl App {
    /// Keys for the editor or the search prompt, which take every key while open.
    pub(super) fn prompt_key(&mut self, key: KeyEvent) -> Option<Vec<Effect>> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(editor) = &mut self.editor {
            return Some(match key.code {
                KeyCode::Esc => {
                    self.editor = None;
                    self.set_notice(NoticeLevel::Info, "edit cancelled".into());
                    vec![]
                }
                KeyCode::Enter => self.commit_edit(),
                KeyCode::Char('c') if ctrl => {
                    self.editor = None;
                    return None;
                }
                code => {
                    editor.key(code);
                    vec![]
                }
            });
        }
        let search = self.search.as_mut().filter(|s| s.typing)?;
        Some(match key.code {
            KeyCode::Esc => {
                self.search = None;
                vec![]
            }
            KeyCode::Enter => {
                search.typing = false;
                if search.query.trim().is_empty() {
                    self.search = None;
                } else {
                    self.jump_to_match(1, true);
                }
                vec![]
            }
            KeyCode::Backspace => {
                search.query.pop();
                vec![]
            }
            KeyCode::Char('c') if ctrl => {
                self.search = None;
                return None;
            }
            KeyCode::Char(c) => {
                search.query.push(c);
                vec![]
            }
            _ => vec![],
        })
    }

    /// `Enter`: edit the selected utterance's text in place.
    pub(super) fn start_edit(&mut self) {
        let Some(key) = self.selected else {
            self.set_notice(
                NoticeLevel::Warn,
                "select an utterance to edit first ([ and ])".into(),
            );
            return;
        };
        let Some(text) = self.history.get(key).and_then(|e| e.text()) else {
            self.set_notice(NoticeLevel::Warn, "it has no text to edit (yet)".into());
            return;
        };
        let text = text.to_string();
        self.editor = Some(Editor {
            key,
            cursor: text.chars().count(),
            text,
        });
        self.reveal(key);
    }

    fn commit_edit(&mut self) -> Vec<Effect> {
        let Some(editor) = self.editor.take() else {
            return vec![];
        };
        let text = editor.text.trim().to_string();
        let unchanged = self.history.get(editor.key).and_then(|e| e.text()) == Some(&text);
        if unchanged {
            return vec![];
        }
        if text.is_empty() {
            // An emptied text is a delete, which can be undone; an empty edit could not.
            self.selected = Some(editor.key);
            return self.delete_selected();
        }
        if !self.history.edit(editor.key, &text) {
            return vec![];
        }
        self.set_notice(NoticeLevel::Info, "edited (the journal keeps both)".into());
        self.journal(
            editor.key,
            Entry::Edited {
                id: editor.key.id,
                text,
            },
        )
    }

    /// `x`: removes the selected utterance from the transcript (and its copies and exports).
    pub(super) fn delete_selected(&mut self) -> Vec<Effect> {
        let Some(key) = self.selected else {
            self.set_notice(
                NoticeLevel::Warn,
                "select an utterance to delete first ([ and ])".into(),
            );
            return vec![];
        };
        if self.history.get(key).is_some_and(|e| e.state.is_pending()) {
            self.set_notice(NoticeLevel::Warn, "it is still being transcribed".into());
            return vec![];
        }
        // The next one is selected, so `x` `x` deletes a run of them.
        let keys = self.history.keys();
        let after = keys.iter().position(|k| *k == key).and_then(|i| {
            keys.get(i + 1)
                .or_else(|| i.checked_sub(1).and_then(|j| keys.get(j)))
        });
        self.selected = after.copied();
        if self.history.toggle_deleted(key) != Some(true) {
            return vec![];
        }
        self.deleted.push(key);
        let undo = self.keys.label(super::Action::Undelete).unwrap_or_default();
        self.set_notice(
            NoticeLevel::Info,
            format!("deleted ({undo} brings it back)"),
        );
        self.journal(key, Entry::Deleted { id: key.id })
    }

    /// `u`: brings back the utterance deleted last.
    pub(super) fn undelete(&mut self) -> Vec<Effect> {
        let Some(key) = self.deleted.pop() else {
            self.set_notice(NoticeLevel::Warn, "nothing deleted to bring back".into());
            return vec![];
        };
        if self.history.toggle_deleted(key) != Some(false) {
            return vec![];
        }
        self.selected = Some(key);
        self.reveal(key);
        self.set_notice(NoticeLevel::Info, "brought back".into());
        self.journal(key, Entry::Restored { id: key.id })
    }

    /// `/`: opens the search prompt on the status line.
    pub(super) fn start_search(&mut self) {
        self.search = Some(Search {
            query: String::new(),
            typing: true,
        });
    }

    /// The shown utterances whose text holds the query (any case), in order.
    pub fn matches(&self) -> Vec<EntryKey> {
        let Some(query) = self.search.as_ref().map(|s| s.query.trim().to_lowercase()) else {
            return vec![];
        };
        if query.is_empty() {
            return vec![];
        }
        self.history
            .keys()
            .into_iter()
            .filter(|&k| {
                self.history
                    .get(k)
                    .and_then(|e| e.text())
                    .is_some_and(|t| t.to_lowercase().contains(&query))
            })
            .collect()
    }

    /// `n` (`step` 1) / `N` (-1): selects the next / previous match, wrapping around;
    /// `from_start`: the first match at or after the selection.
    pub(super) fn jump_to_match(&mut self, step: i64, from_start: bool) {
        let matches = self.matches();
        if matches.is_empty() {
            let query = self
                .search
                .as_ref()
                .map(|s| s.query.clone())
                .unwrap_or_default();
            self.set_notice(NoticeLevel::Warn, format!("no match for \"{query}\""));
            return;
        }
        let n = matches.len();
        let next = match self
            .selected
            .and_then(|s| matches.iter().position(|m| *m == s))
        {
            Some(i) if !from_start => (i as i64 + step).rem_euclid(n as i64) as usize,
            Some(i) => i,
            None if step < 0 => n - 1,
            None => 0,
        };
        let key = matches[next];
        self.selected = Some(key);
        self.reveal(key);
        let keys = format!(
            "{}/{}",
            self.keys
                .label(super::Action::NextMatch)
                .unwrap_or_default(),
            self.keys
                .label(super::Action::PrevMatch)
                .unwrap_or_default()
        );
        self.set_notice(
            NoticeLevel::Info,
            format!("match {} of {n} ({keys}: next/previous)", next + 1),
        );
    }

    /// `P`: plays the selected utterance's audio (else the last one's).
    pub(super) fn play(&mut self) -> Vec<Effect> {
        let key = self
            .selected
            .or_else(|| self.history.last_done().map(|(k, _)| k));
        let Some(key) = key else {
            self.set_notice(NoticeLevel::Warn, "nothing to play yet".into());
            return vec![];
        };
        let Some(dir) = self
            .history
            .sessions()
            .get(key.session)
            .and_then(|s| s.dir.clone())
        else {
            self.set_notice(NoticeLevel::Warn, "its audio is not on disk".into());
            return vec![];
        };
        let start = self.history.get(key).map_or(0.0, |e| e.span.start_s);
        vec![Effect::Play {
            wav: dir.join(key.id.wav_name()),
            what: format!("the utterance at {}", super::layout::clock(start)),
        }]
    }

    /// The journal entry for an utterance of session `key.session` (nothing for a session
    /// whose folder is not known).
    fn journal(&self, key: EntryKey, entry: Entry) -> Vec<Effect> {
        match self
            .history
            .sessions()
            .get(key.session)
            .and_then(|s| s.dir.clone())
        {
            Some(dir) => vec![Effect::Journal { dir, entry }],
            None => vec![],
        }
    }
}
