//! Telling a bad input signal from the levels the audio thread publishes: a muted or dead
//! microphone (silence far below any real mic's self-noise) and clipping (full-scale peaks).

use crate::audio::Level;

/// A problem with the input signal itself, told from the levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputWarning {
    /// Nothing above the noise floor for this many whole seconds: a muted or dead mic.
    Silent(u32),
    /// Samples at full scale recently: the input gain is too high and words get distorted.
    Clipping,
}

/// Levels arrive 20 times a second (one per 50 ms of audio), so counting them measures audio
/// time without a clock.
const LEVELS_PER_S: u32 = 20;
/// Quieter than any real microphone's self-noise (typically -60 to -50 dBFS): only a muted
/// or disconnected input stays below this.
const SILENT_DBFS: f32 = -75.0;
/// How long the input must stay that quiet before the warning shows; long enough that a
/// pause to think never triggers it (at 6 s it showed in ordinary pauses on an input that
/// gives digital silence between words, such as a virtual or noise-gated one).
const SILENT_AFTER_S: u32 = 12;
/// A peak this close to full scale means the signal was (about to be) cut off.
const CLIP_DBFS: f32 = -0.1;
/// How long the clipping warning stays after the last clipped window (2 s).
const CLIP_HOLD: u32 = 2 * LEVELS_PER_S;

/// Counts of recent levels behind [`InputWarning`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputWatch {
    silent_levels: u32,
    clip_hold: u32,
}

impl InputWatch {
    pub(super) fn feed(&mut self, level: &Level) {
        if level.rms_dbfs < SILENT_DBFS {
            self.silent_levels = self.silent_levels.saturating_add(1);
        } else {
            self.silent_levels = 0;
        }
        if level.peak_dbfs >= CLIP_DBFS {
            self.clip_hold = CLIP_HOLD;
        } else {
            self.clip_hold = self.clip_hold.saturating_sub(1);
        }
    }

    /// The warning to show now, clipping first (it is the one the user can act on at once).
    pub fn warning(&self) -> Option<InputWarning> {
        if self.clip_hold > 0 {
            return Some(InputWarning::Clipping);
        }
        let seconds = self.silent_levels / LEVELS_PER_S;
        (seconds >= SILENT_AFTER_S).then_some(InputWarning::Silent(seconds))
    }
}
