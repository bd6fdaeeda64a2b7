//! WAV I/O: reading any PCM/float WAV (streaming, any rate and channel count) with errors that
//! name the file, and writing 16 kHz mono 16-bit utterance files durably (temp file, fsync,
//! rename) so a crash never leaves a half-written utterance under its final name.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use super::SAMPLE_RATE;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("cannot open '{path}': {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "'{path}' cannot be read as audio ({reason}); WAV, FLAC, MP3 and Ogg Vorbis work, or convert it with e.g. `sox IN -r 16000 -c 1 -b 16 OUT.wav`"
    )]
    Format { path: PathBuf, reason: String },
    #[error("cannot write '{path}': {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The format of an opened WAV file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WavInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits: u16,
    pub float: bool,
    /// Frames the header claims (may lie for truncated files).
    pub frames: u32,
}

/// `-`: read standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// True when opening `path` twice would lose audio: standard input, a pipe (`<(cat x.wav)`)
/// or a FIFO can be read only once.
pub fn is_read_once(path: &Path) -> bool {
    is_stdin(path) || std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// An audio file read block by block as interleaved f32 in -1..1: WAV (hound), or FLAC, MP3
/// and Ogg Vorbis (symphonia, `decode.rs`).
pub struct WavSource {
    path: PathBuf,
    reader: Reader,
    info: WavInfo,
    /// Set once the data ended early (a truncated file): the audio read so far is kept.
    pub truncated: bool,
}

enum Reader {
    Wav(hound::WavReader<BufReader<File>>),
    Decoded(Box<super::decode::Decoded>),
}

/// Whether the first bytes are those of a compressed format symphonia reads. Anything else
/// goes to hound, so garbage gets hound's plain "no RIFF tag" and never a decoder's guess.
fn is_compressed(head: &[u8]) -> bool {
    let mp3_sync = head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0;
    head.starts_with(b"fLaC") || head.starts_with(b"OggS") || head.starts_with(b"ID3") || mp3_sync
}

impl WavSource {
    /// Opens `path`; `-` is standard input. Pipes and FIFOs work: the file is read once,
    /// front to back (no seeking).
    pub fn open(path: &Path) -> Result<Self, WavError> {
        let open_err = |source| WavError::Open {
            path: path.into(),
            source,
        };
        let file = if is_stdin(path) {
            use std::os::fd::AsFd;
            std::io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map(File::from)
                .map_err(open_err)?
        } else {
            File::open(path).map_err(open_err)?
        };
        let mut buffered = BufReader::new(file);
        // Peeked, not consumed: a pipe can be read only once.
        let head = std::io::BufRead::fill_buf(&mut buffered)
            .map_err(open_err)?
            .to_vec();
        if is_compressed(&head) {
            return Self::open_compressed(path, buffered);
        }
        let reader = hound::WavReader::new(buffered).map_err(|e| format_err(path, e))?;
        let spec = reader.spec();
        let float = spec.sample_format == hound::SampleFormat::Float;
        if spec.channels == 0 || spec.sample_rate < 1000 || spec.sample_rate > 768_000 {
            return Err(WavError::Format {
                path: path.into(),
                reason: format!("{} channels at {} Hz", spec.channels, spec.sample_rate),
            });
        }
        if float && spec.bits_per_sample != 32 {
            return Err(WavError::Format {
                path: path.into(),
                reason: format!("{}-bit float samples", spec.bits_per_sample),
            });
        }
        let info = WavInfo {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            bits: spec.bits_per_sample,
            float,
            frames: reader.duration(),
        };
        Ok(WavSource {
            path: path.into(),
            reader: Reader::Wav(reader),
            info,
            truncated: false,
        })
    }

    fn open_compressed(path: &Path, reader: BufReader<File>) -> Result<Self, WavError> {
        let ext = path.extension().and_then(|e| e.to_str());
        let d = super::decode::Decoded::open(Box::new(reader), ext).map_err(|reason| {
            WavError::Format {
                path: path.into(),
                reason,
            }
        })?;
        if d.sample_rate < 1000 || d.sample_rate > 768_000 {
            return Err(WavError::Format {
                path: path.into(),
                reason: format!("{} channels at {} Hz", d.channels, d.sample_rate),
            });
        }
        let info = WavInfo {
            sample_rate: d.sample_rate,
            channels: d.channels,
            bits: 32,
            float: true,
            frames: d.frames.min(u32::MAX as u64) as u32,
        };
        Ok(WavSource {
            path: path.into(),
            reader: Reader::Decoded(Box::new(d)),
            info,
            truncated: false,
        })
    }

    pub fn info(&self) -> WavInfo {
        self.info
    }

    /// Reads up to `frames` frames, appending interleaved samples to `out`. Returns the number
    /// of frames read; 0 at the end. A file whose data stops early ends there (with
    /// `truncated` set); any other decoding error is returned.
    pub fn read(&mut self, frames: usize, out: &mut Vec<f32>) -> Result<usize, WavError> {
        let reader = match &mut self.reader {
            Reader::Wav(r) => r,
            Reader::Decoded(d) => {
                return d.read(frames, out).map_err(|reason| WavError::Format {
                    path: self.path.clone(),
                    reason,
                });
            }
        };
        let want = frames * self.info.channels as usize;
        let before = out.len();
        let result = if self.info.float {
            collect(reader.samples::<f32>().take(want), out, |s| s)
        } else {
            let scale = 1.0 / (1u64 << (self.info.bits - 1)) as f32;
            collect(reader.samples::<i32>().take(want), out, |s| {
                s as f32 * scale
            })
        };
        if let Err(e) = result {
            if is_short_read(&e) {
                self.truncated = true;
            } else {
                return Err(format_err(&self.path, e));
            }
        }
        // Drop a trailing partial frame of a truncated file.
        let ch = self.info.channels as usize;
        let got = out.len() - before;
        out.truncate(before + got / ch * ch);
        Ok(got / ch)
    }
}

fn collect<T>(
    samples: impl Iterator<Item = hound::Result<T>>,
    out: &mut Vec<f32>,
    conv: impl Fn(T) -> f32,
) -> hound::Result<()> {
    for s in samples {
        out.push(conv(s?));
    }
    Ok(())
}

/// The data ended before the header said it would (a recording cut off by a crash, a
/// truncated download). hound reports this as an I/O error, EOF or "Failed to read enough
/// bytes." (its own short-read message).
fn is_short_read(e: &hound::Error) -> bool {
    match e {
        hound::Error::IoError(io) => {
            io.kind() == std::io::ErrorKind::UnexpectedEof
                || io.to_string().contains("read enough bytes")
        }
        _ => false,
    }
}

fn format_err(path: &Path, e: hound::Error) -> WavError {
    let reason = match e {
        ref io_err @ hound::Error::IoError(_) if is_short_read(io_err) => {
            "the file ends inside its header".to_string()
        }
        hound::Error::IoError(io) => io.to_string(),
        hound::Error::FormatError(m) => m.to_string(),
        hound::Error::Unsupported => "an unsupported sample format".to_string(),
        other => other.to_string(),
    };
    WavError::Format {
        path: path.into(),
        reason,
    }
}

/// Reads a whole WAV file and converts it to 16 kHz mono.
pub fn read_16k_mono(path: &Path) -> Result<Vec<f32>, WavError> {
    let mut src = WavSource::open(path)?;
    let info = src.info();
    let mut conv =
        super::resample::ToMono16k::new(info.sample_rate, info.channels).map_err(|e| {
            WavError::Format {
                path: path.into(),
                reason: e.to_string(),
            }
        })?;
    // The header's length can lie (a file cut short, a writer that died): reserve at most
    // ten minutes up front and let the vector grow past that if the audio is really there.
    let expected = info.frames as u64 * 16_000 / info.sample_rate as u64;
    let mut out = Vec::with_capacity(expected.min(16_000 * 600) as usize);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if src.read(16_384, &mut buf)? == 0 {
            break;
        }
        conv.push(&buf, &mut out);
    }
    conv.finish(&mut out);
    Ok(out)
}

/// Writes 16 kHz mono samples as a 16-bit WAV, durably: the data goes to `NAME.part`, is
/// fsynced, then renamed into place, so `path` either does not exist or is complete.
pub fn write_16k_mono(path: &Path, samples: &[f32]) -> Result<(), WavError> {
    write_16k_mono_with(path, samples, true)
}

/// As [`write_16k_mono`] but without the fsync: for scratch audio (interim passes) that is
/// rewritten every second and worthless after a crash. Still atomic for readers.
pub fn write_16k_mono_volatile(path: &Path, samples: &[f32]) -> Result<(), WavError> {
    write_16k_mono_with(path, samples, false)
}

fn write_16k_mono_with(path: &Path, samples: &[f32], durable: bool) -> Result<(), WavError> {
    let werr = |source: std::io::Error| WavError::Write {
        path: path.into(),
        source,
    };
    let part = path.with_extension("wav.part");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    // 0600: utterances are the user's speech.
    let file = crate::session::private_create(&part).map_err(werr)?;
    let mut w = hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| hound_io(e, path))?;
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16;
        w.write_sample(v).map_err(|e| hound_io(e, path))?;
    }
    w.finalize().map_err(|e| hound_io(e, path))?;
    if durable {
        File::open(&part).and_then(|f| f.sync_all()).map_err(werr)?;
    }
    std::fs::rename(&part, path).map_err(werr)?;
    Ok(())
}

fn hound_io(e: hound::Error, path: &Path) -> WavError {
    let source = match e {
        hound::Error::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    WavError::Write {
        path: path.into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, spec: hound::WavSpec, frames: usize) {
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..frames * spec.channels as usize {
            let v = ((i as f32) * 0.01).sin() * 0.5;
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v).unwrap(),
                (_, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
                (_, 16) => w.write_sample((v * 32767.0) as i16).unwrap(),
                (_, b) => w
                    .write_sample((v * ((1i64 << (b - 1)) - 1) as f32) as i32)
                    .unwrap(),
            }
        }
        w.finalize().unwrap();
    }

    #[test]
    fn reads_every_pcm_format_as_16k_mono() {
        let dir = tempfile::tempdir().unwrap();
        let formats = [
            (8, hound::SampleFormat::Int),
            (16, hound::SampleFormat::Int),
            (24, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Float),
        ];
        for (bits, fmt) in formats {
            for (rate, ch) in [(8_000, 1), (16_000, 2), (44_100, 2), (96_000, 1)] {
                let spec = hound::WavSpec {
                    channels: ch,
                    sample_rate: rate,
                    bits_per_sample: bits,
                    sample_format: fmt,
                };
                let p = dir.path().join(format!("{bits}-{rate}-{ch}.wav"));
                write(&p, spec, rate as usize / 2);
                let s = read_16k_mono(&p).unwrap();
                assert!((s.len() as i64 - 8_000).abs() <= 2, "{p:?}: {}", s.len());
                let peak = s.iter().fold(0f32, |a, b| a.max(b.abs()));
                assert!(peak > 0.3 && peak < 0.7, "{p:?}: peak {peak}");
            }
        }
    }

    #[test]
    fn round_trip_write() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.wav");
        let samples: Vec<f32> = (0..1600).map(|i| (i as f32 / 1600.0) - 0.5).collect();
        write_16k_mono(&p, &samples).unwrap();
        assert!(!p.with_extension("wav.part").exists());
        let back = read_16k_mono(&p).unwrap();
        assert_eq!(back.len(), samples.len());
        assert!(back.iter().zip(&samples).all(|(a, b)| (a - b).abs() < 1e-3));
    }

    #[test]
    fn truncated_data_keeps_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write(&p, spec, 16_000);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2 + 1]).unwrap();
        let mut src = WavSource::open(&p).unwrap();
        let mut out = Vec::new();
        while src.read(4096, &mut out).unwrap() > 0 {}
        assert!(src.truncated);
        assert!(out.len() > 7_000 && out.len() < 8_100, "{}", out.len());
    }

    #[test]
    fn garbage_and_missing_files_give_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("garbage.wav");
        std::fs::write(&p, b"this is not a wav file at all").unwrap();
        let e = read_16k_mono(&p).unwrap_err().to_string();
        assert!(e.contains("garbage.wav"), "{e}");
        let e = read_16k_mono(&dir.path().join("nope.wav"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.wav"), "{e}");
        std::fs::write(&p, b"").unwrap();
        assert!(read_16k_mono(&p).is_err());
    }
}

/// Random corruptions of a valid file: the reader must answer Ok or Err, never panic, hang or
/// allocate wildly (a deterministic generator, so a failure reproduces).
#[cfg(test)]
mod fuzz {
    use super::*;

    fn valid_wav(dir: &Path) -> Vec<u8> {
        let p = dir.join("v.wav");
        let samples: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        write_16k_mono(&p, &samples).unwrap();
        std::fs::read(&p).unwrap()
    }

    #[test]
    fn mutated_files_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let good = valid_wav(dir.path());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let p = dir.path().join("f.wav");
        for round in 0..1500 {
            let mut bytes = good.clone();
            match round % 4 {
                // Flip bytes, mostly in the header where the structure is.
                0 | 1 => {
                    for _ in 0..1 + next() % 6 {
                        let at = (next() % 64.min(bytes.len() as u64)) as usize;
                        bytes[at] = next() as u8;
                    }
                }
                2 => bytes.truncate((next() % bytes.len() as u64) as usize),
                _ => {
                    let at = (next() % 44) as usize;
                    bytes[at..at + 4].copy_from_slice(&(next() as u32).to_le_bytes());
                }
            }
            std::fs::write(&p, &bytes).unwrap();
            let _ = read_16k_mono(&p);
        }
    }
}
