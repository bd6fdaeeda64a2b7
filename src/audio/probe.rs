//! A timing hook into the audio thread, for `recorder bench audio`: the pipeline itself
//! reports how long each of its steps took, so the benchmark measures the code users run
//! (it used to time a copy of the loop, which had drifted: no level normaliser, no meter,
//! no interim snapshots). Without a probe the pipeline reads no clocks for it.

use std::time::Duration;

use super::source::Input;

pub trait Probe: Send {
    /// One turn of the audio thread's loop: how late the poll timer woke it (zero when it
    /// woke for a command), how long the poll took (drain, resample, session audio and every
    /// chunk of it), and the source after it (its capture counters).
    fn poll(&mut self, woke_late: Duration, took: Duration, input: &Input);
    /// One 32 ms chunk: the VAD alone, and everything the chunk cost the thread (VAD,
    /// segmenter, store hand-off, interim snapshot, level meter).
    fn chunk(&mut self, vad: Duration, whole: Duration);
    /// A closed utterance handed to the disk thread (the store's part of that chunk).
    fn store(&mut self, handoff: Duration);
}
