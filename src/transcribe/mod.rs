//! Transcription: the worker protocol, the worker process (whisper.cpp) and the pool that
//! supervises the workers.

pub mod guards;
pub mod interim;
pub mod junction;
pub mod pool;
pub mod protocol;
pub mod speed;
pub mod whisper;
pub mod worker;

use serde::{Deserialize, Serialize};

/// One piece of a transcript with times relative to the utterance start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    pub no_speech_prob: f32,
    /// Mean log-probability of the segment's text tokens (whisper's confidence; below -1 is
    /// unsure). 0 from workers that do not send it.
    #[serde(default)]
    pub avg_logprob: f32,
    /// Text tokens decoded for this segment (timestamps and special tokens excluded).
    #[serde(default)]
    pub tokens: u32,
}

/// Where the time went for one utterance, all in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// From the utterance being queued to a worker taking it.
    pub queue_ms: f64,
    /// whisper.cpp's own encoder time.
    pub encode_ms: f64,
    /// whisper.cpp's own decoder time (sampling + batched decode + prompt).
    pub decode_ms: f64,
    /// Wall time inside the worker for this job (read WAV + mel + encode + decode).
    pub worker_ms: f64,
    /// From the segmenter closing the utterance to the text being ready.
    pub total_ms: f64,
    /// How many workers tried this job (1 when nothing went wrong).
    pub attempts: u32,
}

/// The final text of one utterance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub id: u64,
    /// Seconds from the start of the session (or file).
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    pub segments: Vec<Segment>,
    /// Highest no-speech probability over the segments (whisper's own estimate).
    pub no_speech_prob: f32,
    pub timings: Timings,
}
