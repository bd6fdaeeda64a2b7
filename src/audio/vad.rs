//! Voice activity detection: a small trait so the segmenter can be tested with a scripted VAD,
//! and the real implementation on Silero VAD (crate `voice_activity_detector`, ONNX Runtime).

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{CHUNK, SAMPLE_RATE};

/// Gives the probability (0..1) that a 512-sample chunk at 16 kHz holds speech.
pub trait Vad: Send {
    fn predict(&mut self, chunk: &[f32]) -> f32;
    /// Forget the recurrent state (a new recording, or after a pause).
    fn reset(&mut self);
}

/// Silero VAD v5 through ONNX Runtime. Measured here: ~0.1 ms per 512-sample chunk (max 0.4 ms)
/// on one core, so it keeps up with real time by a factor of ~300.
pub struct SileroVad {
    inner: voice_activity_detector::VoiceActivityDetector,
}

impl SileroVad {
    /// Builds the detector. ONNX Runtime must have been located first
    /// ([`crate::ortlib::init`]); `ort` panics deep inside when the library cannot be loaded, so
    /// that panic is turned into an error here.
    pub fn new() -> anyhow::Result<Self> {
        let built = catch_unwind(|| {
            voice_activity_detector::VoiceActivityDetector::builder()
                .sample_rate(SAMPLE_RATE as i64)
                .chunk_size(CHUNK)
                .build()
        });
        let mut vad = match built {
            Ok(Ok(inner)) => SileroVad { inner },
            Ok(Err(e)) => anyhow::bail!("cannot create the Silero VAD: {e}"),
            Err(panic) => anyhow::bail!(
                "cannot start ONNX Runtime for the Silero VAD: {}",
                panic_text(&panic)
            ),
        };
        // The session is created lazily on the first prediction: run one now so that a broken
        // ONNX Runtime fails here, with a message, rather than on the audio thread.
        let first = catch_unwind(AssertUnwindSafe(|| vad.inner.predict(vec![0.0f32; CHUNK])));
        if let Err(panic) = first {
            anyhow::bail!(
                "cannot run the Silero VAD on ONNX Runtime: {}",
                panic_text(&panic)
            );
        }
        vad.inner.reset();
        Ok(vad)
    }
}

impl Vad for SileroVad {
    fn predict(&mut self, chunk: &[f32]) -> f32 {
        self.inner.predict(chunk.iter().copied())
    }

    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// The VAD the pipeline uses: Silero hearing the input as it is and, when level
/// normalisation is on, a second Silero hearing it raised ([`super::level`]); a chunk is as
/// voiced as the higher of the two. The raised copy finds quiet speech (30 dB down the VAD
/// alone missed most words); the plain one keeps what the gain can break: speech at a
/// normal level raised 8-13 dB because the talker before it was quieter (the gain follows
/// the speech level over seconds) scored 0.03-0.17 where the plain input scored 0.6-0.9,
/// and "we" of "we must find…" through the microphone was lost. On noise or silence alone
/// the gain is 0 dB, so both hear the same. Cost: one more Silero run, ~0.1 ms per chunk.
pub fn silero() -> anyhow::Result<Box<dyn Vad>> {
    let agc = super::level::Normaliser::from_env();
    let plain = SileroVad::new()?;
    if !agc.enabled() {
        return Ok(Box::new(plain));
    }
    Ok(Box::new(TwoEars {
        plain: Box::new(plain),
        raised: Box::new(SileroVad::new()?),
        agc,
    }))
}

/// See [`silero`].
pub struct TwoEars {
    pub plain: Box<dyn Vad>,
    pub raised: Box<dyn Vad>,
    pub agc: super::level::Normaliser,
}

impl Vad for TwoEars {
    fn predict(&mut self, chunk: &[f32]) -> f32 {
        let plain = self.plain.predict(chunk);
        let raised = self.raised.predict(self.agc.process(chunk));
        plain.max(raised)
    }

    fn reset(&mut self) {
        self.plain.reset();
        self.raised.reset();
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "unknown panic".to_string()
    }
}

/// A VAD that replays a fixed list of probabilities (then repeats the last one): for unit tests
/// of the segmenter and pipeline logic.
pub struct ScriptedVad {
    probs: Vec<f32>,
    next: usize,
}

impl ScriptedVad {
    pub fn new(probs: Vec<f32>) -> Self {
        ScriptedVad { probs, next: 0 }
    }
}

impl Vad for ScriptedVad {
    fn predict(&mut self, _chunk: &[f32]) -> f32 {
        let p = self
            .probs
            .get(self.next)
            .or(self.probs.last())
            .copied()
            .unwrap_or(0.0);
        self.next += 1;
        p
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::level::Normaliser;

    #[test]
    fn two_ears_take_the_higher_score_and_reset_both() {
        let mut ears = TwoEars {
            plain: Box::new(ScriptedVad::new(vec![0.8, 0.1, 0.3])),
            raised: Box::new(ScriptedVad::new(vec![0.2, 0.6, 0.3])),
            agc: Normaliser::default(),
        };
        let chunk = [0.0f32; CHUNK];
        let got: Vec<f32> = (0..3).map(|_| ears.predict(&chunk)).collect();
        assert_eq!(got, [0.8, 0.6, 0.3]);
        ears.reset();
    }
}
