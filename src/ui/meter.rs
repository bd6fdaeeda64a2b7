//! The meter strip: an RMS bar with a peak mark over the last ~60 dB, the RMS reading, and
//! whether the VAD hears speech. It tells the user at a glance that the microphone works, and
//! says so in words when it does not (a muted mic, clipping). Blank when not recording, a note
//! when paused.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Theme, text_width};
use crate::app::{App, InputWarning, RecState};
use crate::audio::Level;

/// The quietest level the bar shows; anything below reads as empty.
const FLOOR_DBFS: f32 = -60.0;
/// Levels above this are drawn hot (close to clipping).
const HOT_DBFS: f32 = -6.0;
/// Widths from which the optional label and peak reading appear.
const WIDE: u16 = 60;
/// Cells of the indicator after the readout: the widest of "  ⚠ no sound", "  ⚠ clipping",
/// "  ● speech" and "  ○ quiet".
const INDICATOR: usize = 12;

pub(super) fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let line = match app.state {
        RecState::Recording => level_line(
            app.level.unwrap_or(SILENCE),
            app.input_warning(),
            theme,
            area.width,
        ),
        RecState::Paused => Line::from(Span::styled(
            " ❚❚ paused: nothing is recorded",
            theme.warn(),
        )),
        RecState::Idle | RecState::Starting | RecState::Stopping => return,
    };
    line.render(area, buf);
}

const SILENCE: Level = Level {
    rms_dbfs: -100.0,
    peak_dbfs: -100.0,
    speech_prob: 0.0,
    in_speech: false,
    xruns: 0,
};

fn level_line(
    level: Level,
    warning: Option<InputWarning>,
    theme: &Theme,
    width: u16,
) -> Line<'static> {
    let wide = width >= WIDE;
    let mut spans = vec![];
    let label = if wide { " level " } else { " " };
    spans.push(Span::styled(label, theme.dim()));
    let readout = format!(" {:>4} dB", db(level.rms_dbfs));
    let peak = format!(" pk {:>3}", db(level.peak_dbfs));
    // A warning takes the speech indicator's place, in a slot of its own width so the bar
    // never shrinks under it (it went from 46 to 24 cells); the status line says more.
    let speech = match warning {
        Some(InputWarning::Silent(_)) => Span::styled("  ⚠ no sound", theme.warn()),
        Some(InputWarning::Clipping) => Span::styled("  ⚠ clipping", theme.error()),
        None if level.in_speech => Span::styled("  ● speech", theme.speech()),
        None => Span::styled("  ○ quiet", theme.dim()),
    };
    let speech = Span::styled(
        format!("{:<width$}", speech.content, width = INDICATOR),
        speech.style,
    );
    let fixed = spans.iter().map(Span::width).sum::<usize>()
        + text_width(&readout)
        + if wide { text_width(&peak) } else { 0 }
        + INDICATOR;
    // The bar's two end caps take a cell each.
    let bar_width = usize::from(width).saturating_sub(fixed + 2).max(4);
    spans.extend(bar(level, bar_width, theme));
    spans.push(Span::raw(readout));
    if wide {
        spans.push(Span::styled(peak, theme.dim()));
    }
    spans.push(speech);
    Line::from(spans)
}

/// A reading in whole dB; the floor (digital silence, or no reading yet) as `-∞`.
fn db(dbfs: f32) -> String {
    if dbfs <= -99.0 {
        "-∞".into()
    } else {
        format!("{dbfs:.0}")
    }
}

/// The bar itself: filled up to the RMS level, a mark at the peak, the rest dim.
fn bar(level: Level, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    let filled = cells(level.rms_dbfs, width);
    let peak = cells(level.peak_dbfs, width).max(filled);
    let hot_from = cells(HOT_DBFS, width);
    let mut spans = vec![Span::styled("▕", theme.dim())];
    let cool = filled.min(hot_from);
    spans.push(Span::styled("█".repeat(cool), theme.meter()));
    spans.push(Span::styled("█".repeat(filled - cool), theme.meter_hot()));
    let mut empty = width - filled;
    if peak > filled {
        spans.push(Span::styled("─".repeat(peak - filled - 1), theme.dim()));
        let style = if peak > hot_from {
            theme.meter_hot()
        } else {
            theme.meter()
        };
        spans.push(Span::styled("┃", style));
        empty = width - peak;
    }
    spans.push(Span::styled("─".repeat(empty), theme.dim()));
    spans.push(Span::styled("▏", theme.dim()));
    spans
}

/// How many of `width` cells a level fills.
fn cells(dbfs: f32, width: usize) -> usize {
    let fraction = ((dbfs - FLOOR_DBFS) / -FLOOR_DBFS).clamp(0.0, 1.0);
    // Rounding to whole cells is the intent.
    ((fraction * width as f32).round() as usize).min(width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cover_floor_to_full_scale() {
        assert_eq!(cells(-100.0, 30), 0);
        assert_eq!(cells(-60.0, 30), 0);
        assert_eq!(cells(-30.0, 30), 15);
        assert_eq!(cells(0.0, 30), 30);
        assert_eq!(cells(3.0, 30), 30);
    }

    #[test]
    fn bar_is_exactly_as_wide_as_asked() {
        let theme = Theme::new(false);
        for (rms, peak) in [
            (-100.0, -100.0),
            (-30.0, -12.0),
            (-3.0, 0.0),
            (-20.0, -20.0),
        ] {
            let level = Level {
                rms_dbfs: rms,
                peak_dbfs: peak,
                ..SILENCE
            };
            let width: usize = bar(level, 20, &theme).iter().map(Span::width).sum();
            assert_eq!(width, 22, "rms {rms} peak {peak}");
        }
    }
}
