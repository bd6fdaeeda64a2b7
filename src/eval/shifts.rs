//! `recorder eval MANIFEST --shifts 0,128,256,384`: does the output depend on where the 32 ms
//! VAD chunk grid falls? Silero's probabilities for a soft phrase change with the alignment
//! (JFK's "ask not" peaks at 0.90 as recorded and at 0.53 with 384 samples of silence in
//! front), and a live microphone starts at an arbitrary sample. Each clip runs once whole
//! (no VAD: whisper on the whole clip, same weights and guards) and then through the VAD
//! with each number of samples of silence in front. A reference word that whole-clip whisper
//! gets and the pipeline leaves out is *lost*; one it writes differently is *changed*.

use std::path::Path;

use serde::Serialize;

use super::manifest::Clip;
use super::normalize::normalize;
use super::runner::{self, ClipRun};
use super::wer::{self, Op};
use crate::audio::wav;
use crate::config::Config;

#[derive(Debug, Clone, Serialize)]
pub struct ShiftRun {
    pub shift: usize,
    pub hypothesis: String,
    /// Reference words whole-clip whisper got and this run deleted.
    pub lost: Vec<String>,
    /// Reference words whole-clip whisper got and this run wrote differently.
    pub changed: Vec<String>,
    pub words_out: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClipShifts {
    pub name: String,
    pub speech: bool,
    pub reference: String,
    pub whole: String,
    pub runs: Vec<ShiftRun>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShiftSummary {
    pub shifts: Vec<usize>,
    pub speech_clips: usize,
    pub ref_words: usize,
    /// Over every clip and shift.
    pub lost_words: usize,
    pub changed_words: usize,
    /// Speech clips that lose a word at some shift.
    pub clips_losing: usize,
    /// Clips whose normalised output is not the same at every shift.
    pub clips_varying: usize,
    /// Words on non-speech clips, over every shift (the right number is 0).
    pub nonspeech_words: usize,
    pub failures: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShiftReport {
    pub summary: ShiftSummary,
    pub clips: Vec<ClipShifts>,
}

/// Copies `clips` into `dir` with `shift` samples of silence in front.
fn shifted(clips: &[Clip], dir: &Path, shift: usize) -> anyhow::Result<Vec<Clip>> {
    std::fs::create_dir_all(dir)?;
    clips
        .iter()
        .map(|c| {
            let mut samples = vec![0.0f32; shift];
            samples.extend(wav::read_16k_mono(&c.path)?);
            let path = dir.join(format!("{}.wav", c.name));
            wav::write_16k_mono(&path, &samples)?;
            Ok(Clip { path, ..c.clone() })
        })
        .collect()
}

/// Runs the clips whole and at each shift; ONNX Runtime must be initialised.
pub async fn run(
    cfg: &Config,
    clips: &[Clip],
    tmp: &Path,
    shifts: &[usize],
) -> anyhow::Result<ShiftReport> {
    let whole = runner::run_clips(cfg, clips, &tmp.join("whole"), true, |_| {}).await?;
    let mut by_shift = Vec::new();
    for &shift in shifts {
        let dir = tmp.join(format!("shift-{shift}"));
        let input = shifted(clips, &dir.join("audio"), shift)?;
        let runs = runner::run_clips(cfg, &input, &dir.join("sessions"), false, |_| {}).await?;
        by_shift.push((shift, runs));
    }
    Ok(report(shifts, &whole, &by_shift))
}

fn report(shifts: &[usize], whole: &[ClipRun], by_shift: &[(usize, Vec<ClipRun>)]) -> ShiftReport {
    let mut failures = whole.iter().map(ClipRun::failures).sum();
    let mut clips = Vec::new();
    for (i, w) in whole.iter().enumerate() {
        let reference = normalize(&w.clip.reference);
        let whole_ops = wer::ref_ops(&reference, &normalize(&w.text()));
        let mut runs = Vec::new();
        for (shift, shift_runs) in by_shift {
            let r = &shift_runs[i];
            failures += r.failures();
            let hypothesis = r.text();
            let ops = wer::ref_ops(&reference, &normalize(&hypothesis));
            let pick = |want: Op| -> Vec<String> {
                (0..reference.len())
                    .filter(|&k| whole_ops[k] == Op::Hit && ops[k] == want)
                    .map(|k| reference[k].clone())
                    .collect()
            };
            runs.push(ShiftRun {
                shift: *shift,
                words_out: hypothesis.split_whitespace().count(),
                lost: pick(Op::Deleted),
                changed: pick(Op::Substituted),
                hypothesis,
            });
        }
        clips.push(ClipShifts {
            name: w.clip.name.clone(),
            speech: w.clip.is_speech(),
            reference: w.clip.reference.clone(),
            whole: w.text(),
            runs,
        });
    }
    let speech: Vec<&ClipShifts> = clips.iter().filter(|c| c.speech).collect();
    let varying = |c: &&ClipShifts| {
        let outs: Vec<Vec<String>> = c.runs.iter().map(|r| normalize(&r.hypothesis)).collect();
        outs.windows(2).any(|w| w[0] != w[1])
    };
    let summary = ShiftSummary {
        shifts: shifts.to_vec(),
        speech_clips: speech.len(),
        ref_words: speech.iter().map(|c| normalize(&c.reference).len()).sum(),
        lost_words: speech
            .iter()
            .flat_map(|c| &c.runs)
            .map(|r| r.lost.len())
            .sum(),
        changed_words: speech
            .iter()
            .flat_map(|c| &c.runs)
            .map(|r| r.changed.len())
            .sum(),
        clips_losing: speech
            .iter()
            .filter(|c| c.runs.iter().any(|r| !r.lost.is_empty()))
            .count(),
        clips_varying: clips.iter().filter(varying).count(),
        nonspeech_words: clips
            .iter()
            .filter(|c| !c.speech)
            .flat_map(|c| &c.runs)
            .map(|r| r.words_out)
            .sum(),
        failures,
    };
    ShiftReport { summary, clips }
}

/// The table for people: one line per clip that lost or changed a word, then the totals.
pub fn text(r: &ShiftReport) -> String {
    let mut out = String::new();
    for c in &r.clips {
        for run in c
            .runs
            .iter()
            .filter(|r| !r.lost.is_empty() || !r.changed.is_empty())
        {
            out.push_str(&format!(
                "{:<48} shift {:>3}: lost {:?} changed {:?}\n",
                c.name, run.shift, run.lost, run.changed
            ));
        }
        for run in c.runs.iter().filter(|r| !c.speech && r.words_out > 0) {
            out.push_str(&format!(
                "{:<48} shift {:>3}: {} words on non-speech: {}\n",
                c.name, run.shift, run.words_out, run.hypothesis
            ));
        }
    }
    let s = &r.summary;
    out.push_str(&format!(
        "shifts {:?}: {} speech clips, {} reference words; lost {} and changed {} words \
         (against whole-clip whisper, over all shifts); {} clips lose a word, {} vary with the \
         shift; {} words on non-speech; {} failures\n",
        s.shifts,
        s.speech_clips,
        s.ref_words,
        s.lost_words,
        s.changed_words,
        s.clips_losing,
        s.clips_varying,
        s.nonspeech_words,
        s.failures
    ));
    out
}
