//! `session.wav`: the whole session's audio, appended as it comes, its header rewritten at
//! utterance boundaries so the file is readable after a crash.
//!
//! Disk full (or a file size limit) mid-session: the first failed write stops the file for
//! good ([`Stop`] swallows every later write). Before, the BufWriter kept the samples that
//! did not fit and every later flush retried them: rewriting the header for the utterance
//! open at the failure failed again, so that utterance never got its WAV, and finishing
//! failed once more and reported the error a second time (both found by
//! `tests/disk_full.rs`). On finish the header is set from what the file really holds
//! ([`fix_header`]), so `session.wav` is readable up to the failure, not only up to the last
//! checkpoint (up to one utterance and the pause before it earlier).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::SESSION_WAV;

/// A writer that, after its first failed write, accepts and drops everything (so nothing
/// later, a header rewrite included, can touch the file).
pub(super) struct Stop<W> {
    inner: W,
    failed: Arc<AtomicBool>,
}

impl<W> Stop<W> {
    pub(super) fn new(inner: W) -> Stop<W> {
        Stop {
            inner,
            failed: Arc::new(AtomicBool::new(false)),
        }
    }

    fn fail<T>(&self, e: std::io::Error) -> std::io::Result<T> {
        if e.kind() != std::io::ErrorKind::Interrupted {
            self.failed.store(true, Ordering::Relaxed);
        }
        Err(e)
    }
}

impl<W: Write> Write for Stop<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failed.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        self.inner.write(buf).or_else(|e| self.fail(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.inner.flush().or_else(|e| self.fail(e))
    }
}

impl<W: Seek> Seek for Stop<W> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// The whole-session recording: raw 16 kHz samples appended as they come, with the WAV header
/// rewritten at utterance boundaries (so a crash loses at most the header's knowledge of the
/// audio after the last boundary; [`repair_wav_header`] recovers that too).
pub struct SessionAudio {
    writer: hound::WavWriter<BufWriter<Stop<File>>>,
    /// A second handle for fsyncing from the disk thread ([`crate::store`]).
    pub(crate) sync_handle: File,
    failed: Arc<AtomicBool>,
}

impl SessionAudio {
    pub fn create(dir: &Path) -> std::io::Result<SessionAudio> {
        let path = dir.join(SESSION_WAV);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .read(true)
            .mode(0o600)
            .open(&path)?;
        let sync_handle = file.try_clone()?;
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: crate::audio::SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let stop = Stop::new(file);
        let failed = stop.failed.clone();
        let writer = hound::WavWriter::new(BufWriter::new(stop), spec).map_err(hound_io)?;
        Ok(SessionAudio {
            writer,
            sync_handle,
            failed,
        })
    }

    fn stopped(&self) -> std::io::Result<()> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("an earlier write failed"));
        }
        Ok(())
    }

    pub fn write(&mut self, samples: &[f32]) -> std::io::Result<()> {
        self.stopped()?;
        let mut w = self.writer.get_i16_writer(samples.len() as u32);
        for &s in samples {
            w.write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16);
        }
        w.flush().map_err(hound_io)
    }

    /// Rewrites the header for what was written so far and fsyncs.
    pub fn checkpoint(&mut self) -> std::io::Result<()> {
        self.rewrite_header()?;
        self.sync_handle.sync_data()
    }

    /// Rewrites the header for what was written so far (page cache only: a process crash
    /// keeps it; the store's disk thread fsyncs it). Once a write failed this does nothing:
    /// the file is finished by [`SessionAudio::finish`], and the utterance at hand still
    /// gets its own WAV.
    pub fn rewrite_header(&mut self) -> std::io::Result<()> {
        if self.failed.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.writer.flush().map_err(hound_io)
    }

    pub fn finish(self) -> std::io::Result<()> {
        let SessionAudio {
            writer,
            sync_handle,
            failed,
        } = self;
        // After a failed write, hound's header would count samples that never reached the
        // file (its writes go nowhere now); the header is set from the file's length instead.
        let finalized = writer.finalize().map_err(hound_io);
        if failed.load(Ordering::Relaxed) {
            fix_header(&sync_handle)?;
        } else {
            finalized?;
        }
        sync_handle.sync_all()
    }
}

fn hound_io(e: hound::Error) -> std::io::Error {
    match e {
        hound::Error::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    }
}

/// Sets the RIFF and data sizes of a 16-bit PCM WAV written by [`SessionAudio`] to the
/// samples the file holds (a write cut short keeps whole samples only). Returns them.
fn fix_header(f: &File) -> std::io::Result<u64> {
    let len = f.metadata()?.len();
    let mut header = [0u8; 44];
    f.read_exact_at(&mut header, 0)?;
    // hound writes a plain 44-byte header for 16-bit mono PCM: "data" at byte 36.
    if &header[0..4] != b"RIFF" || &header[36..40] != b"data" {
        return Err(std::io::Error::other("not a WAV written by recorder"));
    }
    let data = (len - 44) & !1;
    f.write_all_at(&((36 + data) as u32).to_le_bytes(), 4)?;
    f.write_all_at(&(data as u32).to_le_bytes(), 40)?;
    Ok(data / 2)
}

/// Fixes the header of a `session.wav` whose header lags behind its data (the process died
/// between checkpoints). Returns the samples it holds.
pub fn repair_wav_header(path: &Path) -> std::io::Result<u64> {
    let f = OpenOptions::new().read(true).write(true).open(path)?;
    let n = fix_header(&f)?;
    f.sync_all()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then fails like a full disk.
    struct Full {
        data: Vec<u8>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.room - self.data.len());
            if n == 0 && !buf.is_empty() {
                return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.data.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn after_the_first_failure_nothing_reaches_the_file() {
        let mut w = Stop::new(Full {
            data: Vec::new(),
            room: 10,
        });
        w.write_all(b"12345678").unwrap();
        // A short write, then the failure.
        assert!(w.write_all(b"abcdef").is_err());
        assert_eq!(w.inner.data, b"12345678ab");
        // Everything later (a header rewrite included) goes nowhere, successfully.
        w.inner.room = 100;
        w.write_all(b"late").unwrap();
        w.flush().unwrap();
        assert_eq!(w.inner.data, b"12345678ab");
    }

    #[test]
    fn interrupted_is_not_a_failure() {
        struct Once(bool);
        impl Write for Once {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if std::mem::replace(&mut self.0, false) {
                    return Err(std::io::ErrorKind::Interrupted.into());
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = Stop::new(Once(true));
        w.write_all(b"x").unwrap();
        assert!(!w.failed.load(Ordering::Relaxed));
    }

    #[test]
    fn finishing_after_a_failure_keeps_the_header_true() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = SessionAudio::create(dir.path()).unwrap();
        a.write(&vec![0.25; 16_000]).unwrap();
        a.checkpoint().unwrap();
        // What a full disk does to the next write: it fails part-way (here: simulated by
        // marking the writer failed after 1,001 more bytes reached the file).
        a.writer.flush().unwrap();
        a.sync_handle
            .write_all_at(&[1u8; 1001], 44 + 32_000)
            .unwrap();
        a.failed.store(true, Ordering::Relaxed);
        assert!(a.write(&[0.5; 100]).is_err());
        a.rewrite_header().unwrap();
        a.finish().unwrap();
        let path = dir.path().join(SESSION_WAV);
        let r = hound::WavReader::open(&path).unwrap();
        // The checkpointed second plus the 500 whole samples that made it.
        assert_eq!(r.duration(), 16_500);
        assert!(r.into_samples::<i16>().all(|s| s.is_ok()));
    }
}
