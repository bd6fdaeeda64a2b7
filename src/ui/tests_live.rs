//! Snapshots of what is new around the transcript: live text (stable and tentative words),
//! live text turned off, the question about an unfinished session and its progress, and the
//! vocabulary in the help.

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use super::{REC, ev, key, recording, screen};
use crate::app::{App, Msg, ResumeOffer};
use crate::engine::EngineEvent;
use crate::ui::draw;
use crate::vocab::UtteranceId;

/// `recording()` with live text for its open utterance (#3) and for the transcribing one (#1).
fn live() -> App {
    let mut app = recording();
    let interim = |id: u64, stable: &str, tentative: &str| EngineEvent::Interim {
        rec: REC,
        id: UtteranceId(id),
        stable: stable.into(),
        tentative: tentative.into(),
    };
    ev(&mut app, interim(1, "The middle one", ""));
    ev(&mut app, interim(3, "Please send the", "report tomorrow"));
    app
}

fn buffer(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| draw(app, frame)).expect("draw");
    terminal.backend().buffer().clone()
}

/// The style of the first cell of `word` on the screen.
fn style_of(buf: &Buffer, word: &str) -> Style {
    let text: String = buf.content.iter().map(|c| c.symbol()).collect();
    // One-cell symbols only on these lines, so the char index is the cell index.
    let at = text
        .chars()
        .collect::<Vec<_>>()
        .windows(word.chars().count())
        .position(|w| w.iter().collect::<String>() == word)
        .unwrap_or_else(|| panic!("{word:?} not on screen"));
    let cell = &buf.content[at];
    Style::new().fg(cell.fg).add_modifier(cell.modifier)
}

#[test]
fn live_text_stable_and_tentative() {
    let mut app = live();
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn live_text_styles_differ_with_and_without_colour() {
    for color in [true, false] {
        let mut app = live();
        app.color = color;
        app.update(Msg::Resize {
            width: 80,
            height: 24,
        });
        let buf = buffer(&app, 80, 24);
        let (stable, tentative) = (style_of(&buf, "Please"), style_of(&buf, "report"));
        let done = style_of(&buf, "Hello");
        assert_ne!(stable, tentative, "colour {color}");
        assert_ne!(stable, done, "colour {color}");
        assert!(tentative.add_modifier.contains(Modifier::ITALIC));
        if color {
            assert_eq!(tentative.fg, Some(Color::DarkGray));
        } else {
            assert_eq!(stable.fg, Some(Color::Reset));
            assert!(stable.add_modifier.contains(Modifier::DIM));
        }
    }
}

#[test]
fn live_text_turned_off() {
    let mut app = recording();
    let reason = "passes take 1.9 s, more than this machine keeps up with";
    ev(
        &mut app,
        EngineEvent::Notice(format!("live text off for now: {reason}")),
    );
    ev(&mut app, EngineEvent::InterimOff(reason.into()));
    assert_snapshot!(screen(&mut app, 80, 24));
    // Still said once the notice is dismissed.
    app.update(Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Esc,
    )));
    assert!(
        screen(&mut app, 80, 24)
            .lines()
            .next()
            .unwrap()
            .contains("live text off")
    );
    // A notice too long for the status line wraps onto a second row instead of losing its
    // end; the transcript gives up that row while it shows.
    ev(
        &mut app,
        EngineEvent::Notice(format!("live text off for now: {reason}")),
    );
    let narrow = screen(&mut app, 60, 16);
    assert!(narrow.contains("keeps up with"), "{narrow}");
    assert_snapshot!("live_text_off_notice_wraps_60", narrow);
    // The machine keeps up again: live text is back and the header says so no more.
    ev(&mut app, EngineEvent::InterimOn);
    let header = screen(&mut app, 80, 24).lines().next().unwrap().to_string();
    assert!(!header.contains("live text off"), "{header}");
}

fn offer() -> ResumeOffer {
    ResumeOffer {
        session: "2026-11-25T21-10-58".into(),
        dir: "/tmp/sessions/2026-11-25T21-10-58".into(),
        untranscribed: 3,
    }
}

#[test]
fn resume_question() {
    let mut app = recording();
    app.offer_resume(offer());
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn resume_question_narrow() {
    let mut app = recording();
    app.offer_resume(offer());
    assert_snapshot!(screen(&mut app, 40, 12));
}

#[test]
fn resume_in_progress() {
    let mut app = recording();
    app.offer_resume(offer());
    app.update(key('y'));
    app.update(Msg::ResumeStarted(Ok(3)));
    ev(
        &mut app,
        EngineEvent::Resumed {
            id: UtteranceId(4),
            span: crate::vocab::Span::new(3.0, 5.0),
            text: Some("What the crash left.".into()),
            error: None,
        },
    );
    assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn help_lists_the_vocabulary_and_the_log() {
    let mut app = recording();
    app.log = Some("/home/ann/.local/state/recorder/recorder.log".into());
    app.vocabulary = [
        "Dashwood",
        "Kubernetes",
        "Ferrars",
        "PostgreSQL",
        "Willoughby",
        "Barton Park",
        "Norland",
        "Marianne",
    ]
    .map(String::from)
    .to_vec();
    app.update(key('?'));
    let screen = screen(&mut app, 80, 30);
    assert!(screen.contains("recorder.log"));
    assert_snapshot!(screen);
}
