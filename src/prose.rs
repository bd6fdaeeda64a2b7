//! Utterances as prose: joined into paragraphs (a new one after a long pause, or when the
//! speaker says "new paragraph"), with the spoken commands applied ("new line" breaks the
//! line, "scratch that" takes back the utterance before). Pure: the exports and `sessions
//! export` lay out what this returns; the journal keeps every utterance as it was said.

use serde::{Deserialize, Serialize};

use crate::vocab::{Span, UtteranceId};

/// The `[prose]` table of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProseConfig {
    /// A pause at least this long (seconds, between one utterance's end and the next one's
    /// start) starts a new paragraph.
    pub paragraph_pause_s: f64,
    /// "new paragraph" alone in an utterance starts a new paragraph.
    pub new_paragraph: bool,
    /// "new line" alone in an utterance breaks the line.
    pub new_line: bool,
    /// "scratch that" alone in an utterance takes back the utterance before it.
    pub scratch_that: bool,
}

impl Default for ProseConfig {
    fn default() -> Self {
        ProseConfig {
            paragraph_pause_s: 3.0,
            new_paragraph: true,
            new_line: true,
            scratch_that: true,
        }
    }
}

/// Words whose full stop is part of them.
const ABBREVIATIONS: [&str; 6] = ["Mr.", "Mrs.", "Ms.", "Dr.", "St.", "vs."];

/// Utterance texts joined by spaces (empty ones skipped). Where one starts in lower case,
/// whisper heard a sentence go on (the prompt showed it the text before, see
/// `pool::context`), so the full stop or exclamation mark ending the text before it was the
/// pause's, not the speaker's: it becomes a comma ("And so my fellow Americans. ask not
/// what…" reads "…fellow Americans, ask not what…").
pub fn join<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for t in texts.into_iter().map(str::trim).filter(|t| !t.is_empty()) {
        let continues = t.chars().next().is_some_and(char::is_lowercase);
        let last_word = out.rsplit(' ').next().unwrap_or("");
        if continues && out.ends_with(['.', '!']) && !ABBREVIATIONS.contains(&last_word) {
            out.pop();
            out.push(',');
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

/// A finished utterance, as the prose sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Said<'a> {
    pub id: UtteranceId,
    pub span: Span,
    pub text: &'a str,
}

/// A spoken command, recognised when it is all an utterance says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    NewParagraph,
    NewLine,
    ScratchThat,
}

impl Command {
    /// The command `text` is, if it is one that `cfg` has on ("New paragraph." is).
    pub fn of(text: &str, cfg: &ProseConfig) -> Option<Command> {
        let words = crate::text::keys(text);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["new", "paragraph"] if cfg.new_paragraph => Some(Command::NewParagraph),
            ["new", "line"] | ["newline"] if cfg.new_line => Some(Command::NewLine),
            ["scratch", "that"] if cfg.scratch_that => Some(Command::ScratchThat),
            _ => None,
        }
    }
}

/// One line of a paragraph: the utterances on it, in order.
pub type Line<'a> = Vec<Said<'a>>;

/// A paragraph: its lines ("new line" starts another).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Paragraph<'a> {
    pub lines: Vec<Line<'a>>,
}

impl Paragraph<'_> {
    /// The paragraph's text, lines joined by `\n`, utterances as [`join`] does.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| join(l.iter().map(|s| s.text)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Where the paragraph starts in the session (its first utterance's start).
    pub fn start_s(&self) -> f64 {
        self.utterances().next().map_or(0.0, |s| s.span.start_s)
    }

    pub fn utterances(&self) -> impl Iterator<Item = &Said<'_>> {
        self.lines.iter().flatten()
    }
}

/// What became of the utterances: the paragraphs, and the ids left out (commands, and the
/// utterances "scratch that" took back).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prose<'a> {
    pub paragraphs: Vec<Paragraph<'a>>,
    pub left_out: Vec<UtteranceId>,
}

impl<'a> Prose<'a> {
    /// The utterances that stay, in order (for one cue each in subtitles).
    pub fn kept(&self) -> impl Iterator<Item = &Said<'a>> {
        self.paragraphs
            .iter()
            .flat_map(|p| p.lines.iter().flatten())
    }
}

/// Lays out `said` (finished utterances in order; empty texts are skipped) as paragraphs.
pub fn compose<'a>(said: &[Said<'a>], cfg: &ProseConfig) -> Prose<'a> {
    let mut kept: Vec<(Said<'a>, Break)> = Vec::new();
    let mut left_out = Vec::new();
    let mut pending = Break::None;
    // The pause that starts a paragraph is the speaker's: from whatever was said last, a
    // command or a taken-back utterance included.
    let mut last_end: Option<f64> = None;
    for s in said.iter().filter(|s| !s.text.trim().is_empty()) {
        let paused = last_end.is_some_and(|end| s.span.start_s - end >= cfg.paragraph_pause_s);
        last_end = Some(s.span.end_s);
        if paused && !kept.is_empty() {
            pending = Break::Paragraph;
        }
        match Command::of(s.text, cfg) {
            Some(Command::NewParagraph) => pending = Break::Paragraph,
            Some(Command::NewLine) => pending = pending.max(Break::Line),
            Some(Command::ScratchThat) => {
                if let Some((gone, brk)) = kept.pop() {
                    left_out.push(gone.id);
                    // What was to come before the taken-back utterance comes before the next.
                    pending = pending.max(brk);
                }
            }
            None => {
                kept.push((s.clone(), pending));
                pending = Break::None;
                continue;
            }
        }
        left_out.push(s.id);
    }
    let mut paragraphs: Vec<Paragraph<'a>> = Vec::new();
    for (s, brk) in kept {
        match (paragraphs.last_mut(), brk) {
            (Some(p), Break::None) => p.lines.last_mut().expect("a line").push(s),
            (Some(p), Break::Line) => p.lines.push(vec![s]),
            _ => paragraphs.push(Paragraph {
                lines: vec![vec![s]],
            }),
        }
    }
    left_out.sort();
    Prose {
        paragraphs,
        left_out,
    }
}

/// What comes before an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    None,
    Line,
    Paragraph,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(list: &[(u64, f64, f64, &'static str)]) -> Vec<Said<'static>> {
        list.iter()
            .map(|&(id, a, b, text)| Said {
                id: UtteranceId(id),
                span: Span::new(a, b),
                text,
            })
            .collect()
    }

    fn texts(p: &Prose) -> Vec<String> {
        p.paragraphs.iter().map(Paragraph::text).collect()
    }

    #[test]
    fn short_pauses_join_and_a_long_one_starts_a_paragraph() {
        let s = said(&[
            (1, 0.0, 2.0, "So the plan for tomorrow is"),
            (2, 2.8, 5.0, "first, we review the pull requests."),
            (3, 8.5, 10.0, "Then we ship."),
        ]);
        let p = compose(&s, &ProseConfig::default());
        assert_eq!(
            texts(&p),
            [
                "So the plan for tomorrow is first, we review the pull requests.",
                "Then we ship."
            ]
        );
        assert_eq!(p.paragraphs[1].start_s(), 8.5);
        assert!(p.left_out.is_empty());
    }

    #[test]
    fn new_paragraph_and_new_line_break_the_text_and_are_not_written() {
        let s = said(&[
            (1, 0.0, 1.0, "Dear Anna,"),
            (2, 1.2, 2.0, "New line."),
            (3, 2.2, 4.0, "thanks for the notes."),
            (4, 4.2, 5.0, "New paragraph."),
            (5, 5.2, 7.0, "See you Monday."),
        ]);
        let p = compose(&s, &ProseConfig::default());
        assert_eq!(
            texts(&p),
            ["Dear Anna,\nthanks for the notes.", "See you Monday."]
        );
        assert_eq!(p.left_out, [UtteranceId(2), UtteranceId(4)]);
        assert_eq!(p.kept().count(), 3);
    }

    #[test]
    fn scratch_that_takes_back_the_utterance_before() {
        let s = said(&[
            (1, 0.0, 1.0, "Send it Friday."),
            (2, 1.5, 2.5, "Send it Monday."),
            (3, 3.0, 3.8, "Scratch that."),
            (4, 4.0, 5.0, "Send it Tuesday."),
        ]);
        let p = compose(&s, &ProseConfig::default());
        assert_eq!(texts(&p), ["Send it Friday. Send it Tuesday."]);
        assert_eq!(p.left_out, [UtteranceId(2), UtteranceId(3)]);
        // With nothing before it, it takes back nothing (and is not written).
        let p = compose(
            &said(&[(1, 0.0, 1.0, "scratch that")]),
            &ProseConfig::default(),
        );
        assert!(p.paragraphs.is_empty());
    }

    #[test]
    fn commands_switched_off_are_plain_text() {
        let cfg = ProseConfig {
            new_paragraph: false,
            new_line: false,
            scratch_that: false,
            ..ProseConfig::default()
        };
        let s = said(&[(1, 0.0, 1.0, "Hello."), (2, 1.2, 2.0, "Scratch that.")]);
        assert_eq!(texts(&compose(&s, &cfg)), ["Hello. Scratch that."]);
        assert_eq!(
            Command::of("New paragraph, please.", &ProseConfig::default()),
            None,
            "only when it is all the utterance says"
        );
    }

    #[test]
    fn a_sentence_going_on_after_a_pause_loses_the_pause_s_full_stop() {
        assert_eq!(
            join([
                "And so my fellow Americans.",
                "ask not what your country can do for you."
            ]),
            "And so my fellow Americans, ask not what your country can do for you."
        );
        assert_eq!(
            join(["Stop!", "Then go."]),
            "Stop! Then go.",
            "a new sentence stays"
        );
        assert_eq!(
            join(["I met Mr.", "smith"]),
            "I met Mr. smith",
            "abbreviations keep theirs"
        );
        assert_eq!(
            join(["Really?", "yes"]),
            "Really? yes",
            "a question stays one"
        );
        assert_eq!(join(["", " a ", "b"]), "a b");
    }

    #[test]
    fn empty_utterances_are_skipped() {
        let s = said(&[
            (1, 0.0, 1.0, "One."),
            (2, 1.1, 1.5, "  "),
            (3, 1.6, 2.0, "Two."),
        ]);
        assert_eq!(texts(&compose(&s, &ProseConfig::default())), ["One. Two."]);
    }
}
