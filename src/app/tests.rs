//! Unit tests of [`App::update`]: keys to effects, the quit flow, out-of-order results,
//! queue positions, sessions, scrolling and the clock.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::test_support::*;
use super::*;
use crate::vocab::UtteranceId;

#[test]
fn space_and_r_start_and_stop_recording() {
    let mut app = App::new("base.en", true);
    assert_eq!(app.update(ch(' ')), [Effect::StartRecording]);
    assert_eq!(app.state, RecState::Starting);
    assert_eq!(app.update(ch('r')), [], "no second start while starting");
    app.update(started("mic"));
    assert_eq!(app.state, RecState::Recording);
    assert_eq!(app.input.as_deref(), Some("mic"));
    assert_eq!(app.update(ch('r')), [Effect::StopRecording]);
    assert_eq!(app.state, RecState::Stopping);
    app.update(stopped());
    assert_eq!(app.state, RecState::Idle);
}

#[test]
fn p_pauses_and_resumes_only_while_recording() {
    let mut app = App::new("m", false);
    assert_eq!(app.update(ch('p')), []);
    let mut app = recording();
    assert_eq!(app.update(ch('p')), [Effect::Pause]);
    assert_eq!(app.state, RecState::Paused);
    assert_eq!(app.update(ch('p')), [Effect::Resume]);
    assert_eq!(app.state, RecState::Recording);
}

#[test]
fn key_releases_do_nothing() {
    let mut app = recording();
    let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert_eq!(app.update(Msg::Key(release)), []);
    assert!(!app.quitting);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    app.update(Msg::Key(ctrl_c));
    assert!(app.quitting, "Ctrl-C behaves like q");
}

#[test]
fn refused_start_returns_to_idle_with_an_error_notice() {
    let mut app = App::new("m", false);
    app.update(ch('r'));
    app.update(Msg::StartFailed("no such device".into()));
    assert_eq!(app.state, RecState::Idle);
    let notice = app.notice.clone().expect("a notice");
    assert_eq!(notice.level, NoticeLevel::Error);
    assert!(notice.text.contains("no such device"));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.notice, None, "Esc dismisses the notice");
}

#[test]
fn quit_when_idle_with_nothing_pending_is_immediate() {
    let mut app = App::new("m", false);
    assert_eq!(app.update(ch('q')), [Effect::Quit]);
}

#[test]
fn quit_stops_recording_and_waits_for_pending_text() {
    let mut app = recording();
    app.update(speech(1));
    app.update(queued(1));
    app.update(transcribing(1));
    app.update(speech(2));
    assert_eq!(app.update(ch('q')), [Effect::StopRecording]);
    assert!(app.quitting);
    assert_eq!(app.update(queued(2)), []);
    assert_eq!(app.update(stopped()), []);
    assert_eq!(app.history.pending(), 2);
    assert_eq!(app.update(done(2, "two")), []);
    assert_eq!(app.update(done(1, "one")), [Effect::Quit]);
}

#[test]
fn second_q_quits_at_once() {
    let mut app = recording();
    app.update(speech(1));
    app.update(queued(1));
    app.update(ch('q'));
    assert_eq!(app.update(ch('q')), [Effect::QuitNow]);
}

#[test]
fn quit_while_starting_stops_the_session_when_it_opens() {
    let mut app = App::new("m", false);
    app.update(ch('r'));
    assert_eq!(app.update(ch('q')), []);
    assert_eq!(app.update(started("mic")), [Effect::StopRecording]);
    assert_eq!(app.update(stopped()), [Effect::Quit]);
}

#[test]
fn stopping_drops_utterances_left_open() {
    let mut app = recording();
    app.update(speech(1));
    app.update(ch('q'));
    assert_eq!(app.update(stopped()), [Effect::Quit]);
    assert!(utterances(&app).is_empty());
}

#[test]
fn engine_closing_while_quitting_quits_now() {
    let mut app = recording();
    app.update(speech(1));
    app.update(ch('q'));
    assert_eq!(app.update(Msg::EngineClosed), [Effect::QuitNow]);
}

#[test]
fn signals_quit_without_waiting_in_the_ui() {
    let mut app = recording();
    assert_eq!(app.update(Msg::Terminate), [Effect::Quit]);
}

#[test]
fn out_of_order_results_still_show_in_id_order() {
    let mut app = recording();
    for id in 1..=3 {
        app.update(speech(id));
        app.update(queued(id));
    }
    app.update(done(3, "three"));
    app.update(done(1, "one"));
    let rows = utterances(&app);
    assert_eq!(
        rows,
        [
            (1, EntryState::Done("one".into()), None),
            (2, EntryState::Queued, Some(1)),
            (3, EntryState::Done("three".into()), None),
        ]
    );
}

#[test]
fn a_result_for_an_unseen_id_is_still_shown() {
    let mut app = recording();
    app.update(done(7, "late"));
    assert_eq!(
        utterances(&app),
        [(7, EntryState::Done("late".into()), None)]
    );
}

#[test]
fn queue_positions_count_only_queued_entries_oldest_first() {
    let mut app = recording();
    for id in 1..=4 {
        app.update(speech(id));
        app.update(queued(id));
    }
    app.update(transcribing(1));
    app.update(transcribing(3));
    let positions: Vec<_> = utterances(&app)
        .into_iter()
        .map(|(id, _, pos)| (id, pos))
        .collect();
    assert_eq!(
        positions,
        [(1, None), (2, Some(1)), (3, None), (4, Some(2))]
    );
}

#[test]
fn discarded_blips_disappear() {
    let mut app = recording();
    app.update(speech(1));
    app.update(ev(EngineEvent::SpeechDiscarded {
        rec: REC,
        id: UtteranceId(1),
    }));
    assert!(utterances(&app).is_empty());
    app.update(speech(1));
    assert_eq!(utterances(&app), [(1, EntryState::Listening, None)]);
}

#[test]
fn each_recording_opens_a_session_and_late_results_find_their_own() {
    let mut app = recording();
    app.update(speech(0));
    app.update(queued(0));
    app.update(ch(' '));
    app.update(stopped());
    app.update(ch(' '));
    let second = RecordingId(2);
    app.update(ev(EngineEvent::RecordingStarted {
        rec: second,
        input: "file.wav".into(),
        session_dir: "/tmp/s2".into(),
    }));
    // The same id in the new recording: its id 0 is open while the old id 0 is still
    // queued; each event names its recording.
    let id = UtteranceId(0);
    app.update(ev(EngineEvent::SpeechStarted {
        rec: second,
        id,
        start_s: 0.0,
    }));
    app.update(done(0, "old"));
    let sessions = app.history.sessions();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1].input, "file.wav");
    assert_eq!(
        sessions[0].entries[&id].state,
        EntryState::Done("old".into())
    );
    assert_eq!(sessions[1].entries[&id].state, EntryState::Listening);
    // A late stop of the first recording does not stop the second.
    app.update(stopped());
    assert_eq!(app.state, RecState::Recording);
    assert_eq!(sessions_len(&app), 2);
}

fn sessions_len(app: &App) -> usize {
    app.history.sessions().len()
}

/// A 40×12 app (7 transcript lines) with `n` one-line utterances plus the session heading.
fn scrollable(n: u64) -> App {
    let mut app = recording();
    app.update(Msg::Resize {
        width: 40,
        height: 12,
    });
    for id in 0..n {
        app.update(done(id, "short"));
    }
    app
}

#[test]
fn follows_the_newest_line_until_scrolled_up() {
    let mut app = scrollable(20);
    let view = app.transcript_viewport();
    assert_eq!(
        view,
        crate::app::layout::Viewport {
            total: 21,
            height: 7
        }
    );
    assert_eq!(app.scroll, Scroll::Follow);
    app.update(ch('k'));
    assert_eq!(app.scroll, Scroll::At(13));
    app.update(done(20, "new"));
    assert_eq!(
        app.scroll,
        Scroll::At(13),
        "the view stays put when text arrives"
    );
    assert!(app.unseen);
    app.update(ch('j'));
    app.update(key(KeyCode::Down));
    assert_eq!(
        app.scroll,
        Scroll::Follow,
        "scrolling to the bottom resumes following"
    );
    assert!(!app.unseen);
}

#[test]
fn jumps_and_pages() {
    let mut app = scrollable(20);
    app.update(ch('g'));
    assert_eq!(app.scroll, Scroll::At(0));
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.scroll, Scroll::At(6));
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.scroll, Scroll::At(0));
    app.update(ch('G'));
    assert_eq!(app.scroll, Scroll::Follow);
    app.update(Msg::Scroll(-WHEEL_LINES));
    assert_eq!(app.scroll, Scroll::At(14 - 3));
}

#[test]
fn growing_the_screen_to_fit_everything_resumes_following() {
    let mut app = scrollable(20);
    app.update(ch('g'));
    app.update(Msg::Resize {
        width: 80,
        height: 60,
    });
    assert_eq!(app.scroll, Scroll::Follow);
}

#[test]
fn nothing_to_scroll_keeps_following() {
    let mut app = scrollable(2);
    app.update(ch('k'));
    app.update(ch('g'));
    assert_eq!(app.scroll, Scroll::Follow);
}

#[test]
fn clock_counts_recorded_time_only() {
    let mut app = recording();
    app.update(Msg::Tick { now_s: 100.0 });
    app.update(Msg::Tick { now_s: 101.5 });
    assert_eq!(app.clock_s, 1.5);
    app.update(ch('p'));
    app.update(Msg::Tick { now_s: 150.0 });
    app.update(ch('p'));
    app.update(Msg::Tick { now_s: 200.0 });
    app.update(Msg::Tick { now_s: 201.0 });
    assert_eq!(app.clock_s, 2.5, "the paused time is not counted");
}

#[test]
fn redraws_only_when_something_changed() {
    let mut app = recording();
    assert!(app.take_dirty());
    assert!(!app.take_dirty());
    app.update(ch('z'));
    assert!(!app.take_dirty(), "an unbound key changes nothing");
    app.update(Msg::Tick { now_s: 0.0 });
    app.update(Msg::Tick { now_s: 0.5 });
    assert!(!app.take_dirty(), "the shown second did not change");
    app.update(Msg::Tick { now_s: 1.0 });
    assert!(app.take_dirty());
}

#[test]
fn help_toggles_and_esc_closes_it() {
    let mut app = App::new("m", false);
    let help_open = |app: &App| matches!(app.overlay, Some(Overlay::Help { .. }));
    app.update(ch('?'));
    assert!(help_open(&app));
    app.update(ch('?'));
    assert!(!help_open(&app));
    app.update(ch('?'));
    app.update(key(KeyCode::Esc));
    assert!(!help_open(&app));
}
