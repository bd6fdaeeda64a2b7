//! The goals of the speed issue against what a `make bench` run measured: the short table at
//! the top of bench/results.md, the one README "Speed" copies.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::Stats;
use super::audio::AudioReport;
use super::latency::{LatencyReport, Words};
use super::report::FwReport;

fn read<T: DeserializeOwned>(dir: &Path, name: &str) -> Option<T> {
    let text = std::fs::read_to_string(dir.join(name)).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// The median over clips of our median / faster-whisper's median, clip by clip.
pub fn median_ratio(ours: &LatencyReport, fw: &FwReport) -> f64 {
    let ratios: Vec<f64> = ours
        .clips
        .iter()
        .filter_map(|c| {
            let theirs = fw.clips.iter().find(|f| f.name == c.name)?;
            Some(c.latency.median / Stats::of(&theirs.runs_ms).median)
        })
        .collect();
    Stats::of(&ratios).median
}

/// The unmodified model's score: the lever run with f16 weights on the full window.
fn unmodified(dir: &Path) -> Option<Words> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("levers-") && n.contains("f16-full-window"))
        .collect();
    names.sort();
    read::<LatencyReport>(dir, names.first()?).map(|r| r.score)
}

/// "704" from machine.txt's "… at the end; 704 s in all".
fn total_s(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("machine.txt")).ok()?;
    let line = text.lines().find(|l| l.contains(" s in all"))?;
    let before = line.split(" s in all").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

fn row(out: &mut String, what: &str, measured: String, goal: &str, met: Option<bool>) {
    let verdict = match met {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "–",
    };
    *out += &format!("| {what} | {measured} | {goal} | {verdict} |\n");
}

/// Speech end → final text: median and p95 on a quiet machine, the median beside a busy core.
fn speech_end_rows(out: &mut String, se: &super::speech_end::SpeechEnd) {
    let Some(q) = &se.quiet else {
        return;
    };
    let what = "speech end → final text through the microphone, median / p95";
    if let (Some(m), Some(p)) = (q.summary.median_ms, q.summary.p95_ms) {
        let measured = format!("{m:.0} / {p:.0} ms");
        let met = m <= 350.0 && p <= 700.0 && q.missed == 0;
        row(out, what, measured, "≤ 350 / ≤ 700 ms", Some(met));
    }
    let busy = se.busy.as_ref().and_then(|b| b.summary.median_ms);
    if let (Some(b), Some(m)) = (busy, q.summary.median_ms) {
        let r = b / m;
        let what = "the same with one core busy, median / quiet median";
        row(out, what, format!("{r:.2}"), "≤ 1.50", Some(r <= 1.5));
    }
}

/// The summary table; rows whose data are missing are left out.
pub fn render(dir: &Path) -> String {
    let mut out = String::from(
        "**Summary** (the speed issue's goals)\n\n\
         | | measured | goal | |\n| --- | ---: | --- | --- |\n",
    );
    let ours: Option<LatencyReport> = read(dir, "latency.json");
    if let (Some(o), Some(fw)) = (&ours, read::<FwReport>(dir, "fw-int8.json")) {
        let r = median_ratio(o, &fw);
        let n = o.clips.len();
        let what = format!("utterance latency, ours / faster-whisper int8 (median of {n} clips)");
        row(&mut out, &what, format!("{r:.2}"), "≤ 0.50", Some(r <= 0.5));
    }
    speech_end_rows(&mut out, &super::speech_end::SpeechEnd::read(dir));
    if let (Some(o), Some(base)) = (&ours, unmodified(dir)) {
        let d = (o.score.wer() - base.wer()) * 100.0;
        let measured = format!(
            "{:.2}% vs {:.2}%: {d:+.2} points",
            o.score.wer() * 100.0,
            base.wer() * 100.0
        );
        let what = "word error rate, default vs unmodified model (f16, full window)";
        row(&mut out, what, measured, "≤ +0.50 points", Some(d <= 0.5));
    }
    if let Some(a) = read::<AudioReport>(dir, "audio.json") {
        let p99 = a.callback_us.p99;
        let cb = format!("{p99:.1} µs");
        row(
            &mut out,
            "cpal callback p99",
            cb,
            "< 500 µs",
            Some(p99 < 500.0),
        );
        let p99 = a.chunk_us.p99;
        let what = "audio thread per 32 ms chunk (VAD, segmenter, store, interim), p99";
        row(
            &mut out,
            what,
            format!("{p99:.0} µs"),
            "< 2,000 µs",
            Some(p99 < 2000.0),
        );
        let lost = a.overruns + a.dropped_samples;
        let measured = format!("{} / {}", a.overruns, a.dropped_samples);
        row(
            &mut out,
            "ring overruns / dropped samples",
            measured,
            "0",
            Some(lost == 0),
        );
    }
    if let Some(kb) = ours.as_ref().and_then(|o| {
        let peak = o.worker_peak_rss_25s_kb.iter().chain(&o.worker_peak_rss_kb);
        peak.copied().max()
    }) {
        let mb = kb as f64 / 1024.0;
        let what = "worker peak RSS (after a 25 s utterance)";
        row(
            &mut out,
            what,
            format!("{mb:.0} MB"),
            "< 200 MB",
            Some(mb < 200.0),
        );
    }
    if let Some(s) = total_s(dir) {
        let what = "the whole `make bench` (after setup)";
        row(
            &mut out,
            what,
            format!("{s:.0} s"),
            "< 600 s",
            Some(s < 600.0),
        );
    }
    out + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_the_machine_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("machine.txt"),
            "load:    1.2 1.3 1.4 (at 0 s) at start\nload:    2.55 2.03 1.94 (at 512 s) at the end; 512 s in all\n",
        )
        .unwrap();
        assert_eq!(total_s(dir.path()), Some(512.0));
        let table = render(dir.path());
        assert!(
            table.contains("| the whole `make bench` (after setup) | 512 s | < 600 s | met |"),
            "{table}"
        );
    }
}
