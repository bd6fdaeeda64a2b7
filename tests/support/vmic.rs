//! A virtual microphone for tests: a private PulseAudio daemon whose default source plays
//! whatever a test feeds it, reachable through ALSA's default device (the device cpal opens).
//!
//! ```text
//!   paplay --device=feed speech.wav ─▶ null sink "feed" ─▶ feed.monitor ══▶ default source
//!                                                             │                (the "mic")
//!                             module-loopback (60 ms) ◀───────┘
//!                             ─▶ null sink "keepalive"
//!   other playback ─▶ null sink "discard" (default sink, so it never reaches the mic)
//! ```
//!
//! The same recipe, for running the app by hand, is `scripts/vmic.sh`.
//!
//! Each `VirtualMic` lives in its own short folder `/tmp/vmic-XXXXXX` with its own socket,
//! config and runtime dir, so tests running in parallel threads or processes cannot see each
//! other's daemon. Dropping it stops the daemon and removes the folder.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use tempfile::TempDir;

use super::{have, poll_until};

/// Name of the null sink a test plays into; its monitor is the microphone.
pub const FEED_SINK: &str = "feed";

/// `pulseaudio --daemonize=yes` returns once its modules are loaded, so readiness is normally
/// immediate; this bounds the wait on a loaded machine.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a SIGTERM'd daemon gets to exit before it is SIGKILL'd.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Unix socket paths must fit `sockaddr_un.sun_path` (108 bytes including the final NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A recorder recording from a [`VirtualMic`]: the process and its output lines.
pub struct Recording {
    pub child: std::process::Child,
    pub out: std::sync::mpsc::Receiver<String>,
    pub err: std::sync::mpsc::Receiver<String>,
}

/// A running private PulseAudio daemon acting as the default ALSA capture device.
pub struct VirtualMic {
    dir: TempDir,
    /// PID of the daemon while it runs; `None` after `stop_daemon`.
    pid: Option<i32>,
    /// Counts daemon starts so that each one gets its own log file.
    starts: u32,
}

impl VirtualMic {
    /// Starts a private daemon in a fresh folder and waits until it accepts clients.
    pub fn start() -> Result<VirtualMic> {
        // Deliberately /tmp and not $TMPDIR or the target dir: the socket path must stay short.
        let dir = tempfile::Builder::new()
            .prefix("vmic-")
            .tempdir_in("/tmp")
            .context("creating the virtual mic folder")?;
        let mut mic = VirtualMic {
            dir,
            pid: None,
            starts: 0,
        };
        mic.write_config()?;
        mic.launch_daemon()?;
        Ok(mic)
    }

    /// Environment a child process needs so that its default ALSA device (and any PulseAudio
    /// client) talks to this daemon. Use with `Command::envs(mic.env())`.
    ///
    /// It sets `XDG_CONFIG_HOME`, so a child also looks for its own config under
    /// `config_home()`; it does not touch HOME or the XDG data dirs (where models live).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            // alsa-lib reads $XDG_CONFIG_HOME/alsa/asoundrc, which points `default` at us.
            ("XDG_CONFIG_HOME", self.config_home()),
            // For libpulse clients (paplay, pactl) and as a second route for the ALSA plugin.
            ("PULSE_SERVER", self.server()),
            // Keeps clients from creating ~/.config/pulse/cookie in the real HOME.
            ("PULSE_COOKIE", self.path("cookie")),
            // autospawn=no: when the daemon is stopped, a client must not start a default one.
            ("PULSE_CLIENTCONFIG", self.path("client.conf")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Plays `wav` into the microphone; returns when it has been played (`paplay` drains).
    /// The end of it reaches a capture client up to one period later, and a client drops its
    /// last partial period on close: keep capturing ≥ 200 ms after this returns.
    pub fn feed(&self, wav: &Path) -> Result<()> {
        let out = self
            .client("paplay")
            .arg(format!("--device={FEED_SINK}"))
            .arg(wav)
            .output()
            .context("running paplay")?;
        ensure!(
            out.status.success(),
            "paplay {} failed ({}): {}",
            wav.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }

    /// Waits until some client (not our own loopback) is recording from the microphone and
    /// its stream is running, e.g. the app under test has opened and started its input.
    pub fn wait_for_capture(&self, timeout: Duration) -> Result<()> {
        poll_until(timeout, "a client to record from the virtual mic", || {
            Ok(self.capture_streams()? > 0)
        })
    }

    /// Number of client streams currently recording (uncorked) from the daemon.
    pub fn capture_streams(&self) -> Result<usize> {
        let outputs = self.pactl_json(&["list", "source-outputs"])?;
        let outputs = outputs.as_array().context("pactl: expected a JSON array")?;
        // Module-owned streams (our loopback) have `"client": null`.
        Ok(outputs
            .iter()
            .filter(|o| !o["client"].is_null() && o["corked"] == Value::Bool(false))
            .count())
    }

    /// Runs `pactl ARGS` against this daemon and returns its stdout.
    pub fn pactl(&self, args: &[&str]) -> Result<String> {
        let out = self
            .client("pactl")
            .args(args)
            .output()
            .context("running pactl")?;
        ensure!(
            out.status.success(),
            "pactl {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Kills the daemon, as if the microphone were unplugged; clients see their stream fail.
    pub fn stop_daemon(&mut self) -> Result<()> {
        let Some(pid) = self.pid.take() else {
            return Ok(());
        };
        if !self.is_our_daemon(pid) {
            return Ok(()); // already gone (and its PID possibly reused)
        }
        signal(pid, libc::SIGTERM)?;
        let gone = poll_until(STOP_TIMEOUT, "pulseaudio to exit on SIGTERM", || {
            Ok(!self.is_our_daemon(pid))
        });
        if gone.is_err() {
            signal(pid, libc::SIGKILL)?;
            poll_until(STOP_TIMEOUT, "pulseaudio to exit on SIGKILL", || {
                Ok(!self.is_our_daemon(pid))
            })?;
        }
        Ok(())
    }

    /// Starts the daemon again with the same config and socket, as if the mic were plugged
    /// back in. Stops it first if it still runs.
    pub fn restart_daemon(&mut self) -> Result<()> {
        self.stop_daemon()?;
        self.launch_daemon()
    }

    /// Starts `recorder ARGS` (in `sb`) recording from this mic, its stdout and stderr as
    /// line channels, and returns once its input stream runs.
    pub fn record(&self, sb: &super::run::Sandbox, args: &[&str]) -> Recording {
        let mut child = sb
            .cmd()
            .envs(self.env())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start recorder");
        let out = super::lines_of(child.stdout.take().expect("piped"));
        let err = super::lines_of(child.stderr.take().expect("piped"));
        self.wait_for_capture(Duration::from_secs(30))
            .expect("recorder opens the mic");
        Recording { child, out, err }
    }

    /// The daemon's PID while it runs (to stall it with SIGSTOP/SIGCONT).
    pub fn daemon_pid(&self) -> Option<i32> {
        self.pid.filter(|&pid| self.is_our_daemon(pid))
    }

    /// Whether the daemon is running (it can also die on its own, e.g. on a crash).
    pub fn is_running(&self) -> bool {
        self.pid.is_some_and(|pid| self.is_our_daemon(pid))
    }

    /// This mic's private folder; a good place for a test's scratch files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `XDG_CONFIG_HOME` that `env()` gives children.
    pub fn config_home(&self) -> String {
        self.path("config")
    }

    /// The PulseAudio server address, `unix:/tmp/vmic-XXXXXX/sock`.
    pub fn server(&self) -> String {
        format!("unix:{}", self.path("sock"))
    }

    /// The daemon's log of its latest start (for failure messages).
    pub fn daemon_log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn path(&self, name: &str) -> String {
        self.dir().join(name).display().to_string()
    }

    fn log_path(&self) -> PathBuf {
        self.dir().join(format!("pulse-{}.log", self.starts))
    }

    /// Writes the daemon script, the ALSA config and the client config into the folder.
    fn write_config(&self) -> Result<()> {
        let socket = self.path("sock");
        ensure!(
            socket.len() <= MAX_SOCKET_PATH,
            "socket path {socket} is too long for a unix socket"
        );
        let server = self.server();
        // Three null sinks: `feed` is the mic; `discard` is the default sink so that nothing
        // else played on this daemon reaches the mic; `keepalive` only receives the loopback.
        // Without a running stream on feed.monitor the null sink idles in 2 s blocks and the
        // first 0.5-2 s a client records are lost; the loopback keeps it running.
        // The null sink has already rendered its first 2 s block when the loopback connects,
        // and would stall every client (and paplay) until that block's end; suspending and
        // resuming it restarts its clock, so the mic is live as soon as the daemon is ready
        // (no 2 s settle time needed).
        let script = format!(
            "load-module module-native-protocol-unix socket={socket} auth-anonymous=1\n\
             load-module module-null-sink sink_name={FEED_SINK}\n\
             load-module module-null-sink sink_name=discard\n\
             load-module module-null-sink sink_name=keepalive\n\
             load-module module-loopback source={FEED_SINK}.monitor sink=keepalive latency_msec=60\n\
             set-default-sink discard\n\
             set-default-source {FEED_SINK}.monitor\n\
             suspend-sink {FEED_SINK} 1\n\
             suspend-sink {FEED_SINK} 0\n"
        );
        // `!default` replaces the system default (the hw device or the pulse hook).
        let asoundrc = format!(
            "pcm.!default {{ type pulse server \"{server}\" }}\n\
             ctl.!default {{ type pulse server \"{server}\" }}\n"
        );
        let alsa_dir = self.dir().join("config/alsa");
        fs::create_dir_all(&alsa_dir)?;
        fs::write(alsa_dir.join("asoundrc"), asoundrc)?;
        fs::write(self.dir().join("pulse.pa"), script)?;
        fs::write(self.dir().join("client.conf"), "autospawn = no\n")?;
        // The daemon's XDG_RUNTIME_DIR (pid file, locks); PulseAudio wants it private.
        fs::DirBuilder::new()
            .mode(0o700)
            .create(self.dir().join("runtime"))?;
        Ok(())
    }

    /// Starts `pulseaudio` on the folder's config and records its PID.
    fn launch_daemon(&mut self) -> Result<()> {
        self.starts += 1;
        let dir = self.dir().to_path_buf();
        // --daemonize=yes returns only after the daemon has loaded the script (or failed to),
        // and detaches it, so nothing here waits on its stdio. It closes its stdio when it
        // detaches, hence a log file rather than stderr.
        let status = Command::new("pulseaudio")
            .args(["-n", "-F"])
            .arg(dir.join("pulse.pa"))
            .args([
                "--daemonize=yes",
                "--exit-idle-time=-1",
                "--disable-shm=yes",
                "--log-level=info",
            ])
            .arg(format!("--log-target=file:{}", self.log_path().display()))
            // A private HOME and runtime dir: the daemon's cookie, pid file and locks stay in
            // the folder, and it does not collide with any other daemon (root works too).
            .env("HOME", &dir)
            .env("XDG_RUNTIME_DIR", dir.join("runtime"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running pulseaudio (apt-get install pulseaudio)")?;
        ensure!(
            status.success(),
            "pulseaudio failed to start ({status}); its log:\n{}",
            self.daemon_log()
        );
        self.pid = Some(self.read_pid()?);
        self.wait_ready()
            .with_context(|| format!("daemon log:\n{}", self.daemon_log()))
    }

    /// Reads the daemon's PID from its pid file and checks it is really our daemon.
    fn read_pid(&self) -> Result<i32> {
        let pid_file = self.dir().join("runtime/pulse/pid");
        let text = fs::read_to_string(&pid_file)
            .with_context(|| format!("reading {}", pid_file.display()))?;
        let pid: i32 = text.trim().parse().context("parsing the pid file")?;
        ensure!(self.is_our_daemon(pid), "PID {pid} is not our pulseaudio");
        Ok(pid)
    }

    /// Polls until the daemon answers and its loopback (which keeps the mic live) is loaded.
    fn wait_ready(&self) -> Result<()> {
        poll_until(READY_TIMEOUT, "the virtual mic daemon to be ready", || {
            let Ok(modules) = self.pactl_json(&["list", "modules"]) else {
                return Ok(false); // not accepting connections yet
            };
            let loaded = modules
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["name"] == "module-loopback"));
            Ok(loaded)
        })
    }

    /// True while `pid` is a live (not zombie) process running our config. The daemon is
    /// not our child: after it exits it lingers as a zombie until init reaps it.
    fn is_our_daemon(&self, pid: i32) -> bool {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let Ok(stat) = fs::read_to_string(proc.join("stat")) else {
            return false;
        };
        // The state letter follows the parenthesised command name.
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        let cmdline = fs::read(proc.join("cmdline")).unwrap_or_default();
        let ours = String::from_utf8_lossy(&cmdline).contains(&self.path("pulse.pa"));
        !zombie && ours
    }

    fn pactl_json(&self, args: &[&str]) -> Result<Value> {
        let mut full = vec!["--format=json"];
        full.extend_from_slice(args);
        let text = self.pactl(&full)?;
        serde_json::from_str(&text).context("parsing pactl's JSON")
    }

    /// A command for a PulseAudio client tool, pointed at this daemon.
    fn client(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env()).stdin(Stdio::null());
        cmd
    }
}

impl Drop for VirtualMic {
    fn drop(&mut self) {
        if let Err(err) = self.stop_daemon() {
            eprintln!("virtual mic: stopping the daemon failed: {err:#}");
        }
        // The TempDir field then removes the folder.
    }
}

/// Why the virtual mic cannot work on this machine, if it cannot: a missing program or
/// the missing ALSA→PulseAudio plugin. Tests skip with this message.
pub fn unavailable() -> Option<String> {
    let tools = [
        ("pulseaudio", "pulseaudio"),
        ("pactl", "pulseaudio-utils"),
        ("paplay", "pulseaudio-utils"),
    ];
    for (tool, package) in tools {
        if !have(tool) {
            return Some(format!(
                "{tool} is not installed (apt-get install {package})"
            ));
        }
    }
    if !have_alsa_pulse_plugin() {
        return Some(
            "the ALSA pulse plugin is not installed (apt-get install libasound2-plugins)".into(),
        );
    }
    None
}

/// Looks for `libasound_module_pcm_pulse.so` in the usual (multiarch) library folders.
fn have_alsa_pulse_plugin() -> bool {
    const PLUGIN: &str = "alsa-lib/libasound_module_pcm_pulse.so";
    let multiarch = fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path());
    [PathBuf::from("/usr/lib"), PathBuf::from("/usr/lib64")]
        .into_iter()
        .chain(multiarch)
        .any(|lib| lib.join(PLUGIN).is_file())
}

/// Sends `sig` to `pid`; a process that is already gone is not an error.
fn signal(pid: i32, sig: libc::c_int) -> Result<()> {
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(pid, sig) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    bail!("kill({pid}, {sig}): {err}")
}
