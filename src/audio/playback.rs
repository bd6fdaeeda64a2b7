//! `P` in the TUI: an utterance's WAV through the default output device, so a misheard
//! word can be checked by ear. The samples are prepared before the stream starts (resampled
//! from 16 kHz to the device's rate, copied to every channel); the callback only copies.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

/// One playback at a time: a second `P` while one plays is refused, not mixed in.
static PLAYING: AtomicBool = AtomicBool::new(false);

/// Plays `wav` to its end on the default output device; returns its length in seconds.
/// `Err`: why not, in words.
pub fn play(wav: &Path) -> Result<f64, String> {
    if PLAYING.swap(true, Ordering::AcqRel) {
        return Err("already playing".into());
    }
    let result = play_now(wav);
    PLAYING.store(false, Ordering::Release);
    result
}

fn play_now(wav: &Path) -> Result<f64, String> {
    let samples = super::wav::read_16k_mono(wav).map_err(|e| e.to_string())?;
    let seconds = samples.len() as f64 / f64::from(super::SAMPLE_RATE);
    let host = cpal::default_host();
    let device = host
        .default_output_device()
        .ok_or("no output device (is a sound server or card there?)")?;
    let config = device
        .default_output_config()
        .map_err(|e| format!("the default output cannot be opened ({e})"))?;
    let rate = config.sample_rate();
    let channels = usize::from(config.channels());
    let frames = to_rate(&samples, super::SAMPLE_RATE, rate);
    let data: Arc<Vec<f32>> = Arc::new(frames);
    let pos = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let cfg: cpal::StreamConfig = config.config();
    let st = Stream {
        data: data.clone(),
        pos: pos.clone(),
        channels,
        done: done_tx,
    };
    let stream = match config.sample_format() {
        cpal::SampleFormat::F32 => build::<f32>(&device, &cfg, st),
        cpal::SampleFormat::I16 => build::<i16>(&device, &cfg, st),
        cpal::SampleFormat::U16 => build::<u16>(&device, &cfg, st),
        cpal::SampleFormat::I32 => build::<i32>(&device, &cfg, st),
        other => {
            return Err(format!(
                "the output's sample format {other} is not supported"
            ));
        }
    }
    .map_err(|e| format!("the default output cannot be opened ({e})"))?;
    stream
        .play()
        .map_err(|e| format!("the default output cannot start ({e})"))?;
    // The callback says when the samples ran out; the bound covers an output that stalls.
    let bound = Duration::from_secs_f64(seconds + 3.0);
    let finished = done_rx.recv_timeout(bound).is_ok();
    // Let the device's buffer drain before the stream is dropped.
    std::thread::sleep(Duration::from_millis(150));
    drop(stream);
    if !finished {
        return Err("the output stopped taking audio".into());
    }
    Ok(seconds)
}

/// What the output callback reads.
struct Stream {
    data: Arc<Vec<f32>>,
    pos: Arc<AtomicUsize>,
    channels: usize,
    done: crossbeam_channel::Sender<()>,
}

fn build<T>(
    dev: &cpal::Device,
    cfg: &cpal::StreamConfig,
    st: Stream,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let callback = move |out: &mut [T], _: &cpal::OutputCallbackInfo| {
        let start = st.pos.load(Ordering::Relaxed);
        let frames = out.len() / st.channels.max(1);
        for (i, frame) in out.chunks_mut(st.channels.max(1)).enumerate() {
            let s = st.data.get(start + i).copied().unwrap_or(0.0);
            frame.fill(T::from_sample(s));
        }
        let next = start + frames;
        st.pos.store(next, Ordering::Relaxed);
        if next >= st.data.len() {
            let _ = st.done.try_send(());
        }
    };
    let err_fn = |e: cpal::Error| tracing::warn!("playback: {e}");
    dev.build_output_stream::<T, _, _>(*cfg, callback, err_fn, None)
}

/// `samples` at `from` Hz as `to` Hz, by linear interpolation: enough to hear a word.
pub fn to_rate(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let n = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..n)
        .map(|i| {
            let x = i as f64 * step;
            let j = x as usize;
            let frac = (x - j as f64) as f32;
            let a = samples[j.min(samples.len() - 1)];
            let b = samples[(j + 1).min(samples.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_length_and_shape() {
        let ramp: Vec<f32> = (0..160).map(|i| i as f32 / 160.0).collect();
        let up = to_rate(&ramp, 16_000, 48_000);
        assert_eq!(up.len(), 480);
        assert!(up.windows(2).all(|w| w[1] >= w[0]), "still a ramp");
        assert!((up[240] - 0.5).abs() < 0.01);
        assert_eq!(to_rate(&ramp, 16_000, 16_000), ramp);
    }
}
