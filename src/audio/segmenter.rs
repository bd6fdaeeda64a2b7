//! Cuts a stream of 512-sample chunks (with their VAD speech probabilities) into utterances.
//!
//! - Hysteresis: an utterance opens when a chunk reaches `start_threshold` and counts chunks as
//!   voiced while they stay above the lower `end_threshold`, so a word's soft tail does not flap.
//! - Pre-roll: the chunks just before the onset are kept (Silero fires ~100-200 ms after a
//!   soft consonant starts; without them first words lose their first phoneme).
//! - End: after `end_silence_ms` below `end_threshold` the utterance closes, keeping
//!   `post_roll_ms` of that silence (whisper drops the last word more often without it).
//! - Blips with less voiced audio than `min_speech_ms` are dropped (a cough, a click).
//! - Monologues are split at the quietest chunk in the last `split_window_s` before
//!   `max_utterance_s`, and the rest continues as the next utterance: nothing is dropped.

use std::collections::VecDeque;

use super::{CHUNK, SAMPLE_RATE};

/// Segmenter settings (all configurable in the config file).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SegmenterConfig {
    pub start_threshold: f32,
    pub end_threshold: f32,
    pub pre_roll_ms: u32,
    pub end_silence_ms: u32,
    pub post_roll_ms: u32,
    pub min_speech_ms: u32,
    pub max_utterance_s: f32,
    pub split_window_s: f32,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            start_threshold: 0.5,
            end_threshold: 0.35,
            pre_roll_ms: 300,
            end_silence_ms: 550,
            post_roll_ms: 300,
            min_speech_ms: 250,
            max_utterance_s: 25.0,
            split_window_s: 5.0,
        }
    }
}

/// What the segmenter reports, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum SegEvent {
    /// Speech began; `start_sample` includes the pre-roll.
    Start { id: u64, start_sample: u64 },
    /// The open utterance was a blip and was dropped; its id will be reused.
    Discard { id: u64 },
    /// A finished utterance.
    Utterance(Cut),
}

/// A finished utterance: 16 kHz mono samples starting at `start_sample` of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    pub id: u64,
    pub start_sample: u64,
    pub samples: Vec<f32>,
}

impl Cut {
    pub fn start_s(&self) -> f64 {
        self.start_sample as f64 / SAMPLE_RATE as f64
    }
    pub fn end_s(&self) -> f64 {
        (self.start_sample + self.samples.len() as u64) as f64 / SAMPLE_RATE as f64
    }
}

/// The utterance being collected.
struct Open {
    id: u64,
    start_sample: u64,
    samples: Vec<f32>,
    /// One probability per chunk of `samples`.
    probs: Vec<f32>,
    voiced_chunks: usize,
    silent_run: usize,
}

pub struct Segmenter {
    cfg: SegmenterConfig,
    /// Samples consumed so far (the stream clock).
    pos: u64,
    next_id: u64,
    pre_roll: VecDeque<(Vec<f32>, f32)>,
    open: Option<Open>,
}

fn chunks_for_ms(ms: f32) -> usize {
    let samples = ms * SAMPLE_RATE as f32 / 1000.0;
    (samples / CHUNK as f32).ceil() as usize
}

impl Segmenter {
    pub fn new(cfg: SegmenterConfig) -> Self {
        Self::with_first_id(cfg, 1)
    }

    /// Ids continue across recording sessions of one engine, so late results of an earlier
    /// session can never be mistaken for a new one's.
    pub fn with_first_id(cfg: SegmenterConfig, first_id: u64) -> Self {
        Segmenter {
            cfg,
            pos: 0,
            next_id: first_id,
            pre_roll: VecDeque::new(),
            open: None,
        }
    }

    /// The id the next utterance will get.
    pub fn next_id(&self) -> u64 {
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
    pub fn open_audio(&self) -> Option<(u64, u64, &[f32])> {
        self.open
            .as_ref()
            .map(|o| (o.id, o.start_sample, o.samples.as_slice()))
    }

    /// Moves the stream clock forward without audio (time spent paused), so that utterance
    /// times stay on the session clock.
    pub fn skip(&mut self, samples: u64) {
        self.flush_into_nothing();
        self.pos += samples;
    }

    fn flush_into_nothing(&mut self) {
        self.pre_roll.clear();
    }

    /// Feeds one chunk of `CHUNK` samples with its speech probability.
    pub fn push(&mut self, chunk: &[f32], prob: f32, out: &mut Vec<SegEvent>) {
        debug_assert_eq!(chunk.len(), CHUNK);
        self.pos += chunk.len() as u64;
        match self.open.as_mut() {
            None if prob >= self.cfg.start_threshold => self.open_utterance(chunk, prob, out),
            None => self.remember(chunk.to_vec(), prob),
            Some(open) => {
                open.samples.extend_from_slice(chunk);
                open.probs.push(prob);
                if prob >= self.cfg.end_threshold {
                    open.voiced_chunks += 1;
                    open.silent_run = 0;
                } else {
                    open.silent_run += 1;
                }
                if open.silent_run >= chunks_for_ms(self.cfg.end_silence_ms as f32) {
                    self.close(out);
                } else if open.samples.len() as f32 >= self.cfg.max_utterance_s * SAMPLE_RATE as f32
                {
                    self.split(out);
                }
            }
        }
    }

    /// Closes the open utterance now (stop, pause, end of input). It is emitted if it holds
    /// enough speech, as at a natural end.
    pub fn flush(&mut self, out: &mut Vec<SegEvent>) {
        if self.open.is_some() {
            self.close(out);
        }
        self.pre_roll.clear();
    }

    fn remember(&mut self, chunk: Vec<f32>, prob: f32) {
        self.pre_roll.push_back((chunk, prob));
        while self.pre_roll.len() > chunks_for_ms(self.cfg.pre_roll_ms as f32) {
            self.pre_roll.pop_front();
        }
    }

    fn open_utterance(&mut self, chunk: &[f32], prob: f32, out: &mut Vec<SegEvent>) {
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
            samples,
            probs,
            voiced_chunks: 1,
            silent_run: 0,
        });
    }

    /// Ends the open utterance: trims the trailing silence to the post-roll, hands the trimmed
    /// tail to the pre-roll (it is the audio right before any next onset).
    fn close(&mut self, out: &mut Vec<SegEvent>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let keep_silent = chunks_for_ms(self.cfg.post_roll_ms as f32);
        let drop_chunks = open.silent_run.saturating_sub(keep_silent);
        let keep_chunks = open.probs.len() - drop_chunks;
        let tail = open.samples.split_off(keep_chunks * CHUNK);
        let tail_probs = open.probs.split_off(keep_chunks);
        for (c, p) in tail.chunks(CHUNK).zip(tail_probs) {
            self.remember(c.to_vec(), p);
        }
        if open.voiced_chunks >= chunks_for_ms(self.cfg.min_speech_ms as f32) {
            self.next_id += 1;
            out.push(SegEvent::Utterance(Cut {
                id: open.id,
                start_sample: open.start_sample,
                samples: open.samples,
            }));
        } else {
            out.push(SegEvent::Discard { id: open.id });
        }
    }

    /// Splits an over-long utterance at the quietest chunk of the last `split_window_s`; the
    /// part after the cut stays open as the next utterance.
    fn split(&mut self, out: &mut Vec<SegEvent>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let n = open.probs.len();
        let window = chunks_for_ms(self.cfg.split_window_s * 1000.0).clamp(1, n);
        let quietest = (n - window..n)
            .min_by(|&a, &b| {
                let key = |i: usize| (open.probs[i], chunk_energy(&open.samples, i));
                key(a)
                    .partial_cmp(&key(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .unwrap_or(n - 1);
        // Cut in the middle of the quietest chunk; the rest belongs to the next utterance.
        let cut_chunks = quietest + 1;
        let rest = open.samples.split_off(cut_chunks * CHUNK);
        let rest_probs = open.probs.split_off(cut_chunks);
        let rest_start = open.start_sample + open.samples.len() as u64;
        self.next_id += 1;
        out.push(SegEvent::Utterance(Cut {
            id: open.id,
            start_sample: open.start_sample,
            samples: open.samples,
        }));
        let id = self.next_id;
        let voiced_chunks = rest_probs
            .iter()
            .filter(|&&p| p >= self.cfg.end_threshold)
            .count();
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
            samples: rest,
            probs: rest_probs,
            voiced_chunks,
            silent_run,
        });
    }
}

fn chunk_energy(samples: &[f32], chunk: usize) -> f32 {
    samples[chunk * CHUNK..(chunk + 1) * CHUNK]
        .iter()
        .map(|s| s * s)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a probability script through a segmenter; chunk `i` holds the value `i` in every
    /// sample so tests can see exactly which chunks an utterance kept.
    fn run(cfg: SegmenterConfig, probs: &[f32], flush: bool) -> Vec<SegEvent> {
        let mut seg = Segmenter::new(cfg);
        let mut out = Vec::new();
        for (i, &p) in probs.iter().enumerate() {
            seg.push(&[i as f32; CHUNK], p, &mut out);
        }
        if flush {
            seg.flush(&mut out);
        }
        out
    }

    fn cuts(events: &[SegEvent]) -> Vec<&Cut> {
        events
            .iter()
            .filter_map(|e| match e {
                SegEvent::Utterance(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn chunk_ids(cut: &Cut) -> Vec<usize> {
        cut.samples.chunks(CHUNK).map(|c| c[0] as usize).collect()
    }

    fn script(parts: &[(f32, usize)]) -> Vec<f32> {
        parts
            .iter()
            .flat_map(|&(p, n)| std::iter::repeat_n(p, n))
            .collect()
    }

    #[test]
    fn one_utterance_with_pre_roll_and_post_roll() {
        // 20 silent chunks, 30 speech, 40 silent.
        let probs = script(&[(0.0, 20), (0.9, 30), (0.0, 40)]);
        let events = run(SegmenterConfig::default(), &probs, false);
        let c = cuts(&events);
        assert_eq!(c.len(), 1);
        let ids = chunk_ids(c[0]);
        // Pre-roll 300 ms = 10 chunks, post-roll 300 ms = 10 chunks.
        assert_eq!(ids.first(), Some(&10));
        assert_eq!(ids.last(), Some(&59));
        assert_eq!(c[0].start_sample, 10 * CHUNK as u64);
        assert!(
            matches!(events[0], SegEvent::Start { id: 1, start_sample } if start_sample == 10 * CHUNK as u64)
        );
    }

    #[test]
    fn hysteresis_keeps_soft_tail_inside() {
        // Probabilities dip to 0.4 (between the thresholds) for 30 chunks: still speech.
        let probs = script(&[(0.9, 10), (0.4, 30), (0.9, 10), (0.0, 40)]);
        let c = run(SegmenterConfig::default(), &probs, false);
        assert_eq!(cuts(&c).len(), 1);
    }

    #[test]
    fn short_pause_does_not_split_but_long_one_does() {
        let probs = script(&[
            (0.9, 20),
            (0.0, 10),
            (0.9, 20),
            (0.0, 20),
            (0.9, 20),
            (0.0, 40),
        ]);
        let events = run(SegmenterConfig::default(), &probs, false);
        let c = cuts(&events);
        // 10 chunks = 320 ms < 550 ms: joined; 20 chunks = 640 ms: split.
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].id, 1);
        assert_eq!(c[1].id, 2);
    }

    #[test]
    fn blips_are_dropped_and_their_id_reused() {
        let probs = script(&[(0.9, 3), (0.0, 40), (0.9, 30), (0.0, 40)]);
        let events = run(SegmenterConfig::default(), &probs, false);
        assert!(events.contains(&SegEvent::Discard { id: 1 }));
        let c = cuts(&events);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].id, 1);
    }

    #[test]
    fn flush_closes_open_utterance() {
        let probs = script(&[(0.0, 5), (0.9, 30)]);
        let events = run(SegmenterConfig::default(), &probs, true);
        let c = cuts(&events);
        assert_eq!(c.len(), 1);
        assert_eq!(chunk_ids(c[0]).last(), Some(&34));
    }

    #[test]
    fn long_monologue_is_split_at_quietest_point_losing_nothing() {
        let cfg = SegmenterConfig {
            max_utterance_s: 4.0,
            split_window_s: 1.0,
            ..Default::default()
        };
        // 4 s = 125 chunks. One quieter chunk (0.36, still voiced) at index 110 inside the
        // last second of the limit.
        let mut probs = script(&[(0.9, 300)]);
        probs[110] = 0.36;
        probs.extend(script(&[(0.0, 40)]));
        let events = run(cfg, &probs, false);
        let c = cuts(&events);
        assert!(c.len() >= 3, "{} cuts", c.len());
        assert_eq!(chunk_ids(c[0]).last(), Some(&110));
        assert_eq!(chunk_ids(c[1]).first(), Some(&111));
        // Every chunk from the onset to the end of speech is in exactly one cut.
        let all: Vec<usize> = c.iter().flat_map(|c| chunk_ids(c)).collect();
        let expect: Vec<usize> = (0..all.len()).collect();
        assert_eq!(all, expect);
        // Ids stay consecutive.
        let ids: Vec<u64> = c.iter().map(|c| c.id).collect();
        assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
        for cut in &c {
            assert!(cut.samples.len() <= 125 * CHUNK);
        }
    }

    #[test]
    fn times_follow_the_stream_clock_including_skips() {
        let mut seg = Segmenter::new(SegmenterConfig::default());
        let mut out = Vec::new();
        seg.skip(16_000);
        for p in script(&[(0.9, 30), (0.0, 40)]) {
            seg.push(&[0.1; CHUNK], p, &mut out);
        }
        let c = cuts(&out);
        assert_eq!(c[0].start_sample, 16_000);
        assert!((c[0].start_s() - 1.0).abs() < 1e-9);
    }
}
