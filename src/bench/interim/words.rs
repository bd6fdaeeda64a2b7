//! The word arithmetic of `bench interim`, kept apart from the engine driving so it can be
//! tested on its own: comparable word keys, when a final word first showed as interim text,
//! word edit distance (flips), retracted stable prefixes, and word end times from whisper's
//! token timestamps lined up with the final text.

/// Words as compared throughout: lower case, letters and digits only ("Hello," = "hello");
/// tokens with neither (a dash, "×") are left out.
pub fn words(text: &str) -> Vec<String> {
    crate::text::keys(text)
}

/// One interim event as received: when (s since the feed started), its stable words and all
/// its words (stable + tentative).
#[derive(Debug, Clone, Default)]
pub struct Pass {
    pub at: f64,
    pub stable: Vec<String>,
    pub words: Vec<String>,
}

/// For each final word, the time of the first pass that showed it: the pass's words lined up
/// with the final text (longest common subsequence), so a pass that lacked or added a word
/// early on ("mr john dashwood" before "and mr john dashwood") still counts for the rest.
pub fn first_appearance(final_words: &[String], passes: &[Pass]) -> Vec<Option<f64>> {
    let mut out = vec![None; final_words.len()];
    for p in passes {
        for (i, _) in lcs_pairs(final_words, &p.words) {
            out[i] = out[i].or(Some(p.at));
        }
    }
    out
}

/// Levenshtein distance in words (substitutions, insertions and deletions).
pub fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (diag + usize::from(x != y))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Passes whose stable words do not extend the previous pass's stable words.
pub fn retractions(passes: &[Pass]) -> usize {
    passes
        .windows(2)
        .filter(|p| !p[1].stable.starts_with(&p[0].stable))
        .count()
}

/// Gives each final word the end time of the timed word it lines up with (longest common
/// subsequence), so one word the offline pass heard differently does not shift the rest.
pub fn align(final_words: &[String], timed: &[(String, f64)]) -> Vec<Option<f64>> {
    let keys: Vec<String> = timed.iter().map(|(k, _)| k.clone()).collect();
    let mut out = vec![None; final_words.len()];
    for (i, j) in lcs_pairs(final_words, &keys) {
        out[i] = Some(timed[j].1);
    }
    out
}

/// The index pairs of a longest common subsequence of `a` and `b`.
pub fn lcs_pairs(a: &[String], b: &[String]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Groups whisper tokens (text piece, end time in s) into words: a piece starting with a
/// space starts a word; a word ends where its last piece with a letter or digit ends (a
/// trailing comma's timestamp says nothing about the word).
pub fn group_tokens(tokens: &[(String, f64)]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut cur: Option<(String, f64)> = None;
    for (piece, t1) in tokens {
        if piece.starts_with(' ') || cur.is_none() {
            out.extend(cur.take());
            cur = Some((String::new(), *t1));
        }
        let c = cur.as_mut().expect("set above");
        c.0.push_str(piece);
        if piece.chars().any(char::is_alphanumeric) {
            c.1 = *t1;
        }
    }
    out.extend(cur);
    out.into_iter()
        .filter_map(|(w, t)| {
            let key = words(&w).concat();
            (!key.is_empty()).then_some((key, t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s)
    }

    fn pass(at: f64, stable: &str, all: &str) -> Pass {
        Pass {
            at,
            stable: w(stable),
            words: w(all),
        }
    }

    #[test]
    fn words_drop_case_punctuation_and_symbols() {
        assert_eq!(
            w("Hello, World! 6 × 10 don't"),
            ["hello", "world", "6", "10", "dont"]
        );
    }

    #[test]
    fn a_word_appears_with_the_first_pass_that_has_it_in_line() {
        let passes = [
            pass(1.0, "", "so my"),
            pass(1.7, "", "and so my fellow"),
            // "americans" heard wrong, then right: it counts from 3.1.
            pass(2.4, "and so my", "and so my fellow mirror"),
            pass(3.1, "and so my fellow", "and so um my fellow americans ask"),
        ];
        let seen = first_appearance(&w("And so, my fellow Americans, ask not"), &passes);
        let want = [1.7, 1.0, 1.0, 1.7, 3.1, 3.1];
        let want: Vec<Option<f64>> = want.iter().map(|&t| Some(t)).chain([None]).collect();
        assert_eq!(seen, want);
        assert_eq!(first_appearance(&w("a"), &[]), [None]);
    }

    #[test]
    fn lcs_pairs_line_up_in_order() {
        assert_eq!(
            lcs_pairs(&w("a b c d"), &w("x b c y d")),
            [(1, 1), (2, 2), (3, 4)]
        );
        assert_eq!(lcs_pairs(&w("a b"), &w("b a")).len(), 1);
        assert!(lcs_pairs(&w("a"), &[]).is_empty());
    }

    #[test]
    fn flips_are_word_edit_distance() {
        assert_eq!(edit_distance(&w("a b c"), &w("a b c")), 0);
        assert_eq!(edit_distance(&w("a x c"), &w("a b c")), 1);
        assert_eq!(edit_distance(&w("a b"), &w("a b c d")), 2);
        assert_eq!(edit_distance(&w("b c d"), &w("a b c d")), 1);
        assert_eq!(edit_distance(&[], &w("a b")), 2);
        assert_eq!(
            edit_distance(&w("police end the"), &w("please send the report")),
            3
        );
    }

    #[test]
    fn retractions_count_stable_prefixes_taken_back() {
        let ok = [
            pass(0.0, "", "a"),
            pass(1.0, "a", "a b"),
            pass(2.0, "a b", "a b c"),
        ];
        assert_eq!(retractions(&ok), 0);
        let bad = [
            pass(0.0, "a b", "a b"),
            pass(1.0, "a c", "a c"),
            pass(2.0, "a c d", "a c d"),
            pass(3.0, "", "x"),
        ];
        assert_eq!(retractions(&bad), 2);
    }

    #[test]
    fn alignment_skips_words_heard_differently() {
        let timed: Vec<(String, f64)> = [
            ("please", 0.4),
            ("sent", 0.8),
            ("the", 1.0),
            ("report", 1.5),
        ]
        .iter()
        .map(|(k, t)| (k.to_string(), *t))
        .collect();
        assert_eq!(
            align(&w("please send the big report"), &timed),
            [Some(0.4), None, Some(1.0), None, Some(1.5)]
        );
        assert_eq!(align(&w("a"), &[]), [None]);
    }

    #[test]
    fn tokens_group_into_words_ending_at_their_last_letter() {
        let t = |p: &str, t1: f64| (p.to_string(), t1);
        let tokens = [
            t(" And", 0.3),
            t(" so", 0.5),
            t(",", 0.9),
            t(" Amer", 1.0),
            t("icans", 1.4),
            t(".", 2.0),
            t(" -", 2.1),
        ];
        let got = group_tokens(&tokens);
        assert_eq!(
            got,
            [
                ("and".to_string(), 0.3),
                ("so".into(), 0.5),
                ("americans".into(), 1.4)
            ]
        );
    }
}
