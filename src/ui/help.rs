//! The `?` overlay: every action with the keys bound to it (from the key map in force, so a
//! rebound key shows as bound), then where the log and the session's audio are. It scrolls
//! when the screen is too small for it (40×12).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::Theme;
use crate::app::App;
use crate::app::help::{self, HelpTone};

/// The help's lines at `width`, styled.
fn lines(app: &App, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    help::lines(app, width)
        .into_iter()
        .map(|pieces| {
            Line::from(
                pieces
                    .into_iter()
                    .map(|(text, tone)| match tone {
                        HelpTone::Key => Span::styled(text, theme.key()),
                        HelpTone::Label => Span::styled(text, theme.dim()),
                        HelpTone::Plain => Span::raw(text),
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

pub(super) fn render(app: &App, top: usize, theme: &Theme, screen: Rect, buf: &mut Buffer) {
    let area = help::area(app, screen);
    let lines = lines(app, theme, usize::from(area.width.saturating_sub(2)));
    let visible = usize::from(area.height.saturating_sub(2));
    let top = top.min(lines.len().saturating_sub(visible));
    let mut block = Block::bordered()
        .border_style(theme.dim())
        .title_top(Span::styled(" Keys ", theme.heading()))
        .title_top(Line::from(Span::styled(" Esc closes ", theme.dim())).right_aligned());
    if top + visible < lines.len() {
        block =
            block.title_bottom(Line::from(Span::styled(" ↓ more ", theme.warn())).right_aligned());
    }
    if top > 0 {
        block = block.title_bottom(Line::from(Span::styled(" ↑ more ", theme.warn())));
    }
    Clear.render(area, buf);
    let shown: Vec<Line> = lines.into_iter().skip(top).collect();
    Paragraph::new(shown).block(block).render(area, buf);
}
