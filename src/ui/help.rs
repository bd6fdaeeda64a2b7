//! The `?` overlay: every action with the keys bound to it (from the key map in force, so a
//! rebound key shows as bound), then where the log and the session's audio are. It scrolls
//! when the screen is too small for it (40×12).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::{Theme, text_width, truncate};
use crate::app::resume::{NO, YES};
use crate::app::{Action, App};

/// The box's width when the screen allows; descriptions are written to fit 40 columns.
const WIDTH: u16 = 56;
/// Widest key column before the key list is cut.
const MAX_KEY_COLUMN: usize = 12;

/// (actions whose keys are listed together, what they do).
const ROWS: [(&[Action], &str); 14] = [
    (&[Action::ToggleRecording], "start / stop recording"),
    (&[Action::TogglePause], "pause / resume"),
    (
        &[Action::ScrollBy(1), Action::ScrollBy(-1)],
        "scroll (mouse wheel too)",
    ),
    (&[Action::PageDown, Action::PageUp], "scroll a page"),
    (&[Action::Top], "oldest text"),
    (&[Action::Bottom], "newest text, follow it"),
    (
        &[Action::SelectPrev, Action::SelectNext],
        "select utterance (or click)",
    ),
    (&[Action::Copy], "copy selected (or last)"),
    (&[Action::CopyAll], "copy the whole transcript"),
    (&[Action::Export], "export: txt md srt vtt json"),
    (&[Action::PickDevice], "choose the input device"),
    (&[Action::ToggleHelp], "this help"),
    (&[Action::Close], "close / unselect / dismiss"),
    (&[Action::Quit], "quit once the text is in"),
];

/// The help's lines: one per action, "quit at once", a blank line and where things are.
fn lines(app: &App, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut rows: Vec<(String, &str)> = ROWS
        .iter()
        .map(|(actions, what)| {
            let mut keys: Vec<String> = actions.iter().flat_map(|a| app.keys.labels(*a)).collect();
            if actions == &[Action::Quit] && !keys.iter().any(|k| k == "Ctrl-C") {
                keys.push("Ctrl-C".into());
            }
            (keys.join(" "), *what)
        })
        .collect();
    let quit = app
        .keys
        .label(Action::Quit)
        .unwrap_or_else(|| "Ctrl-C".into());
    rows.push((format!("{quit} {quit}"), "quit at once (audio kept)"));
    if app.resume_question().is_some() {
        rows.push((format!("{YES} {NO}"), "resume the unfinished session?"));
    }
    let key_column = rows
        .iter()
        .map(|(keys, _)| text_width(keys))
        .max()
        .unwrap_or(0)
        .min(MAX_KEY_COLUMN);
    let mut out: Vec<Line> = rows
        .into_iter()
        .map(|(keys, what)| {
            let keys = truncate(&keys, key_column);
            let pad = " ".repeat(key_column - text_width(&keys) + 1);
            Line::from(vec![
                Span::styled(format!(" {keys}"), theme.key()),
                Span::raw(pad),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    out.push(Line::default());
    let mut place = |label: &str, path: String| {
        // Cut from the left: the file name is the part worth keeping.
        let room = width.saturating_sub(text_width(label) + 2);
        let path = if text_width(&path) > room {
            let tail: String = path.chars().rev().take(room.saturating_sub(1)).collect();
            format!("…{}", tail.chars().rev().collect::<String>())
        } else {
            path
        };
        out.push(Line::from(vec![
            Span::styled(format!(" {label} "), theme.dim()),
            Span::raw(path),
        ]));
    };
    let log = app
        .log
        .as_ref()
        .map_or("(off: could not be opened)".into(), |p| {
            p.display().to_string()
        });
    place("log  ", log);
    if let Some(dir) = app.history.sessions().last().and_then(|s| s.dir.as_ref()) {
        place("audio", dir.display().to_string());
    }
    out.extend(vocabulary(app, theme, width));
    out
}

/// The config's vocabulary (what whisper is primed with), wrapped under its label so the user
/// can check which names and terms are in force.
fn vocabulary(app: &App, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    const LABEL: &str = " words ";
    let room = width.saturating_sub(LABEL.len()).max(1);
    let mut rows: Vec<String> = Vec::new();
    for (i, word) in app.vocabulary.iter().enumerate() {
        let item = if i + 1 < app.vocabulary.len() {
            format!("{word},")
        } else {
            word.clone()
        };
        match rows.last_mut() {
            Some(row) if text_width(row) + 1 + text_width(&item) <= room => {
                row.push(' ');
                row.push_str(&item);
            }
            _ => rows.push(truncate(&item, room)),
        }
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let label = if i == 0 {
                LABEL.to_string()
            } else {
                " ".repeat(LABEL.len())
            };
            Line::from(vec![Span::styled(label, theme.dim()), Span::raw(row)])
        })
        .collect()
}

/// Where the box goes on `screen`.
fn area(app: &App, screen: Rect) -> Rect {
    let rows = lines(app, &Theme::new(false), usize::from(WIDTH)).len();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    screen.centered(
        Constraint::Length(WIDTH.min(screen.width)),
        Constraint::Length(height.min(screen.height)),
    )
}

/// Help lines that fit in the box.
pub(super) fn visible_rows(app: &App, screen: Rect) -> u16 {
    area(app, screen).height.saturating_sub(2)
}

pub(super) fn max_top(app: &App, screen: Rect) -> usize {
    let width = usize::from(area(app, screen).width.saturating_sub(2));
    lines(app, &Theme::new(false), width)
        .len()
        .saturating_sub(usize::from(visible_rows(app, screen)))
}

pub(super) fn render(app: &App, top: usize, theme: &Theme, screen: Rect, buf: &mut Buffer) {
    let area = area(app, screen);
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
