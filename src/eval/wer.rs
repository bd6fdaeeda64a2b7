//! Word error rate: the Levenshtein distance between reference and hypothesis words
//! (substitutions + deletions + insertions) over the number of reference words.

use crate::text::{Step, align};
use serde::Serialize;

/// Edit counts of one alignment; they add up over clips (overall WER is word-weighted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    pub ref_words: usize,
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
}

impl Score {
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// Errors per reference word (0 for an empty reference with an empty hypothesis; with
    /// no reference words any insertion makes it infinite, so callers count those apart).
    pub fn wer(&self) -> f64 {
        match (self.ref_words, self.errors()) {
            (_, 0) => 0.0,
            (0, _) => f64::INFINITY,
            (n, e) => e as f64 / n as f64,
        }
    }

    pub fn add(&mut self, other: &Score) {
        self.ref_words += other.ref_words;
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
    }
}

/// Aligns `hyp` to `reference` with unit costs and counts the edits of a cheapest alignment.
/// Ties prefer substitution, then deletion, so the counts are deterministic.
pub fn score<S: AsRef<str>>(reference: &[S], hyp: &[S]) -> Score {
    let (n, m) = (reference.len(), hyp.len());
    // cost[i][j]: edits turning reference[..i] into hyp[..j], with the counts that got there.
    let mut prev: Vec<(usize, Score)> = (0..=m)
        .map(|j| {
            let s = Score {
                insertions: j,
                ..Score::default()
            };
            (j, s)
        })
        .collect();
    for i in 1..=n {
        let mut cur = Vec::with_capacity(m + 1);
        let mut first = prev[0].1;
        first.deletions += 1;
        cur.push((i, first));
        for j in 1..=m {
            let same = reference[i - 1].as_ref() == hyp[j - 1].as_ref();
            let diag = (prev[j - 1].0 + usize::from(!same), {
                let mut s = prev[j - 1].1;
                s.substitutions += usize::from(!same);
                s
            });
            let del = (prev[j].0 + 1, {
                let mut s = prev[j].1;
                s.deletions += 1;
                s
            });
            let ins = (cur[j - 1].0 + 1, {
                let mut s: Score = cur[j - 1].1;
                s.insertions += 1;
                s
            });
            let best = [diag, del, ins]
                .into_iter()
                .min_by_key(|(cost, _)| *cost)
                .expect("three candidates");
            cur.push(best);
        }
        prev = cur;
    }
    let mut s = prev[m].1;
    s.ref_words = n;
    s
}

/// What a cheapest alignment did with one reference word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Hit,
    Substituted,
    Deleted,
}

/// For each reference word, whether a cheapest alignment of `hyp` to it kept, substituted or
/// deleted it (ties prefer hits, then substitutions, as [`score`] does).
pub fn ref_ops<S: AsRef<str>>(reference: &[S], hyp: &[S]) -> Vec<Op> {
    let mut ops = vec![Op::Deleted; reference.len()];
    for step in align(reference, hyp) {
        if let Step::Pair(i, j) = step {
            ops[i] = if reference[i].as_ref() == hyp[j].as_ref() {
                Op::Hit
            } else {
                Op::Substituted
            };
        }
    }
    ops
}

/// For each hypothesis word, the reference word a cheapest alignment pairs it with (kept or
/// substituted; `None`: inserted).
pub fn hyp_pairs<S: AsRef<str>>(reference: &[S], hyp: &[S]) -> Vec<Option<usize>> {
    let mut pairs = vec![None; hyp.len()];
    for step in align(reference, hyp) {
        if let Step::Pair(i, j) = step {
            pairs[j] = Some(i);
        }
    }
    pairs
}

/// Joins a pair of adjacent words on one side when the other side writes them as one word
/// ("cold hearted" / "coldhearted", "there under" / "thereunder"): a spelling choice for
/// compounds, not a recognition error. Both halves must have 3 letters or more so that real
/// errors such as "a way" for "away" still count.
pub fn join_compounds(a: &[String], b: &[String]) -> (Vec<String>, Vec<String>) {
    let a2 = join_against(a, b);
    let b2 = join_against(b, &a2);
    (a2, b2)
}

fn join_against(side: &[String], other: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(side.len());
    let mut i = 0;
    while i < side.len() {
        if let Some(next) = side.get(i + 1) {
            let joined = format!("{}{}", side[i], next);
            let long_enough = side[i].chars().count() >= 3 && next.chars().count() >= 3;
            if long_enough && other.contains(&joined) && !side.contains(&joined) {
                out.push(joined);
                i += 2;
                continue;
            }
        }
        out.push(side[i].clone());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_ops_tell_hits_substitutions_and_deletions() {
        let r = ["ask", "not", "what", "your", "country"];
        assert_eq!(
            ref_ops(&r, &["ask", "not", "what", "your", "country"]),
            [Op::Hit; 5]
        );
        assert_eq!(
            ref_ops(&r, &["ask", "what", "your", "county"]),
            [Op::Hit, Op::Deleted, Op::Hit, Op::Hit, Op::Substituted]
        );
        assert_eq!(ref_ops(&r, &[] as &[&str]), [Op::Deleted; 5]);
        let ops = ref_ops(&r, &["and", "ask", "not", "what", "your", "country"]);
        assert_eq!(ops, [Op::Hit; 5], "an insertion changes no reference word");
    }

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn sc(r: &str, h: &str) -> Score {
        score(&w(r), &w(h))
    }

    #[test]
    fn identical_is_zero() {
        let s = sc("the cat sat", "the cat sat");
        assert_eq!(s.errors(), 0);
        assert_eq!(s.ref_words, 3);
        assert_eq!(s.wer(), 0.0);
    }

    #[test]
    fn each_kind_of_edit() {
        assert_eq!(
            sc("the cat sat", "the dog sat"),
            Score {
                ref_words: 3,
                substitutions: 1,
                ..Score::default()
            }
        );
        assert_eq!(sc("the cat sat", "the sat").deletions, 1);
        assert_eq!(sc("the cat sat", "the cat sat down").insertions, 1);
        let s = sc("a b c d", "x b d e f");
        assert_eq!(s.errors(), 4, "{s:?}");
        assert_eq!(s.wer(), 1.0);
    }

    #[test]
    fn empty_sides() {
        assert_eq!(sc("", "").wer(), 0.0);
        let only_ins = sc("", "thank you");
        assert_eq!(only_ins.insertions, 2);
        assert!(only_ins.wer().is_infinite());
        let only_del = sc("go forward", "");
        assert_eq!(only_del.deletions, 2);
        assert_eq!(only_del.wer(), 1.0);
    }

    #[test]
    fn wer_can_exceed_one() {
        assert_eq!(sc("yes", "no no no").wer(), 3.0);
    }

    #[test]
    fn minimal_alignment_not_greedy() {
        // A greedy left-to-right match would pay more here.
        let s = sc("and so my fellow americans", "and so am i fellow americans");
        assert_eq!(s.errors(), 2, "{s:?}");
        let s = sc("a more a amiable woman", "a more amiable woman");
        assert_eq!((s.deletions, s.errors()), (1, 1));
    }

    #[test]
    fn scores_add_up_word_weighted() {
        let mut total = Score::default();
        total.add(&sc("a b c d e f g h i j", "a b c d e f g h i x"));
        total.add(&sc("k", "z"));
        assert_eq!(total.ref_words, 11);
        assert_eq!(total.errors(), 2);
        assert!((total.wer() - 2.0 / 11.0).abs() < 1e-12);
    }

    #[test]
    fn compounds_join_on_either_side() {
        let (r, h) = join_compounds(&w("rather cold hearted"), &w("rather coldhearted"));
        assert_eq!(r, w("rather coldhearted"));
        assert_eq!(h, w("rather coldhearted"));
        let (r, h) = join_compounds(
            &w("of activities thereunder"),
            &w("of activities there under"),
        );
        assert_eq!(r, h);
        // Short halves are real errors, not spelling.
        let (r, h) = join_compounds(&w("go away"), &w("go a way"));
        assert_ne!(r, h);
    }
}
