//! The screen's geometry and the transcript's layout, owned by the state: every wrapped line
//! of the transcript pane and the utterance it shows, at the pane's width. `ui` draws from
//! it (giving each [`Tone`] a style) and `app` asks it scroll and click positions, so the
//! state never asks the drawing code. Kept in [`App`] and rebuilt only when the history, the
//! recording state or the width changes: before, scrolling or selecting re-wrapped the whole
//! history about four times per key, and drawing once more per frame at 20 fps.

use std::ops::Range;
use std::sync::Arc;

use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::text::Span;

use super::{Action, App, EntryKey, EntryState, RecState, Row, Scroll, Session};

/// Width of the `[mm:ss] ` prefix; wrapped lines are indented by as much.
pub const PREFIX: usize = 8;

/// What a piece of text is; the drawing code gives each its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// `● listening…` and the speech dot.
    Speech,
    /// Queued or being transcribed.
    Pending,
    Dim,
    /// Final text.
    Text,
    Error,
    /// Live text the passes agree on.
    Stable,
    /// Live text that may still change.
    Tentative,
    /// The text being edited, with its cursor.
    Editing,
}

/// Text in one tone; an utterance's body is one or more of them (live text mixes tones).
pub type Run = (String, Tone);

/// One line of the transcript pane.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Blank,
    /// `── session N · input ` and how many `─` fill the rest of the width.
    Heading {
        text: String,
        fill: usize,
    },
    /// One line of an utterance: its `[mm:ss]` stamp on the first, then the body's runs.
    /// `settled`: the text is the settle pass's (its stamp says so).
    Utterance {
        key: EntryKey,
        stamp: Option<String>,
        runs: Vec<Run>,
        settled: bool,
    },
    /// What to do when there is nothing to show yet.
    Hint(String),
}

impl Line {
    pub fn key(&self) -> Option<EntryKey> {
        match self {
            Line::Utterance { key, .. } => Some(*key),
            _ => None,
        }
    }
}

/// The transcript's scrollable extent, in wrapped lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    /// Lines the whole transcript takes at the current width.
    pub total: usize,
    /// Lines that fit on screen.
    pub height: usize,
}

impl Viewport {
    /// The largest useful top line: the one that shows the newest line at the bottom.
    pub fn max_top(&self) -> usize {
        self.total.saturating_sub(self.height)
    }
}

/// Every line of the transcript at one width.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    pub width: usize,
    pub lines: Vec<Line>,
}

/// What a cached layout was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Built {
    revision: u64,
    width: usize,
    state: RecState,
    editor: Option<super::edit::Editor>,
}

/// The last layout built and what from (see the module comment).
#[derive(Debug, Clone, Default)]
pub struct LayoutCache(std::cell::RefCell<Option<(Built, Arc<Layout>)>>);

impl Layout {
    /// Wraps the whole transcript of `app` to `width` cells.
    pub fn build(app: &App, width: usize) -> Layout {
        let mut lines: Vec<Line> = Vec::new();
        let mut marks = Marks::default();
        for row in app.history.rows() {
            match row {
                Row::Heading(session) => {
                    if !lines.is_empty() {
                        lines.push(Line::Blank);
                    }
                    lines.push(heading(session, width));
                    marks = Marks::of(session, &app.prose);
                }
                Row::Utterance {
                    key,
                    entry,
                    queue_pos,
                } => {
                    if marks.paragraph_starts.contains(&key.id) {
                        lines.push(Line::Blank);
                    }
                    let mut status = body(&entry.state, queue_pos);
                    if marks.left_out.contains(&key.id) {
                        // A spoken command, or what "scratch that" took back: left out of
                        // copies and exports, shown dimmed so the speaker sees it was heard.
                        status.1 = Tone::Dim;
                    }
                    let editing = app.editor.as_ref().filter(|e| e.key == key);
                    if let Some(editor) = editing {
                        status = (editor.shown(), Tone::Editing);
                    }
                    let runs = match &entry.interim {
                        _ if editing.is_some() => None,
                        Some((stable, tentative)) if entry.state.is_pending() => {
                            live(&entry.state, stable, tentative)
                        }
                        _ => None,
                    }
                    .map_or_else(
                        || vec![status.clone()],
                        |mut runs| {
                            // Closed but not final yet: the live text stays, followed by what
                            // it waits for, so it is not mistaken for the final text.
                            if !matches!(entry.state, EntryState::Listening) {
                                runs.push(("·".into(), Tone::Dim));
                                runs.push(status.clone());
                            }
                            runs
                        },
                    );
                    let body_width = width.saturating_sub(PREFIX).max(1);
                    for (i, runs) in wrap_runs(&runs, body_width).into_iter().enumerate() {
                        let stamp = (i == 0).then(|| format!("[{}]", clock(entry.span.start_s)));
                        let settled = entry.settled;
                        lines.push(Line::Utterance {
                            key,
                            stamp,
                            runs,
                            settled,
                        });
                    }
                }
            }
        }
        if let Some(hint) = hint(app) {
            // Wrapped, not cut: at 40 columns the start-up hint lost its second half.
            for row in wrap_runs(&[(hint, ())], width.max(1)) {
                lines.push(Line::Hint(row.into_iter().map(|(t, _)| t).collect()));
            }
        }
        Layout { width, lines }
    }

    /// The lines (from the top of the whole transcript) that utterance `key` takes.
    pub fn entry_lines(&self, key: EntryKey) -> Option<Range<usize>> {
        let start = self.lines.iter().position(|l| l.key() == Some(key))?;
        let len = self.lines[start..]
            .iter()
            .take_while(|l| l.key() == Some(key))
            .count();
        Some(start..start + len)
    }
}

impl App {
    /// The transcript's layout at `width` (the cached one when nothing it depends on changed).
    pub fn layout_at(&self, width: usize) -> Arc<Layout> {
        let built = Built {
            revision: self.history.revision(),
            width,
            state: self.state,
            editor: self.editor.clone(),
        };
        let mut cache = self.layout_cache.0.borrow_mut();
        match &*cache {
            Some((b, layout)) if *b == built => layout.clone(),
            _ => {
                let layout = Arc::new(Layout::build(self, width));
                *cache = Some((built, layout.clone()));
                layout
            }
        }
    }

    /// The layout at the width of the terminal the app last heard of.
    pub fn layout(&self) -> Arc<Layout> {
        self.layout_at(usize::from(self.transcript_area().width))
    }

    /// The whole screen at the size the app last heard of.
    pub fn screen(&self) -> Rect {
        let (width, height) = self.size;
        Rect::new(0, 0, width, height)
    }

    /// The transcript's extent; what scrolling needs.
    pub fn transcript_viewport(&self) -> Viewport {
        Viewport {
            total: self.layout().lines.len(),
            height: usize::from(transcript_inner(self.transcript_area()).height),
        }
    }

    /// The first transcript line shown, for `total` lines in a view `height` lines tall.
    pub fn first_line(&self, total: usize, height: usize) -> usize {
        let view = Viewport { total, height };
        match self.scroll {
            Scroll::Follow => view.max_top(),
            Scroll::At(top) => top.min(view.max_top()),
        }
    }

    /// The lines of the whole transcript that utterance `key` takes.
    pub fn entry_lines(&self, key: EntryKey) -> Option<Range<usize>> {
        self.layout().entry_lines(key)
    }

    /// The utterance drawn at screen cell (`column`, `row`), if any.
    pub fn entry_at(&self, column: u16, row: u16) -> Option<EntryKey> {
        let area = self.transcript_area();
        let inner = transcript_inner(area);
        if column >= area.x + area.width || row < inner.y || row >= inner.y + inner.height {
            return None;
        }
        let layout = self.layout();
        let top = self.first_line(layout.lines.len(), usize::from(inner.height));
        layout.lines.get(top + usize::from(row - inner.y))?.key()
    }
}

/// The screen's panes, top to bottom: header, meter, transcript, status (`status_rows`
/// tall: see `App::status_height`), footer.
pub fn areas(screen: Rect, status_rows: u16) -> [Rect; 5] {
    Split::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(status_rows),
        Constraint::Length(1),
    ])
    .areas(screen)
}

impl App {
    /// The panes at the size the app last heard of.
    pub fn areas(&self) -> [Rect; 5] {
        areas(self.screen(), self.status_height(self.size.0))
    }

    fn transcript_area(&self) -> Rect {
        self.areas()[2]
    }
}

/// The transcript pane below its top rule (one line).
pub fn transcript_inner(area: Rect) -> Rect {
    Rect {
        y: area.y.saturating_add(1).min(area.y + area.height),
        height: area.height.saturating_sub(1),
        ..area
    }
}

/// How a session's final texts join into prose (`crate::prose`): the utterances that start
/// a paragraph after the first (a blank line goes before them), and those left out.
#[derive(Debug, Default)]
struct Marks {
    paragraph_starts: std::collections::BTreeSet<crate::vocab::UtteranceId>,
    left_out: std::collections::BTreeSet<crate::vocab::UtteranceId>,
}

impl Marks {
    fn of(session: &Session, cfg: &crate::prose::ProseConfig) -> Marks {
        let said: Vec<crate::prose::Said<'_>> = session
            .entries
            .iter()
            .filter_map(|(&id, e)| {
                Some(crate::prose::Said {
                    id,
                    span: e.span,
                    text: e.text()?,
                })
            })
            .collect();
        let prose = crate::prose::compose(&said, cfg);
        Marks {
            paragraph_starts: prose
                .paragraphs
                .iter()
                .skip(1)
                .filter_map(|p| p.utterances().next().map(|s| s.id))
                .collect(),
            left_out: prose.left_out.into_iter().collect(),
        }
    }
}

/// What to say when there is nothing to show yet.
fn hint(app: &App) -> Option<String> {
    let newest_empty = app
        .history
        .sessions()
        .last()
        .is_none_or(|s| s.entries.is_empty());
    match app.state {
        RecState::Idle if app.no_input.is_some() => {
            let pick = app.keys.label(Action::PickDevice).unwrap_or_default();
            let reason = app.no_input.as_deref().unwrap_or_default();
            Some(format!(
                "No input can be opened: {reason}. Press {pick} to pick a device, or start \
                 recorder with --input FILE.wav to play a file."
            ))
        }
        RecState::Idle if app.history.sessions().is_empty() => {
            let keys = app.keys.labels(Action::ToggleRecording).join(" or ");
            let help = app.keys.label(Action::ToggleHelp).unwrap_or_default();
            Some(format!(
                "Press {keys} to start recording; {help} lists every key."
            ))
        }
        RecState::Recording if newest_empty => {
            Some("Listening: speak and the text appears here.".into())
        }
        _ => None,
    }
}

/// `── session 2 · input ─────` across the pane.
fn heading(session: &Session, width: usize) -> Line {
    let mut text = format!("── session {} ", session.number);
    if !session.input.is_empty() {
        text.push_str(&format!("· {} ", session.input));
    }
    let text = truncate(&text, width);
    let fill = width.saturating_sub(text_width(&text));
    Line::Heading { text, fill }
}

/// The text shown for an utterance and its tone.
fn body(state: &EntryState, queue_pos: Option<usize>) -> Run {
    match state {
        EntryState::Listening => ("● listening…".into(), Tone::Speech),
        EntryState::Queued => match queue_pos {
            Some(pos) => (format!("queued (#{pos})"), Tone::Pending),
            None => ("queued".into(), Tone::Pending),
        },
        EntryState::Transcribing => ("transcribing…".into(), Tone::Pending),
        EntryState::Done(text) if text.is_empty() => ("(no speech)".into(), Tone::Dim),
        EntryState::Done(text) => (text.clone(), Tone::Text),
        EntryState::Failed(reason) => (format!("✗ failed: {reason}"), Tone::Error),
    }
}

/// Live text of a pending utterance: the stable words, the tentative rest set further apart
/// and ending in `…` (the marker that survives NO_COLOR and a copy of the screen). While the
/// utterance is still being spoken it starts with `●`; once closed the caller adds what it
/// waits for. `None` when no pass has heard a word yet.
fn live(state: &EntryState, stable: &str, tentative: &str) -> Option<Vec<Run>> {
    let (stable, tentative) = (stable.trim(), tentative.trim());
    if stable.is_empty() && tentative.is_empty() {
        return None;
    }
    let mut runs = Vec::new();
    if matches!(state, EntryState::Listening) {
        runs.push(("●".to_string(), Tone::Speech));
    }
    if !stable.is_empty() {
        runs.push((stable.to_string(), Tone::Stable));
    }
    // whisper ends a trailing-off phrase with its own "..." ("And..."): one marker, not two.
    let tentative = tentative.trim_end_matches(['.', '…']).trim_end();
    if !tentative.is_empty() {
        runs.push((format!("{tentative}…"), Tone::Tentative));
    }
    Some(runs)
}

/// Greedy word wrap to `width` cells over runs of text in different tones; words longer than
/// a line are split. Neighbouring words of one tone share a piece. Always at least one
/// (possibly empty) line.
pub fn wrap_runs<T: Copy + PartialEq>(runs: &[(String, T)], width: usize) -> Vec<Vec<(String, T)>> {
    fn put<T: PartialEq>(line: &mut Vec<(String, T)>, text: &str, tone: T) {
        match line.last_mut() {
            Some((last, t)) if *t == tone => last.push_str(text),
            _ => line.push((text.to_string(), tone)),
        }
    }
    let mut lines = Vec::new();
    let mut line: Vec<(String, T)> = Vec::new();
    let mut used = 0;
    for (text, tone) in runs {
        let tone = *tone;
        for word in text.split_whitespace() {
            let w = text_width(word);
            if used > 0 && used + 1 + w <= width {
                put(&mut line, " ", tone);
                put(&mut line, word, tone);
                used += 1 + w;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            for ch in word.chars() {
                let cw = char_width(ch);
                if used > 0 && used + cw > width {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                put(&mut line, ch.encode_utf8(&mut [0; 4]), tone);
                used += cw;
            }
        }
    }
    if used > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Display width of `s` in terminal cells.
pub fn text_width(s: &str) -> usize {
    Span::raw(s).width()
}

pub fn char_width(ch: char) -> usize {
    text_width(ch.encode_utf8(&mut [0; 4]))
}

/// `s` cut to `width` cells, ending in `…` when anything was cut.
pub fn truncate(s: &str, width: usize) -> String {
    if text_width(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let w = char_width(ch);
        if used + w + 1 > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// A duration as `mm:ss` (minutes grow past 59 rather than adding hours).
pub fn clock(seconds: f64) -> String {
    // Truncation is the point: 59.9 s is still 00:59.
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`wrap_runs`] of plain text, as strings.
    fn wrap(text: &str, width: usize) -> Vec<String> {
        wrap_runs(&[(text.to_string(), Tone::Text)], width)
            .into_iter()
            .map(|runs| runs.into_iter().map(|(t, _)| t).collect())
            .collect()
    }

    #[test]
    fn runs_in_different_tones_wrap_as_one_text() {
        let (a, b) = (Tone::Stable, Tone::Tentative);
        let lines = wrap_runs(&[("one two".into(), a), ("three four…".into(), b)], 9);
        assert_eq!(
            lines,
            [
                vec![("one two".to_string(), a)],
                vec![("three".to_string(), b)],
                vec![("four…".to_string(), b)],
            ]
        );
        let lines = wrap_runs(&[("one".into(), a), ("two".into(), b)], 20);
        assert_eq!(
            lines,
            [vec![("one".to_string(), a), (" two".to_string(), b)]]
        );
    }

    #[test]
    fn live_text_ends_in_one_ellipsis() {
        // whisper's own "..." on a trailing-off phrase showed as "● And...…".
        let runs = live(&EntryState::Listening, "", "And...").unwrap();
        let text: String = runs.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(text, "●And…");
        let runs = live(&EntryState::Listening, "So the plan", "is…").unwrap();
        assert_eq!(runs.last().unwrap().0, "is…");
    }

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(wrap("the quick brown fox", 10), ["the quick", "brown fox"]);
        assert_eq!(wrap("  spaced   out  ", 20), ["spaced out"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn splits_words_longer_than_a_line() {
        assert_eq!(wrap("abcdefghij xy", 4), ["abcd", "efgh", "ij", "xy"]);
    }

    #[test]
    fn counts_wide_characters_by_cells() {
        assert_eq!(wrap("日本語 です", 6), ["日本語", "です"]);
    }

    #[test]
    fn the_layout_is_rebuilt_only_when_what_it_shows_changes() {
        let mut app = App::new("m", false);
        app.size = (80, 24);
        let first = app.layout();
        assert!(
            Arc::ptr_eq(&first, &app.layout()),
            "unchanged: the same layout"
        );
        let rec = crate::vocab::RecordingId(1);
        app.history.open_session(Some(rec), "mic".into(), None);
        app.history.open(rec, crate::vocab::UtteranceId(1), 0.0);
        let second = app.layout();
        assert!(!Arc::ptr_eq(&first, &second), "new history: a new layout");
        app.size = (40, 24);
        assert_eq!(app.layout().width, 40);
    }
}
