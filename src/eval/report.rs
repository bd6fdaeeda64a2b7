//! Scores clip runs and prints them: a table for people, or one JSON object (`--json`).

use serde::Serialize;

use super::normalize::normalize;
use super::runner::{ClipRun, Utterance};
use super::wer::{self, Score};

#[derive(Debug, Clone, Serialize)]
pub struct ClipReport {
    pub name: String,
    pub duration_s: f64,
    pub speech: bool,
    pub reference: String,
    pub hypothesis: String,
    /// Edit counts after normalising both sides (speech clips).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wer: Option<f64>,
    /// Words in the raw output (what a user would see), for non-speech clips above all.
    pub words_out: usize,
    pub failures: usize,
    pub seconds: f64,
    pub utterances: Vec<Utterance>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub model: String,
    pub guards: String,
    pub gain_db: f32,
    pub no_vad: bool,
    pub speech_clips: usize,
    /// Word-weighted over the speech clips.
    pub score: Score,
    pub wer: f64,
    pub nonspeech_clips: usize,
    pub nonspeech_words: usize,
    pub failures: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub clips: Vec<ClipReport>,
}

/// Scores one clip: normalised reference against normalised output.
pub fn score_clip(run: ClipRun) -> ClipReport {
    let hypothesis = run.text();
    let speech = run.clip.is_speech();
    let score = speech.then(|| {
        let (r, h) = wer::join_compounds(&normalize(&run.clip.reference), &normalize(&hypothesis));
        wer::score(&r, &h)
    });
    ClipReport {
        name: run.clip.name.clone(),
        duration_s: run.clip.duration_s,
        speech,
        reference: run.clip.reference.clone(),
        words_out: hypothesis.split_whitespace().count(),
        hypothesis,
        wer: score.map(|s| s.wer()),
        score,
        failures: run.failures(),
        seconds: run.seconds,
        utterances: run.utterances,
    }
}

/// Totals over the clips; `model`, `guards`, `gain_db` and `no_vad` describe the run.
pub fn summarize(
    clips: &[ClipReport],
    model: &str,
    guards: &str,
    gain_db: f32,
    no_vad: bool,
) -> Summary {
    let mut score = Score::default();
    for s in clips.iter().filter_map(|c| c.score.as_ref()) {
        score.add(s);
    }
    let nonspeech: Vec<&ClipReport> = clips.iter().filter(|c| !c.speech).collect();
    Summary {
        model: model.to_string(),
        guards: guards.to_string(),
        gain_db,
        no_vad,
        speech_clips: clips.iter().filter(|c| c.speech).count(),
        wer: score.wer(),
        score,
        nonspeech_clips: nonspeech.len(),
        nonspeech_words: nonspeech.iter().map(|c| c.words_out).sum(),
        failures: clips.iter().map(|c| c.failures).sum(),
        seconds: clips.iter().map(|c| c.seconds).sum(),
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "inf".into()
    }
}

/// A clip's line, plus its reference when there were errors.
pub fn clip_text(c: &ClipReport) -> String {
    let mut out = match &c.score {
        Some(s) => format!(
            "{:<44} {:>4} words {:>3} errors {:>7}  {}\n",
            c.name,
            s.ref_words,
            s.errors(),
            pct(s.wer()),
            c.hypothesis
        ),
        None => format!(
            "{:<44} non-speech: {} words  {:?}\n",
            c.name, c.words_out, c.hypothesis
        ),
    };
    if c.score.is_some_and(|s| s.errors() > 0) {
        out.push_str(&format!("{:<44} reference: {}\n", "", c.reference));
    }
    if c.failures > 0 {
        out.push_str(&format!("{:<44} {} utterance(s) failed\n", "", c.failures));
    }
    out
}

/// The totals.
pub fn summary_text(s: &Summary) -> String {
    let mut out = format!(
        "\nmodel {}  guards {}  gain {:+} dB{}\n",
        s.model,
        s.guards,
        s.gain_db,
        if s.no_vad { "  (no VAD)" } else { "" }
    );
    out.push_str(&format!(
        "WER {} over {} speech clips ({} errors in {} words: {} substitutions, {} deletions, {} insertions)\n",
        pct(s.wer),
        s.speech_clips,
        s.score.errors(),
        s.score.ref_words,
        s.score.substitutions,
        s.score.deletions,
        s.score.insertions
    ));
    out.push_str(&format!(
        "{} words on {} non-speech clips; {} failed utterances; {:.1} s\n",
        s.nonspeech_words, s.nonspeech_clips, s.failures, s.seconds
    ));
    out
}

/// The whole human-readable report.
pub fn text(report: &Report) -> String {
    let clips: String = report.clips.iter().map(clip_text).collect();
    clips + &summary_text(&report.summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::manifest::Clip;

    fn run(reference: &str, said: &[&str]) -> ClipRun {
        ClipRun {
            clip: Clip {
                name: "c".into(),
                path: "/c.wav".into(),
                duration_s: 2.0,
                reference: reference.into(),
            },
            utterances: said
                .iter()
                .map(|t| Utterance {
                    span: crate::vocab::Span::new(0.0, 1.0),
                    text: t.to_string(),
                    no_speech_prob: 0.0,
                    min_avg_logprob: -0.2,
                    tokens: 3,
                    speech_db: -20.0,
                    floor_db: -60.0,
                    worker_ms: 1.0,
                    error: None,
                })
                .collect(),
            source_error: None,
            seconds: 0.5,
            settle: Default::default(),
        }
    }

    #[test]
    fn speech_clip_scores_normalised_text_over_all_utterances() {
        let c = score_clip(run("go forward ten meters", &["Go forward", "10 metres."]));
        assert_eq!(c.hypothesis, "Go forward 10 metres.");
        assert_eq!(c.score.unwrap().errors(), 0);
        assert_eq!(c.words_out, 4);
    }

    #[test]
    fn non_speech_clip_counts_raw_words() {
        let c = score_clip(run("", &["[BLANK_AUDIO]", "Thank you."]));
        assert!(c.score.is_none());
        assert_eq!(c.words_out, 3);
        let quiet = score_clip(run("", &[]));
        assert_eq!(quiet.words_out, 0);
    }

    #[test]
    fn summary_is_word_weighted() {
        let clips = vec![
            score_clip(run("a b c d e f g h i j", &["a b c d e f g h i x"])),
            score_clip(run("k", &["z"])),
            score_clip(run("", &["you"])),
        ];
        let s = summarize(&clips, "tiny.en", "all", 0.0, false);
        assert_eq!(s.speech_clips, 2);
        assert_eq!(s.score.ref_words, 11);
        assert!((s.wer - 2.0 / 11.0).abs() < 1e-12);
        assert_eq!((s.nonspeech_clips, s.nonspeech_words), (1, 1));
        let t = text(&Report { summary: s, clips });
        assert!(t.contains("WER 18.2% over 2 speech clips"), "{t}");
        assert!(t.contains("1 words on 1 non-speech clips"), "{t}");
    }
}
