//! recorder: a local terminal dictation recorder.
//!
//! Architecture (threads and processes; `ARCHITECTURE.md` has the map and one utterance's
//! path):
//! - the cpal callback thread only copies samples into a lock-free SPSC ring ([`audio::capture`]);
//! - one audio thread of ours drains the ring, resamples to 16 kHz, runs Silero VAD and the
//!   segmenter ([`audio::pipeline`]); a disk thread makes each utterance durable
//!   ([`store`]);
//! - the tokio runtime drives the UI / headless output, the bridge ([`engine`]) and the
//!   worker pool ([`pool`]);
//! - N `recorder worker` child processes run whisper.cpp ([`worker`]), speaking
//!   [`protocol`] with the pool.

pub mod app;
pub mod audio;
pub mod bench;
pub mod cli;
pub mod clipboard;
pub mod config;
pub mod engine;
pub mod eval;
pub mod export;
pub mod headless;
pub mod inert;
pub mod logging;
pub mod models;
pub mod ortlib;
pub mod out;
pub mod paths;
pub mod pool;
pub mod prose;
pub mod protocol;
pub mod session;
pub mod sessions_cmd;
pub mod store;
pub mod text;
pub mod tui;
pub mod ui;
pub mod vocab;
pub mod worker;

/// An error and its causes as one line ("a: b: c"), skipping a cause whose text the line
/// already holds: a `thiserror` message that shows its `#[source]` would otherwise print it
/// twice (`cannot open 'x.wav': No such file or directory (os error 2): No such file or
/// directory (os error 2)`, as anyhow's `{:#}` does).
pub fn error_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    // File and device names in it come from outside: no raw control characters.
    inert::inert_line(&out).into_owned()
}
