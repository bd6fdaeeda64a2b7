//! Interim text while an utterance is still being spoken: each pass re-transcribes the audio
//! so far; words that two consecutive passes agree on become stable (a LocalAgreement-style
//! prefix, as in whisper_streaming) and never change back; the rest is tentative. When the
//! utterance closes, its final text replaces all of it.

use std::collections::HashMap;

#[derive(Debug, Default)]
struct State {
    previous: Vec<String>,
    stable: Vec<String>,
}

/// Turns interim passes into (stable, tentative) text and notices a machine too slow for them.
#[derive(Debug, Default)]
pub struct Tracker {
    open: HashMap<u64, State>,
    /// Utterances up to this id are final: late interim passes for them are dropped.
    final_upto: u64,
    slow_streak: u32,
}

/// Words compared without case and punctuation ("Hello," agrees with "hello").
fn key(w: &str) -> String {
    w.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Tracker {
    /// One interim pass for utterance `id`. `None` when it is stale (the utterance is final).
    pub fn pass(&mut self, id: u64, text: &str) -> Option<(String, String)> {
        if id <= self.final_upto {
            return None;
        }
        self.open.retain(|&k, _| k >= id);
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let st = self.open.entry(id).or_default();
        let agreed = st
            .previous
            .iter()
            .zip(&words)
            .take_while(|(a, b)| key(a) == key(b))
            .count();
        if agreed > st.stable.len() {
            st.stable = words[..agreed].to_vec();
        }
        // The newest pass after the stable words (if it still starts with them).
        let n = st.stable.len();
        let keeps_prefix = words.len() >= n
            && words[..n]
                .iter()
                .zip(&st.stable)
                .all(|(a, b)| key(a) == key(b));
        let tentative = if keeps_prefix {
            words[n..].join(" ")
        } else {
            String::new()
        };
        st.previous = words;
        Some((st.stable.join(" "), tentative))
    }

    /// The utterance is final; forget it.
    pub fn finished(&mut self, id: u64) {
        self.final_upto = self.final_upto.max(id);
        self.open.retain(|&k, _| k > id);
    }

    /// Records how long a pass took against the interval between passes; true once three
    /// passes in a row took longer than 1.5 intervals (the workers cannot keep up, and interim
    /// passes would only delay final text).
    pub fn too_slow(&mut self, worker_ms: f64, interval_ms: f64) -> bool {
        if worker_ms > 1.5 * interval_ms {
            self.slow_streak += 1;
        } else {
            self.slow_streak = 0;
        }
        self.slow_streak >= 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreed_prefix_becomes_stable_and_only_grows() {
        let mut t = Tracker::default();
        assert_eq!(
            t.pass(1, "please send"),
            Some(("".into(), "please send".into()))
        );
        assert_eq!(
            t.pass(1, "Please send the rapport"),
            Some(("Please send".into(), "the rapport".into()))
        );
        assert_eq!(
            t.pass(1, "please send the report tomorrow"),
            Some(("please send the".into(), "report tomorrow".into()))
        );
        // A pass that disagrees with stable words does not take them back.
        let (stable, tentative) = t.pass(1, "police end").unwrap();
        assert_eq!(stable, "please send the");
        assert_eq!(tentative, "");
    }

    #[test]
    fn final_text_ends_interim_and_drops_late_passes() {
        let mut t = Tracker::default();
        t.pass(1, "hello");
        t.finished(1);
        assert_eq!(t.pass(1, "hello there"), None);
        assert!(t.pass(2, "next").is_some());
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
