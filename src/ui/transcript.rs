//! The transcript pane: one `[mm:ss] text` per utterance, pending ones in place
//! ("transcribing…", "queued (#2)"), sessions under their own headings, the selected utterance
//! marked. Lines are wrapped here rather than by `Paragraph` so the scroll position can be
//! computed exactly in wrapped lines, and each line knows which utterance it shows (for
//! selection and clicks).

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::{Theme, Viewport, char_width, clock, text_width, truncate};
use crate::app::{Action, App, EntryKey, EntryState, RecState, Row, Scroll, Session};

/// Width of the `[mm:ss] ` prefix; wrapped lines are indented by as much.
const PREFIX: usize = 8;

/// A transcript line and the utterance it belongs to (`None`: headings, hints).
type Tagged = (Line<'static>, Option<EntryKey>);

pub(super) fn viewport(app: &App, area: Rect) -> Viewport {
    let total = lines(app, &Theme::new(false), usize::from(area.width)).len();
    Viewport {
        total,
        height: usize::from(inner(area).height),
    }
}

/// The lines (from the top of the whole transcript) that utterance `key` takes.
pub(super) fn entry_lines(app: &App, area: Rect, key: EntryKey) -> Option<Range<usize>> {
    let lines = lines(app, &Theme::new(false), usize::from(area.width));
    let start = lines.iter().position(|(_, k)| *k == Some(key))?;
    let len = lines[start..]
        .iter()
        .take_while(|(_, k)| *k == Some(key))
        .count();
    Some(start..start + len)
}

/// The utterance shown at screen row `row`, if any.
pub(super) fn entry_at(app: &App, area: Rect, row: u16) -> Option<EntryKey> {
    let inner = inner(area);
    if row < inner.y || row >= inner.y + inner.height {
        return None;
    }
    let lines = lines(app, &Theme::new(false), usize::from(area.width));
    let top = first_line(app, lines.len(), usize::from(inner.height));
    lines.get(top + usize::from(row - inner.y))?.1
}

/// The first line shown, for `total` lines in a view `height` lines tall.
fn first_line(app: &App, total: usize, height: usize) -> usize {
    let view = Viewport { total, height };
    match app.scroll {
        Scroll::Follow => view.max_top(),
        Scroll::At(top) => top.min(view.max_top()),
    }
}

pub(super) fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let lines = lines(app, theme, usize::from(area.width));
    let view = Viewport {
        total: lines.len(),
        height: usize::from(inner(area).height),
    };
    let top = first_line(app, view.total, view.height);
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
    let visible: Vec<Line> = lines
        .into_iter()
        .skip(top)
        .take(view.height)
        .map(|(line, _)| line)
        .collect();
    Paragraph::new(visible).block(block).render(area, buf);
}

/// The pane without its top rule.
fn inner(area: Rect) -> Rect {
    Block::new().borders(Borders::TOP).inner(area)
}

/// Every line of the transcript, wrapped to `width`.
fn lines(app: &App, theme: &Theme, width: usize) -> Vec<Tagged> {
    let mut out: Vec<Tagged> = Vec::new();
    for row in app.history.rows() {
        match row {
            Row::Heading(session) => {
                if !out.is_empty() {
                    out.push((Line::default(), None));
                }
                out.push((heading(session, theme, width), None));
            }
            Row::Utterance {
                key,
                entry,
                queue_pos,
            } => {
                let status = body(&entry.state, queue_pos, theme);
                let runs = match &entry.interim {
                    Some((stable, tentative)) if entry.state.is_pending() => {
                        live(&entry.state, stable, tentative, theme)
                    }
                    _ => None,
                }
                .map_or_else(
                    || vec![status.clone()],
                    |mut runs| {
                        // Closed but not final yet: the live text stays, followed by what it
                        // waits for, so it is not mistaken for the final text.
                        if !matches!(entry.state, EntryState::Listening) {
                            runs.push(("·".into(), theme.dim()));
                            runs.push(status.clone());
                        }
                        runs
                    },
                );
                let selected = app.selected == Some(key);
                let wrapped = utterance(entry.start_s, &runs, selected, theme, width);
                out.extend(wrapped.into_iter().map(|line| (line, Some(key))));
            }
        }
    }
    if let Some(hint) = hint(app) {
        out.push((Line::from(Span::styled(hint, theme.dim())), None));
    }
    out
}

/// What to say when there is nothing to show yet.
fn hint(app: &App) -> Option<String> {
    let newest_empty = app
        .history
        .sessions()
        .last()
        .is_none_or(|s| s.entries.is_empty());
    match app.state {
        RecState::Idle if app.history.sessions().is_empty() => {
            let keys = app.keys.labels(Action::ToggleRecording).join(" or ");
            let help = app.keys.label(Action::ToggleHelp).unwrap_or_default();
            Some(format!(
                "Press {keys} to start recording; {help} lists every key."
            ))
        }
        RecState::Recording if newest_empty => {
            Some("Listening: speak and the text appears here.".into())
        }
        _ => None,
    }
}

/// `── 2 · input ─────` across the pane.
fn heading(session: &Session, theme: &Theme, width: usize) -> Line<'static> {
    let mut text = format!("── session {} ", session.number);
    if !session.input.is_empty() {
        text.push_str(&format!("· {} ", session.input));
    }
    let text = truncate(&text, width);
    let fill = "─".repeat(width.saturating_sub(text_width(&text)));
    Line::from(vec![
        Span::styled(text, theme.heading()),
        Span::styled(fill, theme.dim()),
    ])
}

/// The text shown for an utterance and its style.
fn body(state: &EntryState, queue_pos: Option<usize>, theme: &Theme) -> Run {
    match state {
        EntryState::Listening => ("● listening…".into(), theme.speech()),
        EntryState::Queued => match queue_pos {
            Some(pos) => (format!("queued (#{pos})"), theme.pending()),
            None => ("queued".into(), theme.pending()),
        },
        EntryState::Transcribing => ("transcribing…".into(), theme.pending()),
        EntryState::Done(text) if text.is_empty() => ("(no speech)".into(), theme.dim()),
        EntryState::Done(text) => (text.clone(), theme.text()),
        EntryState::Failed(reason) => (format!("✗ failed: {reason}"), theme.error()),
    }
}

/// Live text of a pending utterance: the stable words dimmed, the tentative rest set further
/// apart and ending in `…` (the marker that survives NO_COLOR and a copy of the screen). While
/// the utterance is still being spoken it starts with `●`; once closed the caller adds what it
/// waits for. `None` when no pass has heard a word yet.
fn live(state: &EntryState, stable: &str, tentative: &str, theme: &Theme) -> Option<Vec<Run>> {
    let (stable, tentative) = (stable.trim(), tentative.trim());
    if stable.is_empty() && tentative.is_empty() {
        return None;
    }
    let mut runs = Vec::new();
    if matches!(state, EntryState::Listening) {
        runs.push(("●".to_string(), theme.speech()));
    }
    if !stable.is_empty() {
        runs.push((stable.to_string(), theme.interim_stable()));
    }
    if !tentative.is_empty() {
        runs.push((format!("{tentative}…"), theme.interim_tentative()));
    }
    Some(runs)
}

/// `[mm:ss] body`, wrapped with a hanging indent so the timestamps stay a clean column. The
/// selected utterance has its timestamp reversed and a bar down its continuation lines:
/// visible without colour.
fn utterance(
    start_s: f64,
    runs: &[Run],
    selected: bool,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let body_width = width.saturating_sub(PREFIX).max(1);
    let stamp_style = if selected {
        theme.selected()
    } else {
        theme.dim()
    };
    let runs: Vec<Run> = runs
        .iter()
        .map(|(text, style)| {
            let style = if selected {
                style.add_modifier(Modifier::BOLD)
            } else {
                *style
            };
            (text.clone(), style)
        })
        .collect();
    wrap_runs(&runs, body_width)
        .into_iter()
        .enumerate()
        .map(|(i, pieces)| {
            let prefix = match (i, selected) {
                (0, _) => Span::styled(format!("[{}]", clock(start_s)), stamp_style),
                (_, true) => Span::styled(format!("{:>w$}", "▕", w = PREFIX - 1), theme.key()),
                (_, false) => Span::raw(" ".repeat(PREFIX - 1)),
            };
            let mut spans = vec![prefix, Span::raw(" ")];
            spans.extend(
                pieces
                    .into_iter()
                    .map(|(text, style)| Span::styled(text, style)),
            );
            Line::from(spans)
        })
        .collect()
}

/// Text in one style; an utterance's body is one or more of them (live text mixes styles).
type Run = (String, Style);

/// Greedy word wrap to `width` cells over runs of differently styled text; words longer than
/// a line are split. Neighbouring words of one style share a piece. Always at least one
/// (possibly empty) line.
fn wrap_runs(runs: &[Run], width: usize) -> Vec<Vec<Run>> {
    fn put(line: &mut Vec<Run>, text: &str, style: Style) {
        match line.last_mut() {
            Some((last, s)) if *s == style => last.push_str(text),
            _ => line.push((text.to_string(), style)),
        }
    }
    let mut lines = Vec::new();
    let mut line: Vec<Run> = Vec::new();
    let mut used = 0;
    for (text, style) in runs {
        let style = *style;
        for word in text.split_whitespace() {
            let w = text_width(word);
            if used > 0 && used + 1 + w <= width {
                put(&mut line, " ", style);
                put(&mut line, word, style);
                used += 1 + w;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            for ch in word.chars() {
                let cw = char_width(ch);
                if used > 0 && used + cw > width {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                put(&mut line, ch.encode_utf8(&mut [0; 4]), style);
                used += cw;
            }
        }
    }
    if used > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// [`wrap_runs`] of plain text, as strings.
#[cfg(test)]
fn wrap(text: &str, width: usize) -> Vec<String> {
    wrap_runs(&[(text.to_string(), Style::new())], width)
        .into_iter()
        .map(|runs| runs.into_iter().map(|(t, _)| t).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use ratatui::style::Style;

    use super::{wrap, wrap_runs};

    #[test]
    fn styled_runs_wrap_as_one_text() {
        let (a, b) = (Style::new(), Style::new().italic());
        let lines = wrap_runs(&[("one two".into(), a), ("three four…".into(), b)], 9);
        assert_eq!(
            lines,
            [
                vec![("one two".to_string(), a)],
                vec![("three".to_string(), b)],
                vec![("four…".to_string(), b)],
            ]
        );
        let lines = wrap_runs(&[("one".into(), a), ("two".into(), b)], 20);
        assert_eq!(
            lines,
            [vec![("one".to_string(), a), (" two".to_string(), b)]]
        );
    }

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(wrap("the quick brown fox", 10), ["the quick", "brown fox"]);
        assert_eq!(wrap("  spaced   out  ", 20), ["spaced out"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn splits_words_longer_than_a_line() {
        assert_eq!(wrap("abcdefghij xy", 4), ["abcd", "efgh", "ij", "xy"]);
    }

    #[test]
    fn counts_wide_characters_by_cells() {
        assert_eq!(wrap("日本語 です", 6), ["日本語", "です"]);
    }
}
