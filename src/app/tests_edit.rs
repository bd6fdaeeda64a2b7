//! Unit tests of working on the transcript: edit in place, delete and bring back, search,
//! play, no-speech entries, and copy on stop.

use crossterm::event::KeyCode;

use super::test_support::*;
use super::*;
use crate::engine::EngineEvent;
use crate::session::Entry as Journaled;
use crate::vocab::UtteranceId;

fn with_text() -> App {
    let mut app = recording();
    for (id, text) in [(1, "one"), (2, "two fish"), (3, "three fish")] {
        app.update(done(id, text));
    }
    app
}

fn journaled(effects: &[Effect]) -> Option<&Journaled> {
    match effects {
        [Effect::Journal { dir, entry }] if dir.ends_with("s") => Some(entry),
        _ => None,
    }
}

fn texts(app: &App) -> Vec<String> {
    app.history
        .keys()
        .into_iter()
        .filter_map(|k| app.history.get(k)?.text().map(str::to_string))
        .collect()
}

fn select(app: &mut App, from_newest: usize) {
    for _ in 0..from_newest {
        app.update(ch('['));
    }
}

#[test]
fn enter_edits_the_selected_text_in_place_and_journals_it() {
    let mut app = with_text();
    assert!(
        app.update(key(KeyCode::Enter)).is_empty(),
        "nothing selected"
    );
    assert!(app.notice.as_ref().unwrap().text.contains("select"));
    select(&mut app, 2);
    app.update(key(KeyCode::Enter));
    assert!(app.editor.is_some());
    // Keys go to the editor, not to their bindings: `q` is a letter here.
    for _ in 0..4 {
        app.update(key(KeyCode::Backspace));
    }
    for c in "bird".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Home));
    app.update(ch('q'));
    assert!(!app.quitting);
    assert_eq!(app.editor.as_ref().unwrap().shown(), "q▏two bird");
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(
        journaled(&effects),
        Some(&Journaled::Edited {
            id: UtteranceId(2),
            text: "qtwo bird".into()
        })
    );
    assert_eq!(texts(&app), ["one", "qtwo bird", "three fish"]);
    // A settle pass afterwards leaves the user's text alone.
    app.update(ev(EngineEvent::Settled {
        rec: REC,
        ids: vec![UtteranceId(2)],
        texts: Ok(vec![(UtteranceId(2), "Two fish.".into())]),
        worker_ms: 1.0,
    }));
    assert_eq!(texts(&app)[1], "qtwo bird");
    // Esc cancels: no journal entry, the text as it was.
    app.update(key(KeyCode::Enter));
    app.update(ch('!'));
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert_eq!(texts(&app)[1], "qtwo bird");
    assert!(app.editor.is_none());
}

#[test]
fn x_deletes_from_the_transcript_and_u_brings_it_back() {
    let mut app = with_text();
    select(&mut app, 2);
    let effects = app.update(ch('x'));
    assert_eq!(
        journaled(&effects),
        Some(&Journaled::Deleted { id: UtteranceId(2) })
    );
    assert_eq!(texts(&app), ["one", "three fish"]);
    // Gone from copies too; the next one is selected.
    let all = app.update(ch('Y'));
    assert!(matches!(&all[..], [Effect::Copy { text, .. }] if !text.contains("two")));
    assert_eq!(app.selected.map(|k| k.id), Some(UtteranceId(3)));
    let effects = app.update(ch('u'));
    assert_eq!(
        journaled(&effects),
        Some(&Journaled::Restored { id: UtteranceId(2) })
    );
    assert_eq!(texts(&app), ["one", "two fish", "three fish"]);
    assert!(app.update(ch('u')).is_empty(), "nothing left to bring back");
}

#[test]
fn slash_searches_and_n_steps_through_the_matches() {
    let mut app = with_text();
    app.update(ch('/'));
    for c in "FISH".chars() {
        app.update(ch(c));
    }
    assert_eq!(app.status_text().unwrap().0, "search: FISH▏");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.selected.map(|k| k.id), Some(UtteranceId(2)));
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .starts_with("match 1 of 2")
    );
    app.update(ch('n'));
    assert_eq!(app.selected.map(|k| k.id), Some(UtteranceId(3)));
    app.update(ch('n'));
    assert_eq!(app.selected.map(|k| k.id), Some(UtteranceId(2)), "wraps");
    app.update(ch('N'));
    assert_eq!(app.selected.map(|k| k.id), Some(UtteranceId(3)));
    app.update(ch('/'));
    app.update(ch('z'));
    app.update(key(KeyCode::Enter));
    assert!(app.notice.as_ref().unwrap().text.contains("no match"));
}

#[test]
fn p_plays_the_selected_utterance_from_its_session_folder() {
    let mut app = with_text();
    select(&mut app, 3);
    let effects = app.update(ch('P'));
    let [Effect::Play { wav, what }] = &effects[..] else {
        panic!("{effects:?}");
    };
    assert_eq!(
        wav,
        &std::path::PathBuf::from("/tmp/s").join(UtteranceId(1).wav_name())
    );
    assert_eq!(what, "the utterance at 00:02");
    app.update(Msg::Played {
        result: Err("no output device".into()),
        what: what.clone(),
    });
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("no output device")
    );
}

#[test]
fn no_speech_entries_show_only_while_newest() {
    let mut app = with_text();
    app.update(done(4, ""));
    let shown = |app: &App| {
        app.history
            .keys()
            .into_iter()
            .map(|k| k.id.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(shown(&app), [1, 2, 3, 4], "the newest says (no speech)");
    app.update(done(5, "five"));
    assert_eq!(shown(&app), [1, 2, 3, 5], "then it goes");
}

#[test]
fn copy_on_stop_copies_the_session_once_its_last_text_is_in() {
    let mut app = recording();
    app.copy_on_stop = true;
    app.update(done(1, "one"));
    app.update(queued(2));
    app.update(ch(' '));
    assert!(
        app.update(stopped()).is_empty(),
        "utterance 2 is still pending"
    );
    let effects = app.update(done(2, "two"));
    assert!(
        matches!(&effects[..], [Effect::Copy { text, .. }] if text.contains("one") && text.contains("two")),
        "{effects:?}"
    );
    assert!(app.update(done(3, "late")).is_empty(), "copied once");
}

#[test]
fn a_resumed_session_shows_its_text_in_a_section_of_its_own() {
    let mut app = recording();
    app.update(done(1, "live one"));
    app.update(Msg::ResumedSession {
        id: "2026-11-25T21-10-58".into(),
        dir: "/tmp/old".into(),
        utterances: vec![
            (
                UtteranceId(1),
                crate::vocab::Span::new(0.0, 1.0),
                Some("before the crash".into()),
            ),
            (UtteranceId(2), crate::vocab::Span::new(2.0, 3.0), None),
        ],
    });
    let sessions = app.history.sessions();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1].input, "resumed 2026-11-25T21-10-58");
    assert_eq!(app.history.pending(), 0, "the resume counts its own");
    app.update(ev(EngineEvent::Resumed {
        id: UtteranceId(2),
        span: crate::vocab::Span::new(2.0, 3.0),
        text: Some("after it".into()),
        error: None,
    }));
    assert_eq!(texts(&app), ["live one", "before the crash", "after it"]);
    // The live recording's next utterance still goes to its own section.
    app.update(done(2, "live two"));
    assert_eq!(app.history.sessions()[0].entries.len(), 2);
}
