//! The worker pool: N slots, each owning at most one `recorder worker` child process. A slot
//! takes the next job from a shared queue, sends it, and waits for the answer with a timeout
//! scaled to the audio length. A worker that dies (EOF / broken pipe), hangs (timeout) or sends
//! a malformed frame is killed and replaced, and the job is tried again, up to `max_attempts`;
//! then the utterance is reported failed (its audio stays on disk).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::protocol::{Segment, Timings};
use crate::session::Journal;
use crate::vocab::{RecordingId, UtteranceId, UtteranceRef};

pub mod context;
mod process;
mod slot;
mod speculate;
pub use context::Context;
use slot::Slot;
use speculate::{Adopted, Said, Speculations};

/// How to start a worker process.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl WorkerSpec {
    /// This same binary in worker mode.
    pub fn this_binary(
        model: &std::path::Path,
        threads: usize,
        language: Option<&str>,
    ) -> anyhow::Result<Self> {
        let program = std::env::current_exe()?;
        let mut args: Vec<OsString> = vec![
            "worker".into(),
            "--ggml".into(),
            model.into(),
            "--n-threads".into(),
            threads.to_string().into(),
        ];
        if let Some(l) = language {
            args.push("--lang".into());
            args.push(l.into());
        }
        Ok(WorkerSpec { program, args })
    }

    /// How the pool starts workers for `cfg`: this binary in worker mode with the model,
    /// threads, language and the decoding options (`--translate`, `--vocabulary`).
    pub fn for_config(
        cfg: &crate::config::Config,
        model: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let mut spec = WorkerSpec::this_binary(model, cfg.threads, cfg.language.as_deref())?;
        let options = crate::protocol::DecodeOptions {
            language: cfg.language.clone(),
            translate: cfg.translate,
            vocabulary: cfg.vocabulary.clone(),
            tuning: cfg.tuning.clone().with_env(),
        };
        spec.args.extend(options.worker_args());
        Ok(spec)
    }
}

#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub workers: usize,
    pub spec: WorkerSpec,
    pub max_attempts: u32,
    /// Time allowed for a worker to load its model and say hello.
    pub start_timeout: Duration,
    /// Job timeout = `job_timeout_base` + `job_timeout_per_audio_s` × audio seconds.
    pub job_timeout_base: Duration,
    pub job_timeout_per_audio_s: f64,
}

impl PoolConfig {
    pub fn new(workers: usize, spec: WorkerSpec) -> Self {
        PoolConfig {
            workers,
            spec,
            max_attempts: 3,
            start_timeout: Duration::from_secs(120),
            // tiny.en on 2 cores runs ~10x faster than real time; 30 s + 10x the audio leaves
            // room for big models on slow machines while still catching a hung worker.
            job_timeout_base: Duration::from_secs(30),
            job_timeout_per_audio_s: 10.0,
        }
    }
}

/// One utterance to transcribe.
#[derive(Debug, Clone)]
pub struct Job {
    /// The utterance: its id, times, WAV, and what the VAD knew about it (for the worker's
    /// guards and an overlapped split).
    pub utt: UtteranceRef,
    /// When the segmenter closed it (latency is measured from here).
    pub closed_at: Instant,
    /// The session journal its result is written to.
    pub journal: Option<Arc<Journal>>,
    /// The session's texts so far: the one before this utterance goes into its prompt, and
    /// its own final text is recorded there.
    pub context: Option<Arc<Context>>,
    /// Whose utterance it is: a recording's (or a foreground resume's), or an earlier
    /// session's being resumed in the background (their ids may be equal: each session
    /// counts from 1).
    pub origin: Origin,
    /// A due full-window re-check is left to the settle pass (which is on): the text goes
    /// out at once, marked unsure (a re-check took 0.4-3.5 s on 3 s clips of the eval set).
    pub defer_recheck: bool,
    /// A speculative final's text goes here when it is in (the audio thread's endpointing).
    pub tell: Option<crossbeam_channel::Sender<crate::vocab::Speculated>>,
}

impl Job {
    /// A job for `utt`, closed now.
    pub fn new(utt: UtteranceRef, origin: Origin, journal: Option<Arc<Journal>>) -> Job {
        Job {
            utt,
            closed_at: Instant::now(),
            journal,
            context: None,
            origin,
            defer_recheck: false,
            tell: None,
        }
    }

    /// With the session's texts (see [`Job::context`]).
    pub fn with_context(self, context: Option<Arc<Context>>) -> Job {
        Job { context, ..self }
    }

    /// With the re-check left to the settle pass (see [`Job::defer_recheck`]).
    pub fn deferring_recheck(self, defer_recheck: bool) -> Job {
        Job {
            defer_recheck,
            ..self
        }
    }

    pub fn id(&self) -> UtteranceId {
        self.utt.id
    }
}

/// Why a job ended without text (its audio stays on disk). Rendered to text only where it
/// is shown or journaled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobFailure {
    /// Every attempt failed; `last` is the last attempt's error (a worker's crash with its
    /// last output, a timeout, the worker's own error message).
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
    /// The pool stopped starting workers (each start failed, e.g. a broken model file).
    #[error("{0}")]
    NoWorkers(String),
    /// A bug of ours while handling the job.
    #[error("internal error ({0}); the audio is kept")]
    Internal(String),
}

/// Whose utterance a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Recording `RecordingId`'s (the engine's events name it).
    Live(RecordingId),
    /// An earlier session transcribed in the background (`Engine::resume_in_background`):
    /// reported only as progress.
    Resumed,
}

#[derive(Debug, Clone)]
pub enum PoolEvent {
    /// A worker loaded its model and is ready.
    WorkerReady {
        slot: usize,
        pid: u32,
        load_ms: f64,
    },
    Started {
        id: UtteranceId,
        origin: Origin,
        slot: usize,
    },
    Done {
        job: Job,
        text: String,
        segments: Vec<Segment>,
        no_speech_prob: f32,
        timings: Timings,
        /// Its full-window re-check was deferred to a settle pass ([`Job::defer_recheck`]).
        unsure: bool,
    },
    Failed {
        job: Job,
        reason: JobFailure,
    },
    /// Not fatal, worth telling the user (a worker was replaced).
    Notice(String),
    /// `ready`: a worker has loaded its model (and the pool has not given up starting
    /// them); sent as soon as the first one has, before any job.
    Status {
        busy: usize,
        idle: usize,
        queued: usize,
        ready: bool,
    },
    /// A settle pass ended: its text, or why there is none (a final job cut it short, or the
    /// worker failed: the first texts stand).
    Settled {
        job: Job,
        result: Result<SettleText, String>,
    },
    /// The text of an interim pass over an utterance still being spoken.
    Interim {
        id: UtteranceId,
        origin: Origin,
        text: String,
        worker_ms: f64,
    },
}

/// What a settle pass said.
#[derive(Debug, Clone)]
pub struct SettleText {
    pub text: String,
    pub segments: Vec<Segment>,
    pub worker_ms: f64,
}

enum Work {
    Final(Job),
    Speculative(Option<Job>),
    Interim(Option<Job>),
    Settle(Option<Job>),
}

/// Settle passes waiting for a worker with nothing else to do (oldest first).
#[derive(Default)]
struct SettleQueue {
    jobs: Mutex<std::collections::VecDeque<Job>>,
    notify: tokio::sync::Notify,
}

impl SettleQueue {
    fn put(&self, job: Job) {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(job);
        self.notify.notify_one();
    }

    fn take(&self) -> Option<Job> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let job = jobs.pop_front();
        if !jobs.is_empty() {
            // One permit per wake-up: the next slot to look takes the next one.
            self.notify.notify_one();
        }
        job
    }
}

/// The newest interim snapshot waiting for a free worker; a newer one replaces it (only the
/// newest matters, so interim passes never queue up behind each other).
#[derive(Default)]
struct InterimSlot {
    job: Mutex<Option<Job>>,
    notify: tokio::sync::Notify,
    disabled: std::sync::atomic::AtomicBool,
    /// Workers running an interim pass now: a final job arriving interrupts them (SIGUSR1
    /// makes whisper.cpp's abort callback stop the pass), so final text never waits for one.
    running: Mutex<Vec<u32>>,
}

impl InterimSlot {
    fn put(&self, job: Job) {
        *self.job.lock().unwrap_or_else(|p| p.into_inner()) = Some(job);
        self.notify.notify_one();
    }

    fn take(&self) -> Option<Job> {
        self.job.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn set_running(&self, pid: u32, on: bool) {
        let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        r.retain(|&p| p != pid);
        if on {
            r.push(pid);
        }
    }

    fn interrupt(&self) {
        for &pid in self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            // SAFETY: kill(2) on a worker child of ours; a stale pid at worst gets a
            // signal it ignores (workers handle SIGUSR1) or ESRCH.
            unsafe {
                libc::kill(pid as i32, libc::SIGUSR1);
            }
        }
    }
}

#[derive(Default)]
struct Counters {
    queued: AtomicUsize,
    /// Final jobs submitted so far (a settle pass that saw it change was cut short).
    submitted: std::sync::atomic::AtomicU64,
    busy: AtomicUsize,
    /// A worker has started (loaded its model) at least once.
    started: std::sync::atomic::AtomicBool,
    /// Worker starts that failed in a row, over all slots.
    start_failures: AtomicUsize,
    /// Set once starts failed [`MAX_START_FAILURES`] times in a row: why. No more starts are
    /// tried; jobs fail at once (their audio stays on disk for `sessions resume`).
    gave_up: std::sync::Mutex<Option<String>>,
}

/// Worker starts that may fail in a row before the pool stops trying: a worker that cannot
/// load its model twice will not the third time, and each try can cost seconds and much
/// memory (a damaged model took every worker to ~24 GB).
const MAX_START_FAILURES: usize = 2;

impl Counters {
    fn gave_up(&self) -> Option<String> {
        self.gave_up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Handle for submitting jobs; dropping every handle (or [`Pool::close`]) lets the slots finish
/// their queue and exit.
pub struct Pool {
    tx: Option<mpsc::UnboundedSender<Job>>,
    counters: Arc<Counters>,
    slots: Vec<tokio::task::JoinHandle<()>>,
    workers: usize,
}

/// A cheap clonable submitter (the audio thread uses one).
#[derive(Clone)]
pub struct Submitter {
    tx: mpsc::UnboundedSender<Job>,
    spec: Arc<Speculations>,
    interim: Arc<InterimSlot>,
    settle: Arc<SettleQueue>,
    counters: Arc<Counters>,
    events: mpsc::UnboundedSender<PoolEvent>,
    workers: usize,
}

impl Submitter {
    /// Offers an interim snapshot: it runs when a worker is free and no final job waits;
    /// a newer snapshot replaces it meanwhile.
    pub fn submit_interim(&self, job: Job) {
        if self.interim_enabled() {
            self.interim.put(job);
        }
    }

    /// A handle for settle passes that, unlike a `Submitter`, does not keep the job queue
    /// open (the settler lives as long as the results task).
    pub fn settle_queue(&self) -> SettleSubmitter {
        SettleSubmitter(self.settle.clone())
    }

    pub fn interim_enabled(&self) -> bool {
        !self.interim.disabled.load(Ordering::Relaxed)
    }

    /// A handle to turn interim passes off that, unlike a `Submitter`, does not keep the job
    /// queue open (so it cannot delay the pool's shutdown).
    pub fn interim_switch(&self) -> InterimSwitch {
        InterimSwitch(self.interim.clone())
    }
}

impl Submitter {
    /// Offers a speculative final (see `pool/speculate.rs`): the audio of an utterance whose
    /// cut is fixed unless the speaker goes on. It runs after the final jobs waiting, before
    /// interim snapshots; the utterance's final job, submitted when it closes with that cut,
    /// takes its result.
    pub fn speculate(&self, job: Job) {
        tracing::debug!(
            id = job.id().0,
            end_s = job.utt.span.end_s,
            "speculation offered"
        );
        self.spec.put(job);
        // It is a final pass: an interim one in the way is cut short, as for a final job.
        self.interim.interrupt();
    }

    /// The speaker went on: utterance `id`'s speculation is void (cut short if running).
    pub fn cancel_speculation(&self, id: UtteranceId) {
        self.spec.cancel(id);
    }

    /// Queues a final job (answered by a speculation over the same cut when there is one).
    pub fn submit(&self, job: Job) -> bool {
        let job = match self.spec.adopt(job) {
            Adopted::No(job) => job,
            Adopted::Now(answer) => {
                let (job, said) = *answer;
                tracing::debug!(id = job.id().0, "final answered by its speculation");
                answer_with(&self.events, job, said);
                return true;
            }
            Adopted::Waiting => {
                tracing::debug!("final waits for its speculation");
                // Being decoded now: counted busy until the speculation answers it.
                self.counters.busy.fetch_add(1, Ordering::SeqCst);
                emit_status(&self.counters, self.workers, &self.events);
                return true;
            }
        };
        self.counters.submitted.fetch_add(1, Ordering::SeqCst);
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
        self.interim.interrupt();
        let ok = self.tx.send(job).is_ok();
        emit_status(&self.counters, self.workers, &self.events);
        ok
    }
}

/// See [`Submitter::settle_queue`].
pub struct SettleSubmitter(Arc<SettleQueue>);

impl SettleSubmitter {
    /// Offers a settle pass (see `engine::settle`): it runs only when a worker is free and
    /// no final job or interim snapshot waits, and a final job arriving cuts it short.
    pub fn submit(&self, job: Job) {
        self.0.put(job);
    }
}

/// See [`Submitter::interim_switch`].
pub struct InterimSwitch(Arc<InterimSlot>);

impl InterimSwitch {
    pub fn enabled(&self) -> bool {
        !self.0.disabled.load(Ordering::Relaxed)
    }

    /// Turns interim passes off (the machine cannot keep up).
    pub fn disable(&self) {
        self.0.disabled.store(true, Ordering::Relaxed);
        self.0.take();
    }

    /// Turns them on again (it keeps up again).
    pub fn enable(&self) {
        self.0.disabled.store(false, Ordering::Relaxed);
    }
}

/// Sends `job`'s result as a speculation over its cut said it.
fn answer_with(events: &mpsc::UnboundedSender<PoolEvent>, job: Job, said: Said) {
    let timings = said.timings(&job);
    send_done(events, job, said, timings);
}

/// Reports `job` done with what the worker said. Its text is recorded as the context first:
/// the next job's prompt needs it (the results task records the seam-reconciled text again
/// later).
fn send_done(events: &mpsc::UnboundedSender<PoolEvent>, job: Job, said: Said, timings: Timings) {
    if let Some(c) = &job.context {
        c.record(job.id(), &said.text);
    }
    let _ = events.send(PoolEvent::Done {
        job,
        text: said.text,
        segments: said.segments,
        no_speech_prob: said.no_speech_prob,
        timings,
        unsure: said.unsure,
    });
}

fn emit_status(c: &Counters, workers: usize, events: &mpsc::UnboundedSender<PoolEvent>) {
    let busy = c.busy.load(Ordering::SeqCst);
    let _ = events.send(PoolEvent::Status {
        busy,
        idle: workers.saturating_sub(busy),
        queued: c.queued.load(Ordering::SeqCst),
        ready: c.started.load(Ordering::SeqCst) && c.gave_up().is_none(),
    });
}

impl Pool {
    /// Starts the slots; each starts its worker at once so the model is warm for the first
    /// utterance. Must be called inside a tokio runtime.
    pub fn start(cfg: PoolConfig, events: mpsc::UnboundedSender<PoolEvent>) -> (Pool, Submitter) {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let interim = Arc::new(InterimSlot::default());
        let spec = Arc::new(Speculations::default());
        let settle = Arc::new(SettleQueue::default());
        let counters = Arc::new(Counters::default());
        let cfg = Arc::new(cfg);
        let slots = (0..cfg.workers)
            .map(|slot| {
                let s = Slot {
                    index: slot,
                    cfg: cfg.clone(),
                    events: events.clone(),
                    counters: counters.clone(),
                    worker: None,
                    spec: spec.clone(),
                    interim: interim.clone(),
                    settle: settle.clone(),
                };
                tokio::spawn(s.run(rx.clone()))
            })
            .collect();
        let submitter = Submitter {
            tx: tx.clone(),
            spec,
            interim,
            settle,
            counters: counters.clone(),
            events,
            workers: cfg.workers,
        };
        (
            Pool {
                tx: Some(tx),
                counters,
                slots,
                workers: cfg.workers,
            },
            submitter,
        )
    }

    /// Jobs queued or being transcribed.
    pub fn pending(&self) -> usize {
        self.counters.queued.load(Ordering::SeqCst) + self.counters.busy.load(Ordering::SeqCst)
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Stops taking new jobs; the slots finish what is queued (while any `Submitter` lives, it
    /// can still add jobs), then close their workers' stdin and exit.
    pub fn close(&mut self) {
        self.tx = None;
    }

    /// Waits for the slots to finish, at most `wait`; then kills what is left.
    pub async fn join(mut self, wait: Duration) {
        self.close();
        let all = futures::future::join_all(self.slots.iter_mut());
        if tokio::time::timeout(wait, all).await.is_err() {
            for s in &self.slots {
                s.abort();
            }
        }
    }
}
