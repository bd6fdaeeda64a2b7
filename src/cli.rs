//! Command-line interface. Every option also has a config-file key (see `config.rs`); the
//! command line wins.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

const EXAMPLES: &str = "\
Examples:
  recorder                          record from the default microphone in the TUI
  recorder --headless               print each utterance's text as a line on stdout
  recorder --headless --json        one JSON object per utterance (id, start, end, text, timings)
  recorder --input talk.wav         play a WAV through the pipeline as if it were the mic
  recorder transcribe a.wav b.wav   transcribe files (VAD-cut, worker pool) and print the text
  recorder devices                  list input devices and whether they can be opened
  recorder models list              show installed models
  recorder models import-ct2 DIR    convert a faster-whisper (CTranslate2) model to ggml
";

#[derive(Debug, Parser)]
#[command(name = "recorder", version, about = "Local dictation in the terminal: talk, and read what you said.", after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of the live recorder (TUI or headless).
#[derive(Debug, Args, Default, Clone)]
pub struct RunArgs {
    /// No UI: print one line per finished utterance on stdout.
    #[arg(long)]
    pub headless: bool,
    /// With --headless or `transcribe`: one JSON object per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// Play this WAV through the pipeline instead of the microphone (real-time pace).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// With --input: as fast as possible instead of real-time pace.
    #[arg(long, requires = "input")]
    pub fast: bool,
}

/// Options shared by every command that transcribes.
#[derive(Debug, Args, Default, Clone)]
pub struct CommonArgs {
    /// Input device name or id (see `recorder devices`).
    #[arg(long, global = true, value_name = "NAME")]
    pub device: Option<String>,
    /// Model name (e.g. tiny.en) or path to a ggml model file.
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub model: Option<String>,
    /// Worker processes.
    #[arg(long, global = true, value_name = "N")]
    pub workers: Option<usize>,
    /// whisper threads per worker.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Spoken language (en, de, …, or auto).
    #[arg(long, global = true, value_name = "LANG")]
    pub language: Option<String>,
    /// Config file (default: ~/.config/recorder/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Extra folder searched first for models and ONNX Runtime.
    #[arg(long, global = true, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transcribe WAV files through the same VAD and worker pool; exits non-zero if any failed.
    Transcribe {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// List input devices, the default marked, and whether each can be opened.
    Devices,
    /// Manage whisper models.
    Models {
        #[command(subcommand)]
        action: ModelsCommand,
    },
    /// Print an example config file with every key and its default.
    Config,
    /// (internal) A transcription worker process speaking the framed protocol on stdin/stdout.
    #[command(hide = true)]
    Worker {
        /// The ggml model file.
        #[arg(long)]
        ggml: PathBuf,
        #[arg(long, default_value_t = 2)]
        n_threads: usize,
        #[arg(long)]
        lang: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Models found in the model folders.
    List,
    /// Download a published ggml model (e.g. tiny.en, base.en, small) from the whisper.cpp
    /// project, with a checksum check; needs internet.
    Install {
        name: String,
        /// Where to put it (default: the XDG data dir's models folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Convert a CTranslate2 (faster-whisper) float16/float32 Whisper model folder to ggml.
    ImportCt2 {
        dir: PathBuf,
        /// Model name to install it as (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// Where to write ggml-NAME.bin (default: the XDG data dir's models folder).
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
}

impl CommonArgs {
    /// The config with the command-line overrides applied.
    pub fn apply(&self, mut cfg: Config) -> Result<Config, String> {
        if let Some(m) = &self.model {
            cfg.model = m.clone();
        }
        if let Some(w) = self.workers {
            cfg.workers = w;
        }
        if let Some(t) = self.threads {
            cfg.threads = t;
        }
        if let Some(l) = &self.language {
            cfg.language = Some(l.clone());
        }
        if let Some(d) = &self.device {
            cfg.device = Some(d.clone());
        }
        if let Some(d) = &self.models_dir {
            cfg.models_dir = Some(d.clone());
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn overrides_beat_config() {
        let cli = Cli::parse_from(["recorder", "--workers", "3", "--model", "base"]);
        let cfg = cli.common.apply(Config::default()).unwrap();
        assert_eq!(cfg.workers, 3);
        assert_eq!(cfg.model, "base");
        assert_eq!(cfg.threads, Config::default().threads);
    }

    #[test]
    fn options_work_after_subcommands() {
        let cli = Cli::parse_from([
            "recorder",
            "transcribe",
            "a.wav",
            "--json",
            "--threads",
            "1",
        ]);
        assert!(cli.run.json);
        assert_eq!(cli.common.threads, Some(1));
    }

    #[test]
    fn invalid_override_is_rejected() {
        let cli = Cli::parse_from(["recorder", "--workers", "0"]);
        assert!(cli.common.apply(Config::default()).is_err());
    }
}
