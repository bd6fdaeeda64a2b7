//! The two audio sources behind one interface: the microphone (cpal ring) and a WAV file played
//! as if it were the microphone (`--input`), at real-time pace or as fast as possible. Only the
//! source differs; resampling, VAD and segmentation are the same code path.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer};

use super::capture::{self, Capture};
use super::wav::WavSource;

/// Where audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A capture device by name (`None`: the default input).
    Device(Option<String>),
    /// A WAV file played through the pipeline as if it were the microphone.
    /// `realtime`: at real-time pace (otherwise as fast as possible).
    File { path: PathBuf, realtime: bool },
}

/// What one poll of a source gave.
pub enum Poll {
    /// Interleaved samples were appended (possibly none yet).
    Data,
    /// The source is finished (end of file).
    End,
    /// The source failed.
    Failed(String),
}

pub enum Input {
    Mic {
        cap: Capture,
        last_callbacks: u64,
        last_progress: Instant,
        /// When this source was last polled: a gap means this process was not running
        /// (stopped, or starved by a loaded machine), not that the device went quiet.
        last_poll: Instant,
    },
    File {
        wav: WavSource,
        realtime: bool,
        started: Instant,
        frames: u64,
        name: String,
    },
    /// A microphone that was lost: its stream is dropped at once (cpal on ALSA keeps calling
    /// the error callback in a tight loop, ~600k times a second, while the stream lives).
    Lost,
}

/// The stream errors that mean the device is gone. An xrun never gets here (it is counted in
/// the callback's stats) and other kinds leave a working stream.
fn is_disconnect(kind: cpal::ErrorKind) -> bool {
    matches!(
        kind,
        cpal::ErrorKind::DeviceNotAvailable
            | cpal::ErrorKind::StreamInvalidated
            | cpal::ErrorKind::HostUnavailable
    )
}

/// A microphone whose callbacks stop for this long is treated as lost (cpal on ALSA reports
/// no error when a PulseAudio server goes away; the callbacks just stop).
const STALL: Duration = Duration::from_secs(1);

impl Input {
    pub fn mic(device: Option<&str>) -> Result<Input, capture::CaptureError> {
        let cap = capture::open(device)?;
        Ok(Input::Mic {
            cap,
            last_callbacks: 0,
            last_progress: Instant::now(),
            last_poll: Instant::now(),
        })
    }

    pub fn file(path: &Path, realtime: bool) -> Result<Input, super::wav::WavError> {
        let wav = WavSource::open(path)?;
        let name = path.display().to_string();
        Ok(Input::File {
            wav,
            realtime,
            started: Instant::now(),
            frames: 0,
            name,
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Input::Mic { cap, .. } => &cap.name,
            Input::File { name, .. } => name,
            Input::Lost => "(lost input)",
        }
    }

    pub fn format(&self) -> (u32, u16) {
        match self {
            Input::Mic { cap, .. } => (cap.sample_rate, cap.channels),
            Input::File { wav, .. } => (wav.info().sample_rate, wav.info().channels),
            Input::Lost => (super::SAMPLE_RATE, 1),
        }
    }

    /// True when reading as fast as possible (no real-time pacing, no level meter).
    pub fn is_fast(&self) -> bool {
        matches!(
            self,
            Input::File {
                realtime: false,
                ..
            }
        )
    }

    /// How long the caller may wait before the next poll has something to do.
    pub fn poll_interval(&self) -> Duration {
        match self {
            Input::File {
                realtime: false, ..
            } => Duration::ZERO,
            // 10 ms: well under the 32 ms VAD chunk, so the meter and the cut stay live.
            _ => Duration::from_millis(10),
        }
    }

    /// Appends what is available now to `out` (interleaved).
    pub fn poll(&mut self, out: &mut Vec<f32>) -> Poll {
        match self {
            Input::Mic {
                cap,
                last_callbacks,
                last_progress,
                last_poll,
            } => {
                // Time this thread did not run does not count towards a stall: after
                // SIGSTOP/SIGCONT (or a long scheduling delay) cpal's thread needs a moment
                // to deliver what the device buffered (tests/xrun.rs).
                let now = Instant::now();
                if now.duration_since(*last_poll) > STALL / 4 {
                    *last_progress = now;
                }
                *last_poll = now;
                while let Ok(kind) = cap.errors.try_recv() {
                    if is_disconnect(kind) {
                        return Poll::Failed(format!("input device '{}' failed: {kind}", cap.name));
                    }
                    // Anything else the stream survives; a stream that died of it stops
                    // calling back and the stall check below finds it.
                    tracing::warn!(device = %cap.name, "input stream error: {kind}");
                }
                let n = cap.consumer.occupied_len();
                let start = out.len();
                out.resize(start + n, 0.0);
                let got = cap.consumer.pop_slice(&mut out[start..]);
                out.truncate(start + got);
                let callbacks = cap.stats.callbacks.load(Ordering::Acquire);
                if callbacks != *last_callbacks {
                    *last_callbacks = callbacks;
                    *last_progress = Instant::now();
                } else if last_progress.elapsed() > STALL {
                    return Poll::Failed(format!(
                        "input device '{}' stopped delivering audio",
                        cap.name
                    ));
                }
                Poll::Data
            }
            Input::File {
                wav,
                realtime,
                started,
                frames,
                ..
            } => {
                let rate = wav.info().sample_rate as u64;
                let want = if *realtime {
                    let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
                    due.saturating_sub(*frames) as usize
                } else {
                    // 0.5 s per read in fast mode: big enough to amortise, small enough to
                    // keep the event stream flowing.
                    rate as usize / 2
                };
                if want == 0 {
                    return Poll::Data;
                }
                match wav.read(want, out) {
                    Ok(0) => Poll::End,
                    Ok(n) => {
                        *frames += n as u64;
                        Poll::Data
                    }
                    Err(e) => Poll::Failed(e.to_string()),
                }
            }
            Input::Lost => Poll::Data,
        }
    }

    /// Buffer overruns the device reported (zero for files).
    pub fn xruns(&self) -> u64 {
        match self {
            Input::Mic { cap, .. } => cap.stats.xruns.load(Ordering::Relaxed),
            Input::File { .. } | Input::Lost => 0,
        }
    }

    /// Dropped-sample and overrun counters (zero for files).
    pub fn overruns(&self) -> (u64, u64) {
        match self {
            Input::Mic { cap, .. } => (
                cap.stats.overruns.load(Ordering::Relaxed),
                cap.stats.dropped_samples.load(Ordering::Relaxed),
            ),
            Input::File { .. } | Input::Lost => (0, 0),
        }
    }
}
