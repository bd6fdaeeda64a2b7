//! Interim text while an utterance is still being spoken: each pass re-transcribes the audio
//! so far; words that two consecutive passes agree on become stable (a LocalAgreement-style
//! prefix, as in whisper_streaming) and never change back; the rest is tentative. When the
//! utterance closes, its final text replaces all of it.

use std::collections::HashMap;

use crate::text::key;
use crate::vocab::UtteranceId;

#[derive(Debug, Default)]
struct State {
    previous: Vec<String>,
    stable: Vec<String>,
}

/// Turns interim passes into (stable, tentative) text and notices a machine too slow for them.
#[derive(Debug, Default)]
pub struct Tracker {
    open: HashMap<UtteranceId, State>,
    /// Utterances up to this id are final: late interim passes for them are dropped.
    final_upto: UtteranceId,
    slow_streak: u32,
    /// While live text is off: finals in a row quick enough to bring it back, and when it
    /// went off.
    quick_streak: u32,
    off_since: Option<std::time::Instant>,
}

/// Live text goes off after [`SLOW_STREAK`] passes in a row over `SLOW × interval`, and comes
/// back after [`QUICK_STREAK`] final passes in a row under `QUICK × interval`, no sooner than
/// [`HOLD_OFF`] after it went: the gap between the two (a final decodes the whole utterance,
/// more audio than any interim pass of it) keeps it from flapping on a machine at the edge.
const SLOW: f64 = 1.5;
const SLOW_STREAK: u32 = 3;
const QUICK: f64 = 0.75;
const QUICK_STREAK: u32 = 3;
pub const HOLD_OFF: std::time::Duration = std::time::Duration::from_secs(15);

/// How many words a pass may put before the stable ones and still continue them.
const MAX_INSERTED: usize = 2;

/// Where the stable words end in a pass. At its start as a rule; but once whisper hears more
/// it may put a word before them (a leading "And": found up to [`MAX_INSERTED`] words in) or
/// hear them differently ("what your country" after "what you are": taken as the same number
/// of words). Either way the pass goes on after them, so the stable words never change on
/// screen and the live text keeps coming (measured with `recorder bench interim`).
fn stable_end(words: &[String], stable: &[String]) -> Option<usize> {
    let n = stable.len();
    (0..=MAX_INSERTED)
        .take_while(|&k| k + n <= words.len())
        .find(|&k| {
            words[k..k + n]
                .iter()
                .zip(stable)
                .all(|(a, b)| key(a) == key(b))
        })
        .map(|k| k + n)
        .or((words.len() >= n).then_some(n))
}

impl Tracker {
    /// One interim pass for utterance `id`. `None` when it is stale (the utterance is final).
    pub fn pass(&mut self, id: UtteranceId, text: &str) -> Option<(String, String)> {
        if id <= self.final_upto {
            return None;
        }
        self.open.retain(|&k, _| k >= id);
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let st = self.open.entry(id).or_default();
        let here = stable_end(&words, &st.stable);
        let before = stable_end(&st.previous, &st.stable);
        let tentative = match (here, before) {
            (Some(h), Some(b)) => {
                let agreed = st.previous[b..]
                    .iter()
                    .zip(&words[h..])
                    .take_while(|(a, b)| key(a) == key(b))
                    .count();
                st.stable.extend_from_slice(&words[h..h + agreed]);
                words[h + agreed..].join(" ")
            }
            (Some(h), None) => words[h..].join(" "),
            // Shorter than the stable words: nothing to add after them yet.
            (None, _) => String::new(),
        };
        st.previous = words;
        Some((st.stable.join(" "), tentative))
    }

    /// The utterance is final; forget it.
    pub fn finished(&mut self, id: UtteranceId) {
        self.final_upto = self.final_upto.max(id);
        self.open.retain(|&k, _| k > id);
    }

    /// Records how long a pass took against the interval between passes; true once three
    /// passes in a row took longer than 1.5 intervals (the workers cannot keep up, and interim
    /// passes would only delay final text).
    pub fn too_slow(&mut self, worker_ms: f64, interval_ms: f64) -> bool {
        if worker_ms > SLOW * interval_ms {
            self.slow_streak += 1;
        } else {
            self.slow_streak = 0;
        }
        self.slow_streak >= SLOW_STREAK
    }

    /// Live text was turned off at `now`.
    pub fn turned_off(&mut self, now: std::time::Instant) {
        self.off_since = Some(now);
        self.quick_streak = 0;
        self.slow_streak = 0;
    }

    /// Records a final pass's time while live text is off; true when the machine keeps up
    /// again and live text should come back (the caller turns it on).
    pub fn recovered(&mut self, worker_ms: f64, interval_ms: f64, now: std::time::Instant) -> bool {
        let Some(since) = self.off_since else {
            return false;
        };
        if worker_ms < QUICK * interval_ms {
            self.quick_streak += 1;
        } else {
            self.quick_streak = 0;
        }
        if self.quick_streak >= QUICK_STREAK && now.duration_since(since) >= HOLD_OFF {
            self.off_since = None;
            self.quick_streak = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_text_goes_off_when_slow_and_back_with_hysteresis() {
        let mut t = Tracker::default();
        let t0 = std::time::Instant::now();
        let at = |s: u64| t0 + std::time::Duration::from_secs(s);
        // 700 ms passes: off after three over 1050 ms in a row, not after two.
        assert!(!t.too_slow(1100.0, 700.0) && !t.too_slow(1100.0, 700.0));
        assert!(!t.too_slow(900.0, 700.0), "a quick one breaks the streak");
        assert!(!t.too_slow(1100.0, 700.0) && !t.too_slow(1100.0, 700.0));
        assert!(t.too_slow(1100.0, 700.0));
        t.turned_off(at(0));
        // Passes between the two limits change nothing.
        for s in 20..30 {
            assert!(!t.recovered(800.0, 700.0, at(s)));
        }
        // Three quick ones bring it back, but not within the hold-off.
        assert!(!t.recovered(300.0, 700.0, at(1)));
        assert!(!t.recovered(300.0, 700.0, at(2)));
        assert!(
            !t.recovered(300.0, 700.0, at(3)),
            "held off for {HOLD_OFF:?}"
        );
        assert!(t.recovered(300.0, 700.0, at(16)));
        // Once on, finals say nothing until it goes off again.
        assert!(!t.recovered(300.0, 700.0, at(40)));
    }

    #[test]
    fn agreed_prefix_becomes_stable_and_only_grows() {
        let mut t = Tracker::default();
        assert_eq!(
            t.pass(UtteranceId(1), "please send"),
            Some(("".into(), "please send".into()))
        );
        assert_eq!(
            t.pass(UtteranceId(1), "Please send the rapport"),
            Some(("Please send".into(), "the rapport".into()))
        );
        // Stable words keep their first spelling: they never change on screen.
        assert_eq!(
            t.pass(UtteranceId(1), "please send the report tomorrow"),
            Some(("Please send the".into(), "report tomorrow".into()))
        );
        // A pass that disagrees with stable words does not take them back.
        let (stable, tentative) = t.pass(UtteranceId(1), "police end").unwrap();
        assert_eq!(stable, "Please send the");
        assert_eq!(tentative, "");
    }

    #[test]
    fn a_word_put_before_the_stable_ones_does_not_change_them() {
        // Measured (`recorder bench interim`): "Mr. John" stable, then whisper hears the
        // leading "And"; the old rule replaced the stable words with "And Mr. John".
        let mut t = Tracker::default();
        t.pass(UtteranceId(1), "Mr. John Dashwood");
        t.pass(UtteranceId(1), "Mr. John Dashwood had");
        assert_eq!(
            t.pass(UtteranceId(1), "And Mr. John Dashwood had then"),
            Some(("Mr. John Dashwood had".into(), "then".into()))
        );
        assert_eq!(
            t.pass(UtteranceId(1), "And Mr. John Dashwood had then leisure"),
            Some(("Mr. John Dashwood had then".into(), "leisure".into()))
        );
        // Heard differently: the stable words stay, the pass continues after as many words.
        let mut t = Tracker::default();
        t.pass(UtteranceId(2), "What you are");
        t.pass(UtteranceId(2), "What you are.");
        assert_eq!(
            t.pass(UtteranceId(2), "What your country can do"),
            Some(("What you are.".into(), "can do".into()))
        );
    }

    #[test]
    fn final_text_ends_interim_and_drops_late_passes() {
        let mut t = Tracker::default();
        t.pass(UtteranceId(1), "hello");
        t.finished(UtteranceId(1));
        assert_eq!(t.pass(UtteranceId(1), "hello there"), None);
        assert!(t.pass(UtteranceId(2), "next").is_some());
    }

    #[test]
    fn three_slow_passes_in_a_row_mean_too_slow() {
        let mut t = Tracker::default();
        assert!(!t.too_slow(2000.0, 700.0));
        assert!(!t.too_slow(2000.0, 700.0));
        assert!(!t.too_slow(300.0, 700.0));
        assert!(!t.too_slow(2000.0, 700.0));
        assert!(!t.too_slow(2000.0, 700.0));
        assert!(t.too_slow(2000.0, 700.0));
    }
}
