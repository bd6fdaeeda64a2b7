//! The audio side: capture (cpal → lock-free ring), resampling to 16 kHz mono, Silero VAD,
//! segmentation into utterances and WAV I/O. Everything except the cpal callback runs on one
//! audio thread of ours ([`pipeline`]).

pub mod capture;
pub mod decode;
pub mod level;
pub mod meter;
pub mod pipeline;
pub mod playback;
pub mod probe;
pub mod resample;
pub mod segmenter;
pub mod source;
pub mod vad;
pub mod wav;

pub use crate::vocab::SAMPLE_RATE;
/// Silero VAD's chunk at 16 kHz: 512 samples = 32 ms.
pub const CHUNK: usize = 512;

/// Input level for the meter, published about 20 times a second.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Level {
    /// RMS level in dBFS (-inf..0, floored at -100).
    pub rms_dbfs: f32,
    /// Peak level in dBFS.
    pub peak_dbfs: f32,
    /// Silero's speech probability for the latest chunk (0..1).
    pub speech_prob: f32,
    /// True while an utterance is open.
    pub in_speech: bool,
    /// Buffer overruns the input device reported so far (audio the device dropped while
    /// this process was not reading in time; recording goes on).
    pub xruns: u64,
}
