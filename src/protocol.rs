//! The worker protocol and the vocabulary both sides share (and the journal stores):
//! [`Segment`], [`Timings`], [`Transcript`].
//!
//! One JSON object per line on the worker's stdin (requests) and on its
//! private protocol pipe, its original stdout (responses). The worker first sends `Hello` with
//! [`PROTOCOL_VERSION`]; a parent that gets another version (an old binary on PATH, say)
//! refuses the worker. EOF on stdin ends the worker.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::vocab::{Hints, Span, UtteranceId};

/// Bump on any incompatible change to the messages below.
pub const PROTOCOL_VERSION: u32 = 2;

/// A response line longer than this is garbage (a result is a few KB at most).
pub const MAX_LINE: usize = 4 << 20;

/// One piece of a transcript with times relative to the utterance start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    pub no_speech_prob: f32,
    /// Mean log-probability of the segment's text tokens (whisper's confidence; below -1 is
    /// unsure). 0 from workers that do not send it.
    #[serde(default)]
    pub avg_logprob: f32,
    /// Text tokens decoded for this segment (timestamps and special tokens excluded).
    #[serde(default)]
    pub tokens: u32,
}

impl Segment {
    /// Joins segment texts with single spaces.
    pub fn join(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Where the time went for one utterance, all in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// From the utterance being queued to a worker taking it.
    pub queue_ms: f64,
    /// whisper.cpp's own encoder time.
    pub encode_ms: f64,
    /// whisper.cpp's own decoder time (sampling + batched decode + prompt).
    pub decode_ms: f64,
    /// Wall time inside the worker for this job (read WAV + mel + encode + decode).
    pub worker_ms: f64,
    /// From the segmenter closing the utterance to the text being ready.
    pub total_ms: f64,
    /// How many workers tried this job (1 when nothing went wrong).
    pub attempts: u32,
    /// The text is a speculative final's, decoded before the utterance closed (then
    /// `total_ms` is only the wait for that pass to end; see `pool/speculate.rs`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub speculative: bool,
}

/// The final text of one utterance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub id: UtteranceId,
    /// Seconds from the start of the session (or file); flat in JSON (`start_s`, `end_s`).
    #[serde(flatten)]
    pub span: Span,
    pub text: String,
    pub segments: Vec<Segment>,
    /// Highest no-speech probability over the segments (whisper's own estimate).
    pub no_speech_prob: f32,
    pub timings: Timings,
}

/// What to decode, beyond the model: set once per worker from the config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeOptions {
    /// Spoken language (`en`, `de`, …); `None` or `auto` detects it (multilingual models).
    pub language: Option<String>,
    /// Translate to English instead of transcribing (multilingual models only).
    pub translate: bool,
    /// Names and jargon, given to whisper as the initial prompt so it spells them right.
    pub vocabulary: Vec<String>,
    /// Speed and guard settings.
    pub tuning: Tuning,
}

/// A worker's speed and guard settings: the config's `[tuning]` table, each overridden by
/// the `RECORDER_*` variable named with it (for measurement: `make bench` switches levers
/// this way). The parent resolves them; the worker gets them as one JSON argument and reads
/// no environment of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tuning {
    /// Which guards run: empty or `default`, `all`, `none`, or names, `-name` to turn one off
    /// (`RECORDER_GUARDS`; see `worker/guards.rs`).
    pub guards: String,
    /// The encoder window: empty or `auto` (sized to the utterance), `full`, or
    /// `MARGIN[,FLOOR]` in positions (`RECORDER_AUDIO_CTX`).
    pub audio_ctx: String,
    /// whisper.cpp's flash attention (`RECORDER_FLASH_ATTN=1`).
    pub flash_attn: bool,
    /// Fewer whisper threads while another process keeps a core busy
    /// (`RECORDER_ADAPTIVE_THREADS=0` turns it off).
    pub adaptive_threads: bool,
    /// The full-window re-check: empty for the default limit, `off`, or a log-probability
    /// (`RECORDER_RECHECK`).
    pub recheck: String,
    /// The worker's address-space cap in MiB; 0: 4 GiB plus 3× the model
    /// (`RECORDER_WORKER_MEMORY_MB`).
    pub memory_mb: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            guards: String::new(),
            audio_ctx: String::new(),
            flash_attn: false,
            adaptive_threads: true,
            recheck: String::new(),
            memory_mb: 0,
        }
    }
}

impl Tuning {
    /// These settings with the `RECORDER_*` overrides that are set.
    pub fn with_env(mut self) -> Tuning {
        let var = |name: &str| std::env::var(name).ok();
        if let Some(v) = var("RECORDER_GUARDS") {
            self.guards = v;
        }
        if let Some(v) = var("RECORDER_AUDIO_CTX") {
            self.audio_ctx = v;
        }
        if let Some(v) = var("RECORDER_FLASH_ATTN") {
            self.flash_attn = v == "1";
        }
        if let Some(v) = var("RECORDER_ADAPTIVE_THREADS") {
            self.adaptive_threads = v != "0";
        }
        if let Some(v) = var("RECORDER_RECHECK") {
            self.recheck = v;
        }
        if let Some(mb) = var("RECORDER_WORKER_MEMORY_MB").and_then(|v| v.parse().ok()) {
            self.memory_mb = mb;
        }
        self
    }
}

impl DecodeOptions {
    /// The worker's command-line arguments for these options (see `recorder worker`).
    pub fn worker_args(&self) -> Vec<std::ffi::OsString> {
        let mut args = Vec::new();
        if self.translate {
            args.push("--translate".into());
        }
        for word in &self.vocabulary {
            args.push("--vocabulary".into());
            args.push(word.into());
        }
        if self.tuning != Tuning::default() {
            args.push("--tuning".into());
            args.push(
                serde_json::to_string(&self.tuning)
                    .unwrap_or_default()
                    .into(),
            );
        }
        args
    }

    /// The initial prompt: whisper continues the style and spelling of what it is shown, so
    /// a plain comma-separated list of the words works (whisper's docs: "glossary" prompts).
    /// `context`, the text said just before, comes last: nearest to the audio, it is what
    /// whisper continues (case and punctuation of a sentence that goes on after a pause).
    pub fn prompt(&self, context: Option<&str>) -> Option<String> {
        let words: Vec<&str> = self
            .vocabulary
            .iter()
            .map(|w| w.trim())
            .filter(|w| !w.is_empty())
            .collect();
        let glossary = (!words.is_empty()).then(|| format!("{}.", words.join(", ")));
        let context = context.map(str::trim).filter(|c| !c.is_empty());
        match (glossary, context) {
            (Some(g), Some(c)) => Some(format!("{g} {c}")),
            (g, c) => g.or_else(|| c.map(String::from)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Transcribe the 16 kHz mono WAV at `wav`. An `interim` job (a snapshot of an utterance
    /// still being spoken) may be cut short by SIGUSR1 when a final job needs the worker.
    Job {
        id: UtteranceId,
        /// Any path, UTF-8 or not ([`os_path`]).
        #[serde(with = "os_path")]
        wav: PathBuf,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        interim: bool,
        /// The VAD's evidence and, for an overlapped split, which words to keep.
        #[serde(default)]
        hints: Hints,
        /// The text said just before (bounded by the parent), for whisper's prompt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<String>,
        /// A settle pass (`engine::settle`, also interruptible): decoded on the full window.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        settle: bool,
        /// A final pass whose text is unsure on a shortened window answers at once, marked
        /// `unsure`, instead of decoding again on the full window: a settle pass does that
        /// later, off the critical path (the parent sets it when the settle pass is on).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        defer_recheck: bool,
        /// A speculative final (`pool::speculate`): decoded as a final pass, but cut short by
        /// SIGUSR1 when the speaker goes on. An interrupted pass answers `error`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        speculative: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Sent once the model is loaded: the worker is ready.
    Hello {
        version: u32,
        pid: u32,
        model: String,
        multilingual: bool,
        load_ms: f64,
    },
    Done {
        id: UtteranceId,
        text: String,
        segments: Vec<Segment>,
        no_speech_prob: f32,
        encode_ms: f64,
        decode_ms: f64,
        worker_ms: f64,
        /// The full-window re-check was due and deferred (`defer_recheck`): a settle pass
        /// should decode this utterance again.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unsure: bool,
    },
    /// The job failed in a way that retrying on the same audio will not fix (unreadable WAV).
    Error { id: UtteranceId, message: String },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtocolError {
    #[error("worker sent a malformed message ({reason}): {snippet:?}")]
    Malformed { reason: String, snippet: String },
    #[error("worker speaks protocol version {got}, this recorder speaks {PROTOCOL_VERSION}")]
    Version { got: u32 },
}

/// A path as JSON without loss: a string when it is UTF-8, else its bytes as an array. A data
/// folder named with a non-UTF-8 byte (`XDG_DATA_HOME=$'data\xff'`) made `encode` panic and
/// the run hang.
mod os_path {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
        match p.to_str() {
            Some(text) => text.serialize(s),
            None => p.as_os_str().as_bytes().serialize(s),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(match Either::deserialize(d)? {
            Either::Text(t) => PathBuf::from(t),
            Either::Bytes(b) => PathBuf::from(OsString::from_vec(b)),
        })
    }
}

pub fn encode<T: Serialize>(msg: &T) -> String {
    let mut s = serde_json::to_string(msg).expect("protocol messages always serialise");
    s.push('\n');
    s
}

fn malformed(line: &str, reason: String) -> ProtocolError {
    let snippet: String = line.chars().take(120).collect();
    ProtocolError::Malformed { reason, snippet }
}

pub fn decode_response(line: &str) -> Result<Response, ProtocolError> {
    if line.len() > MAX_LINE {
        return Err(malformed(line, format!("{} bytes", line.len())));
    }
    let resp: Response =
        serde_json::from_str(line.trim_end()).map_err(|e| malformed(line, e.to_string()))?;
    if let Response::Hello { version, .. } = resp
        && version != PROTOCOL_VERSION
    {
        return Err(ProtocolError::Version { got: version });
    }
    Ok(resp)
}

pub fn decode_request(line: &str) -> Result<Request, ProtocolError> {
    serde_json::from_str(line.trim_end()).map_err(|e| malformed(line, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_travels_as_one_argument_and_only_when_set() {
        let plain = DecodeOptions::default();
        assert!(!plain.worker_args().iter().any(|a| a == "--tuning"));
        let tuned = DecodeOptions {
            tuning: Tuning {
                guards: "-tags".into(),
                memory_mb: 512,
                adaptive_threads: false,
                ..Tuning::default()
            },
            ..DecodeOptions::default()
        };
        let args = tuned.worker_args();
        let at = args.iter().position(|a| a == "--tuning").unwrap();
        let json = args[at + 1].to_str().unwrap();
        let back: Tuning = serde_json::from_str(json).unwrap();
        assert_eq!(back, tuned.tuning);
        // Unknown settings are refused, not ignored.
        assert!(serde_json::from_str::<Tuning>(r#"{"gaurds": "none"}"#).is_err());
    }

    #[test]
    fn round_trip() {
        let r = Response::Done {
            id: UtteranceId(7),
            text: "hello \"world\"\nnew line".into(),
            segments: vec![Segment {
                start_s: 0.0,
                end_s: 1.5,
                text: "hello".into(),
                no_speech_prob: 0.1,
                avg_logprob: -0.25,
                tokens: 2,
            }],
            no_speech_prob: 0.1,
            encode_ms: 1.0,
            decode_ms: 2.0,
            worker_ms: 3.0,
            unsure: true,
        };
        let line = encode(&r);
        assert_eq!(line.matches('\n').count(), 1, "one frame per line");
        assert_eq!(decode_response(&line).unwrap(), r);
        let q = Request::Job {
            id: UtteranceId(3),
            wav: "/tmp/a b.wav".into(),
            interim: true,
            context: Some("And so my fellow Americans.".into()),
            settle: true,
            defer_recheck: true,
            speculative: true,
            hints: Hints {
                voiced_ms: 640,
                vad_sure: true,
                keep_from_s: Some(1.0),
                keep_to_s: None,
            },
        };
        assert_eq!(decode_request(&encode(&q)).unwrap(), q);
    }

    #[test]
    fn garbage_and_wrong_version_are_errors() {
        for bad in [
            "",
            "whisper_init_from_file: loading model",
            "{\"type\":\"nope\"}",
            "{",
            "[1,2]",
        ] {
            assert!(
                matches!(decode_response(bad), Err(ProtocolError::Malformed { .. })),
                "{bad}"
            );
        }
        let hello = encode(&Response::Hello {
            version: PROTOCOL_VERSION + 1,
            pid: 1,
            model: "m".into(),
            multilingual: false,
            load_ms: 0.0,
        });
        assert_eq!(
            decode_response(&hello),
            Err(ProtocolError::Version {
                got: PROTOCOL_VERSION + 1
            })
        );
        let huge = "x".repeat(MAX_LINE + 1);
        assert!(decode_response(&huge).is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    /// Mutated and truncated frames and random bytes: decoding answers Ok or Err, never panics.
    #[test]
    fn mutated_frames_never_panic() {
        let good = encode(&Response::Done {
            id: UtteranceId(1),
            text: "hello".into(),
            segments: vec![],
            no_speech_prob: 0.0,
            encode_ms: 1.0,
            decode_ms: 1.0,
            worker_ms: 2.0,
            unsure: false,
        });
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..5000 {
            let mut bytes = good.clone().into_bytes();
            match round % 3 {
                0 => {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = next() as u8;
                }
                1 => bytes.truncate((next() % bytes.len() as u64) as usize),
                _ => bytes = (0..next() % 200).map(|_| next() as u8).collect(),
            }
            let line = String::from_utf8_lossy(&bytes);
            let _ = decode_response(&line);
            let _ = decode_request(&line);
        }
    }

    #[test]
    fn a_path_that_is_not_utf8_crosses_losslessly() {
        use std::os::unix::ffi::OsStrExt;
        let wav = PathBuf::from(std::ffi::OsStr::from_bytes(b"/data\xff/utt-000001.wav"));
        let r = Request::Job {
            id: UtteranceId(1),
            wav: wav.clone(),
            interim: false,
            hints: Hints::default(),
            context: None,
            settle: false,
            defer_recheck: false,
            speculative: false,
        };
        let line = encode(&r);
        assert_eq!(decode_request(&line).unwrap(), r);
        let plain = Request::Job {
            id: UtteranceId(2),
            wav: "/data/x.wav".into(),
            interim: false,
            hints: Hints::default(),
            context: None,
            settle: false,
            defer_recheck: false,
            speculative: false,
        };
        assert!(
            encode(&plain).contains("\"/data/x.wav\""),
            "UTF-8 paths stay strings"
        );
    }
}
