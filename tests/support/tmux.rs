//! The real `recorder` in a tmux pane: a private tmux server per test, keys sent with
//! `tmux send-keys`, the screen read with `tmux capture-pane`, waits polled with a deadline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::poll_until;
use super::run::Sandbox;
use super::vmic::VirtualMic;

pub const WIDTH: u16 = 100;
pub const HEIGHT: u16 = 30;

/// A private tmux server with one session; killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts a server running `script` in a `WIDTH`×`HEIGHT` pane.
    pub fn start(script: &Path) -> Result<Tmux> {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let socket = format!(
            "recorder-test-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        );
        let tmux = Tmux { socket };
        let width = WIDTH.to_string();
        let height = HEIGHT.to_string();
        let command = format!("bash {}", script.display());
        tmux.run(&["new-session", "-d", "-x", &width, "-y", &height, &command])?;
        Ok(tmux)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        // No user config; UTF-8 whatever the locale (the screen has ● and …); the server must
        // not think it is nested in the tester's tmux.
        cmd.args(["-u", "-L", &self.socket, "-f", "/dev/null"])
            .env_remove("TMUX")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        let out = self.command().args(args).output().context("running tmux")?;
        ensure!(
            out.status.success(),
            "tmux {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(out)
    }

    /// Types `keys` (tmux key names: `p`, `Space`, `Enter`, or literal text).
    pub fn keys(&self, keys: &[&str]) -> Result<()> {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.run(&args).map(|_| ())
    }

    pub fn screen(&self) -> Result<String> {
        let out = self.run(&["capture-pane", "-p", "-t", "0"])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Polls the screen until `ready` holds; returns that screen.
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let mut seen = String::new();
        let waited = poll_until(timeout, what, || {
            seen = self.screen()?;
            Ok(ready(&seen))
        });
        waited.with_context(|| format!("the screen was:\n{seen}"))?;
        Ok(seen)
    }

    /// The newest tmux paste buffer (what `tmux load-buffer` got), if any.
    pub fn buffer(&self) -> Option<String> {
        let out = self.run(&["show-buffer"]).ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

/// Writes the script the pane runs: `recorder ARGS` with the sandbox's (and the mic's)
/// environment, then its exit status and the terminal modes that matter, then an interactive
/// shell with a recognisable prompt.
pub fn script(sb: &Sandbox, mic: Option<&VirtualMic>, args: &[&str]) -> Result<PathBuf> {
    let mut env: Vec<(String, Option<String>)> = sb
        .cmd()
        .get_envs()
        .map(|(k, v)| {
            let v = v.map(|v| v.to_string_lossy().into_owned());
            (k.to_string_lossy().into_owned(), v)
        })
        .collect();
    if let Some(mic) = mic {
        env.extend(mic.env().into_iter().map(|(k, v)| (k, Some(v))));
    }
    let mut text = String::from("#!/bin/bash\n");
    // For a test that signals recorder: it is this shell's child.
    writeln!(
        text,
        "echo $$ > {}",
        quote(&shell_pid_file(sb).display().to_string())
    )?;
    for (key, value) in env {
        match value {
            Some(v) => writeln!(text, "export {key}={}", quote(&v))?,
            None => writeln!(text, "unset {key}")?,
        }
    }
    let bin = super::run::bin();
    let args: Vec<String> = args.iter().map(|a| quote(a)).collect();
    writeln!(
        text,
        "{} {}",
        quote(&bin.display().to_string()),
        args.join(" ")
    )?;
    text.push_str(
        "echo \"DONE-$?\"\n\
         stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | sed 's/^/MODE:/'\n\
         export PS1='PROMPT> '\n\
         exec bash --norc --noprofile -i\n",
    );
    let path = sb.path().join("run.sh");
    std::fs::write(&path, text)?;
    Ok(path)
}

pub fn shell_pid_file(sb: &Sandbox) -> PathBuf {
    sb.path().join("shell.pid")
}

/// The PID of the process the pane's script is running now (its only child).
pub fn script_child(sb: &Sandbox) -> Result<i32> {
    let shell = std::fs::read_to_string(shell_pid_file(sb))?
        .trim()
        .to_string();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": the fields after the parenthesised name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1));
        if ppid == Some(shell.as_str()) {
            return Ok(entry.file_name().to_string_lossy().parse()?);
        }
    }
    bail!("the script (PID {shell}) has no child")
}

/// `s` in single quotes for bash.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The first line of the screen: the header with the recording state.
pub fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

/// The exit status and terminal modes the script printed after `recorder` ended.
pub fn check_restored(screen: &str) -> Result<()> {
    ensure!(
        screen.contains("DONE-0"),
        "recorder did not exit 0:\n{screen}"
    );
    for mode in ["icanon", "echo"] {
        let line = format!("MODE:{mode}");
        if !screen.lines().any(|l| l.trim() == line) {
            bail!("terminal mode {mode} not restored:\n{screen}");
        }
    }
    Ok(())
}
