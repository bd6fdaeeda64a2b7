//! The audio path under full load. An audio thread runs the recorder's own pieces at the
//! recorder's own pace — the cpal capture and its ring ([`Input::mic`]), the resampler, Silero
//! VAD, the segmenter and the session store (session audio, utterance WAVs fsynced, journal)
//! — polling every 10 ms as `audio::pipeline` does, and times each step. Meanwhile the
//! workers transcribe the manifest's clips back to back (two jobs outstanding, so they never
//! idle), plus the utterances the segmenter cuts, as in a live session.
//!
//! Callback durations come from the production callback: its `max_callback_ns` is read and
//! reset after every poll, so each 10 ms window gives the longest callback in it. Charging
//! every callback of a window with the window's maximum gives an upper bound on the callback
//! percentiles (exact when a window holds one callback, which is the usual case).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Stats;
use super::latency::{self, WarmPool};
use crate::audio::CHUNK;
use crate::audio::resample::ToMono16k;
use crate::audio::segmenter::{SegEvent, Segmenter};
use crate::audio::source::{Input, Poll};
use crate::config::Config;
use crate::pool::PoolEvent;
use crate::session::Journal;
use crate::store::Store;

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
    /// VAD + segmenter + store (appending audio; a closed utterance handed to the disk
    /// thread, which writes and fsyncs it: src/store.rs) per chunk (µs).
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

#[derive(Default)]
struct Timing {
    windows: Vec<(u64, u64)>,
    vad_ns: Vec<f64>,
    chunk_ns: Vec<f64>,
    store_ns: Vec<f64>,
    poll_ns: Vec<f64>,
    late_ns: Vec<f64>,
}

fn us(ns: &[f64]) -> Stats {
    let v: Vec<f64> = ns.iter().map(|n| n / 1000.0).collect();
    Stats::of(&v)
}

/// The audio thread: the pipeline's steps, timed.
fn audio_thread(
    device: Option<String>,
    seconds: f64,
    segmenter: crate::audio::segmenter::SegmenterConfig,
    session_dir: PathBuf,
    first_id: u64,
    utterances: mpsc::UnboundedSender<Utterance>,
) -> anyhow::Result<AudioReport> {
    let mut input = Input::mic(device.as_deref())?;
    let (rate, channels) = input.format();
    let stats = match &input {
        Input::Mic { cap, .. } => cap.stats.clone(),
        _ => unreachable!("opened a microphone"),
    };
    let mut conv = ToMono16k::new(rate, channels)?;
    let mut vad = crate::audio::vad::silero()?;
    let mut seg = Segmenter::with_first_id(segmenter, first_id);
    let mut store = Store::new(Arc::new(Journal::open(&session_dir)?))?;
    let (mut raw, mut mono, mut events) = (Vec::new(), Vec::<f32>::new(), Vec::new());
    let mut closed: Vec<(u64, Instant)> = Vec::new();
    let mut t = Timing::default();
    let mut n_utterances = 0;
    let mut last_callbacks = stats.callbacks.load(Ordering::Acquire);
    stats.max_callback_ns.store(0, Ordering::Relaxed);
    let (overruns0, dropped0) = input.overruns();
    let xruns0 = input.xruns();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        let wait = input.poll_interval();
        let slept = Instant::now();
        std::thread::sleep(wait);
        t.late_ns
            .push(slept.elapsed().saturating_sub(wait).as_nanos() as f64);
        let t0 = Instant::now();
        raw.clear();
        match input.poll(&mut raw) {
            Poll::Data => {}
            Poll::End => break,
            Poll::Failed(reason) => anyhow::bail!(reason),
        }
        let before = mono.len();
        conv.push(&raw, &mut mono);
        store.audio(&mono[before..])?;
        let mut used = 0;
        while mono.len() - used >= CHUNK {
            let chunk = &mono[used..used + CHUNK];
            let tc = Instant::now();
            let prob = vad.predict(chunk);
            t.vad_ns.push(tc.elapsed().as_nanos() as f64);
            seg.push(chunk, prob, &mut events);
            for ev in events.drain(..) {
                if let SegEvent::Utterance(cut) = ev {
                    // As the pipeline: the disk thread makes it durable, then it is queued.
                    let (start_s, end_s) = (cut.start_s(), cut.end_s());
                    let ts = Instant::now();
                    store.queue_utterance(cut.id, start_s, end_s, cut.samples, cut.hints)?;
                    t.store_ns.push(ts.elapsed().as_nanos() as f64);
                    closed.push((cut.id, tc));
                }
            }
            t.chunk_ns.push(tc.elapsed().as_nanos() as f64);
            used += CHUNK;
        }
        for s in store.poll_stored() {
            let s = s?;
            n_utterances += 1;
            let closed_at = closed.iter().find(|c| c.0 == s.id).map_or(t0, |c| c.1);
            let _ = utterances.send(Utterance {
                id: s.id,
                wav: s.wav,
                end_s: s.end_s - s.start_s,
                closed_at,
            });
        }
        mono.drain(..used);
        t.poll_ns.push(t0.elapsed().as_nanos() as f64);
        let callbacks = stats.callbacks.load(Ordering::Acquire);
        let max = stats.max_callback_ns.swap(0, Ordering::Relaxed);
        t.windows.push((callbacks - last_callbacks, max));
        last_callbacks = callbacks;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = store.end("bench finished");
    let (overruns, dropped) = input.overruns();
    // Each callback charged with its window's maximum.
    let per_callback: Vec<f64> = t
        .windows
        .iter()
        .flat_map(|&(n, max)| std::iter::repeat_n(max as f64, n as usize))
        .collect();
    let callback_max = t.windows.iter().map(|w| w.1).max().unwrap_or(0);
    Ok(AudioReport {
        input: input.name().to_string(),
        sample_rate: rate,
        channels,
        seconds: elapsed,
        callbacks: t.windows.iter().map(|w| w.0).sum(),
        callback_us: us(&per_callback),
        callback_max_us: callback_max as f64 / 1000.0,
        overruns: overruns - overruns0,
        dropped_samples: dropped - dropped0,
        xruns: input.xruns() - xruns0,
        vad_us: us(&t.vad_ns),
        chunk_us: us(&t.chunk_ns),
        store_us: us(&t.store_ns),
        poll_us: us(&t.poll_ns),
        wake_late_us: us(&t.late_ns),
        utterances: n_utterances,
        ..AudioReport::default()
    })
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
    // Load jobs use the clip files as they are (no copy needed: workers only read them).
    const LOAD_ID: u64 = 1_000_000;
    let mut next_load = 0usize;
    let submit_load = |pool: &WarmPool, n: &mut usize| {
        let clip = &clips[*n % clips.len()];
        pool.submit(
            LOAD_ID + *n as u64,
            &clip.path,
            clip.duration_s,
            Instant::now(),
        );
        *n += 1;
    };
    submit_load(&pool, &mut next_load);
    submit_load(&pool, &mut next_load);
    // Let the workers get going before the audio thread starts measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (utt_tx, mut utt_rx) = mpsc::unbounded_channel();
    let (device, segmenter) = (cfg.device.clone(), cfg.segmenter.clone());
    let cpu0 = super::cpu_jiffies();
    let thread = std::thread::Builder::new()
        .name("audio".into())
        .spawn(move || audio_thread(device, seconds, segmenter, session_dir, 1, utt_tx))?;
    let mut load_done = 0;
    let mut utterances_done = 0;
    loop {
        tokio::select! {
            u = utt_rx.recv() => match u {
                Some(u) => {
                    pool.submit(u.id, &u.wav, u.end_s, u.closed_at);
                }
                None => break,
            },
            ev = pool.events.recv() => match ev {
                Some(PoolEvent::Done { job, .. }) | Some(PoolEvent::Failed { job, .. }) => {
                    if job.id >= LOAD_ID {
                        load_done += 1;
                        submit_load(&pool, &mut next_load);
                    } else {
                        utterances_done += 1;
                    }
                }
                Some(other) => pool.note(other),
                None => anyhow::bail!("the worker pool stopped"),
            },
        }
    }
    let cpu1 = super::cpu_jiffies();
    let mut report = thread
        .join()
        .map_err(|_| anyhow::anyhow!("the audio thread panicked"))??;
    report.load_jobs = load_done;
    report.utterances_done = utterances_done;
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
         VAD+segmenter+store per chunk: median {:.0} µs, p99 {:.0} µs, max {:.0} µs\n\
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
