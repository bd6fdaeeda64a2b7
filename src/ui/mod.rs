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

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::{App, Overlay};
pub use theme::Theme;

pub use crate::app::layout::Viewport;

/// False when the NO_COLOR convention (<https://no-color.org>) asks for no colour.
pub fn color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let theme = Theme::new(app.color);
    let area = frame.area();
    let areas = Areas::new(app);
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

/// Where each pane goes.
struct Areas {
    header: Rect,
    meter: Rect,
    transcript: Rect,
    status: Rect,
    footer: Rect,
}

impl Areas {
    fn new(app: &App) -> Self {
        let [header, meter, transcript, status, footer] = app.areas();
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

pub(crate) use crate::app::layout::{clock, text_width, truncate};
