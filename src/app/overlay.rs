//! The overlays drawn over the transcript: the `?` help, the input device list and the export
//! format list. While one is open it takes the keys: the movement keys move in it, `Enter` or
//! a digit chooses, the close key (or the key that opened it) closes it, and quit still quits.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Action, App, Effect, NoticeLevel, RecState};
use crate::audio::capture::DeviceInfo;
use crate::export::Format;

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// `top`: the first help line shown (the help scrolls on screens too small for it).
    Help {
        top: usize,
    },
    Devices(DevicePicker),
    /// `cursor`: index into [`Format::ALL`].
    Export {
        cursor: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DevicePicker {
    /// The rows shown; `None` while the list is being read (probing devices takes a while).
    pub devices: Option<Vec<DeviceInfo>>,
    pub cursor: usize,
    /// Devices that cannot be opened (most of ALSA's ~11 plugins: lavrate, jack, oss…),
    /// left out of the rows until `a` shows them (after the others).
    pub hidden: Vec<DeviceInfo>,
    /// `a` was pressed: every device is in the rows.
    pub all: bool,
}

/// The key that shows (and hides again) the devices that cannot be opened.
pub const SHOW_ALL_KEY: char = 'a';

/// How far a page key moves in a list.
const LIST_PAGE: i64 = 5;

impl App {
    pub(super) fn open_devices(&mut self) -> Vec<Effect> {
        if self.quitting {
            self.dirty = false;
            return vec![];
        }
        self.overlay = Some(Overlay::Devices(DevicePicker {
            devices: None,
            cursor: 0,
            hidden: Vec::new(),
            all: false,
        }));
        vec![Effect::ListDevices]
    }

    pub(super) fn devices_arrived(&mut self, mut list: Vec<DeviceInfo>) {
        let Some(Overlay::Devices(picker)) = &mut self.overlay else {
            // Closed while the list was being read.
            self.dirty = false;
            return;
        };
        // The default first, then what can be opened: ALSA lists many plugins that cannot
        // record, which would otherwise bury the real inputs.
        list.sort_by_key(|d| (!d.is_default, d.usable.is_err()));
        let current = self.input.as_deref();
        let in_use =
            |d: &DeviceInfo| Some(d.name.as_str()) == current || Some(d.id.as_str()) == current;
        // The default and the one in use stay even when they cannot be opened: that is
        // what the user needs to see.
        let (list, hidden): (Vec<_>, Vec<_>) = list
            .into_iter()
            .partition(|d| d.usable.is_ok() || d.is_default || in_use(d));
        picker.hidden = hidden;
        picker.all = false;
        // Start on the device in use, else on the default.
        picker.cursor = list
            .iter()
            .position(|d| Some(d.name.as_str()) == current || Some(d.id.as_str()) == current)
            .or_else(|| list.iter().position(|d| d.is_default))
            .unwrap_or(0);
        picker.devices = Some(list);
    }

    /// Keys a list overlay takes before the key map: `Enter` chooses the highlighted entry,
    /// `1`…`9` choose directly. `None`: not such a key (or no list open).
    pub(super) fn overlay_key(&mut self, key: KeyEvent) -> Option<Vec<Effect>> {
        if key.kind == KeyEventKind::Release
            || key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        if key.code == KeyCode::Char(SHOW_ALL_KEY)
            && let Some(Overlay::Devices(picker)) = &mut self.overlay
        {
            picker.show_all(!picker.all);
            self.dirty = true;
            return Some(vec![]);
        }
        let (len, cursor) = self.list()?;
        let index = match key.code {
            KeyCode::Enter => cursor,
            KeyCode::Char(c @ '1'..='9') => usize::from(c as u8 - b'1'),
            _ => return None,
        };
        if index >= len {
            self.dirty = false;
            return Some(vec![]);
        }
        Some(match self.overlay {
            Some(Overlay::Export { .. }) => self.export(index),
            _ => self.pick_device(index),
        })
    }

    /// An action while an overlay is open.
    pub(super) fn overlay_action(&mut self, action: Action) -> Vec<Effect> {
        let Some(overlay) = &self.overlay else {
            return vec![];
        };
        let closes = matches!(
            (overlay, action),
            (_, Action::Close)
                | (Overlay::Help { .. }, Action::ToggleHelp)
                | (Overlay::Devices(_), Action::PickDevice)
                | (Overlay::Export { .. }, Action::Export)
        );
        if action == Action::Quit {
            return self.quit();
        }
        if closes {
            self.overlay = None;
            return vec![];
        }
        let help_page = self.help_page();
        let help_max = self.help_max_top();
        let moved = match &mut self.overlay {
            Some(Overlay::Help { top }) => move_in(top, help_max, action, help_page),
            Some(Overlay::Export { cursor }) => {
                move_in(cursor, Format::ALL.len() - 1, action, LIST_PAGE)
            }
            Some(Overlay::Devices(picker)) => {
                let last = picker
                    .devices
                    .as_ref()
                    .map_or(0, |d| d.len().saturating_sub(1));
                move_in(&mut picker.cursor, last, action, LIST_PAGE)
            }
            None => false,
        };
        // Other keys do nothing while an overlay is open: the footer lists what works.
        self.dirty = moved;
        vec![]
    }

    /// (entries, cursor) of the open list overlay.
    fn list(&self) -> Option<(usize, usize)> {
        match &self.overlay {
            Some(Overlay::Export { cursor }) => Some((Format::ALL.len(), *cursor)),
            Some(Overlay::Devices(picker)) => {
                Some((picker.devices.as_ref().map_or(0, Vec::len), picker.cursor))
            }
            _ => None,
        }
    }

    /// The input could not be opened at start-up: the TUI opens idle anyway and says so on
    /// the status line, with the key that picks another device (`reason` is one line, e.g.
    /// "input device 'usb' not found").
    pub fn no_input(&mut self, reason: &str) {
        let pick = self.keys.label(Action::PickDevice).unwrap_or_default();
        // The advice first: a narrow status line cuts the end (the pane has the reason too).
        self.set_notice(
            NoticeLevel::Error,
            format!("no input ({pick} picks one): {reason}"),
        );
        self.no_input = Some(reason.to_string());
        self.dirty = true;
    }

    /// Switches to device `index` of the list. While recording (or paused) the recording moves
    /// to it in the same session: same journal, utterance ids going on, paused if it was.
    fn pick_device(&mut self, index: usize) -> Vec<Effect> {
        let Some(Overlay::Devices(picker)) = &self.overlay else {
            return vec![];
        };
        let Some(device) = picker.devices.as_ref().and_then(|d| d.get(index)).cloned() else {
            return vec![];
        };
        if let Err(reason) = &device.usable {
            self.set_notice(
                NoticeLevel::Warn,
                format!("{} cannot be opened: {reason}", device.name),
            );
            return vec![];
        }
        self.overlay = None;
        self.no_input = None;
        let mut effects = vec![Effect::UseDevice(device.id.clone())];
        match self.state {
            RecState::Recording | RecState::Paused => {
                effects.push(Effect::SwitchInput(device.id.clone()));
                self.set_notice(NoticeLevel::Info, format!("switching to {}…", device.name));
            }
            RecState::Idle | RecState::Starting | RecState::Stopping => {
                let start = self.keys.label(Action::ToggleRecording).unwrap_or_default();
                self.set_notice(
                    NoticeLevel::Info,
                    format!(
                        "input: {} (from the next recording; {start} starts it)",
                        device.name
                    ),
                );
                if self.state == RecState::Idle {
                    self.input = Some(device.name);
                }
            }
        }
        effects
    }
}

impl DevicePicker {
    /// Shows (`true`) or hides again the devices that cannot be opened; the cursor stays on
    /// its device where it can.
    fn show_all(&mut self, all: bool) {
        let Some(rows) = &mut self.devices else {
            return;
        };
        if all == self.all {
            return;
        }
        let on = rows.get(self.cursor).map(|d| d.id.clone());
        // The hidden ones go after the rows, so hiding them again is a truncation.
        if all {
            rows.extend(self.hidden.iter().cloned());
        } else {
            rows.truncate(rows.len().saturating_sub(self.hidden.len()));
        }
        self.all = all;
        self.cursor = on
            .and_then(|id| rows.iter().position(|d| d.id == id))
            .unwrap_or(0);
    }
}

/// Moves `pos` within `0..=max` as `action` says; false when the action is not a movement.
fn move_in(pos: &mut usize, max: usize, action: Action, page: i64) -> bool {
    let by = |delta: i64| {
        let magnitude = usize::try_from(delta.unsigned_abs()).unwrap_or(usize::MAX);
        if delta < 0 {
            pos.saturating_sub(magnitude)
        } else {
            pos.saturating_add(magnitude).min(max)
        }
    };
    *pos = match action {
        Action::ScrollBy(delta) => by(delta),
        Action::PageUp => by(-page),
        Action::PageDown => by(page),
        Action::Top => 0,
        Action::Bottom => max,
        _ => return false,
    };
    true
}
