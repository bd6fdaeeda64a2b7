//! Level normalisation in front of the VAD (an AGC that only the VAD hears).
//!
//! Silero VAD is level-dependent: on the eval set (tiny.en, `recorder eval`) it misses most
//! speech 30 dB down, and the words go with the utterances it never opens: WER 38.0% at
//! -30 dB and 10.4% at -20 dB against 3.4% at 0 dB. whisper itself transcribes the same
//! quiet audio, and the guards let it through (`tests/eval.rs`, whole clips without the VAD
//! at -30 dB). So the VAD gets a copy of each chunk raised towards a normal speech level;
//! the segmenter, the session's WAVs and whisper keep the original audio. With it: 5.8% at
//! -30 dB, 3.4% at -20 dB, 3.4% at 0 dB (36 dB down: 87.7% -> 8.0%), and still no words on
//! the non-speech clips or on 10 minutes of generated noise, as generated or 30 dB down.
//!
//! The gain follows the level of *speech-ish* frames only: 32 ms frames at least
//! [`SPEECH_OVER_FLOOR_DB`] above the recent noise floor. Steady noise never qualifies
//! (generated white, pink, brown noise and hum vary 0.5–5 dB between frames; the eval set's
//! noise clips 2–5 dB), and neither does digital silence, so on noise or silence alone the
//! gain stays at 0 dB and the VAD hears exactly what it heard without this module. Pauses do
//! not move the gain either (they are not speech-ish), so it does not pump between words: it
//! changes only as the speech level over the last [`SPEECH_FRAMES`] speech-ish frames does.
//!
//! The gain only ever raises quiet input (never below 0 dB), up to [`MAX_GAIN_DB`], and is
//! further limited so the amplified noise floor stays under [`MAX_FLOOR_DBFS`] and the
//! chunk's peak under [`MAX_PEAK_DBFS`].

use std::collections::VecDeque;

/// The speech level (90th percentile of speech-ish frames) the VAD should hear. The eval
/// set's speech clips sit at -10 to -28 dBFS at their own level (median -19, the quietest
/// -37). A soft phrase after louder speech sits under that level, and Silero is steeply
/// level-dependent there: JFK's "ask not" (about 2 dB under the clip's speech level) scores
/// 0.87 as recorded (-11 dBFS), 0.39 at -17 and 0.12 at -23, so with a target of -16 the
/// phrase was lost, without a trace, whenever the input was 12 dB or more quieter than the
/// recording. `recorder eval` over the 22 speech clips, WER at 0 / -12 / -20 / -30 / -36 dB
/// (tiny.en, 2026-12-01): target -16: 2.5 / 2.8 / 2.8 / 5.2 / 8.9%, "ask not" lost from
/// -12 down; -12: 2.5 / 2.8 / 2.8 / 5.2 / 8.3%; -10: 2.5 / 2.2 / 2.2 / 4.9 / 8.3%; -8:
/// 2.5 / 2.2 / 2.2 / 4.6 / 8.3%, "ask not" kept down to -30. No words on the non-speech
/// clips at any of them. The plain ear still hears the input as it is, so a louder target
/// cannot hide what the unraised input shows (see `vad::silero`).
pub const TARGET_DBFS: f32 = -8.0;

/// At most this much gain: speech 30 dB down (speech level -40 to -58 dBFS on the eval set)
/// is brought to -26 dBFS or louder, where the VAD opens on it; beyond that the gain stops
/// rising, so hiss at the bottom of a quiet input cannot be blown up without limit.
pub const MAX_GAIN_DB: f32 = 30.0;

/// The amplified noise floor stays under this: the eval set's noisiest clips (koala noise,
/// leopard's empty room) sit at -35 and -28 dBFS at their own level and give no words, so
/// the VAD is not asked to judge a floor louder than what it already handles.
pub const MAX_FLOOR_DBFS: f32 = -40.0;

/// Keeps the chunk's loudest sample under full scale (a loud onset after quiet speech would
/// otherwise be clipped for the VAD until the speech level catches up).
pub const MAX_PEAK_DBFS: f32 = -1.0;

/// A frame is speech-ish when this much above the noise floor. Steady noise varies by at
/// most ~5 dB between frames; speech's syllables rise 20 dB and more above the gaps between
/// words on every eval clip.
pub const SPEECH_OVER_FLOOR_DB: f32 = 10.0;

/// And above this absolute level: dither and the last bits of a 16-bit file are not speech.
pub const MIN_SPEECH_DBFS: f32 = -80.0;

/// Noise floor: the 10th percentile frame level over the last 5 s (156 frames of 32 ms),
/// which falls in the gaps between words even in continuous speech.
pub const FLOOR_FRAMES: usize = 156;
const FLOOR_QUANTILE: f32 = 0.10;

/// Nothing is speech-ish before the floor has this many frames (256 ms): the first frames
/// of a file or a stream fade in (JFK's clip: digital silence, one frame at -73 dBFS, then
/// crowd noise at -42 dBFS), and a floor from one or two of them makes the noise look loud.
pub const FLOOR_WARMUP_FRAMES: usize = 8;

/// Frames under this are digital silence (a muted input, a file's zero padding) and are
/// kept out of the floor: a floor of -120 dB would make any sound after it speech-ish.
pub const DIGITAL_SILENCE_DBFS: f32 = -100.0;

/// The gain applies once this many speech-ish frames (96 ms) were heard: a syllable's first
/// frame is its quietest, so a level from it alone overshoots (15 dB on the eval set's
/// "Go forward" at its own level, enough to change what the VAD made of the word).
pub const MIN_SPEECH_FRAMES: usize = 3;

/// Speech level: the 90th percentile of the last 3 s of speech-ish frames (94 frames), so a
/// door slam shorter than ~300 ms hardly moves it, while a new, quieter talker is followed
/// within about 3 s of their speech.
pub const SPEECH_FRAMES: usize = 94;
const SPEECH_QUANTILE: f32 = 0.90;

/// Digital silence is -inf dB; clamp so differences stay finite.
const MIN_DB: f32 = -120.0;

/// Mean-square level of a frame in dBFS.
pub fn frame_dbfs(frame: &[f32]) -> f32 {
    if frame.is_empty() {
        return MIN_DB;
    }
    let ms = frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32;
    (10.0 * ms.log10()).max(MIN_DB)
}

fn peak_dbfs(frame: &[f32]) -> f32 {
    let peak = frame.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    (20.0 * peak.log10()).max(MIN_DB)
}

/// The gain (dB) for a speech level, noise floor and chunk peak; `None` speech level (no
/// speech-ish frame yet) gives 0 dB.
pub fn gain_for(speech_dbfs: Option<f32>, floor_dbfs: f32, peak_dbfs: f32) -> f32 {
    let Some(speech) = speech_dbfs else {
        return 0.0;
    };
    (TARGET_DBFS - speech)
        .min(MAX_GAIN_DB)
        .min(MAX_FLOOR_DBFS - floor_dbfs)
        .min(MAX_PEAK_DBFS - peak_dbfs)
        .max(0.0)
}

/// The normaliser: feed it every 512-sample chunk in order; it returns the chunk for the VAD.
/// Allocation-free after the first chunk (it runs on the audio thread).
pub struct Normaliser {
    /// `RECORDER_AGC=off` (for measurement): the VAD hears the input as it is.
    enabled: bool,
    floor: VecDeque<f32>,
    speech: VecDeque<f32>,
    /// Gain applied at the end of the previous chunk (linear), to ramp from.
    last_gain: f32,
    gain_db: f32,
    out: Vec<f32>,
    scratch: Vec<f32>,
}

impl Default for Normaliser {
    fn default() -> Self {
        Normaliser {
            enabled: true,
            floor: VecDeque::with_capacity(FLOOR_FRAMES),
            speech: VecDeque::with_capacity(SPEECH_FRAMES),
            last_gain: 1.0,
            gain_db: 0.0,
            out: Vec::new(),
            scratch: Vec::with_capacity(FLOOR_FRAMES),
        }
    }
}

impl Normaliser {
    /// On unless `RECORDER_AGC` is `off` (how the README's before/after figures were made).
    pub fn from_env() -> Normaliser {
        let off = std::env::var("RECORDER_AGC").is_ok_and(|v| v.trim() == "off");
        if off {
            tracing::info!("RECORDER_AGC=off: no level normalisation before the VAD");
        }
        Normaliser {
            enabled: !off,
            ..Normaliser::default()
        }
    }

    /// False under `RECORDER_AGC=off`.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The current gain in dB (0 until speech-ish input has been heard).
    pub fn gain_db(&self) -> f32 {
        self.gain_db
    }

    /// The noise floor estimate in dBFS (-120 before any input).
    pub fn floor_dbfs(&mut self) -> f32 {
        quantile(&self.floor, FLOOR_QUANTILE, &mut self.scratch).unwrap_or(MIN_DB)
    }

    /// The speech level estimate, once [`MIN_SPEECH_FRAMES`] speech-ish frames were heard.
    pub fn speech_dbfs(&mut self) -> Option<f32> {
        if self.speech.len() < MIN_SPEECH_FRAMES {
            return None;
        }
        quantile(&self.speech, SPEECH_QUANTILE, &mut self.scratch)
    }

    /// Updates the estimates with `chunk` and returns it with the gain applied (ramped
    /// linearly from the previous chunk's gain, so the VAD hears no step).
    pub fn process(&mut self, chunk: &[f32]) -> &[f32] {
        if !self.enabled {
            self.out.clear();
            self.out.extend_from_slice(chunk);
            return &self.out;
        }
        let level = frame_dbfs(chunk);
        // The floor before this frame: a frame is compared with what came before it.
        let warm = self.floor.len() >= FLOOR_WARMUP_FRAMES;
        if warm && level >= MIN_SPEECH_DBFS && level >= self.floor_dbfs() + SPEECH_OVER_FLOOR_DB {
            push_bounded(&mut self.speech, level, SPEECH_FRAMES);
        }
        if level >= DIGITAL_SILENCE_DBFS {
            push_bounded(&mut self.floor, level, FLOOR_FRAMES);
        }
        let floor = self.floor_dbfs();
        let speech = self.speech_dbfs();
        self.gain_db = gain_for(speech, floor, peak_dbfs(chunk));
        let gain = 10f32.powf(self.gain_db / 20.0);
        let start = self.last_gain;
        self.last_gain = gain;
        self.out.clear();
        if gain == 1.0 && start == 1.0 {
            self.out.extend_from_slice(chunk);
        } else {
            let step = (gain - start) / chunk.len() as f32;
            self.out.extend(
                chunk
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s * (start + step * (i + 1) as f32)).clamp(-1.0, 1.0)),
            );
        }
        &self.out
    }
}

fn push_bounded(q: &mut VecDeque<f32>, v: f32, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(v);
}

/// The `q` quantile (nearest rank) of `values`, sorted in `scratch`.
fn quantile(values: &VecDeque<f32>, q: f32, scratch: &mut Vec<f32>) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    scratch.clear();
    scratch.extend(values.iter().copied());
    scratch.sort_unstable_by(f32::total_cmp);
    Some(scratch[((scratch.len() - 1) as f32 * q).round() as usize])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::CHUNK;

    /// Deterministic white noise in [-1, 1) scaled to `rms`.
    fn noise(seed: &mut u64, rms: f32) -> Vec<f32> {
        (0..CHUNK)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                // Uniform in [-1, 1) has RMS 1/sqrt(3).
                ((*seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * rms * 3f32.sqrt()
            })
            .collect()
    }

    fn tone(rms: f32, phase: &mut f32) -> Vec<f32> {
        (0..CHUNK)
            .map(|_| {
                *phase += 2.0 * std::f32::consts::PI * 200.0 / 16_000.0;
                phase.sin() * rms * 2f32.sqrt()
            })
            .collect()
    }

    fn db(x: f32) -> f32 {
        20.0 * x.log10()
    }

    /// "Speech" `speech_db` over a noise floor `floor_db`: 10 chunks (320 ms) of noise alone
    /// (the user starts recording, then talks), then 4 chunks of noise and 6 of tone plus
    /// noise, over and over, like the gaps between words and syllables.
    fn talk(n: &mut Normaliser, speech_db: f32, floor_db: f32, chunks: usize) -> Vec<f32> {
        let (mut seed, mut phase) = (0x1234_5678_9abc_def1u64, 0.0f32);
        let mut gains = Vec::new();
        for i in 0..chunks {
            let mut c = noise(&mut seed, 10f32.powf(floor_db / 20.0));
            if i >= 10 && i % 10 >= 4 {
                // Syllables vary in loudness: 0, -6, -3, -9, 0 dB around `speech_db`.
                let db = speech_db + [0.0, -6.0, -3.0, -9.0, 0.0][i / 10 % 5];
                let t = tone(10f32.powf(db / 20.0), &mut phase);
                c.iter_mut().zip(t).for_each(|(a, b)| *a += b);
            }
            n.process(&c);
            gains.push(n.gain_db());
        }
        gains
    }

    #[test]
    fn levels_in_dbfs() {
        assert_eq!(frame_dbfs(&[0.0; CHUNK]), -120.0);
        assert_eq!(frame_dbfs(&[]), -120.0);
        assert!((frame_dbfs(&[0.1; CHUNK]) + 20.0).abs() < 1e-3);
        assert!((peak_dbfs(&[0.0, -0.5, 0.25]) - db(0.5)).abs() < 1e-3);
    }

    #[test]
    fn gain_rule() {
        // No speech heard yet: unity.
        assert_eq!(gain_for(None, -90.0, -60.0), 0.0);
        // Normal speech is left alone, loud speech is never turned down.
        assert_eq!(gain_for(Some(TARGET_DBFS), -60.0, -5.0), 0.0);
        assert_eq!(gain_for(Some(-6.0), -60.0, -2.0), 0.0);
        // Quiet speech is brought to the target...
        let want = TARGET_DBFS + 30.0;
        assert!((gain_for(Some(-30.0), -85.0, -35.0) - want).abs() < 1e-4);
        // ...up to the cap,
        assert_eq!(gain_for(Some(-75.0), -110.0, -60.0), MAX_GAIN_DB);
        // as far as the amplified floor stays under -40 dBFS,
        assert!((gain_for(Some(-40.0), -55.0, -25.0) - 15.0).abs() < 1e-4);
        // and the peak under -1 dBFS.
        assert!((gain_for(Some(-40.0), -85.0, -11.0) - 10.0).abs() < 1e-4);
        // A floor already above -40 dBFS gets nothing (not a negative gain).
        assert_eq!(gain_for(Some(-30.0), -35.0, -10.0), 0.0);
    }

    #[test]
    fn quiet_speech_is_raised_to_the_target() {
        let mut n = Normaliser::default();
        // Speech at -36 dBFS RMS (a soft voice; normal speech 17 dB down) over a -90 dBFS
        // floor.
        let gains = talk(&mut n, -36.0, -90.0, 200);
        let speech = n.speech_dbfs().unwrap();
        assert!((speech + 36.0).abs() < 1.5, "speech level {speech}");
        let last = *gains.last().unwrap();
        assert!((last - (TARGET_DBFS - speech)).abs() < 0.01, "gain {last}");
        assert!(last > 26.0, "gain {last}");
        // The gain is there from the first syllable's third chunk on (64 ms into it, well
        // inside the segmenter's 300 ms pre-roll), so the VAD hears the first word of the
        // first utterance at a normal level; before it, unity.
        assert_eq!(gains[..16], [0.0; 16]);
        assert!(gains[16] > 25.0, "{:?}", &gains[14..18]);
        // And the output really is louder by that gain.
        let mut c = vec![0.0; CHUNK];
        c[0] = 0.001;
        let out = n.process(&c).to_vec();
        assert!(out[CHUNK - 1] == 0.0 && out[0] > 0.001 * 10f32.powf(25.0 / 20.0));
    }

    #[test]
    fn gain_does_not_pump_between_words() {
        let mut n = Normaliser::default();
        let gains = talk(&mut n, -40.0, -85.0, 400);
        // After the first 2 s, the gain stays within 1 dB through syllables and gaps.
        let settled = &gains[62..];
        let (lo, hi) = settled
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &g| (l.min(g), h.max(g)));
        assert!(hi - lo < 1.0, "gain swings {lo}..{hi} dB");
        // A long pause (10 s of floor alone) does not raise it either.
        let before = n.gain_db();
        let mut seed = 99u64;
        for _ in 0..312 {
            n.process(&noise(&mut seed, 10f32.powf(-85.0 / 20.0)));
        }
        assert!(
            (n.gain_db() - before).abs() < 0.5,
            "{before} -> {}",
            n.gain_db()
        );
    }

    #[test]
    fn speech_at_the_target_level_is_untouched() {
        let mut n = Normaliser::default();
        let (mut seed, mut phase) = (7u64, 0.0f32);
        for i in 0..300 {
            let mut c = noise(&mut seed, 10f32.powf(-60.0 / 20.0));
            if i % 10 < 6 {
                // A tone at -7 dBFS RMS (peaks at -4): above the target.
                let t = tone(10f32.powf(-7.0 / 20.0), &mut phase);
                c.iter_mut().zip(t).for_each(|(a, b)| *a += b);
            }
            assert_eq!(n.process(&c), &c[..], "chunk {i}");
        }
        assert_eq!(n.gain_db(), 0.0);
    }

    #[test]
    fn steady_noise_and_silence_are_not_amplified() {
        // White noise at several levels, quiet and loud, for 10 s each: no frame stands
        // 10 dB above the floor, so the VAD hears it as it is.
        for floor_db in [-90.0, -70.0, -50.0, -20.0] {
            let mut n = Normaliser::default();
            let mut seed = 42u64;
            for _ in 0..312 {
                let c = noise(&mut seed, 10f32.powf(floor_db / 20.0));
                assert_eq!(n.process(&c), &c[..]);
            }
            assert_eq!(n.speech_dbfs(), None, "noise at {floor_db} dBFS");
        }
        let mut n = Normaliser::default();
        for _ in 0..312 {
            assert!(n.process(&[0.0; CHUNK]).iter().all(|&s| s == 0.0));
        }
        assert_eq!(n.gain_db(), 0.0);
        // Dither at the bottom of a 16-bit file after silence: under -80 dBFS, not speech.
        let mut seed = 5u64;
        for _ in 0..100 {
            n.process(&noise(&mut seed, 10f32.powf(-95.0 / 20.0)));
        }
        assert_eq!(n.gain_db(), 0.0);
    }

    #[test]
    fn a_fade_in_after_digital_silence_is_not_speech() {
        // JFK's clip opens with a frame of digital silence, one at -73 dBFS, then steady
        // crowd noise at -42 dBFS: the noise is the floor, not quiet speech to raise 16 dB.
        let mut n = Normaliser::default();
        let mut seed = 11u64;
        for _ in 0..5 {
            n.process(&[0.0; CHUNK]);
        }
        n.process(&noise(&mut seed, 10f32.powf(-73.0 / 20.0)));
        for _ in 0..60 {
            let c = noise(&mut seed, 10f32.powf(-42.0 / 20.0));
            assert_eq!(n.process(&c), &c[..]);
        }
        assert_eq!(n.speech_dbfs(), None);
    }

    #[test]
    fn off_means_the_vad_hears_the_input() {
        let mut n = Normaliser {
            enabled: false,
            ..Normaliser::default()
        };
        let (mut seed, mut phase) = (13u64, 0.0f32);
        for i in 0..100 {
            let mut c = noise(&mut seed, 10f32.powf(-90.0 / 20.0));
            if i % 10 >= 4 {
                let t = tone(10f32.powf(-56.0 / 20.0), &mut phase);
                c.iter_mut().zip(t).for_each(|(a, b)| *a += b);
            }
            assert_eq!(n.process(&c), &c[..]);
        }
        assert_eq!(n.gain_db(), 0.0);
    }

    #[test]
    fn louder_speech_brings_the_gain_down_and_never_clips() {
        let mut n = Normaliser::default();
        talk(&mut n, -56.0, -90.0, 100);
        assert!(n.gain_db() > 28.0);
        // The same talker 49 dB louder: the peak limit acts at once, and within 3 s of
        // speech the gain is back to 0 dB.
        let (mut seed, mut phase) = (3u64, 0.0f32);
        for i in 0..150 {
            let mut c = noise(&mut seed, 10f32.powf(-90.0 / 20.0));
            if i % 10 < 6 {
                let t = tone(10f32.powf(-7.0 / 20.0), &mut phase);
                c.iter_mut().zip(t).for_each(|(a, b)| *a += b);
            }
            let out = n.process(&c);
            assert!(out.iter().all(|s| s.abs() <= 1.0));
            if i % 10 < 6 && i > 0 {
                assert!(n.gain_db() <= MAX_PEAK_DBFS - peak_dbfs(&c) + 1e-3);
            }
        }
        assert_eq!(n.gain_db(), 0.0);
    }

    #[test]
    fn a_noisy_room_is_not_raised_above_the_floor_limit() {
        let mut n = Normaliser::default();
        // Quiet speech (-40 dBFS) over a loud floor (-52 dBFS): the speech alone would ask
        // for 14 dB, but the floor may rise to -40 dBFS only (12 dB).
        talk(&mut n, -40.0, -52.0, 300);
        let (floor, speech, gain) = (n.floor_dbfs(), n.speech_dbfs().unwrap(), n.gain_db());
        assert!(gain > 10.0, "{gain}");
        assert!(gain < TARGET_DBFS - speech - 1.0, "{gain} {speech}");
        assert!(
            (floor + gain - MAX_FLOOR_DBFS).abs() < 1e-3,
            "{floor} {gain}"
        );
    }
}
