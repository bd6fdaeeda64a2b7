//! Text from outside (journal entries, transcripts, file and device names) made harmless for
//! a terminal. A crafted journal printed by `sessions show` set the clipboard (OSC 52),
//! cleared the screen and set the window title: every control character except newline and
//! tab is dropped from what is printed or written to txt/md/srt/vtt, and JSON output escapes
//! the C1 range too (serde_json escapes only C0).

use std::borrow::Cow;

/// A control character a terminal could act on: C0 (but newline and tab), DEL and C1.
fn is_active(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` without control characters (newline and tab kept).
pub fn inert(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_active) {
        Cow::Owned(s.chars().filter(|&c| !is_active(c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` on one line: as [`inert`], and newlines and tabs become spaces (for names, ids and
/// headers).
pub fn inert_line(s: &str) -> Cow<'_, str> {
    if s.chars().any(|c| is_active(c) || c == '\n' || c == '\t') {
        Cow::Owned(
            s.chars()
                .filter(|&c| !is_active(c))
                .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// JSON text with every control character left raw by serde_json (C1, DEL, U+2028/9)
/// written as a `\uXXXX` escape. Valid on any JSON text: outside strings JSON has only ASCII
/// structure, so these can only occur inside strings.
pub fn json_escaped(json: String) -> String {
    if !json.chars().any(is_active) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_active(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_clipboard_title_and_clear_are_dropped_text_and_newlines_kept() {
        let hostile = "a\x1b]52;c;aGk=\x07b\x1b[2J\x1b]0;pwned\x07c\u{9b}31md\r\x7f\ne\tf";
        assert_eq!(inert(hostile), "a]52;c;aGk=b[2J]0;pwnedc31md\ne\tf");
        assert_eq!(inert_line("x\ny\tz\x1b"), "x y z");
        assert!(matches!(inert("plain, ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_keeps_meaning_and_escapes_c1() {
        let v = serde_json::json!({ "text": "a\u{9b}b\u{1b}c" });
        let s = json_escaped(serde_json::to_string(&v).unwrap());
        assert!(s.chars().all(|c| !c.is_control()), "{s:?}");
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
