//! Making a crashed session whole again before a resume: the `session.wav` header is set from
//! its data, and utterances whose WAV write a crash cut (`utt-NNNNNN.wav.part` left behind,
//! no `utterance_recorded` line) are written again from `session.wav` (the times come from
//! their `utterance_closed` line) or, failing that, from what the `.part` holds. Before, such
//! an utterance was missing after resume although its audio was on disk.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use super::{Entry, Journal, LockError, SESSION_WAV, Session, lock, repair_wav_header};
use crate::audio::SAMPLE_RATE;
use crate::audio::wav::write_16k_mono;
use crate::vocab::{Hints, Span, UtteranceId, UtteranceRef};

/// What [`Session::rebuild_unwritten`] did.
#[derive(Debug, Default, PartialEq)]
pub struct Rebuilt {
    /// Utterance ids written again and journaled.
    pub ids: Vec<UtteranceId>,
    /// Those it could not rebuild, with why (their audio stays where it is).
    pub failed: Vec<(UtteranceId, String)>,
}

impl Session {
    /// Repairs `session.wav`'s header and rebuilds the utterances a crash left without a WAV;
    /// removes the `.part` files it used. Call with the session's lock held.
    pub fn rebuild_unwritten(&self) -> std::io::Result<Rebuilt> {
        let session_wav = self.dir.join(SESSION_WAV);
        if session_wav.is_file()
            && let Err(e) = repair_wav_header(&session_wav)
        {
            tracing::warn!("cannot repair {}: {e}", session_wav.display());
        }
        // Scratch a crash (or a quit during a settle pass) can leave: never needed again.
        for scratch in ["interim.wav", "settle.wav"] {
            let _ = std::fs::remove_file(self.dir.join(scratch));
        }
        let mut todo: Vec<(UtteranceId, Option<Span>)> = self
            .unwritten
            .iter()
            .map(|(&id, &span)| (id, Some(span)))
            .collect();
        // A `.part` with no `utterance_closed` line (journals before that line existed).
        for id in part_ids(&self.dir)? {
            if !self.utterances.contains_key(&id) && !self.unwritten.contains_key(&id) {
                todo.push((id, None));
            }
        }
        let mut out = Rebuilt::default();
        if todo.is_empty() {
            remove_stale_parts(&self.dir, self);
            return Ok(out);
        }
        let journal = Journal::open(&self.dir).map_err(|e| e.source)?;
        for (id, times) in todo {
            match self.rebuild_one(&journal, id, times) {
                Ok(()) => out.ids.push(id),
                Err(e) => out.failed.push((id, e)),
            }
        }
        remove_stale_parts(&self.dir, self);
        Ok(out)
    }

    fn rebuild_one(
        &self,
        journal: &Journal,
        id: UtteranceId,
        span: Option<Span>,
    ) -> Result<(), String> {
        let part = part_path(&self.dir, id);
        let wav = self.dir.join(id.wav_name());
        // Written (the rename is atomic) but its journal line torn or never written.
        if let Some(span) = span
            && crate::audio::wav::read_16k_mono(&wav).is_ok_and(|s| !s.is_empty())
        {
            return journal_recorded(journal, id, span, wav, &part);
        }
        let (span, samples) = match span {
            Some(span) => {
                let samples = read_span(&self.dir.join(SESSION_WAV), span)
                    .or_else(|e| read_part(&part).map_err(|p| format!("{e}; {p}")))?;
                (span, samples)
            }
            None => {
                let samples = read_part(&part)?;
                // Times unknown: it followed the utterance before it.
                let start_s = self
                    .utterances
                    .range(..id)
                    .next_back()
                    .map_or(0.0, |(_, u)| u.span.end_s);
                let end_s = start_s + samples.len() as f64 / SAMPLE_RATE as f64;
                (Span::new(start_s, end_s), samples)
            }
        };
        if samples.is_empty() {
            return Err("no audio left for it".into());
        }
        write_16k_mono(&wav, &samples).map_err(|e| e.to_string())?;
        journal_recorded(journal, id, span, wav, &part)
    }
}

/// Journals a rebuilt utterance as recorded (its VAD hints are lost: the defaults) and
/// removes the `.part` it came from.
fn journal_recorded(
    journal: &Journal,
    id: UtteranceId,
    span: Span,
    wav: PathBuf,
    part: &Path,
) -> Result<(), String> {
    let utt = UtteranceRef {
        id,
        span,
        wav,
        hints: Hints::default(),
    };
    journal
        .append(&Entry::recorded(&utt), true)
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(part);
    tracing::info!(
        "rebuilt utterance #{id} ({:.2}-{:.2} s)",
        span.start_s,
        span.end_s
    );
    Ok(())
}

/// A session made ready for a resume: locked (by the journal, which the jobs share) and its
/// unwritten utterances rebuilt; if the crash left it open, it is ended in its journal when
/// the resume completes (the journal's last handle goes).
pub struct Prepared {
    pub session: Session,
    pub journal: Arc<Journal>,
    pub rebuilt: Rebuilt,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Busy(#[from] LockError),
    #[error("cannot read session '{}': {source}", .dir.display())]
    Read {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] super::JournalError),
}

impl Prepared {
    /// Reads the session again (after more was journaled, e.g. discards taken up).
    pub fn reload(&mut self) -> Result<(), PrepareError> {
        self.session = load(&self.session.dir)?;
        Ok(())
    }
}

fn load(dir: &Path) -> Result<Session, PrepareError> {
    Session::load(dir).map_err(|source| PrepareError::Read {
        dir: dir.to_path_buf(),
        source,
    })
}

/// Locks session folder `dir` for a resume and makes it whole ([`Prepared`]). Refused while
/// another process records or resumes it.
pub fn prepare_resume(dir: &Path) -> Result<Prepared, PrepareError> {
    let held = lock(dir, "resuming")?;
    let mut session = load(dir)?;
    let rebuilt = session
        .rebuild_unwritten()
        .map_err(|source| PrepareError::Read {
            dir: dir.to_path_buf(),
            source,
        })?;
    let mut journal = Journal::open(dir)?.holding(held);
    if session.ended.is_none() {
        // Nobody records it (we hold its lock): its recording ended with the crash. The
        // resume ends it in the journal once its last result is in (the jobs share this
        // journal), which stops `sessions list` calling it "interrupted".
        journal = journal.ending_when_dropped("interrupted; ended by resume");
    }
    let journal = Arc::new(journal);
    if !rebuilt.ids.is_empty() {
        session = load(dir)?;
    }
    Ok(Prepared {
        session,
        journal,
        rebuilt,
    })
}

fn part_path(dir: &Path, id: UtteranceId) -> PathBuf {
    dir.join(format!("{}.part", id.wav_name()))
}

/// Ids of the `utt-NNNNNN.wav.part` files in `dir`.
fn part_ids(dir: &Path) -> std::io::Result<Vec<UtteranceId>> {
    let mut ids: Vec<UtteranceId> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let n = name
                .to_str()?
                .strip_prefix("utt-")?
                .strip_suffix(".wav.part")?;
            n.parse()
                .ok()
                .filter(|&id| id > 0 && id < super::MAX_ID)
                .map(UtteranceId)
        })
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// `.part` files of utterances that have their WAV: a write whose rename happened (nothing
/// to keep), or a rebuilt one.
fn remove_stale_parts(dir: &Path, s: &Session) {
    for id in part_ids(dir).unwrap_or_default() {
        let wav = dir.join(id.wav_name());
        if s.utterances.contains_key(&id) && wav.is_file() {
            let _ = std::fs::remove_file(part_path(dir, id));
        }
    }
}

/// `start_s..end_s` of `session.wav` (16 kHz mono 16-bit, as [`super::SessionAudio`] writes).
fn read_span(path: &Path, span: Span) -> Result<Vec<f32>, String> {
    let Span { start_s, end_s } = span;
    let err = |e: hound::Error| format!("cannot read '{}': {e}", path.display());
    let mut r = hound::WavReader::open(path).map_err(err)?;
    let total = r.duration();
    let first = (start_s.max(0.0) * SAMPLE_RATE as f64) as u32;
    let last = ((end_s * SAMPLE_RATE as f64) as u32).min(total);
    if first >= last {
        return Err(format!(
            "'{}' ends at {:.2} s, before the utterance ({start_s:.2}-{end_s:.2} s)",
            path.display(),
            total as f64 / SAMPLE_RATE as f64
        ));
    }
    r.seek(first)
        .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    r.samples::<i16>()
        .take((last - first) as usize)
        .map(|s| s.map(|v| v as f32 / i16::MAX as f32).map_err(err))
        .collect()
}

/// What a `.part` holds (its header repaired first: the writer died before finishing it).
fn read_part(part: &Path) -> Result<Vec<f32>, String> {
    if !part.is_file() {
        return Err(format!("'{}' is not there either", part.display()));
    }
    repair_wav_header(part).map_err(|e| format!("cannot repair '{}': {e}", part.display()))?;
    crate::audio::wav::read_16k_mono(part).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::{JOURNAL, SessionAudio};
    use super::*;

    fn session_with_audio(dir: &Path, seconds: usize) {
        let mut a = SessionAudio::create(dir).unwrap();
        let samples: Vec<f32> = (0..seconds * 16_000)
            .map(|i| ((i / 16_000) as f32 + 1.0) / 10.0)
            .collect();
        a.write(&samples).unwrap();
        // Killed: no finish, the header lags.
        std::mem::forget(a);
    }

    #[test]
    fn an_utterance_cut_during_its_wav_write_is_rebuilt_from_session_wav() {
        let dir = tempfile::tempdir().unwrap();
        session_with_audio(dir.path(), 3);
        let j = Journal::open(dir.path()).unwrap();
        j.append(&Entry::closed(UtteranceId(1), Span::new(1.0, 2.0)), false)
            .unwrap();
        std::fs::write(part_path(dir.path(), UtteranceId(1)), b"RIFF").unwrap();
        let s = Session::load(dir.path()).unwrap();
        assert_eq!(s.pending(), 1);
        let r = s.rebuild_unwritten().unwrap();
        assert_eq!(
            r,
            Rebuilt {
                ids: vec![UtteranceId(1)],
                failed: vec![]
            }
        );
        let s = Session::load(dir.path()).unwrap();
        assert!(s.unwritten.is_empty());
        let u = &s.utterances[&UtteranceId(1)];
        let samples = crate::audio::wav::read_16k_mono(&u.wav).unwrap();
        assert_eq!(samples.len(), 16_000);
        assert!(
            (samples[0] - 0.2).abs() < 1e-3,
            "the second second: {}",
            samples[0]
        );
        assert!(
            !part_path(dir.path(), UtteranceId(1)).exists(),
            ".part cleaned up"
        );
        assert!(
            std::fs::read_to_string(dir.path().join(JOURNAL))
                .unwrap()
                .contains("utterance_recorded")
        );
    }

    #[test]
    fn a_part_without_times_is_rebuilt_from_itself_after_the_utterance_before() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        write_16k_mono(&dir.path().join("utt-000001.wav"), &[0.1; 8_000]).unwrap();
        j.append(
            &Entry::UtteranceRecorded {
                id: UtteranceId(1),
                start_s: 0.5,
                end_s: 1.0,
                wav: "utt-000001.wav".into(),
                hints: Hints::default(),
            },
            true,
        )
        .unwrap();
        // A .part cut mid-write: header says 0 samples, 4000 are there.
        write_16k_mono(&dir.path().join("x.wav"), &[0.3; 4_000]).unwrap();
        let mut bytes = std::fs::read(dir.path().join("x.wav")).unwrap();
        bytes[40..44].copy_from_slice(&0u32.to_le_bytes());
        std::fs::write(part_path(dir.path(), UtteranceId(2)), bytes).unwrap();
        let s = Session::load(dir.path()).unwrap();
        assert_eq!(s.rebuild_unwritten().unwrap().ids, [UtteranceId(2)]);
        let s = Session::load(dir.path()).unwrap();
        let u = &s.utterances[&UtteranceId(2)];
        assert_eq!(u.span, Span::new(1.0, 1.25));
        assert!(!part_path(dir.path(), UtteranceId(2)).exists());
    }

    #[test]
    fn audio_that_is_nowhere_is_reported_not_invented() {
        let dir = tempfile::tempdir().unwrap();
        session_with_audio(dir.path(), 1);
        let j = Journal::open(dir.path()).unwrap();
        j.append(&Entry::closed(UtteranceId(4), Span::new(5.0, 6.0)), false)
            .unwrap();
        let s = Session::load(dir.path()).unwrap();
        let r = s.rebuild_unwritten().unwrap();
        assert!(r.ids.is_empty());
        assert_eq!(r.failed.len(), 1);
        assert!(r.failed[0].1.contains("ends at 1.00 s"), "{:?}", r.failed);
    }
}
