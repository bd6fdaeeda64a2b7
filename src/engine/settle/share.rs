//! How a settle pass's text is shared out among the utterances it covers, and whether it
//! replaces their first texts at all. Pure: the settler feeds it texts, it answers texts.

use crate::protocol::Segment;
use crate::text::{Step, align, key};

/// Mean log-probability per text token over `segments` (whisper's confidence), with the
/// token count: `None` when no segment counted tokens.
pub fn confidence<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> Option<(f64, u32)> {
    let (sum, tokens) =
        segments
            .into_iter()
            .filter(|s| s.tokens > 0)
            .fold((0.0, 0u32), |(sum, n), s| {
                (
                    sum + f64::from(s.avg_logprob) * f64::from(s.tokens),
                    n + s.tokens,
                )
            });
    (tokens > 0).then(|| (sum / f64::from(tokens), tokens))
}

/// Why a settle pass's text was not taken.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// whisper was less sure of the whole than of the pieces (mean log-prob per token).
    LessSure { settled: f64, first: f64 },
    /// It left out words the first texts had: a whole utterance's, or more than a few.
    LostWords { lost: usize, of: usize },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::LessSure { settled, first } => {
                write!(f, "less sure ({settled:.2} vs {first:.2} per token)")
            }
            Refused::LostWords { lost, of } => write!(f, "{lost} of {of} words left out"),
        }
    }
}

/// Words the settled text may drop beyond those it adds before it is refused: a first pass
/// sometimes splits one word in two ("Post phone" for "postpone"), but a whole-stretch
/// decode that skips a sentence must never replace the texts that had it.
fn lost_allowed(first_words: usize) -> usize {
    2 + first_words / 10
}

/// `settled` shared out among the utterances whose first texts are `firsts` (in order):
/// each settled word goes to the utterance of the first-text word it aligns with, a word
/// of its own to the utterance of the word before it. Refused when a non-empty first text
/// would get no word, or more words are lost than [`lost_allowed`].
pub fn share(firsts: &[&str], settled: &str) -> Result<Vec<String>, Refused> {
    let mut owner = Vec::new();
    let mut first_keys = Vec::new();
    for (u, text) in firsts.iter().enumerate() {
        for w in text.split_whitespace() {
            owner.push(u);
            first_keys.push(key(w));
        }
    }
    let words: Vec<&str> = settled.split_whitespace().collect();
    let keys: Vec<String> = words.iter().map(|w| key(w)).collect();
    let steps = align(&first_keys, &keys);
    let (mut lost, mut added) = (0, 0);
    let mut of_word: Vec<Option<usize>> = vec![None; words.len()];
    for step in &steps {
        match *step {
            Step::Pair(i, j) => of_word[j] = Some(owner[i]),
            Step::OnlyA(_) => lost += 1,
            Step::OnlyB(_) => added += 1,
        }
    }
    if lost > added + lost_allowed(first_keys.len()) {
        return Err(Refused::LostWords {
            lost: lost - added,
            of: first_keys.len(),
        });
    }
    // A word of its own goes with the word before it (the first ones with the first paired).
    let mut last = of_word.iter().flatten().next().copied().unwrap_or(0);
    let mut shares = vec![Vec::new(); firsts.len()];
    for (j, w) in words.iter().enumerate() {
        last = of_word[j].unwrap_or(last);
        shares[last].push(*w);
    }
    let emptied = firsts
        .iter()
        .zip(&shares)
        .filter(|(f, s)| !f.trim().is_empty() && s.is_empty())
        .count();
    if emptied > 0 {
        let lost = firsts
            .iter()
            .zip(&shares)
            .filter(|(_, s)| s.is_empty())
            .map(|(f, _)| f.split_whitespace().count())
            .sum();
        return Err(Refused::LostWords {
            lost,
            of: first_keys.len(),
        });
    }
    Ok(shares.into_iter().map(|s| s.join(" ")).collect())
}

/// Whether the settled text (confidence `settled`) may replace first texts of confidence
/// `first`: only when whisper is at least as sure of the whole as of the pieces. A missing
/// figure (a worker that sends none) counts as no better.
pub fn more_confident(
    settled: Option<(f64, u32)>,
    first: Option<(f64, u32)>,
) -> Result<(), Refused> {
    match (settled, first) {
        (Some((s, _)), Some((f, _))) if s + TOLERANCE < f => Err(Refused::LessSure {
            settled: s,
            first: f,
        }),
        (None, Some((f, _))) => Err(Refused::LessSure {
            settled: f64::NEG_INFINITY,
            first: f,
        }),
        _ => Ok(()),
    }
}

/// How much less sure (mean log-prob per token) the whole may be than the pieces and still
/// be taken: none. The whole usually scores higher (whisper sees each word's neighbours).
const TOLERANCE: f64 = 0.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_across_pauses_is_shared_back_by_word() {
        let firsts = [
            "And so my fellow Americans.",
            "Ask, not!",
            "What your country can do for you.",
        ];
        let settled = "And so my fellow Americans, ask not what your country can do for you.";
        assert_eq!(
            share(&firsts, settled).unwrap(),
            [
                "And so my fellow Americans,",
                "ask not",
                "what your country can do for you."
            ]
        );
    }

    #[test]
    fn a_misheard_word_is_replaced_in_its_own_utterance() {
        let firsts = [
            "And so my fellow Americans.",
            "S NOT!",
            "What your country.",
        ];
        let settled = "And so my fellow Americans, ask not what your country.";
        let s = share(&firsts, settled).unwrap();
        assert_eq!(s[1], "ask not");
        assert_eq!(s[2], "what your country.");
    }

    #[test]
    fn words_of_its_own_go_with_the_word_before() {
        let s = share(
            &["I think we should.", "the launch."],
            "So I think we should postpone the launch.",
        )
        .unwrap();
        assert_eq!(s, ["So I think we should postpone", "the launch."]);
    }

    #[test]
    fn an_utterance_left_without_words_refuses_the_whole() {
        let firsts = [
            "The horizon seems extremely distant.",
            "Okay.",
            "We ship today.",
        ];
        let settled = "The horizon seems extremely distant. We ship today.";
        assert!(matches!(
            share(&firsts, settled),
            Err(Refused::LostWords { lost: 1, .. })
        ));
    }

    #[test]
    fn a_skipped_sentence_refuses_the_whole() {
        let firsts = [
            "first we review the pull requests and then we merge the ones that pass",
            "and then we ship version two point three",
        ];
        let settled =
            "First, we review the pull requests. And then we ship version two point three.";
        assert!(matches!(
            share(&firsts, settled),
            Err(Refused::LostWords { .. })
        ));
    }

    #[test]
    fn an_empty_first_text_may_stay_empty_or_gain_words() {
        let s = share(
            &["So the plan is", "", "we ship."],
            "So the plan is, and then, we ship.",
        )
        .unwrap();
        assert_eq!(s, ["So the plan is, and then,", "", "we ship."]);
    }

    fn seg(avg_logprob: f32, tokens: u32) -> Segment {
        Segment {
            start_s: 0.0,
            end_s: 1.0,
            text: String::new(),
            no_speech_prob: 0.0,
            avg_logprob,
            tokens,
        }
    }

    #[test]
    fn confidence_is_the_mean_per_token() {
        let c = confidence(&[seg(-0.2, 10), seg(-0.5, 30), seg(-9.0, 0)]).unwrap();
        assert!((c.0 - (-0.425)).abs() < 1e-9, "{c:?}");
        assert_eq!(c.1, 40);
        assert_eq!(confidence(&[]), None);
    }

    #[test]
    fn the_whole_must_be_at_least_as_sure_as_the_pieces() {
        assert!(more_confident(Some((-0.3, 20)), Some((-0.4, 20))).is_ok());
        assert!(more_confident(Some((-0.5, 20)), Some((-0.4, 20))).is_err());
        assert!(more_confident(None, Some((-0.4, 20))).is_err());
        assert!(more_confident(Some((-0.5, 20)), None).is_ok());
    }
}
