//! The two bottom lines: the status line (the quit countdown, else the latest notice) and the
//! keys that apply right now. Both are single lines cut to fit: a long error never spills
//! over the transcript.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Piece, Theme, fit_line, truncate};
use crate::app::{App, NoticeLevel, RecState, Scroll};

pub(super) fn render_status(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let Some((text, style)) = status(app, theme) else {
        return;
    };
    // Only the first line of a multi-line message; the log file has the rest.
    let first = text.lines().next().unwrap_or_default();
    let text = truncate(&format!(" {first}"), usize::from(area.width));
    Line::from(Span::styled(text, style)).render(area, buf);
}

fn status(app: &App, theme: &Theme) -> Option<(String, ratatui::style::Style)> {
    if app.quitting {
        let pending = app.history.pending();
        // The footer says how to quit at once; this line only says what is being waited for.
        let text = match (app.state, pending) {
            (RecState::Idle, 0) => "quitting…".to_string(),
            (RecState::Idle, 1) => "waiting for 1 transcription…".to_string(),
            (RecState::Idle, n) => format!("waiting for {n} transcriptions…"),
            _ => "stopping the recording…".to_string(),
        };
        return Some((text, theme.warn()));
    }
    let notice = app.notice.as_ref()?;
    let (prefix, style) = match notice.level {
        NoticeLevel::Info => ("", theme.dim()),
        NoticeLevel::Warn => ("! ", theme.warn()),
        NoticeLevel::Error => ("error: ", theme.error()),
    };
    Some((format!("{prefix}{}", notice.text), style))
}

pub(super) fn render_keys(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let pieces = keys(app)
        .into_iter()
        .map(|(rank, key, label)| {
            let spans = vec![
                Span::styled(key, theme.key()),
                Span::styled(format!(" {label}"), theme.dim()),
            ];
            Piece::new(rank, spans)
        })
        .collect();
    let mut line = fit_line(
        pieces,
        &Span::raw("  "),
        usize::from(area.width).saturating_sub(1),
    );
    line.spans.insert(0, Span::raw(" "));
    line.render(area, buf);
}

/// (rank, key, what it does) for the keys that do something now; lower rank stays longer.
fn keys(app: &App) -> Vec<(u8, &'static str, &'static str)> {
    if app.help {
        return vec![(0, "esc", "close help"), (1, "q", "quit")];
    }
    let mut keys = Vec::new();
    match app.state {
        _ if app.quitting => keys.push((0, "q", "quit now")),
        RecState::Idle => keys.push((0, "r", "record")),
        RecState::Recording => keys.extend([(0, "space", "stop"), (1, "p", "pause")]),
        RecState::Paused => keys.extend([(0, "space", "stop"), (1, "p", "resume")]),
        RecState::Starting | RecState::Stopping => {}
    }
    if matches!(app.scroll, Scroll::At(_)) {
        keys.push((2, "G", "follow"));
    }
    if !app.history.is_empty() {
        keys.push((4, "j/k", "scroll"));
    }
    if app.notice.is_some() && !app.quitting {
        keys.push((5, "esc", "dismiss"));
    }
    if !app.quitting {
        keys.extend([(3, "?", "help"), (1, "q", "quit")]);
    }
    keys
}
