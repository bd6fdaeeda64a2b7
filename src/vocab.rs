//! The words every part uses for an utterance: which recording and which utterance it is,
//! where it lies in the session's audio, what the VAD knew about it, and where its WAV is.
//! It depends on nothing else of ours: the audio thread, the disk thread, the pool, the
//! worker, the engine, the journal and the front ends all speak it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The sample rate of everything after the input's converter: the VAD, the segmenter, the
/// WAVs on disk and whisper all work at 16 kHz mono.
pub const SAMPLE_RATE: u32 = 16_000;

/// An utterance's number in its session: 1, 2, … in the order the segmenter closed them
/// (the journal's `id`, the `NNNNNN` of `utt-NNNNNN.wav`). Two sessions count alike, so an
/// id names an utterance only together with its recording or session.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UtteranceId(pub u64);

impl UtteranceId {
    /// A session's first utterance.
    pub const FIRST: UtteranceId = UtteranceId(1);

    /// The id after this one.
    pub fn next(self) -> UtteranceId {
        UtteranceId(self.0 + 1)
    }

    /// The utterance WAV's file name in its session folder.
    pub fn wav_name(self) -> String {
        format!("utt-{:06}.wav", self.0)
    }
}

impl std::fmt::Display for UtteranceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One recording of this process: each `Engine::start_recording` is a new one, with a
/// session folder of its own (1, 2, … per process; never journaled). The engine's events
/// carry it, so a late result of an earlier recording is never taken for the current one's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordingId(pub u64);

impl std::fmt::Display for RecordingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where an utterance lies in its session's audio (`session.wav`), in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start_s: f64,
    pub end_s: f64,
}

impl Span {
    pub fn new(start_s: f64, end_s: f64) -> Span {
        Span { start_s, end_s }
    }

    /// A span of `samples` samples at 16 kHz starting `start_sample` samples in.
    pub fn of_samples(start_sample: u64, samples: usize) -> Span {
        let rate = f64::from(SAMPLE_RATE);
        Span {
            start_s: start_sample as f64 / rate,
            end_s: (start_sample + samples as u64) as f64 / rate,
        }
    }

    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// What the audio side knows about an utterance that the transcription's decisions need.
/// Travels with the utterance to the worker and into the journal (so a resume decides alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Hints {
    /// Audio the VAD called voiced (at or above `end_threshold`), in ms.
    #[serde(default)]
    pub voiced_ms: u32,
    /// The VAD vouches for speech (at least `min_speech_ms` voiced): the guards may not drop
    /// text on whisper's no-speech probability alone.
    #[serde(default)]
    pub vad_sure: bool,
    /// Part of an overlapped split: words whose middle lies before this many seconds from the
    /// WAV's start belong to the previous part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_from_s: Option<f64>,
    /// Words whose middle lies at or after this belong to the next part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_to_s: Option<f64>,
}

/// An utterance whose WAV is complete on disk (and journaled): what the disk thread
/// reports, the audio thread announces, a job transcribes and a resume re-queues.
#[derive(Debug, Clone, PartialEq)]
pub struct UtteranceRef {
    pub id: UtteranceId,
    pub span: Span,
    /// The utterance's own WAV (`utt-NNNNNN.wav` in the session folder).
    pub wav: PathBuf,
    pub hints: Hints,
}

/// What a speculative final said about utterance `id` cut at `span`, told back to the audio
/// thread: its text tells the segmenter whether the speaker finished (`audio::segmenter`).
#[derive(Debug, Clone, PartialEq)]
pub struct Speculated {
    pub id: UtteranceId,
    pub span: Span,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_on_the_wire_and_in_file_names() {
        assert_eq!(serde_json::to_string(&UtteranceId(7)).unwrap(), "7");
        let id: UtteranceId = serde_json::from_str("12").unwrap();
        assert_eq!(id, UtteranceId(12));
        assert_eq!(id.next(), UtteranceId(13));
        assert_eq!(id.wav_name(), "utt-000012.wav");
        assert_eq!(UtteranceId::FIRST.to_string(), "1");
    }

    #[test]
    fn a_span_of_samples_is_in_seconds_of_16_khz_audio() {
        let s = Span::of_samples(16_000, 8_000);
        assert_eq!(s, Span::new(1.0, 1.5));
        assert_eq!(s.duration_s(), 0.5);
    }
}
