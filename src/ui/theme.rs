//! Styles, in one place so the whole UI stays within the 16 ANSI colours and drops colour
//! entirely under NO_COLOR (modifiers such as bold and reverse still mark what matters).

use ratatui::style::{Color, Modifier, Style};

/// The styles the panes use. Built from [`crate::app::App::color`].
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn new(color: bool) -> Self {
        Self { color }
    }

    /// `style` with foreground `fg` when colour is on.
    fn fg(&self, fg: Color, style: Style) -> Style {
        if self.color { style.fg(fg) } else { style }
    }

    /// The state badge while recording.
    pub fn recording(&self) -> Style {
        self.fg(
            Color::Red,
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    }

    pub fn paused(&self) -> Style {
        self.fg(
            Color::Yellow,
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    }

    /// Idle, starting and stopping badges.
    pub fn idle(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    /// Secondary text: separators, timestamps, labels.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn text(&self) -> Style {
        Style::new()
    }

    /// Pending utterances (listening, queued, transcribing).
    pub fn pending(&self) -> Style {
        self.fg(Color::Cyan, Style::new().add_modifier(Modifier::ITALIC))
    }

    /// Interim words two passes agreed on: they will most likely stay, so they read almost
    /// like text, only dimmed (cyan, or faint without colour).
    /// The text being edited: underlined, so it reads as a field without colour too.
    pub fn editing(&self) -> Style {
        let base = Style::new().add_modifier(Modifier::UNDERLINED);
        if self.color {
            base.fg(Color::Yellow)
        } else {
            base
        }
    }

    pub fn interim_stable(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// Interim words only the newest pass heard: they may still change, so they are set
    /// further apart from the stable ones (dark grey italic; faint italic without colour,
    /// where the trailing `…` marks them too).
    pub fn interim_tentative(&self) -> Style {
        let style = Style::new().add_modifier(Modifier::ITALIC);
        if self.color {
            style.fg(Color::DarkGray)
        } else {
            style.add_modifier(Modifier::DIM)
        }
    }

    pub fn heading(&self) -> Style {
        self.fg(Color::Blue, Style::new().add_modifier(Modifier::BOLD))
    }

    /// The timestamp of an utterance whose text the settle pass confirmed or replaced
    /// (green; underlined without colour).
    pub fn settled(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Green)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    /// The selected utterance's timestamp.
    pub fn selected(&self) -> Style {
        self.fg(
            Color::Cyan,
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    }

    /// The highlighted row of a list.
    pub fn cursor(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan, Style::new().add_modifier(Modifier::BOLD))
    }

    pub fn speech(&self) -> Style {
        self.fg(Color::Green, Style::new().add_modifier(Modifier::BOLD))
    }

    /// The filled part of the level bar.
    pub fn meter(&self) -> Style {
        self.fg(Color::Green, Style::new())
    }

    /// The level bar near full scale.
    pub fn meter_hot(&self) -> Style {
        self.fg(Color::Red, Style::new())
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow, Style::new())
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red, Style::new().add_modifier(Modifier::BOLD))
    }
}
