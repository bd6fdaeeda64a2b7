//! Key bindings: which keys stand for which [`Action`]. The config file's `[keys]` table
//! replaces the list of any action it names; the footer and the `?` help are drawn from the
//! bindings in force, so what they show is always what works.
//!
//! Key names: a single character (`r`, `G`, `?`; case matters), or `space`, `enter`, `esc`,
//! `tab`, `backtab`, `backspace`, `delete`, `insert`, `up`, `down`, `left`, `right`, `home`,
//! `end`, `pageup`, `pagedown`, `f1`…`f12`; any of them after `ctrl-` and/or `alt-`.
//! `Ctrl-C` always quits as well, whatever the config says: it is what people press when
//! nothing else works.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::{Deserialize, Serialize};

use super::Action;

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
            help: keys(&["?"]),
            close: keys(&["esc"]),
            quit: keys(&["q"]),
        }
    }
}

impl KeyBindings {
    /// (config name, action, keys) for every action, in the order the help lists them.
    fn table(&self) -> [(&'static str, Action, &[String]); 17] {
        [
            ("record", Action::ToggleRecording, &self.record),
            ("pause", Action::TogglePause, &self.pause),
            ("down", Action::ScrollBy(1), &self.down),
            ("up", Action::ScrollBy(-1), &self.up),
            ("page_down", Action::PageDown, &self.page_down),
            ("page_up", Action::PageUp, &self.page_up),
            ("top", Action::Top, &self.top),
            ("bottom", Action::Bottom, &self.bottom),
            ("select_prev", Action::SelectPrev, &self.select_prev),
            ("select_next", Action::SelectNext, &self.select_next),
            ("copy", Action::Copy, &self.copy),
            ("copy_all", Action::CopyAll, &self.copy_all),
            ("export", Action::Export, &self.export),
            ("device", Action::PickDevice, &self.device),
            ("help", Action::ToggleHelp, &self.help),
            ("close", Action::Close, &self.close),
            ("quit", Action::Quit, &self.quit),
        ]
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

    fn matches(&self, key: &KeyEvent) -> bool {
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

/// The bindings in force, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    /// In [`KeyBindings::table`] order.
    actions: Vec<(Action, Vec<KeySpec>)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        Self::new(&KeyBindings::default()).expect("the default bindings are valid")
    }
}

impl KeyMap {
    /// Parses `bindings`; an unknown key name or a key bound to two actions is an error that
    /// names both (a silently shadowed binding would look like a broken key).
    pub fn new(bindings: &KeyBindings) -> Result<Self, String> {
        let mut actions: Vec<(Action, Vec<KeySpec>)> = Vec::new();
        let mut seen: Vec<(KeySpec, &str, &str)> = Vec::new();
        for (name, action, keys) in bindings.table() {
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
            actions.push((action, specs));
        }
        Ok(Self { actions })
    }

    /// The action `key` stands for. Releases are ignored (some terminals report them).
    pub fn action(&self, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c' | 'C'));
        if ctrl_c {
            return Some(Action::Quit);
        }
        self.actions
            .iter()
            .find(|(_, specs)| specs.iter().any(|s| s.matches(&key)))
            .map(|(action, _)| *action)
    }

    /// The labels of every key bound to `action`, in config order.
    pub fn labels(&self, action: Action) -> Vec<String> {
        self.actions
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, specs)| specs.iter().map(KeySpec::label).collect())
            .unwrap_or_default()
    }

    /// The first key bound to `action` (what the footer shows), if any.
    pub fn label(&self, action: Action) -> Option<String> {
        self.labels(action).into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn defaults_cover_every_action_once() {
        let map = KeyMap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(
            map.action(key(KeyCode::Char(' '), none)),
            Some(Action::ToggleRecording)
        );
        assert_eq!(map.action(key(KeyCode::End, none)), Some(Action::Bottom));
        // Terminals report capitals with or without SHIFT; both mean `G`.
        assert_eq!(
            map.action(key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            map.action(key(KeyCode::Char('Y'), none)),
            Some(Action::CopyAll)
        );
        assert_eq!(map.action(key(KeyCode::Char('x'), none)), None);
        assert_eq!(
            map.labels(Action::ToggleRecording),
            ["space".to_string(), "r".to_string()]
        );
        assert_eq!(map.label(Action::ScrollBy(-1)).as_deref(), Some("k"));
    }

    #[test]
    fn ctrl_c_always_quits_and_releases_are_ignored() {
        let bindings = KeyBindings {
            quit: vec!["x".into()],
            ..KeyBindings::default()
        };
        let map = KeyMap::new(&bindings).unwrap();
        assert_eq!(
            map.action(key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(key(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        let mut release = key(KeyCode::Char('x'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(map.action(release), None);
    }

    #[test]
    fn names_modifiers_and_labels_parse() {
        let cases = [
            ("space", "space"),
            ("PageDown", "PgDn"),
            ("ctrl-R", "Ctrl-R"),
            ("alt-x", "Alt-x"),
            ("f5", "F5"),
            ("-", "-"),
            ("up", "↑"),
        ];
        for (text, label) in cases {
            assert_eq!(KeySpec::parse(text).unwrap().label(), label, "{text}");
        }
        let ctrl_r = KeySpec::parse("ctrl-r").unwrap();
        assert!(ctrl_r.matches(&key(KeyCode::Char('r'), KeyModifiers::CONTROL)));
        assert!(!ctrl_r.matches(&key(KeyCode::Char('r'), KeyModifiers::NONE)));
        assert!(KeySpec::parse("spcae").is_err());
        assert!(KeySpec::parse("f13").is_err());
        assert!(KeySpec::parse("").is_err());
        assert!(KeySpec::parse("ctrl-").is_err());
    }

    #[test]
    fn config_rebinds_and_conflicts_are_errors() {
        let bindings = KeyBindings {
            pause: vec!["P".into(), "f2".into()],
            ..KeyBindings::default()
        };
        let map = KeyMap::new(&bindings).unwrap();
        assert_eq!(
            map.action(key(KeyCode::F(2), KeyModifiers::NONE)),
            Some(Action::TogglePause)
        );
        assert_eq!(
            map.action(key(KeyCode::Char('p'), KeyModifiers::NONE)),
            None
        );

        let clash = KeyBindings {
            copy: vec!["p".into()],
            ..KeyBindings::default()
        };
        let err = KeyMap::new(&clash).unwrap_err();
        assert!(
            err.contains("'p'") && err.contains("pause") && err.contains("copy"),
            "{err}"
        );
        let bad = KeyBindings {
            export: vec!["ctrl-shift".into()],
            ..KeyBindings::default()
        };
        assert!(KeyMap::new(&bad).unwrap_err().contains("keys.export"));
    }
}
