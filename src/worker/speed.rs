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
//! Accuracy, measured 2026-11-26 on the 22 eval clips (326 words, `recorder bench latency
//! --runs 1`, q8_0, 2 threads; `MARGIN,FLOOR` via `RECORDER_AUDIO_CTX`): errors 10 at floor
//! 384, 512, 640 and 768 alike, 8 at 1024, 11 at 1472, 9 with the full 1500 (f16: 10 at 384,
//! 6 full). Median encode: 111 ms at 384 (quiet machine), ~2.5× that at 768, 726 ms full. The
//! three clips that lose words against the unmodified model ("ill-disposed" → "old-asposed",
//! "wash water" → "wash for", "cotton" → "carton") are all under 10 s, i.e. at the floor, and
//! a floor twice as large does not bring a single word back, while 1472 of 1500 positions
//! loses more: tiny.en was trained on the full window only, and any shortened window nudges
//! borderline words either way. It is not the audio's end being cut (the margin), so a larger
//! floor would cost 2× the encoder time for no measured gain; the floor stays at 384. The
//! eval set's resolution is one word = 0.31 points, so the accuracy goal (+0.5 points over
//! the unmodified model) allows one word; the default is 4 words (1.2 points) over it.
//!
//! `tuning.audio_ctx` in the config (or `RECORDER_AUDIO_CTX`, resolved by the parent) sets
//! it: `full` (whisper's default, 1500), `auto` (this policy), `MARGIN` or `MARGIN,FLOOR` in
//! encoder positions.

use crate::protocol::Tuning;

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

    /// From the tuning's `audio_ctx`; a bad value is logged and the default used.
    pub fn from_spec(spec: &str) -> AudioCtx {
        AudioCtx::parse(spec).unwrap_or_else(|e| {
            tracing::warn!("tuning.audio_ctx: {e}; default policy");
            AudioCtx::default()
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

/// This worker's speed settings, resolved once from its [`Tuning`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    pub audio_ctx: AudioCtx,
    pub flash_attn: bool,
    /// See [`threads_now`].
    pub adaptive_threads: bool,
    /// See [`RECHECK_BELOW`]; `None`: no re-check.
    pub recheck_below: Option<f32>,
}

impl Speed {
    pub fn from_tuning(t: &Tuning) -> Speed {
        let speed = Speed {
            audio_ctx: AudioCtx::from_spec(&t.audio_ctx),
            flash_attn: t.flash_attn,
            adaptive_threads: t.adaptive_threads,
            recheck_below: parse_recheck(Some(t.recheck.as_str())),
        };
        tracing::info!(?speed, "speed settings");
        speed
    }

    /// whisper.cpp's context parameters (flash attention on or off).
    pub fn context_params(&self) -> whisper_rs::WhisperContextParameters<'static> {
        let mut p = whisper_rs::WhisperContextParameters::default();
        p.flash_attn(self.flash_attn);
        p
    }

    /// The whisper threads for a job now (see [`threads_now`]).
    pub fn threads(&self, configured: usize) -> usize {
        if self.adaptive_threads {
            threads_now(configured)
        } else {
            configured
        }
    }
}

/// Sets the speed-related decoding parameters for an utterance of `samples` (16 kHz, padded)
/// on a worker configured for `threads` threads.
///
/// Timestamps stay on: without them (`no_timestamps`) a reduced context loops on short
/// utterances ("She had your dark suit …" three times over at -10 dB), because the timestamp
/// tokens are what ends a window's decoding (README "Speed").
pub fn apply(
    p: &mut whisper_rs::FullParams<'_, '_>,
    speed: &Speed,
    samples: usize,
    threads: usize,
) {
    p.set_audio_ctx(speed.audio_ctx.positions(samples));
    let n = speed.threads(threads);
    if n != threads {
        tracing::debug!(configured = threads, using = n, "cores busy elsewhere");
    }
    p.set_n_threads(n as std::ffi::c_int);
}

/// Threads for the job about to run: the configured count, but no more than the cores nobody
/// else keeps busy right now.
///
/// ggml splits every operation evenly over its threads and waits for the slowest, so one
/// thread sharing its core with a busy process slows the whole job to that thread's share
/// of the core. The worker runs at nice 10, so against a process at normal priority that
/// share is about a tenth: measured here with one busy loop beside it, 2 threads took 10 s
/// for a 3 s utterance, 1 thread 0.35 s (README "Speed"). `tuning.adaptive_threads = false`
/// (`RECORDER_ADAPTIVE_THREADS=0`) turns this off ([`Speed::threads`]).
pub fn threads_now(configured: usize) -> usize {
    if configured <= 1 {
        return configured;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Runnable threads right now, less this one; the least of three looks 1 ms apart, so a
    // thread that only wakes briefly (our own audio thread, a timer) is not counted.
    let mut busy = usize::MAX;
    for i in 0..3 {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        match procs_running() {
            Some(n) => busy = busy.min(n.saturating_sub(1)),
            None => return configured,
        }
    }
    threads_for(configured, cores, busy)
}

/// The rule behind [`threads_now`]: `configured`, capped at the cores not taken by `busy`
/// runnable threads of other processes, at least 1.
pub fn threads_for(configured: usize, cores: usize, busy: usize) -> usize {
    configured.min(cores.saturating_sub(busy)).max(1)
}

/// `procs_running` of /proc/stat: threads running or ready to run, machine-wide.
fn procs_running() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("procs_running "))?
        .trim()
        .parse()
        .ok()
}

/// The default for [`recheck_below`]: a final pass on a shortened window whose least likely
/// token has a log-probability under -1.5 is decoded again on the full window.
///
/// The shortened window costs a few words the full one gets right ("ill-disposed" heard as
/// "old-asposed", "cotton" as "carton"). Through the real pipeline on the eval set (VAD cuts,
/// tiny.en q8_0, 29 utterances) the errors were 11 of 325 words with `audio_ctx` alone, 11 on
/// the full window (q8_0), 8 on the unmodified f16 model and 8 with this re-check, which
/// re-decoded 3 utterances; -2 re-decoded none and changed nothing. The weakest token does
/// not flag every such word (f16 weights stay at 10 errors vs 6 on whole clips), so this is
/// a cheap guard, not a cure; `RECORDER_RECHECK=off` turns it off, a number sets the limit.
pub const RECHECK_BELOW: f32 = -1.5;

/// `None`/empty: the default; `off`: no re-check; a number: that limit (bad: the default).
fn parse_recheck(v: Option<&str>) -> Option<f32> {
    match v.map(str::trim) {
        None | Some("") => Some(RECHECK_BELOW),
        Some("off") => None,
        Some(n) => Some(n.parse().unwrap_or_else(|_| {
            tracing::warn!("tuning.recheck {n:?}: expected a number or off; default");
            RECHECK_BELOW
        })),
    }
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
    fn threads_give_way_to_busy_cores() {
        // An idle 2-core machine: both threads.
        assert_eq!(threads_for(2, 2, 0), 2);
        // One core busy elsewhere: one thread, on the free core.
        assert_eq!(threads_for(2, 2, 1), 1);
        // Everything busy: still one thread.
        assert_eq!(threads_for(2, 2, 5), 1);
        // Room to spare: never more than configured.
        assert_eq!(threads_for(4, 16, 3), 4);
        assert_eq!(threads_for(8, 8, 2), 6);
        assert_eq!(threads_for(1, 2, 0), 1);
    }

    #[test]
    fn procs_running_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            // At least this thread runs.
            assert!(procs_running().unwrap() >= 1);
            assert!(threads_now(2) >= 1);
        }
    }

    #[test]
    fn recheck_limit_parses() {
        assert_eq!(parse_recheck(None), Some(RECHECK_BELOW));
        assert_eq!(parse_recheck(Some("")), Some(RECHECK_BELOW));
        assert_eq!(parse_recheck(Some("off")), None);
        assert_eq!(parse_recheck(Some("-2.5")), Some(-2.5));
        assert_eq!(parse_recheck(Some("loud")), Some(RECHECK_BELOW));
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
