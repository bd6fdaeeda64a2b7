//! The list overlays: the input devices (`d`) and the export formats (`e`). Both are a box of
//! numbered rows with the cursor row reversed; the list scrolls to keep the cursor in view.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::{Theme, text_width, truncate};
use crate::app::{App, DevicePicker};
use crate::audio::capture::DeviceInfo;
use crate::export::Format;

const WIDTH: u16 = 60;

/// One row: its spans (before cutting to width) and whether it is dimmed (not choosable).
struct Row {
    spans: Vec<Span<'static>>,
    dim: bool,
}

pub(super) fn render_devices(
    app: &App,
    picker: &DevicePicker,
    theme: &Theme,
    screen: Rect,
    buf: &mut Buffer,
) {
    let rows = match &picker.devices {
        None => vec![Row {
            spans: vec![Span::raw(" looking for input devices…")],
            dim: true,
        }],
        Some(list) if list.is_empty() => vec![Row {
            spans: vec![Span::raw(" no input devices found")],
            dim: true,
        }],
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, d)| device_row(app, i, d, theme))
            .collect(),
    };
    let cursor = picker.devices.as_ref().map(|_| picker.cursor);
    let key = crate::app::SHOW_ALL_KEY;
    let footer = match (picker.hidden.len(), picker.all) {
        (0, _) => None,
        (n, false) => Some(format!(" {key}: show {n} more that cannot be opened")),
        (_, true) => Some(format!(" {key}: hide those that cannot be opened")),
    };
    let footer = footer.map(|f| Line::from(Span::styled(f, theme.dim())));
    render_list(" Input device ", rows, cursor, footer, theme, screen, buf);
}

/// One device: its state first ("● in use", "default", "cannot open"), so that a narrow
/// list cuts the name or the reason, never whether it can be used; then the name and id.
fn device_row(app: &App, i: usize, d: &DeviceInfo, theme: &Theme) -> Row {
    let in_use = app.input.as_deref() == Some(d.name.as_str())
        || app.input.as_deref() == Some(d.id.as_str());
    let mut spans = vec![Span::raw(format!(" {} ", number(i)))];
    if in_use {
        spans.push(Span::styled("[● in use] ", theme.speech()));
    }
    if d.is_default {
        spans.push(Span::styled("[default] ", theme.key()));
    }
    if d.usable.is_err() {
        spans.push(Span::styled("[cannot open] ", theme.warn()));
    }
    spans.push(Span::raw(d.name.clone()));
    spans.push(Span::styled(format!("  {}", d.id), theme.dim()));
    if let Err(reason) = &d.usable {
        spans.push(Span::styled(format!("  {reason}"), theme.dim()));
    }
    Row {
        spans,
        dim: d.usable.is_err(),
    }
}

pub(super) fn render_export(
    app: &App,
    cursor: usize,
    theme: &Theme,
    screen: Rect,
    buf: &mut Buffer,
) {
    let rows = Format::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| Row {
            spans: vec![
                Span::raw(format!(" {} {:<5}", number(i), f.ext())),
                Span::styled(f.describe(), theme.dim()),
            ],
            dim: false,
        })
        .collect();
    // The folder the file goes into: the selected utterance's session, else the newest.
    let session = app
        .selected
        .map(|k| k.session)
        .and_then(|i| app.history.sessions().get(i))
        .or_else(|| app.history.sessions().last());
    let footer = session.and_then(|s| s.dir.as_ref()).map(|dir| {
        Line::from(vec![
            Span::styled(" into ", theme.dim()),
            Span::raw(dir.display().to_string()),
        ])
    });
    render_list(
        " Export as ",
        rows,
        Some(cursor),
        footer,
        theme,
        screen,
        buf,
    );
}

/// `1`…`9` (the digit that chooses the row), blank past nine.
fn number(i: usize) -> String {
    if i < 9 {
        (i + 1).to_string()
    } else {
        " ".into()
    }
}

fn render_list(
    title: &'static str,
    rows: Vec<Row>,
    cursor: Option<usize>,
    footer: Option<Line<'static>>,
    theme: &Theme,
    screen: Rect,
    buf: &mut Buffer,
) {
    let extra = u16::from(footer.is_some());
    // The digits that choose: as many as there are rows (the export menu said "1-9" for 5).
    let keys = match rows.len().min(9) {
        0 => " ".to_string(),
        1 => " Enter or 1 ".to_string(),
        n => format!(" Enter or 1-{n} "),
    };
    let wanted = u16::try_from(rows.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2 + extra);
    let area = screen.centered(
        Constraint::Length(WIDTH.min(screen.width)),
        Constraint::Length(wanted.min(screen.height)),
    );
    let inner_width = usize::from(area.width.saturating_sub(2));
    let visible = usize::from(area.height.saturating_sub(2 + extra)).max(1);
    // Scroll so the cursor row is on screen.
    let top = cursor.map_or(0, |c| c.saturating_sub(visible - 1));
    let mut lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .skip(top)
        .take(visible)
        .map(|(i, row)| {
            let style = if cursor == Some(i) {
                theme.cursor()
            } else if row.dim {
                theme.dim()
            } else {
                Style::new()
            };
            fit(row.spans, inner_width).style(style)
        })
        .collect();
    if let Some(footer) = footer {
        lines.push(fit(footer.spans, inner_width));
    }
    let block = Block::bordered()
        .border_style(theme.dim())
        .title_top(Span::styled(title, theme.heading()))
        .title_top(Line::from(Span::styled(keys, theme.dim())).right_aligned());
    Clear.render(area, buf);
    Paragraph::new(lines).block(block).render(area, buf);
}

/// `spans` cut to `width` cells, padded so a reversed cursor row spans the whole box.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut out = Vec::new();
    let mut used = 0;
    for span in spans {
        let w = span.width();
        if used + w <= width {
            used += w;
            out.push(span);
        } else {
            let cut = truncate(&span.content, width - used);
            used += text_width(&cut);
            out.push(Span::styled(cut, span.style));
            break;
        }
    }
    out.push(Span::raw(" ".repeat(width - used)));
    Line::from(out)
}
