//! Drawing. [`draw`] is a pure function of the [`App`]: it reads the state and fills the frame,
//! one pane per module. The screen, top to bottom:
//!
//! ```text
//! header      state, clock, input, model, workers, queue
//! meter       level bar and speech indicator (empty when not recording)
//! transcript  one `[mm:ss] text` per utterance, sessions under their own headings
//! status      the notice line (errors, worker notices, the quit countdown)
//! footer      the keys that apply now
//! ```
//!
//! Every pane is one line except the transcript, so the layout holds from 80×24 down to
//! 40×12 by dropping the less important pieces of each line first. Overlays (help, device
//! list, export list) are boxes centred over it, scrolling when the screen is too small.

mod footer;
mod header;
mod help;
mod meter;
mod picker;
mod theme;
mod transcript;

#[cfg(test)]
mod tests;

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use crate::app::{App, EntryKey, Overlay};
pub use theme::Theme;

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

/// False when the NO_COLOR convention (<https://no-color.org>) asks for no colour.
pub fn color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let theme = Theme::new(app.color);
    let area = frame.area();
    let areas = Areas::new(area);
    let buf = frame.buffer_mut();
    header::render(app, &theme, areas.header, buf);
    meter::render(app, &theme, areas.meter, buf);
    transcript::render(app, &theme, areas.transcript, buf);
    footer::render_status(app, &theme, areas.status, buf);
    footer::render_keys(app, &theme, areas.footer, buf);
    match &app.overlay {
        Some(Overlay::Help { top }) => help::render(app, *top, &theme, area, buf),
        Some(Overlay::Devices(picker)) => picker::render_devices(app, picker, &theme, area, buf),
        Some(Overlay::Export { cursor }) => picker::render_export(app, *cursor, &theme, area, buf),
        None => {}
    }
}

/// The whole screen at the size the app last heard of.
fn screen(app: &App) -> Rect {
    let (width, height) = app.size;
    Rect::new(0, 0, width, height)
}

/// The transcript's extent for the terminal size the app last heard of; what scrolling needs.
pub fn transcript_viewport(app: &App) -> Viewport {
    transcript::viewport(app, Areas::new(screen(app)).transcript)
}

/// The lines of the whole transcript (as counted by [`Viewport`]) that utterance `key` takes.
pub fn entry_lines(app: &App, key: EntryKey) -> Option<Range<usize>> {
    transcript::entry_lines(app, Areas::new(screen(app)).transcript, key)
}

/// The utterance drawn at screen cell (`column`, `row`), if any.
pub fn entry_at(app: &App, column: u16, row: u16) -> Option<EntryKey> {
    let area = Areas::new(screen(app)).transcript;
    if column >= area.x + area.width {
        return None;
    }
    transcript::entry_at(app, area, row)
}

/// Help lines visible at once (what a page key moves).
pub fn help_page(app: &App) -> i64 {
    i64::from(help::visible_rows(app, screen(app)).max(1))
}

/// The largest useful first help line.
pub fn help_max_top(app: &App) -> usize {
    help::max_top(app, screen(app))
}

/// Where each pane goes.
struct Areas {
    header: Rect,
    meter: Rect,
    transcript: Rect,
    status: Rect,
    footer: Rect,
}

impl Areas {
    fn new(area: Rect) -> Self {
        let [header, meter, transcript, status, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        Self {
            header,
            meter,
            transcript,
            status,
            footer,
        }
    }
}

/// One piece of a one-line bar (header, footer). When the line is too wide, the pieces with the
/// highest `rank` go first, so the narrow screen keeps what matters most.
struct Piece {
    rank: u8,
    spans: Vec<Span<'static>>,
}

impl Piece {
    fn new(rank: u8, spans: Vec<Span<'static>>) -> Self {
        Self { rank, spans }
    }

    fn width(&self) -> usize {
        self.spans.iter().map(Span::width).sum()
    }
}

/// Joins `pieces` with `sep`, dropping the least important ones until the line fits `width`.
fn fit_line(mut pieces: Vec<Piece>, sep: &Span<'static>, width: usize) -> Line<'static> {
    let total = |pieces: &[Piece]| {
        let seps = pieces.len().saturating_sub(1) * sep.width();
        pieces.iter().map(Piece::width).sum::<usize>() + seps
    };
    while pieces.len() > 1 && total(&pieces) > width {
        let worst = (0..pieces.len())
            .max_by_key(|&i| (pieces[i].rank, i))
            .expect("non-empty");
        pieces.remove(worst);
    }
    let mut spans = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        if i > 0 {
            spans.push(sep.clone());
        }
        spans.extend(piece.spans);
    }
    Line::from(spans)
}

/// Display width of `s` in terminal cells.
fn text_width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` cut to `width` cells, ending in `…` when anything was cut.
fn truncate(s: &str, width: usize) -> String {
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

fn char_width(ch: char) -> usize {
    text_width(ch.encode_utf8(&mut [0; 4]))
}

/// A duration as `mm:ss` (minutes grow past 59 rather than adding hours).
fn clock(seconds: f64) -> String {
    // Truncation is the point: 59.9 s is still 00:59.
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}
