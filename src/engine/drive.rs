//! Driving a recording to its end. Every caller that runs "a recording until each utterance
//! it queued has an outcome" (`--headless`, `transcribe`, `eval`, the interim benchmark,
//! `sessions resume`) goes through [`Drive`], so the end condition and the audio thread's
//! join live in one place (each used to hand-write both, and one that missed the join left the
//! next recording unable to start).

use std::collections::BTreeSet;

use tokio::sync::mpsc::UnboundedReceiver;

use super::{Engine, EngineEvent, Source};
use crate::vocab::{RecordingId, UtteranceId};

/// One recording's progress: the utterances it queued that have no outcome yet, and whether
/// its audio thread has ended. Events of other recordings do not count.
#[derive(Debug)]
pub struct Drive {
    rec: RecordingId,
    waiting: BTreeSet<UtteranceId>,
    stopped: bool,
    /// Its settle passes are over (`RecordingSettled`): the texts are final.
    settled: bool,
}

impl Drive {
    /// For recording `rec`: done once it has stopped and each utterance it queued has its
    /// outcome.
    pub fn recording(rec: RecordingId) -> Drive {
        Drive {
            rec,
            waiting: BTreeSet::new(),
            stopped: false,
            settled: false,
        }
    }

    /// For jobs queued without a recording (`sessions resume`, reporting as `rec`): done
    /// once each of `ids` has its outcome.
    pub fn waiting_for(rec: RecordingId, ids: impl IntoIterator<Item = UtteranceId>) -> Drive {
        Drive {
            rec,
            waiting: ids.into_iter().collect(),
            stopped: true,
            // A resume has no settle pass.
            settled: true,
        }
    }

    /// Notes what `ev` means for the recording; joins the audio thread once it has stopped
    /// (it has finished by then, so the join is immediate).
    pub fn observe(&mut self, engine: &mut Engine, ev: &EngineEvent) {
        match *ev {
            EngineEvent::Queued { rec, ref utt } if rec == self.rec => {
                self.waiting.insert(utt.id);
            }
            EngineEvent::Transcribed { rec, ref text } if rec == self.rec => {
                self.waiting.remove(&text.id);
            }
            EngineEvent::Failed { rec, id, .. } if rec == self.rec => {
                self.waiting.remove(&id);
            }
            EngineEvent::RecordingStopped { rec } if rec == self.rec => {
                self.stopped = true;
                engine.recording_ended(rec);
            }
            EngineEvent::RecordingSettled { rec } if rec == self.rec => self.settled = true,
            _ => {}
        }
    }

    /// The recording has stopped, every utterance it queued has its text or its failure, and
    /// its settle passes are over.
    pub fn done(&self) -> bool {
        self.stopped && self.waiting.is_empty() && self.settled
    }

    /// Utterances queued and still without an outcome.
    pub fn outstanding(&self) -> usize {
        self.waiting.len()
    }
}

impl Engine {
    /// Starts a recording on `source` and hands each event to `on` until the recording has
    /// stopped and every utterance it queued has an outcome. An error from `on` stops the
    /// recording and ends the run with that error; so do `deadline` passing and the engine's
    /// event stream ending.
    pub async fn drive_recording(
        &mut self,
        events: &mut UnboundedReceiver<EngineEvent>,
        source: Source,
        deadline: Option<tokio::time::Instant>,
        on: impl FnMut(EngineEvent) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let rec = self.start_recording(source)?;
        self.drive(events, Drive::recording(rec), deadline, on)
            .await
    }

    /// Hands each event to `on` until `drive` is done (see [`Engine::drive_recording`]).
    pub async fn drive(
        &mut self,
        events: &mut UnboundedReceiver<EngineEvent>,
        mut drive: Drive,
        deadline: Option<tokio::time::Instant>,
        mut on: impl FnMut(EngineEvent) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        while !drive.done() {
            let next = match deadline {
                Some(d) => tokio::time::timeout_at(d, events.recv()).await,
                None => Ok(events.recv().await),
            };
            let result = match next {
                Ok(Some(ev)) => {
                    drive.observe(self, &ev);
                    on(ev)
                }
                Ok(None) => Err(anyhow::anyhow!("the engine stopped")),
                Err(_) => Err(anyhow::anyhow!(
                    "timed out with {} utterance(s) still without text",
                    drive.outstanding()
                )),
            };
            if let Err(e) = result {
                self.stop_recording();
                return Err(e);
            }
        }
        Ok(())
    }
}
