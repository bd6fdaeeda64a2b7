//! The worker process (`recorder worker`, started by the pool): loads the model once, says
//! hello, then answers one job per stdin line until stdin closes.
//!
//! whisper.cpp (or anything it links) may print to stdout; that would corrupt the protocol. So
//! the worker first moves the protocol to a private duplicate of stdout and points fd 1 at
//! stderr, which the parent captures into the log.

pub mod guards;
pub mod speed;
pub mod whisper;

use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::os::fd::FromRawFd;
use std::path::Path;
use std::time::Instant;

use crate::audio::wav;
use crate::protocol::DecodeOptions;
use crate::protocol::{self, PROTOCOL_VERSION, Request, Response};
use crate::vocab::{Hints, UtteranceId};
use whisper::Whisper;

/// Moves the protocol off fd 1: returns a writer on a duplicate of the original stdout, and
/// redirects fd 1 to stderr.
fn take_protocol_stdout() -> anyhow::Result<File> {
    // SAFETY: plain fd juggling at start-up, before any other thread writes to stdout.
    unsafe {
        let fd = libc::dup(1);
        anyhow::ensure!(fd >= 0, "dup(stdout) failed");
        anyhow::ensure!(libc::dup2(2, 1) >= 0, "dup2(stderr, stdout) failed");
        Ok(File::from_raw_fd(fd))
    }
}

/// Logs go to stderr (captured by the parent into its log file), whisper.cpp's included.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RECORDER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    whisper_rs::install_logging_hooks();
}

/// Set by SIGUSR1: the parent wants the worker for a final job, so an interim pass in progress
/// stops at whisper.cpp's next abort check.
pub static INTERRUPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigusr1(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPT.store(true, std::sync::atomic::Ordering::SeqCst);
}

fn handle_interrupts() {
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGUSR1, on_sigusr1 as *const () as libc::sighandler_t);
    }
}

/// Lowers this process's CPU priority so the audio thread and the UI win when the cores are
/// saturated (nice 10; failure is harmless).
fn lower_priority() {
    // SAFETY: setpriority on our own process.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// Dies with the parent: a stopped worker survived `kill -9` of recorder (an 82 MB orphan).
/// The parent's pid comes in `RECORDER_PARENT_PID`; if it is already gone (it died between
/// the fork and here), so are we.
fn tie_to_parent() {
    // SAFETY: prctl on our own process; getppid cannot fail.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    let expected = std::env::var("RECORDER_PARENT_PID")
        .ok()
        .and_then(|p| p.parse::<libc::pid_t>().ok());
    if let Some(parent) = expected
        && unsafe { libc::getppid() } != parent
    {
        std::process::exit(1);
    }
}

/// Caps this worker's address space so that a model whisper.cpp misreads cannot take the
/// machine's memory (the check in `models::check` should refuse such a file first): 4 GiB
/// plus 3× the model's size (tiny.en q8_0 peaks at ~250 MB resident), or `memory_mb` of the
/// tuning (`RECORDER_WORKER_MEMORY_MB`).
fn cap_memory(model: &Path, memory_mb: u64) {
    let bytes = match memory_mb {
        mb @ 1.. => mb << 20,
        0 => {
            let model_bytes = std::fs::metadata(model).map(|m| m.len()).unwrap_or(0);
            (4u64 << 30) + 3 * model_bytes
        }
    };
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit on our own process with a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0 {
        tracing::warn!(
            "cannot cap the worker's memory: {}",
            std::io::Error::last_os_error()
        );
    }
}

pub fn run(model: &Path, threads: usize, options: DecodeOptions) -> anyhow::Result<()> {
    tie_to_parent();
    let out = take_protocol_stdout()?;
    init_logging();
    lower_priority();
    handle_interrupts();
    cap_memory(model, options.tuning.memory_mb);
    let mut out = BufWriter::new(out);
    let t0 = Instant::now();
    let mut whisper = Whisper::load(model, threads, options, &INTERRUPT)?;
    let hello = Response::Hello {
        version: PROTOCOL_VERSION,
        pid: std::process::id(),
        model: model.display().to_string(),
        multilingual: whisper.multilingual,
        load_ms: t0.elapsed().as_secs_f64() * 1000.0,
    };
    send(&mut out, &hello)?;
    tracing::info!(
        "worker {} ready in {:.0} ms",
        std::process::id(),
        t0.elapsed().as_millis()
    );
    let stdin = std::io::stdin().lock();
    for line in stdin.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let response = match protocol::decode_request(&line) {
            Ok(Request::Job {
                id,
                wav,
                interim,
                hints,
                context,
                settle,
                defer_recheck,
                speculative,
            }) => {
                use std::sync::atomic::Ordering::SeqCst;
                // A signal meant for an earlier pass must not cut this one short.
                INTERRUPT.store(false, SeqCst);
                whisper.interruptible = interim || settle || speculative;
                whisper.draft = interim || settle;
                whisper.full_window = settle;
                whisper.defer_recheck = defer_recheck;
                let answer = job(&mut whisper, id, &wav, &hints, context.as_deref());
                if whisper.interruptible && INTERRUPT.load(SeqCst) {
                    // Cut short: whatever came out is a part of the text at best (a
                    // speculative final must never be taken for the whole).
                    Response::Error {
                        id,
                        message: "interrupted".into(),
                    }
                } else {
                    answer
                }
            }
            Err(e) => {
                // A parent that speaks garbage is broken; say so and stop.
                tracing::error!("bad request: {e}");
                anyhow::bail!("bad request: {e}");
            }
        };
        send(&mut out, &response)?;
    }
    Ok(())
}

fn job(
    whisper: &mut Whisper,
    id: UtteranceId,
    wav_path: &Path,
    hints: &Hints,
    context: Option<&str>,
) -> Response {
    let t0 = Instant::now();
    let samples = match wav::read_16k_mono(wav_path) {
        Ok(s) => s,
        Err(e) => {
            return Response::Error {
                id,
                message: e.to_string(),
            };
        }
    };
    match whisper.transcribe(&samples, hints, context) {
        Ok(o) => Response::Done {
            id,
            text: o.text,
            segments: o.segments,
            no_speech_prob: o.no_speech_prob,
            encode_ms: o.encode_ms,
            decode_ms: o.decode_ms,
            worker_ms: t0.elapsed().as_secs_f64() * 1000.0,
            unsure: o.unsure,
        },
        Err(e) => Response::Error {
            id,
            message: e.to_string(),
        },
    }
}

fn send(out: &mut impl Write, msg: &Response) -> anyhow::Result<()> {
    out.write_all(protocol::encode(msg).as_bytes())?;
    out.flush()?;
    Ok(())
}
