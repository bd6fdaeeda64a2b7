//! Utterance latency with warm workers: each speech clip is treated as one utterance the
//! segmenter just closed. The clock starts before its WAV is written (as the audio thread
//! writes and fsyncs it before queueing) and stops when the result reaches this task (where
//! the UI would get it). Clips go round-robin, one at a time, `runs` rounds, so a disturbance
//! spreads over all clips instead of spoiling one.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Stats;
use crate::audio::wav;
use crate::config::Config;
use crate::eval::manifest::{self, Clip};
use crate::eval::normalize::normalize;
use crate::eval::wer::{self, Score};
use crate::pool::{Job, Origin, Pool, PoolConfig, PoolEvent, Submitter};
use crate::vocab::{RecordingId, Span, UtteranceId, UtteranceRef};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClipLatency {
    pub name: String,
    pub duration_s: f64,
    /// Closed → text, each run (ms).
    pub runs_ms: Vec<f64>,
    pub latency: Stats,
    /// Medians of the worker's own figures (ms).
    pub encode_ms: f64,
    pub decode_ms: f64,
    pub worker_ms: f64,
    /// The first run's text and its score against the reference.
    pub text: String,
    pub reference: String,
    pub score: Words,
}

/// Reference words and edits (the eval scorer's counts, kept for the report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Words {
    pub ref_words: usize,
    pub errors: usize,
}

impl Words {
    pub fn wer(&self) -> f64 {
        if self.ref_words == 0 {
            0.0
        } else {
            self.errors as f64 / self.ref_words as f64
        }
    }

    pub fn add(&mut self, other: Words) {
        self.ref_words += other.ref_words;
        self.errors += other.errors;
    }
}

impl From<Score> for Words {
    fn from(s: Score) -> Words {
        Words {
            ref_words: s.ref_words,
            errors: s.errors(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyReport {
    pub model: String,
    pub workers: usize,
    pub threads: usize,
    /// The workers' `audio_ctx` setting (`[tuning]` or `RECORDER_AUDIO_CTX`; "" = the
    /// default policy).
    pub audio_ctx: String,
    pub runs: usize,
    pub clips: Vec<ClipLatency>,
    /// Word-weighted over the clips (whole clips, no VAD cutting).
    pub score: Words,
    pub wer: f64,
    /// Peak RSS of each worker (kB) at the end.
    pub worker_peak_rss_kb: Vec<u64>,
    /// … and after one more utterance of [`LONGEST_UTTERANCE_S`] (the segmenter's limit).
    #[serde(default)]
    pub worker_peak_rss_25s_kb: Vec<u64>,
    pub worker_load_ms: Vec<f64>,
    /// The pool's notices during the run (a replaced worker makes the run suspect).
    #[serde(default)]
    pub notices: Vec<String>,
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
}

/// A started pool with its event stream, once every worker said hello.
/// The segmenter splits monologues before 25 s: the longest utterance a worker gets.
pub const LONGEST_UTTERANCE_S: usize = 25;

pub(super) struct WarmPool {
    pub pool: Pool,
    pub submitter: Submitter,
    pub events: mpsc::UnboundedReceiver<PoolEvent>,
    /// The current worker of each slot.
    pub pids: Vec<u32>,
    pub load_ms: Vec<f64>,
    /// What the pool reported along the way (a worker replaced, …).
    pub notices: Vec<String>,
}

pub(super) async fn start_pool(cfg: &Config) -> anyhow::Result<WarmPool> {
    let model = crate::paths::resolve_model(&cfg.model, cfg.models_dir.as_deref())?;
    let spec = crate::pool::WorkerSpec::for_config(cfg, &model)?;
    let (tx, mut events) = mpsc::unbounded_channel();
    let (pool, submitter) = Pool::start(PoolConfig::new(cfg.workers, spec), tx);
    let (mut pids, mut load_ms) = (vec![0; cfg.workers], Vec::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    while load_ms.len() < cfg.workers {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(PoolEvent::WorkerReady {
                slot,
                pid,
                load_ms: ms,
            })) => {
                pids[slot] = pid;
                load_ms.push(ms);
            }
            Ok(Some(PoolEvent::Notice(n))) => anyhow::bail!("worker: {n}"),
            Ok(Some(_)) => {}
            Ok(None) => anyhow::bail!("the worker pool stopped"),
            Err(_) => anyhow::bail!("workers did not start within 120 s"),
        }
    }
    Ok(WarmPool {
        pool,
        submitter,
        events,
        pids,
        load_ms,
        notices: Vec::new(),
    })
}

/// What one job gave.
pub(super) struct JobResult {
    pub elapsed_ms: f64,
    pub text: String,
    pub timings: crate::protocol::Timings,
}

impl WarmPool {
    /// Writes `samples` as utterance `id` into `dir` and waits for its text; the clock starts
    /// before the WAV is written.
    pub async fn utterance(
        &mut self,
        dir: &Path,
        id: u64,
        samples: &[f32],
    ) -> anyhow::Result<JobResult> {
        let closed_at = Instant::now();
        let path = dir.join(format!("utt-{id:06}.wav"));
        wav::write_16k_mono(&path, samples)?;
        let end_s = samples.len() as f64 / 16_000.0;
        self.submit(id, &path, end_s, closed_at);
        let r = self.wait(id).await?;
        let _ = std::fs::remove_file(&path);
        Ok(JobResult {
            elapsed_ms: closed_at.elapsed().as_secs_f64() * 1000.0,
            ..r
        })
    }

    pub fn submit(&self, id: u64, wav: &Path, end_s: f64, closed_at: Instant) {
        let utt = UtteranceRef {
            id: UtteranceId(id),
            span: Span::new(0.0, end_s),
            wav: wav.to_path_buf(),
            hints: Default::default(),
        };
        self.submitter.submit(Job {
            closed_at,
            ..Job::new(utt, Origin::Live(RecordingId::default()), None)
        });
    }

    /// Waits for job `id`'s result (other events are dropped).
    pub async fn wait(&mut self, id: u64) -> anyhow::Result<JobResult> {
        loop {
            match self.events.recv().await {
                Some(PoolEvent::Done {
                    job, text, timings, ..
                }) if job.id().0 == id => {
                    return Ok(JobResult {
                        elapsed_ms: timings.total_ms,
                        text,
                        timings,
                    });
                }
                Some(PoolEvent::Failed { job, reason }) if job.id().0 == id => {
                    anyhow::bail!("utterance {id} failed: {reason}")
                }
                Some(other) => self.note(other),
                None => anyhow::bail!("the worker pool stopped"),
            }
        }
    }

    /// Keeps track of replaced workers and the pool's notices.
    pub fn note(&mut self, event: PoolEvent) {
        match event {
            PoolEvent::WorkerReady { slot, pid, .. } => {
                if let Some(p) = self.pids.get_mut(slot) {
                    *p = pid;
                }
            }
            PoolEvent::Notice(n) => self.notices.push(n),
            _ => {}
        }
    }

    pub fn peak_rss_kb(&self) -> Vec<u64> {
        self.pids
            .iter()
            .map(|&p| super::peak_rss_kb(p).unwrap_or(0))
            .collect()
    }

    pub async fn close(self) {
        self.pool.join(Duration::from_secs(10)).await;
    }
}

pub fn speech_clips(manifest_path: &Path, names: &[String]) -> anyhow::Result<Vec<Clip>> {
    let clips = manifest::load(manifest_path)?;
    let clips = manifest::select(clips, names, None)?;
    let speech: Vec<Clip> = clips.into_iter().filter(Clip::is_speech).collect();
    anyhow::ensure!(
        !speech.is_empty(),
        "{}: no speech clips",
        manifest_path.display()
    );
    Ok(speech)
}

/// The eval scorer (`recorder eval`): both sides normalised, compounds joined.
pub fn score(reference: &str, text: &str) -> Words {
    let (r, h) = wer::join_compounds(&normalize(reference), &normalize(text));
    wer::score(&r, &h).into()
}

/// Each clip's latencies over the rounds, its first round's text and that text's score.
fn per_clip(clips: &[Clip], results: Vec<Vec<JobResult>>) -> Vec<ClipLatency> {
    let median = |v: Vec<f64>| Stats::of(&v).median;
    clips
        .iter()
        .zip(results)
        .map(|(clip, rs)| {
            let score = score(&clip.reference, &rs[0].text);
            let runs_ms: Vec<f64> = rs.iter().map(|r| r.elapsed_ms).collect();
            ClipLatency {
                name: clip.name.clone(),
                duration_s: clip.duration_s,
                latency: Stats::of(&runs_ms),
                runs_ms,
                encode_ms: median(rs.iter().map(|r| r.timings.encode_ms).collect()),
                decode_ms: median(rs.iter().map(|r| r.timings.decode_ms).collect()),
                worker_ms: median(rs.iter().map(|r| r.timings.worker_ms).collect()),
                text: rs[0].text.clone(),
                reference: clip.reference.clone(),
                score,
            }
        })
        .collect()
}

/// `runs` rounds over `audio` (one utterance per clip, ids after `id`): each clip's
/// results, in round order.
async fn rounds(
    pool: &mut WarmPool,
    dir: &Path,
    id: &mut u64,
    audio: &[Vec<f32>],
    runs: usize,
    progress: bool,
) -> anyhow::Result<Vec<Vec<JobResult>>> {
    let mut results: Vec<Vec<JobResult>> = audio.iter().map(|_| Vec::new()).collect();
    for round in 0..runs {
        for (i, samples) in audio.iter().enumerate() {
            *id += 1;
            let r = pool.utterance(dir, *id, samples).await?;
            if progress {
                eprint!(
                    "\rround {}/{runs}, clip {}/{}   ",
                    round + 1,
                    i + 1,
                    audio.len()
                );
            }
            results[i].push(r);
        }
    }
    if progress {
        eprintln!();
    }
    Ok(results)
}

pub async fn run(
    cfg: &Config,
    manifest_path: &Path,
    runs: usize,
    names: &[String],
    longest: bool,
    json: bool,
) -> anyhow::Result<i32> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    let clips = speech_clips(manifest_path, names)?;
    let audio: Vec<Vec<f32>> = clips
        .iter()
        .map(|c| wav::read_16k_mono(&c.path))
        .collect::<Result<_, _>>()?;
    let tmp = tempfile::Builder::new()
        .prefix("recorder-bench-")
        .tempdir()?;
    let load_before = super::load_average();
    let mut pool = start_pool(cfg).await?;
    // Warm-up: the first call allocates whisper's buffers; one per worker.
    let mut id = 0;
    for _ in 0..cfg.workers {
        id += 1;
        pool.utterance(tmp.path(), id, &audio[0]).await?;
    }
    let results = rounds(&mut pool, tmp.path(), &mut id, &audio, runs, !json).await?;
    let worker_peak_rss_kb = pool.peak_rss_kb();
    // The worst case for memory: the segmenter's longest utterance (25 s), made of the clips.
    let mut worker_peak_rss_25s_kb = Vec::new();
    if longest {
        let longest: Vec<f32> = audio
            .iter()
            .flatten()
            .copied()
            .cycle()
            .take(LONGEST_UTTERANCE_S * 16_000)
            .collect();
        pool.utterance(tmp.path(), id + 1, &longest).await?;
        worker_peak_rss_25s_kb = pool.peak_rss_kb();
    }
    let worker_load_ms = pool.load_ms.clone();
    let notices = pool.notices.clone();
    pool.close().await;
    let per_clip = per_clip(&clips, results);
    let mut total = Words::default();
    for c in &per_clip {
        total.add(c.score);
    }
    let report = LatencyReport {
        model: cfg.model.clone(),
        workers: cfg.workers,
        threads: cfg.threads,
        audio_ctx: cfg.tuning.clone().with_env().audio_ctx,
        runs,
        clips: per_clip,
        wer: total.wer(),
        score: total,
        worker_peak_rss_kb,
        worker_peak_rss_25s_kb,
        worker_load_ms,
        notices,
        load_before,
        load_after: super::load_average(),
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(0)
}

pub fn text(r: &LatencyReport) -> String {
    let mut out = format!(
        "{:<44} {:>6} {:>8} {:>8} {:>8} {:>8}  {:>5}\n",
        "clip", "audio", "median", "p95", "encode", "decode", "WER"
    );
    for c in &r.clips {
        out += &format!(
            "{:<44} {:>5.1}s {:>6.0}ms {:>6.0}ms {:>6.0}ms {:>6.0}ms  {:>4.1}%\n",
            c.name,
            c.duration_s,
            c.latency.median,
            c.latency.p95,
            c.encode_ms,
            c.decode_ms,
            c.score.wer() * 100.0
        );
    }
    let medians: Vec<f64> = r.clips.iter().map(|c| c.latency.median).collect();
    out += &format!(
        "median over clips: {:.0} ms; WER {:.2}% ({} errors / {} words); worker peak RSS {:?} kB, \
         {:?} kB after a {LONGEST_UTTERANCE_S} s utterance\n",
        Stats::of(&medians).median,
        r.wer * 100.0,
        r.score.errors,
        r.score.ref_words,
        r.worker_peak_rss_kb,
        r.worker_peak_rss_25s_kb,
    );
    out
}
