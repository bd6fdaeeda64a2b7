//! Key bindings: which keys stand for which [`Action`]. The config file's `[keys]` table
//! (`config::keys`: names and key syntax) replaces the list of any action it names; the
//! footer and the `?` help are drawn from the bindings in force, so what they show is always
//! what works. `Ctrl-C` always quits as well, whatever the config says: it is what people
//! press when nothing else works.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::Action;
pub use crate::config::keys::{KeyBindings, KeySpec};

/// The action each `[keys]` name stands for.
fn action_named(name: &str) -> Option<Action> {
    Some(match name {
        "record" => Action::ToggleRecording,
        "pause" => Action::TogglePause,
        "down" => Action::ScrollBy(1),
        "up" => Action::ScrollBy(-1),
        "page_down" => Action::PageDown,
        "page_up" => Action::PageUp,
        "top" => Action::Top,
        "bottom" => Action::Bottom,
        "select_prev" => Action::SelectPrev,
        "select_next" => Action::SelectNext,
        "copy" => Action::Copy,
        "copy_all" => Action::CopyAll,
        "export" => Action::Export,
        "device" => Action::PickDevice,
        "edit" => Action::Edit,
        "delete" => Action::Delete,
        "undelete" => Action::Undelete,
        "search" => Action::Search,
        "next_match" => Action::NextMatch,
        "prev_match" => Action::PrevMatch,
        "play" => Action::Play,
        "help" => Action::ToggleHelp,
        "close" => Action::Close,
        "quit" => Action::Quit,
        _ => return None,
    })
}

/// The bindings in force, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    /// In [`KeyBindings::named`] order.
    actions: Vec<(Action, Vec<KeySpec>)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        Self::new(&KeyBindings::default()).expect("the default bindings are valid")
    }
}

impl KeyMap {
    /// Parses `bindings` ([`KeyBindings::parsed`]: unknown names and double bindings are
    /// errors).
    pub fn new(bindings: &KeyBindings) -> Result<Self, String> {
        let actions = bindings
            .parsed()?
            .into_iter()
            .map(|(name, specs)| {
                let action =
                    action_named(name).ok_or_else(|| format!("keys.{name}: no such action"))?;
                Ok((action, specs))
            })
            .collect::<Result<_, String>>()?;
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
        assert_eq!(map.action(key(KeyCode::Char('z'), none)), None);
        assert_eq!(
            map.labels(Action::ToggleRecording),
            ["space".to_string(), "r".to_string()]
        );
        assert_eq!(map.label(Action::ScrollBy(-1)).as_deref(), Some("k"));
    }

    #[test]
    fn ctrl_c_always_quits_and_releases_are_ignored() {
        let bindings = KeyBindings {
            quit: vec!["z".into()],
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
        let mut release = key(KeyCode::Char('z'), KeyModifiers::NONE);
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
            pause: vec!["o".into(), "f2".into()],
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
