//! The seam of an overlapped split (see `audio::segmenter`). Both parts hold the audio around
//! the cut, and each keeps the words whose middle falls on its side of the cut, with a margin:
//! whisper.cpp's token times are off by a word now and then (a 31 s monologue: "... the open
//! sea where" / "where fishing boats ..."), and a word written twice can be taken out
//! afterwards while a word neither part wrote is lost for good. This takes the doubled words
//! out once both texts are known: the longest run of words that ends the first part and
//! starts the second (compared lower-case, letters and digits only) goes from whichever part
//! arrived second.

use std::collections::BTreeMap;

use crate::text::{key, keys};
use crate::vocab::{Hints, UtteranceId};

/// At most this many words can be doubled at a seam (a margin of a quarter second each side
/// holds one or two).
const MAX_SEAM_WORDS: usize = 6;

/// Recent final texts by utterance id, for the parts of a split still to arrive.
#[derive(Default)]
pub struct Seams {
    texts: BTreeMap<UtteranceId, String>,
}

impl Seams {
    /// The text to show and journal for utterance `id`, with words doubled at a seam with
    /// its neighbour removed.
    pub fn reconcile(&mut self, id: UtteranceId, hints: &Hints, text: String) -> String {
        let mut text = text;
        if hints.keep_from_s.is_some()
            && let Some(prev) =
                id.0.checked_sub(1)
                    .and_then(|p| self.texts.get(&UtteranceId(p)))
        {
            let k = overlap(prev, &text);
            text = drop_words(&text, k, false);
        }
        if hints.keep_to_s.is_some()
            && let Some(next) = self.texts.get(&id.next())
        {
            let k = overlap(&text, next);
            text = drop_words(&text, k, true);
        }
        self.texts.insert(id, text.clone());
        while self.texts.len() > 16 {
            self.texts.pop_first();
        }
        text
    }
}

/// The number of words that both end `first` and start `second`.
fn overlap(first: &str, second: &str) -> usize {
    let (a, b) = (keys(first), keys(second));
    (1..=MAX_SEAM_WORDS.min(a.len()).min(b.len()))
        .rev()
        .find(|&k| a[a.len() - k..] == b[..k])
        .unwrap_or(0)
}

/// `text` without its first (or, `from_end`, last) `k` words; punctuation-only tokens next
/// to them go too. The other end keeps its punctuation.
fn drop_words(text: &str, k: usize, from_end: bool) -> String {
    if k == 0 {
        return text.to_string();
    }
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if from_end {
        words.reverse();
    }
    let mut dropped = 0;
    let mut i = 0;
    while i < words.len() && (dropped < k || key(words[i]).is_empty()) {
        if !key(words[i]).is_empty() {
            dropped += 1;
        }
        i += 1;
    }
    let mut rest: Vec<&str> = words[i..].to_vec();
    if from_end {
        rest.reverse();
    }
    rest.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> Hints {
        Hints {
            keep_to_s: Some(21.0),
            ..Hints::default()
        }
    }

    fn second() -> Hints {
        Hints {
            keep_from_s: Some(0.75),
            ..Hints::default()
        }
    }

    #[test]
    fn a_word_written_by_both_parts_is_kept_once() {
        let mut s = Seams::default();
        let a = s.reconcile(
            UtteranceId(7),
            &first(),
            "until it reaches the open sea where".into(),
        );
        assert_eq!(a, "until it reaches the open sea where");
        let b = s.reconcile(
            UtteranceId(8),
            &second(),
            "Where fishing boats return.".into(),
        );
        assert_eq!(b, "fishing boats return.");
    }

    #[test]
    fn the_part_that_arrives_second_gives_up_the_doubled_words() {
        let mut s = Seams::default();
        let b = s.reconcile(
            UtteranceId(8),
            &second(),
            "the open sea, where fishing boats".into(),
        );
        assert_eq!(b, "the open sea, where fishing boats");
        let a = s.reconcile(UtteranceId(7), &first(), "it reaches the open sea".into());
        assert_eq!(a, "it reaches");
    }

    #[test]
    fn parts_that_do_not_overlap_are_left_alone() {
        let mut s = Seams::default();
        s.reconcile(UtteranceId(7), &first(), "the open sea".into());
        assert_eq!(
            s.reconcile(UtteranceId(8), &second(), "where boats return".into()),
            "where boats return"
        );
        // Without the split hints nothing is compared, even with the same words.
        let mut s = Seams::default();
        s.reconcile(UtteranceId(1), &Hints::default(), "no no".into());
        assert_eq!(
            s.reconcile(UtteranceId(2), &Hints::default(), "no no".into()),
            "no no"
        );
    }
}
