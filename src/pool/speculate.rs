//! Speculative finals: the final pass of an utterance started before the segmenter closes it.
//!
//! Once the speaker has been quiet for the segmenter's post-roll, the utterance's cut is
//! fixed (its audio ends `post_roll_ms` after the last voiced chunk) unless they go on; the
//! segmenter still waits for `end_silence_ms` before it closes it (576 ms, most of the 0.9 s
//! from speech end to final text through the microphone). The audio thread offers that audio
//! here as soon as the cut is fixed; a worker decodes it as a final pass (same guards, same
//! re-check, same context) while the segmenter waits. When the utterance closes with that
//! very cut, its final job is *adopted*: answered with the speculation's result, at once if
//! it is in, or the moment it is. New speech cancels it (SIGUSR1, as for an interim pass).
//!
//! Priority: after final jobs (they are ready now), before interim snapshots and settle
//! passes. A final job arriving does not interrupt a speculation (it is a final too).

use std::sync::Mutex;
use std::time::Instant;

use super::Job;
use crate::protocol::{Response, Segment, Timings};
use crate::vocab::UtteranceId;

/// What a speculative pass said (a `Response::Done`'s fields).
#[derive(Debug, Clone)]
pub(super) struct Said {
    pub text: String,
    pub segments: Vec<Segment>,
    pub no_speech_prob: f32,
    pub encode_ms: f64,
    pub decode_ms: f64,
    pub worker_ms: f64,
    pub unsure: bool,
}

impl Said {
    /// A `done` answer's fields; any other answer back as it was.
    pub(super) fn from_response(r: Response) -> Result<Said, Response> {
        match r {
            Response::Done {
                text,
                segments,
                no_speech_prob,
                encode_ms,
                decode_ms,
                worker_ms,
                unsure,
                ..
            } => Ok(Said {
                text,
                segments,
                no_speech_prob,
                encode_ms,
                decode_ms,
                worker_ms,
                unsure,
            }),
            other => Err(other),
        }
    }

    /// The timings of `job` answered by this pass (`queue_ms` 0: it never waited).
    pub(super) fn timings(&self, job: &Job) -> Timings {
        Timings {
            queue_ms: 0.0,
            encode_ms: self.encode_ms,
            decode_ms: self.decode_ms,
            worker_ms: self.worker_ms,
            total_ms: Instant::now()
                .saturating_duration_since(job.closed_at)
                .as_secs_f64()
                * 1000.0,
            attempts: 1,
            speculative: true,
        }
    }
}

struct Running {
    job: Job,
    pid: u32,
    cancelled: bool,
    /// The utterance closed with this cut: its final job waits for this pass.
    adopted: Option<Job>,
}

#[derive(Default)]
struct Inner {
    queued: Option<Job>,
    running: Vec<Running>,
    /// Finished passes not yet adopted (at most a couple: a newer one replaces its id's).
    done: Vec<(Job, Said)>,
}

/// The speculations of one pool.
#[derive(Default)]
pub(super) struct Speculations {
    inner: Mutex<Inner>,
    pub(super) notify: tokio::sync::Notify,
}

/// What [`Speculations::adopt`] did with a final job.
pub(super) enum Adopted {
    /// Answered now by a finished pass: send this `Done`.
    Now(Box<(Job, Said)>),
    /// A pass over the same audio is running: it answers the job when it ends.
    Waiting,
    /// No speculation covers it: queue it as usual.
    No(Job),
}

/// What became of a pass that ended ([`Speculations::finish`]).
pub(super) enum Ended {
    /// Cancelled or failed: nothing to send.
    Nothing,
    /// Kept for its final job: its text, for the audio thread (`Job::tell`).
    Kept(String),
    /// Its utterance's final job was waiting: answer it with this.
    Answer(Box<(Job, Said)>),
    /// Its utterance's final job was waiting but the pass failed: run the job as usual.
    Retry(Job),
}

/// The same utterance cut the same way (its audio is the same samples).
fn same_cut(a: &Job, b: &Job) -> bool {
    a.origin == b.origin
        && a.utt.id == b.utt.id
        && a.utt.span == b.utt.span
        && a.utt.hints == b.utt.hints
}

impl Speculations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers a speculation; a newer one replaces one still waiting for a worker.
    pub(super) fn put(&self, job: Job) {
        let mut inner = self.lock();
        let id = job.utt.id;
        inner.done.retain(|(j, _)| j.utt.id != id);
        inner.queued = Some(job);
        drop(inner);
        self.notify.notify_one();
    }

    /// The speculation waiting for a worker, if any.
    pub(super) fn take(&self) -> Option<Job> {
        self.lock().queued.take()
    }

    /// The speaker went on: utterance `id`'s speculation no longer matches its cut (a pass
    /// already answering its final job is left alone).
    pub(super) fn cancel(&self, id: UtteranceId) {
        self.cancel_where(|j| j.utt.id == id);
    }

    fn cancel_where(&self, of: impl Fn(&Job) -> bool) {
        let mut inner = self.lock();
        if inner.queued.as_ref().is_some_and(&of) {
            inner.queued = None;
        }
        inner.done.retain(|(j, _)| !of(j));
        for r in inner
            .running
            .iter_mut()
            .filter(|r| of(&r.job) && r.adopted.is_none())
        {
            r.cancelled = true;
            if r.pid == 0 {
                continue;
            }
            // SAFETY: kill(2) on a worker child of ours; a stale pid at worst gets a signal
            // it ignores (workers handle SIGUSR1) or ESRCH.
            unsafe {
                libc::kill(r.pid as i32, libc::SIGUSR1);
            }
        }
    }

    /// Marks `job` as running on worker `pid`.
    pub(super) fn started(&self, job: &Job, pid: u32) {
        self.lock().running.push(Running {
            job: job.clone(),
            pid,
            cancelled: false,
            adopted: None,
        });
    }

    /// A final job: answered by a speculation over the same cut when there is one.
    pub(super) fn adopt(&self, job: Job) -> Adopted {
        let mut inner = self.lock();
        if let Some(i) = inner.done.iter().position(|(j, _)| same_cut(j, &job)) {
            let (_, said) = inner.done.remove(i);
            return Adopted::Now(Box::new((job, said)));
        }
        let id = job.utt.id;
        if let Some(r) = inner
            .running
            .iter_mut()
            .find(|r| !r.cancelled && r.adopted.is_none() && same_cut(&r.job, &job))
        {
            r.adopted = Some(job);
            return Adopted::Waiting;
        }
        // Anything left for this utterance was over another cut (recording stopped in the
        // middle of the post-roll, say): of no more use, and a pass still running would
        // hold the worker the final job needs.
        drop(inner);
        let origin = job.origin;
        self.cancel_where(|j| j.utt.id == id && j.origin == origin);
        Adopted::No(job)
    }

    /// The pass over `job` ended with `said` (None: it failed or was cut short).
    pub(super) fn finish(&self, job: &Job, said: Option<Said>) -> Ended {
        let mut inner = self.lock();
        let Some(i) = inner.running.iter().position(|r| same_cut(&r.job, job)) else {
            return Ended::Nothing;
        };
        let r = inner.running.remove(i);
        match (r.adopted, said) {
            (Some(final_job), Some(said)) => Ended::Answer(Box::new((final_job, said))),
            (Some(final_job), None) => Ended::Retry(final_job),
            (None, Some(said)) if !r.cancelled => {
                let id = job.utt.id;
                inner.done.retain(|(j, _)| j.utt.id != id);
                let text = said.text.clone();
                inner.done.push((r.job, said));
                // Only the latest few can still be adopted (an utterance closes within
                // ~0.3 s of its speculation ending).
                while inner.done.len() > 4 {
                    inner.done.remove(0);
                }
                Ended::Kept(text)
            }
            _ => Ended::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::Origin;
    use crate::vocab::{RecordingId, Span, UtteranceRef};

    fn job(id: u64, end_s: f64) -> Job {
        let utt = UtteranceRef {
            id: UtteranceId(id),
            span: Span {
                start_s: 0.0,
                end_s,
            },
            wav: format!("/tmp/utt-{id}.wav").into(),
            hints: Default::default(),
        };
        Job::new(utt, Origin::Live(RecordingId(1)), None)
    }

    fn said(text: &str) -> Said {
        Said {
            text: text.into(),
            segments: vec![],
            no_speech_prob: 0.0,
            encode_ms: 1.0,
            decode_ms: 1.0,
            worker_ms: 2.0,
            unsure: false,
        }
    }

    /// Speculation `id` over `secs`, taken by a worker (pid 0: never signalled).
    fn running(s: &Speculations, id: u64, secs: f64) -> Job {
        s.put(job(id, secs));
        let spec = s.take().expect("queued");
        s.started(&spec, 0);
        spec
    }

    #[test]
    fn a_finished_pass_answers_the_final_job_of_the_same_cut() {
        let s = Speculations::default();
        let spec = running(&s, 1, 2.0);
        assert!(matches!(
            s.finish(&spec, Some(said("hello"))),
            Ended::Kept(t) if t == "hello"
        ));
        match s.adopt(job(1, 2.0)) {
            Adopted::Now(b) => assert_eq!(b.1.text, "hello"),
            _ => panic!("not adopted"),
        }
        // Used once only.
        assert!(matches!(s.adopt(job(1, 2.0)), Adopted::No(_)));
    }

    #[test]
    fn another_cut_is_not_adopted_and_clears_the_stale_pass() {
        let s = Speculations::default();
        let spec = running(&s, 1, 2.0);
        s.finish(&spec, Some(said("hello")));
        assert!(matches!(s.adopt(job(1, 2.5)), Adopted::No(_)));
        assert!(matches!(s.adopt(job(1, 2.0)), Adopted::No(_)));
    }

    #[test]
    fn a_running_pass_answers_when_it_ends_or_hands_the_job_back_when_it_fails() {
        let s = Speculations::default();
        let spec = running(&s, 1, 2.0);
        assert!(matches!(s.adopt(job(1, 2.0)), Adopted::Waiting));
        match s.finish(&spec, Some(said("hi"))) {
            Ended::Answer(b) => assert_eq!((b.0.utt.id, b.1.text.as_str()), (UtteranceId(1), "hi")),
            _ => panic!("no answer"),
        }
        let spec = running(&s, 2, 3.0);
        assert!(matches!(s.adopt(job(2, 3.0)), Adopted::Waiting));
        assert!(matches!(s.finish(&spec, None), Ended::Retry(j) if j.utt.id == UtteranceId(2)));
    }

    #[test]
    fn a_cancelled_pass_is_never_adopted() {
        let s = Speculations::default();
        s.put(job(1, 2.0));
        let spec = s.take().unwrap();
        // pid 0 would signal our own process group: use a pid that cannot exist.
        s.started(&spec, i32::MAX as u32);
        s.cancel(UtteranceId(1));
        assert!(matches!(s.adopt(job(1, 2.0)), Adopted::No(_)));
        assert!(matches!(s.finish(&spec, Some(said("x"))), Ended::Nothing));
        assert!(matches!(s.adopt(job(1, 2.0)), Adopted::No(_)));
        // A queued one is dropped by the cancel.
        s.put(job(3, 1.0));
        s.cancel(UtteranceId(3));
        assert!(s.take().is_none());
    }
}
