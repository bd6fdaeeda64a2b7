//! Transcript export: one session's finished utterances as plain text, Markdown, SubRip
//! (`.srt`), WebVTT (`.vtt`) or JSON. Pure string building; the caller writes the file.
//! Subtitle times are the utterances' own (seconds from the start of the session), so the
//! subtitles line up with a recording of the session started at the same moment.

use std::fmt::Write as _;

use serde::Serialize;

use crate::prose::{self, Prose, ProseConfig, Said};
use crate::vocab::{Span, UtteranceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Markdown,
    Srt,
    Vtt,
    Json,
}

impl Format {
    /// In the order the export list shows them.
    pub const ALL: [Format; 5] = [
        Format::Txt,
        Format::Markdown,
        Format::Srt,
        Format::Vtt,
        Format::Json,
    ];

    /// The file extension (also the format's short name).
    pub fn ext(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Markdown => "md",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
            Format::Json => "json",
        }
    }

    /// What the list says about it.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Txt => "plain text, a paragraph a line",
            Format::Markdown => "Markdown with timestamps",
            Format::Srt => "SubRip subtitles",
            Format::Vtt => "WebVTT subtitles",
            Format::Json => "JSON with times and ids",
        }
    }
}

/// One finished utterance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utterance {
    pub id: UtteranceId,
    /// Seconds from the start of the session.
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// What is exported: one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Doc {
    /// 1-based session number within the run.
    pub session: usize,
    /// The input it was recorded from.
    pub input: String,
    /// The session's folder (its name is the start time).
    pub folder: String,
    pub utterances: Vec<Utterance>,
    /// How the utterances join into paragraphs and which spoken commands apply.
    #[serde(skip)]
    pub prose: ProseConfig,
}

impl Doc {
    /// The utterances as prose (paragraphs, spoken commands applied).
    fn compose(&self) -> Prose<'_> {
        let said: Vec<Said<'_>> = self
            .utterances
            .iter()
            .map(|u| Said {
                id: u.id,
                span: Span::new(u.start, u.end),
                text: &u.text,
            })
            .collect();
        prose::compose(&said, &self.prose)
    }
}

/// The JSON export: every utterance as said, and how they read as prose.
#[derive(Serialize)]
struct JsonDoc<'a> {
    #[serde(flatten)]
    doc: &'a Doc,
    /// Each paragraph's text and its utterances' ids.
    paragraphs: Vec<JsonParagraph>,
    /// Utterances the text leaves out: spoken commands and what "scratch that" took back.
    left_out: Vec<UtteranceId>,
}

#[derive(Serialize)]
struct JsonParagraph {
    start: f64,
    text: String,
    ids: Vec<UtteranceId>,
}

/// `doc` in `format`. Every format ends with a newline. Control characters in the texts and
/// names (a crafted journal's escape sequences) never reach the output raw: dropped from the
/// text formats, escaped in JSON ([`crate::inert`]).
pub fn render(doc: &Doc, format: Format) -> String {
    if format == Format::Json {
        return crate::inert::json_escaped(render_raw(doc, format));
    }
    let line = |s: &str| crate::inert::inert_line(s).into_owned();
    let clean = Doc {
        session: doc.session,
        input: line(&doc.input),
        folder: line(&doc.folder),
        utterances: doc
            .utterances
            .iter()
            .map(|u| Utterance {
                text: line(&u.text),
                ..u.clone()
            })
            .collect(),
        prose: doc.prose.clone(),
    };
    render_raw(&clean, format)
}

fn render_raw(doc: &Doc, format: Format) -> String {
    match format {
        // One paragraph per line, no hard wrapping, a blank line between paragraphs.
        Format::Txt => doc
            .compose()
            .paragraphs
            .iter()
            .map(|p| format!("{}\n", p.text()))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Markdown => markdown(doc),
        Format::Srt => subtitles(doc, ",", |i| format!("{}\n", i + 1)),
        Format::Vtt => format!("WEBVTT\n\n{}", subtitles(doc, ".", |_| String::new())),
        Format::Json => json(doc),
    }
}

fn json(doc: &Doc) -> String {
    let prose = doc.compose();
    let paragraphs = prose
        .paragraphs
        .iter()
        .map(|p| JsonParagraph {
            start: p.start_s(),
            text: p.text(),
            ids: p.utterances().map(|s| s.id).collect(),
        })
        .collect();
    let out = JsonDoc {
        doc,
        paragraphs,
        left_out: prose.left_out.clone(),
    };
    // Serialising plain strings and numbers cannot fail.
    let mut json = serde_json::to_string_pretty(&out).unwrap_or_default();
    json.push('\n');
    json
}

/// `2026-01-02 03:04` from a session folder named for its start (`…/2026-01-02T03-04-05`,
/// `_` for `T` in older ones, a `-2` suffix for the second in the same second).
pub fn started_of(folder: &str) -> Option<String> {
    let name = folder.rsplit('/').next()?;
    let b = name.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let shaped = b.len() >= 16
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b'_')
        && digits(11..13)
        && b[13] == b'-'
        && digits(14..16);
    shaped.then(|| format!("{} {}:{}", &name[..10], &name[11..13], &name[14..16]))
}

fn markdown(doc: &Doc) -> String {
    // The date says which recording this is; "session N" alone was 1 in every file.
    let mut out = match started_of(&doc.folder) {
        Some(when) => format!("# Transcript, {when}\n\n"),
        None => format!("# Transcript: session {}\n\n", doc.session),
    };
    let _ = writeln!(out, "- Input: {}", doc.input);
    let _ = writeln!(out, "- Folder: `{}`\n", doc.folder);
    // A paragraph with the time it starts; "new line" as a Markdown line break.
    for p in &doc.compose().paragraphs {
        let text = p.text().replace('\n', "  \n");
        let _ = writeln!(out, "**[{}]** {text}\n", mmss(p.start_s()));
    }
    // One trailing newline, not a blank line.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// SRT and VTT cues: `header(i)`, `start --> end`, text, blank line.
fn subtitles(doc: &Doc, frac_sep: &str, header: impl Fn(usize) -> String) -> String {
    let mut out = String::new();
    // One cue per utterance that stays (not the spoken commands, nor what they took back).
    let prose = doc.compose();
    for (i, u) in prose.kept().enumerate() {
        let (u, text) = (u.span, u.text);
        // A cue must not end before it starts, whatever the input says.
        let end = u.end_s.max(u.start_s);
        let _ = write!(
            out,
            "{}{} --> {}\n{}\n\n",
            header(i),
            timestamp(u.start_s, frac_sep),
            timestamp(end, frac_sep),
            text.trim()
        );
    }
    if out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// `hh:mm:ss,mmm` (SRT) or `hh:mm:ss.mmm` (VTT).
fn timestamp(seconds: f64, frac_sep: &str) -> String {
    // Rounding to whole milliseconds is the point.
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{frac_sep}{ms:03}")
}

fn mmss(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        Doc {
            session: 2,
            input: "default".into(),
            folder: "/s/2026-01-02T03-04-05".into(),
            utterances: vec![
                Utterance {
                    id: UtteranceId(4),
                    start: 1.25,
                    end: 3.5,
                    text: "Hello there.".into(),
                },
                Utterance {
                    id: UtteranceId(5),
                    start: 3661.0,
                    end: 3662.0004,
                    text: "An hour later.".into(),
                },
            ],
            prose: ProseConfig::default(),
        }
    }

    #[test]
    fn txt_is_one_line_per_paragraph_with_blank_lines_between() {
        // An hour apart: two paragraphs.
        assert_eq!(
            render(&doc(), Format::Txt),
            "Hello there.\n\nAn hour later.\n"
        );
        assert_eq!(
            render(&dictation(), Format::Txt),
            "Dear Anna,\nthanks for the notes, see you Monday.\n\nSend it Tuesday.\n"
        );
    }

    /// Pauses under 3 s, "new line", "scratch that", "new paragraph".
    fn dictation() -> Doc {
        let utt = |id: u64, start: f64, text: &str| Utterance {
            id: UtteranceId(id),
            start,
            end: start + 1.0,
            text: text.into(),
        };
        Doc {
            utterances: vec![
                utt(1, 0.0, "Dear Anna,"),
                utt(2, 1.5, "New line."),
                utt(3, 3.0, "thanks for the notes."),
                utt(4, 4.5, "see you Monday."),
                utt(5, 6.0, "New paragraph."),
                utt(6, 7.5, "Send it Friday."),
                utt(7, 9.0, "Scratch that."),
                utt(8, 10.5, "Send it Tuesday."),
            ],
            ..doc()
        }
    }

    #[test]
    fn every_format_applies_the_spoken_commands() {
        let md = render(&dictation(), Format::Markdown);
        assert!(
            md.contains("**[00:00]** Dear Anna,  \nthanks for the notes, see you Monday.\n\n**[00:10]** Send it Tuesday.\n"),
            "{md}"
        );
        for f in [Format::Srt, Format::Vtt] {
            let out = render(&dictation(), f);
            assert_eq!(
                out.matches(" --> ").count(),
                4,
                "{f:?}: one cue per kept utterance\n{out}"
            );
            assert!(
                !out.contains("New line") && !out.contains("Scratch") && !out.contains("Friday"),
                "{out}"
            );
        }
        let v: serde_json::Value =
            serde_json::from_str(&render(&dictation(), Format::Json)).unwrap();
        assert_eq!(v["utterances"].as_array().unwrap().len(), 8, "all as said");
        assert_eq!(v["paragraphs"][0]["ids"], serde_json::json!([1, 3, 4]));
        assert_eq!(v["paragraphs"][1]["text"], "Send it Tuesday.");
        assert_eq!(v["left_out"], serde_json::json!([2, 5, 6, 7]));
    }

    #[test]
    fn srt_numbers_cues_and_uses_commas() {
        let want = "1\n00:00:01,250 --> 00:00:03,500\nHello there.\n\n\
                    2\n01:01:01,000 --> 01:01:02,000\nAn hour later.\n";
        assert_eq!(render(&doc(), Format::Srt), want);
    }

    #[test]
    fn vtt_has_its_header_and_dots() {
        let want = "WEBVTT\n\n00:00:01.250 --> 00:00:03.500\nHello there.\n\n\
                    01:01:01.000 --> 01:01:02.000\nAn hour later.\n";
        assert_eq!(render(&doc(), Format::Vtt), want);
    }

    #[test]
    fn markdown_has_a_heading_and_timestamps() {
        let md = render(&doc(), Format::Markdown);
        assert!(
            md.starts_with("# Transcript, 2026-01-02 03:04\n\n- Input: default\n"),
            "{md}"
        );
        let undated = Doc {
            folder: "/s/notes".into(),
            ..doc()
        };
        assert!(render(&undated, Format::Markdown).starts_with("# Transcript: session 2\n"));
        assert_eq!(
            started_of("/x/2026-12-01_10-00-00-2").as_deref(),
            Some("2026-12-01 10:00")
        );
        assert!(md.contains("**[00:01]** Hello there.\n\n**[61:01]** An hour later.\n"));
        assert!(md.ends_with(".\n") && !md.ends_with("\n\n"));
    }

    #[test]
    fn json_round_trips() {
        let v: serde_json::Value = serde_json::from_str(&render(&doc(), Format::Json)).unwrap();
        assert_eq!(v["session"], 2);
        assert_eq!(v["utterances"][1]["id"], 5);
        assert_eq!(v["utterances"][0]["text"], "Hello there.");
        assert_eq!(v["utterances"][0]["start"], 1.25);
    }

    #[test]
    fn empty_doc_is_still_valid() {
        let empty = Doc {
            utterances: vec![],
            ..doc()
        };
        assert_eq!(render(&empty, Format::Txt), "");
        assert_eq!(render(&empty, Format::Vtt), "WEBVTT\n\n");
        assert_eq!(render(&empty, Format::Srt), "");
    }

    #[test]
    fn escape_sequences_never_reach_an_export_raw() {
        let doc = Doc {
            session: 1,
            input: "mic\x1b]0;title\x07".into(),
            folder: "/s".into(),
            utterances: vec![Utterance {
                id: UtteranceId(1),
                start: 0.0,
                end: 1.0,
                text: "hi\x1b]52;c;aGk=\x07 there\u{9b}2J\nnext".into(),
            }],
            prose: ProseConfig::default(),
        };
        for f in Format::ALL {
            let out = render(&doc, f);
            assert!(
                !out.chars().any(|c| c.is_control() && c != '\n'),
                "{f:?}: {out:?}"
            );
            assert!(out.contains("there"), "{f:?}");
        }
        assert_eq!(render(&doc, Format::Txt), "hi]52;c;aGk= there2J next\n");
    }
}
