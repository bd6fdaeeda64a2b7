//! The `?` overlay: every key in one box, sized to fit even a 40×12 terminal.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::Theme;

/// (keys, what they do). Kept short: the box must fit in 40 columns.
const KEYS: [(&str, &str); 10] = [
    ("space r", "start / stop recording"),
    ("p", "pause / resume"),
    ("j k ↓ ↑", "scroll a line (or wheel)"),
    ("PgDn PgUp", "scroll a page"),
    ("g Home", "oldest text"),
    ("G End", "newest text, follow it"),
    ("?", "toggle this help"),
    ("Esc", "close help / notice"),
    ("q Ctrl-C", "quit once text is done"),
    ("q q", "quit at once"),
];
/// Width of the keys column.
const KEY_COLUMN: usize = 11;
/// The box's full size: the longest description plus the key column and borders.
const WIDTH: u16 = 40;
const HEIGHT: u16 = KEYS.len() as u16 + 2;

pub(super) fn render(theme: &Theme, area: Rect, buf: &mut Buffer) {
    let area = area.centered(
        Constraint::Length(WIDTH.min(area.width)),
        Constraint::Length(HEIGHT.min(area.height)),
    );
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {key:<width$}", width = KEY_COLUMN - 1),
                    theme.key(),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    let block = Block::bordered()
        .border_style(theme.dim())
        .title_top(Span::styled(" Keys ", theme.heading()))
        .title_top(Line::from(Span::styled(" Esc closes ", theme.dim())).right_aligned());
    Clear.render(area, buf);
    Paragraph::new(lines).block(block).render(area, buf);
}
