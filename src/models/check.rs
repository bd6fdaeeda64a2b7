//! Checking a ggml whisper model before any worker loads it. whisper.cpp trusts the file: a
//! model whose first 200 kB were real and the rest random bytes made every worker grow to
//! ~24 GB until the kernel killed it (5 OOM kills in 130 s, other programs killed too), and
//! the pool retried each utterance 3 times. This walks the whole layout (header, mel filters,
//! vocabulary, every tensor's header) against the file's length without reading the weights:
//! under 10 ms for tiny.en, seeks only for bigger models.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::ggml::GGML_MAGIC;

/// What a checked model is.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub n_vocab: i32,
    pub n_audio_layer: i32,
    pub n_text_layer: i32,
    pub tensors: usize,
    pub bytes: u64,
}

impl ModelInfo {
    /// English-only models (`*.en`) have 51864 tokens; multilingual ones 51865 or more.
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "model '{}' is damaged or not a whisper model ({why}); reinstall it (`make setup`, or `recorder models install NAME`)",
    .path.display()
)]
pub struct ModelCheckError {
    pub path: PathBuf,
    pub why: String,
}

/// Checks `path` is a whole ggml whisper model; see the module comment.
pub fn check_ggml(path: &Path) -> Result<ModelInfo, ModelCheckError> {
    let fail = |why: String| ModelCheckError {
        path: path.to_path_buf(),
        why,
    };
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let bytes = file.metadata().map_err(|e| fail(e.to_string()))?.len();
    let mut r = Reader {
        inner: BufReader::new(file),
        left: bytes,
    };
    walk(&mut r, bytes).map_err(fail)
}

struct Reader {
    inner: BufReader<File>,
    left: u64,
}

impl Reader {
    fn i32(&mut self, what: &str) -> Result<i32, String> {
        let mut b = [0u8; 4];
        self.take(4, what)?;
        self.inner
            .read_exact(&mut b)
            .map_err(|e| format!("{what}: {e}"))?;
        Ok(i32::from_le_bytes(b))
    }

    /// Counts `n` bytes as consumed, failing if the file has fewer left.
    fn take(&mut self, n: u64, what: &str) -> Result<(), String> {
        if n > self.left {
            return Err(format!(
                "{what} needs {n} bytes but the file has {} left",
                self.left
            ));
        }
        self.left -= n;
        Ok(())
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), String> {
        self.take(n, what)?;
        self.inner
            .seek(SeekFrom::Current(n as i64))
            .map_err(|e| format!("{what}: {e}"))?;
        Ok(())
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, String> {
        self.take(n, what)?;
        let mut v = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut v)
            .map_err(|e| format!("{what}: {e}"))?;
        Ok(v)
    }
}

fn in_range(what: &str, v: i32, lo: i32, hi: i32) -> Result<i32, String> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{what} is {v}, expected {lo}..={hi}"))
    }
}

fn walk(r: &mut Reader, bytes: u64) -> Result<ModelInfo, String> {
    if r.i32("magic")? as u32 != GGML_MAGIC {
        return Err("no ggml magic at its start".into());
    }
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
    // n_text_state, n_text_head, n_text_layer, n_mels, ftype (whisper.cpp's order).
    let n_vocab = in_range("n_vocab", r.i32("n_vocab")?, 1, 1 << 20)?;
    in_range("n_audio_ctx", r.i32("n_audio_ctx")?, 1, 1 << 16)?;
    in_range("n_audio_state", r.i32("n_audio_state")?, 1, 1 << 14)?;
    in_range("n_audio_head", r.i32("n_audio_head")?, 1, 256)?;
    let n_audio_layer = in_range("n_audio_layer", r.i32("n_audio_layer")?, 1, 256)?;
    in_range("n_text_ctx", r.i32("n_text_ctx")?, 1, 1 << 16)?;
    in_range("n_text_state", r.i32("n_text_state")?, 1, 1 << 14)?;
    in_range("n_text_head", r.i32("n_text_head")?, 1, 256)?;
    let n_text_layer = in_range("n_text_layer", r.i32("n_text_layer")?, 1, 256)?;
    in_range("n_mels", r.i32("n_mels")?, 1, 512)?;
    r.i32("ftype")?;
    let n_mel = in_range("mel filters' n_mel", r.i32("mel filters")?, 1, 512)?;
    let n_fft = in_range("mel filters' n_fft", r.i32("mel filters")?, 1, 4096)?;
    r.skip(4 * n_mel as u64 * n_fft as u64, "the mel filters")?;
    let n_words = in_range("vocabulary size", r.i32("vocabulary")?, 0, n_vocab)?;
    for i in 0..n_words {
        let len = r.i32("vocabulary")? as u32;
        if len > 1024 {
            return Err(format!("token {i} claims {len} bytes"));
        }
        r.skip(len as u64, "the vocabulary")?;
    }
    let mut tensors = 0usize;
    while r.left > 0 {
        tensor(r, tensors)?;
        tensors += 1;
    }
    // whisper.cpp's model: 7 encoder tensors + 15 per encoder layer, 4 decoder tensors + 24
    // per decoder layer; it refuses a file with any other set.
    let expected = 11 + 15 * n_audio_layer as usize + 24 * n_text_layer as usize;
    if tensors != expected {
        return Err(format!(
            "{tensors} tensors, expected {expected} for {n_audio_layer}+{n_text_layer} layers"
        ));
    }
    Ok(ModelInfo {
        n_vocab,
        n_audio_layer,
        n_text_layer,
        tensors,
        bytes,
    })
}

/// One tensor: its header, then its data skipped (checked against what is left).
fn tensor(r: &mut Reader, index: usize) -> Result<(), String> {
    let what = format!("tensor {index}");
    let n_dims = in_range(&format!("{what}'s dimensions"), r.i32(&what)?, 1, 4)?;
    let name_len = in_range(&format!("{what}'s name length"), r.i32(&what)?, 1, 256)?;
    let ty = r.i32(&what)?;
    let mut elements: u64 = 1;
    let mut ne0 = 0;
    for d in 0..n_dims {
        let n = in_range(&format!("{what}'s size"), r.i32(&what)?, 1, 1 << 24)?;
        if d == 0 {
            ne0 = n as u64;
        }
        elements = elements.saturating_mul(n as u64);
    }
    let name = r.bytes(name_len as u64, &what)?;
    let name = String::from_utf8_lossy(&name).into_owned();
    let (block, block_bytes) = type_size(ty).ok_or(format!("{what} '{name}' has type {ty}"))?;
    if ne0 % block != 0 {
        return Err(format!(
            "{what} '{name}' rows of {ne0} are not whole blocks"
        ));
    }
    let size = elements / block * block_bytes;
    r.skip(size, &format!("{what} '{name}'"))
}

/// (values per block, bytes per block) of a ggml type.
fn type_size(ty: i32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (1, 4),     // F32
        1 => (1, 2),     // F16
        2 => (32, 18),   // Q4_0
        3 => (32, 20),   // Q4_1
        6 => (32, 22),   // Q5_0
        7 => (32, 24),   // Q5_1
        8 => (32, 34),   // Q8_0
        10 => (256, 84), // Q2_K
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210), // Q6_K
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ggml-tiny.en.bin");
        p.is_file().then_some(p)
    }

    #[test]
    fn the_real_model_passes_and_damaged_copies_do_not() {
        let Some(model) = tiny() else {
            assert!(
                std::env::var("CI").is_err(),
                "models/ggml-tiny.en.bin missing in CI"
            );
            return;
        };
        let info = check_ggml(&model).unwrap();
        assert_eq!((info.n_audio_layer, info.n_text_layer), (4, 4));
        assert!(!info.is_multilingual());
        let bytes = std::fs::read(&model).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.bin");
        // The case: a real start, then random bytes.
        let mut garbled = bytes[..200_000].to_vec();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        garbled.extend((0..bytes.len() - 200_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        }));
        std::fs::write(&bad, &garbled).unwrap();
        assert!(check_ggml(&bad).is_err());
        // Cut short, and a single tensor size made huge.
        std::fs::write(&bad, &bytes[..bytes.len() - 1000]).unwrap();
        let err = check_ggml(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.bin") && err.contains("left"), "{err}");
        std::fs::write(&bad, b"not a model").unwrap();
        assert!(check_ggml(&bad).unwrap_err().to_string().contains("magic"));
    }
}
