//! Interim text, measured: speech clips played through the engine at real-time pace (the
//! same path as `recorder --input FILE`), once with interim passes and once without, and
//! every event timed where the front end receives it, relative to the start of the feed.
//!
//! - Interim latency: for each word of an utterance's final text, from the word's end in the
//!   audio to the first interim pass showing it (stable or tentative), the pass's words lined
//!   up with the final text's (a word missing early on does not shift the rest). Word
//!   ends come from a separate offline whisper pass with token timestamps over the same
//!   utterance WAV, run after the feeds so it does not compete with them for the cores.
//! - Final-text latency (utterance closed → final text) with interim on and off.
//! - Word flips: words of the last interim text that the final text changed (edit distance in
//!   words), and stable prefixes taken back (LocalAgreement promises none).
//! - The audio thread's lag behind real time: a file has no capture ring to overrun, so the
//!   lag is what a microphone's 2 s ring would have to absorb.

mod table;
pub mod words;

pub use table::render_md;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Stats;
use crate::audio::wav;
use crate::config::Config;
use crate::engine::{Engine, EngineConfig, EngineEvent, Source};
use crate::eval::manifest::{self, Clip};
use crate::eval::timing::WordTimer;
use crate::vocab::{UtteranceId, UtteranceRef};
use words::{Pass, align, edit_distance, first_appearance, group_tokens, retractions, words};

/// The default clips: 3–12 s of speech each, about 50 s in all, so both feeds of one run take
/// under two minutes (`make bench` keeps the whole benchmark under ten).
pub const DEFAULT_CLIPS: &[&str] = &[
    "fw_jfk",
    "leopard_test",
    "ps_librivox_sense_and_sensibility_0870",
    "speechbrain_LJ050-0131",
    "wenet_librispeech_1995-1837-0001",
    "cheetah_test_en",
    "deepspeech_new-home-in-the-stars",
];

/// Stream time per level event (the audio thread publishes one per 800 samples at 16 kHz).
const LEVEL_S: f64 = 0.05;
/// Level events of the first second are left out of the lag: the audio thread starts by
/// catching up on what played while Silero loaded, which a microphone's ring absorbs.
const LAG_SKIP_S: f64 = 1.0;

/// One utterance of an interim-on feed, measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UttResult {
    pub clip: String,
    pub run: usize,
    pub id: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    /// The last interim text before the final one ("" if no pass came back in time).
    pub last_interim: String,
    pub passes: usize,
    /// Time between consecutive interim results of the utterance (ms): the cadence as seen.
    #[serde(default)]
    pub pass_gaps_ms: Vec<f64>,
    /// Words of the final text, and of those: with an offline timestamp, shown as interim.
    pub words: usize,
    pub words_timed: usize,
    pub words_interim: usize,
    /// Word end → first interim appearance (ms), one per word shown as interim.
    pub interim_ms: Vec<f64>,
    /// Word end → final text (ms), for words no interim pass showed at their position.
    pub final_only_ms: Vec<f64>,
    /// Edit distance in words, last interim text → final text (`None`: no interim text).
    pub flips: Option<usize>,
    /// Edit distance between the last stable words and the final text's words there.
    pub stable_wrong: usize,
    /// Times a pass's stable words did not start with the previous pass's stable words.
    pub retractions: usize,
    /// Closed → final text (ms).
    pub final_ms: f64,
    /// The pool's figures for the final job (ms): waiting for the worker (an interim pass
    /// being stopped), and the worker's own time (fewer threads show here).
    #[serde(default)]
    pub queue_ms: f64,
    #[serde(default)]
    pub worker_ms: f64,
}

/// One utterance of an interim-off feed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OffUtt {
    pub clip: String,
    /// Closed → final text (ms).
    pub final_ms: f64,
    /// The pool's figures for the final job (ms): waiting for the worker (an interim pass
    /// being stopped), and the worker's own time (fewer threads show here).
    #[serde(default)]
    pub queue_ms: f64,
    #[serde(default)]
    pub worker_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InterimReport {
    pub model: String,
    pub workers: usize,
    pub threads: usize,
    pub interim_every_ms: u64,
    pub runs: usize,
    pub clips: Vec<String>,
    pub audio_s: f64,
    pub utterances: Vec<UttResult>,
    /// Closed → final text of every utterance of the interim-off feeds.
    pub final_off: Vec<OffUtt>,
    /// The audio thread's lag behind real time (ms), level events after the first second.
    pub lag_on_ms: Stats,
    pub lag_off_ms: Stats,
    /// What the engine said during the feeds ("live text turned off", a worker replaced).
    pub notices: Vec<String>,
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
}

impl InterimReport {
    pub fn interim_ms(&self) -> Stats {
        Stats::of(&self.all(|u| &u.interim_ms))
    }

    /// Word end → first text of any kind (interim, or the final text for words no pass
    /// showed): what a reader waits for each word.
    pub fn first_text_ms(&self) -> Stats {
        let mut v = self.all(|u| &u.interim_ms);
        v.extend(self.all(|u| &u.final_only_ms));
        Stats::of(&v)
    }

    pub fn final_on(&self) -> Stats {
        Stats::of(
            &self
                .utterances
                .iter()
                .map(|u| u.final_ms)
                .collect::<Vec<_>>(),
        )
    }

    pub fn final_off(&self) -> Stats {
        Stats::of(
            &self
                .final_off
                .iter()
                .map(|u| u.final_ms)
                .collect::<Vec<_>>(),
        )
    }

    fn all(&self, f: impl Fn(&UttResult) -> &Vec<f64>) -> Vec<f64> {
        self.utterances.iter().flat_map(|u| f(u).clone()).collect()
    }
}

/// Everything one feed of a clip gave.
#[derive(Debug, Default)]
struct Feed {
    utts: BTreeMap<UtteranceId, FeedUtt>,
    passes: BTreeMap<UtteranceId, Vec<Pass>>,
    lag_ms: Vec<f64>,
    notices: Vec<String>,
}

/// An utterance of a feed: where it is, when it was closed and got its text, the text.
#[derive(Debug)]
struct FeedUtt {
    utt: UtteranceRef,
    closed_at: f64,
    final_at: Option<f64>,
    queue_ms: f64,
    worker_ms: f64,
    text: String,
}

/// Plays `clip` through `engine` (at real-time pace unless `fast`) and records every event's
/// arrival.
async fn feed(
    engine: &mut Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    clip: &Clip,
    fast: bool,
) -> anyhow::Result<Feed> {
    let mut f = Feed::default();
    // The file's clock starts when the audio thread opens it, just after this.
    let t0 = Instant::now();
    let source = Source::File {
        path: clip.path.clone(),
        realtime: !fast,
    };
    // A minute past the clip's end for the last final text.
    let deadline =
        tokio::time::Instant::from_std(t0 + Duration::from_secs_f64(clip.duration_s + 60.0));
    let mut levels = 0u64;
    let on = |ev| {
        let at = t0.elapsed().as_secs_f64();
        match ev {
            EngineEvent::Level(_) => {
                levels += 1;
                let stream_s = levels as f64 * LEVEL_S;
                if stream_s > LAG_SKIP_S {
                    f.lag_ms.push((at - stream_s) * 1000.0);
                }
            }
            // A blip's id is used again by the next utterance: its passes are not that one's.
            EngineEvent::SpeechDiscarded { id, .. } => {
                f.passes.remove(&id);
            }
            EngineEvent::Queued { utt, .. } => {
                let utt = FeedUtt {
                    utt,
                    closed_at: at,
                    final_at: None,
                    queue_ms: 0.0,
                    worker_ms: 0.0,
                    text: String::new(),
                };
                f.utts.insert(utt.utt.id, utt);
            }
            EngineEvent::Interim {
                id,
                stable,
                tentative,
                ..
            } => f.passes.entry(id).or_default().push(Pass {
                at,
                stable: words(&stable),
                words: words(&format!("{stable} {tentative}")),
            }),
            EngineEvent::Transcribed { text: t, .. } => {
                if let Some(u) = f.utts.get_mut(&t.id) {
                    u.final_at = Some(at);
                    u.text = t.text.trim().to_string();
                    u.queue_ms = t.timings.queue_ms;
                    u.worker_ms = t.timings.worker_ms;
                }
            }
            EngineEvent::Failed { id, reason, .. } => {
                f.notices
                    .push(format!("{}: utterance {id} failed: {reason}", clip.name));
                if let Some(u) = f.utts.get_mut(&id) {
                    u.final_at = Some(at);
                }
            }
            EngineEvent::Notice(n) => f.notices.push(format!("{}: {n}", clip.name)),
            EngineEvent::SourceError { reason, .. } => anyhow::bail!("{reason}"),
            _ => {}
        }
        Ok(())
    };
    engine
        .drive_recording(events, source, Some(deadline), on)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e:#}", clip.name))?;
    Ok(f)
}

fn engine_config(
    cfg: &Config,
    sessions: &Path,
    every: Option<Duration>,
) -> anyhow::Result<EngineConfig> {
    Ok(EngineConfig {
        sessions_dir: sessions.to_path_buf(),
        interim: every,
        ..EngineConfig::from_config(cfg)?
    })
}

/// Word ends (s from the WAV's start) from an offline whisper pass with token timestamps.
fn word_ends(timer: &WordTimer, wav_path: &Path) -> anyhow::Result<Vec<(String, f64)>> {
    let tokens: Vec<(String, f64)> = timer
        .tokens(&wav::read_16k_mono(wav_path)?)?
        .into_iter()
        .map(|t| (t.piece, t.t1))
        .collect();
    Ok(group_tokens(&tokens))
}

/// Turns an interim-on feed into per-utterance results (word times from `timer`).
fn measure(clip: &str, run: usize, f: &Feed, timer: &WordTimer) -> anyhow::Result<Vec<UttResult>> {
    let mut out = Vec::new();
    for (&id, u) in &f.utts {
        let Some(final_at) = u.final_at else { continue };
        let final_words = words(&u.text);
        let passes = f.passes.get(&id).map(Vec::as_slice).unwrap_or_default();
        let ends = align(&final_words, &word_ends(timer, &u.utt.wav)?);
        let seen = first_appearance(&final_words, passes);
        let mut r = UttResult {
            clip: clip.to_string(),
            run,
            id: id.0,
            start_s: u.utt.span.start_s,
            end_s: u.utt.span.end_s,
            text: u.text.clone(),
            passes: passes.len(),
            pass_gaps_ms: passes
                .windows(2)
                .map(|p| (p[1].at - p[0].at) * 1000.0)
                .collect(),
            words: final_words.len(),
            words_timed: ends.iter().flatten().count(),
            words_interim: seen.iter().flatten().count(),
            final_ms: (final_at - u.closed_at) * 1000.0,
            queue_ms: u.queue_ms,
            worker_ms: u.worker_ms,
            retractions: retractions(passes),
            ..UttResult::default()
        };
        for (end, at) in ends.iter().zip(&seen) {
            let Some(end) = end else { continue };
            let spoken = u.utt.span.start_s + end;
            match at {
                Some(at) => r.interim_ms.push((at - spoken) * 1000.0),
                None => r.final_only_ms.push((final_at - spoken) * 1000.0),
            }
        }
        if let Some(last) = passes.last() {
            r.last_interim = last.words.join(" ");
            r.flips = Some(edit_distance(&last.words, &final_words));
            let n = last.stable.len().min(final_words.len());
            r.stable_wrong = edit_distance(&last.stable, &final_words[..n]);
        }
        out.push(r);
    }
    Ok(out)
}

/// The clips to play: `names`, or the default set where the manifest has them; speech only.
fn speech_clips(manifest_path: &Path, names: &[String]) -> anyhow::Result<Vec<Clip>> {
    let all = manifest::load(manifest_path)?;
    let clips: Vec<Clip> = if names.is_empty() {
        let wanted: Vec<String> = DEFAULT_CLIPS
            .iter()
            .filter(|n| all.iter().any(|c| &c.name == *n))
            .map(|n| n.to_string())
            .collect();
        manifest::select(all, &wanted, None)?
    } else {
        manifest::select(all, names, None)?
    };
    let clips: Vec<Clip> = clips.into_iter().filter(Clip::is_speech).collect();
    anyhow::ensure!(
        !clips.is_empty(),
        "{}: no speech clips",
        manifest_path.display()
    );
    Ok(clips)
}

/// The final-text times of a feed without interim passes.
fn off_utts<'a>(clip: &'a str, f: &'a Feed) -> impl Iterator<Item = OffUtt> + 'a {
    f.utts.values().filter_map(move |u| {
        u.final_at.map(|t| OffUtt {
            clip: clip.to_string(),
            final_ms: (t - u.closed_at) * 1000.0,
            queue_ms: u.queue_ms,
            worker_ms: u.worker_ms,
        })
    })
}

/// An engine and its events.
type Side<'a> = (&'a mut Engine, &'a mut UnboundedReceiver<EngineEvent>);

/// `runs` rounds over `clips` at real-time pace, each clip fed once with interim passes (the
/// first side) and once without (the second): returns the interim-on feeds to measure; the
/// off feeds' final times, both sides' lags and the notices go into `report`.
async fn feed_rounds(
    [on, off]: [Side<'_>; 2],
    clips: &[Clip],
    runs: usize,
    progress: bool,
    report: &mut InterimReport,
) -> anyhow::Result<Vec<(String, usize, Feed)>> {
    let (mut on_feeds, mut lag_on, mut lag_off) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        for (i, clip) in clips.iter().enumerate() {
            if progress {
                eprint!(
                    "\rrun {}/{runs}, clip {}/{} {}   ",
                    run + 1,
                    i + 1,
                    clips.len(),
                    clip.name
                );
            }
            // Alternating which goes first spreads any drift in the machine's load evenly.
            let on_first = (run + i) % 2 == 0;
            for with_interim in [on_first, !on_first] {
                if with_interim {
                    let f = feed(on.0, on.1, clip, false).await?;
                    lag_on.extend_from_slice(&f.lag_ms);
                    report.notices.extend(f.notices.iter().cloned());
                    on_feeds.push((clip.name.clone(), run, f));
                } else {
                    let f = feed(off.0, off.1, clip, false).await?;
                    lag_off.extend_from_slice(&f.lag_ms);
                    report.notices.extend(f.notices.iter().cloned());
                    report.final_off.extend(off_utts(&clip.name, &f));
                }
            }
        }
    }
    if progress {
        eprintln!();
    }
    report.lag_on_ms = Stats::of(&lag_on);
    report.lag_off_ms = Stats::of(&lag_off);
    Ok(on_feeds)
}

pub async fn run(
    cfg: &Config,
    manifest_path: &Path,
    runs: usize,
    names: &[String],
    every_ms: Option<u64>,
    json: bool,
) -> anyhow::Result<i32> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    let clips = speech_clips(manifest_path, names)?;
    crate::ortlib::init(cfg.models_dir.as_deref())?;
    let every_ms = every_ms.unwrap_or(cfg.interim_every_ms).max(200);
    let tmp = tempfile::Builder::new()
        .prefix("recorder-bench-interim-")
        .tempdir()?;
    let load_before = super::load_average();
    let every = Some(Duration::from_millis(every_ms));
    let (mut on, mut on_events) = Engine::new(engine_config(cfg, tmp.path(), every)?)?;
    let (mut off, mut off_events) = Engine::new(engine_config(cfg, tmp.path(), None)?)?;
    // Warm-up: the first job of a worker allocates whisper's buffers (and waits for its model).
    let shortest = clips
        .iter()
        .min_by(|a, b| a.duration_s.total_cmp(&b.duration_s))
        .expect("not empty");
    // As fast as possible: nothing of it is measured.
    feed(&mut on, &mut on_events, shortest, true).await?;
    feed(&mut off, &mut off_events, shortest, true).await?;
    let mut report = InterimReport {
        model: cfg.model.clone(),
        workers: cfg.workers,
        threads: cfg.threads,
        interim_every_ms: every_ms,
        runs,
        clips: clips.iter().map(|c| c.name.clone()).collect(),
        audio_s: clips.iter().map(|c| c.duration_s).sum(),
        load_before,
        ..InterimReport::default()
    };
    let sides = [(&mut on, &mut on_events), (&mut off, &mut off_events)];
    let on_feeds = feed_rounds(sides, &clips, runs, !json, &mut report).await?;
    on.shutdown(Duration::from_secs(10)).await;
    off.shutdown(Duration::from_secs(10)).await;
    report.load_after = super::load_average();
    // Word times after the feeds: this pass would otherwise compete with them for the cores.
    let model = crate::paths::resolve_model(&cfg.model, cfg.models_dir.as_deref())?;
    let timer = WordTimer::load(&model, cfg.threads)?;
    for (name, run, f) in &on_feeds {
        report.utterances.extend(measure(name, *run, f, &timer)?);
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", render_md(&report));
    }
    Ok(0)
}
