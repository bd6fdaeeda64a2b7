//! The input meter: RMS and peak over 50 ms windows of the 16 kHz stream, published with the
//! VAD's latest score (the audio thread feeds it every chunk).

use super::Level;

/// 800 samples at 16 kHz = 50 ms: the meter's 20 updates a second.
const LEVEL_WINDOW: usize = 800;

/// Accumulates RMS and peak over 50 ms windows.
#[derive(Default)]
pub struct LevelMeter {
    sum_sq: f64,
    peak: f32,
    n: usize,
    /// Xruns so far in this session, published with every level.
    pub xruns: u64,
}

fn dbfs(x: f32) -> f32 {
    if x <= 1e-5 { -100.0 } else { 20.0 * x.log10() }
}

impl LevelMeter {
    pub fn feed(&mut self, chunk: &[f32], prob: f32, in_speech: bool) -> Vec<Level> {
        let mut out = Vec::new();
        for &s in chunk {
            self.sum_sq += (s as f64) * (s as f64);
            self.peak = self.peak.max(s.abs());
            self.n += 1;
            if self.n == LEVEL_WINDOW {
                let rms = (self.sum_sq / self.n as f64).sqrt() as f32;
                out.push(Level {
                    rms_dbfs: dbfs(rms),
                    peak_dbfs: dbfs(self.peak),
                    speech_prob: prob,
                    in_speech,
                    xruns: self.xruns,
                });
                *self = LevelMeter {
                    xruns: self.xruns,
                    ..LevelMeter::default()
                };
            }
        }
        out
    }
}
