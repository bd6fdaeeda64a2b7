//! The TUI's state and its one entry point, [`App::update`]: a message in, a list of
//! [`Effect`]s out, no I/O. [`crate::tui`] feeds it terminal input, engine events and clock
//! ticks and carries out the effects against the [`crate::engine::Engine`]; [`crate::ui`]
//! draws it. Keeping `update` pure is what lets every behaviour be unit-tested.

pub mod history;
mod msg;

#[cfg(test)]
mod tests;

use crate::audio::Level;
use crate::engine::EngineEvent;
pub use history::{Entry, EntryState, History, Row, Session};
pub use msg::{Action, Effect, Msg, WHEEL_LINES, key_action};

/// What the recorder is doing, as far as the UI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecState {
    Idle,
    /// `start_recording` was asked for; `RecordingStarted` has not come yet.
    Starting,
    Recording,
    Paused,
    /// `stop_recording` was asked for; `RecordingStopped` has not come yet.
    Stopping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warn,
    Error,
}

/// The one-line status message; errors go here rather than over the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

/// Where the transcript view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    /// Pinned to the newest line.
    Follow,
    /// The first visible line, counted in wrapped lines from the top. Kept when text is added
    /// below so what the user is reading does not move.
    At(usize),
}

/// Worker pool state from the last `Workers` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Workers {
    pub busy: usize,
    pub idle: usize,
    pub queued: usize,
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    /// False under NO_COLOR: the UI then uses modifiers only.
    pub color: bool,
    pub model: String,
    pub state: RecState,
    /// The input of the current (or last) session.
    pub input: Option<String>,
    /// Seconds recorded in the current session, pauses excluded.
    pub clock_s: f64,
    pub workers: Option<Workers>,
    /// The latest level; `None` when not recording.
    pub level: Option<Level>,
    pub history: History,
    pub scroll: Scroll,
    /// Text arrived while the user was scrolled up.
    pub unseen: bool,
    pub notice: Option<Notice>,
    pub help: bool,
    /// The user asked to quit; waiting for the recording to stop and pending text to arrive.
    pub quitting: bool,
    /// Terminal size in cells.
    pub size: (u16, u16),
    last_tick: Option<f64>,
    dirty: bool,
}

impl App {
    /// `model`: the name shown in the header. `color`: false to honour NO_COLOR.
    pub fn new(model: impl Into<String>, color: bool) -> Self {
        Self {
            color,
            model: model.into(),
            state: RecState::Idle,
            input: None,
            clock_s: 0.0,
            workers: None,
            level: None,
            history: History::default(),
            scroll: Scroll::Follow,
            unseen: false,
            notice: None,
            help: false,
            quitting: false,
            size: (80, 24),
            last_tick: None,
            dirty: true,
        }
    }

    /// Applies one message and says what to do about it.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.dirty = true;
        match msg {
            Msg::Key(key) => match key_action(key) {
                Some(action) => self.act(action),
                None => {
                    self.dirty = false;
                    vec![]
                }
            },
            Msg::Action(action) => self.act(action),
            Msg::Scroll(lines) => self.act(Action::ScrollBy(lines)),
            Msg::Resize { width, height } => {
                self.size = (width, height);
                // Re-clamp: a taller or wider screen may now show the newest line.
                self.scroll_by(0);
                vec![]
            }
            Msg::Engine(event) => {
                self.on_engine(event);
                self.quit_progress()
            }
            Msg::Tick { now_s } => {
                self.dirty = self.tick(now_s);
                vec![]
            }
            Msg::StartFailed(reason) => {
                self.state = RecState::Idle;
                self.set_notice(
                    NoticeLevel::Error,
                    format!("could not start recording: {reason}"),
                );
                self.quit_progress()
            }
            Msg::EngineClosed => {
                self.state = RecState::Idle;
                self.level = None;
                self.set_notice(NoticeLevel::Error, "the engine stopped unexpectedly".into());
                if self.quitting {
                    vec![Effect::QuitNow]
                } else {
                    vec![]
                }
            }
            Msg::Terminate => vec![Effect::Quit],
        }
    }

    /// True once after anything visible changed: the TUI redraws only then.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Whether the TUI should send [`Msg::Tick`]s (only the running clock needs them).
    pub fn wants_ticks(&self) -> bool {
        self.state == RecState::Recording
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::ToggleRecording => self.toggle_recording(),
            Action::TogglePause => self.toggle_pause(),
            Action::ScrollBy(lines) => {
                self.scroll_by(lines);
                vec![]
            }
            Action::PageUp | Action::PageDown => {
                let page = crate::ui::transcript_viewport(self)
                    .height
                    .saturating_sub(1)
                    .max(1);
                let page = i64::try_from(page).unwrap_or(i64::MAX);
                self.scroll_by(if action == Action::PageUp {
                    -page
                } else {
                    page
                });
                vec![]
            }
            Action::Top => {
                let view = crate::ui::transcript_viewport(self);
                if view.max_top() > 0 {
                    self.scroll = Scroll::At(0);
                }
                vec![]
            }
            Action::Bottom => {
                self.follow();
                vec![]
            }
            Action::ToggleHelp => {
                self.help = !self.help;
                vec![]
            }
            Action::Escape => {
                if self.help {
                    self.help = false;
                } else {
                    self.notice = None;
                }
                vec![]
            }
            Action::Quit => self.quit(),
        }
    }

    fn toggle_recording(&mut self) -> Vec<Effect> {
        match self.state {
            RecState::Idle if !self.quitting => {
                self.state = RecState::Starting;
                vec![Effect::StartRecording]
            }
            RecState::Recording | RecState::Paused => {
                self.state = RecState::Stopping;
                vec![Effect::StopRecording]
            }
            _ => vec![],
        }
    }

    fn toggle_pause(&mut self) -> Vec<Effect> {
        match self.state {
            RecState::Recording => {
                self.state = RecState::Paused;
                self.last_tick = None;
                vec![Effect::Pause]
            }
            RecState::Paused => {
                self.state = RecState::Recording;
                vec![Effect::Resume]
            }
            _ => vec![],
        }
    }

    /// First `q`: stop recording and wait for pending text (the UI keeps showing it arrive).
    /// Second `q`: leave at once.
    fn quit(&mut self) -> Vec<Effect> {
        if self.quitting {
            return vec![Effect::QuitNow];
        }
        self.quitting = true;
        self.help = false;
        self.quit_progress()
    }

    /// Moves a requested quit along: stops a recording that is (or just got) running, and
    /// quits once the recording has stopped and no text is pending.
    fn quit_progress(&mut self) -> Vec<Effect> {
        if !self.quitting {
            return vec![];
        }
        match self.state {
            RecState::Recording | RecState::Paused => {
                self.state = RecState::Stopping;
                vec![Effect::StopRecording]
            }
            RecState::Idle if self.history.pending() == 0 => vec![Effect::Quit],
            _ => vec![],
        }
    }

    fn on_engine(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::RecordingStarted { input, .. } => {
                self.state = RecState::Recording;
                self.clock_s = 0.0;
                self.last_tick = None;
                self.history.open_session(input.clone());
                self.input = Some(input);
                self.content_changed();
            }
            EngineEvent::Level(level) => {
                if matches!(self.state, RecState::Recording | RecState::Paused) {
                    self.level = Some(level);
                }
            }
            EngineEvent::SpeechStarted { id, start_s } => {
                self.history.open(id, start_s);
                self.content_changed();
            }
            EngineEvent::SpeechDiscarded { id } => self.history.discard(id),
            EngineEvent::Queued { id, start_s, .. } => {
                self.history.set(id, Some(start_s), EntryState::Queued);
            }
            EngineEvent::Transcribing { id, .. } => {
                self.history.set(id, None, EntryState::Transcribing);
            }
            EngineEvent::Transcribed(t) => {
                let text = t.text.trim().to_string();
                self.history
                    .set(t.id, Some(t.start_s), EntryState::Done(text));
                self.content_changed();
            }
            EngineEvent::Failed { id, reason, wav } => {
                let reason = format!("{reason} (audio kept: {})", wav.display());
                self.history.set(id, None, EntryState::Failed(reason));
                self.content_changed();
            }
            EngineEvent::Notice(text) => self.set_notice(NoticeLevel::Warn, text),
            EngineEvent::RecordingStopped => {
                self.state = RecState::Idle;
                self.level = None;
                self.last_tick = None;
                self.history.close_open();
            }
            EngineEvent::SourceError(text) => {
                self.set_notice(NoticeLevel::Error, format!("audio input: {text}"));
            }
            EngineEvent::Workers { busy, idle, queued } => {
                self.workers = Some(Workers { busy, idle, queued });
            }
        }
    }

    /// Advances the clock; says whether the shown whole second changed.
    fn tick(&mut self, now_s: f64) -> bool {
        let before = self.clock_s.floor();
        if self.state != RecState::Recording {
            self.last_tick = None;
            return false;
        }
        if let Some(last) = self.last_tick {
            self.clock_s += (now_s - last).max(0.0);
        }
        self.last_tick = Some(now_s);
        self.clock_s.floor() != before
    }

    fn set_notice(&mut self, level: NoticeLevel, text: String) {
        self.notice = Some(Notice { level, text });
    }

    /// New text: mark it unseen when the user is not following.
    fn content_changed(&mut self) {
        if matches!(self.scroll, Scroll::At(_)) {
            self.unseen = true;
        }
    }

    fn follow(&mut self) {
        self.scroll = Scroll::Follow;
        self.unseen = false;
    }

    fn scroll_by(&mut self, lines: i64) {
        let max_top = crate::ui::transcript_viewport(self).max_top();
        let top = match self.scroll {
            Scroll::Follow => max_top,
            Scroll::At(top) => top.min(max_top),
        };
        let magnitude = usize::try_from(lines.unsigned_abs()).unwrap_or(usize::MAX);
        let top = if lines < 0 {
            top.saturating_sub(magnitude)
        } else {
            top.saturating_add(magnitude)
        };
        if top >= max_top {
            self.follow();
        } else {
            self.scroll = Scroll::At(top);
        }
    }
}
