//! Helpers shared by the integration tests. A test file pulls them in with `mod support;`.
//!
//! Every test binary compiles this module on its own and uses only part of it, hence the
//! blanket `dead_code` allowance.
#![allow(dead_code)]

pub mod run;
pub mod tmux;
pub mod vmic;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How often `poll_until` re-checks its condition. Short enough not to slow tests down,
/// long enough not to busy-load the 2-core test machines.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Whether `cmd` is an executable file on `$PATH`. Looks at the file system only, so it is
/// cheap and has no side effects (unlike running `cmd --version`).
pub fn have(cmd: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(cmd))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Prints why a test does not run. Tests return early after it: there is no stable "skipped"
/// status in libtest, so the message in the output is what tells a reader it did not run.
/// In CI (`CI=true`) a test that cannot run fails instead: a green CI means every suite ran.
pub fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{test} cannot run in CI: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// Synthesises `text` as English speech into `out_wav` (mono, 16-bit, 22.05 kHz) with espeak-ng.
pub fn speak(text: &str, out_wav: &Path) -> Result<()> {
    let out = Command::new("espeak-ng")
        // US English at 140 words a minute: the default voice and pace are hard for tiny.en
        // (measured: 6 of 24 test sentences misheard at the defaults, 2 of 24 like this).
        .args(["-v", "en-us", "-s", "140"])
        .arg("-w")
        .arg(out_wav)
        .arg(text)
        // espeak-ng opens an audio output even when it only writes a file. Without a server
        // named, libpulse would create ~/.config/pulse and /tmp/pulse-* and, as a non-root
        // user, autospawn a PulseAudio daemon; a server path that cannot exist avoids all that.
        .env("PULSE_SERVER", "unix:/dev/null/no-pulse")
        .stdin(Stdio::null())
        .output()
        .context("running espeak-ng (apt-get install espeak-ng)")?;
    if !out.status.success() {
        bail!(
            "espeak-ng failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The lines `r` yields, on a channel (read by a thread of its own).
pub fn lines_of(r: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(r).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    rx
}

/// Waits for a line containing `needle`, up to `secs`; panics when none comes.
pub fn wait_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return l,
            Ok(_) => continue,
            Err(_) => panic!("no line with {needle:?} within {secs} s"),
        }
    }
}

/// Calls `ready` every few milliseconds until it returns `Ok(true)`; fails when it returns an
/// error or when `timeout` passes. `what` names the awaited condition in the error message.
/// This is how tests wait for other processes: never a bare fixed sleep.
pub fn poll_until(
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready().with_context(|| format!("while waiting for {what}"))? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Waits for `child` to exit; kills it (and reaps it) if it is still running after `timeout`.
pub fn wait_child(child: &mut Child, timeout: Duration, what: &str) -> Result<ExitStatus> {
    let mut status = None;
    let waited = poll_until(timeout, &format!("{what} to exit"), || {
        status = child.try_wait()?;
        Ok(status.is_some())
    });
    if let Err(err) = waited {
        let _ = child.kill();
        let _ = child.wait();
        return Err(err);
    }
    Ok(status.expect("poll_until returned Ok only once the child exited"))
}
