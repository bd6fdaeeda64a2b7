//! `recorder bench`: the measurements behind README "Speed" (`make bench` runs them all,
//! with faster-whisper beside them; see `scripts/bench.sh`).
//!
//! - [`latency`]: each speech clip of a manifest sent as one utterance to warm workers,
//!   several rounds; the time from "utterance closed" (before its WAV is written) to its text
//!   arriving where the UI would get it.
//! - [`audio`]: the capture → VAD → segmenter path on a live input while the workers keep
//!   the cores busy: callback durations, VAD and chunk times, overruns.
//! - [`report`]: the table from the JSON files the other steps wrote; [`summary`] its goals.

pub mod audio;
pub mod interim;
pub mod latency;
pub mod report;
pub mod speech_end;
pub mod summary;

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::{Deserialize, Serialize};

use crate::config::Config;

#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// Utterance latency: every speech clip of MANIFEST as one utterance to warm workers,
    /// RUNS rounds; prints per-clip median and p95 (JSON with --json).
    Latency {
        /// Tab-separated clip list with references (e.g. ../shared/eval/manifest.tsv).
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// Rounds over the clips.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Only these clips (file names without .wav, comma-separated).
        #[arg(long, value_delimiter = ',')]
        clips: Vec<String>,
        /// Skip the closing 25 s utterance that measures the worker's peak memory (levers:
        /// it costs 1-10 s per run and says nothing about the lever).
        #[arg(long)]
        no_longest: bool,
    },
    /// The audio path on the input device (e.g. the virtual mic of scripts/vmic.sh) for
    /// SECONDS, while the workers transcribe MANIFEST's clips back to back.
    Audio {
        /// Tab-separated clip list with references (e.g. ../shared/eval/manifest.tsv).
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// How long to capture.
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
    },
    /// Interim text: speech clips of MANIFEST at real-time pace through the engine, with
    /// interim passes and without; word end → interim text, final-text latency on vs off,
    /// word flips (JSON with --json). Default clips: `bench::interim::DEFAULT_CLIPS`.
    Interim {
        /// Tab-separated clip list with references (e.g. ../shared/eval/manifest.tsv).
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// Rounds over the clips.
        #[arg(long, default_value_t = 1)]
        runs: usize,
        /// Only these clips (file names without .wav, comma-separated).
        #[arg(long, value_delimiter = ',')]
        clips: Vec<String>,
        /// Interim pass cadence in ms (default: the config's `interim_every_ms`).
        #[arg(long, value_name = "MS")]
        every_ms: Option<u64>,
    },
    /// The table (markdown) from the JSON files a `make bench` run left in DIR.
    Report {
        /// The folder of a `make bench` run (bench/out).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

pub async fn run(cfg: &Config, cmd: BenchCommand, json: bool) -> anyhow::Result<i32> {
    match cmd {
        BenchCommand::Latency {
            manifest,
            runs,
            clips,
            no_longest,
        } => latency::run(cfg, &manifest, runs, &clips, !no_longest, json).await,
        BenchCommand::Audio { manifest, seconds } => {
            audio::run(cfg, &manifest, seconds, json).await
        }
        BenchCommand::Interim {
            manifest,
            runs,
            clips,
            every_ms,
        } => interim::run(cfg, &manifest, runs, &clips, every_ms, json).await,
        BenchCommand::Report { dir } => {
            print!("{}", report::render(&dir)?);
            Ok(0)
        }
    }
}

/// Median, p95, p99 and max of a sample (milliseconds or any unit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Stats {
            n: v.len(),
            median: percentile(&v, 0.5),
            p95: percentile(&v, 0.95),
            p99: percentile(&v, 0.99),
            max: v.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// The `q` quantile of sorted values, interpolating linearly between ranks (NaN if empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Peak resident memory of a process (`VmHWM` in /proc/PID/status), in kB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    status_field(
        &Path::new("/proc").join(pid.to_string()).join("status"),
        "VmHWM:",
    )
}

/// Peak resident memory of this process, in kB.
pub fn own_peak_rss_kb() -> Option<u64> {
    status_field(Path::new("/proc/self/status"), "VmHWM:")
}

fn status_field(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Busy and total CPU time of the whole machine so far (jiffies, from /proc/stat).
pub fn cpu_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    Some((total - idle, total))
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 1.0), 5.0);
        assert!((percentile(&v, 0.95) - 4.8).abs() < 1e-9);
        assert!(percentile(&[], 0.5).is_nan());
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn stats_ignore_order_and_non_finite_values() {
        let s = Stats::of(&[5.0, f64::NAN, 1.0, 3.0]);
        assert_eq!((s.n, s.median, s.max), (3, 3.0, 5.0));
    }

    #[test]
    fn proc_readers_work_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(own_peak_rss_kb().unwrap() > 0);
            let (busy, total) = cpu_jiffies().unwrap();
            assert!(busy <= total && total > 0);
            assert!(load_average().is_some());
        }
    }
}
