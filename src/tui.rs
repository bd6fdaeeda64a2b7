//! The interactive front end's I/O shell: owns the terminal, turns terminal input, engine
//! events, clock ticks and signals into [`Msg`]s for [`App::update`], carries out the
//! [`Effect`]s against the [`Engine`], and redraws when something changed. All behaviour lives
//! in [`crate::app`]; this file only wires it up.

use std::collections::VecDeque;
use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, MouseEvent, MouseEventKind,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Interval, MissedTickBehavior};

use crate::app::{Action, App, Effect, Msg, WHEEL_LINES};
use crate::engine::{Engine, EngineEvent, Source};

/// Clock ticks while recording (~20 a second, in step with the level meter).
const TICK: Duration = Duration::from_millis(50);
/// How long a normal quit lets the engine finish transcriptions still pending (only a
/// signal quits with work pending; `q` waits in the UI first).
const QUIT_WAIT: Duration = Duration::from_secs(30);

/// Set while the terminal is in TUI mode, so restoring happens exactly once (guard or panic).
static ACTIVE: AtomicBool = AtomicBool::new(false);

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Runs the TUI until the user quits, then shuts the engine down.
///
/// `start_source`: record from it at once when given; `r` records from it later (from the
/// default input when `None`). The terminal is restored on every exit path, panics included,
/// before the engine shutdown waits for pending work.
pub async fn run(
    mut engine: Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    mut app: App,
    start_source: Option<Source>,
) -> anyhow::Result<()> {
    let autostart = start_source.is_some();
    let source = start_source.unwrap_or(Source::Device(None));
    let mut guard = match TerminalGuard::enter() {
        Ok(guard) => guard,
        Err(err) => {
            engine.shutdown(Duration::ZERO).await;
            return Err(err);
        }
    };
    let mut shell = Shell {
        engine: &mut engine,
        source,
        app: &mut app,
    };
    let result = shell
        .event_loop(&mut guard.terminal, &mut events, autostart)
        .await;
    drop(guard);
    let wait = match result {
        Ok(Exit::Now) => Duration::ZERO,
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
}

impl Shell<'_> {
    async fn event_loop(
        &mut self,
        terminal: &mut Term,
        events: &mut UnboundedReceiver<EngineEvent>,
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
                event = events.recv(), if engine_open => match event {
                    Some(event) => self.engine_msg(event),
                    None => {
                        engine_open = false;
                        Msg::EngineClosed
                    }
                },
                _ = ticker.tick(), if ticking => Msg::Tick { now_s: clock.elapsed().as_secs_f64() },
                _ = sigterm.recv() => Msg::Terminate,
                _ = sighup.recv() => Msg::Terminate,
            };
            effects.extend(self.app.update(msg));
            // Take in whatever else the engine already sent, so a burst costs one redraw.
            while let Ok(event) = events.try_recv() {
                let msg = self.engine_msg(event);
                effects.extend(self.app.update(msg));
            }
        }
    }

    /// Wraps an engine event for the app, doing the engine's own bookkeeping first: a
    /// recording that ended by itself (end of file, device lost) must be released before the
    /// next one can start.
    fn engine_msg(&mut self, event: EngineEvent) -> Msg {
        if matches!(event, EngineEvent::RecordingStopped) {
            self.engine.recording_ended();
        }
        Msg::Engine(event)
    }

    /// Carries out effects in order; returns how to leave if one says so. A refused start is
    /// fed back to the app, which may answer with more effects.
    fn execute(&mut self, effects: &mut VecDeque<Effect>) -> Option<Exit> {
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::StartRecording => {
                    if let Err(err) = self.engine.start_recording(self.source.clone()) {
                        effects.extend(self.app.update(Msg::StartFailed(format!("{err:#}"))));
                    }
                }
                Effect::StopRecording => self.engine.stop_recording(),
                Effect::Pause => self.engine.pause(),
                Effect::Resume => self.engine.resume(),
                Effect::Quit => return Some(Exit::Graceful),
                Effect::QuitNow => return Some(Exit::Now),
            }
        }
        None
    }
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
