//! The TUI end to end: the real `recorder` in a tmux pane (100×30) on the virtual microphone,
//! keys sent with `tmux send-keys`, the screen read with `tmux capture-pane`. Spoken sentences
//! go into the mic while recording, paused, resumed and stopped; only the ones spoken while
//! recording may show up. Then copy, export, quit, and the shell must be usable again.
//!
//! Every wait is a poll of the screen (or of the mic) with a deadline, never a bare sleep.
//! Each test runs its own tmux server (`tmux -L <unique name>`), killed when the test ends,
//! passing or not.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use support::run::{Sandbox, concat_with_gaps, tiny_en};
use support::vmic::{self, VirtualMic};
use support::{have, poll_until, skip, speak};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;

/// Start-up: model check, ONNX Runtime, opening the mic, the TUI. Seconds normally.
const START: Duration = Duration::from_secs(60);
/// From the end of a fed sentence to its text on screen: tiny.en takes ~1 s on 2 cores; the
/// rest is slack for a loaded CI machine.
const TEXT: Duration = Duration::from_secs(60);
/// A key's effect on screen (the UI answers in milliseconds; tmux adds its own latency).
const KEY: Duration = Duration::from_secs(10);

/// Silence fed after a sentence: more than the segmenter's 550 ms end-of-speech wait, so when
/// the feed returns the utterance is closed (if it was heard at all), and enough that the
/// sentence has reached the app before anything else happens.
const TRAILING_SILENCE_S: f32 = 1.5;

/// A private tmux server with one session; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts a server running `script` in a `WIDTH`×`HEIGHT` pane.
    fn start(script: &Path) -> Result<Tmux> {
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
    fn keys(&self, keys: &[&str]) -> Result<()> {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.run(&args).map(|_| ())
    }

    fn screen(&self) -> Result<String> {
        let out = self.run(&["capture-pane", "-p", "-t", "0"])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Polls the screen until `ready` holds; returns that screen.
    fn wait_for(
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
    fn buffer(&self) -> Option<String> {
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
fn script(sb: &Sandbox, mic: Option<&VirtualMic>, args: &[&str]) -> Result<PathBuf> {
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
    let bin = support::run::bin();
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

fn shell_pid_file(sb: &Sandbox) -> PathBuf {
    sb.path().join("shell.pid")
}

/// The PID of the process the pane's script is running now (its only child).
fn script_child(sb: &Sandbox) -> Result<i32> {
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
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The first line of the screen: the header with the recording state.
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

/// True when no utterance is being heard or waiting for its text.
fn pipeline_idle(screen: &str) -> bool {
    !["listening…", "queued (#", "transcribing…"]
        .iter()
        .any(|s| screen.contains(s))
}

fn has_word(screen: &str, word: &str) -> bool {
    screen.to_lowercase().contains(word)
}

/// A sentence as espeak-ng says it, followed by silence, ready to feed.
fn sentence(sb: &Sandbox, name: &str, text: &str) -> Result<PathBuf> {
    let spoken = sb.path().join(format!("{name}-speech.wav"));
    speak(text, &spoken)?;
    let wav = sb.path().join(format!("{name}.wav"));
    concat_with_gaps(&[(spoken, TRAILING_SILENCE_S)], &wav);
    Ok(wav)
}

/// Utterance WAVs the engine wrote, over all sessions.
fn utterance_wavs(sessions: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for session in std::fs::read_dir(sessions).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(session.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with("utt-") && name.ends_with(".wav") {
                out.push(file.path());
            }
        }
    }
    out
}

fn unavailable() -> Option<String> {
    if !have("tmux") {
        return Some("tmux is not installed (apt-get install tmux)".into());
    }
    if !have("espeak-ng") {
        return Some("espeak-ng is not installed (apt-get install espeak-ng)".into());
    }
    vmic::unavailable()
}

#[test]
fn record_pause_resume_stop_copy_export_quit_in_tmux() {
    tiny_en();
    if let Some(why) = unavailable() {
        return skip("record_pause_resume_stop_copy_export_quit_in_tmux", &why);
    }
    let sb = Sandbox::new();
    let mic = VirtualMic::start().expect("virtual mic");
    if let Err(err) = session(&sb, &mic) {
        panic!("{err:#}\n--- recorder log ---\n{}", sb.log());
    }
}

fn session(sb: &Sandbox, mic: &VirtualMic) -> Result<()> {
    let wavs = [
        sentence(sb, "report", "Please send the report tomorrow.")?,
        sentence(sb, "mountain", "We climbed the mountain yesterday.")?,
        sentence(sb, "museum", "The museum opens on Monday.")?,
        sentence(sb, "flight", "Our flight was delayed by fog.")?,
    ];
    let tmux = Tmux::start(&script(sb, Some(mic), &[])?)?;

    // Launch: recording starts at once, on the mic.
    tmux.wait_for(START, "the TUI recording", |s| header(s).contains(" REC "))?;
    mic.wait_for_capture(KEY)?;

    // 1. Recording: the sentence shows up.
    mic.feed(&wavs[0])?;
    tmux.wait_for(TEXT, "the first sentence's text", |s| has_word(s, "report"))?;

    // 2. Paused: nothing is recorded. The header says so only after the engine was told.
    let asked = Instant::now();
    tmux.keys(&["p"])?;
    tmux.wait_for(KEY, "the paused header", |s| header(s).contains("PAUSED"))?;
    eprintln!("pause shown {:?} after the key", asked.elapsed());
    mic.feed(&wavs[1])?;
    // Had it been heard, it would now be on screen as listening, queued or transcribing (the
    // trailing silence closed it), or already as text: wait for none of those, then look.
    let screen = tmux.wait_for(TEXT, "nothing pending while paused", |s| {
        pipeline_idle(s) && header(s).contains("PAUSED")
    })?;
    ensure!(
        !has_word(&screen, "mountain"),
        "a sentence spoken while paused was transcribed:\n{screen}"
    );

    // 3. Resumed: recorded again.
    tmux.keys(&["p"])?;
    tmux.wait_for(KEY, "recording again", |s| header(s).contains(" REC "))?;
    mic.feed(&wavs[2])?;
    let screen = tmux.wait_for(TEXT, "the third sentence's text", |s| has_word(s, "museum"))?;
    ensure!(
        !has_word(&screen, "mountain"),
        "paused speech showed up:\n{screen}"
    );

    responsiveness(&tmux)?;

    // Copy the last utterance: inside tmux it lands in a tmux buffer (and OSC 52 goes out).
    tmux.keys(&["y"])?;
    poll_until(KEY, "the copied text in tmux's buffer", || {
        Ok(tmux.buffer().is_some_and(|b| has_word(&b, "museum")))
    })?;
    tmux.wait_for(KEY, "the copy confirmation", |s| {
        s.contains("copied the last")
    })?;

    // Switch the input without restarting: the device list comes up, Enter takes the
    // highlighted one (the device in use); the session on the old input is closed and a new
    // one opens below it.
    tmux.keys(&["d"])?;
    let list = tmux.wait_for(KEY * 3, "the device list", |s| {
        s.contains("Input device") && !s.contains("looking for input devices")
    })?;
    eprintln!("device list:\n{list}");
    tmux.keys(&["Enter"])?;
    tmux.wait_for(KEY, "the second session", |s| {
        header(s).contains(" REC ") && s.contains("session 2")
    })?;
    mic.wait_for_capture(KEY)?;

    // 4. Stopped: the mic is closed and nothing more is recorded.
    tmux.keys(&["Space"])?;
    tmux.wait_for(KEY, "the idle header", |s| header(s).contains("IDLE"))?;
    poll_until(KEY, "the mic to be released", || {
        Ok(mic.capture_streams()? == 0)
    })?;
    mic.feed(&wavs[3])?;
    let screen = tmux.wait_for(TEXT, "nothing pending while stopped", |s| {
        pipeline_idle(s) && header(s).contains("IDLE")
    })?;
    ensure!(
        !has_word(&screen, "flight"),
        "a sentence spoken after stopping was transcribed:\n{screen}"
    );
    // Only the two sentences spoken while recording were kept as utterances.
    let kept = utterance_wavs(&sb.sessions());
    ensure!(kept.len() == 2, "expected 2 utterance WAVs, found {kept:?}");

    // Export as Markdown into the session's folder; the status line names the file.
    tmux.keys(&["e"])?;
    tmux.wait_for(KEY, "the export list", |s| s.contains("Export as"))?;
    tmux.keys(&["2"])?;
    tmux.wait_for(KEY, "the export confirmation", |s| {
        s.contains("exported to")
    })?;
    let session_dir = kept[0].parent().context("utterance folder")?;
    let md = std::fs::read_to_string(session_dir.join("transcript.md"))
        .context("reading the exported transcript")?;
    ensure!(
        has_word(&md, "report") && has_word(&md, "museum") && !has_word(&md, "mountain"),
        "unexpected export:\n{md}"
    );

    // 5. Quit: the shell is back, in cooked mode with echo, and takes a command.
    let asked = Instant::now();
    tmux.keys(&["q"])?;
    let screen = tmux.wait_for(START, "the shell prompt", |s| s.contains("PROMPT>"))?;
    // Nothing was pending, so this should take well under a second; it is printed rather
    // than asserted because the engine's shutdown is not this test's subject.
    eprintln!("quit with nothing pending took {:?}", asked.elapsed());
    check_restored(&screen)?;
    tmux.keys(&["echo typed-$((6*7))", "Enter"])?;
    tmux.wait_for(KEY, "the shell to run a command", |s| {
        s.contains("typed-42")
    })?;
    Ok(())
}

/// Keys are answered at once even with every core busy: `?` opens the help and `Esc` closes
/// it while a spinning thread per core competes with the app. The times include tmux's own
/// round trips (send-keys, capture-pane), so the bound is loose; the app's part is a few ms.
fn responsiveness(tmux: &Tmux) -> Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let burners: Vec<_> = (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let measure = |key: &str, what: &str, shown: fn(&str) -> bool| -> Result<Duration> {
        let asked = Instant::now();
        tmux.keys(&[key])?;
        tmux.wait_for(KEY, what, shown)?;
        Ok(asked.elapsed())
    };
    let open = measure("?", "the help", |s| s.contains("Esc closes"));
    let close = measure("Escape", "the help to close", |s| !s.contains("Esc closes"));
    stop.store(true, Ordering::Relaxed);
    for burner in burners {
        let _ = burner.join();
    }
    let (open, close) = (open?, close?);
    eprintln!("with {cores} cores saturated: help shown after {open:?}, closed after {close:?}");
    let bound = Duration::from_secs(1);
    ensure!(
        open < bound && close < bound,
        "keys answered slowly: {open:?}, {close:?}"
    );
    Ok(())
}

/// The exit status and terminal modes the script printed after `recorder` ended.
fn check_restored(screen: &str) -> Result<()> {
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

#[test]
fn sigterm_and_sighup_restore_the_terminal_and_idle_starts_stopped() {
    tiny_en();
    if !have("tmux") || !have("espeak-ng") {
        return skip(
            "sigterm_and_sighup_restore_the_terminal",
            "needs tmux and espeak-ng",
        );
    }
    let sb = Sandbox::new();
    let wav = sentence(&sb, "input", "Thank you for listening.").expect("speech");
    let wav = wav.display().to_string();
    let run = |signal: libc::c_int, idle: bool| -> Result<()> {
        // A file as input: no microphone needed, and it keeps the app recording for seconds.
        let mut args = vec!["--input", wav.as_str()];
        if idle {
            args.push("--idle");
        }
        let tmux = Tmux::start(&script(&sb, None, &args)?)?;
        if idle {
            // Stopped, with no session opened: the start hint shows.
            tmux.wait_for(START, "the idle TUI", |s| {
                header(s).contains(" IDLE ") && s.contains("to start recording")
            })?;
        } else {
            tmux.wait_for(START, "the TUI", |s| {
                header(s).contains(" REC ") || header(s).contains(" IDLE ")
            })?;
        }
        let pid = script_child(&sb)?;
        // SAFETY: kill(2) on the recorder this test started (the script's only child).
        ensure!(unsafe { libc::kill(pid, signal) } == 0, "kill failed");
        let screen = tmux.wait_for(START, "the shell prompt", |s| s.contains("PROMPT>"))?;
        check_restored(&screen)
    };
    // SIGHUP with `--idle`, so that flag gets its check too.
    for (name, signal, idle) in [
        ("SIGTERM", libc::SIGTERM, false),
        ("SIGHUP", libc::SIGHUP, true),
    ] {
        if let Err(err) = run(signal, idle) {
            panic!("{name}: {err:#}\n--- recorder log ---\n{}", sb.log());
        }
    }
}
