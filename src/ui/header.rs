//! The header line: recording state and clock first (they matter most and survive the
//! narrowest screen), then warnings and the queue, the input, the workers and the model as
//! space allows: which microphone is recording matters more than which model is loaded
//! (at 80 columns the input used to be the first thing dropped).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Widget;

use super::{Piece, Theme, clock, fit_line, truncate};
use crate::app::{App, RecState};

/// Longest input name shown before it is cut (device names can be very long).
const MAX_INPUT: usize = 32;

pub(super) fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let sep = Span::styled(" · ", theme.dim());
    fit_line(pieces(app, theme), &sep, usize::from(area.width)).render(area, buf);
}

fn pieces(app: &App, theme: &Theme) -> Vec<Piece> {
    let mut pieces = vec![Piece::new(0, badge(app, theme))];
    if app.state != RecState::Idle || app.clock_s > 0.0 {
        pieces.push(Piece::new(
            1,
            vec![Span::styled(clock(app.clock_s), theme.text())],
        ));
    }
    if let Some(input) = &app.input {
        let label = Span::styled("in ", theme.dim());
        pieces.push(Piece::new(
            3,
            vec![label, Span::raw(truncate(input, MAX_INPUT))],
        ));
    }
    let model = vec![
        Span::styled("model ", theme.dim()),
        Span::raw(app.model.clone()),
    ];
    pieces.push(Piece::new(5, model));
    pieces.push(Piece::new(4, workers(app, theme)));
    if app.live_text_off {
        // Said for the whole run: the notice that explained it may be long gone.
        pieces.push(Piece::new(
            2,
            vec![Span::styled("live text off", theme.warn())],
        ));
    }
    if let Some(xruns) = app.level.map(|l| l.xruns).filter(|&n| n > 0) {
        // Glitches the device reported: the text goes on, but the user should know the
        // machine could not keep up (a few ms of audio each).
        let text = format!("xruns {xruns}");
        pieces.push(Piece::new(2, vec![Span::styled(text, theme.warn())]));
    }
    if let Some((done, total)) = app.resume_progress() {
        let text = format!("resuming {done}/{total}");
        pieces.push(Piece::new(2, vec![Span::styled(text, theme.warn())]));
    }
    if let Some(w) = app.workers.filter(|w| w.queued > 0) {
        let queue = vec![
            Span::styled("queue ", theme.dim()),
            Span::raw(w.queued.to_string()),
        ];
        pieces.push(Piece::new(2, queue));
    }
    pieces
}

/// The state badge, reversed so it reads without colour too.
fn badge(app: &App, theme: &Theme) -> Vec<Span<'static>> {
    let (text, style) = match app.state {
        RecState::Idle if app.quitting => (" QUITTING ", theme.idle()),
        RecState::Idle => (" IDLE ", theme.idle()),
        RecState::Starting => (" STARTING ", theme.idle()),
        RecState::Recording => (" ● REC ", theme.recording()),
        RecState::Paused => (" ❚❚ PAUSED ", theme.paused()),
        RecState::Stopping => (" STOPPING ", theme.idle()),
    };
    vec![Span::styled(text, style)]
}

fn workers(app: &App, theme: &Theme) -> Vec<Span<'static>> {
    // "ready" and "1 busy" for one worker ("0/1 busy" read oddly), "1/2 busy" for more.
    let value = match app.workers {
        Some(w) if w.busy > 0 && w.busy + w.idle > 1 => {
            format!("{}/{} busy", w.busy, w.busy + w.idle)
        }
        Some(w) if w.busy > 0 => format!("{} busy", w.busy),
        Some(w) if w.ready => "ready".to_string(),
        _ => "starting".to_string(),
    };
    vec![Span::styled("workers ", theme.dim()), Span::raw(value)]
}
