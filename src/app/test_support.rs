//! Helpers shared by the app's unit tests: messages as the engine and the terminal send them,
//! and apps in common states.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::protocol::{Timings, Transcript};

pub(super) fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(super) fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub(super) fn ev(event: EngineEvent) -> Msg {
    Msg::Engine(event)
}

pub(super) fn started(input: &str) -> Msg {
    ev(EngineEvent::RecordingStarted {
        input: input.into(),
        session_dir: PathBuf::from("/tmp/s"),
    })
}

pub(super) fn speech(id: u64) -> Msg {
    ev(EngineEvent::SpeechStarted {
        id,
        start_s: id as f64 * 10.0,
    })
}

pub(super) fn queued(id: u64) -> Msg {
    let start_s = id as f64 * 10.0;
    ev(EngineEvent::Queued {
        id,
        start_s,
        end_s: start_s + 2.0,
        wav: PathBuf::from("u.wav"),
    })
}

pub(super) fn transcribing(id: u64) -> Msg {
    ev(EngineEvent::Transcribing { id, worker: 0 })
}

pub(super) fn done(id: u64, text: &str) -> Msg {
    let start_s = id as f64 * 10.0;
    ev(EngineEvent::Transcribed(Transcript {
        id,
        start_s,
        end_s: start_s + 2.0,
        text: format!(" {text}"),
        segments: vec![],
        no_speech_prob: 0.0,
        timings: Timings::default(),
    }))
}

/// An app that is recording (session opened).
pub(super) fn recording() -> App {
    let mut app = App::new("base.en", false);
    app.update(ch('r'));
    app.update(started("mic"));
    app
}

/// (id, state) of every utterance, in display order.
pub(super) fn utterances(app: &App) -> Vec<(u64, EntryState, Option<usize>)> {
    app.history
        .rows()
        .filter_map(|row| match row {
            Row::Utterance {
                key,
                entry,
                queue_pos,
            } => Some((key.id, entry.state.clone(), queue_pos)),
            Row::Heading(_) => None,
        })
        .collect()
}
