//! Text normalisation for scoring, applied to references and hypotheses alike. The eval
//! references come in mixed styles (LibriSpeech UPPERCASE, lowercase without punctuation,
//! cased and punctuated, one with digits and symbols), and whisper writes its own style, so
//! without this most "errors" would be formatting. Modelled on Whisper's
//! `EnglishTextNormalizer`: case, punctuation, sound tags, contractions, abbreviations,
//! fillers, British spellings, numbers as digits.

use super::numbers;
use super::spelling;

/// Normalises `text` into scoring tokens.
pub fn normalize(text: &str) -> Vec<String> {
    let text = text.to_lowercase();
    let text = strip_bracketed(&text);
    let text = spell_out_symbols(&text);
    let mut words = Vec::new();
    for raw in split_words(&text) {
        for w in expand(&raw) {
            if !FILLERS.contains(&w.as_str()) {
                words.push(spelling::americanize(&w));
            }
        }
    }
    numbers::to_digits(&words)
}

/// Hesitations whisper drops and some references keep (Whisper's normaliser drops the same).
const FILLERS: &[&str] = &["hmm", "mm", "mhm", "mmm", "uh", "um", "umm", "uhm"];

/// Removes `[...]`, `(...)`, `<...>` and `*...*`: sound tags and annotations, not words. An
/// opener without its closer is only punctuation.
fn strip_bracketed(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let close = match chars[i] {
            '[' => Some(']'),
            '(' => Some(')'),
            '<' => Some('>'),
            '*' => Some('*'),
            _ => None,
        };
        match close.and_then(|end| chars[i + 1..].iter().position(|&c| c == end)) {
            Some(len) => {
                out.push(' ');
                i += len + 2;
            }
            None => {
                out.push(if close.is_some() { ' ' } else { chars[i] });
                i += 1;
            }
        }
    }
    out
}

/// Symbols that are read as words ("6 × 10 = 60", "12%", "$5"), and digit grouping commas
/// ("600,000") that would otherwise split a number in two.
fn spell_out_symbols(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        let digit_before = i > 0 && chars[i - 1].is_ascii_digit();
        let digit_after = chars.get(i + 1).is_some_and(|d| d.is_ascii_digit());
        match c {
            ',' if digit_before && digit_after => {}
            // A decimal point stays part of the number; the number module reads it.
            '.' if digit_before && digit_after => out.push('.'),
            '’' | '‘' | '`' => out.push('\''),
            '×' => out.push_str(" times "),
            '=' => out.push_str(" equals "),
            '+' => out.push_str(" plus "),
            '%' => out.push_str(" percent "),
            '&' => out.push_str(" and "),
            '@' => out.push_str(" at "),
            // Currency comes before the number but is said after it: mark it, `expand` swaps.
            '$' => out.push_str(" $"),
            '£' => out.push_str(" £"),
            '€' => out.push_str(" €"),
            _ => out.push(c),
        }
    }
    out
}

/// Splits on everything but letters, digits, apostrophes inside words, decimal points inside
/// numbers and currency marks. Hyphenated words become separate words ("ill-disposed").
fn split_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let keep = c.is_alphanumeric()
            || (c == '\''
                && prev.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphabetic))
            || (c == '.'
                && prev.is_some_and(|p| p.is_ascii_digit())
                && next.is_some_and(|n| n.is_ascii_digit()))
            || (matches!(c, '$' | '£' | '€') && cur.is_empty());
        if keep {
            cur.push(c);
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// One written word as the words it stands for: contractions, abbreviations, currency.
fn expand(word: &str) -> Vec<String> {
    if let Some(amount) = word
        .strip_prefix('$')
        .map(|a| (a, "dollars"))
        .or_else(|| word.strip_prefix('£').map(|a| (a, "pounds")))
        .or_else(|| word.strip_prefix('€').map(|a| (a, "euros")))
    {
        let (number, unit) = amount;
        return [number, unit]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
    }
    if let Some(&(_, long)) = WHOLE.iter().find(|(short, _)| *short == word) {
        return long.split(' ').map(String::from).collect();
    }
    for (suffix, long) in SUFFIXES {
        if let Some(stem) = word.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return vec![stem.to_string(), long.to_string()];
        }
    }
    vec![word.to_string()]
}

/// Whole-word expansions: irregular contractions, titles and common abbreviations
/// (the period is already gone: "Mr." arrives as "mr").
const WHOLE: &[(&str, &str)] = &[
    ("won't", "will not"),
    ("can't", "can not"),
    ("cannot", "can not"),
    ("shan't", "shall not"),
    ("ain't", "is not"),
    ("let's", "let us"),
    ("y'all", "you all"),
    ("mr", "mister"),
    ("mrs", "missus"),
    ("ms", "miss"),
    ("dr", "doctor"),
    ("prof", "professor"),
    ("jr", "junior"),
    ("sr", "senior"),
    ("st", "saint"),
    ("vs", "versus"),
    ("etc", "et cetera"),
    ("ok", "okay"),
    ("alright", "all right"),
    ("gonna", "going to"),
    ("wanna", "want to"),
    ("gotta", "got to"),
];

/// Regular contractions, expanded the same way on both sides ("'d" is "would" or "had"; either
/// reading is fine as long as both sides agree). "'s" stays: possessive or "is", it is one word.
const SUFFIXES: &[(&str, &str)] = &[
    ("n't", "not"),
    ("'re", "are"),
    ("'ll", "will"),
    ("'ve", "have"),
    ("'m", "am"),
    ("'d", "would"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).join(" ")
    }

    #[test]
    fn case_and_punctuation() {
        assert_eq!(
            n("And so, my fellow Americans: ask NOT!"),
            "and so my fellow americans ask not"
        );
        assert_eq!(n("THE BIRCH CANOE"), n("The birch canoe."));
        assert_eq!(n("  \"Hello\" -- world...  "), "hello world");
        assert!(normalize("").is_empty());
        assert!(normalize(" ?! ").is_empty());
    }

    #[test]
    fn hyphens_split_words() {
        assert_eq!(n("ill-disposed"), "ill disposed");
        assert_eq!(n("seat-belts"), n("seat belts"));
    }

    #[test]
    fn apostrophes_and_contractions() {
        assert_eq!(n("It's the culprit’s name"), "it's the culprit's name");
        assert_eq!(n("don't"), "do not");
        assert_eq!(n("Don’t"), "do not");
        assert_eq!(n("won't"), "will not");
        assert_eq!(
            n("I'm sure they'll say we've"),
            "i am sure they will say we have"
        );
        assert_eq!(n("cannot"), n("can't"));
        assert_eq!(n("'quoted' words"), "quoted words");
        assert_eq!(n("the dogs' bowls"), "the dogs bowls");
    }

    #[test]
    fn titles_and_abbreviations() {
        assert_eq!(n("Mr. Quilter"), "mister quilter");
        assert_eq!(n("mister Quilter"), "mister quilter");
        assert_eq!(
            n("Dr. Smith and Mrs. Jones"),
            "doctor smith and missus jones"
        );
        assert_eq!(n("OK"), n("okay"));
    }

    #[test]
    fn sound_tags_and_fillers_are_not_words() {
        assert!(normalize("[BLANK_AUDIO]").is_empty());
        assert!(normalize("(screams) *laughs* [Music]").is_empty());
        assert_eq!(n("um so uh yes"), "so yes");
        assert_eq!(n("hello [inaudible] world"), "hello world");
    }

    #[test]
    fn numbers_in_either_form_match() {
        assert_eq!(n("platforms one and three"), n("platforms 1 and 3"));
        assert_eq!(n("go forward ten meters"), n("Go forward 10 meters."));
        assert_eq!(n("twenty one"), "21");
        assert_eq!(n("600,000"), "600000");
        assert_eq!(n("six hundred thousand"), "600000");
        assert_eq!(n("a 12% chance"), "a 12 percent chance");
        assert_eq!(n("twelve percent"), "12 percent");
        assert_eq!(n("6 × 10 = 60"), n("six times ten equals sixty"));
        assert_eq!(n("$5"), "5 dollars");
        assert_eq!(n("five dollars"), "5 dollars");
        assert_eq!(n("3rd"), n("third"));
        assert_eq!(n("the 1st"), n("the first"));
        assert_eq!(n("3.5"), n("three point five"));
    }

    #[test]
    fn british_spellings_become_american() {
        assert_eq!(n("The colour of the centre"), "the color of the center");
        assert_eq!(n("organised travelling"), "organized traveling");
        assert_eq!(n("grey"), "gray");
    }

    #[test]
    fn eval_references_normalise_like_whisper_output() {
        let pairs = [
            (
                "The expression goes 6 × 10 = 60 not 600000 that gives us a 12% chance.",
                "The expression goes 6 times 10 = 60, not 600,000. That gives us a 12% chance.",
            ),
            (
                "and mister john dashwood had then leisure",
                "And Mr. John Dashwood had then leisure",
            ),
            (
                "Today only platforms one and three are used.",
                "Today, only platforms 1 and 3 are used.",
            ),
            (
                "MY FATHER HAS REVEALED THE CULPRIT'S NAME",
                "My father has revealed the culprit's name.",
            ),
            (
                "unless to be rather cold hearted",
                "Unless to be rather cold-hearted",
            ),
        ];
        for (reference, hyp) in pairs {
            assert_eq!(normalize(reference), normalize(hyp), "{reference}");
        }
    }
}
