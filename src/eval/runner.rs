//! Plays each clip through the real pipeline in this process, exactly as `recorder transcribe`
//! does: the file goes through the resampler, Silero VAD and the segmenter, every utterance
//! is written to disk and transcribed by `recorder worker` processes, whose guards apply.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use super::manifest::Clip;
use crate::audio::segmenter::SegmenterConfig;
use crate::audio::wav;
use crate::config::Config;
use crate::engine::{Engine, EngineConfig, EngineEvent, Source};
use crate::vocab::{Span, UtteranceId, UtteranceRef};
use crate::worker::guards;

/// One utterance as the pipeline cut and transcribed it, with what the guards look at.
#[derive(Debug, Clone, Serialize)]
pub struct Utterance {
    /// Flat in JSON (`start_s`, `end_s`).
    #[serde(flatten)]
    pub span: Span,
    pub text: String,
    /// whisper's no-speech probability (highest over the segments whisper wrote, before the
    /// text guards; 1 when the energy guard skipped whisper).
    pub no_speech_prob: f32,
    /// Lowest mean log-probability over the kept segments (0 when none).
    pub min_avg_logprob: f32,
    /// Text tokens in the kept segments.
    pub tokens: u32,
    /// Level of the utterance audio (dBFS) and its noise floor, as the energy guard sees it.
    pub speech_db: f32,
    pub floor_db: f32,
    pub worker_ms: f64,
    /// Set when the utterance could not be transcribed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The pipeline's output for one clip.
#[derive(Debug, Clone)]
pub struct ClipRun {
    pub clip: Clip,
    pub utterances: Vec<Utterance>,
    /// The source failed (unreadable file).
    pub source_error: Option<String>,
    pub seconds: f64,
    /// Settle passes: taken, refused, and their worker time in ms.
    pub settle: SettleCount,
}

/// What the settle passes of a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct SettleCount {
    pub taken: usize,
    pub refused: usize,
    pub worker_ms: f64,
}

impl ClipRun {
    /// The utterance texts joined as the exports join them: what a user would have read.
    pub fn text(&self) -> String {
        crate::prose::join(self.utterances.iter().map(|u| u.text.as_str()))
    }

    pub fn failures(&self) -> usize {
        self.utterances.iter().filter(|u| u.error.is_some()).count()
            + usize::from(self.source_error.is_some())
    }
}

/// The segmenter for `--no-vad`: every chunk counts as speech (probability >= 0), so a clip
/// becomes one utterance (split at `max_utterance_s` like any monologue).
fn no_vad_segmenter(base: &SegmenterConfig) -> SegmenterConfig {
    SegmenterConfig {
        start_threshold: 0.0,
        end_threshold: 0.0,
        weak_threshold: 0.0,
        // The VAD is not asked, so it vouches for nothing: the guards decide alone.
        min_speech_ms: u32::MAX,
        ..base.clone()
    }
}

fn engine_config(cfg: &Config, sessions_dir: &Path, no_vad: bool) -> anyhow::Result<EngineConfig> {
    let base = EngineConfig::from_config(cfg)?;
    let segmenter = if no_vad {
        no_vad_segmenter(&base.segmenter)
    } else {
        base.segmenter.clone()
    };
    Ok(EngineConfig {
        segmenter,
        sessions_dir: sessions_dir.to_path_buf(),
        ..base
    })
}

/// Runs `clips` one after another through one engine (the workers load the model once).
/// ONNX Runtime must be initialised. Utterance audio goes to `sessions_dir`.
pub async fn run_clips(
    cfg: &Config,
    clips: &[Clip],
    sessions_dir: &Path,
    no_vad: bool,
    mut progress: impl FnMut(&ClipRun),
) -> anyhow::Result<Vec<ClipRun>> {
    let (mut engine, mut events) = Engine::new(engine_config(cfg, sessions_dir, no_vad)?)?;
    let mut runs = Vec::with_capacity(clips.len());
    for clip in clips {
        let run = run_clip(&mut engine, &mut events, clip).await;
        match run {
            Ok(run) => {
                progress(&run);
                runs.push(run);
            }
            Err(e) => {
                engine.shutdown(Duration::from_secs(5)).await;
                return Err(e);
            }
        }
    }
    engine.shutdown(Duration::from_secs(10)).await;
    Ok(runs)
}

async fn run_clip(
    engine: &mut Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    clip: &Clip,
) -> anyhow::Result<ClipRun> {
    let t0 = Instant::now();
    let source = Source::File {
        path: clip.path.clone(),
        realtime: false,
    };
    let mut queued: BTreeMap<UtteranceId, UtteranceRef> = BTreeMap::new();
    let mut done: BTreeMap<UtteranceId, Utterance> = BTreeMap::new();
    let mut source_error = None;
    let mut settle = SettleCount::default();
    let on = |ev| {
        match ev {
            EngineEvent::Settled {
                texts, worker_ms, ..
            } => {
                settle.worker_ms += worker_ms;
                match texts {
                    Ok(texts) => {
                        settle.taken += 1;
                        for (id, text) in texts {
                            if let Some(u) = done.get_mut(&id) {
                                u.text = text.trim().to_string();
                            }
                        }
                    }
                    Err(_) => settle.refused += 1,
                }
            }
            EngineEvent::Queued { utt, .. } => {
                queued.insert(utt.id, utt);
            }
            EngineEvent::Transcribed { text: t, .. } => {
                let mut u = utterance(queued.get(&t.id));
                u.text = t.text.trim().to_string();
                u.no_speech_prob = t.no_speech_prob;
                u.min_avg_logprob = t.segments.iter().map(|s| s.avg_logprob).fold(0.0, f32::min);
                u.tokens = t.segments.iter().map(|s| s.tokens).sum();
                u.worker_ms = t.timings.worker_ms;
                done.insert(t.id, u);
            }
            EngineEvent::Failed { id, reason, .. } => {
                let mut u = utterance(queued.get(&id));
                u.error = Some(reason.to_string());
                done.insert(id, u);
            }
            EngineEvent::SourceError { reason, .. } => source_error = Some(reason),
            _ => {}
        }
        Ok(())
    };
    engine
        .drive_recording(events, source, None, on)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e:#}", clip.name))?;
    Ok(ClipRun {
        clip: clip.clone(),
        utterances: done.into_values().collect(),
        source_error,
        seconds: t0.elapsed().as_secs_f64(),
        settle,
    })
}

/// An utterance's times and audio level, before its text is known.
fn utterance(queued: Option<&UtteranceRef>) -> Utterance {
    let (span, level) = match queued {
        Some(utt) => {
            let samples = wav::read_16k_mono(&utt.wav).unwrap_or_default();
            (utt.span, guards::level(&samples))
        }
        None => (Span::default(), guards::level(&[])),
    };
    Utterance {
        span,
        text: String::new(),
        no_speech_prob: 0.0,
        min_avg_logprob: 0.0,
        tokens: 0,
        speech_db: level.speech_db,
        floor_db: level.floor_db,
        worker_ms: 0.0,
        error: None,
    }
}

/// Copies `clips` into `dir` played `db` decibels louder (or quieter), for `--gain-db`.
pub fn with_gain(clips: Vec<Clip>, dir: &Path, db: f32) -> anyhow::Result<Vec<Clip>> {
    std::fs::create_dir_all(dir)?;
    clips
        .into_iter()
        .map(|mut c| {
            let mut samples = wav::read_16k_mono(&c.path)?;
            super::noise::apply_gain(&mut samples, db);
            let path = dir.join(format!("{}.wav", c.name));
            wav::write_16k_mono(&path, &samples)?;
            c.path = path;
            Ok(c)
        })
        .collect()
}
