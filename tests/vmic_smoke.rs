//! Checks the test-support virtual microphone end to end, through the path the app uses:
//! cpal's default host (ALSA) → `default` device → ALSA pulse plugin → private PulseAudio.
//!
//! cpal has to run in a separate process, because only a child can be given the virtual
//! mic's environment (`set_var` would race with other tests' threads). The child is this
//! test binary itself, running the ignored `capture_child` test.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use support::vmic::{self, VirtualMic};

const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";

/// Set on the capture child: where to write its recording. Its absence makes
/// `capture_child` a no-op when someone runs the ignored tests by hand.
const CAPTURE_TO: &str = "VMIC_SMOKE_CAPTURE_TO";

/// How long a capture keeps running after `feed` returned. The end of the fed audio can still
/// be up to a period away from the client, and closing a stream drops its last partial
/// period; ≥ 200 ms is enough (measured by the project owners). Nothing observable marks
/// "all audio delivered", so this one is a fixed wait.
const DRAIN: Duration = Duration::from_millis(300);

/// Generous bounds for a loaded 2-core machine; normally each takes well under a second.
const CHILD_START_TIMEOUT: Duration = Duration::from_secs(20);
const CHILD_EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The captured energy of the fed speech, relative to the file's own: the mic passes audio
/// at unity gain, so anything far from 1 means lost or extra audio (e.g. a dropped start).
const ENERGY_RATIO_OK: std::ops::RangeInclusive<f64> = 0.85..=1.15;

/// How much shorter than the wall-clock time a recording may be: the stream's start-up and
/// its last partial period (dropped on close). A mic that stalls (e.g. a null sink sleeping
/// through a 2 s block after the daemon starts) records far less than the time that passed.
const MAX_UNRECORDED: Duration = Duration::from_millis(250);

#[test]
fn fed_speech_arrives_at_cpal_default_input() -> Result<()> {
    if skip_if_unavailable("fed_speech_arrives_at_cpal_default_input") {
        return Ok(());
    }
    let started = Instant::now();
    let mic = VirtualMic::start()?;
    eprintln!("virtual mic ready after {:?}", started.elapsed());
    let speech = synthesize(&mic)?;

    let capture = Capture::start(&mic, "captured")?;
    mic.feed(&speech)?;
    std::thread::sleep(DRAIN);
    let captured = capture.stop()?;

    assert_carries(&captured, &read_wav(&speech)?)
}

#[test]
fn parallel_mics_are_isolated() -> Result<()> {
    if skip_if_unavailable("parallel_mics_are_isolated") {
        return Ok(());
    }
    let (fed, quiet) = (VirtualMic::start()?, VirtualMic::start()?);
    let speech = synthesize(&fed)?;

    let fed_capture = Capture::start(&fed, "fed")?;
    let quiet_capture = Capture::start(&quiet, "quiet")?;
    fed.feed(&speech)?;
    std::thread::sleep(DRAIN);
    let (heard, silence) = (fed_capture.stop()?, quiet_capture.stop()?);

    assert_carries(&heard, &read_wav(&speech)?)?;
    let leaked = silence.audio.energy();
    ensure!(
        leaked < 1e-6,
        "the other mic heard the feed: energy {leaked}"
    );
    Ok(())
}

#[test]
fn daemon_restarts_with_the_same_config() -> Result<()> {
    if skip_if_unavailable("daemon_restarts_with_the_same_config") {
        return Ok(());
    }
    let mut mic = VirtualMic::start()?;
    let speech = synthesize(&mic)?;

    mic.stop_daemon()?;
    ensure!(!mic.is_running(), "the daemon still runs after stop_daemon");
    ensure!(
        mic.pactl(&["info"]).is_err(),
        "pactl still reaches a daemon"
    );

    let started = Instant::now();
    mic.restart_daemon()?;
    eprintln!("virtual mic restarted in {:?}", started.elapsed());
    let capture = Capture::start(&mic, "after-restart")?;
    mic.feed(&speech)?;
    std::thread::sleep(DRAIN);
    assert_carries(&capture.stop()?, &read_wav(&speech)?)
}

/// Not a test: the capture process that the tests above start (see the module docs).
/// Records cpal's default input device until its stdin is closed, then writes a WAV.
#[test]
#[ignore = "helper process for the other tests in this file"]
fn capture_child() -> Result<()> {
    let Some(out) = std::env::var_os(CAPTURE_TO) else {
        return Ok(());
    };
    let host = cpal::default_host();
    let device = host
        .default_input_device()
        .context("no default input device")?;
    let config: cpal::StreamConfig = device.default_input_config()?.into();
    eprintln!("host {:?}, device {:?}, {config:?}", host.id(), device.id());

    let samples = Arc::new(Mutex::new(Vec::<f32>::new()));
    let sink = Arc::clone(&samples);
    let stream = device.build_input_stream::<f32, _, _>(
        config,
        move |data, _| sink.lock().unwrap().extend_from_slice(data),
        |err| eprintln!("stream error: {err}"),
        None,
    )?;
    stream.play()?;
    // The parent closes our stdin when it has fed everything it wanted recorded.
    std::io::stdin().read_to_end(&mut Vec::new())?;
    drop(stream);

    let spec = hound::WavSpec {
        channels: config.channels,
        sample_rate: config.sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(out, spec)?;
    for &s in samples.lock().unwrap().iter() {
        writer.write_sample(s)?;
    }
    writer.finalize()?;
    Ok(())
}

/// A `capture_child` process recording from `mic`.
struct Capture {
    child: Child,
    wav: PathBuf,
    log: PathBuf,
    /// When its stream was seen running.
    running_since: Instant,
}

/// What a `Capture` recorded, and over how much wall-clock time.
struct Captured {
    audio: Audio,
    wall: Duration,
}

impl Capture {
    /// Starts the child and returns once its input stream is running, so that everything
    /// fed from now on is recorded.
    fn start(mic: &VirtualMic, name: &str) -> Result<Capture> {
        let wav = mic.dir().join(format!("{name}.wav"));
        let log = mic.dir().join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(std::env::current_exe()?)
            .args(["capture_child", "--exact", "--ignored", "--nocapture"])
            .envs(mic.env())
            .env(CAPTURE_TO, &wav)
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting the capture child")?;
        let mut capture = Capture {
            child,
            wav,
            log,
            running_since: Instant::now(),
        };
        if let Err(err) = mic.wait_for_capture(CHILD_START_TIMEOUT) {
            let _ = capture.child.kill();
            let _ = capture.child.wait();
            return Err(err.context(capture.output()));
        }
        capture.running_since = Instant::now();
        Ok(capture)
    }

    /// Ends the recording and returns what was captured.
    fn stop(mut self) -> Result<Captured> {
        let wall = self.running_since.elapsed();
        drop(self.child.stdin.take()); // EOF: the child stops and writes its WAV
        let status = support::wait_child(&mut self.child, CHILD_EXIT_TIMEOUT, "capture child")
            .with_context(|| self.output())?;
        if !status.success() {
            bail!("capture child failed ({status}); {}", self.output());
        }
        let audio = read_wav(&self.wav)?;
        Ok(Captured { audio, wall })
    }

    fn output(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("capture child output:\n{log}")
    }
}

/// The first channel of a WAV file, as samples in [-1, 1].
struct Audio {
    samples: Vec<f32>,
    rate: u32,
}

impl Audio {
    /// ∫x² dt in seconds: independent of the sample rate, so comparable across resampling.
    fn energy(&self) -> f64 {
        let sum: f64 = self.samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        sum / f64::from(self.rate)
    }

    fn rms(&self) -> f64 {
        (self.energy() / self.secs()).sqrt()
    }

    fn secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }
}

fn read_wav(path: &Path) -> Result<Audio> {
    let mut reader =
        hound::WavReader::open(path).with_context(|| format!("opening {}", path.display()))?;
    let spec = reader.spec();
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader.samples::<f32>().collect::<Result<_, _>>()?,
        (hound::SampleFormat::Int, 16) => reader
            .samples::<i16>()
            .map(|s| s.map(|s| f32::from(s) / 32768.0))
            .collect::<Result<_, _>>()?,
        other => bail!("{}: unsupported WAV format {other:?}", path.display()),
    };
    let samples = interleaved
        .into_iter()
        .step_by(usize::from(spec.channels))
        .collect();
    Ok(Audio {
        samples,
        rate: spec.sample_rate,
    })
}

/// Fails unless `captured` holds all of `fed` (well above silence, with the same energy)
/// and the mic delivered audio all the time it was recorded.
fn assert_carries(captured: &Captured, fed: &Audio) -> Result<()> {
    let audio = &captured.audio;
    let ratio = audio.energy() / fed.energy();
    eprintln!(
        "captured {:.3} s in {:.3} s at {} Hz, RMS {:.4}; energy vs fed: {ratio:.3}",
        audio.secs(),
        captured.wall.as_secs_f64(),
        audio.rate,
        audio.rms(),
    );
    ensure!(audio.rms() > 0.01, "the capture is (nearly) silent");
    ensure!(
        ENERGY_RATIO_OK.contains(&ratio),
        "captured energy is {ratio:.3} × the fed file's (expected ~1)"
    );
    let unrecorded = captured.wall.as_secs_f64() - audio.secs();
    ensure!(
        unrecorded <= MAX_UNRECORDED.as_secs_f64(),
        "the mic stalled: {unrecorded:.3} s of the {:.3} s recording time are missing",
        captured.wall.as_secs_f64()
    );
    Ok(())
}

fn synthesize(mic: &VirtualMic) -> Result<PathBuf> {
    let speech = mic.dir().join("speech.wav");
    support::speak(SENTENCE, &speech)?;
    Ok(speech)
}

fn skip_if_unavailable(test: &str) -> bool {
    let missing = vmic::unavailable().or_else(|| {
        (!support::have("espeak-ng")).then(|| "espeak-ng is not installed".to_string())
    });
    if let Some(why) = &missing {
        support::skip(test, why);
    }
    missing.is_some()
}
