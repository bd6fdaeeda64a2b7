//! Words as every comparison of texts takes them (the interim tracker, a split's seam, the
//! echo guard, the spoken commands, the benchmarks): lower case, letters and digits only, so
//! "Hello," agrees with "hello". Depends on nothing; the worker uses it too.

/// `word` lower-cased with everything but letters and digits dropped.
pub fn key(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The keys of `text`'s words; a token with neither letters nor digits (a dash, "×") is
/// left out.
pub fn keys(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(key)
        .filter(|k| !k.is_empty())
        .collect()
}

/// One step of a cheapest alignment of two word lists (see [`align`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `a[i]` and `b[j]` are paired (equal or substituted).
    Pair(usize, usize),
    /// `a[i]` has no partner in `b` (deleted).
    OnlyA(usize),
    /// `b[j]` has no partner in `a` (inserted).
    OnlyB(usize),
}

/// A cheapest alignment (unit costs) of `b` to `a`, in order; ties prefer pairing, then
/// leaving out a word of `a`, so the result is deterministic. The WER, the long-form
/// fragment count and the settle pass's split of a re-decoded text all walk this one.
pub fn align<S: AsRef<str>>(a: &[S], b: &[S]) -> Vec<Step> {
    let cost = costs(a, b);
    let mut steps = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 || j > 0 {
        let same = i > 0 && j > 0 && a[i - 1].as_ref() == b[j - 1].as_ref();
        if i > 0 && j > 0 && cost[i][j] == cost[i - 1][j - 1] + usize::from(!same) {
            steps.push(Step::Pair(i - 1, j - 1));
            i -= 1;
            j -= 1;
        } else if i > 0 && cost[i][j] == cost[i - 1][j] + 1 {
            steps.push(Step::OnlyA(i - 1));
            i -= 1;
        } else {
            steps.push(Step::OnlyB(j - 1));
            j -= 1;
        }
    }
    steps.reverse();
    steps
}

/// The edit-distance table of `b` against `a`: `cost[i][j]` for the first `i` words of `a`
/// and `j` of `b`.
fn costs<S: AsRef<str>>(a: &[S], b: &[S]) -> Vec<Vec<usize>> {
    let (n, m) = (a.len(), b.len());
    let mut cost = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in cost.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, c) in cost[0].iter_mut().enumerate() {
        *c = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let same = a[i - 1].as_ref() == b[j - 1].as_ref();
            cost[i][j] = (cost[i - 1][j - 1] + usize::from(!same))
                .min(cost[i - 1][j] + 1)
                .min(cost[i][j - 1] + 1);
        }
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_punctuation_do_not_count() {
        assert_eq!(keys("Hello, World! – 10×"), ["hello", "world", "10"]);
        assert_eq!(key("Ill-disposed."), "illdisposed");
    }

    #[test]
    fn alignment_pairs_leaves_out_and_inserts() {
        use Step::*;
        let a = ["ask", "not", "what", "your"];
        let b = ["as", "not", "what", "my", "your"];
        assert_eq!(
            align(&a, &b),
            [Pair(0, 0), Pair(1, 1), Pair(2, 2), OnlyB(3), Pair(3, 4)]
        );
        assert_eq!(
            align(&a, &["not"]),
            [OnlyA(0), Pair(1, 0), OnlyA(2), OnlyA(3)]
        );
        assert!(align::<&str>(&[], &[]).is_empty());
    }
}
