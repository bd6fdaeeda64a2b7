//! The interactive front end's I/O shell: owns the terminal, turns terminal input, engine
//! events, clock ticks and signals into [`Msg`]s for [`App::update`], carries out the
//! [`Effect`]s against the [`Engine`], and redraws when something changed. All behaviour lives
//! in [`crate::app`]; this file only wires it up.
//!
//! Nothing slow runs on the loop itself: listing devices, clipboard tools and file writes go
//! to tasks that answer with a [`Msg`] on a channel the loop also waits on, so keys are
//! handled at once however busy the rest of the machine is.

use std::collections::VecDeque;
use std::io::{self, Stdout, Write};
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, MouseButton, MouseEvent,
    MouseEventKind,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::time::{Interval, MissedTickBehavior};

use crate::app::{Action, App, Effect, Msg, WHEEL_LINES};
use crate::engine::{Engine, EngineEvent, Opened, Source};

/// Clock ticks while recording (~20 a second, in step with the level meter).
const TICK: Duration = Duration::from_millis(50);
/// How long a normal quit lets the engine finish transcriptions still pending (only a
/// signal quits with work pending; `q` waits in the UI first).
const QUIT_WAIT: Duration = Duration::from_secs(30);
/// With nothing pending, workers only need to see their input close and exit: a bound, so a
/// worker (or a pool) that does not notice cannot hold the shell for `QUIT_WAIT`.
const IDLE_QUIT_WAIT: Duration = Duration::from_secs(2);

/// Set while the terminal is in TUI mode, so restoring happens exactly once (guard or panic).
static ACTIVE: AtomicBool = AtomicBool::new(false);

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Runs the TUI until the user quits, then shuts the engine down.
///
/// `source`: what `r` records from (and what recording starts on at once when `autostart`).
/// The terminal is restored on every exit path, panics included, before the engine shutdown
/// waits for pending work.
pub async fn run(
    mut engine: Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    mut app: App,
    source: Source,
    autostart: bool,
) -> anyhow::Result<()> {
    let mut guard = match TerminalGuard::enter() {
        Ok(guard) => guard,
        Err(err) => {
            engine.shutdown(Duration::ZERO).await;
            return Err(err);
        }
    };
    let (tasks, mut done) = mpsc::unbounded_channel();
    let (opened_tx, mut opened) = mpsc::unbounded_channel();
    let mut shell = Shell {
        opened: opened_tx,
        starting: false,
        engine: &mut engine,
        source,
        app: &mut app,
        tasks,
    };
    let result = shell
        .event_loop(
            &mut guard.terminal,
            &mut events,
            (&mut done, &mut opened),
            autostart,
        )
        .await;
    drop(guard);
    // Nothing to wait for when no recording is open (stopping one would queue its open
    // utterance) and every utterance the app saw has its text. The app's count, not the
    // pool's: the pool also counts its interim passes, which nobody waits for.
    let idle = !engine.is_recording() && app.pending() == 0;
    let wait = match result {
        Ok(Exit::Now) => Duration::ZERO,
        Ok(Exit::Graceful) | Err(_) if idle => IDLE_QUIT_WAIT,
        Ok(Exit::Graceful) | Err(_) => QUIT_WAIT,
    };
    engine.shutdown(wait).await;
    result.map(|_| ())
}

/// How the loop ended.
enum Exit {
    Graceful,
    Now,
}

/// The loop's working set.
struct Shell<'a> {
    engine: &'a mut Engine,
    source: Source,
    app: &'a mut App,
    /// Where background tasks send their answers.
    tasks: UnboundedSender<Msg>,
    /// Where the task opening a recording sends it (see [`Engine::opener`]).
    opened: UnboundedSender<anyhow::Result<Opened>>,
    /// A recording is being opened: engine events wait until it is adopted, so the app hears
    /// `RecordingStarted` before anything the new audio thread says.
    starting: bool,
}

impl Shell<'_> {
    async fn event_loop(
        &mut self,
        terminal: &mut Term,
        events: &mut UnboundedReceiver<EngineEvent>,
        (done, opened): (
            &mut UnboundedReceiver<Msg>,
            &mut UnboundedReceiver<anyhow::Result<Opened>>,
        ),
        autostart: bool,
    ) -> anyhow::Result<Exit> {
        let clock = Instant::now();
        let mut input = EventStream::new();
        let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
        let mut ticker = ticker();
        let mut ticking = false;
        let mut engine_open = true;

        let size = terminal.size()?;
        let mut effects: VecDeque<Effect> = self
            .app
            .update(Msg::Resize {
                width: size.width,
                height: size.height,
            })
            .into();
        if autostart {
            effects.extend(self.app.update(Msg::Action(Action::ToggleRecording)));
        }
        loop {
            if let Some(exit) = self.execute(&mut effects) {
                return Ok(exit);
            }
            if self.app.take_dirty() {
                terminal.draw(|frame| crate::ui::draw(self.app, frame))?;
            }
            if self.app.wants_ticks() && !ticking {
                // The first tick fires at once and anchors the session clock.
                ticker.reset_immediately();
            }
            ticking = self.app.wants_ticks();

            let msg = tokio::select! {
                event = input.next() => match event {
                    Some(Ok(event)) => match to_msg(event) {
                        Some(msg) => msg,
                        None => continue,
                    },
                    Some(Err(err)) => return Err(err).context("reading terminal input"),
                    None => Msg::Terminate,
                },
                event = events.recv(), if engine_open && !self.starting => match event {
                    Some(event) => self.engine_msg(event),
                    None => {
                        engine_open = false;
                        Msg::EngineClosed
                    }
                },
                Some(msg) = done.recv() => msg,
                Some(result) = opened.recv() => self.adopt(result),
                _ = ticker.tick(), if ticking => Msg::Tick { now_s: clock.elapsed().as_secs_f64() },
                _ = sigterm.recv() => Msg::Terminate,
                _ = sighup.recv() => Msg::Terminate,
            };
            effects.extend(self.app.update(msg));
            // Take in whatever else the engine already sent, so a burst costs one redraw.
            while !self.starting
                && let Ok(event) = events.try_recv()
            {
                let msg = self.engine_msg(event);
                effects.extend(self.app.update(msg));
            }
        }
    }

    /// The recording the opening task opened (or why it could not) as a message for the app.
    fn adopt(&mut self, result: anyhow::Result<Opened>) -> Msg {
        self.starting = false;
        match result {
            Ok(opened) => Msg::Engine(self.engine.adopt(opened)),
            Err(err) => Msg::StartFailed(format!("{err:#}")),
        }
    }

    /// Wraps an engine event for the app, doing the engine's own bookkeeping first: a
    /// recording that ended by itself (end of file, device lost) must be released before the
    /// next one can start.
    fn engine_msg(&mut self, event: EngineEvent) -> Msg {
        if let EngineEvent::RecordingStopped { rec } = event {
            self.engine.recording_ended(rec);
        }
        Msg::Engine(event)
    }

    /// Carries out effects in order; returns how to leave if one says so. A refused start is
    /// fed back to the app, which may answer with more effects.
    fn execute(&mut self, effects: &mut VecDeque<Effect>) -> Option<Exit> {
        while let Some(effect) = effects.pop_front() {
            // Engine calls run on the loop; their time is logged because keys wait meanwhile.
            let began = Instant::now();
            let what = name(&effect);
            match effect {
                // Making the session folder and opening the input and the VAD take ~0.1 s:
                // on the blocking pool, answered on `opened`.
                Effect::StartRecording if !self.starting && !self.engine.is_recording() => {
                    self.starting = true;
                    let open = self.engine.opener(self.source.clone());
                    let opened = self.opened.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = opened.send(open());
                    });
                }
                Effect::StartRecording => {}
                // The audio thread's flush must not hold the keys up: RecordingStopped ends it.
                Effect::StopRecording => self.engine.request_stop(),
                Effect::Pause => self.engine.pause(),
                Effect::Resume => self.engine.resume(),
                Effect::UseDevice(id) => self.source = Source::Device(Some(id)),
                // The audio thread opens the new device: the loop only sends it a message.
                Effect::SwitchInput(id) => {
                    self.engine.switch_input(Some(id));
                }
                Effect::ResumeSession(dir) => {
                    // Reading one journal and queueing jobs: milliseconds, fine on the loop.
                    // A rebuild of cut utterances reads session.wav: rare, and bounded by
                    // one utterance's audio each.
                    let queued = crate::session::prepare_resume(&dir)
                        .map(|p| {
                            // The session's text so far, and what is coming, in the pane.
                            let known = p
                                .session
                                .utterances
                                .values()
                                .filter(|u| !u.deleted)
                                .map(|u| (u.id, u.span, u.shown_text().cloned()))
                                .collect();
                            let shown = Msg::ResumedSession {
                                id: p.session.id.clone(),
                                dir: dir.clone(),
                                utterances: known,
                            };
                            effects.extend(self.app.update(shown));
                            self.engine.resume_in_background(&p)
                        })
                        .map_err(|e| crate::error_line(&e.into()));
                    effects.extend(self.app.update(Msg::ResumeStarted(queued)));
                }
                Effect::ListDevices => {
                    self.spawn_blocking(|| Msg::Devices(crate::audio::capture::list_devices()))
                }
                Effect::Copy { text, what } => self.copy(text, what),
                Effect::Write {
                    path,
                    contents,
                    note,
                } => self.spawn_blocking(move || {
                    let result = write_private(&path, &contents).map_err(|e| e.to_string());
                    Msg::Written { path, result, note }
                }),
                Effect::Journal { dir, entry } => self.spawn_blocking(move || {
                    let result = crate::session::Journal::open(&dir)
                        .and_then(|j| j.append(&entry, true))
                        .map_err(|e| e.to_string());
                    Msg::Journaled(result)
                }),
                Effect::Play { wav, what } => self.spawn_blocking(move || Msg::Played {
                    result: crate::audio::playback::play(&wav),
                    what,
                }),
                Effect::Quit => return Some(Exit::Graceful),
                Effect::QuitNow => return Some(Exit::Now),
            }
            let ms = began.elapsed().as_secs_f64() * 1000.0;
            if ms > 5.0 {
                tracing::info!(ms, "effect {what} blocked the UI loop");
            }
        }
        None
    }

    /// Runs `job` on tokio's blocking pool and feeds its answer back to the app.
    fn spawn_blocking(&self, job: impl FnOnce() -> Msg + Send + 'static) {
        let tasks = self.tasks.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tasks.send(job());
        });
    }

    /// OSC 52 goes out at once (it is a few bytes to our own terminal, between two draws);
    /// the system tools run in a task.
    fn copy(&self, text: String, what: String) {
        let mut out = io::stdout().lock();
        let _ = out.write_all(crate::clipboard::osc52(&text).as_bytes());
        let _ = out.flush();
        let tasks = self.tasks.clone();
        tokio::spawn(async move {
            let tools = crate::clipboard::tools_here();
            let (tools, errors) = crate::clipboard::copy_with(&tools, &text).await;
            let chars = text.chars().count();
            let _ = tasks.send(Msg::Copied {
                what,
                chars,
                tools,
                errors,
            });
        });
    }
}

/// An effect's name for the log (never its contents: they may be the user's words).
fn name(effect: &Effect) -> &'static str {
    match effect {
        Effect::StartRecording => "start",
        Effect::StopRecording => "stop",
        Effect::Pause => "pause",
        Effect::Resume => "resume",
        Effect::UseDevice(_) => "use device",
        Effect::SwitchInput(_) => "switch input",
        Effect::ResumeSession(_) => "resume session",
        Effect::ListDevices => "list devices",
        Effect::Copy { .. } => "copy",
        Effect::Write { .. } => "write",
        Effect::Journal { .. } => "journal",
        Effect::Play { .. } => "play",
        Effect::Quit | Effect::QuitNow => "quit",
    }
}

/// Writes `contents` to `path` readable by the user only (a transcript is as private as the
/// audio next to it), replacing what was there.
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

fn ticker() -> Interval {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ticker
}

/// The message for a terminal event, if it means anything to the app.
fn to_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            ..
        }) => Some(Msg::Scroll(-WHEEL_LINES)),
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            ..
        }) => Some(Msg::Scroll(WHEEL_LINES)),
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            ..
        }) => Some(Msg::Click { column, row }),
        Event::Resize(width, height) => Some(Msg::Resize { width, height }),
        _ => None,
    }
}

/// The terminal in TUI mode (raw, alternate screen, mouse capture); dropping it restores it.
struct TerminalGuard {
    terminal: Term,
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<Self> {
        install_panic_hook();
        enable_raw_mode().context("enabling raw mode")?;
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = || -> io::Result<Term> {
            execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
            Terminal::new(CrosstermBackend::new(io::stdout()))
        };
        match setup() {
            Ok(terminal) => Ok(Self { terminal }),
            Err(err) => {
                restore();
                Err(err).context("setting up the terminal")
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back the way the shell expects it. Safe to call more than once; only
/// the first call after entering does anything. Errors are ignored: there is no better place
/// to report them, and the other steps should still be tried.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            io::stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            cursor::Show
        );
    }
}

/// Restores the terminal before the default hook prints the panic, so the message lands on a
/// usable screen instead of being lost in the alternate one.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            default(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

    use super::*;

    fn mouse(kind: MouseEventKind) -> Event {
        Event::Mouse(MouseEvent {
            kind,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        })
    }

    #[test]
    fn terminal_events_map_to_messages() {
        let key = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert!(matches!(to_msg(Event::Key(key)), Some(Msg::Key(k)) if k == key));
        assert!(matches!(
            to_msg(mouse(MouseEventKind::ScrollUp)),
            Some(Msg::Scroll(-3))
        ));
        assert!(matches!(
            to_msg(mouse(MouseEventKind::ScrollDown)),
            Some(Msg::Scroll(3))
        ));
        assert!(to_msg(mouse(MouseEventKind::Moved)).is_none());
        let resize = to_msg(Event::Resize(100, 30));
        assert!(matches!(
            resize,
            Some(Msg::Resize {
                width: 100,
                height: 30
            })
        ));
        assert!(to_msg(Event::FocusGained).is_none());
    }
}
