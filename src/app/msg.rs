//! The app's vocabulary: the messages it takes in, the actions keys stand for and the effects
//! it asks the I/O shell to carry out.

use std::path::PathBuf;

use crossterm::event::KeyEvent;

use crate::audio::capture::DeviceInfo;
use crate::engine::EngineEvent;

/// Lines one mouse-wheel notch scrolls.
pub const WHEEL_LINES: i64 = 3;

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// Mouse wheel, in lines; positive scrolls down (towards newer text).
    Scroll(i64),
    /// Left click at a screen cell: selects the utterance there.
    Click {
        column: u16,
        row: u16,
    },
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
    /// The session [`Effect::ResumeSession`] resumes, as its journal has it: each utterance's
    /// id, times and text (`None`: still to come). The pane shows it as a section of its own.
    ResumedSession {
        id: String,
        dir: PathBuf,
        utterances: Vec<(
            crate::vocab::UtteranceId,
            crate::vocab::Span,
            Option<String>,
        )>,
    },
    /// The answer to [`Effect::ResumeSession`]: how many utterances were queued, or why none.
    ResumeStarted(Result<usize, String>),
    /// The input devices, for the picker ([`Effect::ListDevices`]).
    Devices(Vec<DeviceInfo>),
    /// An [`Effect::Copy`] was carried out. OSC 52 is always sent; `tools` are the system
    /// clipboard tools that also took the text, `errors` those that failed.
    Copied {
        what: String,
        chars: usize,
        tools: Vec<String>,
        errors: Vec<String>,
    },
    /// An [`Effect::Journal`] was written (or why not).
    Journaled(Result<(), String>),
    /// An [`Effect::Play`] ended: the seconds played, or why it could not.
    Played {
        result: Result<f64, String>,
        what: String,
    },
    /// An [`Effect::Write`] finished.
    Written {
        path: PathBuf,
        result: Result<(), String>,
        /// Said after the path on success (e.g. how many utterances went in).
        note: String,
    },
}

/// What the user can ask for; keys map onto these (see [`super::keys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ToggleRecording,
    TogglePause,
    /// Lines; positive scrolls down. In a list overlay: moves the cursor.
    ScrollBy(i64),
    PageUp,
    PageDown,
    Top,
    /// Jump to the newest text and follow it.
    Bottom,
    SelectPrev,
    SelectNext,
    /// Copy the selected utterance, or the last one when none is selected.
    Copy,
    /// Copy the whole transcript.
    CopyAll,
    /// Open the export format list.
    Export,
    /// Open the input device list.
    PickDevice,
    /// Edit the selected utterance in place.
    Edit,
    /// Delete the selected utterance from the transcript; bring the last one back.
    Delete,
    Undelete,
    /// Open the search prompt; step through its matches.
    Search,
    NextMatch,
    PrevMatch,
    /// Play the selected (or last) utterance's audio.
    Play,
    ToggleHelp,
    /// Closes an overlay, else clears the selection, else dismisses the notice.
    Close,
    Quit,
}

/// What [`crate::tui`] must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append `entry` to the journal of the session in `dir` (an edit or a delete).
    Journal {
        dir: PathBuf,
        entry: crate::session::Entry,
    },
    /// Play this WAV through the default output device; `what` names it in the notice.
    Play {
        wav: PathBuf,
        what: String,
    },
    StartRecording,
    StopRecording,
    Pause,
    Resume,
    /// Record from this device (an id from [`DeviceInfo`]) from the next start on.
    UseDevice(String),
    /// Move the open recording to this device now, in the same session (answered by
    /// `InputSwitched`, or a notice when it cannot be opened).
    SwitchInput(String),
    /// Transcribe in the background what the session in this folder has without text, then
    /// answer with [`Msg::ResumeStarted`].
    ResumeSession(PathBuf),
    /// List the input devices (slow: probes each one) and answer with [`Msg::Devices`].
    ListDevices,
    /// Put `text` on the clipboard, then answer with [`Msg::Copied`].
    Copy {
        text: String,
        what: String,
    },
    /// Write `contents` to `path` (private to the user), then answer with [`Msg::Written`].
    Write {
        path: PathBuf,
        contents: String,
        note: String,
    },
    /// Leave, letting the engine finish pending transcriptions while it shuts down.
    Quit,
    /// Leave at once, abandoning pending transcriptions (their audio stays on disk).
    QuitNow,
}
