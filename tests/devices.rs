//! `recorder devices` on the virtual microphone: the usable inputs by default (ALSA lists
//! ~11 plugins, most of which cannot be opened), `--all` for every one, `--json` as data.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use support::run::{Sandbox, output};
use support::skip;
use support::vmic::{self, VirtualMic};

fn devices(sb: &Sandbox, mic: &VirtualMic, args: &[&str]) -> String {
    let mut cmd = sb.cmd();
    cmd.arg("devices").args(args).envs(mic.env());
    let o = output(&mut cmd);
    assert!(o.status.success(), "recorder devices {args:?}: {o:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn devices_lists_what_can_be_opened_and_all_with_a_flag() {
    let test = "devices_lists_what_can_be_opened_and_all_with_a_flag";
    if let Some(why) = vmic::unavailable() {
        return skip(test, &why);
    }
    let sb = Sandbox::new();
    let mic = VirtualMic::start().expect("virtual mic");
    let short = devices(&sb, &mic, &[]);
    let all = devices(&sb, &mic, &["--all"]);
    // The default (the virtual mic) can be opened, and it is both recorder's input and the
    // system's default.
    let default = short
        .lines()
        .find(|l| l.contains("alsa:default"))
        .unwrap_or_else(|| panic!("no default row: {short}"));
    assert!(default.starts_with(">*"), "marks: {default:?}");
    assert!(default.contains(" Hz, "), "its format: {default:?}");
    assert!(
        !short.contains("cannot be opened:"),
        "only usable devices by default: {short}"
    );
    let unusable = all
        .lines()
        .filter(|l| l.contains("cannot be opened:"))
        .count();
    assert!(
        unusable > 0,
        "--all lists the plugins that cannot open: {all}"
    );
    assert!(
        short.contains(&format!("{unusable} more cannot be opened")),
        "the short list says how many it left out: {short}"
    );
    let json: serde_json::Value =
        serde_json::from_str(devices(&sb, &mic, &["--all", "--json"]).trim()).unwrap();
    let rows = json.as_array().unwrap();
    let unusable_json = rows.iter().filter(|r| r["usable"] == false).count();
    assert_eq!(unusable_json, unusable, "{json}");
    let d = rows.iter().find(|r| r["id"] == "alsa:default").unwrap();
    assert_eq!(
        (d["default"].as_bool(), d["current"].as_bool()),
        (Some(true), Some(true))
    );
}
