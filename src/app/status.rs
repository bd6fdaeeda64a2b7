//! The status line's text (the quit wait, a question, or the latest notice) and how many
//! rows it needs: a notice that does not fit in one row wraps onto a second, taken from
//! the transcript while it is shown ("live text turned off: …" lost its end at 80 columns).

use super::layout::wrap_runs;
use super::{App, NoticeLevel, RecState};

/// At most this many rows: a longer message ends in `…` (the log has all of it).
pub const MAX_STATUS_ROWS: usize = 2;

impl App {
    /// What the status line says now, and how it is styled.
    pub fn status_text(&self) -> Option<(String, NoticeLevel)> {
        if self.quitting {
            let pending = self.pending();
            // The footer says how to quit at once; this line says what is being waited for.
            let text = match (self.state, pending) {
                (RecState::Idle, 0) => "quitting…".to_string(),
                (RecState::Idle, 1) => "waiting for 1 transcription…".to_string(),
                (RecState::Idle, n) => format!("waiting for {n} transcriptions…"),
                _ => "stopping the recording…".to_string(),
            };
            return Some((text, NoticeLevel::Warn));
        }
        if self.editor.is_some() {
            let text = "editing: Enter saves, Esc cancels (an emptied text deletes)";
            return Some((text.to_string(), NoticeLevel::Warn));
        }
        if let Some(search) = self.search.as_ref().filter(|s| s.typing) {
            return Some((format!("search: {}▏", search.query), NoticeLevel::Warn));
        }
        // A question waiting for an answer outranks a notice (which stays for later).
        if let Some(question) = self.resume_question() {
            return Some((question, NoticeLevel::Warn));
        }
        // A muted or clipping input is worth more than a notice, which stays for later.
        if self.state == RecState::Recording {
            match self.input_warning() {
                Some(super::InputWarning::Silent(s)) => {
                    let text =
                        format!("! no sound for {s} s: is the mic muted? (d picks another input)");
                    return Some((text, NoticeLevel::Warn));
                }
                Some(super::InputWarning::Clipping) => {
                    let text = "! clipping: lower the input gain".to_string();
                    return Some((text, NoticeLevel::Error));
                }
                None => {}
            }
        }
        let notice = self.notice.as_ref()?;
        let prefix = match notice.level {
            NoticeLevel::Info => "",
            NoticeLevel::Warn => "! ",
            NoticeLevel::Error => "error: ",
        };
        // Only the first line of a multi-line message; the log file has the rest.
        let first = notice.text.lines().next().unwrap_or_default();
        Some((format!("{prefix}{first}"), notice.level))
    }

    /// The status text wrapped at `width` columns (a space of margin on the left), at most
    /// [`MAX_STATUS_ROWS`] rows; empty when there is nothing to say.
    pub fn status_rows(&self, width: u16) -> Vec<String> {
        let Some((text, _)) = self.status_text() else {
            return Vec::new();
        };
        let width = usize::from(width).saturating_sub(1).max(1);
        let mut rows: Vec<String> = wrap_runs(&[(text, ())], width)
            .into_iter()
            .map(|runs| runs.into_iter().map(|(t, ())| t).collect::<String>())
            .collect();
        if rows.len() > MAX_STATUS_ROWS {
            rows.truncate(MAX_STATUS_ROWS);
            let last = rows.last_mut().expect("two rows");
            *last = super::layout::truncate(&format!("{last} …"), width);
        }
        rows
    }

    /// Rows the status line takes at `width`: one, or two while a long notice shows.
    pub fn status_height(&self, width: u16) -> u16 {
        self.status_rows(width).len().clamp(1, MAX_STATUS_ROWS) as u16
    }
}
