//! How much of whisper's 30 s window the encoder runs (`audio_ctx`).
//!
//! whisper.cpp pads every input to a 30 s window (1500 encoder positions, 20 ms each) and, by
//! default, encodes all of it, so a 3 s utterance costs as much as a 30 s one. The encoder's
//! cost falls with the context (linearly in the matrix products, quadratically in attention),
//! so sizing it to the utterance is the largest speed lever for dictation. Too small a
//! context truncates the audio (the tail is simply not seen) and, near the audio's length,
//! makes tiny.en loop or drop words (whisper.cpp #1951), so the policy keeps a margin past
//! the audio's end and a floor for short utterances. The numbers are measured on the eval set
//! (README "Speed").
//!
//! `RECORDER_AUDIO_CTX` (read by the workers) overrides it for measurement: `full` (whisper's
//! default, 1500), `auto` (this policy), `MARGIN` or `MARGIN,FLOOR` in encoder positions.

use std::sync::OnceLock;

/// 16 kHz samples per encoder position: two 10 ms mel frames.
pub const SAMPLES_PER_POSITION: usize = 320;
/// The encoder's full context: 30 s.
pub const FULL_CTX: usize = 1500;
/// Positions added past the end of the audio (1.28 s).
pub const MARGIN: usize = 64;
/// Smallest context used, for short utterances (7.68 s).
pub const FLOOR: usize = 384;
/// Contexts are rounded up to a multiple of this (whole SIMD tiles; few distinct shapes).
pub const STEP: usize = 32;

/// The `audio_ctx` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCtx {
    /// Always the full 1500 positions (whisper.cpp's default).
    Full,
    /// The audio's length plus `margin` positions, at least `floor`, rounded up to [`STEP`].
    Fit { margin: usize, floor: usize },
}

impl Default for AudioCtx {
    fn default() -> Self {
        AudioCtx::Fit {
            margin: MARGIN,
            floor: FLOOR,
        }
    }
}

impl AudioCtx {
    /// `full`, `auto` (or empty: the default), `MARGIN`, or `MARGIN,FLOOR`.
    pub fn parse(spec: &str) -> Result<AudioCtx, String> {
        let spec = spec.trim();
        match spec {
            "" | "auto" => return Ok(AudioCtx::default()),
            "full" | "0" => return Ok(AudioCtx::Full),
            _ => {}
        }
        let number = |s: &str| {
            s.trim().parse::<usize>().map_err(|_| {
                format!("audio_ctx {spec:?}: expected full, auto, MARGIN or MARGIN,FLOOR")
            })
        };
        match spec.split_once(',') {
            Some((m, f)) => Ok(AudioCtx::Fit {
                margin: number(m)?,
                floor: number(f)?,
            }),
            None => Ok(AudioCtx::Fit {
                margin: number(spec)?,
                floor: FLOOR,
            }),
        }
    }

    /// From `RECORDER_AUDIO_CTX`, read once; a bad value is logged and the default used.
    pub fn from_env() -> AudioCtx {
        static POLICY: OnceLock<AudioCtx> = OnceLock::new();
        *POLICY.get_or_init(|| {
            let spec = std::env::var("RECORDER_AUDIO_CTX").unwrap_or_default();
            let policy = AudioCtx::parse(&spec).unwrap_or_else(|e| {
                tracing::warn!("RECORDER_AUDIO_CTX: {e}; default policy");
                AudioCtx::default()
            });
            tracing::info!(?policy, "audio_ctx");
            policy
        })
    }

    /// Encoder positions for `samples` of 16 kHz audio, as whisper.cpp's `audio_ctx` takes it:
    /// 0 means the full window.
    pub fn positions(self, samples: usize) -> i32 {
        let AudioCtx::Fit { margin, floor } = self else {
            return 0;
        };
        let needed = samples.div_ceil(SAMPLES_PER_POSITION);
        let ctx = (needed + margin).max(floor).next_multiple_of(STEP);
        if ctx >= FULL_CTX { 0 } else { ctx as i32 }
    }
}

/// whisper.cpp's context parameters; `RECORDER_FLASH_ATTN=1` turns flash attention on.
pub fn context_params() -> whisper_rs::WhisperContextParameters<'static> {
    let mut p = whisper_rs::WhisperContextParameters::default();
    p.flash_attn(std::env::var("RECORDER_FLASH_ATTN").is_ok_and(|v| v == "1"));
    p
}

/// Sets the speed-related decoding parameters for an utterance of `samples` (16 kHz, padded).
pub fn apply(p: &mut whisper_rs::FullParams<'_, '_>, samples: usize) {
    p.set_audio_ctx(audio_ctx(samples));
    if std::env::var("RECORDER_NO_TIMESTAMPS").is_ok_and(|v| v == "1") {
        p.set_no_timestamps(true);
    }
}

/// The `audio_ctx` for an utterance of `samples` (the policy from the environment).
pub fn audio_ctx(samples: usize) -> i32 {
    AudioCtx::from_env().positions(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: usize = 16_000;

    #[test]
    fn context_covers_the_audio_plus_the_margin() {
        let p = AudioCtx::default();
        // 11 s = 550 positions + 64 margin = 614, rounded up to 640.
        assert_eq!(p.positions(11 * SECOND), 640);
        for s in [1, 5, 8, 10, 12, 15, 20, 25, 28] {
            let ctx = p.positions(s * SECOND) as usize;
            if ctx == 0 {
                continue;
            }
            assert!(ctx >= s * 50 + MARGIN, "{s} s -> {ctx}");
            assert_eq!(ctx % STEP, 0);
            assert!(
                ctx < s * 50 + MARGIN + STEP || ctx == FLOOR,
                "{s} s -> {ctx}"
            );
        }
    }

    #[test]
    fn short_utterances_get_the_floor() {
        let p = AudioCtx::default();
        assert_eq!(p.positions(0), FLOOR as i32);
        assert_eq!(p.positions(SECOND), FLOOR as i32);
        assert_eq!(p.positions(2 * SECOND), FLOOR as i32);
    }

    #[test]
    fn long_utterances_use_the_whole_window() {
        let p = AudioCtx::default();
        assert_eq!(p.positions(29 * SECOND), 0);
        assert_eq!(p.positions(30 * SECOND), 0);
        assert_eq!(p.positions(40 * SECOND), 0);
        assert_eq!(AudioCtx::Full.positions(SECOND), 0);
    }

    #[test]
    fn context_never_shrinks_as_audio_grows() {
        let p = AudioCtx::default();
        let mut last = 0;
        for samples in (0..30 * SECOND).step_by(997) {
            let ctx = match p.positions(samples) {
                0 => FULL_CTX,
                n => n as usize,
            };
            assert!(ctx >= last, "{samples}");
            last = ctx;
        }
    }

    #[test]
    fn policies_parse() {
        assert_eq!(AudioCtx::parse(""), Ok(AudioCtx::default()));
        assert_eq!(AudioCtx::parse("auto"), Ok(AudioCtx::default()));
        assert_eq!(AudioCtx::parse("full"), Ok(AudioCtx::Full));
        assert_eq!(
            AudioCtx::parse("128"),
            Ok(AudioCtx::Fit {
                margin: 128,
                floor: FLOOR
            })
        );
        assert_eq!(
            AudioCtx::parse("32, 256"),
            Ok(AudioCtx::Fit {
                margin: 32,
                floor: 256
            })
        );
        assert!(AudioCtx::parse("big").is_err());
    }
}
