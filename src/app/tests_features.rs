//! Unit tests of the features around the transcript: selection, copy, export, the device
//! list, the help overlay, rebound keys and the input warnings.

use std::path::PathBuf;

use crossterm::event::KeyCode;

use super::layout::{Layout, Line, Tone};
use super::test_support::*;
use super::*;
use crate::audio::capture::DeviceInfo;
use crate::engine::EngineEvent;
use crate::vocab::UtteranceId;

fn copied_text(effects: &[Effect]) -> Option<(&str, &str)> {
    match effects {
        [Effect::Copy { text, what }] => Some((text, what)),
        _ => None,
    }
}

/// A recording app with three finished utterances.
fn with_text() -> App {
    let mut app = recording();
    for (id, text) in [(1, "one"), (2, "two"), (3, "three")] {
        app.update(done(id, text));
    }
    app
}

fn device(id: &str, default: bool) -> DeviceInfo {
    DeviceInfo {
        id: format!("alsa:{id}"),
        name: id.into(),
        is_default: default,
        usable: Ok("48000 Hz, 2 ch, f32".into()),
    }
}

fn level(rms_dbfs: f32, peak_dbfs: f32) -> Msg {
    ev(EngineEvent::Level(crate::audio::Level {
        rms_dbfs,
        peak_dbfs,
        speech_prob: 0.0,
        in_speech: false,
        xruns: 0,
    }))
}

#[test]
fn y_copies_the_last_utterance_or_the_selected_one() {
    let mut app = with_text();
    let effects = app.update(ch('y'));
    assert_eq!(copied_text(&effects), Some(("three", "the last utterance")));
    app.update(ch('['));
    app.update(ch('['));
    let effects = app.update(ch('y'));
    assert_eq!(
        copied_text(&effects),
        Some(("two", "the utterance at 00:05"))
    );
    app.update(ch(']'));
    app.update(ch(']'));
    assert_eq!(
        app.selected, None,
        "past the newest: back to 'the last one'"
    );
    app.update(ch('['));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.selected, None, "Esc clears the selection");
}

#[test]
fn copy_with_nothing_finished_says_so() {
    let mut app = recording();
    app.update(speech(1));
    assert_eq!(app.update(ch('y')), []);
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("nothing to copy")
    );
    app.update(ch('['));
    assert_eq!(
        app.update(ch('y')),
        [],
        "the selected one is still being heard"
    );
    assert!(app.notice.as_ref().unwrap().text.contains("no text"));
}

#[test]
fn capital_y_copies_every_session() {
    let mut app = with_text();
    app.update(ch(' '));
    app.update(stopped());
    app.update(ch(' '));
    app.update(started("mic"));
    app.update(done(4, "four"));
    let effects = app.update(ch('Y'));
    assert_eq!(
        copied_text(&effects),
        // 0.5 s apart: one paragraph; each session its own (as the txt export has them).
        Some(("one two three\n\nfour", "the whole transcript"))
    );
    app.update(Msg::Copied {
        what: "the whole transcript".into(),
        chars: 18,
        tools: vec!["tmux".into()],
        errors: vec![],
    });
    let notice = app.notice.clone().unwrap();
    assert_eq!(notice.level, NoticeLevel::Info);
    assert!(
        notice.text.contains("via tmux and OSC 52"),
        "{}",
        notice.text
    );
}

#[test]
fn selecting_scrolls_the_selection_into_view() {
    let mut app = recording();
    app.update(Msg::Resize {
        width: 40,
        height: 12,
    });
    for id in 0..20 {
        app.update(done(id, "short"));
    }
    for _ in 0..10 {
        app.update(ch('['));
    }
    assert_eq!(app.selected.map(|k| k.id.0), Some(10));
    let lines = app.entry_lines(app.selected.unwrap()).unwrap();
    let Scroll::At(top) = app.scroll else {
        panic!("scrolled up to the selection")
    };
    assert_eq!(top, lines.start, "the selection is the first line shown");
}

#[test]
fn a_click_selects_the_utterance_under_it() {
    let mut app = with_text();
    // Rows: header, meter, transcript rule, session heading, then utterances 1, 2, 3.
    app.update(Msg::Click { column: 10, row: 5 });
    assert_eq!(app.selected.map(|k| k.id.0), Some(2));
    app.update(Msg::Click { column: 10, row: 0 });
    assert_eq!(
        app.selected.map(|k| k.id.0),
        Some(2),
        "the header is not a row"
    );
}

#[test]
fn export_writes_the_chosen_format_into_the_session_folder() {
    let mut app = with_text();
    app.update(speech(4));
    app.update(queued(4));
    assert_eq!(app.update(ch('e')), []);
    assert!(matches!(app.overlay, Some(Overlay::Export { cursor: 0 })));
    app.update(ch('j'));
    let effects = app.update(key(KeyCode::Enter));
    let [
        Effect::Write {
            path,
            contents,
            note,
        },
    ] = &effects[..]
    else {
        panic!("one write: {effects:?}");
    };
    assert_eq!(path, &PathBuf::from("/tmp/s/transcript.md"));
    assert!(contents.contains("**[00:02]** one two three"), "{contents}");
    assert_eq!(note, "3 utterances, 1 still pending left out");
    assert_eq!(app.overlay, None);
    // The list opens on the format used last; a digit picks directly.
    app.update(ch('e'));
    assert!(matches!(app.overlay, Some(Overlay::Export { cursor: 1 })));
    let effects = app.update(ch('3'));
    assert!(
        matches!(&effects[..], [Effect::Write { path, .. }] if path.ends_with("transcript.srt"))
    );
    app.update(Msg::Written {
        path: "/tmp/s/transcript.srt".into(),
        result: Ok(()),
        note: "3 utterances".into(),
    });
    let notice = app.notice.clone().unwrap().text;
    assert_eq!(notice, "exported to /tmp/s/transcript.srt (3 utterances)");
}

#[test]
fn export_with_no_text_opens_nothing() {
    let mut app = recording();
    app.update(ch('e'));
    assert_eq!(app.overlay, None);
    assert!(app.notice.unwrap().text.contains("nothing to export"));
}

#[test]
fn picking_a_device_while_recording_switches_in_the_same_session() {
    let mut app = recording();
    assert_eq!(app.update(ch('d')), [Effect::ListDevices]);
    app.update(Msg::Devices(vec![
        device("default", true),
        device("usb", false),
    ]));
    let Some(Overlay::Devices(picker)) = &app.overlay else {
        panic!("device list open");
    };
    assert_eq!(picker.cursor, 0, "starts on the default");
    app.update(key(KeyCode::Down));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [
            Effect::UseDevice("alsa:usb".into()),
            Effect::SwitchInput("alsa:usb".into())
        ]
    );
    assert_eq!(app.state, RecState::Recording);
    app.update(ev(EngineEvent::InputSwitched {
        rec: REC,
        input: "usb".into(),
    }));
    assert_eq!(app.state, RecState::Recording);
    assert_eq!(app.input.as_deref(), Some("usb"));
    assert_eq!(app.history.sessions().len(), 1);
    assert!(app.notice.unwrap().text.contains("switched to usb"));
}

#[test]
fn a_paused_recording_stays_paused_on_the_new_device() {
    let mut app = recording();
    app.update(ch('p'));
    app.update(ch('d'));
    app.update(Msg::Devices(vec![
        device("default", true),
        device("usb", false),
    ]));
    let effects = app.update(ch('2'));
    assert!(effects.contains(&Effect::SwitchInput("alsa:usb".into())));
    app.update(ev(EngineEvent::InputSwitched {
        rec: REC,
        input: "usb".into(),
    }));
    assert_eq!(app.state, RecState::Paused);
}

#[test]
fn picking_a_device_when_idle_only_sets_it() {
    let mut app = App::new("m", false);
    app.update(ch('d'));
    app.update(Msg::Devices(vec![
        device("default", true),
        device("usb", false),
    ]));
    assert_eq!(app.update(ch('2')), [Effect::UseDevice("alsa:usb".into())]);
    assert_eq!(app.state, RecState::Idle);
    assert_eq!(app.input.as_deref(), Some("usb"));
}

#[test]
fn unusable_devices_are_not_picked_and_a_late_list_is_dropped() {
    let mut app = recording();
    app.update(ch('d'));
    let mut broken = device("hw", false);
    broken.usable = Err("busy".into());
    app.update(Msg::Devices(vec![device("default", true), broken]));
    // Hidden at first: only what can be opened (and the default) is listed.
    let rows = |app: &App| match &app.overlay {
        Some(Overlay::Devices(p)) => p.devices.as_ref().map_or(0, Vec::len),
        _ => 0,
    };
    assert_eq!(rows(&app), 1);
    assert_eq!(app.update(ch('2')), [], "no second row to pick");
    app.update(ch('a'));
    assert_eq!(rows(&app), 2, "`a` shows the rest");
    assert_eq!(app.update(ch('2')), []);
    assert!(app.notice.clone().unwrap().text.contains("busy"));
    app.update(ch('a'));
    assert_eq!(rows(&app), 1, "and hides them again");
    assert!(app.overlay.is_some());
    app.update(key(KeyCode::Esc));
    assert_eq!(app.overlay, None);
    app.update(Msg::Devices(vec![]));
    assert_eq!(
        app.overlay, None,
        "a list that comes after closing is ignored"
    );
}

#[test]
fn overlays_take_the_keys_but_quit_still_quits() {
    let mut app = with_text();
    app.update(ch('?'));
    assert_eq!(app.update(ch('p')), [], "no pause behind the help");
    assert_eq!(app.state, RecState::Recording);
    assert_eq!(app.update(ch('q')), [Effect::StopRecording]);
    assert_eq!(app.overlay, None);
}

#[test]
fn the_help_scrolls_on_a_small_screen() {
    let mut app = App::new("m", false);
    app.update(Msg::Resize {
        width: 40,
        height: 12,
    });
    app.update(ch('?'));
    let max = app.help_max_top();
    assert!(max > 0, "the help does not fit in 12 rows");
    app.update(ch('G'));
    assert_eq!(app.overlay, Some(Overlay::Help { top: max }));
    app.update(ch('k'));
    assert_eq!(app.overlay, Some(Overlay::Help { top: max - 1 }));
}

#[test]
fn rebound_keys_work_and_old_ones_do_not() {
    let mut app = recording();
    let bindings = KeyBindings {
        pause: vec!["ctrl-p".into()],
        ..KeyBindings::default()
    };
    app.keys = KeyMap::new(&bindings).unwrap();
    assert_eq!(app.update(ch('p')), []);
    let ctrl_p = crossterm::event::KeyEvent::new(
        KeyCode::Char('p'),
        crossterm::event::KeyModifiers::CONTROL,
    );
    assert_eq!(app.update(Msg::Key(ctrl_p)), [Effect::Pause]);
}

#[test]
fn silence_and_clipping_are_told_from_the_levels() {
    let mut app = recording();
    for _ in 0..(11 * 20) {
        app.update(level(-100.0, -100.0));
    }
    assert_eq!(
        app.input_warning(),
        None,
        "eleven seconds of silence is a pause"
    );
    for _ in 0..(2 * 20) {
        app.update(level(-100.0, -100.0));
    }
    assert_eq!(app.input_warning(), Some(InputWarning::Silent(13)));
    app.update(level(-20.0, 0.0));
    assert_eq!(app.input_warning(), Some(InputWarning::Clipping));
    for _ in 0..(2 * 20) {
        app.update(level(-20.0, -6.0));
    }
    assert_eq!(app.input_warning(), None, "the clipping warning fades");
    for _ in 0..(13 * 20) {
        app.update(level(-100.0, -100.0));
    }
    app.update(ch('p'));
    assert_eq!(app.input_warning(), None, "no warning while paused");
    app.update(ch('p'));
    assert_eq!(app.input_warning(), None, "resuming starts counting again");
}

#[test]
fn config_bindings_parse_from_toml() {
    let cfg = crate::config::Config::parse("[keys]\ncopy = [\"c\"]\n").unwrap();
    assert_eq!(cfg.keys.copy, ["c"]);
    assert_eq!(cfg.keys.quit, KeyBindings::default().quit);
    let err = crate::config::Config::parse("[keys]\ncopy = [\"q\"]\n").unwrap_err();
    assert!(err.contains("quit") && err.contains("copy"), "{err}");
    assert!(crate::config::Config::parse("[keys]\ncopi = [\"c\"]\n").is_err());
}

#[test]
fn settled_texts_replace_the_first_and_are_marked() {
    let mut app = with_text();
    app.update(ev(EngineEvent::Settled {
        rec: REC,
        ids: vec![UtteranceId(1), UtteranceId(2)],
        texts: Ok(vec![
            (UtteranceId(1), "One,".into()),
            (UtteranceId(2), "two".into()),
        ]),
        worker_ms: 1.0,
    }));
    let session = &app.history.sessions()[0];
    let e = &session.entries[&UtteranceId(2)];
    assert_eq!(e.text(), Some("two"));
    assert!(e.settled);
    assert!(!session.entries[&UtteranceId(3)].settled);
    let layout = Layout::build(&app, 80);
    let settled: Vec<bool> = layout
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Utterance { settled, .. } => Some(*settled),
            _ => None,
        })
        .collect();
    assert_eq!(settled, [true, true, false]);
    // A refused pass changes nothing.
    app.update(ev(EngineEvent::Settled {
        rec: REC,
        ids: vec![UtteranceId(3)],
        texts: Err("less sure".into()),
        worker_ms: 1.0,
    }));
    assert_eq!(
        app.history.sessions()[0].entries[&UtteranceId(3)].text(),
        Some("three")
    );
}

#[test]
fn the_transcript_pane_shows_paragraphs_and_dims_spoken_commands() {
    let mut app = recording();
    app.update(done(1, "First thought."));
    app.update(done(2, "new paragraph"));
    app.update(done(3, "Second thought."));
    let layout = Layout::build(&app, 80);
    let shown: Vec<String> = layout
        .lines
        .iter()
        .map(|l| match l {
            Line::Blank => "-".to_string(),
            Line::Heading { .. } => "#".to_string(),
            Line::Utterance { runs, .. } => runs
                .iter()
                .map(|(t, tone)| format!("{t}{}", if *tone == Tone::Dim { " (dim)" } else { "" }))
                .collect(),
            Line::Hint(h) => h.clone(),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "#",
            "First thought.",
            "new paragraph (dim)",
            "-",
            "Second thought."
        ]
    );
}
