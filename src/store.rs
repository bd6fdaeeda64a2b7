//! The disk thread (`session-disk`, one per recording) and what the audio thread hands it:
//! what the audio thread writes for one session, made durable off the audio thread.
//!
//! Per utterance three fsyncs are needed: the utterance WAV, its journal line, and
//! `session.wav` (whose header the boundary rewrites). On the 2-core development machine
//! (ext4 on a virtio disk) each costs about 4 ms (median 3.9 ms, max 9.5 ms over 40 tries),
//! so doing them on the audio thread made the chunk that closes an utterance take 8-12 ms:
//! the `VAD + segmenter + store per chunk` p99 of `recorder bench audio` was 2.5 ms (max
//! 10.4 ms) against a goal of 2 ms. The audio thread now only appends samples and rewrites
//! the WAV header (page cache, microseconds) and hands each closed utterance to this thread,
//! which writes its WAV, fsyncs it, journals it (fdatasync) and only then reports it as
//! stored; the caller queues the job on that report. So the guarantee is unchanged: each
//! utterance's WAV is on disk, and journaled, before its job is queued. `session.wav`'s
//! fdatasync comes after the report (it is the whole-session backup, not what the job
//! reads), which takes 4 ms off each utterance's latency as well.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::audio::segmenter::Cut;
use crate::session::{Entry, Journal, JournalError, SESSION_WAV, SessionAudio, now_text};
use crate::vocab::{Span, UtteranceRef};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}; recording stopped (free some space or choose another sessions folder)")]
    Wav(#[from] crate::audio::wav::WavError),
    #[error("{0}; recording stopped (free some space or choose another sessions folder)")]
    Journal(#[from] JournalError),
    #[error(
        "cannot write '{path}': {source}; recording stopped (free some space or choose another sessions folder)"
    )]
    Audio {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An utterance whose WAV is on disk and journaled: it may be queued now.
pub type Stored = UtteranceRef;

enum Task {
    Utterance(Cut),
    /// A discarded candidate's audio, written and journaled (not reported: nothing queues it).
    Discard {
        span: Span,
        samples: Vec<f32>,
    },
    /// A journal line without fsync, kept in order with the utterances' lines.
    Note(Entry),
}

/// The whole-session audio, the utterance WAVs and their journal lines; each utterance is
/// durable before it is reported (see the module comment for why off the audio thread).
pub struct Store {
    pub journal: Arc<Journal>,
    audio: Option<SessionAudio>,
    tasks: Option<Sender<Task>>,
    stored: Receiver<Result<Stored, StoreError>>,
    /// The disk thread's failure to fsync `session.wav`, reported with the next poll.
    audio_failed: Arc<Mutex<Option<std::io::Error>>>,
    /// Utterances handed over and not yet reported.
    pending: usize,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    pub fn new(journal: Arc<Journal>) -> Result<Store, StoreError> {
        let dir = journal.dir().to_path_buf();
        let audio_err = |source| StoreError::Audio {
            path: dir.join(SESSION_WAV),
            source,
        };
        let audio = SessionAudio::create(&dir).map_err(audio_err)?;
        let sync = audio.sync_handle.try_clone().map_err(audio_err)?;
        let (tasks, rx) = crossbeam_channel::unbounded();
        let (done, stored) = crossbeam_channel::unbounded();
        let audio_failed = Arc::new(Mutex::new(None));
        let thread = {
            let (journal, failed) = (journal.clone(), audio_failed.clone());
            std::thread::Builder::new()
                .name("session-disk".into())
                .spawn(move || disk_thread(&journal, &sync, &rx, &done, &failed))
                .map_err(audio_err)?
        };
        Ok(Store {
            journal,
            audio: Some(audio),
            tasks: Some(tasks),
            stored,
            audio_failed,
            pending: 0,
            thread: Some(thread),
        })
    }

    fn audio_err(&self, source: std::io::Error) -> StoreError {
        StoreError::Audio {
            path: self.journal.dir().join(SESSION_WAV),
            source,
        }
    }

    /// Appends recorded 16 kHz audio to `session.wav`.
    pub fn audio(&mut self, samples: &[f32]) -> Result<(), StoreError> {
        let r = self
            .audio
            .as_mut()
            .map(|a| a.write(samples))
            .unwrap_or(Ok(()));
        r.map_err(|e| self.audio_err(e))
    }

    /// Hands a closed utterance to the disk thread and returns at once (no fsync here); it is
    /// reported by [`Store::poll_stored`] / [`Store::wait_stored`] once durable. Then the
    /// `session.wav` header is rewritten to cover it; if that fails (disk full) the error is
    /// returned but the utterance is still handed over: its own WAV is small and may fit
    /// (tests/disk_full.rs).
    pub fn queue_utterance(&mut self, cut: Cut) -> Result<(), StoreError> {
        let task = Task::Utterance(cut);
        match &self.tasks {
            Some(tx) if tx.send(task).is_ok() => self.pending += 1,
            _ => return Err(self.audio_err(std::io::Error::other("the session was closed"))),
        }
        let r = self
            .audio
            .as_mut()
            .map(|a| a.rewrite_header())
            .unwrap_or(Ok(()));
        r.map_err(|e| self.audio_err(e))
    }

    /// The utterances made durable since the last call, in order (never blocks).
    pub fn poll_stored(&mut self) -> Vec<Result<Stored, StoreError>> {
        let mut out = self.audio_failure();
        while self.pending > 0 {
            match self.stored.try_recv() {
                Ok(r) => {
                    self.pending -= 1;
                    out.push(r);
                }
                Err(_) => break,
            }
        }
        out
    }

    /// Waits until every utterance handed over is durable; returns them in order.
    pub fn wait_stored(&mut self) -> Vec<Result<Stored, StoreError>> {
        let mut out = Vec::new();
        while self.pending > 0 {
            match self.stored.recv() {
                Ok(r) => out.push(r),
                Err(_) => break,
            }
            self.pending -= 1;
        }
        out.extend(self.audio_failure());
        out
    }

    fn audio_failure(&self) -> Vec<Result<Stored, StoreError>> {
        let taken = self
            .audio_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        taken.map(|e| Err(self.audio_err(e))).into_iter().collect()
    }

    /// Hands a discarded candidate to the disk thread: its WAV (`discard-<ms>.wav`) and a
    /// `discarded` journal line, in order with the utterances. Never blocks; a failure is
    /// logged (the audio is in `session.wav` as well).
    pub fn queue_discard(&mut self, span: Span, samples: Vec<f32>) {
        if let Some(tx) = &self.tasks {
            let _ = tx.send(Task::Discard { span, samples });
        }
    }

    /// A journal line (no fsync), after the utterances handed over before it.
    pub fn note(&self, entry: Entry) -> Result<(), StoreError> {
        match &self.tasks {
            Some(tx) => {
                let _ = tx.send(Task::Note(entry));
                Ok(())
            }
            None => Ok(self.journal.append(&entry, false)?),
        }
    }

    /// Finalises the session audio and journals the end, after the disk thread finished
    /// (utterances still unreported here are durable and journaled; `sessions resume` has
    /// them).
    pub fn end(&mut self, reason: &str) -> Result<(), StoreError> {
        self.tasks = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.pending = 0;
        if let Some(a) = self.audio.take() {
            a.finish().map_err(|e| self.audio_err(e))?;
        }
        self.journal.append(
            &Entry::SessionEnded {
                time: now_text(),
                reason: reason.into(),
            },
            true,
        )?;
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Let the disk thread finish what it was handed (durability over a fast exit).
        self.tasks = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn disk_thread(
    journal: &Journal,
    session_audio: &File,
    tasks: &Receiver<Task>,
    done: &Sender<Result<Stored, StoreError>>,
    audio_failed: &Mutex<Option<std::io::Error>>,
) {
    for task in tasks {
        match task {
            Task::Utterance(cut) => {
                let _ = done.send(write_utterance(journal, cut));
                // The audio thread rewrote the header right after the hand-off, ~8 ms
                // (two fsyncs) before this; a header that missed it lags one utterance
                // after a power loss, which `repair_wav_header` fixes.
                if let Err(e) = session_audio.sync_data() {
                    *audio_failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
            }
            Task::Discard { span, samples } => {
                let name = format!("discard-{:09}.wav", (span.start_s * 1000.0).round() as u64);
                let written =
                    crate::audio::wav::write_16k_mono(&journal.dir().join(&name), &samples);
                if let Err(e) = &written {
                    tracing::warn!("cannot write discarded audio {name}: {e}");
                }
                let entry = Entry::Discarded {
                    start_s: span.start_s,
                    end_s: span.end_s,
                    wav: written.is_ok().then_some(name),
                };
                let _ = journal.append(&entry, false);
            }
            Task::Note(entry) => {
                let _ = journal.append(&entry, false);
            }
        }
    }
}

/// Journals the utterance's times, writes and fsyncs its WAV, journals it as recorded
/// (fsynced): then it is [`Stored`].
fn write_utterance(journal: &Journal, cut: Cut) -> Result<Stored, StoreError> {
    let utt = UtteranceRef {
        id: cut.id,
        span: cut.span(),
        wav: journal.dir().join(cut.id.wav_name()),
        hints: cut.hints,
    };
    // The times first (page cache only, ~10 µs): a crash during the WAV's write then leaves
    // what `sessions resume` needs to rebuild it from session.wav.
    journal.append(&Entry::closed(utt.id, utt.span), false)?;
    crate::audio::wav::write_16k_mono(&utt.wav, &cut.samples)?;
    journal.append(&Entry::recorded(&utt), true)?;
    Ok(utt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;
    use crate::vocab::{Hints, UtteranceId};

    fn cut(id: u64, start_sample: u64, samples: Vec<f32>) -> Cut {
        Cut {
            id: UtteranceId(id),
            start_sample,
            samples,
            hints: Hints::default(),
        }
    }

    #[test]
    fn utterances_are_reported_in_order_once_on_disk_and_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(dir.path()).unwrap());
        let mut store = Store::new(journal).unwrap();
        store.audio(&vec![0.1; 48_000]).unwrap();
        store.queue_utterance(cut(1, 0, vec![0.1; 16_000])).unwrap();
        store.note(Entry::Paused { at_s: 1.5 }).unwrap();
        store
            .queue_utterance(cut(2, 32_000, vec![0.2; 8_000]))
            .unwrap();
        let mut stored = store.poll_stored();
        stored.extend(store.wait_stored());
        let stored: Vec<Stored> = stored.into_iter().map(Result::unwrap).collect();
        assert_eq!(stored.iter().map(|s| s.id.0).collect::<Vec<_>>(), [1, 2]);
        for s in &stored {
            // Reported means readable in full and journaled.
            let r = hound::WavReader::open(&s.wav).unwrap();
            let want = (s.span.duration_s() * 16_000.0) as u32;
            assert_eq!(r.duration(), want);
        }
        assert!(store.poll_stored().is_empty());
        // The session.wav header already covers the audio before the end.
        let r = hound::WavReader::open(dir.path().join(SESSION_WAV)).unwrap();
        assert_eq!(r.duration(), 48_000);
        store.end("test").unwrap();
        let s = Session::load(dir.path()).unwrap();
        assert_eq!(s.utterances.len(), 2);
        assert!(s.ended.is_some());
        let journal = std::fs::read_to_string(dir.path().join(crate::session::JOURNAL)).unwrap();
        let paused = journal.find("paused").unwrap();
        assert!(
            journal.find("\"id\":1").unwrap() < paused,
            "notes keep their order"
        );
        assert!(
            paused < journal.find("\"id\":2").unwrap(),
            "notes keep their order"
        );
    }

    #[test]
    fn a_discard_is_written_and_journaled_in_order_and_can_be_taken_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::new(Arc::new(Journal::open(dir.path()).unwrap())).unwrap();
        store.queue_utterance(cut(1, 0, vec![0.1; 16_000])).unwrap();
        store.queue_discard(Span::new(2.0, 2.25), vec![0.2; 4_000]);
        store.wait_stored();
        store.end("test").unwrap();
        let wav = dir.path().join("discard-000002000.wav");
        assert_eq!(hound::WavReader::open(&wav).unwrap().duration(), 4_000);
        let s = Session::load(dir.path()).unwrap();
        assert_eq!(s.discarded.len(), 1);
        assert_eq!(s.pending_discards().len(), 1);
        assert_eq!(s.take_up_discards().unwrap(), 1);
        let s = Session::load(dir.path()).unwrap();
        assert!(s.pending_discards().is_empty());
        let u = &s.utterances[&UtteranceId(2)];
        assert_eq!((u.span, &u.wav), (Span::new(2.0, 2.25), &wav));
        assert!(!u.hints.vad_sure);
        assert_eq!(s.untranscribed().len(), 2, "both wait for text now");
        assert_eq!(s.take_up_discards().unwrap(), 0, "taken up once");
    }

    #[test]
    fn a_failed_write_is_reported_as_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::new(Arc::new(Journal::open(dir.path()).unwrap())).unwrap();
        // A folder where the WAV's temporary file would go: its creation fails.
        std::fs::create_dir(dir.path().join("utt-000003.wav.part")).unwrap();
        store.queue_utterance(cut(3, 0, vec![0.0; 8_000])).unwrap();
        let r = store.wait_stored();
        assert_eq!(r.len(), 1);
        assert!(matches!(r[0], Err(StoreError::Wav(_))), "{:?}", r[0]);
    }
}
