//! Snapshot tests of whole screens (`TestBackend` + insta). Review changed `.snap` files by
//! eye: they are the spec of what the user sees.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::draw;
use crate::app::{App, Msg};
use crate::audio::Level;
use crate::engine::EngineEvent;
use crate::protocol::{Timings, Transcript};
use crate::vocab::{RecordingId, Span, UtteranceId, UtteranceRef};

/// The recording these screens show.
pub(super) const REC: RecordingId = RecordingId(1);

/// Draws `app` on a `width`×`height` screen and returns the screen as text.
fn screen(app: &mut App, width: u16, height: u16) -> String {
    app.update(Msg::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| draw(app, frame)).expect("draw");
    terminal.backend().to_string()
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn ev(app: &mut App, event: EngineEvent) {
    app.update(Msg::Engine(event));
}

fn transcript(id: u64, start_s: f64, text: &str) -> EngineEvent {
    let text = Transcript {
        id: UtteranceId(id),
        span: Span::new(start_s, start_s + 3.0),
        text: text.into(),
        segments: vec![],
        no_speech_prob: 0.0,
        timings: Timings::default(),
    };
    EngineEvent::Transcribed { rec: REC, text }
}

fn queued(app: &mut App, id: u64, start_s: f64) {
    queued_utt(app, id, Span::new(start_s, start_s + 2.0));
}

fn queued_utt(app: &mut App, id: u64, span: Span) {
    let id = UtteranceId(id);
    let start_s = span.start_s;
    ev(
        app,
        EngineEvent::SpeechStarted {
            rec: REC,
            id,
            start_s,
        },
    );
    let wav = PathBuf::from(format!("/tmp/s/{id:04}.wav"));
    let utt = UtteranceRef {
        id,
        span,
        wav,
        hints: Default::default(),
    };
    ev(app, EngineEvent::Queued { rec: REC, utt });
}

/// Recording for 83 s with a finished, a transcribing, a queued and an open utterance.
fn recording() -> App {
    let mut app = App::new("ggml-base.en", false);
    app.update(key('r'));
    let session_dir = PathBuf::from("/tmp/s");
    ev(
        &mut app,
        EngineEvent::RecordingStarted {
            rec: REC,
            input: "MacBook Pro Microphone".into(),
            session_dir,
        },
    );
    ev(
        &mut app,
        EngineEvent::Workers {
            busy: 1,
            idle: 1,
            queued: 1,
            ready: true,
        },
    );
    queued(&mut app, 0, 1.2);
    ev(
        &mut app,
        transcript(
            0,
            1.2,
            " Hello there. This first sentence is long enough to wrap around at eighty columns, and further still.",
        ),
    );
    queued(&mut app, 1, 9.5);
    ev(
        &mut app,
        EngineEvent::Transcribing {
            rec: REC,
            id: UtteranceId(1),
            worker: 0,
        },
    );
    queued(&mut app, 2, 21.0);
    ev(
        &mut app,
        EngineEvent::SpeechStarted {
            rec: REC,
            id: UtteranceId(3),
            start_s: 80.4,
        },
    );
    let level = Level {
        rms_dbfs: -24.0,
        peak_dbfs: -9.0,
        speech_prob: 0.93,
        in_speech: true,
        xruns: 0,
    };
    ev(&mut app, EngineEvent::Level(level));
    app.update(Msg::Tick { now_s: 0.0 });
    app.update(Msg::Tick { now_s: 83.4 });
    app
}

#[test]
fn idle() {
    let mut app = App::new("ggml-base.en", false);
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn without_a_microphone_the_tui_opens_and_offers_the_picker() {
    // Bare `recorder` on a machine with no input exited with a 300-character line; now the
    // TUI opens idle, says why in the pane (wrapped) and on the status line, and `d` picks.
    let mut app = App::new("ggml-base.en", false);
    app.no_input("input device 'usb' not found");
    assert_snapshot!("no_input_80", screen(&mut app, 80, 24));
    assert_snapshot!("no_input_40", screen(&mut app, 40, 12));
}

#[test]
fn idle_with_its_worker_ready() {
    // The pool says so as soon as the model is loaded, before any utterance (`--idle`
    // showed "workers starting" forever).
    let mut app = App::new("ggml-base.en", false);
    let workers = |busy, idle, ready| EngineEvent::Workers {
        busy,
        idle,
        queued: 0,
        ready,
    };
    ev(&mut app, workers(0, 1, false));
    assert!(screen(&mut app, 80, 24).contains("workers starting"));
    ev(&mut app, workers(0, 1, true));
    assert_snapshot!(screen(&mut app, 80, 24));
    ev(&mut app, workers(1, 0, true));
    assert!(screen(&mut app, 80, 24).contains("workers 1 busy"));
    ev(&mut app, workers(1, 1, true));
    assert!(screen(&mut app, 80, 24).contains("workers 1/2 busy"));
}

#[test]
fn recording_with_pending_and_finished() {
    assert_snapshot!(screen(&mut recording(), 80, 24));
}

#[test]
fn paused() {
    let mut app = recording();
    app.update(key('p'));
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn help_overlay() {
    let mut app = recording();
    app.update(key('?'));
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn help_overlay_narrow() {
    let mut app = recording();
    app.update(key('?'));
    assert_snapshot!(screen(&mut app, 40, 12));
}

#[test]
fn narrow() {
    assert_snapshot!(screen(&mut recording(), 40, 12));
}

#[test]
fn error_notice_and_failed_utterance() {
    let mut app = recording();
    let wav = PathBuf::from("/tmp/s/0002.wav");
    ev(
        &mut app,
        EngineEvent::Failed {
            rec: REC,
            id: UtteranceId(2),
            reason: crate::engine::JobFailure::NoWorkers("worker crashed twice".into()),
            wav,
        },
    );
    let error = "audio device lost: the device is no longer available\nsecond line never shown";
    let reason = error.into();
    ev(&mut app, EngineEvent::SourceError { rec: REC, reason });
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn quitting_waits_for_pending_text() {
    let mut app = recording();
    app.update(key('q'));
    queued_utt(&mut app, 3, Span::new(80.4, 83.0));
    ev(&mut app, EngineEvent::RecordingStopped { rec: REC });
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn scrolled_up_with_new_text_below() {
    let mut app = recording();
    app.update(Msg::Resize {
        width: 60,
        height: 14,
    });
    for id in 4..12 {
        ev(&mut app, transcript(id, 90.0 + id as f64, "More words."));
    }
    app.update(key('g'));
    ev(&mut app, transcript(12, 120.0, "Newest."));
    assert_snapshot!(screen(&mut app, 60, 14));
}

#[test]
fn second_session_gets_its_own_heading() {
    let mut app = recording();
    app.update(key(' '));
    ev(&mut app, EngineEvent::RecordingStopped { rec: REC });
    app.update(key(' '));
    let session_dir = PathBuf::from("/tmp/s2");
    ev(
        &mut app,
        EngineEvent::RecordingStarted {
            rec: RecordingId(2),
            input: "talk.wav".into(),
            session_dir,
        },
    );
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn no_color_means_no_colour_anywhere() {
    let mut app = recording();
    app.update(Msg::Resize {
        width: 80,
        height: 24,
    });
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    terminal.draw(|frame| draw(&app, frame)).expect("draw");
    let plain = |c: &ratatui::buffer::Cell| c.fg == Color::Reset && c.bg == Color::Reset;
    assert!(terminal.backend().buffer().content.iter().all(plain));

    app.color = true;
    terminal.draw(|frame| draw(&app, frame)).expect("draw");
    assert!(
        !terminal.backend().buffer().content.iter().all(plain),
        "colour is used when allowed"
    );
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (10, 3), (20, 5), (0, 0)] {
        let mut app = recording();
        app.update(key('?'));
        app.update(Msg::Resize {
            width: w,
            height: h,
        });
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        terminal.draw(|frame| draw(&app, frame)).expect("draw");
    }
}

fn devices() -> Vec<crate::audio::capture::DeviceInfo> {
    use crate::audio::capture::DeviceInfo;
    let usable = |s: &str| Ok::<String, String>(s.to_string());
    vec![
        DeviceInfo {
            id: "alsa:default".into(),
            name: "default".into(),
            is_default: true,
            usable: usable("48000 Hz, 2 ch, f32"),
        },
        DeviceInfo {
            id: "alsa:MacBook".into(),
            name: "MacBook Pro Microphone".into(),
            is_default: false,
            usable: usable("48000 Hz, 1 ch, f32"),
        },
        DeviceInfo {
            id: "alsa:hw:CARD=PCH,DEV=0".into(),
            name: "HDA Intel PCH, ALC3246 Analog".into(),
            is_default: false,
            usable: Err("Device or resource busy".into()),
        },
    ]
}

fn level(app: &mut App, rms_dbfs: f32, peak_dbfs: f32, times: usize) {
    for _ in 0..times {
        let level = Level {
            rms_dbfs,
            peak_dbfs,
            speech_prob: 0.0,
            in_speech: false,
            xruns: 0,
        };
        ev(app, EngineEvent::Level(level));
    }
}

#[test]
fn selected_utterance() {
    let mut app = recording();
    ev(&mut app, transcript(2, 21.0, "Second one, now finished."));
    app.update(key('['));
    app.update(key('['));
    app.update(key('['));
    app.update(key('['));
    assert_snapshot!(screen(&mut app, 80, 24));
}

/// `Enter` on a selected utterance: its text becomes a field with a cursor, and the status
/// line and footer say how to save or cancel.
#[test]
fn editing_an_utterance_in_place() {
    let mut app = recording();
    ev(&mut app, transcript(2, 21.0, "Second one, now finished."));
    app.update(key('['));
    app.update(key('['));
    app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    for _ in 0..9 {
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Backspace,
            KeyModifiers::NONE,
        )));
    }
    for c in "done".chars() {
        app.update(key(c));
    }
    assert_snapshot!(screen(&mut app, 80, 24));
}

/// `/` opens the search prompt on the status line.
#[test]
fn search_prompt() {
    let mut app = recording();
    app.update(key('/'));
    for c in "wrap".chars() {
        app.update(key(c));
    }
    assert_snapshot!(screen(&mut app, 40, 12));
}

#[test]
fn device_list() {
    let mut app = recording();
    app.update(key('d'));
    app.update(Msg::Devices(devices()));
    app.update(key('j'));
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn device_list_loading_narrow() {
    let mut app = recording();
    app.update(key('d'));
    assert_snapshot!(screen(&mut app, 40, 12));
}

#[test]
fn device_list_narrow() {
    let mut app = recording();
    app.update(key('d'));
    app.update(Msg::Devices(devices()));
    assert_snapshot!(screen(&mut app, 40, 12));
}

#[test]
fn device_list_with_all_shown() {
    // `a` adds the devices that cannot be opened; their state comes before the name, so
    // at 40 columns "cannot open" is still there.
    let mut app = recording();
    app.update(key('d'));
    app.update(Msg::Devices(devices()));
    app.update(key('a'));
    assert_snapshot!("device_list_all", screen(&mut app, 80, 24));
    assert_snapshot!("device_list_all_narrow", screen(&mut app, 40, 12));
}

#[test]
fn export_list() {
    let mut app = recording();
    app.update(key('e'));
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn export_list_narrow() {
    let mut app = recording();
    app.update(key('e'));
    assert_snapshot!(screen(&mut app, 40, 12));
}

#[test]
fn exported_path_in_the_status_line() {
    let mut app = recording();
    app.update(key('e'));
    app.update(key('2'));
    app.update(Msg::Written {
        path: "/home/ann/.local/share/recorder/sessions/2026-11-25T21-10-58/transcript.md".into(),
        result: Ok(()),
        note: "1 utterance, 2 still pending left out".into(),
    });
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn silent_input_warning() {
    let mut app = recording();
    level(&mut app, -100.0, -100.0, 20 * 14);
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn clipping_warning_narrow() {
    let mut app = recording();
    level(&mut app, -3.0, 0.0, 1);
    assert_snapshot!(screen(&mut app, 40, 12));
}

#[test]
fn help_shows_the_log_file_and_rebound_keys() {
    let mut app = recording();
    app.log = Some("/home/ann/.local/state/recorder/recorder.log".into());
    let bindings = crate::app::KeyBindings {
        pause: vec!["o".into(), "f2".into()],
        ..crate::app::KeyBindings::default()
    };
    app.keys = crate::app::KeyMap::new(&bindings).expect("valid bindings");
    app.update(key('?'));
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn idle_after_a_session_with_text() {
    let mut app = recording();
    app.update(key(' '));
    ev(&mut app, transcript(2, 21.0, "Done before the stop."));
    ev(&mut app, transcript(1, 9.5, "The middle one."));
    ev(&mut app, EngineEvent::RecordingStopped { rec: REC });
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[path = "tests_live.rs"]
mod live;
