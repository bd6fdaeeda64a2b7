//! `recorder eval MANIFEST --long-form`: prose as a person dictates it. Eval clips are
//! joined into one recording with pauses between them and scored as one text against the
//! joined references: the word error rate, and the **fragment rate**: sentence breaks in
//! the output that the reference does not have, per 100 output words (every pause used to
//! become a full stop and a capital: "And so my fellow Americans. Ask, not! What your…").
//!
//! Two sets (clip names in the owners' eval set):
//! - `reader`: the five consecutive Sense and Sensibility passages of one reader. Their
//!   references carry no punctuation; the book's does, and it decides where a sentence
//!   ends: "…to do for them. He was not an ill-disposed young man, unless to be rather
//!   cold-hearted and rather selfish is to be ill-disposed: … Had he married a more
//!   amiable woman, he might have been made still more respectable than he was; he might
//!   even have been made amiable himself". [`READER`] marks the passages that go on.
//! - `mixed`: single-sentence clips of different speakers (references whose sentence ends
//!   are known: punctuated, or one sentence each).
//!
//! The pauses are silence, cycling through 0.5-3 s as a speaker's do.

use std::path::Path;

use serde::Serialize;

use super::manifest::Clip;
use super::normalize::normalize;
use super::runner;
use super::wer::{self, Score};
use crate::audio::{SAMPLE_RATE, wav};
use crate::config::Config;

/// The reader's passages in order; `true`: the sentence goes on into the next passage.
const READER: [(&str, bool); 5] = [
    ("ps_librivox_sense_and_sensibility_0870", false),
    ("ps_librivox_sense_and_sensibility_0880", true),
    ("ps_librivox_sense_and_sensibility_0890", false),
    ("ps_librivox_sense_and_sensibility_0920", true),
    ("ps_librivox_sense_and_sensibility_0930", false),
];

/// One sentence (or a punctuated reference) each, different speakers.
const MIXED: [&str; 10] = [
    "fw_jfk",
    "fw_stereo_diarization_left",
    "cheetah_test_en",
    "leopard_test",
    "deepspeech_LDC93S1",
    "fw_stereo_diarization_right",
    "deepspeech_new-home-in-the-stars",
    "speechbrain_example1",
    "ps_goforward",
    "speechbrain_example2",
];

/// Pauses between clips (s), used in turn.
const GAPS_S: [f32; 5] = [0.8, 1.5, 0.5, 3.0, 1.2];

/// One joined recording, scored.
#[derive(Debug, Clone, Serialize)]
pub struct LongRun {
    pub set: String,
    pub audio_s: f64,
    pub reference: String,
    pub hypothesis: String,
    pub utterances: usize,
    pub score: Score,
    pub wer: f64,
    /// Sentence breaks in the output, and of those not in the reference.
    pub breaks: usize,
    pub fragments: usize,
    /// Fragments per 100 output words.
    pub fragment_rate: f64,
    pub failures: usize,
    pub seconds: f64,
    /// The settle passes over the set (passes taken and refused, their worker time).
    pub settle: crate::eval::runner::SettleCount,
    /// Settle worker time per minute of audio, in seconds.
    pub settle_s_per_min: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LongReport {
    pub no_vad: bool,
    pub context_chars: usize,
    /// The settle pause in seconds (None: no settle pass).
    pub settle_pause_s: Option<f64>,
    pub runs: Vec<LongRun>,
}

/// A word of a text (lower-case letters and digits) and whether a sentence ends after it.
#[derive(Debug, Clone, PartialEq)]
struct Word {
    key: String,
    ends: bool,
}

/// Abbreviations whose full stop ends no sentence.
const ABBREVIATIONS: [&str; 6] = ["mr", "mrs", "ms", "dr", "st", "vs"];

/// The words of `text`; a word ending in `.`, `!` or `?` ends a sentence (an abbreviation
/// does not), and so does the last word when `ends` says the text ends one.
fn words(text: &str, ends: bool) -> Vec<Word> {
    let mut out: Vec<Word> = text
        .split_whitespace()
        .filter_map(|raw| {
            let key = crate::text::key(raw);
            let stop = raw
                .trim_end_matches(['"', '\'', ')'])
                .ends_with(['.', '!', '?']);
            (!key.is_empty()).then(|| Word {
                ends: stop && !ABBREVIATIONS.contains(&key.as_str()),
                key,
            })
        })
        .collect();
    if let Some(last) = out.last_mut() {
        last.ends = ends;
    }
    out
}

/// For each hypothesis word, the reference word a cheapest alignment pairs it with (`None`:
/// inserted).
fn align(reference: &[Word], hyp: &[Word]) -> Vec<Option<usize>> {
    let keys = |w: &[Word]| w.iter().map(|w| w.key.clone()).collect::<Vec<_>>();
    wer::hyp_pairs(&keys(reference), &keys(hyp))
}

/// (sentence breaks in `hyp`, of those not in `reference`). A break counts as the
/// reference's when the reference ends a sentence within one word of where it is paired
/// (whisper may hear a word more or less at a seam). The output's last word is no break.
fn fragments(reference: &[Word], hyp: &[Word]) -> (usize, usize) {
    let pairs = align(reference, hyp);
    let near_end = |i: usize| {
        (i.saturating_sub(1)..=(i + 1).min(reference.len().saturating_sub(1)))
            .any(|k| reference[k].ends)
    };
    let mut breaks = 0;
    let mut wrong = 0;
    for (j, w) in hyp.iter().enumerate().take(hyp.len().saturating_sub(1)) {
        if !w.ends {
            continue;
        }
        breaks += 1;
        // An inserted word: judge it by the paired word before it.
        let at = pairs[..=j].iter().rev().find_map(|p| *p);
        if !at.is_some_and(near_end) {
            wrong += 1;
        }
    }
    (breaks, wrong)
}

/// The clips of a set, in order, with whether each one's last sentence goes on.
fn set_clips<'a>(all: &'a [Clip], names: &[(&str, bool)]) -> anyhow::Result<Vec<(&'a Clip, bool)>> {
    names
        .iter()
        .map(|&(name, goes_on)| {
            all.iter()
                .find(|c| c.name == name)
                .map(|c| (c, goes_on))
                .ok_or_else(|| {
                    anyhow::anyhow!("the long-form set needs clip {name}, not in the manifest")
                })
        })
        .collect()
}

/// Writes the clips joined with [`GAPS_S`] of silence as `dir/NAME.wav`; returns it as a clip
/// with the joined reference, and the reference's words.
fn join(dir: &Path, name: &str, clips: &[(&Clip, bool)]) -> anyhow::Result<(Clip, Vec<Word>)> {
    let mut samples = Vec::new();
    let mut reference = Vec::new();
    let mut ref_words = Vec::new();
    for (i, (clip, goes_on)) in clips.iter().enumerate() {
        if i > 0 {
            let gap = GAPS_S[(i - 1) % GAPS_S.len()];
            samples.resize(samples.len() + (gap * SAMPLE_RATE as f32) as usize, 0.0);
        }
        samples.extend(wav::read_16k_mono(&clip.path)?);
        reference.push(clip.reference.trim().to_string());
        ref_words.extend(words(&clip.reference, !goes_on));
    }
    let path = dir.join(format!("{name}.wav"));
    wav::write_16k_mono(&path, &samples)?;
    let clip = Clip {
        name: name.to_string(),
        path,
        duration_s: samples.len() as f64 / SAMPLE_RATE as f64,
        reference: reference.join(" "),
    };
    Ok((clip, ref_words))
}

/// Runs both sets through the pipeline (or whole, `no_vad`).
pub async fn run(
    cfg: &Config,
    all: &[Clip],
    dir: &Path,
    no_vad: bool,
) -> anyhow::Result<LongReport> {
    let mixed: Vec<(&str, bool)> = MIXED.iter().map(|&n| (n, false)).collect();
    let mut sets = Vec::new();
    for (name, names) in [("reader", &READER[..]), ("mixed", &mixed[..])] {
        sets.push(join(dir, name, &set_clips(all, names)?)?);
    }
    let clips: Vec<Clip> = sets.iter().map(|(c, _)| c.clone()).collect();
    let runs = runner::run_clips(cfg, &clips, &dir.join("sessions"), no_vad, |_| {}).await?;
    let runs = runs
        .into_iter()
        .zip(&sets)
        .map(|(r, (clip, ref_words))| {
            let hypothesis = r.text();
            let score = wer::score(&normalize(&clip.reference), &normalize(&hypothesis));
            let hyp_words = words(&hypothesis, true);
            let (breaks, fragments) = fragments(ref_words, &hyp_words);
            LongRun {
                set: clip.name.clone(),
                audio_s: clip.duration_s,
                reference: clip.reference.clone(),
                utterances: r.utterances.len(),
                wer: score.wer(),
                score,
                breaks,
                fragments,
                fragment_rate: 100.0 * fragments as f64 / hyp_words.len().max(1) as f64,
                failures: r.failures(),
                seconds: r.seconds,
                settle: r.settle,
                settle_s_per_min: r.settle.worker_ms / 1000.0 / (clip.duration_s / 60.0),
                hypothesis,
            }
        })
        .collect();
    let engine = crate::engine::EngineConfig::from_config(cfg)?;
    Ok(LongReport {
        no_vad,
        context_chars: engine.context_chars,
        settle_pause_s: engine.settle_pause.map(|d| d.as_secs_f64()),
        runs,
    })
}

pub fn text(r: &LongReport) -> String {
    let mut out = format!(
        "long-form ({}, context {} chars, {})\n",
        if r.no_vad {
            "whole recording, no VAD"
        } else {
            "through the pipeline"
        },
        r.context_chars,
        match r.settle_pause_s {
            Some(s) => format!("settle pass after {s} s"),
            None => "no settle pass".into(),
        }
    );
    for run in &r.runs {
        out.push_str(&format!(
            "{:<8} {:5.1} s  {:2} utterances  WER {:5.2}% ({}/{})  fragments {} of {} breaks: {:.2} per 100 words  settle {}/{} taken, {:.2} s CPU per minute\n  {}\n",
            run.set,
            run.audio_s,
            run.utterances,
            run.wer * 100.0,
            run.score.errors(),
            run.score.ref_words,
            run.fragments,
            run.breaks,
            run.fragment_rate,
            run.settle.taken,
            run.settle.taken + run.settle.refused,
            run.settle_s_per_min,
            crate::inert::inert_line(&run.hypothesis)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_made_full_stop_is_a_fragment_and_a_real_one_is_not() {
        let reference = words(
            "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
            true,
        );
        let hyp = words(
            "And so my fellow Americans. Ask, not! What your country can do for you, ask what you can do for your country.",
            true,
        );
        assert_eq!(fragments(&reference, &hyp), (2, 2));
        let mut two = reference.clone();
        two.extend(words("The horizon seems extremely distant.", true));
        let hyp = words(
            "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country. The horizon seems extremely distant.",
            true,
        );
        assert_eq!(fragments(&two, &hyp), (1, 0));
    }

    #[test]
    fn a_break_a_word_off_or_after_an_abbreviation_is_no_fragment() {
        let reference = words("he was not an ill disposed young man", true);
        let mut reference = reference;
        reference.extend(words("unless to be rather cold hearted", true));
        let hyp = words(
            "He was not an ill-disposed young. Man unless to be rather cold-hearted.",
            true,
        );
        assert_eq!(fragments(&reference, &hyp).1, 0, "one word off");
        let hyp = words("Mr. John Dashwood had then leisure", true);
        assert!(!hyp[0].ends, "Mr. ends no sentence");
    }

    #[test]
    fn a_sentence_that_goes_on_into_the_next_clip_has_no_break_there() {
        let mut reference = words("he was not an ill disposed young man", false);
        reference.extend(words("unless to be rather cold hearted", true));
        let hyp = words(
            "He was not an ill-disposed young man. Unless to be rather cold-hearted.",
            true,
        );
        assert_eq!(fragments(&reference, &hyp), (1, 1));
    }
}
