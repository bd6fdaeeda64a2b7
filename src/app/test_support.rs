//! Helpers shared by the app's unit tests: messages as the engine and the terminal send them,
//! and apps in common states.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::protocol::{Timings, Transcript};
use crate::vocab::{Span, UtteranceId, UtteranceRef};

/// The recording the helpers' events belong to.
pub(super) const REC: RecordingId = RecordingId(1);

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
        rec: REC,
        input: input.into(),
        session_dir: PathBuf::from("/tmp/s"),
    })
}

pub(super) fn stopped() -> Msg {
    ev(EngineEvent::RecordingStopped { rec: REC })
}

/// Utterance `id`'s times in the helpers' events: 2 s at `10 × id` s.
/// Utterance `id`'s times: 2 s long, 0.5 s apart (one paragraph).
fn span(id: u64) -> Span {
    let start_s = id as f64 * 2.5;
    Span::new(start_s, start_s + 2.0)
}

pub(super) fn speech(id: u64) -> Msg {
    ev(EngineEvent::SpeechStarted {
        rec: REC,
        id: UtteranceId(id),
        start_s: span(id).start_s,
    })
}

pub(super) fn queued(id: u64) -> Msg {
    let utt = UtteranceRef {
        id: UtteranceId(id),
        span: span(id),
        wav: PathBuf::from("u.wav"),
        hints: Default::default(),
    };
    ev(EngineEvent::Queued { rec: REC, utt })
}

pub(super) fn transcribing(id: u64) -> Msg {
    ev(EngineEvent::Transcribing {
        rec: REC,
        id: UtteranceId(id),
        worker: 0,
    })
}

pub(super) fn done(id: u64, text: &str) -> Msg {
    let text = Transcript {
        id: UtteranceId(id),
        span: span(id),
        text: format!(" {text}"),
        segments: vec![],
        no_speech_prob: 0.0,
        timings: Timings::default(),
    };
    ev(EngineEvent::Transcribed { rec: REC, text })
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
            } => Some((key.id.0, entry.state.clone(), queue_pos)),
            Row::Heading(_) => None,
        })
        .collect()
}
