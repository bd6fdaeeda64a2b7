//! The echo guard: with the text said before in its prompt ([`crate::pool::context`]),
//! whisper can write the prompt back instead of the audio, or start by repeating its end,
//! and one utterance's hallucination would then seed the next. Such a result is decoded
//! again without the context (nothing is dropped: the plain decode is what every utterance
//! got before the context existed).

use crate::text::keys;

/// A result this short that the context also holds is taken as said again ("Thank you."
/// twice), not as an echo.
const MIN_ECHO_WORDS: usize = 3;

/// A result that starts with this many of the context's last words repeats it.
const MIN_CARRIED_WORDS: usize = 4;

/// True when `text` says what `context` already said: all of it (at least
/// [`MIN_ECHO_WORDS`] words) is a run of the context's words, or it starts with the
/// context's last [`MIN_CARRIED_WORDS`] or more words.
///
/// Also true when the text says a run of [`MIN_TWICE_WORDS`] or more words twice in a row:
/// measured on the long-form eval, a prompt made tiny.en write short utterances twice ("The
/// horizon seems extremely distant. The horizon seems extremely distant.", "Go forward 10
/// meters. Go forward 10 meters."), which the same audio without the context did not.
pub fn echoes(context: &str, text: &str) -> bool {
    let c = keys(context);
    let t = keys(text);
    if t.len() >= MIN_ECHO_WORDS && c.windows(t.len()).any(|w| w == t.as_slice()) {
        return true;
    }
    if (MIN_CARRIED_WORDS..=t.len().min(c.len())).any(|k| t[..k] == c[c.len() - k..]) {
        return true;
    }
    says_twice(&t)
}

/// A run this long said twice in a row is checked: through the microphone, JFK's "ask not"
/// came back as "Ask not. Ask not." with the context (tests/live.rs). A real "go forward, go
/// forward" only costs a decode without the context, which writes it again.
const MIN_TWICE_WORDS: usize = 2;

/// A run of at least [`MIN_TWICE_WORDS`] words followed at once by itself.
fn says_twice(t: &[String]) -> bool {
    (MIN_TWICE_WORDS..=t.len() / 2)
        .any(|k| (0..=t.len() - 2 * k).any(|i| t[i..i + k] == t[i + k..i + 2 * k]))
}

#[cfg(test)]
mod tests {
    use super::echoes;

    const BEFORE: &str = "And so my fellow Americans, ask not what your country can do for you.";

    #[test]
    fn the_prompt_written_back_is_an_echo() {
        assert!(echoes(BEFORE, "Ask not what your country can do for you."));
        assert!(echoes(BEFORE, "and so my fellow americans"));
        assert!(echoes(
            BEFORE,
            "What your country can do for you, ask what you can do"
        ));
    }

    #[test]
    fn a_sentence_said_twice_in_a_row_is_an_echo_of_the_prompt() {
        let before = "She had your dark suit in greasy wash water all year.";
        assert!(echoes(
            before,
            "The horizon seems extremely distant. The horizon seems extremely distant."
        ));
        assert!(echoes(
            before,
            "Go forward 10 meters. Go forward 10 meters."
        ));
        assert!(echoes(before, "\" Ask not. Ask not."));
        assert!(!echoes(before, "No, no, not that one."), "one word twice");
    }

    #[test]
    fn new_words_are_not_an_echo() {
        assert!(!echoes(BEFORE, "Ask what you can do for your country."));
        assert!(!echoes(BEFORE, "Thank you."), "too short to tell");
        assert!(!echoes(BEFORE, ""));
        assert!(!echoes("", "Ask not what your country can do."));
        // Three words of the context's end are a phrase said again, not a repeat.
        assert!(!echoes(BEFORE, "do for you, and then some more"));
    }
}
