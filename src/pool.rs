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

use crate::protocol::{Response, Segment, Timings};

mod process;
use process::WorkerProc;

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
    pub id: u64,
    pub wav: PathBuf,
    pub start_s: f64,
    pub end_s: f64,
    /// What the VAD knew about it, for the worker's guards and an overlapped split.
    pub hints: crate::audio::segmenter::Hints,
    /// When the segmenter closed it (latency is measured from here).
    pub closed_at: Instant,
    /// The session journal its result is written to.
    pub journal: Option<Arc<crate::session::Journal>>,
    /// Whose utterance it is: the live recording's, or an earlier session's being resumed
    /// (their ids may be equal: each session counts from 1).
    pub origin: Origin,
}

/// Whose utterance a job is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    #[default]
    Live,
    /// An earlier session transcribed in the background (`Engine::resume_in_background`).
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
        id: u64,
        origin: Origin,
        slot: usize,
    },
    Done {
        job: Job,
        text: String,
        segments: Vec<Segment>,
        no_speech_prob: f32,
        timings: Timings,
    },
    Failed {
        job: Job,
        reason: String,
    },
    /// Not fatal, worth telling the user (a worker was replaced).
    Notice(String),
    Status {
        busy: usize,
        idle: usize,
        queued: usize,
    },
    /// The text of an interim pass over an utterance still being spoken.
    Interim {
        id: u64,
        text: String,
        worker_ms: f64,
    },
}

enum Work {
    Final(Job),
    Interim(Option<Job>),
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
    busy: AtomicUsize,
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
    interim: Arc<InterimSlot>,
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
    pub fn submit(&self, job: Job) -> bool {
        self.interim.interrupt();
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
        let ok = self.tx.send(job).is_ok();
        emit_status(&self.counters, self.workers, &self.events);
        ok
    }
}

/// See [`Submitter::interim_switch`].
pub struct InterimSwitch(Arc<InterimSlot>);

impl InterimSwitch {
    pub fn enabled(&self) -> bool {
        !self.0.disabled.load(Ordering::Relaxed)
    }

    /// Turns interim passes off for good (the machine cannot keep up).
    pub fn disable(&self) {
        self.0.disabled.store(true, Ordering::Relaxed);
        self.0.take();
    }
}

fn emit_status(c: &Counters, workers: usize, events: &mpsc::UnboundedSender<PoolEvent>) {
    let busy = c.busy.load(Ordering::SeqCst);
    let _ = events.send(PoolEvent::Status {
        busy,
        idle: workers.saturating_sub(busy),
        queued: c.queued.load(Ordering::SeqCst),
    });
}

impl Pool {
    /// Starts the slots; each starts its worker at once so the model is warm for the first
    /// utterance. Must be called inside a tokio runtime.
    pub fn start(cfg: PoolConfig, events: mpsc::UnboundedSender<PoolEvent>) -> (Pool, Submitter) {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let interim = Arc::new(InterimSlot::default());
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
                    interim: interim.clone(),
                };
                tokio::spawn(s.run(rx.clone()))
            })
            .collect();
        let submitter = Submitter {
            tx: tx.clone(),
            interim,
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

struct Slot {
    index: usize,
    cfg: Arc<PoolConfig>,
    events: mpsc::UnboundedSender<PoolEvent>,
    counters: Arc<Counters>,
    worker: Option<WorkerProc>,
    interim: Arc<InterimSlot>,
}

impl Slot {
    async fn run(mut self, rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>>) {
        // Warm start; a failure here is retried when the first job arrives (once: see
        // `MAX_START_FAILURES`).
        let _ = self.ensure_worker().await;
        loop {
            let work = {
                let mut rx = rx.lock().await;
                // Final jobs first; an interim snapshot only when no final job waits.
                tokio::select! {
                    biased;
                    job = rx.recv() => job.map(Work::Final),
                    _ = self.interim.notify.notified() => Some(Work::Interim(self.interim.take())),
                }
            };
            let job = match work {
                None => break,
                Some(Work::Interim(None)) => continue,
                Some(Work::Interim(Some(job))) => {
                    // Not counted as busy: `pending()` is about final text only.
                    self.process_interim(job).await;
                    continue;
                }
                Some(Work::Final(job)) => job,
            };
            self.counters.queued.fetch_sub(1, Ordering::SeqCst);
            self.counters.busy.fetch_add(1, Ordering::SeqCst);
            emit_status(&self.counters, self.cfg.workers, &self.events);
            self.process_guarded(job).await;
            self.counters.busy.fetch_sub(1, Ordering::SeqCst);
            emit_status(&self.counters, self.cfg.workers, &self.events);
        }
        if let Some(w) = self.worker.take() {
            w.close().await;
        }
    }

    /// One interim pass: no retries (the next snapshot comes within a second); a failed
    /// worker is replaced quietly.
    async fn process_interim(&mut self, job: Job) {
        if self.ensure_worker().await.is_err() {
            return;
        }
        let audio_s = (job.end_s - job.start_s).max(0.0);
        let timeout = self.cfg.job_timeout_base
            + Duration::from_secs_f64(audio_s * self.cfg.job_timeout_per_audio_s);
        let worker = self.worker.as_mut().expect("ensured above");
        let pid = worker.pid;
        self.interim.set_running(pid, true);
        let result = worker.run_job(&job, timeout, true).await;
        self.interim.set_running(pid, false);
        match result {
            Ok(Response::Done {
                text, worker_ms, ..
            }) => {
                let _ = self.events.send(PoolEvent::Interim {
                    id: job.id,
                    text,
                    worker_ms,
                });
            }
            Ok(_) => {}
            Err(failure) => {
                tracing::warn!(slot = self.index, id = job.id, "interim pass: {failure}");
                self.worker = None;
            }
        }
    }

    async fn ensure_worker(&mut self) -> anyhow::Result<()> {
        if self.worker.is_none() {
            if let Some(why) = self.counters.gave_up() {
                anyhow::bail!("{why}");
            }
            let (w, load_ms) = match WorkerProc::spawn(&self.cfg.spec, self.cfg.start_timeout).await
            {
                Ok(started) => started,
                Err(e) => {
                    self.start_failed(&e);
                    return Err(e);
                }
            };
            self.counters.start_failures.store(0, Ordering::SeqCst);
            let _ = self.events.send(PoolEvent::WorkerReady {
                slot: self.index,
                pid: w.pid,
                load_ms,
            });
            self.worker = Some(w);
        }
        Ok(())
    }

    /// Counts a failed start; the one that reaches [`MAX_START_FAILURES`] stops all starts
    /// and says so once.
    fn start_failed(&self, e: &anyhow::Error) {
        let n = self.counters.start_failures.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::warn!(
            slot = self.index,
            failures = n,
            "worker failed to start: {e:#}"
        );
        if n == MAX_START_FAILURES {
            let why = format!(
                "the worker failed to start {n} times ({}); stopped trying: recordings stay on disk, `recorder sessions resume` transcribes them once it can start",
                crate::error_line(e)
            );
            *self
                .counters
                .gave_up
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
            let _ = self.events.send(PoolEvent::Notice(why));
        } else if n < MAX_START_FAILURES {
            let _ = self.events.send(PoolEvent::Notice(format!(
                "worker {} failed to start: {}; trying once more",
                self.index,
                crate::error_line(e)
            )));
        }
    }

    /// [`Slot::process`], with a panic in it turned into the job's failure: a panicking
    /// task once left the run waiting forever for a result that could not come.
    async fn process_guarded(&mut self, job: Job) {
        use futures::FutureExt;
        // The copy must not hold the journal: its last handle going is what ends a resumed
        // session (`Journal::ending_when_dropped`), and that must follow the last result.
        let journal = job.journal.as_ref().map(Arc::downgrade);
        let mut copy = Job {
            journal: None,
            ..job.clone()
        };
        let run = std::panic::AssertUnwindSafe(self.process(job)).catch_unwind();
        if let Err(panic) = run.await {
            copy.journal = journal.and_then(|w| w.upgrade());
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            tracing::error!(slot = self.index, id = copy.id, "internal error: {what}");
            self.worker = None;
            let reason = format!("internal error ({what}); the audio is kept");
            let _ = self.events.send(PoolEvent::Failed { job: copy, reason });
        }
    }

    async fn process(&mut self, job: Job) {
        let taken_at = Instant::now();
        let mut last_error = String::new();
        for attempt in 1..=self.cfg.max_attempts {
            if let Err(e) = self.ensure_worker().await {
                if let Some(why) = self.counters.gave_up() {
                    let _ = self.events.send(PoolEvent::Failed { job, reason: why });
                    return;
                }
                last_error = format!("worker failed to start: {e}");
                // Back off a little: a worker that cannot start now rarely can 1 ms later.
                tokio::time::sleep(Duration::from_millis(250 * attempt as u64)).await;
                continue;
            }
            let _ = self.events.send(PoolEvent::Started {
                id: job.id,
                origin: job.origin,
                slot: self.index,
            });
            let audio_s = (job.end_s - job.start_s).max(0.0);
            let timeout = self.cfg.job_timeout_base
                + Duration::from_secs_f64(audio_s * self.cfg.job_timeout_per_audio_s);
            let worker = self.worker.as_mut().expect("ensured above");
            match worker.run_job(&job, timeout, false).await {
                Ok(Response::Done {
                    text,
                    segments,
                    no_speech_prob,
                    encode_ms,
                    decode_ms,
                    worker_ms,
                    ..
                }) => {
                    let timings = Timings {
                        queue_ms: taken_at
                            .saturating_duration_since(job.closed_at)
                            .as_secs_f64()
                            * 1000.0,
                        encode_ms,
                        decode_ms,
                        worker_ms,
                        total_ms: job.closed_at.elapsed().as_secs_f64() * 1000.0,
                        attempts: attempt,
                    };
                    let _ = self.events.send(PoolEvent::Done {
                        job,
                        text,
                        segments,
                        no_speech_prob,
                        timings,
                    });
                    return;
                }
                Ok(Response::Error { message, .. }) => {
                    // The worker is fine; the job is not. Retrying is cheap and bounded.
                    last_error = message;
                }
                Ok(Response::Hello { .. }) => {
                    last_error = "worker restarted itself mid-job".into();
                    self.worker = None;
                }
                Err(failure) => {
                    let w = self.worker.take().expect("present");
                    let tail = w.stderr_tail();
                    last_error = if tail.is_empty() {
                        failure.to_string()
                    } else {
                        format!("{failure}; last output: {tail}")
                    };
                    tracing::warn!(slot = self.index, id = job.id, attempt, "{last_error}");
                    drop(w);
                    let _ = self.events.send(PoolEvent::Notice(format!(
                        "{failure} on utterance #{}; replaced it{}",
                        job.id,
                        if attempt < self.cfg.max_attempts {
                            " and retrying"
                        } else {
                            ""
                        }
                    )));
                }
            }
        }
        let reason = format!(
            "gave up after {} attempts: {last_error}",
            self.cfg.max_attempts
        );
        let _ = self.events.send(PoolEvent::Failed { job, reason });
    }
}
