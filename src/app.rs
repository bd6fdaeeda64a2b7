//! The TUI's state and its one entry point, [`App::update`]: a message in, a list of
//! [`Effect`]s out, no I/O. [`crate::tui`] feeds it terminal input, engine events and clock
//! ticks and carries out the effects against the [`crate::engine::Engine`]; [`crate::ui`]
//! draws it. Keeping `update` pure is what lets every behaviour be unit-tested.
//!
//! The behaviour is split by topic: [`keys`] (bindings), `overlay` (help, device and export
//! lists), `view` (scrolling and selection), `output` (copy and export).

mod edit;
pub mod help;
pub mod history;
mod input;
pub mod keys;
pub mod layout;
mod msg;
mod output;
mod overlay;
pub mod resume;
mod status;
mod view;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_edit;
#[cfg(test)]
mod tests_features;

use std::path::PathBuf;

use crate::audio::Level;
use crate::engine::{EngineEvent, InputStatus};
use crate::vocab::RecordingId;
pub use history::{Entry, EntryKey, EntryState, History, Row, Session};
pub use input::{InputWarning, InputWatch};
pub use keys::{KeyBindings, KeyMap};
pub use msg::{Action, Effect, Msg, WHEEL_LINES};
pub use overlay::{DevicePicker, Overlay, SHOW_ALL_KEY};
pub use resume::{Resume, ResumeOffer};

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
    pub ready: bool,
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    /// False under NO_COLOR: the UI then uses modifiers only.
    pub color: bool,
    pub model: String,
    pub keys: KeyMap,
    /// The log file, shown in the help so the user can find the details of an error.
    pub log: Option<PathBuf>,
    /// The config's vocabulary (whisper's initial prompt), shown in the help.
    pub vocabulary: Vec<String>,
    /// Paragraphs and spoken commands in the exports (the config's `[prose]`).
    pub prose: crate::prose::ProseConfig,
    /// The engine turned live text off because the machine cannot keep up; the header says so.
    pub live_text_off: bool,
    /// An unfinished session offered for resuming, or being resumed.
    pub resume: Option<Resume>,
    pub state: RecState,
    /// The engine's recording that `state` is about (from its `RecordingStarted`).
    pub recording: Option<RecordingId>,
    /// The input of the current (or last) session, or the one picked for the next.
    pub input: Option<String>,
    /// Why no input could be opened at start-up (the TUI opened anyway): shown in the empty
    /// pane until a device is picked or a recording starts.
    pub no_input: Option<String>,
    /// Seconds recorded in the current session, pauses excluded.
    pub clock_s: f64,
    pub workers: Option<Workers>,
    /// The latest level; `None` when not recording.
    pub level: Option<Level>,
    pub watch: InputWatch,
    pub history: History,
    pub scroll: Scroll,
    /// The utterance `y` copies; `None`: the last one.
    pub selected: Option<EntryKey>,
    /// Text arrived while the user was scrolled up.
    pub unseen: bool,
    pub notice: Option<Notice>,
    pub overlay: Option<Overlay>,
    /// The user asked to quit; waiting for the recording to stop and pending text to arrive.
    pub quitting: bool,
    /// Terminal size in cells.
    pub size: (u16, u16),
    /// Index into [`crate::export::Format::ALL`] of the last export (the list starts there).
    pub export_format: usize,
    /// The utterance being edited (`Enter`), if any.
    pub editor: Option<edit::Editor>,
    /// The search being typed, or whose matches `n`/`N` step through.
    pub search: Option<edit::Search>,
    /// Deleted utterances, newest last (`u` brings them back in turn).
    pub deleted: Vec<EntryKey>,
    /// Copy a session's text when its recording stops and its last text is in (config
    /// `copy_on_stop`).
    pub copy_on_stop: bool,
    /// The session that stopped and is waiting for its last texts, to be copied then.
    pub copy_when_done: Option<usize>,
    last_tick: Option<f64>,
    dirty: bool,
    /// The transcript's layout, rebuilt only when what it shows changes ([`layout`]).
    layout_cache: layout::LayoutCache,
}

impl App {
    /// `model`: the name shown in the header. `color`: false to honour NO_COLOR.
    pub fn new(model: impl Into<String>, color: bool) -> Self {
        Self {
            color,
            model: model.into(),
            keys: KeyMap::default(),
            log: None,
            vocabulary: Vec::new(),
            prose: crate::prose::ProseConfig::default(),
            live_text_off: false,
            resume: None,
            state: RecState::Idle,
            recording: None,
            input: None,
            clock_s: 0.0,
            workers: None,
            level: None,
            watch: InputWatch::default(),
            history: History::default(),
            scroll: Scroll::Follow,
            selected: None,
            unseen: false,
            notice: None,
            no_input: None,
            overlay: None,
            quitting: false,
            size: (80, 24),
            export_format: 0,
            editor: None,
            search: None,
            deleted: Vec::new(),
            copy_on_stop: false,
            copy_when_done: None,
            last_tick: None,
            dirty: true,
            layout_cache: layout::LayoutCache::default(),
        }
    }

    /// Applies one message and says what to do about it.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.dirty = true;
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Action(action) => self.act(action),
            Msg::Scroll(lines) => self.act(Action::ScrollBy(lines)),
            Msg::Click { column, row } => {
                self.click(column, row);
                vec![]
            }
            Msg::Resize { width, height } => {
                self.size = (width, height);
                // Re-clamp: a taller or wider screen may now show the newest line.
                self.scroll_by(0);
                vec![]
            }
            Msg::Engine(event) => {
                let mut effects = self.on_engine(event);
                effects.extend(self.quit_progress());
                effects
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
            Msg::ResumedSession {
                id,
                dir,
                utterances,
            } => {
                self.history
                    .open_resumed(format!("resumed {id}"), dir, utterances);
                vec![]
            }
            Msg::ResumeStarted(result) => {
                self.resume_started(result);
                self.quit_progress()
            }
            Msg::Devices(list) => {
                self.devices_arrived(list);
                vec![]
            }
            Msg::Copied {
                what,
                chars,
                tools,
                errors,
            } => {
                self.copied(&what, chars, &tools, &errors);
                vec![]
            }
            Msg::Written { path, result, note } => {
                self.written(&path, result, &note);
                vec![]
            }
            Msg::Journaled(Err(e)) => {
                let text = format!("the change is on screen but not saved: {e}");
                self.set_notice(NoticeLevel::Error, text);
                vec![]
            }
            Msg::Journaled(Ok(())) => {
                self.dirty = false;
                vec![]
            }
            Msg::Played { result, what } => {
                match result {
                    Ok(s) => {
                        self.set_notice(NoticeLevel::Info, format!("played {what} ({s:.1} s)"))
                    }
                    Err(e) => {
                        self.set_notice(NoticeLevel::Error, format!("cannot play {what}: {e}"))
                    }
                }
                vec![]
            }
        }
    }

    /// A key: an open overlay or the resume question takes it first, then the bindings.
    fn key(&mut self, key: crossterm::event::KeyEvent) -> Vec<Effect> {
        if let Some(effects) = self.prompt_key(key) {
            return effects;
        }
        if let Some(effects) = self.overlay_key(key) {
            return effects;
        }
        if let Some(effects) = self.resume_key(key) {
            return effects;
        }
        match self.keys.action(key) {
            Some(action) => self.act(action),
            None => {
                self.dirty = false;
                vec![]
            }
        }
    }

    /// True once after anything visible changed: the TUI redraws only then.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Transcriptions still to come: the open session's and those of a resumed one.
    pub fn pending(&self) -> usize {
        self.history.pending() + self.resume_pending()
    }

    /// Whether the TUI should send [`Msg::Tick`]s (only the running clock needs them).
    pub fn wants_ticks(&self) -> bool {
        self.state == RecState::Recording
    }

    /// The warning about the input signal to show now, if any (only while recording).
    pub fn input_warning(&self) -> Option<InputWarning> {
        (self.state == RecState::Recording)
            .then(|| self.watch.warning())
            .flatten()
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if self.overlay.is_some() {
            return self.overlay_action(action);
        }
        match action {
            Action::ToggleRecording => return self.toggle_recording(),
            Action::TogglePause => return self.toggle_pause(),
            Action::ScrollBy(lines) => self.scroll_by(lines),
            Action::PageUp => self.page(-1),
            Action::PageDown => self.page(1),
            Action::Top => self.top(),
            Action::Bottom => {
                self.selected = None;
                self.follow();
            }
            Action::SelectPrev => self.select_step(-1),
            Action::SelectNext => self.select_step(1),
            Action::Copy => return self.copy(),
            Action::CopyAll => return self.copy_all(),
            Action::Export => self.open_export(),
            Action::PickDevice => return self.open_devices(),
            Action::Edit => self.start_edit(),
            Action::Delete => return self.delete_selected(),
            Action::Undelete => return self.undelete(),
            Action::Search => self.start_search(),
            Action::NextMatch => self.jump_to_match(1, false),
            Action::PrevMatch => self.jump_to_match(-1, false),
            Action::Play => return self.play(),
            Action::ToggleHelp => self.overlay = Some(Overlay::Help { top: 0 }),
            Action::Close => {
                if self.selected.take().is_none() && !self.dismiss_resume() {
                    self.notice = None;
                }
            }
            Action::Quit => return self.quit(),
        }
        vec![]
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
                // The silence of the pause says nothing about the input.
                self.watch = InputWatch::default();
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
        self.overlay = None;
        if matches!(self.resume, Some(Resume::Offered(_))) {
            self.resume = None;
        }
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
            RecState::Idle if self.pending() == 0 => vec![Effect::Quit],
            _ => vec![],
        }
    }

    fn on_engine(&mut self, event: EngineEvent) -> Vec<Effect> {
        match event {
            EngineEvent::Notice(text) => self.set_notice(NoticeLevel::Warn, text),
            EngineEvent::InterimOff(_) => self.live_text_off = true,
            EngineEvent::InterimOn => self.live_text_off = false,
            e @ EngineEvent::Resumed { .. } => self.resumed_one(e),
            EngineEvent::Workers {
                busy,
                idle,
                queued,
                ready,
            } => {
                self.workers = Some(Workers {
                    busy,
                    idle,
                    queued,
                    ready,
                });
            }
            e @ (EngineEvent::RecordingStarted { .. }
            | EngineEvent::InputSwitched { .. }
            | EngineEvent::Level(_)
            | EngineEvent::RecordingStopped { .. }
            | EngineEvent::SourceError { .. }
            | EngineEvent::Input { .. }) => {
                if let EngineEvent::RecordingStopped { rec } = &e
                    && self.copy_on_stop
                {
                    let index = self
                        .history
                        .sessions()
                        .iter()
                        .rposition(|s| s.rec == Some(*rec));
                    self.copy_when_done = index;
                }
                self.on_recording(e)
            }
            e => self.on_utterance(e),
        }
        self.copy_when_done()
    }

    /// The recording's own events: start, input, level, stop.
    fn on_recording(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::RecordingStarted {
                rec,
                input,
                session_dir,
            } => {
                self.state = RecState::Recording;
                self.recording = Some(rec);
                self.clock_s = 0.0;
                self.last_tick = None;
                self.watch = InputWatch::default();
                self.history
                    .open_session(Some(rec), input.clone(), Some(session_dir));
                self.input = Some(input);
                self.no_input = None;
                self.content_changed();
            }
            EngineEvent::InputSwitched { input, .. } => {
                self.set_notice(NoticeLevel::Info, format!("switched to {input}"));
                self.input = Some(input);
                // A new device's level says nothing yet about a muted or clipping input.
                self.watch = InputWatch::default();
            }
            EngineEvent::Level(level) => {
                if self.state == RecState::Recording {
                    self.watch.feed(&level);
                }
                if matches!(self.state, RecState::Recording | RecState::Paused) {
                    self.level = Some(level);
                }
            }
            EngineEvent::RecordingStopped { rec } => {
                self.history.close_open(rec);
                self.forget_missing_selection();
                // An earlier recording's stop says nothing about the one running now.
                if self.recording.is_none_or(|r| r == rec) {
                    self.recording = None;
                    self.state = RecState::Idle;
                    self.level = None;
                    self.last_tick = None;
                }
            }
            EngineEvent::SourceError { reason, .. } => {
                self.set_notice(NoticeLevel::Error, format!("audio input: {reason}"));
            }
            EngineEvent::Input { status, .. } => {
                let level = match status {
                    InputStatus::Lost { .. } => NoticeLevel::Warn,
                    InputStatus::Back { .. } => NoticeLevel::Info,
                };
                self.set_notice(level, status.to_string());
            }
            _ => {}
        }
    }

    /// One utterance's progress, from speech heard to its text.
    fn on_utterance(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::SpeechStarted { rec, id, start_s } => {
                self.history.open(rec, id, start_s);
                self.content_changed();
            }
            EngineEvent::SpeechDiscarded { rec, id } => {
                self.history.discard(rec, id);
                self.forget_missing_selection();
            }
            EngineEvent::Queued { rec, utt } => {
                self.history
                    .set(rec, utt.id, Some(utt.span), EntryState::Queued);
            }
            EngineEvent::Transcribing { rec, id, .. } => {
                self.history.set(rec, id, None, EntryState::Transcribing);
            }
            EngineEvent::Transcribed { rec, text: t } => {
                let text = t.text.trim().to_string();
                self.history
                    .set(rec, t.id, Some(t.span), EntryState::Done(text));
                self.content_changed();
            }
            EngineEvent::Failed {
                rec,
                id,
                reason,
                wav,
            } => {
                let reason = format!("{reason} (audio kept: {})", wav.display());
                self.history.set(rec, id, None, EntryState::Failed(reason));
                self.content_changed();
            }
            EngineEvent::Interim {
                rec,
                id,
                stable,
                tentative,
            } => {
                self.history.interim(rec, id, stable, tentative);
                self.dirty = true;
            }
            EngineEvent::Settled {
                rec,
                texts: Ok(texts),
                ..
            } => {
                for (id, text) in texts {
                    self.history.settle(rec, id, &text);
                }
                self.content_changed();
            }
            _ => {}
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
}
