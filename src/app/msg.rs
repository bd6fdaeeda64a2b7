//! The app's vocabulary: the messages it takes in, the actions keys stand for and the effects
//! it asks the I/O shell to carry out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::engine::EngineEvent;

/// Lines one mouse-wheel notch scrolls.
pub const WHEEL_LINES: i64 = 3;

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// Mouse wheel, in lines; positive scrolls down (towards newer text).
    Scroll(i64),
    Resize {
        width: u16,
        height: u16,
    },
    Engine(EngineEvent),
    /// Seconds on a monotonic clock (any origin). Sent about 20 times a second while
    /// recording; the session clock advances by the time between ticks.
    Tick {
        now_s: f64,
    },
    /// A user action that did not come from a key (e.g. recording at launch).
    Action(Action),
    /// `Engine::start_recording` refused, with the reason.
    StartFailed(String),
    /// The engine's event channel closed: it is gone and nothing pending will finish.
    EngineClosed,
    /// SIGTERM or SIGHUP: leave now; the engine finishes pending work while shutting down.
    Terminate,
}

/// What the user can ask for; keys map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ToggleRecording,
    TogglePause,
    /// Lines; positive scrolls down.
    ScrollBy(i64),
    PageUp,
    PageDown,
    Top,
    /// Jump to the newest text and follow it.
    Bottom,
    ToggleHelp,
    /// Closes the help overlay, else clears the notice.
    Escape,
    Quit,
}

/// What [`crate::tui`] must do against the engine after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    StartRecording,
    StopRecording,
    Pause,
    Resume,
    /// Leave, letting the engine finish pending transcriptions while it shuts down.
    Quit,
    /// Leave at once, abandoning pending transcriptions (their audio stays on disk).
    QuitNow,
}

/// The action a key asks for, if any. Key releases are ignored (some terminals report them).
pub fn key_action(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    let action = match key.code {
        KeyCode::Char(' ' | 'r') => Action::ToggleRecording,
        KeyCode::Char('p') => Action::TogglePause,
        KeyCode::Char('j') | KeyCode::Down => Action::ScrollBy(1),
        KeyCode::Char('k') | KeyCode::Up => Action::ScrollBy(-1),
        KeyCode::PageDown => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Esc => Action::Escape,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    };
    Some(action)
}
