//! What a speculative final's text says about how its utterance ends: the segmenter's
//! endpointing (`Segmenter::hear_ending`).

/// What an utterance's text (a speculative final's, before it closed) says about its end
/// ([`super::Segmenter::hear_ending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A sentence ends there (".", "!", "?"): close after `sentence_end_ms` (when set) instead
    /// of `end_silence_ms`, once the post-roll is heard.
    Finished,
    /// It stops mid-phrase ("…, and", "the", a comma, "..."): wait [`GOES_ON_MS`] longer.
    GoesOn,
    /// Neither: the usual wait.
    Unsure,
}

/// Words after which a sentence goes on (an utterance that ends on one was cut mid-phrase).
const CONTINUING: &[&str] = &[
    "and", "but", "or", "so", "because", "the", "a", "an", "to", "of", "in", "on", "at", "for",
    "with", "that", "which", "if", "then", "my", "our", "your", "is", "are", "was", "were",
];

/// How much longer the segmenter waits after a text that goes on: 400 ms, on top of the
/// 550 ms, covers most breath pauses inside a sentence.
pub const GOES_ON_MS: u32 = 400;

impl Ending {
    pub fn of(text: &str) -> Ending {
        let t = text.trim_end();
        let last = t
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let trails_off = ["...", "…", ",", "-"].iter().any(|e| t.ends_with(e));
        if t.is_empty() {
            Ending::Unsure
        } else if trails_off || CONTINUING.contains(&last.as_str()) {
            Ending::GoesOn
        } else if t.ends_with(['.', '!', '?']) {
            Ending::Finished
        } else {
            Ending::Unsure
        }
    }
}
