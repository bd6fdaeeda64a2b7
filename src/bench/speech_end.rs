//! Speech end → final text through the virtual microphone (`bench/speech_end.py`, run by
//! `make bench` three ways): `speech-end.json` (the defaults, a quiet machine),
//! `speech-end-off.json` (speculative finals off: `RECORDER_SPECULATE=0`) and
//! `speech-end-busy.json` (the defaults beside `yes` pinned to one core).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct SpeechEndReport {
    pub runs: usize,
    pub clips: BTreeMap<String, SpeechEndClip>,
    pub summary: Summary,
    pub missed: usize,
    /// Final lines over all runs: one per utterance (more than the clips' pauses make is a
    /// split the endpointing added).
    #[serde(default)]
    pub utterances: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpeechEndClip {
    pub audio_s: f64,
    pub runs_ms: Vec<f64>,
    #[serde(default)]
    pub median_ms: Option<f64>,
}

/// Over every run of every clip.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Summary {
    pub n: usize,
    #[serde(default)]
    pub median_ms: Option<f64>,
    #[serde(default)]
    pub p95_ms: Option<f64>,
    #[serde(default)]
    pub max_ms: Option<f64>,
}

/// The three runs, where present (a missing or broken file leaves its column out).
pub struct SpeechEnd {
    pub quiet: Option<SpeechEndReport>,
    pub off: Option<SpeechEndReport>,
    pub busy: Option<SpeechEndReport>,
}

fn read(dir: &Path, name: &str) -> Option<SpeechEndReport> {
    let text = std::fs::read_to_string(dir.join(name)).ok()?;
    serde_json::from_str(text.trim()).ok()
}

impl SpeechEnd {
    pub fn read(dir: &Path) -> SpeechEnd {
        SpeechEnd {
            quiet: read(dir, "speech-end.json"),
            off: read(dir, "speech-end-off.json"),
            busy: read(dir, "speech-end-busy.json"),
        }
    }

    fn columns(&self) -> Vec<(&'static str, &SpeechEndReport)> {
        [
            ("defaults", self.quiet.as_ref()),
            ("speculative finals off", self.off.as_ref()),
            ("defaults, one core busy", self.busy.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, r)| r.map(|r| (name, r)))
        .collect()
    }
}

fn ms(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |v| format!("{v:.0}"))
}

/// The section of bench/results.md: per clip the median of its runs, then median, p95 and
/// max over all runs, for each run that was made.
pub fn render_md(dir: &Path) -> String {
    let se = SpeechEnd::read(dir);
    let cols = se.columns();
    let Some((_, first)) = cols.first() else {
        return String::new();
    };
    let mut out = format!(
        "**Speech end → final text** (through the virtual microphone, `recorder --headless \
         --json --interim`; each clip with its trailing silence trimmed, {} run(s); ms from \
         the end of the feed to the clip's last final line; `bench/speech_end.py`)\n\n",
        first.runs
    );
    out += "| clip | audio s |";
    for (name, _) in &cols {
        out += &format!(" {name} |");
    }
    out += "\n| --- | ---: |";
    out += &" ---: |".repeat(cols.len());
    out += "\n";
    for (clip, c) in &first.clips {
        out += &format!("| {clip} | {:.1} |", c.audio_s);
        for (_, r) in &cols {
            out += &format!(" {} |", ms(r.clips.get(clip).and_then(|c| c.median_ms)));
        }
        out += "\n";
    }
    for (label, pick) in [
        (
            "**median**",
            (|s: &Summary| s.median_ms) as fn(&Summary) -> Option<f64>,
        ),
        ("**p95**", |s| s.p95_ms),
        ("**max**", |s| s.max_ms),
    ] {
        out += &format!("| {label} | |");
        for (_, r) in &cols {
            out += &format!(" {} |", ms(pick(&r.summary)));
        }
        out += "\n";
    }
    out += "| missed (no final within 6 s) | |";
    for (_, r) in &cols {
        out += &format!(" {} |", r.missed);
    }
    out += "\n| utterances, all runs | |";
    for (_, r) in &cols {
        out += &format!(" {} |", r.utterances);
    }
    out + "\n\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_column_per_run_made() {
        let dir = tempfile::tempdir().unwrap();
        let report = |m: f64| {
            format!(
                r#"{{"label":"x","runs":2,"clips":{{"a":{{"audio_s":3.0,"runs_ms":[{m},{m}],"median_ms":{m}}}}},
                "summary":{{"n":2,"median_ms":{m},"p95_ms":{m},"max_ms":{m}}},"missed":0}}"#
            )
        };
        std::fs::write(dir.path().join("speech-end.json"), report(480.0)).unwrap();
        std::fs::write(dir.path().join("speech-end-busy.json"), report(610.0)).unwrap();
        let md = render_md(dir.path());
        assert!(
            md.contains("| clip | audio s | defaults | defaults, one core busy |"),
            "{md}"
        );
        assert!(md.contains("| a | 3.0 | 480 | 610 |"), "{md}");
        assert!(md.contains("| **p95** | | 480 | 610 |"), "{md}");
        assert!(render_md(tempfile::tempdir().unwrap().path()).is_empty());
    }
}
