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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_punctuation_do_not_count() {
        assert_eq!(keys("Hello, World! – 10×"), ["hello", "world", "10"]);
        assert_eq!(key("Ill-disposed."), "illdisposed");
    }
}
