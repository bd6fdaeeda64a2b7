//! The benchmark table (markdown) from the files one `make bench` run writes into a folder:
//!
//! - `latency.json`: `recorder bench latency --json` ([`LatencyReport`]);
//! - `fw-int8.json`, `fw-float32.json`: `bench/fw_bench.py` (faster-whisper, same clips);
//! - `throughput.json`: wall times of `recorder transcribe` over the whole eval set;
//! - `audio.json`: `recorder bench audio --json` ([`AudioReport`]);
//! - `tui.json`: peak RSS of the TUI process and its worker;
//! - `interim.json`: `recorder bench interim --json` ([`super::interim::InterimReport`]);
//! - `speech-end*.json`: `bench/speech_end.py` ([`super::speech_end`]);
//! - `levers-*.json`: latency runs with one lever changed (`scripts/bench.sh --levers`);
//! - `machine.txt`: the machine and its load.
//!
//! Missing files leave their section out.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Stats;
use super::audio::AudioReport;
use super::latency::{LatencyReport, Words, score};

#[derive(Debug, Clone, Deserialize)]
pub struct FwReport {
    pub version: String,
    pub compute_type: String,
    pub threads: usize,
    pub load_s: f64,
    pub clips: Vec<FwClip>,
    pub throughput: Throughput,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FwClip {
    pub name: String,
    pub runs_ms: Vec<f64>,
    pub text: String,
}

/// Transcribing every file of the eval set, `runs_s` wall times.
#[derive(Debug, Clone, Deserialize)]
pub struct Throughput {
    pub files: usize,
    pub audio_s: f64,
    pub runs_s: Vec<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TuiMemory {
    pub tui_peak_rss_kb: u64,
    #[serde(default)]
    pub worker_peak_rss_kb: Vec<u64>,
}

fn read<T: DeserializeOwned>(dir: &Path, name: &str) -> anyhow::Result<Option<T>> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)?;
    serde_json::from_str(text.trim())
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn ms(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0}")
    } else {
        "–".into()
    }
}

fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

fn median(v: &[f64]) -> f64 {
    Stats::of(v).median
}

pub fn render(dir: &Path) -> anyhow::Result<String> {
    let ours: Option<LatencyReport> = read(dir, "latency.json")?;
    let int8: Option<FwReport> = read(dir, "fw-int8.json")?;
    let f32: Option<FwReport> = read(dir, "fw-float32.json")?;
    let mut out = String::new();
    if let Ok(machine) = std::fs::read_to_string(dir.join("machine.txt")) {
        out += &format!("```\n{}\n```\n\n", machine.trim());
    }
    out += &super::summary::render(dir);
    out += &super::speech_end::render_md(dir);
    if let Some(ours) = &ours {
        out += &latency_table(ours, int8.as_ref(), f32.as_ref());
    }
    out += &throughput(dir, int8.as_ref(), f32.as_ref())?;
    if let Some(a) = read::<AudioReport>(dir, "audio.json")? {
        out += &audio(&a);
    }
    out += &memory(
        ours.as_ref(),
        read::<AudioReport>(dir, "audio.json")?.as_ref(),
        read::<TuiMemory>(dir, "tui.json")?.as_ref(),
    );
    if let Some(r) = read::<super::interim::InterimReport>(dir, "interim.json")? {
        out += &super::interim::render_md(&r);
    }
    out += &levers(dir, int8.as_ref())?;
    Ok(out)
}

fn fw_median(fw: Option<&FwReport>, name: &str) -> f64 {
    fw.and_then(|f| f.clips.iter().find(|c| c.name == name))
        .map(|c| median(&c.runs_ms))
        .unwrap_or(f64::NAN)
}

fn latency_table(ours: &LatencyReport, int8: Option<&FwReport>, f32: Option<&FwReport>) -> String {
    let mut out = format!(
        "**Utterance latency** (ms; each clip as one utterance, warm worker, {} × {} threads, \
         {} runs; ours: closed → text at the UI, WAV write and IPC included; faster-whisper: \
         `transcribe()` on the samples in memory)\n\n",
        ours.workers, ours.threads, ours.runs
    );
    out += "| clip | audio | ours median | ours p95 | fw int8 | fw float32 | ours / int8 | ours / float32 |\n";
    out += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    let (mut r8, mut r32, mut m_ours, mut m8, mut m32) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in &ours.clips {
        let (a, b) = (fw_median(int8, &c.name), fw_median(f32, &c.name));
        let (x8, x32) = (c.latency.median / a, c.latency.median / b);
        r8.push(x8);
        r32.push(x32);
        m_ours.push(c.latency.median);
        m8.push(a);
        m32.push(b);
        out += &format!(
            "| {} | {:.1} s | {} | {} | {} | {} | {} | {} |\n",
            c.name,
            c.duration_s,
            ms(c.latency.median),
            ms(c.latency.p95),
            ms(a),
            ms(b),
            ratio(x8),
            ratio(x32)
        );
    }
    out += &format!(
        "| **median over {} clips** | | **{}** | | **{}** | **{}** | **{}** | **{}** |\n\n",
        ours.clips.len(),
        ms(median(&m_ours)),
        ms(median(&m8)),
        ms(median(&m32)),
        ratio(median(&r8)),
        ratio(median(&r32))
    );
    // Accuracy of the very texts timed above, with the eval scorer.
    let fw_words = |fw: Option<&FwReport>| -> Option<Words> {
        let fw = fw?;
        let mut w = Words::default();
        for c in &ours.clips {
            let text = &fw.clips.iter().find(|f| f.name == c.name)?.text;
            w.add(score(&c.reference, text));
        }
        Some(w)
    };
    let wer = |w: Option<Words>| {
        w.map_or("–".to_string(), |w| {
            format!("{:.2}% ({}/{})", w.wer() * 100.0, w.errors, w.ref_words)
        })
    };
    for n in &ours.notices {
        out += &format!("Pool notice during the run: {n}\n\n");
    }
    out += &format!(
        "Word error rate of those texts (whole clips, `recorder eval`'s normaliser): ours {}, \
         fw int8 {}, fw float32 {}.\n\n",
        wer(Some(ours.score)),
        wer(fw_words(int8)),
        wer(fw_words(f32)),
    );
    out
}

fn throughput(
    dir: &Path,
    int8: Option<&FwReport>,
    f32: Option<&FwReport>,
) -> anyhow::Result<String> {
    let ours: Option<Throughput> = read(dir, "throughput.json")?;
    let Some(ours) = ours else {
        return Ok(String::new());
    };
    let mut out = format!(
        "**Throughput** ({} files, {:.1} s of audio, one after another; wall time, median of {} \
         runs; real-time factor = wall / audio)\n\n",
        ours.files,
        ours.audio_s,
        ours.runs_s.len()
    );
    out += "| | wall | RTF | note |\n| --- | ---: | ---: | --- |\n";
    let ours_s = median(&ours.runs_s);
    out += &format!(
        "| `recorder transcribe` | {:.2} s | {:.3} | whole process: start, model load, Silero VAD cuts, worker |\n",
        ours_s,
        ours_s / ours.audio_s
    );
    for fw in [int8, f32].into_iter().flatten() {
        let s = median(&fw.throughput.runs_s) + fw.load_s;
        out += &format!(
            "| faster-whisper {} {} | {:.2} s | {:.3} | model load {:.2} s + `transcribe()` per file, no VAD; {:.2}× our wall time |\n",
            fw.version,
            fw.compute_type,
            s,
            s / fw.throughput.audio_s,
            fw.load_s,
            s / ours_s
        );
    }
    out += "\n";
    Ok(out)
}

fn audio(a: &AudioReport) -> String {
    format!(
        "**Audio path under load** ({}, {} Hz × {}, {:.0} s while the worker transcribed \
         {} clips back to back; CPU busy {:.0}% of both cores)\n\n\
         | | p99 | max | goal |\n| --- | ---: | ---: | --- |\n\
         | cpal callback ({} callbacks) | {:.1} µs | {:.1} µs | p99 < 500 µs |\n\
         | Silero VAD per 32 ms chunk | {:.0} µs | {:.0} µs | |\n\
         | audio thread per chunk (VAD, segmenter, store, interim) | {:.0} µs | {:.0} µs | p99 < 2,000 µs |\n\
         | store hand-off per utterance ({} utterances) | {:.0} µs | {:.0} µs | |\n\
         | audio thread wake-up lateness (10 ms timer) | {:.0} µs | {:.0} µs | |\n\
         | ring overruns / dropped samples / device xruns | {} / {} / {} | | 0 |\n\n",
        a.input,
        a.sample_rate,
        a.channels,
        a.seconds,
        a.load_jobs,
        a.cpu_busy * 100.0,
        a.callbacks,
        a.callback_us.p99,
        a.callback_max_us,
        a.vad_us.p99,
        a.vad_us.max,
        a.chunk_us.p99,
        a.chunk_us.max,
        a.store_us.n,
        a.store_us.p99,
        a.store_us.max,
        a.wake_late_us.p99,
        a.wake_late_us.max,
        a.overruns,
        a.dropped_samples,
        a.xruns,
    )
}

fn memory(lat: Option<&LatencyReport>, a: Option<&AudioReport>, tui: Option<&TuiMemory>) -> String {
    let mut rows = String::new();
    if let Some(t) = tui {
        rows += &format!(
            "| TUI process (`recorder --input`) | {} |\n",
            mb(t.tui_peak_rss_kb)
        );
        for w in &t.worker_peak_rss_kb {
            rows += &format!("| its worker | {} |\n", mb(*w));
        }
    }
    if let Some(a) = a {
        rows += &format!(
            "| main process of the audio bench (capture + VAD + pool) | {} |\n",
            mb(a.main_peak_rss_kb)
        );
    }
    if let Some(l) = lat {
        for w in &l.worker_peak_rss_kb {
            rows += &format!(
                "| worker after the latency runs (clips up to 20 s) | {} |\n",
                mb(*w)
            );
        }
        for w in &l.worker_peak_rss_25s_kb {
            rows += &format!(
                "| worker after a {} s utterance (the segmenter's longest) | {} |\n",
                super::latency::LONGEST_UTTERANCE_S,
                mb(*w)
            );
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    format!("**Peak RSS** (VmHWM)\n\n| process | peak RSS |\n| --- | ---: |\n{rows}\n")
}

fn levers(dir: &Path, int8: Option<&FwReport>) -> anyhow::Result<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("levers-") && n.ends_with(".json"))
        .collect();
    if files.is_empty() {
        return Ok(String::new());
    }
    files.sort();
    let mut out = "**Levers** (same clips, one setting changed; WER of the whole clips)\n\n\
                   | setting | runs | median latency | median encode | median decode | median ours / fw int8 | WER |\n\
                   | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        .to_string();
    let mut unmodified = None;
    for f in files {
        let Some(r) = read::<LatencyReport>(dir, &f)? else {
            continue;
        };
        let name = f.trim_start_matches("levers-").trim_end_matches(".json");
        let col = |g: &dyn Fn(&super::latency::ClipLatency) -> f64| {
            median(&r.clips.iter().map(g).collect::<Vec<_>>())
        };
        let ratios: Vec<f64> = r
            .clips
            .iter()
            .map(|c| c.latency.median / fw_median(int8, &c.name))
            .collect();
        if name.contains("f16-full-window") {
            unmodified = Some(r.score);
        }
        out += &format!(
            "| {name} | {} | {} ms | {} ms | {} ms | {} | {:.2}% |\n",
            r.runs,
            ms(col(&|c| c.latency.median)),
            ms(col(&|c| c.encode_ms)),
            ms(col(&|c| c.decode_ms)),
            ratio(median(&ratios)),
            r.score.wer() * 100.0
        );
    }
    out += "\n";
    if let (Some(base), Some(ours)) = (unmodified, read::<LatencyReport>(dir, "latency.json")?) {
        out += &accuracy_line(ours.score, base);
    }
    Ok(out)
}

/// The accuracy goal: the default setting's word error rate against the unmodified model's
/// (f16 weights, full window), at most +0.5 points. On 326 words one word is 0.31 points.
fn accuracy_line(ours: Words, base: Words) -> String {
    let delta = (ours.wer() - base.wer()) * 100.0;
    format!(
        "Accuracy: the default setting's WER {:.2}% ({}/{}) vs the unmodified model's {:.2}% \
         ({}/{}): {delta:+.2} points (goal ≤ +0.50; {}).\n\n",
        ours.wer() * 100.0,
        ours.errors,
        ours.ref_words,
        base.wer() * 100.0,
        base.errors,
        base.ref_words,
        if delta <= 0.5 { "met" } else { "not met" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::latency::ClipLatency;

    fn clip(name: &str, runs: &[f64], text: &str) -> ClipLatency {
        ClipLatency {
            name: name.into(),
            duration_s: 2.0,
            runs_ms: runs.to_vec(),
            latency: Stats::of(runs),
            encode_ms: 80.0,
            decode_ms: 20.0,
            worker_ms: 110.0,
            text: text.into(),
            reference: "hello there".into(),
            score: score("hello there", text),
        }
    }

    #[test]
    fn table_puts_both_sides_and_their_ratio() {
        let dir = tempfile::tempdir().unwrap();
        let ours = LatencyReport {
            model: "tiny.en".into(),
            workers: 1,
            threads: 2,
            audio_ctx: String::new(),
            runs: 3,
            clips: vec![
                clip("a", &[100.0, 110.0, 120.0], "Hello there."),
                clip("b", &[200.0, 210.0, 220.0], "hello bear"),
            ],
            score: Words {
                ref_words: 4,
                errors: 1,
            },
            wer: 0.25,
            worker_peak_rss_kb: vec![120_000],
            worker_peak_rss_25s_kb: vec![150_000],
            worker_load_ms: vec![70.0],
            notices: Vec::new(),
            load_before: Some(0.5),
            load_after: Some(0.6),
        };
        std::fs::write(
            dir.path().join("latency.json"),
            serde_json::to_string(&ours).unwrap(),
        )
        .unwrap();
        let fw = r#"{"version": "1.2.1", "compute_type": "int8", "threads": 2, "load_s": 0.5,
            "clips": [{"name": "a", "duration_s": 2.0, "runs_ms": [400, 400, 400], "text": "hello there"},
                      {"name": "b", "duration_s": 2.0, "runs_ms": [420, 400, 410], "text": "hello there"}],
            "throughput": {"files": 2, "audio_s": 4.0, "runs_s": [2.0, 2.2, 2.4]}}"#;
        std::fs::write(dir.path().join("fw-int8.json"), fw).unwrap();
        std::fs::write(
            dir.path().join("throughput.json"),
            r#"{"files": 2, "audio_s": 4.0, "runs_s": [1.0, 1.1, 0.9]}"#,
        )
        .unwrap();
        let table = render(dir.path()).unwrap();
        assert!(
            table.contains("| a | 2.0 s | 110 | 119 | 400 | – | 0.28 |"),
            "{table}"
        );
        assert!(
            table.contains("| b | 2.0 s | 210 | 219 | 410 | – | 0.51 |"),
            "{table}"
        );
        // Median of the per-clip ratios.
        assert!(table.contains("**0.39**"), "{table}");
        assert!(
            table.contains("ours 25.00% (1/4), fw int8 0.00% (0/4)"),
            "{table}"
        );
        assert!(
            table.contains("| `recorder transcribe` | 1.00 s | 0.250 |"),
            "{table}"
        );
        assert!(
            table.contains("| faster-whisper 1.2.1 int8 | 2.70 s | 0.675 |"),
            "{table}"
        );
        assert!(
            table.contains("| worker after the latency runs (clips up to 20 s) | 117 MB |"),
            "{table}"
        );
    }
}
