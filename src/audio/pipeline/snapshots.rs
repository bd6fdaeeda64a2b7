//! Snapshots of the open utterance for the workers, written on the audio thread: interim
//! passes (its audio so far, for live text) and speculative finals (its audio once the cut
//! is fixed, so the final pass runs while the segmenter still waits for the end).

use super::{AudioEvent, Run};
use crate::audio::{SAMPLE_RATE, wav};
use crate::vocab::{Span, UtteranceRef};

/// Scratch files in the session folder (removed when recording stops).
pub(super) const INTERIM_WAV: &str = "interim.wav";
pub(super) const SPECULATIVE_WAV: &str = "speculative.wav";

impl Run {
    /// While an utterance is open, writes its audio so far for an interim pass every
    /// `interim_every` of stream time (at least 0.5 s of audio: less gives whisper nothing).
    pub(super) fn maybe_interim(&mut self, emit: &mut dyn FnMut(AudioEvent)) {
        let Some(every) = self.interim_every else {
            return;
        };
        let Some((id, start, samples)) = self.seg.open_audio() else {
            self.last_interim = None;
            return;
        };
        let now = self.seg.position();
        let due = match self.last_interim {
            Some((last_id, at)) if last_id == id => {
                now - at >= (every.as_secs_f64() * SAMPLE_RATE as f64) as u64
            }
            _ => samples.len() >= SAMPLE_RATE as usize / 2,
        };
        if !due {
            return;
        }
        self.last_interim = Some((id, now));
        let path = self.store.journal.dir().join(INTERIM_WAV);
        if wav::write_16k_mono_volatile(&path, samples).is_ok() {
            emit(AudioEvent::Interim {
                id,
                span: Span::of_samples(start, samples.len()),
                wav: path,
            });
        }
    }

    /// Once the speaker has been quiet for `speculate_after_ms` and the open utterance's
    /// cut is known (`Segmenter::fixed_cut`), writes that audio for a speculative final,
    /// the end of its post-roll not heard yet as silence; when the speaker goes on before it
    /// closes, says the speculation is void. Only for live input: a file read faster than
    /// real time closes the utterance a moment later anyway.
    pub(super) fn maybe_speculate(&mut self, emit: &mut dyn FnMut(AudioEvent)) {
        let Some(after_ms) = self.speculate.filter(|_| !self.input.is_fast()) else {
            return;
        };
        let open_id = self.seg.open_audio().map(|(id, _, _)| id);
        match (self.seg.fixed_cut(after_ms), self.last_spec) {
            (Some(cut), last) => {
                let span = cut.span();
                if last == Some((cut.id, span, cut.len)) {
                    return;
                }
                self.last_spec = Some((cut.id, span, cut.len));
                let Some((_, _, samples)) = self.seg.open_audio() else {
                    return;
                };
                let mut audio = samples[..cut.have].to_vec();
                audio.resize(cut.len, 0.0);
                let path = self.store.journal.dir().join(SPECULATIVE_WAV);
                if wav::write_16k_mono_volatile(&path, &audio).is_ok() {
                    emit(AudioEvent::Speculate {
                        utt: UtteranceRef {
                            id: cut.id,
                            span,
                            wav: path,
                            hints: cut.hints,
                        },
                        tell: self.told.0.clone(),
                    });
                }
            }
            // The same utterance is still open but its cut moved: the speaker went on.
            (None, Some((id, _, _))) if open_id == Some(id) => {
                self.last_spec = None;
                emit(AudioEvent::SpeculationVoid { id });
            }
            // Closed (its final job will find the speculation) or never speculated.
            (None, Some(_)) if open_id.is_none() => self.last_spec = None,
            _ => {}
        }
    }

    /// Hands the segmenter what the speculative finals said of the open utterance's end
    /// (only the latest speculation's: an older one was over another cut).
    pub(super) fn hear_endings(&mut self) {
        while let Ok(said) = self.told.1.try_recv() {
            if let Some((id, span, len)) = self.last_spec
                && said.id == id
                && said.span == span
            {
                self.seg.hear_ending(id, len, &said.text);
            }
        }
    }
}
