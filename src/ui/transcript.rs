//! The transcript pane: draws the state's [`Layout`](crate::app::layout::Layout) (one
//! `[mm:ss] text` per utterance, pending ones in place, sessions under their own headings),
//! giving each tone its style and marking the selected utterance: its timestamp reversed and
//! a bar down its continuation lines, visible without colour.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::{Theme, Viewport};
use crate::app::layout::{self, PREFIX, Tone};
use crate::app::{App, EntryKey};

pub(super) fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let layout = app.layout_at(usize::from(area.width));
    let view = Viewport {
        total: layout.lines.len(),
        height: usize::from(layout::transcript_inner(area).height),
    };
    let top = app.first_line(view.total, view.height);
    let mut block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.dim())
        .title_top(Span::styled(" Transcript ", theme.heading()));
    if top < view.max_top() {
        let (text, style) = if app.unseen {
            (" ↓ new text below · G ", theme.warn())
        } else {
            (" ↓ more below · G ", theme.dim())
        };
        block = block.title_top(Line::from(Span::styled(text, style)).right_aligned());
    }
    let visible: Vec<Line> = layout
        .lines
        .iter()
        .skip(top)
        .take(view.height)
        .map(|line| draw(line, app.selected, theme))
        .collect();
    Paragraph::new(visible).block(block).render(area, buf);
}

fn draw(line: &layout::Line, selected: Option<EntryKey>, theme: &Theme) -> Line<'static> {
    match line {
        layout::Line::Blank => Line::default(),
        layout::Line::Heading { text, fill } => Line::from(vec![
            Span::styled(text.clone(), theme.heading()),
            Span::styled("─".repeat(*fill), theme.dim()),
        ]),
        layout::Line::Hint(text) => Line::from(Span::styled(text.clone(), theme.dim())),
        layout::Line::Utterance {
            key,
            stamp,
            runs,
            settled,
        } => {
            let selected = selected == Some(*key);
            let prefix = match (stamp, selected) {
                (Some(stamp), true) => Span::styled(stamp.clone(), theme.selected()),
                (Some(stamp), false) if *settled => Span::styled(stamp.clone(), theme.settled()),
                (Some(stamp), false) => Span::styled(stamp.clone(), theme.dim()),
                (None, true) => Span::styled(format!("{:>w$}", "▕", w = PREFIX - 1), theme.key()),
                (None, false) => Span::raw(" ".repeat(PREFIX - 1)),
            };
            let mut spans = vec![prefix, Span::raw(" ")];
            spans.extend(runs.iter().map(|(text, tone)| {
                let style = style(theme, *tone);
                let style = if selected {
                    style.add_modifier(Modifier::BOLD)
                } else {
                    style
                };
                Span::styled(text.clone(), style)
            }));
            Line::from(spans)
        }
    }
}

fn style(theme: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Speech => theme.speech(),
        Tone::Pending => theme.pending(),
        Tone::Dim => theme.dim(),
        Tone::Text => theme.text(),
        Tone::Error => theme.error(),
        Tone::Stable => theme.interim_stable(),
        Tone::Tentative => theme.interim_tentative(),
        Tone::Editing => theme.editing(),
    }
}
