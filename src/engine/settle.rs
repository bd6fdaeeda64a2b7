//! The settle pass. Each utterance is decoded alone the moment it closes (that is what makes
//! text appear at once), so whisper cannot see that one continues the sentence before it:
//! "And so my fellow Americans. / S NOT! / What your country…". When the speaker pauses
//! (`settle_pause_s` of silence, a pause of the recording) or stops, the utterances since the
//! last settle (up to [`MAX_S`] of audio) are decoded again as one piece on a worker with
//! nothing else to do, and the text is shared back among them word by word
//! ([`share::share`]); it replaces their first texts only when whisper is at least as sure
//! of it and it loses no words. Both texts stay in the journal (`transcribed`, `settled`).
//!
//! Runs inside the results task: the audio thread's notes ([`Note`]) say what was queued
//! and when the speaker paused, the pool's results say what each utterance's first text was.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::EngineEvent;
use crate::pool::{Context, Job, Origin, SettleSubmitter, SettleText};
use crate::protocol::Segment;
use crate::session::{Entry, Journal};
use crate::vocab::{Hints, RecordingId, SAMPLE_RATE, Span, UtteranceId, UtteranceRef};

pub mod share;

/// Audio one settle pass covers at most, in seconds: whisper's window is 30 s, and a pass
/// over a full window stays well inside a pause (tiny.en, 2 cores: ~1 s).
pub const MAX_S: f64 = 28.0;

/// The silence after an utterance that starts a settle pass, by default (seconds): longer
/// than a breath inside a sentence (0.5-1.5 s in the long-form set), shorter than the pause
/// before a new thought.
pub const DEFAULT_PAUSE_S: f64 = 2.0;

/// What the audio thread tells the settler (sent before the job it concerns is queued, so
/// it always comes first).
#[derive(Debug)]
pub enum Note {
    /// Utterance `utt` of recording `rec` was queued for its first text.
    Queued {
        rec: RecordingId,
        utt: UtteranceRef,
        journal: Arc<Journal>,
        context: Arc<Context>,
    },
    /// The speaker paused (see [`crate::audio::pipeline::AudioEvent::Pause`]).
    Pause { rec: RecordingId },
    /// The recording ended: settle what is left, then say `RecordingSettled`.
    Stopped { rec: RecordingId },
}

/// The first result of an utterance waiting to be settled.
#[derive(Debug, Clone)]
enum First {
    Waiting,
    Text {
        text: String,
        confidence: Option<(f64, u32)>,
        /// Its full-window re-check was left to this pass: settled even alone.
        unsure: bool,
    },
    Failed,
}

#[derive(Debug)]
struct Member {
    utt: UtteranceRef,
    first: First,
    /// Settled alone: its deferred re-check must not depend on a stretch's pass (one was
    /// refused).
    alone: bool,
}

impl Member {
    /// Its first pass left the full-window re-check to the settle pass.
    fn unsure(&self) -> bool {
        matches!(self.first, First::Text { unsure: true, .. })
    }
}

/// One recording's utterances since its last settle pass.
struct Recording {
    journal: Arc<Journal>,
    context: Arc<Context>,
    members: Vec<Member>,
    /// The speaker paused (or stopped) since the last utterance was queued.
    wanted: bool,
    stopped: bool,
    /// The members a pass is running over now.
    in_flight: Option<Vec<Member>>,
}

/// A pass's WAV: scratch in the session folder, one per recording, removed when the
/// recording is settled.
const WAV: &str = "settle.wav";

pub(super) struct Settler {
    enabled: bool,
    pool: SettleSubmitter,
    tx: UnboundedSender<EngineEvent>,
    recordings: HashMap<RecordingId, Recording>,
}

impl Settler {
    pub(super) fn new(
        enabled: bool,
        pool: SettleSubmitter,
        tx: UnboundedSender<EngineEvent>,
    ) -> Self {
        Settler {
            enabled,
            pool,
            tx,
            recordings: HashMap::new(),
        }
    }

    pub(super) async fn note(&mut self, note: Note) {
        tracing::debug!(?note, "settle note");
        let rec = match note {
            Note::Queued {
                rec,
                utt,
                journal,
                context,
            } => {
                let r = self.recordings.entry(rec).or_insert_with(|| Recording {
                    journal,
                    context,
                    members: Vec::new(),
                    wanted: false,
                    stopped: false,
                    in_flight: None,
                });
                r.members.push(Member {
                    utt,
                    first: First::Waiting,
                    alone: false,
                });
                // Speech again: the pause is over, a pass over the stretch waits for the next.
                r.wanted = false;
                return;
            }
            Note::Pause { rec } => {
                if let Some(r) = self.recordings.get_mut(&rec) {
                    r.wanted = true;
                }
                rec
            }
            Note::Stopped { rec } => {
                match self.recordings.get_mut(&rec) {
                    Some(r) => {
                        r.wanted = true;
                        r.stopped = true;
                    }
                    None => {
                        let _ = self.tx.send(EngineEvent::RecordingSettled { rec });
                        return;
                    }
                }
                rec
            }
        };
        self.advance(rec).await;
    }

    /// Utterance `id`'s first text, its segments and whether its re-check was deferred
    /// (`None`: it failed).
    pub(super) async fn first(
        &mut self,
        origin: Origin,
        id: UtteranceId,
        text: Option<(&str, &[Segment], bool)>,
    ) {
        let Origin::Live(rec) = origin else { return };
        let Some(r) = self.recordings.get_mut(&rec) else {
            return;
        };
        let Some(m) = r.members.iter_mut().find(|m| m.utt.id == id) else {
            return;
        };
        m.first = match text {
            Some((text, segments, unsure)) => First::Text {
                text: text.to_string(),
                confidence: share::confidence(segments),
                unsure,
            },
            None => First::Failed,
        };
        self.advance(rec).await;
    }

    /// A pass ended: share its text out (or keep the first texts), then go on.
    pub(super) async fn settled(&mut self, job: Job, result: Result<SettleText, String>) {
        let Origin::Live(rec) = job.origin else {
            return;
        };
        let Some(r) = self.recordings.get_mut(&rec) else {
            return;
        };
        let group = r.in_flight.take().unwrap_or_default();
        let ids: Vec<UtteranceId> = group.iter().map(|m| m.utt.id).collect();
        match result {
            Ok(pass) => {
                let texts = decide(&group, &pass);
                if texts.is_err() && group.len() > 1 {
                    // The stretch keeps its first texts, but a deferred re-check is still
                    // owed: those utterances get a pass each, as the re-check in line was.
                    let mut owed: Vec<Member> = group
                        .iter()
                        .filter(|m| m.unsure())
                        .map(|m| Member {
                            utt: m.utt.clone(),
                            first: m.first.clone(),
                            alone: true,
                        })
                        .collect();
                    owed.append(&mut r.members);
                    r.members = owed;
                }
                match &texts {
                    Ok(_) => tracing::debug!(?ids, text = pass.text, "settled"),
                    Err(why) => tracing::debug!(?ids, text = pass.text, "settle refused: {why}"),
                }
                if let Ok(texts) = &texts {
                    journal(r, texts).await;
                }
                let _ = self.tx.send(EngineEvent::Settled {
                    rec,
                    ids,
                    texts: texts.map_err(|e| e.to_string()),
                    worker_ms: pass.worker_ms,
                });
            }
            // Cut short by a final job (speech again) or a worker failure: the stretch waits
            // for the next pause; after the stop, its first texts stand.
            Err(why) => {
                tracing::debug!(?ids, "settle pass dropped: {why}");
                if !r.stopped {
                    let mut back = group;
                    back.append(&mut r.members);
                    r.members = back;
                    r.wanted = false;
                }
            }
        }
        self.advance(rec).await;
    }

    /// Starts the next pass of `rec` if one is due and possible; says `RecordingSettled`
    /// once a stopped recording has nothing left.
    async fn advance(&mut self, rec: RecordingId) {
        let Some(r) = self.recordings.get_mut(&rec) else {
            return;
        };
        tracing::debug!(
            members = r.members.len(),
            wanted = r.wanted,
            stopped = r.stopped,
            in_flight = r.in_flight.is_some(),
            "settle: advance"
        );
        while r.in_flight.is_none() && (r.wanted || !self.enabled) {
            let Some(group) = next_group(&mut r.members, self.enabled) else {
                break;
            };
            match write_wav(&group).await {
                Ok((wav, samples)) => {
                    let job = pass_job(rec, &group, wav, samples, r);
                    r.in_flight = Some(group);
                    self.pool.submit(job);
                }
                // The first texts stand.
                Err(e) => tracing::warn!("settle pass not started: {e:#}"),
            }
        }
        if r.in_flight.is_none() && r.members.is_empty() {
            r.wanted = false;
        }
        if r.stopped && r.in_flight.is_none() && r.members.is_empty() {
            let dir = r.journal.dir().to_path_buf();
            self.recordings.remove(&rec);
            let _ = std::fs::remove_file(dir.join(WAV));
            let _ = self.tx.send(EngineEvent::RecordingSettled { rec });
        }
    }
}

/// The next stretch to settle, taken off the front of `members` once every one of them has
/// its first result: as many as fit in [`MAX_S`], never across a failed utterance or with a
/// part of a split (its audio overlaps the other part's). Stretches of one utterance are
/// dropped (the same audio decoded again says the same) unless its full-window re-check was
/// deferred to this pass. With `enabled` false, the members
/// are dropped once they all have a result.
fn next_group(members: &mut Vec<Member>, enabled: bool) -> Option<Vec<Member>> {
    loop {
        // The whole stretch first: a pass over part of it would leave the rest to be
        // settled alone (which changes nothing).
        let ready = members.len();
        if ready == 0 || members.iter().any(|m| matches!(m.first, First::Waiting)) {
            return None;
        }
        if !enabled {
            members.drain(..ready);
            return None;
        }
        let mut n = 0;
        let start = members[0].utt.span.start_s;
        while n < ready {
            let m = &members[n];
            let fits = m.utt.span.end_s - start <= MAX_S;
            // A part of a split keeps only its own words (its audio overlaps the next or
            // the last part's, and the seam is reconciled on the first texts): never joined.
            let split = m.utt.hints.keep_from_s.is_some() || m.utt.hints.keep_to_s.is_some();
            let joins = n == 0 || !(split || m.alone);
            if matches!(m.first, First::Failed) || !(fits && joins) {
                break;
            }
            n += 1;
            if m.alone || split {
                break;
            }
        }
        let group: Vec<Member> = members.drain(..n.max(1)).collect();
        let words = group.iter().any(|m| match &m.first {
            First::Text { text, .. } => !text.trim().is_empty(),
            _ => false,
        });
        let unsure = matches!(&group[..], [m] if m.unsure());
        if (group.len() >= 2 || unsure) && words {
            return Some(group);
        }
    }
}

/// The group's WAVs end to end with the pauses between them (as silence, at most
/// [`MAX_GAP_S`]: whisper punctuates by them, and with no pause at all it wrote "fellow
/// Americans ask not" without the comma) in the session folder; returns the path and the
/// number of samples.
async fn write_wav(group: &[Member]) -> anyhow::Result<(PathBuf, usize)> {
    let parts: Vec<(PathBuf, f64)> = group
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let gap = match i {
                0 => 0.0,
                _ => m.utt.span.start_s - group[i - 1].utt.span.end_s,
            };
            (m.utt.wav.clone(), gap.clamp(0.0, MAX_GAP_S))
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        for (wav, gap) in &parts {
            all.resize(all.len() + (gap * SAMPLE_RATE as f64) as usize, 0.0);
            all.extend(crate::audio::wav::read_16k_mono(wav)?);
        }
        let dir = parts[0].0.parent().unwrap_or(std::path::Path::new("."));
        let path = dir.join(WAV);
        crate::audio::wav::write_16k_mono_volatile(&path, &all)?;
        Ok((path, all.len()))
    })
    .await?
}

/// The longest pause kept between two utterances of a pass, in seconds (longer ones are
/// shortened to it: a pass must fit whisper's window, and a long silence invites it to
/// invent words).
const MAX_GAP_S: f64 = 1.0;

/// The pool job of a pass over `group`: it carries the first member's id and the text
/// before the group for the prompt; the VAD vouches for it if it vouched for any member.
fn pass_job(
    rec: RecordingId,
    group: &[Member],
    wav: PathBuf,
    samples: usize,
    r: &Recording,
) -> Job {
    let first = &group[0].utt;
    let hints = Hints {
        voiced_ms: group.iter().map(|m| m.utt.hints.voiced_ms).sum(),
        vad_sure: group.iter().any(|m| m.utt.hints.vad_sure),
        keep_from_s: None,
        keep_to_s: None,
    };
    let duration = samples as f64 / SAMPLE_RATE as f64;
    let utt = UtteranceRef {
        id: first.id,
        span: Span::new(first.span.start_s, first.span.start_s + duration),
        wav,
        hints,
    };
    // No journal: a pass's result is journaled by the settler, per utterance.
    Job::new(utt, Origin::Live(rec), None).with_context(Some(r.context.clone()))
}

/// The settled texts of `group` from `pass`, or why the first texts stand.
fn decide(
    group: &[Member],
    pass: &SettleText,
) -> Result<Vec<(UtteranceId, String)>, share::Refused> {
    if let [m] = group
        && m.unsure()
    {
        // The re-check its final pass deferred: taken as the re-check in line takes it (a
        // shortened window cut "…hold the microphone open…" to "…hold the microf" once).
        return Ok(vec![(m.utt.id, pass.text.trim().to_string())]);
    }
    let mut firsts = Vec::new();
    let mut segments_conf = (0.0, 0u32);
    for m in group {
        if let First::Text {
            text, confidence, ..
        } = &m.first
        {
            firsts.push(text.as_str());
            if let Some((c, n)) = confidence {
                segments_conf.0 += c * f64::from(*n);
                segments_conf.1 += n;
            }
        }
    }
    let first = (segments_conf.1 > 0).then(|| {
        (
            segments_conf.0 / f64::from(segments_conf.1),
            segments_conf.1,
        )
    });
    share::more_confident(share::confidence(&pass.segments), first)?;
    let shares = share::share(&firsts, pass.text.trim())?;
    Ok(group.iter().map(|m| m.utt.id).zip(shares).collect())
}

/// Journals each settled text (fsynced, on the blocking pool) and records it as the text
/// before the next utterance.
async fn journal(r: &Recording, texts: &[(UtteranceId, String)]) {
    for (id, text) in texts {
        r.context.record(*id, text);
    }
    let j = r.journal.clone();
    let entries: Vec<Entry> = texts
        .iter()
        .map(|(id, text)| Entry::Settled {
            id: *id,
            text: text.clone(),
        })
        .collect();
    let written = tokio::task::spawn_blocking(move || {
        for (i, e) in entries.iter().enumerate() {
            j.append(e, i + 1 == entries.len())?;
        }
        anyhow::Ok(())
    })
    .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("journaling a settled text: {e:#}"),
        Err(e) => tracing::error!("journaling a settled text: {e}"),
    }
}

#[cfg(test)]
mod tests;
