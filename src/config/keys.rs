//! The `[keys]` table of the config file and the key syntax: which keys the user named for
//! which action, checked when the config is read. What an action does is the front end's
//! (`app::keys` maps these names to its actions).
//!
//! Key names: a single character (`r`, `G`, `?`; case matters), or `space`, `enter`, `esc`,
//! `tab`, `backtab`, `backspace`, `delete`, `insert`, `up`, `down`, `left`, `right`, `home`,
//! `end`, `pageup`, `pagedown`, `f1`…`f12`; any of them after `ctrl-` and/or `alt-`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

/// The `[keys]` table: for each action, the keys that trigger it (an empty list unbinds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyBindings {
    /// Start / stop recording (stopping closes the session).
    pub record: Vec<String>,
    /// Pause / resume within the session.
    pub pause: Vec<String>,
    /// Scroll one line towards newer / older text.
    pub down: Vec<String>,
    pub up: Vec<String>,
    pub page_down: Vec<String>,
    pub page_up: Vec<String>,
    /// Oldest text; newest text (and follow it).
    pub top: Vec<String>,
    pub bottom: Vec<String>,
    /// Select the previous / next utterance (what `copy` copies).
    pub select_prev: Vec<String>,
    pub select_next: Vec<String>,
    /// Copy the selected (or last) utterance; copy the whole transcript.
    pub copy: Vec<String>,
    pub copy_all: Vec<String>,
    /// Export the session to a file.
    pub export: Vec<String>,
    /// Pick the input device.
    pub device: Vec<String>,
    /// Edit the selected utterance's text in place (Enter saves, Esc cancels).
    pub edit: Vec<String>,
    /// Delete the selected utterance from the transcript; bring the last one back.
    pub delete: Vec<String>,
    pub undelete: Vec<String>,
    /// Search the text; next / previous match.
    pub search: Vec<String>,
    pub next_match: Vec<String>,
    pub prev_match: Vec<String>,
    /// Play the selected (or last) utterance's audio.
    pub play: Vec<String>,
    pub help: Vec<String>,
    /// Close an overlay, else clear the selection, else dismiss the status line.
    pub close: Vec<String>,
    /// Quit (waits for pending text; again to quit at once).
    pub quit: Vec<String>,
}

impl Default for KeyBindings {
    fn default() -> Self {
        let keys = |list: &[&str]| list.iter().map(|k| k.to_string()).collect();
        Self {
            record: keys(&["space", "r"]),
            pause: keys(&["p"]),
            down: keys(&["j", "down"]),
            up: keys(&["k", "up"]),
            page_down: keys(&["pagedown"]),
            page_up: keys(&["pageup"]),
            top: keys(&["g", "home"]),
            bottom: keys(&["G", "end"]),
            select_prev: keys(&["["]),
            select_next: keys(&["]"]),
            copy: keys(&["y"]),
            copy_all: keys(&["Y"]),
            export: keys(&["e"]),
            device: keys(&["d"]),
            edit: keys(&["enter"]),
            delete: keys(&["x"]),
            undelete: keys(&["u"]),
            search: keys(&["/"]),
            next_match: keys(&["n"]),
            prev_match: keys(&["N"]),
            play: keys(&["P"]),
            help: keys(&["?"]),
            close: keys(&["esc"]),
            quit: keys(&["q"]),
        }
    }
}

impl KeyBindings {
    /// (config name, keys) for every action, in the order the help lists them.
    pub fn named(&self) -> [(&'static str, &[String]); 24] {
        [
            ("record", &self.record),
            ("pause", &self.pause),
            ("down", &self.down),
            ("up", &self.up),
            ("page_down", &self.page_down),
            ("page_up", &self.page_up),
            ("top", &self.top),
            ("bottom", &self.bottom),
            ("select_prev", &self.select_prev),
            ("select_next", &self.select_next),
            ("copy", &self.copy),
            ("copy_all", &self.copy_all),
            ("export", &self.export),
            ("device", &self.device),
            ("edit", &self.edit),
            ("delete", &self.delete),
            ("undelete", &self.undelete),
            ("search", &self.search),
            ("next_match", &self.next_match),
            ("prev_match", &self.prev_match),
            ("play", &self.play),
            ("help", &self.help),
            ("close", &self.close),
            ("quit", &self.quit),
        ]
    }

    /// Every action's keys parsed, in [`KeyBindings::named`] order; an unknown key name or a
    /// key bound to two actions is an error that names both (a silently shadowed binding
    /// would look like a broken key).
    pub fn parsed(&self) -> Result<Vec<(&'static str, Vec<KeySpec>)>, String> {
        let mut out = Vec::new();
        let mut seen: Vec<(KeySpec, &str, &str)> = Vec::new();
        for (name, keys) in self.named() {
            let mut specs = Vec::new();
            for text in keys {
                let spec = KeySpec::parse(text).map_err(|e| format!("keys.{name}: {e}"))?;
                if let Some((_, other, other_text)) = seen.iter().find(|(s, ..)| *s == spec) {
                    return Err(format!(
                        "keys: '{text}' is bound to both {other} ('{other_text}') and {name}"
                    ));
                }
                seen.push((spec, name, text));
                specs.push(spec);
            }
            out.push((name, specs));
        }
        Ok(out)
    }
}

/// One key with its modifiers. Shift is not part of it: it is already in the character
/// (`G`), and terminals disagree on whether they report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    code: KeyCode,
    ctrl: bool,
    alt: bool,
}

impl KeySpec {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = strip_prefix_ci(rest, "ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = strip_prefix_ci(rest, "alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let named = match rest.to_ascii_lowercase().as_str() {
            "space" => Some(KeyCode::Char(' ')),
            "enter" | "return" => Some(KeyCode::Enter),
            "esc" | "escape" => Some(KeyCode::Esc),
            "tab" => Some(KeyCode::Tab),
            "backtab" => Some(KeyCode::BackTab),
            "backspace" => Some(KeyCode::Backspace),
            "delete" | "del" => Some(KeyCode::Delete),
            "insert" | "ins" => Some(KeyCode::Insert),
            "up" => Some(KeyCode::Up),
            "down" => Some(KeyCode::Down),
            "left" => Some(KeyCode::Left),
            "right" => Some(KeyCode::Right),
            "home" => Some(KeyCode::Home),
            "end" => Some(KeyCode::End),
            "pageup" | "pgup" => Some(KeyCode::PageUp),
            "pagedown" | "pgdn" => Some(KeyCode::PageDown),
            f if f.len() > 1 && f.starts_with('f') => f[1..]
                .parse::<u8>()
                .ok()
                .filter(|n| (1..=12).contains(n))
                .map(KeyCode::F),
            _ => None,
        };
        let code = match named {
            Some(code) => code,
            None => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    // Terminals send Ctrl with the lower-case letter.
                    (Some(c), None) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(format!("unknown key '{text}'")),
                }
            }
        };
        Ok(Self { code, ctrl, alt })
    }

    /// Whether `key` is this key (Ctrl with a capital is the same as with the lower case).
    pub fn matches(&self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let code = match key.code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            code => code,
        };
        self.code == code && self.ctrl == ctrl && self.alt == alt
    }

    /// How the footer and help write the key.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) if self.ctrl => c.to_ascii_uppercase().to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Insert => "Ins".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        if self.ctrl {
            out.push_str("Ctrl-");
        }
        if self.alt {
            out.push_str("Alt-");
        }
        out.push_str(&base);
        out
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // A lone "ctrl-" is not a prefix of anything: it would leave no key.
    (s.len() > prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}
