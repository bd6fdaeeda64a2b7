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
    /// Model and worker options of the live recorder; each subcommand that transcribes takes
    /// them too (after its name), and those win.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Config file (default: ~/.config/recorder/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Options of the live recorder (TUI or headless).
#[derive(Debug, Args, Default, Clone)]
pub struct RunArgs {
    /// No UI: print one line per finished utterance on stdout.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: one JSON object per line.
    #[arg(long, requires = "headless")]
    pub json: bool,
    /// Input device name or id (see `recorder devices`).
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// Play this WAV through the pipeline instead of the microphone (real-time pace); `-`
    /// reads standard input, pipes and FIFOs work.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// With --input: as fast as possible instead of real-time pace.
    #[arg(long, requires = "input")]
    pub fast: bool,
    /// With --headless --json: also emit interim text while an utterance is being spoken
    /// (`"kind":"interim"` lines before its final line).
    #[arg(long, requires = "json")]
    pub interim: bool,
    /// Open the TUI stopped: recording starts with `r` (config: `start_idle = true`).
    #[arg(long, conflicts_with = "headless")]
    pub idle: bool,
    /// With --headless --input: keep the run as a session (listed by `recorder sessions`);
    /// the microphone and the TUI always do.
    #[arg(long, requires = "input")]
    pub keep: bool,
}

/// Options of every command that runs whisper: the model and the worker pool.
#[derive(Debug, Args, Default, Clone)]
pub struct EngineArgs {
    /// Model name (e.g. tiny.en) or path to a ggml model file.
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<String>,
    /// Worker processes.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// whisper threads per worker.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Spoken language (en, de, …, or auto).
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
    /// Extra folder searched first for models and ONNX Runtime.
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Translate speech to English (multilingual models such as base; not *.en).
    #[arg(long)]
    pub translate: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transcribe audio files through the same VAD and worker pool; exits non-zero if any failed.
    Transcribe {
        /// Audio files (WAV, FLAC, MP3, Ogg Vorbis; any rate, any channels).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// One JSON object per utterance (and one with empty text for a file with no speech).
        #[arg(long)]
        json: bool,
        /// Keep the run as a session (listed by `recorder sessions`).
        #[arg(long)]
        keep: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// List the input devices that can be opened, the default marked (`--all`: every one).
    Devices {
        /// Also list the devices that cannot be opened (ALSA's plugins: jack, oss, upmix…),
        /// each with why.
        #[arg(long)]
        all: bool,
        /// One JSON array of {id, name, default, current, usable, format, error}.
        #[arg(long)]
        json: bool,
        /// Mark this device as the one in use (default: the config's `device`).
        #[arg(long, value_name = "NAME")]
        device: Option<String>,
    },
    /// Manage whisper models.
    Models {
        #[command(subcommand)]
        action: ModelsCommand,
    },
    /// Recorded sessions: list, show, export, and resume interrupted ones.
    Sessions {
        #[command(subcommand)]
        action: SessionsCommand,
    },
    /// Word error rate on a manifest of clips with references (e.g. ../shared/eval/manifest.tsv),
    /// through the real VAD and workers; also counts words produced on non-speech clips.
    Eval {
        #[command(flatten)]
        args: EvalArgs,
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Benchmarks: utterance latency, the audio path under load, the report (`make bench`).
    Bench {
        #[command(subcommand)]
        what: crate::bench::BenchCommand,
        /// Results as JSON.
        #[arg(long, global = true)]
        json: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Print a config file with every key, its value (the defaults, or the file's with
    /// --config) and what it does.
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
        /// A word for the initial prompt (repeatable; see `vocabulary` in the config).
        #[arg(long)]
        vocabulary: Vec<String>,
        /// Speed and guard settings as JSON (`protocol::Tuning`; the parent resolves them).
        #[arg(long)]
        tuning: Option<String>,
        /// Translate to English.
        #[arg(long)]
        translate: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Every session, newest last: start, length, input, state and its first words.
    List,
    /// A session's transcript with times.
    Show {
        /// The session: its folder name, a unique prefix of it, or `last` (the newest).
        id: String,
    },
    /// Write a session's transcript in a format (to stdout, or --out FILE).
    Export {
        /// The session: its folder name, a unique prefix of it, or `last` (the newest).
        id: String,
        /// txt: text; md: Markdown with a heading; srt and vtt: subtitles; json: every
        /// utterance with its times.
        #[arg(long, default_value = "txt", value_parser = ["txt", "md", "srt", "vtt", "json"])]
        format: String,
        /// Write here instead of to stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Transcribe every utterance of a session that has audio but no text (after a crash).
    Resume {
        /// The session: its folder name, a unique prefix of it, or `last` (the newest).
        id: String,
        /// Also transcribe what the segmenter discarded as having almost no speech in it
        /// (clicks, mostly; each kept as `discard-*.wav` in the session folder).
        #[arg(long)]
        discarded: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

/// `recorder eval`: see `src/eval/`.
#[derive(Debug, Args, Clone, Default)]
pub struct EvalArgs {
    /// Tab-separated manifest: file, duration_s, transcript, … (an empty transcript marks a
    /// non-speech clip).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Only N clips, spread over the manifest (speech and non-speech in proportion).
    #[arg(long, value_name = "N", conflicts_with = "clips")]
    pub subset: Option<usize>,
    /// Only these clips (file names without .wav, comma-separated).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub clips: Vec<String>,
    /// Play every clip this many dB louder (negative: quieter, e.g. -30).
    #[arg(
        long,
        value_name = "DB",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub gain_db: f32,
    /// Also run generated white, pink and brown noise, mains hum and silence, this many
    /// seconds each (non-speech: the right output is nothing).
    #[arg(long, value_name = "SECONDS")]
    pub noise: Option<f32>,
    /// Send whole clips to whisper without VAD cutting (to measure the other guards alone).
    #[arg(long)]
    pub no_vad: bool,
    /// Run every clip whole and then with each number of samples of silence in front
    /// (e.g. 0,128,256,384): words lost or changed against whole-clip whisper.
    #[arg(
        long,
        value_name = "N,M",
        value_delimiter = ',',
        conflicts_with = "no_vad"
    )]
    pub shifts: Vec<usize>,
    /// Cut the speech clips at word boundaries into pieces of 1-4 words and count how many
    /// the pipeline (VAD and guards) keeps.
    #[arg(long, conflicts_with = "shifts")]
    pub short: bool,
    /// Join clips into two long recordings (one reader; mixed speakers) with pauses between
    /// them and score each as one text: word error rate and sentence breaks not in the
    /// reference (with --no-vad: each recording whole).
    #[arg(long, conflicts_with_all = ["shifts", "short"])]
    pub long_form: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Models found in the model folders; `*` marks the file that `--model` (config `model`)
    /// loads.
    List {
        /// One JSON array of {name, path, bytes, selected}.
        #[arg(long)]
        json: bool,
        /// Mark what this model name loads instead of the config's.
        #[arg(long, value_name = "NAME|PATH")]
        model: Option<String>,
        /// Extra folder searched first.
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
    },
    /// Download a published ggml model (e.g. tiny.en, base.en, small) from the whisper.cpp
    /// project, with a checksum check; needs internet.
    Install {
        /// A published model: tiny, tiny.en, base, base.en, small, small.en, …
        name: String,
        /// Where to put it (default: the XDG data dir's models folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Convert a CTranslate2 (faster-whisper) float16/float32 Whisper model folder to ggml.
    ImportCt2 {
        /// The CTranslate2 model folder (model.bin, config.json, vocabulary…).
        dir: PathBuf,
        /// Model name to install it as (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// Where to write ggml-NAME.bin (default: the XDG data dir's models folder).
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Weight matrices as `q8_0` (8-bit blocks: half the size, faster on CPUs; see README
        /// "Speed") instead of `f16`.
        #[arg(long, value_name = "FORMAT", default_value = "f16", value_parser = ["f16", "q8_0"])]
        quantize: String,
    },
}

impl EngineArgs {
    /// These options over `outer` (given before the subcommand's name): each one set here
    /// wins.
    pub fn over(self, outer: &EngineArgs) -> EngineArgs {
        EngineArgs {
            model: self.model.or_else(|| outer.model.clone()),
            workers: self.workers.or(outer.workers),
            threads: self.threads.or(outer.threads),
            language: self.language.or_else(|| outer.language.clone()),
            models_dir: self.models_dir.or_else(|| outer.models_dir.clone()),
            translate: self.translate || outer.translate,
        }
    }

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
        if let Some(d) = &self.models_dir {
            cfg.models_dir = Some(d.clone());
        }
        if self.translate {
            cfg.translate = true;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

impl Cli {
    /// The engine options in effect: the subcommand's over those before its name.
    pub fn engine_args(&self) -> EngineArgs {
        let inner = match &self.command {
            Some(
                Command::Transcribe { engine, .. }
                | Command::Eval { engine, .. }
                | Command::Bench { engine, .. }
                | Command::Sessions {
                    action: SessionsCommand::Resume { engine, .. },
                },
            ) => engine.clone(),
            Some(Command::Models {
                action:
                    ModelsCommand::List {
                        model, models_dir, ..
                    },
            }) => EngineArgs {
                model: model.clone(),
                models_dir: models_dir.clone(),
                ..EngineArgs::default()
            },
            _ => EngineArgs::default(),
        };
        inner.over(&self.engine)
    }

    /// The device named on the command line (`recorder --device` or `devices --device`).
    pub fn device(&self) -> Option<String> {
        match &self.command {
            Some(Command::Devices {
                device: Some(d), ..
            }) => Some(d.clone()),
            _ => self.run.device.clone(),
        }
    }

    /// The config file, the command line's settings over it.
    pub fn config(&self) -> Result<Config, crate::config::ConfigError> {
        let mut cfg = Config::load(self.config.as_deref())?;
        if let Some(d) = self.device() {
            cfg.device = Some(d);
        }
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
        let cfg = cli.engine_args().apply(Config::default()).unwrap();
        assert_eq!(cfg.workers, 3);
        assert_eq!(cfg.model, "base");
        assert_eq!(cfg.threads, Config::default().threads);
    }

    #[test]
    fn options_work_after_subcommands_and_win() {
        let cli = Cli::parse_from([
            "recorder",
            "--threads",
            "2",
            "--model",
            "base",
            "transcribe",
            "a.wav",
            "--json",
            "--threads",
            "1",
        ]);
        let Some(Command::Transcribe { json, keep, .. }) = &cli.command else {
            panic!("not transcribe");
        };
        assert!(*json && !*keep);
        let engine = cli.engine_args();
        assert_eq!(engine.threads, Some(1));
        assert_eq!(engine.model.as_deref(), Some("base"));
    }

    #[test]
    fn eval_takes_a_manifest_and_a_selection() {
        let cli = Cli::parse_from([
            "recorder",
            "eval",
            "m.tsv",
            "--clips",
            "a,b",
            "--gain-db",
            "-30",
            "--json",
        ]);
        let Some(Command::Eval { args, json, .. }) = cli.command else {
            panic!("not eval");
        };
        assert_eq!(args.manifest, PathBuf::from("m.tsv"));
        assert_eq!(args.clips, ["a", "b"]);
        assert_eq!(args.gain_db, -30.0);
        assert!(json);
        let cli = Cli::parse_from(["recorder", "--translate", "--language", "de"]);
        let cfg = cli.engine_args().apply(Config::default()).unwrap();
        assert!(cfg.translate);
        assert_eq!(cfg.language.as_deref(), Some("de"));
    }

    #[test]
    fn invalid_override_is_rejected() {
        let cli = Cli::parse_from(["recorder", "--workers", "0"]);
        assert!(cli.engine_args().apply(Config::default()).is_err());
    }

    /// The long help of `recorder ARGS --help`.
    fn help(args: &[&str]) -> String {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let mut sub = &mut cmd;
        for a in args {
            sub = sub.find_subcommand_mut(a).expect("a subcommand");
        }
        sub.render_long_help().to_string()
    }

    #[test]
    fn each_help_lists_only_its_own_options() {
        let config = help(&["config"]);
        for foreign in ["--device", "--translate", "--model", "--json", "--workers"] {
            assert!(!config.contains(foreign), "config --help shows {foreign}");
        }
        assert!(config.contains("--config"), "{config}");
        let transcribe = help(&["transcribe"]);
        for own in ["--model", "--threads", "--json", "--keep"] {
            assert!(transcribe.contains(own), "transcribe --help lacks {own}");
        }
        assert!(!transcribe.contains("--device") && !transcribe.contains("--headless"));
        let show = help(&["sessions", "show"]);
        assert!(!show.contains("--model"), "{show}");
        let devices = help(&["devices"]);
        assert!(devices.contains("--json") && !devices.contains("--threads"));
        let top = help(&[]);
        assert!(top.contains("--device") && top.contains("--headless"));
    }

    #[test]
    fn every_argument_says_what_it_is() {
        use clap::CommandFactory;
        fn walk(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") || cmd.is_hide_set() {
                    continue;
                }
                assert!(
                    arg.get_help().is_some() || arg.get_long_help().is_some(),
                    "`{path}` argument `{id}` has no description"
                );
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "recorder");
    }
}
