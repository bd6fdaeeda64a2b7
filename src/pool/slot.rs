//! One slot of the pool (a tokio task): keeps its worker process, takes the next job (finals
//! before interim snapshots), retries a job on a fresh worker when one dies or hangs, and
//! stops starting workers after [`MAX_START_FAILURES`] failures in a row.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::process::{Pass, WorkerFailure, WorkerProc};
use super::speculate::{Ended, Said, Speculations};
use super::{
    Counters, InterimSlot, Job, JobFailure, MAX_START_FAILURES, PoolConfig, PoolEvent, SettleQueue,
    SettleText, Work, emit_status,
};
use crate::protocol::{Response, Timings};
use crate::vocab::UtteranceId;

/// Milliseconds from `from` to `to` (0 if `to` is earlier).
fn ms_between(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1000.0
}

pub(super) struct Slot {
    pub(super) index: usize,
    pub(super) cfg: Arc<PoolConfig>,
    pub(super) events: mpsc::UnboundedSender<PoolEvent>,
    pub(super) counters: Arc<Counters>,
    pub(super) worker: Option<WorkerProc>,
    pub(super) spec: Arc<Speculations>,
    pub(super) interim: Arc<InterimSlot>,
    pub(super) settle: Arc<SettleQueue>,
}

impl Slot {
    pub(super) async fn run(mut self, rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>>) {
        // Warm start; a failure here is retried when the first job arrives (once: see
        // `MAX_START_FAILURES`).
        let _ = self.ensure_worker().await;
        loop {
            let work = {
                let mut rx = rx.lock().await;
                // Final jobs first, then a speculative final; an interim snapshot only when
                // none of those waits, a settle pass only when nothing else does.
                tokio::select! {
                    biased;
                    job = rx.recv() => job.map(Work::Final),
                    _ = self.spec.notify.notified() => Some(Work::Speculative(self.spec.take())),
                    _ = self.interim.notify.notified() => Some(Work::Interim(self.interim.take())),
                    _ = self.settle.notify.notified() => Some(Work::Settle(self.settle.take())),
                }
            };
            let job = match work {
                None => break,
                Some(Work::Interim(None) | Work::Settle(None) | Work::Speculative(None)) => {
                    continue;
                }
                Some(Work::Speculative(Some(job))) => {
                    self.process_speculation(job).await;
                    continue;
                }
                Some(Work::Settle(Some(job))) => {
                    self.process_settle(job).await;
                    continue;
                }
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
        let timeout = self.timeout(&job);
        let worker = self.worker.as_mut().expect("ensured above");
        let pid = worker.pid;
        self.interim.set_running(pid, true);
        let result = worker.run_job(&job, timeout, Pass::Interim).await;
        self.interim.set_running(pid, false);
        match result {
            Ok(Response::Done {
                text, worker_ms, ..
            }) => {
                let _ = self.events.send(PoolEvent::Interim {
                    id: job.id(),
                    origin: job.origin,
                    text,
                    worker_ms,
                });
            }
            Ok(_) => {}
            Err(failure) => {
                tracing::warn!(
                    slot = self.index,
                    id = job.id().0,
                    "interim pass: {failure}"
                );
                self.worker = None;
            }
        }
    }

    /// One speculative final: decoded as a final pass; its result answers the utterance's
    /// final job if that has come meanwhile (or a failure hands the job back to be run as
    /// usual), else it waits for it (`pool/speculate.rs`).
    async fn process_speculation(&mut self, job: Job) {
        let said = self.speculative_pass(&job).await;
        match self.spec.finish(&job, said) {
            Ended::Nothing => return,
            Ended::Kept(text) => {
                if let Some(tell) = &job.tell {
                    let _ = tell.send(crate::vocab::Speculated {
                        id: job.id(),
                        span: job.utt.span,
                        text,
                    });
                }
                return;
            }
            Ended::Answer(answer) => {
                let (job, said) = *answer;
                super::answer_with(&self.events, job, said);
            }
            Ended::Retry(job) => self.process_guarded(job).await,
        }
        // The adopted job was counted busy from its submission (`Submitter::submit`).
        self.counters.busy.fetch_sub(1, Ordering::SeqCst);
        emit_status(&self.counters, self.cfg.workers, &self.events);
    }

    async fn speculative_pass(&mut self, job: &Job) -> Option<Said> {
        self.ensure_worker().await.ok()?;
        let timeout = self.timeout(job);
        let worker = self.worker.as_mut().expect("ensured above");
        self.spec.started(job, worker.pid);
        match worker
            .run_job(job, timeout, Pass::Speculative)
            .await
            .map(Said::from_response)
        {
            Ok(Ok(said)) => Some(said),
            // Cut short ("interrupted") or the job's own error: the final job tells.
            Ok(Err(Response::Error { message, .. })) => {
                tracing::debug!(slot = self.index, id = job.id().0, "speculation: {message}");
                None
            }
            Ok(Err(_)) => {
                self.worker = None;
                None
            }
            Err(failure) => {
                tracing::warn!(slot = self.index, id = job.id().0, "speculation: {failure}");
                self.worker = None;
                None
            }
        }
    }

    /// One settle pass: interruptible like an interim pass (a final job arriving cuts it
    /// short and its result is dropped), no retries (the first texts stand).
    async fn process_settle(&mut self, job: Job) {
        let result = self.settle_pass(&job).await;
        if let Err(why) = &result {
            tracing::debug!(slot = self.index, id = job.id().0, "settle pass: {why}");
        }
        let _ = self.events.send(PoolEvent::Settled { job, result });
    }

    async fn settle_pass(&mut self, job: &Job) -> Result<SettleText, String> {
        self.ensure_worker().await.map_err(|e| e.to_string())?;
        let timeout = self.timeout(job);
        let worker = self.worker.as_mut().expect("ensured above");
        let pid = worker.pid;
        self.interim.set_running(pid, true);
        // A final job queued before this pass was registered as interruptible would not
        // interrupt it: look once more.
        let waiting = || self.counters.queued.load(Ordering::SeqCst) > 0;
        if waiting() {
            self.interim.set_running(pid, false);
            return Err("a final job is waiting".into());
        }
        let finals_before = self.counters.submitted.load(Ordering::SeqCst);
        let result = worker.run_job(job, timeout, Pass::Settle).await;
        self.interim.set_running(pid, false);
        let cut_short = self.counters.submitted.load(Ordering::SeqCst) != finals_before;
        match result {
            Ok(_) if cut_short => Err("a final job cut it short".into()),
            Ok(Response::Done {
                text,
                segments,
                worker_ms,
                ..
            }) => Ok(SettleText {
                text,
                segments,
                worker_ms,
            }),
            Ok(Response::Error { message, .. }) => Err(message),
            Ok(Response::Hello { .. }) => {
                self.worker = None;
                Err("worker restarted itself mid-job".into())
            }
            Err(failure) => {
                self.worker = None;
                Err(failure.to_string())
            }
        }
    }

    /// How long `job` may take: the base plus so much per second of its audio.
    fn timeout(&self, job: &Job) -> Duration {
        let audio_s = job.utt.span.duration_s().max(0.0);
        self.cfg.job_timeout_base
            + Duration::from_secs_f64(audio_s * self.cfg.job_timeout_per_audio_s)
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
            // The header says "ready" now, not at the first utterance (it said "workers
            // starting" until then, and forever with `--idle`).
            if !self.counters.started.swap(true, Ordering::SeqCst) {
                emit_status(&self.counters, self.cfg.workers, &self.events);
            }
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
            tracing::error!(
                slot = self.index,
                id = copy.id().0,
                "internal error: {what}"
            );
            self.worker = None;
            let reason = JobFailure::Internal(what.to_string());
            let _ = self.events.send(PoolEvent::Failed { job: copy, reason });
        }
    }

    /// Drops a worker that failed job `id` (it is replaced on the next attempt), tells the
    /// user, and returns the reason with the worker's last output.
    fn replace_failed(&mut self, failure: &WorkerFailure, id: UtteranceId, attempt: u32) -> String {
        let tail = self
            .worker
            .take()
            .map(|w| w.stderr_tail())
            .unwrap_or_default();
        let reason = if tail.is_empty() {
            failure.to_string()
        } else {
            format!("{failure}; last output: {tail}")
        };
        tracing::warn!(slot = self.index, id = id.0, attempt, "{reason}");
        let retrying = if attempt < self.cfg.max_attempts {
            " and retrying"
        } else {
            ""
        };
        let _ = self.events.send(PoolEvent::Notice(format!(
            "{failure} on utterance #{id}; replaced it{retrying}"
        )));
        reason
    }

    async fn process(&mut self, job: Job) {
        let taken_at = Instant::now();
        let mut last_error = String::new();
        for attempt in 1..=self.cfg.max_attempts {
            if let Err(e) = self.ensure_worker().await {
                if let Some(why) = self.counters.gave_up() {
                    let reason = JobFailure::NoWorkers(why);
                    let _ = self.events.send(PoolEvent::Failed { job, reason });
                    return;
                }
                last_error = format!("worker failed to start: {e}");
                // Back off a little: a worker that cannot start now rarely can 1 ms later.
                tokio::time::sleep(Duration::from_millis(250 * attempt as u64)).await;
                continue;
            }
            let _ = self.events.send(PoolEvent::Started {
                id: job.id(),
                origin: job.origin,
                slot: self.index,
            });
            let timeout = self.timeout(&job);
            let worker = self.worker.as_mut().expect("ensured above");
            match worker
                .run_job(&job, timeout, Pass::Final)
                .await
                .map(Said::from_response)
            {
                Ok(Ok(said)) => {
                    let timings = Timings {
                        queue_ms: ms_between(job.closed_at, taken_at),
                        encode_ms: said.encode_ms,
                        decode_ms: said.decode_ms,
                        worker_ms: said.worker_ms,
                        total_ms: ms_between(job.closed_at, Instant::now()),
                        attempts: attempt,
                        speculative: false,
                    };
                    super::send_done(&self.events, job, said, timings);
                    return;
                }
                Ok(Err(Response::Error { message, .. })) => {
                    // The worker is fine; the job is not. Retrying is cheap and bounded.
                    last_error = message;
                }
                Ok(Err(_)) => {
                    last_error = "worker restarted itself mid-job".into();
                    self.worker = None;
                }
                Err(failure) => last_error = self.replace_failed(&failure, job.id(), attempt),
            }
        }
        let reason = JobFailure::GaveUp {
            attempts: self.cfg.max_attempts,
            last: last_error,
        };
        let _ = self.events.send(PoolEvent::Failed { job, reason });
    }
}
