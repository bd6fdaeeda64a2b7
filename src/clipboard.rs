//! Copying text to the clipboard, two ways at once because neither works everywhere:
//!
//! - OSC 52 (`ESC ] 52 ; c ; base64 BEL`) written to the terminal: the terminal itself sets
//!   its clipboard, so it works over SSH. Many terminals support it; tmux ignores it from
//!   applications unless `set-clipboard on`.
//! - The system's clipboard tools, for those that apply here: `tmux load-buffer -w -` inside
//!   tmux (a tmux buffer, and tmux forwards it to the outer terminal's clipboard), `wl-copy`
//!   under Wayland, `xclip`/`xsel` under X11, `pbcopy` on macOS.
//!
//! The tools run as child processes with no terminal access (their output goes nowhere), so
//! nothing they print can draw over the TUI.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// How long a clipboard tool may take. `xclip` and `wl-copy` fork a server and return at once;
/// one that hangs (e.g. an X server that does not answer) must not hold anything up.
const TOOL_TIMEOUT: Duration = Duration::from_secs(3);

/// The OSC 52 sequence that asks the terminal to put `text` on its clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// Standard base64 with padding (RFC 4648), which OSC 52 carries.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A clipboard tool: a program that takes the text on its standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// What the status line calls it.
    pub name: &'static str,
    pub program: &'static str,
    pub args: &'static [&'static str],
}

/// The tools that apply in this environment: `var` reads an environment variable, `have`
/// says whether a program is installed. Parameters rather than globals so tests can pose
/// any environment.
pub fn tools(var: impl Fn(&str) -> Option<OsString>, have: impl Fn(&str) -> bool) -> Vec<Tool> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    let mut out = Vec::new();
    if set("TMUX") && have("tmux") {
        out.push(Tool {
            name: "tmux",
            program: "tmux",
            args: &["load-buffer", "-w", "-"],
        });
    }
    if set("WAYLAND_DISPLAY") && have("wl-copy") {
        out.push(Tool {
            name: "wl-copy",
            program: "wl-copy",
            args: &[],
        });
    } else if set("DISPLAY") && have("xclip") {
        out.push(Tool {
            name: "xclip",
            program: "xclip",
            args: &["-selection", "clipboard"],
        });
    } else if set("DISPLAY") && have("xsel") {
        out.push(Tool {
            name: "xsel",
            program: "xsel",
            args: &["--clipboard", "--input"],
        });
    }
    if cfg!(target_os = "macos") && have("pbcopy") {
        out.push(Tool {
            name: "pbcopy",
            program: "pbcopy",
            args: &[],
        });
    }
    out
}

/// The tools for this process's environment.
pub fn tools_here() -> Vec<Tool> {
    tools(|name| std::env::var_os(name), on_path)
}

/// Whether `program` is an executable file in a `$PATH` folder.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Gives `text` to each tool; returns the names of those that took it and, for the others,
/// why not.
pub async fn copy_with(tools: &[Tool], text: &str) -> (Vec<String>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for tool in tools {
        match run_tool(tool, text).await {
            Ok(()) => ok.push(tool.name.to_string()),
            Err(err) => errors.push(format!("{}: {err}", tool.name)),
        }
    }
    (ok, errors)
}

async fn run_tool(tool: &Tool, text: &str) -> Result<(), String> {
    // Output to /dev/null, not a pipe: xclip's forked server would hold a pipe open forever.
    let mut child = tokio::process::Command::new(tool.program)
        .args(tool.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let run = async {
        stdin
            .write_all(text.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        // End of input: the tool takes the text and exits.
        drop(stdin);
        child.wait().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(TOOL_TIMEOUT, run).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(status.to_string()),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(format!("no answer in {} s", TOOL_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }

    #[test]
    fn tools_follow_the_environment() {
        let env = |vars: &'static [&'static str]| {
            move |name: &str| vars.contains(&name).then(|| OsString::from("x"))
        };
        let all = |_: &str| true;
        let names = |tools: Vec<Tool>| tools.into_iter().map(|t| t.name).collect::<Vec<_>>();
        assert!(names(tools(env(&[]), all)).iter().all(|n| *n == "pbcopy"));
        let tmux_x11 = names(tools(env(&["TMUX", "DISPLAY"]), all));
        assert_eq!(&tmux_x11[..2], ["tmux", "xclip"]);
        assert_eq!(
            names(tools(env(&["WAYLAND_DISPLAY", "DISPLAY"]), all))[0],
            "wl-copy"
        );
        let only_xsel = |p: &str| p == "xsel";
        assert_eq!(names(tools(env(&["DISPLAY"]), only_xsel)), ["xsel"]);
        assert!(tools(env(&["TMUX"]), |_| false).is_empty());
    }

    #[tokio::test]
    async fn a_tool_gets_the_text_and_failures_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("clip");
        let script = format!("cat > '{}'", out.display());
        let script: &'static str = Box::leak(script.into_boxed_str());
        let good = Tool {
            name: "good",
            program: "sh",
            args: Box::leak(Box::new(["-c", script])),
        };
        let bad = Tool {
            name: "bad",
            program: "false",
            args: &[],
        };
        let (ok, errors) = copy_with(&[good, bad], "héllo").await;
        assert_eq!(ok, ["good"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("bad: "), "{errors:?}");
        assert_eq!(std::fs::read_to_string(out).unwrap(), "héllo");
    }
}
