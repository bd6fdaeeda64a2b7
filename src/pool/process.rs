//! One `recorder worker` child process: spawn with the version handshake, one job at a time
//! with a timeout, its stderr copied into the log (the last lines kept for error messages).

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::{Job, WorkerSpec};
use crate::protocol::{self, Request, Response};

/// Why a worker could not finish a job.
#[derive(Debug)]
pub(super) enum WorkerFailure {
    Died(String),
    Hung(Duration),
    BadFrame(String),
}

impl std::fmt::Display for WorkerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerFailure::Died(why) => write!(f, "worker died ({why})"),
            WorkerFailure::Hung(t) => {
                write!(f, "worker hung (no answer in {:.0} s)", t.as_secs_f64())
            }
            WorkerFailure::BadFrame(why) => write!(f, "worker sent garbage ({why})"),
        }
    }
}

/// The longest reply read from a worker (a 30 s utterance's reply with all its segments is
/// ~10 KiB): a worker writing without newlines cannot make the parent grow.
const MAX_FRAME: u64 = protocol::MAX_LINE as u64;

/// A running worker child. Dropping it kills the process (tokio reaps it).
pub(super) struct WorkerProc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub(super) pid: u32,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl WorkerProc {
    pub(super) async fn spawn(
        spec: &WorkerSpec,
        timeout: Duration,
    ) -> anyhow::Result<(WorkerProc, f64)> {
        let mut child = tokio::process::Command::new(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // A panic then prints its message and one note, not a backtrace: the message is
            // what the user sees as the reason.
            .env("RUST_BACKTRACE", "0")
            .env("RECORDER_PARENT_PID", std::process::id().to_string())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start '{}': {e}", spec.program.display()))?;
        let pid = child.id().unwrap_or(0);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(err) = child.stderr.take() {
            tokio::spawn(capture_stderr(err, pid, stderr_tail.clone()));
        }
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut w = WorkerProc {
            child,
            stdin,
            stdout,
            pid,
            stderr_tail,
        };
        let hello = tokio::time::timeout(timeout, w.read_response()).await;
        match hello {
            Ok(Ok(Response::Hello { load_ms, .. })) => Ok((w, load_ms)),
            Ok(Ok(other)) => anyhow::bail!("expected hello, got {other:?}"),
            Ok(Err(e)) => {
                let tail = w.stderr_tail_after_exit().await;
                anyhow::bail!(
                    "{e}{}",
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!(": {tail}")
                    }
                )
            }
            Err(_) => anyhow::bail!("no hello within {} s", timeout.as_secs()),
        }
    }

    /// One framed reply. Bounded: a worker that writes without newlines cannot make the
    /// parent grow, and bytes that are not UTF-8 are garbage from a live worker, not a death.
    pub(super) async fn read_response(&mut self) -> Result<Response, WorkerFailure> {
        let mut buf = Vec::new();
        let n = (&mut self.stdout)
            .take(MAX_FRAME)
            .read_until(b'\n', &mut buf)
            .await
            .map_err(|e| WorkerFailure::Died(e.to_string()))?;
        if n as u64 == MAX_FRAME && !buf.ends_with(b"\n") {
            return Err(WorkerFailure::BadFrame(format!(
                "a reply over {} KiB",
                MAX_FRAME >> 10
            )));
        }
        let Ok(line) = String::from_utf8(buf) else {
            return Err(WorkerFailure::BadFrame("a reply that is not UTF-8".into()));
        };
        if n == 0 {
            let status = self.child.try_wait().ok().flatten();
            let why = match status {
                Some(s) => s.to_string(),
                None => "closed its output".into(),
            };
            return Err(WorkerFailure::Died(why));
        }
        protocol::decode_response(&line).map_err(|e| WorkerFailure::BadFrame(e.to_string()))
    }

    /// Sends `job` as a `pass` and waits for the answer, at most `timeout`.
    pub(super) async fn run_job(
        &mut self,
        job: &Job,
        timeout: Duration,
        pass: Pass,
    ) -> Result<Response, WorkerFailure> {
        let req = protocol::encode(&Request::Job {
            id: job.id(),
            wav: job.utt.wav.clone(),
            interim: pass == Pass::Interim,
            settle: pass == Pass::Settle,
            defer_recheck: matches!(pass, Pass::Final | Pass::Speculative) && job.defer_recheck,
            speculative: pass == Pass::Speculative,
            hints: job.utt.hints,
            // Not for the second part of an overlapped split: its audio starts with words the
            // first part's text ends with, and whisper, shown them, skipped on past them (a
            // 31 s monologue lost 19 words after the seam: tests/split.rs).
            context: job
                .context
                .as_ref()
                .filter(|_| job.utt.hints.keep_from_s.is_none())
                .and_then(|c| c.before(job.id())),
        });
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| WorkerFailure::Died("stdin closed".into()))?;
        stdin
            .write_all(req.as_bytes())
            .await
            .map_err(|e| WorkerFailure::Died(format!("broken pipe: {e}")))?;
        stdin
            .flush()
            .await
            .map_err(|e| WorkerFailure::Died(format!("broken pipe: {e}")))?;
        let resp = tokio::time::timeout(timeout, self.read_response())
            .await
            .map_err(|_| WorkerFailure::Hung(timeout))??;
        match &resp {
            Response::Done { id, .. } | Response::Error { id, .. } if *id != job.id() => Err(
                WorkerFailure::BadFrame(format!("answer for #{id}, expected #{}", job.id())),
            ),
            _ => Ok(resp),
        }
    }

    pub(super) fn stderr_tail(&self) -> String {
        let t = self
            .stderr_tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        t.iter()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.starts_with("note:"))
            .cloned()
            .unwrap_or_default()
    }

    /// After a failed start, give the stderr reader a moment to collect the worker's last words.
    pub(super) async fn stderr_tail_after_exit(&mut self) -> String {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.child.wait()).await;
        tokio::task::yield_now().await;
        self.stderr_tail()
    }

    /// Graceful end: EOF on stdin makes the worker exit; kill it if it does not within 2 s.
    pub(super) async fn close(mut self) {
        self.stdin = None;
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
        }
    }
}

async fn capture_stderr(
    err: tokio::process::ChildStderr,
    pid: u32,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "worker", "[worker {pid}] {line}");
        if let Ok(mut t) = tail.lock() {
            t.push_back(line);
            if t.len() > 5 {
                t.pop_front();
            }
        }
    }
}

/// What a job is run as: an utterance's final text, an interim snapshot (cut short by a
/// final job), a settle pass (cut short too; on the full window), or a speculative final
/// (a final pass over an utterance that may still go on: cut short when it does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    Final,
    Interim,
    Settle,
    Speculative,
}
