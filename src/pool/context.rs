//! What was said before an utterance, for whisper's prompt. Each utterance is decoded alone,
//! so without it whisper cannot know that "ask not what your country…" continues "And so
//! my fellow Americans": every pause became a full stop and a capital. One [`Context`] per
//! session: the results task records each final text, and a job reads the text before its
//! utterance when a worker takes it (not when it is queued: with one worker the utterance
//! before is final by then).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::vocab::UtteranceId;

/// The measured bound on the context (`context_chars = 200`; off by default, see the
/// config), in characters: about 50 tokens, a sentence or two.
/// whisper.cpp keeps at most 223 prompt tokens, the vocabulary included.
pub const DEFAULT_CHARS: usize = 200;

/// Texts older than this many utterances before the newest are dropped (the prompt needs
/// only the last few).
const KEEP: usize = 64;

/// One session's final texts by utterance id.
#[derive(Debug)]
pub struct Context {
    max_chars: usize,
    texts: Mutex<BTreeMap<UtteranceId, String>>,
}

impl Context {
    /// An empty context bounded to `max_chars` (0: no context).
    pub fn new(max_chars: usize) -> Context {
        Context {
            max_chars,
            texts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records utterance `id`'s final text (empty when whisper heard no words).
    pub fn record(&self, id: UtteranceId, text: &str) {
        if self.max_chars == 0 {
            return;
        }
        let mut texts = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        texts.insert(id, text.trim().to_string());
        while texts.len() > KEEP {
            texts.pop_first();
        }
    }

    /// The text just before utterance `id`: the final texts of the utterances right before
    /// it, as far back as they are all known (a gap, e.g. the one before still being
    /// transcribed by another worker, ends it: a prompt that skips a sentence misleads more
    /// than none), at most `max_chars`, cut at a word. `None` when there is none.
    pub fn before(&self, id: UtteranceId) -> Option<String> {
        if self.max_chars == 0 {
            return None;
        }
        let texts = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        let mut parts: Vec<&str> = Vec::new();
        let mut len = 0;
        let mut want = id.0.checked_sub(1)?;
        for (&k, text) in texts.range(..id).rev() {
            if k.0 != want || len > self.max_chars {
                break;
            }
            if !text.is_empty() {
                len += text.len() + 1;
                parts.push(text);
            }
            want = match want.checked_sub(1) {
                Some(w) => w,
                None => break,
            };
        }
        parts.reverse();
        let joined = parts.join(" ");
        let tail = tail_at_word(&joined, self.max_chars);
        // Shown without its final stop, the text before reads as a sentence still going on:
        // whisper then continues it in lower case where the speaker did (measured on the
        // long-form eval: fragments 2 -> 1 on each set, the same WER), and still starts a
        // new sentence where the audio does. With the stop it wrote the same as without any
        // context ("He was not … young man. Unless to be …").
        let tail = tail.trim_end_matches(['.', '!', '?']);
        (!tail.is_empty()).then(|| tail.to_string())
    }
}

/// The last `max` bytes of `s` or less, starting at a word (never inside a character).
fn tail_at_word(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    let rest = &s[start..];
    match rest.find(' ') {
        // Starting mid-word: from the next word.
        Some(i) if start > 0 && !s[..start].ends_with(' ') => rest[i..].trim_start(),
        _ => rest.trim_start(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(max: usize, texts: &[(u64, &str)]) -> Context {
        let c = Context::new(max);
        for &(id, t) in texts {
            c.record(UtteranceId(id), t);
        }
        c
    }

    #[test]
    fn the_text_before_is_the_run_of_known_texts_right_before() {
        let c = ctx(200, &[(1, "And so my fellow Americans."), (2, "Ask not")]);
        assert_eq!(
            c.before(UtteranceId(3)).as_deref(),
            Some("And so my fellow Americans. Ask not")
        );
        assert_eq!(
            c.before(UtteranceId(2)).as_deref(),
            Some("And so my fellow Americans"),
            "without the final stop"
        );
        assert_eq!(c.before(UtteranceId(1)), None, "nothing before the first");
        // #4 is not final yet: #5 gets no context rather than one that skips it.
        assert_eq!(c.before(UtteranceId(5)), None);
    }

    #[test]
    fn empty_texts_keep_the_run_going_and_add_nothing() {
        let c = ctx(200, &[(1, "First."), (2, ""), (3, "  ")]);
        assert_eq!(c.before(UtteranceId(4)).as_deref(), Some("First"));
        assert_eq!(c.before(UtteranceId(3)).as_deref(), Some("First"));
    }

    #[test]
    fn the_prompt_is_bounded_and_starts_at_a_word() {
        let long = "word ".repeat(100);
        let c = ctx(30, &[(1, &long), (2, "the very end of it.")]);
        let p = c.before(UtteranceId(3)).unwrap();
        assert!(p.len() <= 30, "{p:?}");
        assert!(p.ends_with("the very end of it"), "{p:?}");
        assert!(p.starts_with("word ") || p.starts_with("the"), "{p:?}");
        // Cut inside a multi-byte character: moved to the next word.
        let c = ctx(10, &[(1, "ééééééé café au lait")]);
        let p = c.before(UtteranceId(2)).unwrap();
        assert!(
            p.len() <= 10 && "ééééééé café au lait".ends_with(&p),
            "{p:?}"
        );
    }

    #[test]
    fn zero_chars_is_off() {
        let c = ctx(0, &[(1, "Hello.")]);
        assert_eq!(c.before(UtteranceId(2)), None);
    }

    #[test]
    fn only_the_last_texts_are_kept() {
        let c = Context::new(200);
        for id in 1..=200 {
            c.record(UtteranceId(id), "x");
        }
        assert_eq!(c.texts.lock().unwrap().len(), KEEP);
        assert!(c.before(UtteranceId(201)).is_some());
    }
}
