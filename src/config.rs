//! The config file (`~/.config/recorder/config.toml`, or `--config FILE`): the same settings as
//! the command line; the command line wins. Unknown keys are an error naming the file, so a
//! typo does not silently do nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::app::keys::{KeyBindings, KeyMap};
use crate::audio::segmenter::SegmenterConfig;

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
    /// Open the TUI stopped instead of recording at once (as `--idle` does).
    pub start_idle: bool,
    pub segmenter: SegmenterConfig,
    /// Live text while you speak (TUI; headless with `--interim`): interim passes over the
    /// open utterance every `interim_every_ms`.
    pub interim: bool,
    pub interim_every_ms: u64,
    /// TUI key bindings: for each action, a list of keys (see `recorder config`).
    pub keys: KeyBindings,
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
            start_idle: false,
            segmenter: SegmenterConfig::default(),
            interim: true,
            // 700 ms: tiny.en passes over a few seconds of audio take ~0.3-0.8 s on 2 cores.
            interim_every_ms: 700,
            keys: KeyBindings::default(),
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
        let cfg: Config = toml::from_str(text).map_err(|e| e.message().to_string())?;
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
        let s = &self.segmenter;
        if !(0.0..=1.0).contains(&s.end_threshold) || s.end_threshold > s.start_threshold {
            return Err("segmenter: need 0 <= end_threshold <= start_threshold <= 1".into());
        }
        if s.max_utterance_s < 2.0
            || s.split_window_s <= 0.0
            || s.split_window_s > s.max_utterance_s
        {
            return Err(
                "segmenter: need max_utterance_s >= 2 and 0 < split_window_s <= max_utterance_s"
                    .into(),
            );
        }
        KeyMap::new(&self.keys)?;
        Ok(())
    }

    /// A commented example config, for the README and `recorder config --example`.
    pub fn example() -> String {
        let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
        format!("# recorder config: every key is optional; the command line overrides it.\n{body}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
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
    fn example_round_trips() {
        let text = Config::example();
        assert_eq!(Config::parse(&text).unwrap(), Config::default());
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
