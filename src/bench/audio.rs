//! The audio path under full load. The recorder's own audio thread (`audio::pipeline`, as the
//! TUI starts it: cpal capture and its ring, resampler, level normaliser and Silero VAD,
//! segmenter, session store with utterance WAVs fsynced, interim snapshots, level meter)
//! records from the input device and reports each step's duration through a
//! [`Probe`]. Meanwhile the
//! workers transcribe the manifest's clips back to back (two jobs outstanding, so they never
//! idle), plus the utterances the segmenter cuts, as in a live session.
//!
//! Callback durations come from the production callback: its `max_callback_ns` is read and
//! reset after every poll, so each 10 ms window gives the longest callback in it. Charging
//! every callback of a window with the window's maximum gives an upper bound on the callback
//! percentiles (exact when a window holds one callback, which is the usual case).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Stats;
use super::latency::{self, WarmPool};
use crate::audio::pipeline::{self, AudioEvent, Control, PipelineConfig};
use crate::audio::probe::Probe;
use crate::audio::source::{Input, Source};
use crate::config::Config;
use crate::pool::PoolEvent;
use crate::session::Journal;
use crate::store::Store;
use crate::vocab::UtteranceId;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AudioReport {
    pub input: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub seconds: f64,
    pub callbacks: u64,
    /// Upper bound per callback (µs), see the module docs.
    pub callback_us: Stats,
    /// Longest callback over the run (µs).
    pub callback_max_us: f64,
    pub overruns: u64,
    pub dropped_samples: u64,
    /// Buffer overruns the device reported (cpal's xruns; audio the device dropped).
    #[serde(default)]
    pub xruns: u64,
    /// Silero VAD alone per 32 ms chunk (µs).
    pub vad_us: Stats,
    /// Everything the audio thread does per chunk (µs): VAD (both ears), segmenter, store
    /// (a closed utterance handed to the disk thread, which writes and fsyncs it:
    /// src/store.rs), the interim snapshot when one is due, the level meter.
    pub chunk_us: Stats,
    /// The store's part of the chunks that closed an utterance: the hand-off to the disk
    /// thread (µs). Was 8-12 ms when the audio thread fsynced (src/store.rs).
    #[serde(default)]
    pub store_us: Stats,
    /// One whole poll: drain, resample, session audio, its chunks (µs).
    pub poll_us: Stats,
    /// How late the 10 ms poll timer woke the audio thread (µs).
    pub wake_late_us: Stats,
    pub utterances: usize,
    /// Of those, transcribed before the run ended (they queue behind the load jobs).
    pub utterances_done: usize,
    /// Load jobs finished by the workers during the run.
    pub load_jobs: usize,
    /// Machine CPU busy share during the run (1.0 = every core busy).
    pub cpu_busy: f64,
    pub main_peak_rss_kb: u64,
    pub worker_peak_rss_kb: Vec<u64>,
    pub load_before: Option<f64>,
}

struct Utterance {
    id: u64,
    wav: PathBuf,
    end_s: f64,
    closed_at: Instant,
}

/// What the pipeline's probe collected.
#[derive(Default)]
struct Timing {
    /// Per poll: callbacks since the previous poll, and the longest of them (ns).
    windows: Vec<(u64, u64)>,
    vad_ns: Vec<f64>,
    chunk_ns: Vec<f64>,
    store_ns: Vec<f64>,
    poll_ns: Vec<f64>,
    late_ns: Vec<f64>,
    /// The source's format and counters at the first and the latest poll.
    format: (u32, u16),
    first: Option<Counters>,
    last: Counters,
    last_callbacks: u64,
}

#[derive(Default, Clone, Copy)]
struct Counters {
    overruns: u64,
    dropped: u64,
    xruns: u64,
}

/// The benchmark's [`Probe`]: shared with the thread that reports.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Timing>>);

fn ns(d: Duration) -> f64 {
    d.as_nanos() as f64
}

impl Probe for Collect {
    fn poll(&mut self, woke_late: Duration, took: Duration, input: &Input) {
        let Ok(mut t) = self.0.lock() else { return };
        t.late_ns.push(ns(woke_late));
        t.poll_ns.push(ns(took));
        let (overruns, dropped) = input.overruns();
        let now = Counters {
            overruns,
            dropped,
            xruns: input.xruns(),
        };
        if t.first.is_none() {
            t.first = Some(now);
            t.format = input.format();
        }
        t.last = now;
        if let Input::Mic { cap, .. } = input {
            let callbacks = cap.stats.callbacks.load(Ordering::Acquire);
            let max = cap.stats.max_callback_ns.swap(0, Ordering::Relaxed);
            let since = callbacks.saturating_sub(t.last_callbacks);
            t.last_callbacks = callbacks;
            t.windows.push((since, max));
        }
    }

    fn chunk(&mut self, vad: Duration, whole: Duration) {
        if let Ok(mut t) = self.0.lock() {
            t.vad_ns.push(ns(vad));
            t.chunk_ns.push(ns(whole));
        }
    }

    fn store(&mut self, handoff: Duration) {
        if let Ok(mut t) = self.0.lock() {
            t.store_ns.push(ns(handoff));
        }
    }
}

fn us(ns: &[f64]) -> Stats {
    let v: Vec<f64> = ns.iter().map(|n| n / 1000.0).collect();
    Stats::of(&v)
}

/// Starts the recorder's own audio thread on the input device, with the benchmark's probe;
/// each utterance, once on disk, goes to `utterances`.
fn start_audio(
    cfg: &Config,
    session_dir: &Path,
    probe: Collect,
    utterances: mpsc::UnboundedSender<Utterance>,
) -> anyhow::Result<(
    std::thread::JoinHandle<()>,
    crossbeam_channel::Sender<Control>,
    String,
)> {
    let store = Store::new(Arc::new(Journal::open(session_dir)?))?;
    // As the TUI runs it: interim snapshots are written (their jobs are not the point here).
    let interim_every = cfg
        .interim
        .then(|| Duration::from_millis(cfg.interim_every_ms.max(200)));
    let pcfg = PipelineConfig {
        segmenter: cfg.segmenter.clone(),
        store,
        first_id: UtteranceId::FIRST,
        interim_every,
        settle_pause: None,
        speculate: None,
        probe: Some(Box::new(probe)),
    };
    let emit = move |ev: AudioEvent| {
        if let AudioEvent::Utterance(utt) = ev {
            let _ = utterances.send(Utterance {
                id: utt.id.0,
                end_s: utt.span.duration_s(),
                wav: utt.wav,
                closed_at: Instant::now(),
            });
        }
    };
    let source = Source::Device(cfg.device.clone());
    pipeline::spawn(source, pcfg, Box::new(crate::audio::vad::silero), emit)
}

/// The report from what the probe collected over `seconds` of input.
fn report(input: String, seconds: f64, t: &Timing) -> AudioReport {
    // Each callback charged with its window's maximum.
    let per_callback: Vec<f64> = t
        .windows
        .iter()
        .flat_map(|&(n, max)| std::iter::repeat_n(max as f64, n as usize))
        .collect();
    let callback_max = t.windows.iter().map(|w| w.1).max().unwrap_or(0);
    let first = t.first.unwrap_or_default();
    AudioReport {
        input,
        sample_rate: t.format.0,
        channels: t.format.1,
        seconds,
        callbacks: t.windows.iter().map(|w| w.0).sum(),
        callback_us: us(&per_callback),
        callback_max_us: callback_max as f64 / 1000.0,
        overruns: t.last.overruns - first.overruns,
        dropped_samples: t.last.dropped - first.dropped,
        xruns: t.last.xruns - first.xruns,
        vad_us: us(&t.vad_ns),
        chunk_us: us(&t.chunk_ns),
        store_us: us(&t.store_ns),
        poll_us: us(&t.poll_ns),
        wake_late_us: us(&t.late_ns),
        ..AudioReport::default()
    }
}

/// Ids of the load jobs start here (the audio thread's utterances count from 1).
const LOAD_ID: u64 = 1_000_000;

/// The jobs that keep the workers busy: the manifest's clips over and over, used as they
/// are (workers only read them).
struct Load {
    clips: Vec<crate::eval::manifest::Clip>,
    next: usize,
}

impl Load {
    fn submit(&mut self, pool: &WarmPool) {
        let clip = &self.clips[self.next % self.clips.len()];
        let id = LOAD_ID + self.next as u64;
        pool.submit(id, &clip.path, clip.duration_s, Instant::now());
        self.next += 1;
    }
}

#[derive(Default)]
struct Counts {
    /// Utterances the audio thread cut, and of those transcribed before the end.
    utterances: usize,
    utterances_done: usize,
    load_done: usize,
}

/// Keeps two load jobs outstanding while the audio thread records, queues each utterance it
/// cuts, and stops it after `seconds`; returns once the audio thread has ended.
async fn under_load(
    pool: &mut WarmPool,
    load: &mut Load,
    mut utterances: mpsc::UnboundedReceiver<Utterance>,
    control: &crossbeam_channel::Sender<Control>,
    seconds: f64,
) -> anyhow::Result<Counts> {
    let stop_at = tokio::time::sleep(Duration::from_secs_f64(seconds));
    tokio::pin!(stop_at);
    let mut stopping = false;
    let mut counts = Counts::default();
    loop {
        tokio::select! {
            () = &mut stop_at, if !stopping => {
                stopping = true;
                let _ = control.send(Control::Stop);
            }
            u = utterances.recv() => match u {
                Some(u) => {
                    counts.utterances += 1;
                    pool.submit(u.id, &u.wav, u.end_s, u.closed_at);
                }
                // The audio thread ended (stopped, or the input failed) and dropped its sender.
                None => return Ok(counts),
            },
            ev = pool.events.recv() => match ev {
                Some(PoolEvent::Done { job, .. }) | Some(PoolEvent::Failed { job, .. }) => {
                    if job.id().0 >= LOAD_ID {
                        counts.load_done += 1;
                        load.submit(pool);
                    } else {
                        counts.utterances_done += 1;
                    }
                }
                Some(other) => pool.note(other),
                None => anyhow::bail!("the worker pool stopped"),
            },
        }
    }
}

pub async fn run(cfg: &Config, manifest: &Path, seconds: f64, json: bool) -> anyhow::Result<i32> {
    crate::ortlib::init(cfg.models_dir.as_deref())?;
    let clips = latency::speech_clips(manifest, &[])?;
    let tmp = tempfile::Builder::new()
        .prefix("recorder-bench-audio-")
        .tempdir()?;
    let session_dir = tmp.path().join("session");
    std::fs::create_dir_all(&session_dir)?;
    let load_before = super::load_average();
    let mut pool = latency::start_pool(cfg).await?;
    let mut load = Load { clips, next: 0 };
    load.submit(&pool);
    load.submit(&pool);
    // Let the workers get going before the audio thread starts measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (utt_tx, utt_rx) = mpsc::unbounded_channel();
    let probe = Collect::default();
    let cpu0 = super::cpu_jiffies();
    let began = Instant::now();
    let (thread, control, input) = start_audio(cfg, &session_dir, probe.clone(), utt_tx)?;
    let counts = under_load(&mut pool, &mut load, utt_rx, &control, seconds).await?;
    let cpu1 = super::cpu_jiffies();
    let elapsed = began.elapsed().as_secs_f64();
    thread
        .join()
        .map_err(|_| anyhow::anyhow!("the audio thread panicked"))?;
    let mut report = {
        let t = probe
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("probe poisoned"))?;
        report(input, elapsed, &t)
    };
    report.utterances = counts.utterances;
    report.load_jobs = counts.load_done;
    report.utterances_done = counts.utterances_done;
    report.cpu_busy = match (cpu0, cpu1) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => (b1 - b0) as f64 / (t1 - t0) as f64,
        _ => f64::NAN,
    };
    report.main_peak_rss_kb = super::own_peak_rss_kb().unwrap_or(0);
    report.worker_peak_rss_kb = pool.peak_rss_kb();
    report.load_before = load_before;
    // Stop at once: the load jobs are not worth waiting for.
    drop(pool);
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(0)
}

pub fn text(r: &AudioReport) -> String {
    format!(
        "input {} ({} Hz, {} ch), {:.1} s, CPU busy {:.0}%, {} load jobs, {} utterances cut\n\
         callback: {} callbacks, p99 {:.1} µs, max {:.1} µs; overruns {}, dropped samples {}, xruns {}\n\
         VAD per chunk: median {:.0} µs, p99 {:.0} µs, max {:.0} µs\n\
         audio thread per chunk (VAD, segmenter, store, interim): median {:.0} µs, p99 {:.0} µs, max {:.0} µs\n\
         poll: p99 {:.0} µs, max {:.0} µs; timer wake-up late p99 {:.0} µs, max {:.0} µs\n\
         peak RSS: main {} kB, workers {:?} kB\n",
        r.input,
        r.sample_rate,
        r.channels,
        r.seconds,
        r.cpu_busy * 100.0,
        r.load_jobs,
        r.utterances,
        r.callbacks,
        r.callback_us.p99,
        r.callback_max_us,
        r.overruns,
        r.dropped_samples,
        r.xruns,
        r.vad_us.median,
        r.vad_us.p99,
        r.vad_us.max,
        r.chunk_us.median,
        r.chunk_us.p99,
        r.chunk_us.max,
        r.poll_us.p99,
        r.poll_us.max,
        r.wake_late_us.p99,
        r.wake_late_us.max,
        r.main_peak_rss_kb,
        r.worker_peak_rss_kb,
    )
}
