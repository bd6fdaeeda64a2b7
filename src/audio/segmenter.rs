//! Cuts a stream of 512-sample chunks (with their VAD speech probabilities) into utterances.
//!
//! - Hysteresis: an utterance opens when a chunk reaches `start_threshold` and counts chunks as
//!   voiced while they stay above the lower `end_threshold`, so a word's soft tail does not flap.
//! - Pre-roll: the chunks just before the onset are kept (Silero fires ~100-200 ms after a
//!   soft consonant starts; without them first words lose their first phoneme). A soft word
//!   can sit under `start_threshold` for its whole length and let the next one open the
//!   utterance, so the onset first reaches back (up to [`LOOKBACK_MS`]) over the chunks at or
//!   above `weak_threshold` just before it, and the pre-roll is counted from the earliest.
//! - End: after `end_silence_ms` below `end_threshold` the utterance closes once the VAD has
//!   also fallen under `weak_threshold` (soft trailing words such as JFK's "not" sit at
//!   0.15-0.32), keeping `post_roll_ms` after the last chunk at or above `weak_threshold`.
//! - Nothing is dropped silently. A candidate with less voiced audio than `min_speech_ms` is
//!   still transcribed, marked as one the VAD does not vouch for (the worker's guards then
//!   decide, on energy and on whisper's own evidence): Silero's probabilities for a short soft
//!   phrase depend on where the 32 ms chunk grid falls (JFK's "ask not" peaks at 0.90 with the
//!   clip as it is and at 0.53 with 24 ms of silence in front, with 4 voiced chunks), and the
//!   same VAD figures come from a car horn, so the VAD alone cannot tell them apart. Only a
//!   candidate with almost no evidence at all (under `min_evidence_ms` at `weak_threshold`: a
//!   click) is discarded, and the discard is reported with its span for the journal.
//! - Monologues are split before `max_utterance_s`: at the middle of a real pause in the last
//!   `split_window_s` when there is one; otherwise at the quietest chunk with both parts
//!   overlapping by `split_overlap_ms`, each told which of its words to keep (by their time),
//!   so a word on the cut is neither lost nor doubled.

use std::collections::VecDeque;

use super::{CHUNK, SAMPLE_RATE};

/// Segmenter settings (all configurable in the config file).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmenterConfig {
    pub start_threshold: f32,
    pub end_threshold: f32,
    pub weak_threshold: f32,
    pub pre_roll_ms: u32,
    pub end_silence_ms: u32,
    pub post_roll_ms: u32,
    pub min_speech_ms: u32,
    pub min_evidence_ms: u32,
    pub max_utterance_s: f32,
    pub split_window_s: f32,
    pub split_overlap_ms: u32,
    /// Let a speculative final's text move the end (see [`Ending`]): later mid-phrase, and
    /// sooner after a finished sentence when `sentence_end_ms` is set.
    pub smart_endpoint: bool,
    /// The silence that ends an utterance whose text ends a sentence (0: `end_silence_ms`
    /// as for any other). Off by default: at 300 ms it split `fw_jfk` into 4 utterances
    /// instead of 3 in one run of 2 (a 0.4 s pause after "…do for you,"), for no median
    /// gain measurable on 2 cores (the speculative final is rarely in before the post-roll
    /// has passed).
    pub sentence_end_ms: u32,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            start_threshold: 0.5,
            end_threshold: 0.35,
            weak_threshold: 0.15,
            pre_roll_ms: 300,
            end_silence_ms: 550,
            post_roll_ms: 300,
            min_speech_ms: 250,
            min_evidence_ms: 96,
            max_utterance_s: 25.0,
            split_window_s: 5.0,
            split_overlap_ms: 1000,
            smart_endpoint: true,
            sentence_end_ms: 0,
        }
    }
}

pub use crate::vocab::Hints;
use crate::vocab::{Span, UtteranceId};

/// What the segmenter reports, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum SegEvent {
    /// Speech began; `start_sample` includes the pre-roll.
    Start { id: UtteranceId, start_sample: u64 },
    /// The open candidate had almost no speech evidence (a click) and was not kept; its id
    /// will be reused. Its audio and span (stream samples) go to disk and the journal, so
    /// `sessions resume --discarded` can still transcribe it.
    Discard {
        id: UtteranceId,
        start_sample: u64,
        end_sample: u64,
        samples: Vec<f32>,
    },
    /// A finished utterance.
    Utterance(Cut),
}

/// A finished utterance: 16 kHz mono samples starting at `start_sample` of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    pub id: UtteranceId,
    pub start_sample: u64,
    pub samples: Vec<f32>,
    pub hints: Hints,
}

impl Cut {
    /// Where it lies in the session's audio.
    pub fn span(&self) -> Span {
        Span::of_samples(self.start_sample, self.samples.len())
    }
}

/// See [`Segmenter::fixed_cut`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedCut {
    pub id: UtteranceId,
    pub start_sample: u64,
    /// The cut's length in samples, and how many of them have been heard so far (the rest
    /// is the end of the post-roll, still to come).
    pub len: usize,
    pub have: usize,
    pub hints: Hints,
}

impl FixedCut {
    pub fn span(&self) -> Span {
        Span::of_samples(self.start_sample, self.len)
    }
}

/// The utterance being collected.
struct Open {
    id: UtteranceId,
    start_sample: u64,
    samples: Vec<f32>,
    /// One probability per chunk of `samples`.
    probs: Vec<f32>,
    voiced_chunks: usize,
    /// Chunks at or above `weak_threshold` since the onset.
    weak_chunks: usize,
    silent_run: usize,
    /// Set when this part began inside an overlapped split: seconds of its start that the
    /// previous part keeps.
    keep_from_s: Option<f64>,
}

pub struct Segmenter {
    cfg: SegmenterConfig,
    /// Samples consumed so far (the stream clock).
    pos: u64,
    next_id: UtteranceId,
    pre_roll: VecDeque<(Vec<f32>, f32)>,
    open: Option<Open>,
    /// What the open utterance's text says of its end, for the cut of that many samples.
    told: Option<(UtteranceId, usize, Ending)>,
}

fn chunks_for_ms(ms: f32) -> usize {
    let samples = ms * SAMPLE_RATE as f32 / 1000.0;
    (samples / CHUNK as f32).ceil() as usize
}

fn chunks_to_s(chunks: usize) -> f64 {
    (chunks * CHUNK) as f64 / SAMPLE_RATE as f64
}

/// Each part of an overlapped split keeps the words whose middle lies up to this far past the
/// cut: whisper's token times are rough, and a word both parts write is taken out at the seam
/// (`engine::junction`) while one that neither writes would be lost.
const SEAM_MARGIN_S: f64 = 0.25;

/// How far before the chunk that opens an utterance its onset may reach back over weak
/// evidence. JFK's "ask" (3.30-3.75 s into `fw_jfk.wav`) scores 0.17-0.36 at some offsets of
/// the chunk grid and first reaches 0.5 at 3.62 s, so a 320 ms pre-roll counted from there
/// starts right on the word, and through the microphone a few ms later: whisper heard "s not"
/// (CI, 1 run in 3). Reaching back over its weak chunks starts it at 3.36 s, 3.04 s with the
/// pre-roll. A second is longer than any soft word; the previous utterance's kept audio is
/// never in the history, so parts cannot overlap.
pub const LOOKBACK_MS: f32 = 1000.0;

/// While reaching back, a run of this many chunks under `weak_threshold` ends the onset
/// (96 ms: the dip between two syllables of one word; a pause before it is not the word).
const LOOKBACK_GAP_CHUNKS: usize = 3;

/// A pause of 160 ms under `end_threshold` is a real one for a split (word gaps inside
/// fluent speech are shorter).
const QUIET_CHUNKS: usize = 5;

impl Segmenter {
    pub fn new(cfg: SegmenterConfig) -> Self {
        Self::with_first_id(cfg, UtteranceId::FIRST)
    }

    /// Ids continue across recording sessions of one engine, so late results of an earlier
    /// session can never be mistaken for a new one's.
    pub fn with_first_id(cfg: SegmenterConfig, first_id: UtteranceId) -> Self {
        Segmenter {
            cfg,
            pos: 0,
            next_id: first_id,
            pre_roll: VecDeque::new(),
            open: None,
            told: None,
        }
    }

    /// The id the next utterance will get.
    pub fn next_id(&self) -> UtteranceId {
        self.next_id
    }

    /// Samples consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn in_speech(&self) -> bool {
        self.open.is_some()
    }

    /// The open utterance so far: (id, first sample, audio). For interim transcripts.
    pub fn open_audio(&self) -> Option<(UtteranceId, u64, &[f32])> {
        self.open
            .as_ref()
            .map(|o| (o.id, o.start_sample, o.samples.as_slice()))
    }

    /// Where the open utterance will be cut if the speaker stays quiet, once they have been
    /// quiet (under `weak_threshold`) for `after_ms`: its cut (see [`Self::tail_to_keep`])
    /// lies `post_roll_ms` after the last chunk at or above `weak_threshold`, and moves only
    /// if they go on. For a speculative final. None for a candidate that would be discarded
    /// (a click) and while speech may still go on.
    pub fn fixed_cut(&self, after_ms: u32) -> Option<FixedCut> {
        let open = self.open.as_ref()?;
        let quiet = self.trailing_quiet(open);
        let evidence = chunks_for_ms(self.cfg.min_evidence_ms as f32);
        let after = chunks_for_ms(after_ms as f32).max(1);
        if open.silent_run == 0 || quiet < after || open.weak_chunks < evidence {
            return None;
        }
        // The trailing quiet run starts right after the last weak chunk (or is the whole
        // silent run), so this is `tail_to_keep` once the post-roll has passed.
        let cut = open.probs.len() - quiet + chunks_for_ms(self.cfg.post_roll_ms as f32);
        Some(FixedCut {
            id: open.id,
            start_sample: open.start_sample,
            len: cut * CHUNK,
            have: open.samples.len().min(cut * CHUNK),
            hints: self.hints(open, None),
        })
    }

    /// Moves the stream clock forward without audio (time spent paused), so that utterance
    /// times stay on the session clock.
    pub fn skip(&mut self, samples: u64) {
        self.pre_roll.clear();
        self.pos += samples;
    }

    /// Feeds one chunk of `CHUNK` samples with its speech probability.
    pub fn push(&mut self, chunk: &[f32], prob: f32, out: &mut Vec<SegEvent>) {
        debug_assert_eq!(chunk.len(), CHUNK);
        self.pos += chunk.len() as u64;
        let cfg = &self.cfg;
        match self.open.as_mut() {
            None if prob >= cfg.start_threshold => self.open_utterance(chunk, prob, out),
            None => self.remember(chunk.to_vec(), prob),
            Some(open) => {
                open.samples.extend_from_slice(chunk);
                open.probs.push(prob);
                if prob >= cfg.weak_threshold {
                    open.weak_chunks += 1;
                }
                if prob >= cfg.end_threshold {
                    open.voiced_chunks += 1;
                    open.silent_run = 0;
                } else {
                    open.silent_run += 1;
                }
                if self.ended() {
                    self.close(out);
                } else if self.too_long() {
                    self.split(out);
                }
            }
        }
    }

    /// The open utterance has had `end_silence_ms` under `end_threshold` and its soft tail
    /// (if any) has died down too, or `post_roll_ms` more have passed (so steady noise that
    /// hovers around `weak_threshold` cannot hold an utterance open).
    /// A text that ends a sentence closes it after `sentence_end_ms` (when set); one that
    /// goes on waits [`GOES_ON_MS`] longer ([`Self::hear_ending`]).
    fn ended(&self) -> bool {
        let Some(open) = &self.open else {
            return false;
        };
        let quiet = self.trailing_quiet(open);
        let post = chunks_for_ms(self.cfg.post_roll_ms as f32);
        let cut = (open.probs.len() - quiet + post) * CHUNK;
        let told = self
            .told
            .filter(|&(id, len, _)| id == open.id && len == cut)
            .map(|(_, _, e)| e);
        let mut end_ms = self.cfg.end_silence_ms;
        match told {
            Some(Ending::Finished) if self.cfg.sentence_end_ms > 0 => {
                end_ms = end_ms.min(self.cfg.sentence_end_ms);
            }
            Some(Ending::GoesOn) => end_ms += GOES_ON_MS,
            _ => {}
        }
        let end = chunks_for_ms(end_ms as f32);
        if open.silent_run < end {
            return false;
        }
        quiet >= post || open.silent_run >= end + post
    }

    /// What a speculative final's text said of utterance `id` cut at `len` samples: heard
    /// only while that utterance is open and its cut has not moved.
    pub fn hear_ending(&mut self, id: UtteranceId, len: usize, text: &str) {
        if self.cfg.smart_endpoint && self.open.as_ref().is_some_and(|o| o.id == id) {
            self.told = Some((id, len, Ending::of(text)));
        }
    }

    /// Chunks under `weak_threshold` at the end of `open`: how long the speaker has been
    /// quiet.
    fn trailing_quiet(&self, open: &Open) -> usize {
        open.probs
            .iter()
            .rev()
            .take_while(|&&p| p < self.cfg.weak_threshold)
            .count()
    }

    fn too_long(&self) -> bool {
        self.open.as_ref().is_some_and(|o| {
            o.samples.len() as f32 >= self.cfg.max_utterance_s * SAMPLE_RATE as f32
        })
    }

    /// Closes the open utterance now (stop, pause, end of input). It is emitted (or
    /// discarded) on the same evidence as at a natural end.
    pub fn flush(&mut self, out: &mut Vec<SegEvent>) {
        if self.open.is_some() {
            self.close(out);
        }
        self.pre_roll.clear();
    }

    /// Keeps `chunk` in the history before any next onset: the pre-roll plus the lookback.
    fn remember(&mut self, chunk: Vec<f32>, prob: f32) {
        self.pre_roll.push_back((chunk, prob));
        let keep = chunks_for_ms(self.cfg.pre_roll_ms as f32) + chunks_for_ms(LOOKBACK_MS);
        while self.pre_roll.len() > keep {
            self.pre_roll.pop_front();
        }
    }

    /// Where in the history the utterance opening now begins: the earliest chunk of the weak
    /// evidence just before the onset (see [`LOOKBACK_MS`]), less the pre-roll.
    fn onset_in_history(&self) -> usize {
        let history = self.pre_roll.len();
        let mut earliest = history;
        let mut gap = 0;
        for i in (0..history).rev() {
            if history - i > chunks_for_ms(LOOKBACK_MS) {
                break;
            }
            if self.pre_roll[i].1 >= self.cfg.weak_threshold {
                earliest = i;
                gap = 0;
            } else {
                gap += 1;
                if gap >= LOOKBACK_GAP_CHUNKS {
                    break;
                }
            }
        }
        earliest.saturating_sub(chunks_for_ms(self.cfg.pre_roll_ms as f32))
    }

    fn open_utterance(&mut self, chunk: &[f32], prob: f32, out: &mut Vec<SegEvent>) {
        let from = self.onset_in_history();
        self.pre_roll.drain(..from);
        let pre_samples: usize = self.pre_roll.iter().map(|(c, _)| c.len()).sum();
        let mut samples = Vec::with_capacity(SAMPLE_RATE as usize * 4);
        let mut probs = Vec::new();
        for (c, p) in self.pre_roll.drain(..) {
            samples.extend_from_slice(&c);
            probs.push(p);
        }
        samples.extend_from_slice(chunk);
        probs.push(prob);
        let start_sample = self.pos - chunk.len() as u64 - pre_samples as u64;
        let id = self.next_id;
        out.push(SegEvent::Start { id, start_sample });
        self.open = Some(Open {
            id,
            start_sample,
            voiced_chunks: self.count(&probs, self.cfg.end_threshold),
            weak_chunks: self.count(&probs, self.cfg.weak_threshold),
            samples,
            probs,
            silent_run: 0,
            keep_from_s: None,
        });
    }

    /// How many chunks of the trailing silent run to keep: `post_roll_ms` after the last
    /// chunk of the run at or above `weak_threshold` (or after the run's start).
    fn tail_to_keep(&self, open: &Open) -> usize {
        let run = open.silent_run;
        let first = open.probs.len() - run;
        let last_weak = (first..open.probs.len())
            .rev()
            .find(|&i| open.probs[i] >= self.cfg.weak_threshold)
            .map_or(0, |i| i + 1 - first);
        (last_weak + chunks_for_ms(self.cfg.post_roll_ms as f32)).min(run)
    }

    /// Ends the open utterance: trims the trailing silence (see [`Self::tail_to_keep`]), hands
    /// the trimmed tail to the pre-roll (it is the audio right before any next onset).
    fn close(&mut self, out: &mut Vec<SegEvent>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let drop_chunks = open.silent_run - self.tail_to_keep(&open);
        let keep_chunks = open.probs.len() - drop_chunks;
        let tail = open.samples.split_off(keep_chunks * CHUNK);
        let tail_probs = open.probs.split_off(keep_chunks);
        for (c, p) in tail.chunks(CHUNK).zip(tail_probs) {
            self.remember(c.to_vec(), p);
        }
        let evidence = chunks_for_ms(self.cfg.min_evidence_ms as f32);
        if open.weak_chunks < evidence && open.keep_from_s.is_none() {
            let end_sample = open.start_sample + open.samples.len() as u64;
            out.push(SegEvent::Discard {
                id: open.id,
                start_sample: open.start_sample,
                end_sample,
                samples: open.samples,
            });
            return;
        }
        self.emit(open, None, out);
    }

    /// Reports `open` as a finished utterance; the next one gets the next id.
    fn emit(&mut self, open: Open, keep_to_s: Option<f64>, out: &mut Vec<SegEvent>) {
        self.next_id = self.next_id.next();
        let hints = self.hints(&open, keep_to_s);
        out.push(SegEvent::Utterance(Cut {
            id: open.id,
            start_sample: open.start_sample,
            samples: open.samples,
            hints,
        }));
    }

    fn hints(&self, open: &Open, keep_to_s: Option<f64>) -> Hints {
        Hints {
            voiced_ms: (chunks_to_s(open.voiced_chunks) * 1000.0).round() as u32,
            vad_sure: open.voiced_chunks >= chunks_for_ms(self.cfg.min_speech_ms as f32),
            keep_from_s: open.keep_from_s,
            keep_to_s,
        }
    }

    /// The middle of the longest run of at least [`QUIET_CHUNKS`] chunks under
    /// `end_threshold` within `range`, if any: a real pause to split at.
    fn pause_in(&self, probs: &[f32], range: std::ops::Range<usize>) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None; // (length, middle)
        let mut run_start = None;
        for i in range.start..=range.end {
            let quiet = probs.get(i).is_some_and(|&p| p < self.cfg.end_threshold) && i < range.end;
            match (quiet, run_start) {
                (true, None) => run_start = Some(i),
                (false, Some(s)) => {
                    let len = i - s;
                    if len >= QUIET_CHUNKS && best.is_none_or(|(l, _)| len > l) {
                        best = Some((len, s + len / 2));
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
        best.map(|(_, mid)| mid)
    }

    /// Splits an over-long utterance; the part after the cut stays open as the next utterance.
    /// At a real pause the parts meet there. Without one the cut goes through the quietest
    /// chunk no later than `split_overlap_ms` before the end, the first part keeps that much
    /// audio past the cut and the second starts that much before it: each holds every word
    /// near the cut whole, and the word times decide which part writes it.
    fn split(&mut self, out: &mut Vec<SegEvent>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let n = open.probs.len();
        let overlap = chunks_for_ms(self.cfg.split_overlap_ms as f32).min(n / 4);
        let window = chunks_for_ms(self.cfg.split_window_s * 1000.0).clamp(1, n - overlap);
        let range = n - overlap - window..n - overlap;
        let (cut, overlap) = match self.pause_in(&open.probs, range.start..n) {
            Some(mid) => (mid + 1, 0),
            None => {
                let quietest = range
                    .clone()
                    .min_by(|&a, &b| {
                        let key = |i: usize| (open.probs[i], chunk_energy(&open.samples, i));
                        key(a)
                            .partial_cmp(&key(b))
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
                    .unwrap_or(range.end - 1);
                (quietest + 1, overlap)
            }
        };
        let first_end = (cut + overlap).min(n);
        let rest_from = cut - overlap;
        let rest = open.samples[rest_from * CHUNK..].to_vec();
        let rest_probs = open.probs[rest_from..].to_vec();
        open.samples.truncate(first_end * CHUNK);
        open.probs.truncate(first_end);
        let rest_start = open.start_sample + (rest_from * CHUNK) as u64;
        let keep_to_s = (overlap > 0).then(|| chunks_to_s(cut) + SEAM_MARGIN_S);
        // The first part's evidence counts only its own chunks.
        open.voiced_chunks = self.count(&open.probs[..cut], self.cfg.end_threshold);
        self.emit(open, keep_to_s, out);
        let id = self.next_id;
        let silent_run = rest_probs
            .iter()
            .rev()
            .take_while(|&&p| p < self.cfg.end_threshold)
            .count();
        out.push(SegEvent::Start {
            id,
            start_sample: rest_start,
        });
        self.open = Some(Open {
            id,
            start_sample: rest_start,
            voiced_chunks: self.count(&rest_probs[overlap..], self.cfg.end_threshold),
            weak_chunks: self.count(&rest_probs[overlap..], self.cfg.weak_threshold),
            samples: rest,
            probs: rest_probs,
            silent_run,
            keep_from_s: (overlap > 0).then(|| chunks_to_s(overlap) - SEAM_MARGIN_S),
        });
    }

    fn count(&self, probs: &[f32], threshold: f32) -> usize {
        probs.iter().filter(|&&p| p >= threshold).count()
    }
}

fn chunk_energy(samples: &[f32], chunk: usize) -> f32 {
    samples[chunk * CHUNK..(chunk + 1) * CHUNK]
        .iter()
        .map(|s| s * s)
        .sum()
}

mod ending;
pub use ending::{Ending, GOES_ON_MS};

#[cfg(test)]
mod tests;
