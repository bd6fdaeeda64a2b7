//! Compressed input (FLAC, MP3, Ogg Vorbis) through symphonia, packet by packet, as
//! interleaved f32: a user's recording need not be converted to WAV first. WAV itself stays
//! with hound (`wav.rs`), whose errors for truncated files are the ones the tests know.

use std::io::Read;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// An opened compressed stream: its format, and samples decoded but not yet read.
pub struct Decoded {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: u32,
    pub sample_rate: u32,
    pub channels: u16,
    /// Frames the container says it holds (0 when it does not say).
    pub frames: u64,
    pending: Vec<f32>,
    taken: usize,
    ended: bool,
    /// Packets that failed to decode and were skipped (a damaged frame in an MP3).
    pub skipped: usize,
}

impl Decoded {
    /// Probes `reader` (read once, front to back: pipes work); `ext` helps the probe.
    /// `Err` is a reason in words.
    pub fn open(reader: Box<dyn Read + Send + Sync>, ext: Option<&str>) -> Result<Self, String> {
        let source =
            MediaSourceStream::new(Box::new(ReadOnlySource::new(reader)), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                source,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymError::Unsupported(_) => "not WAV, FLAC, MP3 or Ogg Vorbis audio".to_string(),
                other => other.to_string(),
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or("no audio track in it")?;
        let params = track.codec_params.clone();
        let sample_rate = params.sample_rate.ok_or("no sample rate in its header")?;
        let channels = params
            .channels
            .map(|c| c.count() as u16)
            .filter(|&c| c > 0)
            .ok_or("no channel layout in its header")?;
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| format!("its codec cannot be decoded ({e})"))?;
        Ok(Decoded {
            track: track.id,
            format,
            decoder,
            sample_rate,
            channels,
            frames: params.n_frames.unwrap_or(0),
            pending: Vec::new(),
            taken: 0,
            ended: false,
            skipped: 0,
        })
    }

    /// Appends up to `frames` frames (interleaved) to `out`; 0 at the end.
    pub fn read(&mut self, frames: usize, out: &mut Vec<f32>) -> Result<usize, String> {
        let want = frames * self.channels as usize;
        while self.pending.len() - self.taken < want && !self.ended {
            self.decode_next()?;
        }
        let have = (self.pending.len() - self.taken).min(want);
        let ch = self.channels as usize;
        let have = have / ch * ch;
        out.extend_from_slice(&self.pending[self.taken..self.taken + have]);
        self.taken += have;
        if self.taken == self.pending.len() {
            self.pending.clear();
            self.taken = 0;
        }
        Ok(have / ch)
    }

    /// Decodes the next packet of our track into `pending`, or marks the end.
    fn decode_next(&mut self) -> Result<(), String> {
        let packet = match self.format.next_packet() {
            Ok(p) => p,
            // The end of the stream, or of a chained Ogg stream's first part.
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.ended = true;
                return Ok(());
            }
            Err(SymError::ResetRequired) => {
                self.ended = true;
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        if packet.track_id() != self.track {
            return Ok(());
        }
        match self.decoder.decode(&packet) {
            Ok(audio) => {
                let mut buf = SampleBuffer::<f32>::new(audio.capacity() as u64, *audio.spec());
                buf.copy_interleaved_ref(audio);
                self.pending.extend_from_slice(buf.samples());
                Ok(())
            }
            // One damaged frame costs its few milliseconds, not the file.
            Err(SymError::DecodeError(e)) => {
                self.skipped += 1;
                tracing::warn!("skipped a packet that does not decode: {e}");
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}
