//! The engine ties the audio thread to the worker pool and reports everything that happens as
//! [`EngineEvent`]s on a tokio channel. Both front ends (the TUI and `--headless`) drive it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::audio::Level;
use crate::audio::pipeline::{self, AudioEvent, Control, PipelineConfig};
use crate::audio::vad::{SileroVad, Vad};
use crate::session::{self, Entry, Journal, Store};
use crate::transcribe::Transcript;
use crate::transcribe::pool::{
    InterimSwitch, Job, Pool, PoolConfig, PoolEvent, Submitter, WorkerSpec,
};

/// Where audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A capture device by name (`None`: the default input).
    Device(Option<String>),
    /// A WAV file played through the pipeline as if it were the microphone.
    /// `realtime`: at real-time pace (otherwise as fast as possible).
    File { path: PathBuf, realtime: bool },
}

/// Everything the front ends hear about.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// The recording started on this input (device name or file path).
    RecordingStarted { input: String, session_dir: PathBuf },
    /// Input level and speech probability, about 20 times a second while recording.
    Level(Level),
    /// The VAD opened an utterance (speech is being heard).
    SpeechStarted { id: u64, start_s: f64 },
    /// The open utterance turned out to be a blip (shorter than the minimum) and was dropped;
    /// the next `SpeechStarted` reuses its id (ids of queued utterances have no gaps).
    SpeechDiscarded { id: u64 },
    /// An utterance was closed, written to disk and queued for transcription.
    Queued {
        id: u64,
        start_s: f64,
        end_s: f64,
        wav: PathBuf,
    },
    /// A worker took the job.
    Transcribing { id: u64, worker: usize },
    /// The final text of an utterance.
    Transcribed(Transcript),
    /// An utterance could not be transcribed; its audio stays on disk at `wav`.
    Failed {
        id: u64,
        reason: String,
        wav: PathBuf,
    },
    /// Something the user should know that is not fatal (a worker was replaced, overruns).
    Notice(String),
    /// The recording ended (stop, or the input file finished): no more utterances follow.
    RecordingStopped,
    /// The audio source failed (device lost, unreadable file).
    SourceError(String),
    /// Interim text of the utterance still being spoken: `stable` is what two consecutive
    /// passes agreed on (it only grows), `tentative` the rest of the newest pass.
    Interim {
        id: u64,
        stable: String,
        tentative: String,
    },
    /// Worker pool state changed.
    Workers {
        busy: usize,
        idle: usize,
        queued: usize,
    },
}

/// Settings the engine needs (resolved from CLI + config by the caller).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub model: PathBuf,
    pub workers: usize,
    pub threads: usize,
    pub language: Option<String>,
    pub max_attempts: u32,
    pub segmenter: crate::audio::segmenter::SegmenterConfig,
    /// Folder under which each recording session gets its own folder of utterance WAVs.
    pub sessions_dir: PathBuf,
    /// Interim passes over the open utterance this often (None: off).
    pub interim: Option<Duration>,
    /// How workers are started (default: this binary in worker mode).
    pub worker: Option<WorkerSpec>,
}

/// The running engine: a warm worker pool plus, while recording, the audio thread.
pub struct Engine {
    cfg: EngineConfig,
    pool: Pool,
    submitter: Submitter,
    events: UnboundedSender<EngineEvent>,
    recording: Option<Recording>,
    /// Next utterance id: ids are unique over the engine's life, across sessions.
    next_id: Arc<AtomicU64>,
}

struct Recording {
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the worker pool (workers load the model in the background) and returns the event
    /// stream. ONNX Runtime must have been initialised ([`crate::ortlib::init`]).
    pub fn new(cfg: EngineConfig) -> anyhow::Result<(Engine, UnboundedReceiver<EngineEvent>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (pool_tx, pool_rx) = mpsc::unbounded_channel();
        let spec = match &cfg.worker {
            Some(s) => s.clone(),
            None => WorkerSpec::this_binary(&cfg.model, cfg.threads, cfg.language.as_deref())?,
        };
        let mut pool_cfg = PoolConfig::new(cfg.workers, spec);
        pool_cfg.max_attempts = cfg.max_attempts;
        let (pool, submitter) = Pool::start(pool_cfg, pool_tx);
        tokio::spawn(forward_pool_events(
            pool_rx,
            tx.clone(),
            submitter.interim_switch(),
            cfg.interim,
        ));
        Ok((
            Engine {
                cfg,
                pool,
                submitter,
                events: tx,
                recording: None,
                next_id: Arc::new(AtomicU64::new(1)),
            },
            rx,
        ))
    }

    /// Opens a new recording session on `source`. Errors (no such device, unreadable file) are
    /// returned here, not as events.
    pub fn start_recording(&mut self, source: Source) -> anyhow::Result<()> {
        if self.recording.is_some() {
            return Ok(());
        }
        let dir = new_session_dir(&self.cfg.sessions_dir)?;
        let journal = Arc::new(Journal::open(&dir)?);
        journal.append(
            &Entry::SessionStarted {
                time: session::now_text(),
                input: describe(&source),
                model: self.cfg.model.display().to_string(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            true,
        )?;
        let store = Store::new(journal.clone())?;
        let vad: pipeline::VadFactory =
            Box::new(|| Ok(Box::new(SileroVad::new()?) as Box<dyn Vad>));
        let events = self.events.clone();
        let submitter = self.submitter.clone();
        let next_id = self.next_id.clone();
        let emit = move |ev: AudioEvent| {
            if let AudioEvent::Utterance { id, .. } = &ev {
                next_id.fetch_max(id + 1, Ordering::SeqCst);
            }
            on_audio_event(ev, &events, &submitter, &journal)
        };
        let pcfg = PipelineConfig {
            segmenter: self.cfg.segmenter.clone(),
            store,
            first_id: self.next_id.load(Ordering::SeqCst),
            interim_every: self.cfg.interim,
        };
        let (thread, control, input) = pipeline::spawn(source, pcfg, vad, emit)?;
        let _ = self.events.send(EngineEvent::RecordingStarted {
            input,
            session_dir: dir,
        });
        self.recording = Some(Recording {
            control,
            thread: Some(thread),
        });
        Ok(())
    }

    /// Pauses within the session: the open utterance is closed and queued, then audio is
    /// neither recorded nor transcribed until [`Engine::resume`].
    pub fn pause(&mut self) {
        if let Some(r) = &self.recording {
            let _ = r.control.send(Control::Pause);
        }
    }

    pub fn resume(&mut self) {
        if let Some(r) = &self.recording {
            let _ = r.control.send(Control::Resume);
        }
    }

    /// Ends the recording session: the open utterance is closed and queued (not dropped);
    /// `RecordingStopped` follows once the audio thread has finished.
    pub fn stop_recording(&mut self) {
        if let Some(mut r) = self.recording.take() {
            let _ = r.control.send(Control::Stop);
            // The audio thread exits within one poll interval (10 ms) after flushing.
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// Call when `RecordingStopped` arrives on its own (end of input, device failure): forgets
    /// the finished audio thread so a new recording can start.
    pub fn recording_ended(&mut self) {
        if let Some(mut r) = self.recording.take()
            && let Some(t) = r.thread.take()
        {
            let _ = t.join();
        }
    }

    /// Queues again the utterances of an earlier session that have audio but no text (after a
    /// crash, or failed ones); their results are appended to that session's journal.
    pub fn resume_session(&mut self, s: &session::Session) -> anyhow::Result<Vec<u64>> {
        let journal = Arc::new(Journal::open(&s.dir)?);
        let mut ids = Vec::new();
        for u in s.untranscribed() {
            let (id, start_s, end_s, wav) = (u.id, u.start_s, u.end_s, u.wav.clone());
            let _ = self.events.send(EngineEvent::Queued {
                id,
                start_s,
                end_s,
                wav: wav.clone(),
            });
            let journal = Some(journal.clone());
            self.submitter.submit(Job {
                id,
                wav,
                start_s,
                end_s,
                closed_at: Instant::now(),
                journal,
            });
            ids.push(id);
        }
        Ok(ids)
    }

    /// Shows a message in the front end (as a notice event).
    pub fn notify(&self, message: impl Into<String>) {
        let _ = self.events.send(EngineEvent::Notice(message.into()));
    }

    /// True while a recording session is open (paused or not).
    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// Number of utterances queued or being transcribed.
    pub fn pending(&self) -> usize {
        self.pool.pending()
    }

    pub fn workers(&self) -> usize {
        self.pool.workers()
    }

    /// Stops recording, waits up to `wait` for pending jobs, then stops the workers.
    pub async fn shutdown(mut self, wait: Duration) {
        self.stop_recording();
        let Engine {
            pool, submitter, ..
        } = self;
        drop(submitter);
        pool.join(wait).await;
    }
}

/// `sessions/2026-11-25T21-10-58` (+ `-2`, `-3` … if two start in the same second), mode 0700:
/// the audio is the user's speech.
fn new_session_dir(root: &std::path::Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let stamp = session_stamp();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|e| anyhow::anyhow!("cannot create sessions folder '{}': {e}", root.display()))?;
    for n in 1..1000 {
        let name = if n == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = root.join(name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => anyhow::bail!("cannot create session folder '{}': {e}", dir.display()),
        }
    }
    anyhow::bail!("cannot create a session folder in '{}'", root.display())
}

fn session_stamp() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]-[minute]-[second]");
    now.format(&fmt).unwrap_or_else(|_| "session".into())
}

fn describe(source: &Source) -> String {
    match source {
        Source::Device(Some(d)) => d.clone(),
        Source::Device(None) => "default input".into(),
        Source::File { path, .. } => path.display().to_string(),
    }
}

/// Runs on the audio thread: utterances go to the pool (their WAV is already on disk and
/// journaled).
fn on_audio_event(
    ev: AudioEvent,
    events: &UnboundedSender<EngineEvent>,
    pool: &Submitter,
    journal: &Arc<Journal>,
) {
    let out = match ev {
        AudioEvent::Level(l) => EngineEvent::Level(l),
        AudioEvent::SpeechStarted { id, start_s } => EngineEvent::SpeechStarted { id, start_s },
        AudioEvent::SpeechDiscarded { id } => EngineEvent::SpeechDiscarded { id },
        AudioEvent::Utterance {
            id,
            start_s,
            end_s,
            wav,
        } => {
            let _ = events.send(EngineEvent::Queued {
                id,
                start_s,
                end_s,
                wav: wav.clone(),
            });
            let job = Job {
                id,
                wav,
                start_s,
                end_s,
                closed_at: Instant::now(),
                journal: Some(journal.clone()),
            };
            pool.submit(job);
            return;
        }
        AudioEvent::Notice(n) => EngineEvent::Notice(n),
        AudioEvent::Failed(reason) => EngineEvent::SourceError(reason),
        AudioEvent::Interim {
            id,
            start_s,
            end_s,
            wav,
        } => {
            if pool.interim_enabled() {
                let closed_at = Instant::now();
                pool.submit_interim(Job {
                    id,
                    wav,
                    start_s,
                    end_s,
                    closed_at,
                    journal: None,
                });
            }
            return;
        }
        AudioEvent::DeviceLost(reason) => {
            EngineEvent::Notice(format!("{reason}; recording is on hold until it is back"))
        }
        AudioEvent::DeviceBack(input) => {
            EngineEvent::Notice(format!("input '{input}' is back; recording continues"))
        }
        AudioEvent::Stopped => EngineEvent::RecordingStopped,
    };
    let _ = events.send(out);
}

async fn forward_pool_events(
    mut rx: UnboundedReceiver<PoolEvent>,
    tx: UnboundedSender<EngineEvent>,
    interim_switch: InterimSwitch,
    interval: Option<Duration>,
) {
    let mut interim = crate::transcribe::interim::Tracker::default();
    let interval_ms = interval.map_or(f64::INFINITY, |d| d.as_secs_f64() * 1000.0);
    while let Some(ev) = rx.recv().await {
        let out = match ev {
            PoolEvent::WorkerReady { slot, pid, load_ms } => {
                tracing::info!(slot, pid, load_ms, "worker ready");
                continue;
            }
            PoolEvent::Started { id, slot } => EngineEvent::Transcribing { id, worker: slot },
            PoolEvent::Done {
                job,
                text,
                segments,
                no_speech_prob,
                timings,
            } => {
                interim.finished(job.id);
                journal_result(
                    &job,
                    Entry::Transcribed {
                        id: job.id,
                        text: text.clone(),
                        segments: segments.clone(),
                        no_speech_prob,
                        timings: timings.clone(),
                    },
                );
                EngineEvent::Transcribed(Transcript {
                    id: job.id,
                    start_s: job.start_s,
                    end_s: job.end_s,
                    text,
                    segments,
                    no_speech_prob,
                    timings,
                })
            }
            PoolEvent::Failed { job, reason } => {
                interim.finished(job.id);
                journal_result(
                    &job,
                    Entry::Failed {
                        id: job.id,
                        reason: reason.clone(),
                    },
                );
                EngineEvent::Failed {
                    id: job.id,
                    reason,
                    wav: job.wav,
                }
            }
            PoolEvent::Notice(n) => EngineEvent::Notice(n),
            PoolEvent::Interim {
                id,
                text,
                worker_ms,
            } => {
                if interim.too_slow(worker_ms, interval_ms) && interim_switch.enabled() {
                    interim_switch.disable();
                    let _ = tx.send(EngineEvent::Notice(format!(
                        "live text turned off: passes take {:.1} s, longer than the machine can keep up with",
                        worker_ms / 1000.0
                    )));
                }
                match interim.pass(id, &text) {
                    Some((stable, tentative)) => EngineEvent::Interim {
                        id,
                        stable,
                        tentative,
                    },
                    None => continue,
                }
            }
            PoolEvent::Status { busy, idle, queued } => EngineEvent::Workers { busy, idle, queued },
        };
        if tx.send(out).is_err() {
            break;
        }
    }
}

/// Results are journaled (fsynced) before the front end sees them.
fn journal_result(job: &Job, entry: Entry) {
    if let Some(j) = &job.journal
        && let Err(e) = j.append(&entry, true)
    {
        tracing::error!("{e}");
    }
}
