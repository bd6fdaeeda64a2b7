//! Where the transcript view is and which utterance is selected. Positions are in wrapped
//! lines, counted by the state's own layout ([`super::layout`]).

use super::{App, EntryKey, Scroll};

impl App {
    /// New text: mark it unseen when the user is not following.
    pub(super) fn content_changed(&mut self) {
        if matches!(self.scroll, Scroll::At(_)) {
            self.unseen = true;
        }
    }

    pub(super) fn follow(&mut self) {
        self.scroll = Scroll::Follow;
        self.unseen = false;
    }

    /// The first line shown now.
    fn top_line(&self) -> usize {
        let view = self.transcript_viewport();
        self.first_line(view.total, view.height)
    }

    /// Puts line `top` at the top of the view; at (or past) the end, follows again.
    fn scroll_to(&mut self, top: usize) {
        if top >= self.transcript_viewport().max_top() {
            self.follow();
        } else {
            self.scroll = Scroll::At(top);
        }
    }

    pub(super) fn scroll_by(&mut self, lines: i64) {
        let top = self.top_line();
        let magnitude = usize::try_from(lines.unsigned_abs()).unwrap_or(usize::MAX);
        let top = if lines < 0 {
            top.saturating_sub(magnitude)
        } else {
            top.saturating_add(magnitude)
        };
        self.scroll_to(top);
    }

    /// One screen up (`direction` < 0) or down, keeping one line of context.
    pub(super) fn page(&mut self, direction: i64) {
        let page = self.transcript_viewport().height.saturating_sub(1).max(1);
        let page = i64::try_from(page).unwrap_or(i64::MAX);
        self.scroll_by(direction.signum() * page);
    }

    pub(super) fn top(&mut self) {
        if self.transcript_viewport().max_top() > 0 {
            self.scroll = Scroll::At(0);
        }
    }

    /// Moves the selection one utterance back (`step` < 0) or forward. With nothing selected,
    /// back selects the newest; forward past the newest clears the selection (back to "the
    /// last one") and follows the new text again.
    pub(super) fn select_step(&mut self, step: i64) {
        let keys = self.history.keys();
        let current = self
            .selected
            .and_then(|key| keys.iter().position(|k| *k == key));
        let next = match (current, step < 0) {
            (None, true) => keys.len().checked_sub(1),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) => Some(i + 1).filter(|&i| i < keys.len()),
        };
        match next {
            Some(i) => {
                self.selected = Some(keys[i]);
                self.reveal(keys[i]);
            }
            None => {
                if self.selected.take().is_some() {
                    self.follow();
                } else {
                    self.dirty = false;
                }
            }
        }
    }

    /// Scrolls just enough for all of `key`'s lines to be on screen (its first line when it
    /// is taller than the view).
    pub(super) fn reveal(&mut self, key: EntryKey) {
        let Some(lines) = self.entry_lines(key) else {
            return;
        };
        let height = self.transcript_viewport().height;
        let top = self.top_line();
        if lines.start < top {
            self.scroll_to(lines.start);
        } else if lines.end > top + height {
            let bottom_aligned = lines.end.saturating_sub(height);
            self.scroll_to(bottom_aligned.min(lines.start));
        }
    }

    /// A click on the transcript selects the utterance under it; elsewhere it does nothing.
    pub(super) fn click(&mut self, column: u16, row: u16) {
        if self.overlay.is_some() {
            self.dirty = false;
            return;
        }
        match self.entry_at(column, row) {
            Some(key) => self.selected = Some(key),
            None => self.dirty = false,
        }
    }

    /// Drops a selection whose utterance is gone (a discarded blip).
    pub(super) fn forget_missing_selection(&mut self) {
        if let Some(key) = self.selected
            && self.history.get(key).is_none()
        {
            self.selected = None;
        }
    }
}
