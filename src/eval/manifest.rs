//! The eval manifest (`../shared/eval/manifest.tsv`): a header line, then one clip per line
//! with tab-separated `file`, `duration_s`, `transcript`, and provenance columns we ignore.
//! `file` is relative to the manifest's folder; an empty transcript marks a non-speech clip
//! (the right output is nothing).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// The file name without folder and extension ("fw_jfk").
    pub name: String,
    pub path: PathBuf,
    pub duration_s: f64,
    pub reference: String,
}

impl Clip {
    pub fn is_speech(&self) -> bool {
        !self.reference.trim().is_empty()
    }
}

pub fn load(path: &Path) -> anyhow::Result<Vec<Clip>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read manifest '{}': {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir).map_err(|e| anyhow::anyhow!("manifest '{}': {e}", path.display()))
}

pub fn parse(text: &str, dir: &Path) -> Result<Vec<Clip>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.starts_with("file\t") => {}
        _ => {
            return Err(
                "the first line must be the header (file, duration_s, transcript, …)".into(),
            );
        }
    }
    let mut clips = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            return Err(format!(
                "line {}: need file, duration_s and transcript",
                n + 1
            ));
        }
        let duration_s = cols[1]
            .parse()
            .map_err(|_| format!("line {}: bad duration {:?}", n + 1, cols[1]))?;
        let path = dir.join(cols[0]);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| cols[0].to_string());
        clips.push(Clip {
            name,
            path,
            duration_s,
            reference: cols[2].to_string(),
        });
    }
    if clips.is_empty() {
        return Err("no clips".into());
    }
    Ok(clips)
}

/// Picks clips by name (`--clips a,b`: every name must exist), or `n` of them spread evenly
/// (`--subset N`: speech and non-speech clips in proportion, rounding non-speech up, but at
/// least one speech clip), or all.
pub fn select(clips: Vec<Clip>, names: &[String], n: Option<usize>) -> anyhow::Result<Vec<Clip>> {
    if !names.is_empty() {
        let mut out = Vec::new();
        for want in names {
            let c = clips
                .iter()
                .find(|c| &c.name == want || c.path.file_name().is_some_and(|f| f == want.as_str()))
                .ok_or_else(|| anyhow::anyhow!("no clip named '{want}' in the manifest"))?;
            out.push(c.clone());
        }
        return Ok(out);
    }
    let Some(n) = n else { return Ok(clips) };
    let (speech, other): (Vec<Clip>, Vec<Clip>) = clips.into_iter().partition(Clip::is_speech);
    let total = speech.len() + other.len();
    let n = n.min(total);
    let mut n_other = (n * other.len()).div_ceil(total.max(1));
    if !speech.is_empty() {
        n_other = n_other.min(n.saturating_sub(1));
    }
    let n_other = n_other.min(other.len());
    let mut out = spread(speech, n - n_other);
    out.extend(spread(other, n_other));
    Ok(out)
}

/// `k` items spread evenly over `items`, in order.
fn spread(items: Vec<Clip>, k: usize) -> Vec<Clip> {
    let len = items.len();
    if k == 0 || len == 0 {
        return Vec::new();
    }
    let picks: Vec<usize> = (0..k.min(len)).map(|i| i * len / k.min(len)).collect();
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| picks.contains(i))
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "file\tduration_s\ttranscript\tsource_repo\n\
        audio/a.wav\t1.5\tHello there.\trepo\n\
        audio/b.wav\t2\tGo forward ten meters\trepo\n\
        audio/c.wav\t3\tA third one\trepo\n\
        audio/noise.wav\t5.0\t\trepo\n";

    fn clips() -> Vec<Clip> {
        parse(TSV, Path::new("/eval")).unwrap()
    }

    #[test]
    fn parses_rows_relative_to_the_manifest() {
        let c = clips();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].name, "a");
        assert_eq!(c[0].path, Path::new("/eval/audio/a.wav"));
        assert_eq!(c[0].duration_s, 1.5);
        assert_eq!(c[1].reference, "Go forward ten meters");
        assert!(c[0].is_speech());
        assert!(!c[3].is_speech());
    }

    #[test]
    fn rejects_bad_manifests() {
        assert!(parse("", Path::new(".")).is_err());
        assert!(parse("a\tb\n", Path::new(".")).is_err());
        assert!(
            parse(
                "file\tduration_s\ttranscript\nx.wav\tlong\thi\n",
                Path::new(".")
            )
            .is_err()
        );
        assert!(parse("file\tduration_s\ttranscript\nx.wav\t1\n", Path::new(".")).is_err());
    }

    #[test]
    fn select_by_name_keeps_the_given_order() {
        let names = vec!["noise".to_string(), "b.wav".to_string()];
        let got: Vec<String> = select(clips(), &names, None)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(got, ["noise", "b"]);
        assert!(select(clips(), &["zzz".to_string()], None).is_err());
    }

    #[test]
    fn subset_mixes_speech_and_non_speech() {
        let got = select(clips(), &[], Some(2)).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_speech());
        assert!(!got[1].is_speech());
        assert_eq!(select(clips(), &[], Some(1)).unwrap().len(), 1);
        assert_eq!(select(clips(), &[], Some(99)).unwrap().len(), 4);
        assert_eq!(select(clips(), &[], None).unwrap().len(), 4);
    }
}
