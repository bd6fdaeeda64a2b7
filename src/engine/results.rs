//! The results task: turns the pool's events into the front end's, journaling each result
//! (fsynced, on the blocking pool) before the front end hears of it. It keeps the interim
//! tracker and the seams of split utterances between events.

use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::EngineEvent;
use super::settle::{Note, Settler};
use crate::pool::{InterimSwitch, Job, JobFailure, Origin, PoolEvent};
use crate::protocol::{Segment, Timings, Transcript};
use crate::session::Entry;
use crate::vocab::{RecordingId, UtteranceId};

pub(super) async fn forward_pool_events(
    mut rx: UnboundedReceiver<PoolEvent>,
    mut notes: UnboundedReceiver<Note>,
    tx: UnboundedSender<EngineEvent>,
    interim_switch: InterimSwitch,
    interval: Option<Duration>,
    settler: Settler,
) {
    let mut f = Forwarder {
        settler,
        tx,
        interim_switch,
        interval_ms: interval.map_or(f64::INFINITY, |d| d.as_secs_f64() * 1000.0),
        interim: crate::engine::interim::Tracker::default(),
        seams: crate::engine::junction::Seams::default(),
        resumed_seams: crate::engine::junction::Seams::default(),
    };
    loop {
        // The audio thread's note about an utterance is sent before its job is queued:
        // taking notes first means the settler knows an utterance before its result.
        let ev = tokio::select! {
            biased;
            Some(note) = notes.recv() => {
                f.settler.note(note).await;
                continue;
            }
            ev = rx.recv() => ev,
        };
        let Some(ev) = ev else { break };
        let Some(out) = f.translate(ev).await else {
            continue;
        };
        if f.tx.send(out).is_err() {
            break;
        }
    }
}

/// What the results task keeps from one pool event to the next.
struct Forwarder {
    settler: Settler,
    tx: UnboundedSender<EngineEvent>,
    interim_switch: InterimSwitch,
    interval_ms: f64,
    interim: crate::engine::interim::Tracker,
    seams: crate::engine::junction::Seams,
    /// A resumed session's ids count from 1 as the live one's do: its seams are its own.
    resumed_seams: crate::engine::junction::Seams,
}

impl Forwarder {
    /// The front end's event for `ev`, if it gets one.
    async fn translate(&mut self, ev: PoolEvent) -> Option<EngineEvent> {
        Some(match ev {
            PoolEvent::WorkerReady { slot, pid, load_ms } => {
                tracing::info!(slot, pid, load_ms, "worker ready");
                return None;
            }
            PoolEvent::Started {
                origin: Origin::Resumed,
                ..
            } => return None,
            PoolEvent::Started {
                id,
                origin: Origin::Live(rec),
                slot,
            } => EngineEvent::Transcribing {
                rec,
                id,
                worker: slot,
            },
            PoolEvent::Done {
                job,
                text,
                segments,
                no_speech_prob,
                timings,
                unsure,
            } => {
                let (origin, id) = (job.origin, job.id());
                let result = (text, segments, no_speech_prob, timings);
                let (event, text, segments) = self.done(job, result).await;
                // The front end hears of the text before anything the settler says about it.
                let _ = self.tx.send(event);
                let first = Some((text.as_str(), segments.as_slice(), unsure));
                self.settler.first(origin, id, first).await;
                return None;
            }
            PoolEvent::Failed { job, reason } => {
                let (origin, id) = (job.origin, job.id());
                let event = self.failed(job, reason).await;
                let _ = self.tx.send(event);
                self.settler.first(origin, id, None).await;
                return None;
            }
            PoolEvent::Settled { job, result } => {
                self.settler.settled(job, result).await;
                return None;
            }
            PoolEvent::Notice(n) => EngineEvent::Notice(n),
            PoolEvent::Interim {
                id,
                origin: Origin::Live(rec),
                text,
                worker_ms,
            } => return self.interim_pass(rec, id, &text, worker_ms),
            PoolEvent::Interim { .. } => return None,
            PoolEvent::Status {
                busy,
                idle,
                queued,
                ready,
            } => EngineEvent::Workers {
                busy,
                idle,
                queued,
                ready,
            },
        })
    }

    /// A final text: journaled, then reported (a resumed session's only as progress). The
    /// job (and with it its journal handle) is dropped before the caller sends the event.
    /// Returns the event with the (seam-reconciled) text and segments.
    async fn done(
        &mut self,
        job: Job,
        (text, segments, no_speech_prob, timings): (String, Vec<Segment>, f32, Timings),
    ) -> (EngineEvent, String, Vec<Segment>) {
        let seams = match job.origin {
            Origin::Resumed => &mut self.resumed_seams,
            Origin::Live(_) => {
                self.interim.finished(job.id());
                &mut self.seams
            }
        };
        let text = seams.reconcile(job.id(), &job.utt.hints, text);
        if let Some(c) = &job.context {
            c.record(job.id(), &text);
        }
        let entry = Entry::Transcribed {
            id: job.id(),
            text: text.clone(),
            segments: segments.clone(),
            no_speech_prob,
            timings: timings.clone(),
        };
        journal_result(&job, entry).await;
        let Origin::Live(rec) = job.origin else {
            let event = EngineEvent::Resumed {
                id: job.id(),
                span: job.utt.span,
                text: Some(text.clone()),
                error: None,
            };
            return (event, text, segments);
        };
        self.maybe_interim_back(timings.worker_ms);
        let transcript = Transcript {
            id: job.id(),
            span: job.utt.span,
            text: text.clone(),
            segments: segments.clone(),
            no_speech_prob,
            timings,
        };
        (
            EngineEvent::Transcribed {
                rec,
                text: transcript,
            },
            text,
            segments,
        )
    }

    async fn failed(&mut self, job: Job, reason: JobFailure) -> EngineEvent {
        if let Some(c) = &job.context {
            c.record(job.id(), "");
        }
        let entry = Entry::Failed {
            id: job.id(),
            reason: reason.to_string(),
        };
        journal_result(&job, entry).await;
        let Origin::Live(rec) = job.origin else {
            return EngineEvent::Resumed {
                id: job.id(),
                span: job.utt.span,
                text: None,
                error: Some(reason.to_string()),
            };
        };
        self.interim.finished(job.id());
        EngineEvent::Failed {
            rec,
            id: job.id(),
            reason,
            wav: job.utt.wav,
        }
    }

    /// While live text is off, a quick final pass counts towards turning it back on.
    fn maybe_interim_back(&mut self, worker_ms: f64) {
        if self.interim_switch.enabled() || !self.interval_ms.is_finite() {
            return;
        }
        if self
            .interim
            .recovered(worker_ms, self.interval_ms, std::time::Instant::now())
        {
            self.interim_switch.enable();
            let notice = format!(
                "live text back on: passes take {:.1} s again",
                worker_ms / 1000.0
            );
            let _ = self.tx.send(EngineEvent::Notice(notice));
            let _ = self.tx.send(EngineEvent::InterimOn);
        }
    }

    /// An interim pass's text as stable + tentative words; turns live text off (and says so)
    /// when the passes take longer than the machine can keep up with.
    fn interim_pass(
        &mut self,
        rec: RecordingId,
        id: UtteranceId,
        text: &str,
        worker_ms: f64,
    ) -> Option<EngineEvent> {
        if self.interim.too_slow(worker_ms, self.interval_ms) && self.interim_switch.enabled() {
            self.interim_switch.disable();
            self.interim.turned_off(std::time::Instant::now());
            let reason = format!(
                "passes take {:.1} s, more than this machine keeps up with",
                worker_ms / 1000.0
            );
            let notice = format!("live text off for now: {reason}");
            let _ = self.tx.send(EngineEvent::Notice(notice));
            let _ = self.tx.send(EngineEvent::InterimOff(reason));
        }
        let (stable, tentative) = self.interim.pass(id, text)?;
        Some(EngineEvent::Interim {
            rec,
            id,
            stable,
            tentative,
        })
    }
}

/// Results are journaled (fsynced) before the front end sees them. On the blocking pool:
/// the fsync (~4 ms, up to 10 ms measured) under the journal's mutex, which the disk thread
/// also takes, would otherwise stall one of the two runtime threads.
async fn journal_result(job: &Job, entry: Entry) {
    let Some(j) = job.journal.clone() else {
        return;
    };
    let written = tokio::task::spawn_blocking(move || j.append(&entry, true)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("{e}"),
        Err(e) => tracing::error!("journaling a result: {e}"),
    }
}
