//! `recorder`: parses the command line and dispatches. Every error ends as one line on stderr
//! (`recorder: …`) and a non-zero exit; never a backtrace.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use recorder::cli::{Cli, Command, ModelsCommand};
use recorder::config::Config;
use recorder::engine::{Engine, EngineConfig, Source};
use recorder::{audio, headless, logging, models, ortlib, paths, protocol, worker};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("recorder: {}", recorder::error_line(&e));
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Some(Command::Worker {
        ggml,
        n_threads,
        lang,
        vocabulary,
        tuning,
        translate,
    }) = &cli.command
    {
        let tuning = match tuning {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| anyhow::anyhow!("worker: --tuning {json:?}: {e}"))?,
            None => protocol::Tuning::default(),
        };
        let options = protocol::DecodeOptions {
            language: lang.clone(),
            translate: *translate,
            vocabulary: vocabulary.clone(),
            tuning,
        };
        // The worker sets up its own logging (to stderr, which the pool captures).
        worker::run(ggml, *n_threads, options)?;
        return Ok(0);
    }
    let log = logging::init()
        .map_err(|e| eprintln!("recorder: {}", recorder::inert::inert_line(&e.to_string())))
        .ok();
    audio::capture::quiet_alsa_errors();
    let cfg = cli
        .engine_args()
        .apply(cli.config()?)
        .map_err(anyhow::Error::msg)?;
    tracing::info!(?cfg, "starting");
    match cli.command {
        Some(Command::Devices { all, json, .. }) => devices(all, json, cfg.device.clone()),
        Some(Command::Sessions { action }) => {
            let root = cfg.sessions_dir.clone().unwrap_or_else(paths::sessions_dir);
            recorder::sessions_cmd::run(action, &root, &cfg.prose, || {
                let ecfg = engine_config(&cfg)?;
                ortlib::init(cfg.models_dir.as_deref())?;
                Ok(ecfg)
            })
        }
        Some(Command::Config) => {
            recorder::out::text(&cfg.example_of());
            Ok(0)
        }
        Some(Command::Models { action }) => models_cmd(action, &cfg),
        Some(Command::Transcribe {
            files, json, keep, ..
        }) => runtime()?.block_on(async {
            let mut ecfg = start_engine(&cfg)?;
            let _scratch = scratch_sessions(&mut ecfg, keep)?;
            let (engine, events) = Engine::new(ecfg)?;
            headless::run_files(engine, events, files, json, &cfg.prose, keep).await
        }),
        Some(Command::Bench { what, json, .. }) => {
            runtime()?.block_on(recorder::bench::run(&cfg, what, json))
        }
        Some(Command::Eval { args, json, .. }) => {
            runtime()?.block_on(recorder::eval::run(&cfg, args, json))
        }
        Some(Command::Worker { .. }) => unreachable!("handled above"),
        None => live(cli.run, &cfg, log),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Two runtime threads: the UI and coordination are light; the cores belong to the workers.
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn engine_config(cfg: &Config) -> anyhow::Result<EngineConfig> {
    EngineConfig::from_config(cfg)
}

/// Checks the model and ONNX Runtime first (clear errors before anything starts).
fn start_engine(cfg: &Config) -> anyhow::Result<EngineConfig> {
    let ecfg = engine_config(cfg)?;
    let ort = ortlib::init(cfg.models_dir.as_deref())?;
    tracing::info!(model = %ecfg.model.display(), ort = %ort.display(), "engine");
    Ok(ecfg)
}

/// A run over files that is not `--keep`: its utterance WAVs and journal go to a private
/// temporary folder, removed when the run ends (the input file is the audio on disk), so
/// `recorder sessions` lists recordings, not every file ever transcribed. The folder must
/// live until the engine is shut down.
fn scratch_sessions(
    ecfg: &mut EngineConfig,
    keep: bool,
) -> anyhow::Result<Option<tempfile::TempDir>> {
    if keep {
        return Ok(None);
    }
    let dir = tempfile::Builder::new()
        .prefix("recorder-run-")
        .tempdir()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot make a temporary folder in '{}' ({e}); set TMPDIR or pass --keep",
                std::env::temp_dir().display()
            )
        })?;
    ecfg.sessions_dir = dir.path().to_path_buf();
    tracing::info!(dir = %dir.path().display(), "not kept: the run's session is temporary");
    Ok(Some(dir))
}

fn live(args: recorder::cli::RunArgs, cfg: &Config, log: Option<PathBuf>) -> anyhow::Result<i32> {
    let source = match &args.input {
        Some(path) => Source::File {
            path: path.clone(),
            realtime: !args.fast,
        },
        None => Source::Device(cfg.device.clone()),
    };
    // Check the model and ONNX Runtime, then open the input once, before anything starts: a
    // missing part is a plain line in the shell (not a flash of TUI, no workers started).
    let mut ecfg = engine_config(cfg)?;
    let live_text = if args.headless {
        args.interim
    } else {
        cfg.interim
    };
    ecfg.interim =
        live_text.then(|| std::time::Duration::from_millis(cfg.interim_every_ms.max(200)));
    ortlib::init(cfg.models_dir.as_deref())?;
    // The TUI opens without a usable microphone too (idle, saying why, `d` picks another);
    // headless has nothing to offer and exits with the one-line reason.
    let no_input = match &source {
        Source::Device(name) if !args.headless => audio::capture::open(name.as_deref())
            .err()
            .inspect(|e| tracing::warn!("no input at start: {e}"))
            .map(|e| e.reason()),
        _ => {
            preflight(&source)?;
            None
        }
    };
    let unfinished = recorder::sessions_cmd::unfinished_notice(&ecfg.sessions_dir);
    let sessions_dir = ecfg.sessions_dir.clone();
    // Only a headless file run is a batch: in the TUI, `d` can turn the same session into a
    // microphone recording, which must never go to a folder that is removed.
    let kept = args.keep || matches!(source, Source::Device(_));
    let _scratch = match &source {
        Source::File { .. } if args.headless => scratch_sessions(&mut ecfg, args.keep)?,
        _ => None,
    };
    let rt = runtime()?;
    if args.headless {
        if let Some(n) = &unfinished {
            eprintln!("recorder: {n}");
        }
        return rt.block_on(async {
            let (engine, events) = Engine::new(ecfg)?;
            headless::run_live(engine, events, source, args.json, kept).await
        });
    }
    rt.block_on(async {
        let (engine, events) = Engine::new(ecfg)?;
        let mut app = recorder::app::App::new(cfg.model.clone(), recorder::ui::color_from_env());
        // The TUI asks whether to resume the newest unfinished session (y/n on its status line).
        if let Some(s) = recorder::sessions_cmd::newest_unfinished(&sessions_dir) {
            app.offer_resume(recorder::app::ResumeOffer {
                untranscribed: s.pending(),
                session: s.id,
                dir: s.dir,
            });
        }
        app.vocabulary = cfg.vocabulary.clone();
        app.prose = cfg.prose.clone();
        app.copy_on_stop = cfg.copy_on_stop;
        // Checked when the config was loaded; an error here would be a bug, still reported.
        app.keys = recorder::app::KeyMap::new(&cfg.keys).map_err(anyhow::Error::msg)?;
        app.log = log.clone();
        if let Some(reason) = &no_input {
            app.no_input(reason);
        }
        let autostart = !(args.idle || cfg.start_idle) && no_input.is_none();
        tracing::info!(log = ?log, autostart, "tui");
        recorder::tui::run(engine, events, app, source, autostart).await?;
        Ok(0)
    })
}

fn preflight(source: &Source) -> anyhow::Result<()> {
    match source {
        Source::Device(name) => {
            audio::capture::open(name.as_deref())?;
        }
        // A pipe, FIFO or standard input can be read only once: the pipeline opens it (and
        // reports a bad one); before, the check here consumed its header ("no RIFF tag").
        Source::File { path, .. } if audio::wav::is_read_once(path) => {}
        Source::File { path, .. } => {
            audio::wav::WavSource::open(path)?;
        }
    }
    Ok(())
}

/// `recorder devices`: what can be opened (every device with `all`), the default and the
/// configured one marked; `json`: one array of objects instead.
fn devices(all: bool, json: bool, current: Option<String>) -> anyhow::Result<i32> {
    let mut list = audio::capture::list_devices();
    list.sort_by_key(|d| (!d.is_default, d.usable.is_err()));
    let is_current = |d: &audio::capture::DeviceInfo| {
        current
            .as_deref()
            .map_or(d.is_default, |c| c == d.id || c == d.name)
    };
    let hidden = list
        .iter()
        .filter(|d| d.usable.is_err() && !d.is_default)
        .count();
    if !all {
        list.retain(|d| d.usable.is_ok() || d.is_default || is_current(d));
    }
    if json {
        let rows: Vec<_> = list
            .iter()
            .map(|d| {
                serde_json::json!({
                    "id": d.id,
                    "name": d.name,
                    "default": d.is_default,
                    "current": is_current(d),
                    "usable": d.usable.is_ok(),
                    "format": d.usable.as_ref().ok(),
                    "error": d.usable.as_ref().err(),
                })
            })
            .collect();
        recorder::outln!("{}", serde_json::Value::Array(rows));
        return Ok(i32::from(list.is_empty()));
    }
    if list.is_empty() {
        recorder::outln!("no input devices found");
        return Ok(1);
    }
    for d in &list {
        let mark = format!(
            "{}{}",
            if is_current(d) { ">" } else { " " },
            if d.is_default { "*" } else { " " }
        );
        // The state first, so a narrow terminal cuts the name, not whether it works.
        match &d.usable {
            Ok(cfg) => recorder::outln!("{mark} {:<24} {}  [{cfg}]", d.id, d.name),
            Err(e) => recorder::outln!("{mark} {:<24} cannot be opened: {e}  ({})", d.id, d.name),
        }
    }
    recorder::outln!("\n> = recorder's input, * = the system default; use --device ID or NAME");
    if !all && hidden > 0 {
        recorder::outln!("{hidden} more cannot be opened (`recorder devices --all` lists them)");
    }
    Ok(0)
}

/// `recorder models list`: every ggml file on the search path, `*` on the one that
/// `--model` loads (a name prefers its q8_0 file, so the mark is on the file, not the name).
fn models_list(cfg: &Config, json: bool) {
    let found = paths::installed_models(cfg.models_dir.as_deref());
    let loads = paths::resolve_model(&cfg.model, cfg.models_dir.as_deref()).ok();
    let selected = |path: &std::path::Path| loads.as_deref() == Some(path);
    if json {
        let rows: Vec<_> = found
            .iter()
            .map(|(name, path, bytes)| {
                serde_json::json!({
                    "name": name,
                    "path": path,
                    "bytes": bytes,
                    "selected": selected(path),
                })
            })
            .collect();
        recorder::outln!("{}", serde_json::Value::Array(rows));
        return;
    }
    if found.is_empty() {
        recorder::outln!(
            "no models installed; run `make setup` or `recorder models install tiny.en`"
        );
        return;
    }
    for (name, path, size) in &found {
        let mark = if selected(path) { "*" } else { " " };
        recorder::outln!(
            "{mark} {name:<16} {:>7.1} MB  {}",
            *size as f64 / 1e6,
            path.display()
        );
    }
    match &loads {
        Some(_) => recorder::outln!(
            "\n* = what --model {} loads (config `model`); a name picks its -q8_0 file when there is one, NAME-f16 the other",
            cfg.model
        ),
        None => recorder::outln!(
            "\nmodel '{}' (config `model`) is not among these; pass --model NAME",
            cfg.model
        ),
    }
}

fn models_cmd(action: ModelsCommand, cfg: &Config) -> anyhow::Result<i32> {
    let default_dir = || paths::data_dir().join("models");
    match action {
        ModelsCommand::List { json, .. } => {
            models_list(cfg, json);
            Ok(0)
        }
        ModelsCommand::Install { name, dir } => {
            let dir = dir.unwrap_or_else(default_dir);
            let path = models::install::install(&name, &dir)?;
            recorder::outln!("installed {name} at {}", path.display());
            Ok(0)
        }
        ModelsCommand::ImportCt2 {
            dir,
            name,
            out_dir,
            quantize,
        } => {
            let name = match name {
                Some(n) => n,
                None => dir
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .ok_or_else(|| anyhow::anyhow!("give the model a name with --name"))?,
            };
            let out_dir = out_dir.unwrap_or_else(default_dir);
            std::fs::create_dir_all(&out_dir)
                .map_err(|e| anyhow::anyhow!("cannot create '{}': {e}", out_dir.display()))?;
            let out = out_dir.join(paths::model_file_name(&name));
            let t0 = std::time::Instant::now();
            let format =
                models::ggml::WeightFormat::parse(&quantize).map_err(anyhow::Error::msg)?;
            let report = models::ggml::import_ct2_as(&dir, &out, format)?;
            recorder::outln!(
                "imported {} as {name}: {} ({:.1} MB) in {:.1} s",
                dir.display(),
                out.display(),
                report.bytes as f64 / 1e6,
                t0.elapsed().as_secs_f64()
            );
            Ok(0)
        }
    }
}
