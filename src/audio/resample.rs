//! Conversion of any input format (rate, channel count) to 16 kHz mono f32, the rate Silero
//! VAD and whisper run at. Channels are averaged; the rate is converted by rubato's FFT
//! resampler (band-limited, unlike dropping samples, which folds everything above 8 kHz back
//! into the speech band).

use rubato::{FftFixedIn, Resampler};

use super::SAMPLE_RATE;

/// Input frames per resampler call: 1024 frames is 21 ms at 48 kHz, small enough for the meter
/// and VAD to stay live, large enough that the FFT cost per sample stays low.
const BLOCK: usize = 1024;

pub struct ToMono16k {
    channels: usize,
    resampler: Option<FftFixedIn<f32>>,
    /// Mono samples waiting for a full resampler block.
    pending: Vec<f32>,
    /// Output samples still to drop: the resampler's delay, so times line up with the input.
    skip: usize,
    rate: u32,
    frames_in: u64,
    frames_out: u64,
}

impl ToMono16k {
    pub fn new(input_rate: u32, channels: u16) -> anyhow::Result<Self> {
        anyhow::ensure!(input_rate > 0, "input sample rate is 0");
        anyhow::ensure!(channels > 0, "input has no channels");
        let resampler = if input_rate == SAMPLE_RATE {
            None
        } else {
            let r = FftFixedIn::<f32>::new(input_rate as usize, SAMPLE_RATE as usize, BLOCK, 2, 1)
                .map_err(|e| anyhow::anyhow!("cannot resample from {input_rate} Hz: {e}"))?;
            Some(r)
        };
        let skip = resampler.as_ref().map_or(0, |r| r.output_delay());
        Ok(ToMono16k {
            channels: channels as usize,
            resampler,
            pending: Vec::new(),
            skip,
            rate: input_rate,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Converts interleaved frames, appending 16 kHz mono samples to `out`.
    pub fn push(&mut self, interleaved: &[f32], out: &mut Vec<f32>) {
        let ch = self.channels;
        let mono = interleaved
            .chunks_exact(ch)
            .map(|f| f.iter().sum::<f32>() / ch as f32);
        self.frames_in += (interleaved.len() / ch) as u64;
        match self.resampler.as_mut() {
            None => out.extend(mono),
            Some(_) => {
                self.pending.extend(mono);
                let before = out.len();
                self.drain_into(out);
                self.frames_out += (out.len() - before) as u64;
            }
        }
    }

    fn drain_into(&mut self, out: &mut Vec<f32>) {
        let Some(rs) = self.resampler.as_mut() else {
            return;
        };
        let mut start = 0;
        while self.pending.len() - start >= rs.input_frames_next() {
            let n = rs.input_frames_next();
            let block = &self.pending[start..start + n];
            if let Ok(res) = rs.process(&[block], None) {
                Self::emit(&mut self.skip, &res[0], out);
            }
            start += n;
        }
        self.pending.drain(..start);
    }

    fn emit(skip: &mut usize, samples: &[f32], out: &mut Vec<f32>) {
        let drop = (*skip).min(samples.len());
        *skip -= drop;
        out.extend_from_slice(&samples[drop..]);
    }

    /// Flushes what is buffered at the end of the input: the tail is padded with silence until
    /// the output holds exactly as many samples as the input's duration at 16 kHz.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let Some(rs) = self.resampler.as_ref() else {
            return;
        };
        let expected =
            (self.frames_in as f64 * SAMPLE_RATE as f64 / self.rate as f64).round() as u64;
        let block = rs.input_frames_next();
        let mut produced = Vec::new();
        let mut guard = 0;
        while self.frames_out + (produced.len() as u64) < expected && guard < 64 {
            self.pending.resize(self.pending.len().max(block), 0.0);
            self.drain_into(&mut produced);
            guard += 1;
        }
        self.pending.clear();
        let want = expected.saturating_sub(self.frames_out) as usize;
        produced.truncate(want);
        self.frames_out += produced.len() as u64;
        out.extend(produced);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, secs: f32, channels: u16) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .flat_map(|i| {
                let v = (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5;
                std::iter::repeat_n(v, channels as usize)
            })
            .collect()
    }

    fn convert(rate: u32, channels: u16, input: &[f32], piece: usize) -> Vec<f32> {
        let mut r = ToMono16k::new(rate, channels).unwrap();
        let mut out = Vec::new();
        for p in input.chunks(piece * channels as usize) {
            r.push(p, &mut out);
        }
        r.finish(&mut out);
        out
    }

    #[test]
    fn passthrough_at_16k_mono() {
        let input = sine(16_000, 440.0, 0.5, 1);
        assert_eq!(convert(16_000, 1, &input, 100), input);
    }

    #[test]
    fn stereo_48k_becomes_16k_mono_with_same_length_and_phase() {
        let input = sine(48_000, 440.0, 2.0, 2);
        let out = convert(48_000, 2, &input, 682);
        assert!((out.len() as i64 - 32_000).abs() <= 2, "len {}", out.len());
        // Compare against the ideal 16 kHz sine in the middle (edges have filter ramps).
        let ideal = sine(16_000, 440.0, 2.0, 1);
        let err: f32 = (4000..28000)
            .map(|i| (out[i] - ideal[i]).abs())
            .fold(0.0, f32::max);
        // 0.05 of a 0.5 amplitude: a phase error under 0.2 samples at 16 kHz (the FFT
        // resampler's delay is fractional) and the filter's passband ripple.
        assert!(err < 0.05, "max error {err}");
    }

    #[test]
    fn content_above_8k_is_removed_not_folded() {
        // 12 kHz at 48 kHz would alias to 4 kHz with naive decimation.
        let input = sine(48_000, 12_000.0, 1.0, 1);
        let out = convert(48_000, 1, &input, 1000);
        let rms = (out[2000..14000].iter().map(|s| s * s).sum::<f32>() / 12000.0).sqrt();
        assert!(rms < 0.01, "rms {rms}");
    }

    #[test]
    fn odd_rates_work() {
        for rate in [8_000, 11_025, 22_050, 44_100, 96_000] {
            let input = sine(rate, 300.0, 1.0, 1);
            let out = convert(rate, 1, &input, 333);
            assert!(
                (out.len() as i64 - 16_000).abs() <= 2,
                "{rate}: len {}",
                out.len()
            );
        }
    }
}
