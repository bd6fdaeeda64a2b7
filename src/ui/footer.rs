//! The two bottom lines: the status line (the quit countdown, else the latest notice) and the
//! keys that apply right now. Both are single lines cut to fit: a long error never spills
//! over the transcript.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Piece, Theme, fit_line, truncate};
use crate::app::resume::{NO, YES};
use crate::app::{Action, App, NoticeLevel, Overlay, RecState, Scroll};

pub(super) fn render_status(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let Some((_, level)) = app.status_text() else {
        return;
    };
    let style = match level {
        NoticeLevel::Info => theme.dim(),
        NoticeLevel::Warn => theme.warn(),
        NoticeLevel::Error => theme.error(),
    };
    for (row, text) in app.status_rows(area.width).into_iter().enumerate() {
        let Some(y) = u16::try_from(row).ok().filter(|&r| r < area.height) else {
            break;
        };
        let line = Rect {
            y: area.y + y,
            height: 1,
            ..area
        };
        let text = truncate(&format!(" {}", text.trim_end()), usize::from(area.width));
        Line::from(Span::styled(text, style)).render(line, buf);
    }
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

/// (rank, key, what it does) for the keys that do something now; lower rank stays longer on
/// a narrow screen. Labels come from the key map, so a rebound key shows as rebound.
fn keys(app: &App) -> Vec<(u8, String, &'static str)> {
    let label = |action: Action| app.keys.label(action);
    let pair = |a: Action, b: Action| pair(app, a, b);
    let mut keys: Vec<(u8, Option<String>, &'static str)> = Vec::new();
    // The editor and the search prompt take every key while open.
    let prompt: &[(u8, &str, &'static str)] = if app.editor.is_some() {
        &[
            (0, "Enter", "save"),
            (0, "Esc", "cancel"),
            (1, "←/→", "move"),
        ]
    } else if app.search.as_ref().is_some_and(|s| s.typing) {
        &[(0, "Enter", "find"), (0, "Esc", "cancel")]
    } else {
        &[]
    };
    if !prompt.is_empty() {
        return prompt
            .iter()
            .map(|&(rank, key, what)| (rank, key.to_string(), what))
            .collect();
    }
    match app.overlay {
        Some(Overlay::Help { .. }) => {
            keys.push((0, label(Action::Close), "close help"));
            keys.push((2, pair(Action::ScrollBy(1), Action::ScrollBy(-1)), "scroll"));
            keys.push((1, label(Action::Quit), "quit"));
        }
        Some(Overlay::Devices(_) | Overlay::Export { .. }) => {
            keys.push((0, Some("Enter".into()), "choose"));
            if let Some(Overlay::Devices(picker)) = &app.overlay
                && !picker.hidden.is_empty()
            {
                let all = if picker.all { "usable only" } else { "all" };
                keys.push((4, Some(crate::app::SHOW_ALL_KEY.to_string()), all));
            }
            keys.push((2, pair(Action::ScrollBy(1), Action::ScrollBy(-1)), "move"));
            keys.push((1, label(Action::Close), "cancel"));
            keys.push((3, label(Action::Quit), "quit"));
        }
        None => main_keys(app, &mut keys),
    }
    keys.into_iter()
        .filter_map(|(rank, key, what)| Some((rank, key?, what)))
        .collect()
}

fn main_keys(app: &App, keys: &mut Vec<(u8, Option<String>, &'static str)>) {
    let label = |action: Action| app.keys.label(action);
    if app.quitting {
        keys.push((0, label(Action::Quit), "quit now"));
        return;
    }
    if app.resume_question().is_some() {
        keys.push((0, Some(YES.to_string()), "resume it"));
        keys.push((0, Some(NO.to_string()), "leave it"));
    }
    match app.state {
        RecState::Idle => keys.push((0, label(Action::ToggleRecording), "record")),
        RecState::Recording => {
            keys.push((0, label(Action::ToggleRecording), "stop"));
            keys.push((2, label(Action::TogglePause), "pause"));
        }
        RecState::Paused => {
            keys.push((0, label(Action::ToggleRecording), "stop"));
            keys.push((2, label(Action::TogglePause), "resume"));
        }
        RecState::Starting | RecState::Stopping => {}
    }
    if matches!(app.scroll, Scroll::At(_)) {
        keys.push((3, label(Action::Bottom), "follow"));
    }
    let has_text = app.history.last_done().is_some();
    // While the question is open `y` answers it, so copy is not offered (it works again after).
    if has_text {
        if app.resume_question().is_none() {
            keys.push((4, label(Action::Copy), "copy"));
        }
        let select = pair(app, Action::SelectPrev, Action::SelectNext);
        keys.push((7, select, "select"));
        keys.push((6, label(Action::Export), "export"));
        keys.push((10, label(Action::Search), "search"));
    }
    if app.selected.is_some() {
        keys.push((5, label(Action::Edit), "edit"));
        keys.push((6, label(Action::Delete), "delete"));
        keys.push((8, label(Action::Play), "play"));
    }
    if app.search.is_some() {
        keys.push((7, pair(app, Action::NextMatch, Action::PrevMatch), "match"));
    }
    if !app.deleted.is_empty() {
        keys.push((9, label(Action::Undelete), "undelete"));
    }
    // With no input opened, picking one is what the user has to do next.
    let pick_rank = if app.no_input.is_some() { 0 } else { 8 };
    keys.push((pick_rank, label(Action::PickDevice), "input"));
    if !app.history.is_empty() {
        let scroll = pair(app, Action::ScrollBy(1), Action::ScrollBy(-1));
        keys.push((9, scroll, "scroll"));
    }
    if app.selected.is_some() {
        keys.push((5, label(Action::Close), "unselect"));
    } else if app.notice.is_some() {
        keys.push((5, label(Action::Close), "dismiss"));
    }
    // Help and quit stay to the end: from them a newcomer finds everything else.
    keys.push((1, label(Action::ToggleHelp), "help"));
    keys.push((1, label(Action::Quit), "quit"));
}

/// `j/k`: the first keys of two paired actions (either alone when the other is unbound).
fn pair(app: &App, a: Action, b: Action) -> Option<String> {
    match (app.keys.label(a), app.keys.label(b)) {
        (Some(a), Some(b)) => Some(format!("{a}/{b}")),
        (one, other) => one.or(other),
    }
}
