//! The `?` overlay's content and geometry: every action with the keys bound to it (from the
//! key map in force, so a rebound key shows as bound), then where the log and the session's
//! audio are, and the vocabulary. `ui` draws it; the state asks it how far the overlay
//! scrolls (40×12 does not fit it).

use ratatui::layout::{Constraint, Rect};

use super::layout::{text_width, truncate};
use super::resume::{NO, YES};
use super::{Action, App};

/// The box's width when the screen allows; descriptions are written to fit 40 columns.
pub const WIDTH: u16 = 56;
/// Widest key column before the key list is cut.
const MAX_KEY_COLUMN: usize = 12;

/// What a piece of a help line is; the drawing code gives each its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpTone {
    Key,
    Label,
    Plain,
}

/// One help line as pieces of text.
pub type HelpLine = Vec<(String, HelpTone)>;

/// (actions whose keys are listed together, what they do).
const ROWS: [(&[Action], &str); 20] = [
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
    (&[Action::PickDevice], "choose the input device (a: all)"),
    (&[Action::Edit], "edit the selected text (Enter saves)"),
    (&[Action::Delete], "delete the selected utterance"),
    (&[Action::Undelete], "bring the last deleted back"),
    (&[Action::Search], "search the text"),
    (
        &[Action::NextMatch, Action::PrevMatch],
        "next / previous match",
    ),
    (&[Action::Play], "play the selected utterance"),
    (&[Action::ToggleHelp], "this help"),
    (&[Action::Close], "close / unselect / dismiss"),
    (&[Action::Quit], "quit once the text is in"),
];

/// The help's lines at `width`: one per action, "quit at once", a blank line and where
/// things are.
pub fn lines(app: &App, width: usize) -> Vec<HelpLine> {
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
    let mut out: Vec<HelpLine> = rows
        .into_iter()
        .map(|(keys, what)| {
            let keys = truncate(&keys, key_column);
            let pad = " ".repeat(key_column - text_width(&keys) + 1);
            vec![
                (format!(" {keys}"), HelpTone::Key),
                (pad, HelpTone::Plain),
                (what.to_string(), HelpTone::Plain),
            ]
        })
        .collect();
    out.push(Vec::new());
    let mut place = |label: &str, path: String| {
        // Cut from the left: the file name is the part worth keeping.
        let room = width.saturating_sub(text_width(label) + 2);
        let path = if text_width(&path) > room {
            let tail: String = path.chars().rev().take(room.saturating_sub(1)).collect();
            format!("…{}", tail.chars().rev().collect::<String>())
        } else {
            path
        };
        out.push(vec![
            (format!(" {label} "), HelpTone::Label),
            (path, HelpTone::Plain),
        ]);
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
    out.extend(vocabulary(app, width));
    if let Some(say) = spoken_commands(&app.prose) {
        out.push(vec![
            (" say   ".into(), HelpTone::Label),
            (truncate(&say, width.saturating_sub(7)), HelpTone::Plain),
        ]);
    }
    out.push(vec![
        (" text  ".into(), HelpTone::Label),
        (
            truncate(
                "green or underlined time: settled (read in context)",
                width.saturating_sub(7),
            ),
            HelpTone::Plain,
        ),
    ]);
    out
}

/// The spoken commands in force, as the help lists them (they apply to the exports and `Y`).
fn spoken_commands(p: &crate::prose::ProseConfig) -> Option<String> {
    let on: Vec<&str> = [
        (p.new_paragraph, "\"new paragraph\""),
        (p.new_line, "\"new line\""),
        (p.scratch_that, "\"scratch that\""),
    ]
    .into_iter()
    .filter_map(|(on, what)| on.then_some(what))
    .collect();
    (!on.is_empty()).then(|| on.join(", "))
}

/// The config's vocabulary (what whisper is primed with), wrapped under its label so the user
/// can check which names and terms are in force.
fn vocabulary(app: &App, width: usize) -> Vec<HelpLine> {
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
            vec![(label, HelpTone::Label), (row, HelpTone::Plain)]
        })
        .collect()
}

/// Where the box goes on `screen`.
pub fn area(app: &App, screen: Rect) -> Rect {
    let rows = lines(app, usize::from(WIDTH)).len();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    screen.centered(
        Constraint::Length(WIDTH.min(screen.width)),
        Constraint::Length(height.min(screen.height)),
    )
}

/// Help lines that fit in the box.
pub fn visible_rows(app: &App, screen: Rect) -> u16 {
    area(app, screen).height.saturating_sub(2)
}

/// The largest useful first help line.
pub fn max_top(app: &App, screen: Rect) -> usize {
    let width = usize::from(area(app, screen).width.saturating_sub(2));
    lines(app, width)
        .len()
        .saturating_sub(usize::from(visible_rows(app, screen)))
}

impl App {
    /// Help lines visible at once (what a page key moves).
    pub fn help_page(&self) -> i64 {
        i64::from(visible_rows(self, self.screen()).max(1))
    }

    /// The largest useful first help line.
    pub fn help_max_top(&self) -> usize {
        max_top(self, self.screen())
    }
}
