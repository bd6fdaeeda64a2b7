//! `recorder eval MANIFEST --short`: do the guards keep real short utterances? The speech
//! clips are cut at word boundaries into pieces of 1-4 words ("and then", "ask not", "four
//! queen of clubs"), each with half a second of silence around it as a pause would leave,
//! and every piece goes through the pipeline like a dictation's short phrase. Word times
//! come from a whisper pass with token timestamps over the whole clip; a cut falls halfway
//! between two words. A piece is *kept* when the pipeline writes any word for it.

use std::path::Path;

use serde::Serialize;

use super::manifest::Clip;
use super::normalize::normalize;
use super::runner;
use super::timing::WordTimer;
use crate::audio::{SAMPLE_RATE, wav};
use crate::config::Config;

/// A word with its start and end (s) in the clip.
#[derive(Debug, Clone)]
struct TimedWord {
    text: String,
    start: f64,
    end: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Piece {
    pub name: String,
    pub reference: String,
    pub hypothesis: String,
    pub kept: bool,
    /// Reference words the output has (normalised, in any order).
    pub words_found: usize,
    pub words: usize,
    /// Per utterance the pipeline made of it: whisper's no-speech probability and how far
    /// the audio stands out of its floor (dB), to see which guard decided.
    pub evidence: Vec<(f32, f32)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShortReport {
    pub pieces: Vec<Piece>,
    pub total: usize,
    pub kept: usize,
    pub words: usize,
    pub words_found: usize,
    pub failures: usize,
}

/// Words with times from whisper's token timestamps over `samples`: a word starts at a token
/// with a leading space and ends with its last letter or digit. (DTW token times, tried with
/// tiny.en's alignment heads, came out late: clips' last words fell outside their pieces,
/// 157 of 325 words found against 202.)
fn timed_words(timer: &WordTimer, samples: &[f32]) -> anyhow::Result<Vec<TimedWord>> {
    let mut words: Vec<TimedWord> = Vec::new();
    for t in timer.tokens(samples)? {
        let alnum = t.piece.chars().any(char::is_alphanumeric);
        match words.last_mut() {
            Some(w) if !t.piece.starts_with(' ') => {
                w.text.push_str(&t.piece);
                if alnum {
                    w.end = t.t1;
                }
            }
            _ => words.push(TimedWord {
                text: t.piece.trim().to_string(),
                start: t.t0,
                end: t.t1,
            }),
        }
    }
    words.retain(|w| !normalize(&w.text).is_empty());
    Ok(words)
}

/// Cuts `samples` into pieces of 1, 2, 3, 4, 1, 2, … words, each padded with 0.5 s of
/// silence, written into `dir` as clips.
fn cut_pieces(
    clip: &Clip,
    samples: &[f32],
    words: &[TimedWord],
    dir: &Path,
) -> anyhow::Result<Vec<Clip>> {
    let at = |s: f64| ((s.max(0.0) * SAMPLE_RATE as f64) as usize).min(samples.len());
    let pad = vec![0.0f32; SAMPLE_RATE as usize / 2];
    let mut out = Vec::new();
    let (mut i, mut n) = (0, 1);
    while i < words.len() {
        let j = (i + n).min(words.len());
        let start = if i == 0 {
            0.0
        } else {
            (words[i - 1].end + words[i].start) / 2.0
        };
        let end = match words.get(j) {
            Some(next) => (words[j - 1].end + next.start) / 2.0,
            None => samples.len() as f64 / SAMPLE_RATE as f64,
        };
        let mut audio = pad.clone();
        audio.extend_from_slice(&samples[at(start)..at(end).max(at(start))]);
        audio.extend_from_slice(&pad);
        let name = format!("{}@{:.2}", clip.name, start);
        let path = dir.join(format!("{name}.wav"));
        wav::write_16k_mono(&path, &audio)?;
        let reference: Vec<&str> = words[i..j].iter().map(|w| w.text.as_str()).collect();
        out.push(Clip {
            name,
            path,
            duration_s: audio.len() as f64 / SAMPLE_RATE as f64,
            reference: reference.join(" "),
        });
        i = j;
        n = n % 4 + 1;
    }
    Ok(out)
}

/// Builds the pieces of the speech clips and runs them; ONNX Runtime must be initialised.
/// With `no_vad` each piece goes to whisper whole (with `RECORDER_GUARDS=none`: what whisper
/// alone writes of the pieces, the ceiling for the pipeline).
pub async fn run(
    cfg: &Config,
    clips: &[Clip],
    tmp: &Path,
    no_vad: bool,
) -> anyhow::Result<ShortReport> {
    let model = crate::engine::EngineConfig::from_config(cfg)?.model;
    let timer = WordTimer::load(&model, cfg.threads)?;
    let dir = tmp.join("short");
    std::fs::create_dir_all(&dir)?;
    let mut pieces = Vec::new();
    for clip in clips.iter().filter(|c| c.is_speech()) {
        let samples = wav::read_16k_mono(&clip.path)?;
        let words = timed_words(&timer, &samples)?;
        pieces.extend(cut_pieces(clip, &samples, &words, &dir)?);
    }
    drop(timer);
    let runs = runner::run_clips(cfg, &pieces, &tmp.join("sessions"), no_vad, |_| {}).await?;
    let failures = runs.iter().map(|r| r.failures()).sum();
    let pieces: Vec<Piece> = runs
        .iter()
        .map(|r| {
            let hypothesis = r.text();
            let heard = normalize(&hypothesis);
            let reference = normalize(&r.clip.reference);
            Piece {
                name: r.clip.name.clone(),
                reference: r.clip.reference.clone(),
                kept: !heard.is_empty(),
                words_found: reference.iter().filter(|w| heard.contains(w)).count(),
                words: reference.len(),
                hypothesis,
                evidence: r
                    .utterances
                    .iter()
                    .map(|u| (u.no_speech_prob, u.speech_db - u.floor_db))
                    .collect(),
            }
        })
        .collect();
    Ok(ShortReport {
        total: pieces.len(),
        kept: pieces.iter().filter(|p| p.kept).count(),
        words: pieces.iter().map(|p| p.words).sum(),
        words_found: pieces.iter().map(|p| p.words_found).sum(),
        failures,
        pieces,
    })
}

/// The dropped pieces, then the totals.
pub fn text(r: &ShortReport) -> String {
    let mut out = String::new();
    for p in r.pieces.iter().filter(|p| !p.kept) {
        let evidence: Vec<String> = p
            .evidence
            .iter()
            .map(|(nsp, snr)| format!("no-speech {nsp:.2}, {snr:.0} dB over floor"))
            .collect();
        let evidence = if evidence.is_empty() {
            "no utterance".to_string()
        } else {
            evidence.join("; ")
        };
        out.push_str(&format!(
            "dropped  {:<48} {:<22} ({evidence})\n",
            p.name,
            format!("{:?}", p.reference)
        ));
    }
    out.push_str(&format!(
        "short utterances: {} of {} kept; {} of {} reference words found; {} failures\n",
        r.kept, r.total, r.words_found, r.words, r.failures
    ));
    out
}
