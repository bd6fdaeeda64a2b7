//! `recorder eval MANIFEST`: word error rate through the real pipeline (VAD + workers), and
//! the words produced on non-speech clips (the right number is 0).
//!
//! - [`manifest`]: the clip list; [`noise`]: generated non-speech clips (`--noise`);
//! - [`runner`]: plays clips through [`crate::engine::Engine`];
//! - [`normalize`] (with numbers and spelling tables) and [`wer`]: scoring;
//! - [`report`]: the table or JSON.
//!
//! Guards are switched per run with `RECORDER_GUARDS` (see [`crate::worker::guards`]).

pub mod longform;
pub mod manifest;
pub mod noise;
pub mod normalize;
mod numbers;
pub mod report;
pub mod runner;
pub mod shifts;
pub mod short;
mod spelling;
pub mod timing;
pub mod wer;

use crate::cli::EvalArgs;
use crate::config::Config;
use crate::worker::guards::Guards;

/// Runs the eval and prints the report; the exit code is 1 when any utterance failed.
pub async fn run(cfg: &Config, args: EvalArgs, json: bool) -> anyhow::Result<i32> {
    let mut clips = manifest::select(manifest::load(&args.manifest)?, &args.clips, args.subset)?;
    // RECORDER_EVAL_KEEP=1 keeps the clips made (pieces, shifted, louder) and the sessions.
    let keep = std::env::var_os("RECORDER_EVAL_KEEP").is_some();
    let tmp = tempfile::Builder::new()
        .prefix("recorder-eval-")
        .disable_cleanup(keep)
        .tempdir()?;
    if keep {
        eprintln!("keeping {}", tmp.path().display());
    }
    if let Some(seconds) = args.noise {
        anyhow::ensure!(seconds > 0.0, "--noise takes a positive number of seconds");
        clips.extend(noise::write_clips(tmp.path(), seconds)?);
    }
    // The generated noise too: quiet noise must stay out of the transcript as well, whatever
    // the level normaliser in front of the VAD makes of it (src/audio/level.rs).
    let clips = if args.gain_db != 0.0 {
        runner::with_gain(clips, &tmp.path().join("gain"), args.gain_db)?
    } else {
        clips
    };
    crate::ortlib::init(cfg.models_dir.as_deref())?;
    if args.short {
        let r = short::run(cfg, &clips, tmp.path(), args.no_vad).await?;
        if json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            print!("{}", short::text(&r));
        }
        return Ok(i32::from(r.failures > 0));
    }
    if args.long_form {
        let r = longform::run(cfg, &clips, tmp.path(), args.no_vad).await?;
        if json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            print!("{}", longform::text(&r));
        }
        return Ok(i32::from(r.runs.iter().any(|r| r.failures > 0)));
    }
    if !args.shifts.is_empty() {
        let r = shifts::run(cfg, &clips, tmp.path(), &args.shifts).await?;
        if json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            print!("{}", shifts::text(&r));
        }
        return Ok(i32::from(r.summary.failures > 0));
    }
    // The table goes out clip by clip (a full run takes a minute); JSON comes whole at the end.
    let runs = runner::run_clips(
        cfg,
        &clips,
        &tmp.path().join("sessions"),
        args.no_vad,
        |r| {
            if !json {
                print!("{}", report::clip_text(&report::score_clip(r.clone())));
                let _ = std::io::Write::flush(&mut std::io::stdout());
            }
        },
    )
    .await?;
    let clips: Vec<report::ClipReport> = runs.into_iter().map(report::score_clip).collect();
    let guards = Guards::from_spec(&cfg.tuning.clone().with_env().guards).describe();
    let summary = report::summarize(&clips, &cfg.model, &guards, args.gain_db, args.no_vad);
    let failures = summary.failures;
    let report = report::Report { summary, clips };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report::summary_text(&report.summary));
    }
    Ok(i32::from(failures > 0))
}
