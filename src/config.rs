//! The config file (`~/.config/recorder/config.toml`, or `--config FILE`): the same settings as
//! the command line; the command line wins. Unknown keys are an error naming the file, so a
//! typo does not silently do nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod example;
pub mod keys;

use crate::audio::segmenter::SegmenterConfig;
use keys::KeyBindings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Model name (`tiny.en`) or path to a ggml file.
    pub model: String,
    /// Worker processes (each loads the model once).
    pub workers: usize,
    /// whisper threads per worker.
    pub threads: usize,
    /// Spoken language (`en`, `de`, … or `auto`); English-only models ignore it.
    pub language: Option<String>,
    /// Input device (see `recorder devices`); default: the system default input.
    pub device: Option<String>,
    /// Extra folder searched first for models and ONNX Runtime.
    pub models_dir: Option<PathBuf>,
    /// Where recording sessions are kept (default: the XDG data dir's `sessions/`).
    pub sessions_dir: Option<PathBuf>,
    /// Attempts per utterance before it is marked failed (a crashed worker is replaced).
    pub max_attempts: u32,
    /// Translate speech to English (multilingual models; English-only models ignore it).
    pub translate: bool,
    /// Names and jargon whisper should spell right ("Kubernetes", "Dashwood"): passed to it
    /// as the initial prompt of every utterance.
    pub vocabulary: Vec<String>,
    /// Each utterance is decoded with up to this many characters of the text said just
    /// before it in whisper's prompt, so a sentence that goes on after a pause goes on in
    /// case and punctuation (0: each utterance alone). `RECORDER_CONTEXT_CHARS` overrides it
    /// (for measurement).
    pub context_chars: usize,
    /// After this many seconds of silence (and at a pause or stop), the utterances since the
    /// last settle are decoded again as one piece on an idle worker and replace the first
    /// texts where whisper is surer of the whole (0: off). `RECORDER_SETTLE_PAUSE_S`
    /// overrides it (for measurement).
    pub settle_pause_s: f64,
    /// Start each utterance's final pass as soon as its end is known (a post-roll of
    /// silence after the speech), while the segmenter still waits to close it: the text
    /// comes ~0.25 s sooner. `RECORDER_SPECULATE` overrides it (for measurement: 0 off, or
    /// after how many ms of silence it starts).
    pub speculative_finals: bool,
    /// Open the TUI stopped instead of recording at once (as `--idle` does).
    pub start_idle: bool,
    /// When a recording stops, copy its text to the clipboard once the last of it is in.
    pub copy_on_stop: bool,
    pub segmenter: SegmenterConfig,
    /// Live text while you speak (TUI; headless with `--interim`): interim passes over the
    /// open utterance every `interim_every_ms`.
    pub interim: bool,
    pub interim_every_ms: u64,
    /// TUI key bindings: for each action, a list of keys (see `recorder config`).
    pub keys: KeyBindings,
    /// Worker speed and guard settings (`[tuning]`; see `protocol::Tuning`).
    pub tuning: crate::protocol::Tuning,
    /// Paragraphs and spoken commands in the exports (`[prose]`; see `prose::ProseConfig`).
    pub prose: crate::prose::ProseConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model: "tiny.en".into(),
            // Measured on 2 cores (see README): one worker with 2 threads gives the lowest
            // latency per utterance, which is what dictation waits on.
            workers: 1,
            threads: 2,
            language: None,
            device: None,
            models_dir: None,
            sessions_dir: None,
            max_attempts: 3,
            translate: false,
            vocabulary: Vec::new(),
            // Off by default: with it tiny.en reads JFK's "ask not" as "S NOT" every time
            // (tests/transcribe.rs), while it takes fragments down on the long-form eval
            // (README "Long-form dictation"). 200 is the measured setting.
            context_chars: 0,
            settle_pause_s: crate::engine::settle::DEFAULT_PAUSE_S,
            speculative_finals: true,
            start_idle: false,
            copy_on_stop: false,
            segmenter: SegmenterConfig::default(),
            interim: true,
            // 700 ms: tiny.en passes over a few seconds of audio take ~0.3-0.8 s on 2 cores.
            interim_every_ms: 700,
            keys: KeyBindings::default(),
            tuning: crate::protocol::Tuning::default(),
            prose: crate::prose::ProseConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file '{path}' is invalid: {message}")]
    Parse { path: PathBuf, message: String },
}

impl Config {
    /// Loads `path`, or the default config file if it exists, or the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (path, must_exist) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => match crate::paths::config_file() {
                Some(p) => (p, false),
                None => return Ok(Config::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                return Ok(Config::default());
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::parse(&text).map_err(|message| ConfigError::Parse { path, message })
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| with_key(text, &e))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.workers == 0 || self.workers > 64 {
            return Err(format!("workers must be 1..=64, not {}", self.workers));
        }
        if self.threads == 0 || self.threads > 256 {
            return Err(format!("threads must be 1..=256, not {}", self.threads));
        }
        if self.max_attempts == 0 {
            return Err("max_attempts must be at least 1".into());
        }
        // whisper.cpp keeps at most 223 prompt tokens and drops the start of a longer prompt.
        let prompt_chars: usize = self.vocabulary.iter().map(|w| w.len() + 2).sum();
        if prompt_chars > 600 {
            return Err(format!(
                "vocabulary is {prompt_chars} characters; keep it under 600 (whisper reads at most ~220 tokens of it)"
            ));
        }
        // The context comes after the vocabulary, and whisper.cpp drops a long prompt's start.
        if self.context_chars > 400 {
            return Err(format!(
                "context_chars must be 0..=400, not {} (whisper reads at most ~220 tokens of prompt, the vocabulary included)",
                self.context_chars
            ));
        }
        if !(self.settle_pause_s == 0.0 || (0.5..=60.0).contains(&self.settle_pause_s)) {
            return Err(format!(
                "settle_pause_s must be 0 (off) or 0.5..=60 seconds, not {}",
                self.settle_pause_s
            ));
        }
        if let Some(lang) = &self.language {
            check_language(lang)?;
        }
        validate_segmenter(&self.segmenter)?;
        self.keys.parsed()?;
        Ok(())
    }

    /// A commented example config, for the README and `recorder config --example`.
    pub fn example() -> String {
        Config::default().example_of()
    }
}

/// `key = 0.3499999940395355` (an f32 widened to f64 by toml) as `key = 0.35`: the shortest
/// text that reads back as the same f32. Other lines are left as they are.
fn short_float(line: &str) -> String {
    let Some((key, value)) = line.split_once(" = ") else {
        return line.to_string();
    };
    match value.parse::<f64>() {
        Ok(v) if value.contains('.') && v.is_finite() => format!("{key} = {:?}", v as f32),
        _ => line.to_string(),
    }
}

/// A toml error as one line that names the key (`workers = "two"` said only "invalid type:
/// string \"two\", expected usize"): `workers: invalid type: … (line 1)`.
fn with_key(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return message;
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count();
    let lines: Vec<&str> = text.lines().collect();
    let Some(line) = lines.get(line_no) else {
        return message;
    };
    let table = lines[..line_no].iter().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix('[')?.strip_suffix(']').map(str::trim)
    });
    match line.split_once('=').map(|(k, _)| k.trim()) {
        Some(key) if !key.is_empty() && !key.starts_with('[') => {
            let key = match table {
                Some(t) => format!("{t}.{key}"),
                None => key.to_string(),
            };
            format!("{key}: {message} (line {})", line_no + 1)
        }
        _ => format!("{message} (line {})", line_no + 1),
    }
}

/// `auto`, or a language whisper knows (`en`, `de`, `german` …).
fn check_language(lang: &str) -> Result<(), String> {
    // By the table, not `whisper_lang_id`: that prints to stderr on an unknown name.
    let known = (0..=whisper_rs::get_lang_max_id()).any(|id| {
        whisper_rs::get_lang_str(id) == Some(lang)
            || whisper_rs::get_lang_str_full(id).is_some_and(|f| f.eq_ignore_ascii_case(lang))
    });
    if lang == "auto" || known {
        return Ok(());
    }
    Err(format!(
        "language '{}' is not one whisper knows; use a code such as en, de, fr, or auto",
        crate::inert::inert_line(lang)
    ))
}

/// Ranges outside which the segmenter would cut nothing, everything, or forever (each
/// found with a config that "worked" and transcribed nothing: `start_threshold = 2.0`,
/// `nan`, `end_silence_ms = 0`, `max_utterance_s = nan`).
fn validate_segmenter(s: &SegmenterConfig) -> Result<(), String> {
    let unit = |name: &str, v: f32| {
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(format!(
                "segmenter.{name} must be a probability in 0..=1, not {v}"
            ))
        }
    };
    unit("start_threshold", s.start_threshold)?;
    unit("end_threshold", s.end_threshold)?;
    unit("weak_threshold", s.weak_threshold)?;
    if s.start_threshold <= 0.0 {
        return Err("segmenter.start_threshold must be above 0 (0 calls silence speech)".into());
    }
    if s.end_threshold > s.start_threshold || s.weak_threshold > s.end_threshold {
        return Err("segmenter: need weak_threshold <= end_threshold <= start_threshold".into());
    }
    let ms = |name: &str, v: u32, lo: u32, hi: u32| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(format!("segmenter.{name} must be {lo}..={hi} ms, not {v}"))
        }
    };
    // One VAD chunk is 32 ms: less silence than two chunks cannot be told from a dip.
    ms("end_silence_ms", s.end_silence_ms, 64, 10_000)?;
    ms("pre_roll_ms", s.pre_roll_ms, 0, 2_000)?;
    ms("post_roll_ms", s.post_roll_ms, 0, 2_000)?;
    if s.sentence_end_ms != 0 {
        ms("sentence_end_ms", s.sentence_end_ms, 64, s.end_silence_ms)?;
    }
    ms("min_speech_ms", s.min_speech_ms, 0, 5_000)?;
    ms("min_evidence_ms", s.min_evidence_ms, 0, 5_000)?;
    let secs = |name: &str, v: f32, lo: f32, hi: f32| {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(format!("segmenter.{name} must be {lo}..={hi} s, not {v}"))
        }
    };
    secs("max_utterance_s", s.max_utterance_s, 2.0, 600.0)?;
    secs("split_window_s", s.split_window_s, 0.5, s.max_utterance_s)?;
    if s.split_overlap_ms as f32 >= s.split_window_s * 1000.0 {
        return Err("segmenter.split_overlap_ms must be shorter than split_window_s".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn worker_tuning_is_a_table_of_its_own() {
        let c = Config::parse("[tuning]\nguards = \"none\"\nmemory_mb = 900").unwrap();
        assert_eq!(c.tuning.guards, "none");
        assert_eq!(c.tuning.memory_mb, 900);
        assert!(
            c.tuning.adaptive_threads,
            "unnamed settings keep their defaults"
        );
        assert!(Config::parse("[tuning]\nflash = true").is_err());
    }

    #[test]
    fn partial_file_overrides_only_its_keys() {
        let c = Config::parse("workers = 2\n[segmenter]\nend_silence_ms = 800\n").unwrap();
        assert_eq!(c.workers, 2);
        assert_eq!(c.threads, Config::default().threads);
        assert_eq!(c.segmenter.end_silence_ms, 800);
        assert_eq!(
            c.segmenter.pre_roll_ms,
            SegmenterConfig::default().pre_roll_ms
        );
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        assert!(Config::parse("wokers = 2").unwrap_err().contains("wokers"));
        assert!(Config::parse("workers = 0").is_err());
        assert!(Config::parse("[segmenter]\nstart_threshold = 0.2\nend_threshold = 0.5").is_err());
    }

    #[test]
    fn configs_that_would_transcribe_nothing_are_refused_naming_the_key() {
        for (text, key) in [
            ("[segmenter]\nstart_threshold = 2.0", "start_threshold"),
            ("[segmenter]\nstart_threshold = nan", "start_threshold"),
            ("[segmenter]\nend_silence_ms = 0", "end_silence_ms"),
            ("[segmenter]\nmax_utterance_s = nan", "max_utterance_s"),
            ("[segmenter]\nfoo = 1", "segmenter.foo"),
            ("workers = \"two\"", "workers"),
            (
                "model = \"tiny.en\"\n[segmenter]\npre_roll_ms = \"x\"",
                "segmenter.pre_roll_ms",
            ),
            ("language = \"klingon\"", "klingon"),
        ] {
            let err = Config::parse(text).unwrap_err();
            assert!(err.contains(key), "{text:?} gave {err:?}");
            assert_eq!(err.lines().count(), 1, "{err:?}");
        }
        assert!(Config::parse("language = \"de\"").is_ok());
        assert!(Config::parse("language = \"auto\"").is_ok());
        assert!(Config::parse("language = \"german\"").is_ok());
    }

    #[test]
    fn example_round_trips() {
        let text = Config::example();
        assert_eq!(Config::parse(&text).unwrap(), Config::default());
        // Thresholds as written, not as f32 widened to f64 ("0.3499999940395355").
        assert!(text.contains("end_threshold = 0.35\n"), "{text}");
        assert!(text.contains("settle_pause_s = 2.0\n"), "{text}");
    }

    #[test]
    fn vocabulary_and_translate() {
        let c = Config::parse("translate = true\nvocabulary = [\"Dashwood\", \"Kubernetes\"]\n")
            .unwrap();
        assert!(c.translate);
        assert_eq!(c.vocabulary, ["Dashwood", "Kubernetes"]);
        let long = format!("vocabulary = [{}]", vec!["\"abcdefghij\""; 60].join(","));
        assert!(Config::parse(&long).unwrap_err().contains("vocabulary"));
    }

    #[test]
    fn missing_explicit_file_names_it() {
        let e = Config::load(Some(Path::new("/nonexistent/recorder.toml"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/recorder.toml"));
    }
}
