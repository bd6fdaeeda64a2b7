//! Generated non-speech clips (`recorder eval --noise SECONDS`): white, pink and brown noise,
//! mains hum and digital silence, so the harness checks that nothing is transcribed from them
//! without needing sox. Deterministic (fixed seed), so runs compare.

use std::path::Path;

use super::manifest::Clip;
use crate::audio::wav;

const RATE: usize = 16_000;

/// Loud but not clipping: -20 dBFS RMS, like a noisy room close to the microphone.
const NOISE_RMS: f32 = 0.1;

/// xorshift64*: small, fast, and good enough for noise.
struct Rng(u64);

impl Rng {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    White,
    Pink,
    Brown,
    Hum,
    Silence,
}

pub const ALL: [Kind; 5] = [
    Kind::White,
    Kind::Pink,
    Kind::Brown,
    Kind::Hum,
    Kind::Silence,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::White => "gen_white_noise",
            Kind::Pink => "gen_pink_noise",
            Kind::Brown => "gen_brown_noise",
            Kind::Hum => "gen_mains_hum",
            Kind::Silence => "gen_silence",
        }
    }
}

pub fn generate(kind: Kind, seconds: f32) -> Vec<f32> {
    let n = (seconds * RATE as f32) as usize;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ kind as u64);
    let raw: Vec<f32> = match kind {
        Kind::White => (0..n).map(|_| rng.next()).collect(),
        Kind::Pink => pink(&mut rng, n),
        Kind::Brown => brown(&mut rng, n),
        Kind::Hum => hum(&mut rng, n),
        Kind::Silence => return vec![0.0; n],
    };
    scale_to_rms(raw, NOISE_RMS)
}

/// Paul Kellet's economy pink filter: roughly -3 dB per octave, which is all a
/// "does noise come out as words" check needs.
fn pink(rng: &mut Rng, n: usize) -> Vec<f32> {
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    (0..n)
        .map(|_| {
            let w = rng.next();
            b0 = 0.99765 * b0 + w * 0.099_046;
            b1 = 0.963 * b1 + w * 0.296_516_4;
            b2 = 0.57 * b2 + w * 1.052_691_3;
            b0 + b1 + b2 + w * 0.1848
        })
        .collect()
}

/// Leaky integration of white noise (-6 dB/octave); the leak keeps it from drifting off.
fn brown(rng: &mut Rng, n: usize) -> Vec<f32> {
    let mut b = 0.0f32;
    (0..n)
        .map(|_| {
            b = (b + 0.02 * rng.next()) / 1.02;
            b
        })
        .collect()
}

/// 50 Hz mains hum with its 2nd and 3rd harmonics and a little hiss (-50 dB).
fn hum(rng: &mut Rng, n: usize) -> Vec<f32> {
    let w = 2.0 * std::f32::consts::PI * 50.0 / RATE as f32;
    (0..n)
        .map(|i| {
            let t = i as f32 * w;
            t.sin() + 0.5 * (2.0 * t).sin() + 0.3 * (3.0 * t).sin() + 0.003 * rng.next()
        })
        .collect()
}

fn scale_to_rms(mut x: Vec<f32>, target: f32) -> Vec<f32> {
    let rms = (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt();
    if rms > 0.0 {
        let g = target / rms;
        x.iter_mut().for_each(|s| *s = (*s * g).clamp(-1.0, 1.0));
    }
    x
}

/// Writes one clip of each kind into `dir` and returns them as non-speech clips.
pub fn write_clips(dir: &Path, seconds: f32) -> anyhow::Result<Vec<Clip>> {
    ALL.iter()
        .map(|&kind| {
            let path = dir.join(format!("{}.wav", kind.name()));
            wav::write_16k_mono(&path, &generate(kind, seconds))?;
            Ok(Clip {
                name: kind.name().into(),
                path,
                duration_s: seconds as f64,
                reference: String::new(),
            })
        })
        .collect()
}

/// `samples` scaled by `db` decibels (clipped to full scale).
pub fn apply_gain(samples: &mut [f32], db: f32) {
    let g = 10f32.powf(db / 20.0);
    samples
        .iter_mut()
        .for_each(|s| *s = (*s * g).clamp(-1.0, 1.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
    }

    /// Energy in the upper half of the band relative to the whole (first difference as a
    /// crude high-pass).
    fn high_share(x: &[f32]) -> f32 {
        let d: Vec<f32> = x.windows(2).map(|w| w[1] - w[0]).collect();
        rms(&d) / rms(x)
    }

    #[test]
    fn noises_have_the_level_and_colour_asked_for() {
        let white = generate(Kind::White, 2.0);
        let pink = generate(Kind::Pink, 2.0);
        let brown = generate(Kind::Brown, 2.0);
        for x in [&white, &pink, &brown] {
            assert_eq!(x.len(), 32_000);
            assert!((rms(x) - NOISE_RMS).abs() < 0.01, "{}", rms(x));
        }
        // White > pink > brown in high-frequency share.
        assert!(high_share(&white) > high_share(&pink));
        assert!(high_share(&pink) > high_share(&brown));
        assert!(generate(Kind::Silence, 1.0).iter().all(|&s| s == 0.0));
        assert_eq!(generate(Kind::White, 1.0), generate(Kind::White, 1.0));
    }

    #[test]
    fn gain_in_decibels() {
        let mut x = vec![0.5f32; 4];
        apply_gain(&mut x, -20.0);
        assert!((x[0] - 0.05).abs() < 1e-6);
        apply_gain(&mut x, 60.0);
        assert_eq!(x[0], 1.0, "clipped");
    }
}
