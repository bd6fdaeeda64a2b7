//! The worker pool's supervision: a worker killed mid-job (the real whisper worker, kill -9) is
//! replaced and the job retried, so the text still arrives exactly once; scripted fake workers
//! cover a hang, garbage on the protocol pipe, a wrong protocol version, and a crash on the
//! first attempt.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use recorder::pool::{Job, JobFailure, Origin, Pool, PoolConfig, PoolEvent, WorkerSpec};
use recorder::vocab::{RecordingId, Span, UtteranceId, UtteranceRef};
use support::run::{Sandbox, bin, norm, tiny_en, worker_script};
use support::{have, skip, speak};
use tokio::sync::mpsc;

fn job(id: u64, wav: &Path, secs: f64) -> Job {
    let utt = UtteranceRef {
        id: UtteranceId(id),
        span: Span::new(0.0, secs),
        wav: wav.to_path_buf(),
        hints: Default::default(),
    };
    Job::new(utt, Origin::Live(RecordingId(1)), None)
}

/// Collects pool events until `done` says stop or 120 s pass.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<PoolEvent>,
    mut done: impl FnMut(&PoolEvent, &[PoolEvent]) -> bool,
) -> Vec<PoolEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        let stop = done(&ev, &seen);
        seen.push(ev);
        if stop {
            break;
        }
    }
    seen
}

/// This binary in worker mode on `model`, 2 threads, with `extra` arguments.
fn real_worker(model: &Path, extra: &[&str]) -> WorkerSpec {
    let mut args: Vec<std::ffi::OsString> = vec![
        "worker".into(),
        "--ggml".into(),
        model.into(),
        "--n-threads".into(),
        "2".into(),
    ];
    args.extend(extra.iter().map(Into::into));
    WorkerSpec {
        program: bin(),
        args,
    }
}

fn script(dir: &Path, name: &str, body: &str) -> WorkerSpec {
    worker_script(dir, name, &format!("#!/bin/sh\n{body}\n"))
}

const HELLO: &str = r#"echo '{"type":"hello","version":2,"pid":1,"model":"fake","multilingual":false,"load_ms":0}'"#;

fn fast_config(spec: WorkerSpec) -> PoolConfig {
    let mut cfg = PoolConfig::new(1, spec);
    cfg.max_attempts = 2;
    cfg.start_timeout = Duration::from_secs(10);
    cfg.job_timeout_base = Duration::from_millis(800);
    cfg.job_timeout_per_audio_s = 0.0;
    cfg
}

async fn run_one(cfg: PoolConfig, wav: &Path) -> Vec<PoolEvent> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (pool, submitter) = Pool::start(cfg, tx);
    submitter.submit(job(1, wav, 1.0));
    let events = collect(&mut rx, |e, _| {
        matches!(e, PoolEvent::Done { .. } | PoolEvent::Failed { .. })
    })
    .await;
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
    events
}

fn failure(events: &[PoolEvent]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            PoolEvent::Failed { reason, .. } => Some(reason.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Failed event in {events:?}"))
}

fn notices(events: &[PoolEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, PoolEvent::Notice(_)))
        .count()
}

#[tokio::test]
async fn hung_worker_is_replaced_then_the_job_fails_with_the_reason() {
    let sb = Sandbox::new();
    let spec = script(sb.path(), "hang.sh", &format!("{HELLO}\nexec sleep 600"));
    let events = run_one(fast_config(spec), Path::new("/x.wav")).await;
    let reason = failure(&events);
    assert!(
        reason.contains("hung") && reason.contains("2 attempts"),
        "{reason}"
    );
    assert_eq!(notices(&events), 2, "one notice per replaced worker");
}

#[tokio::test]
async fn garbage_on_the_protocol_pipe_is_a_failed_worker() {
    let sb = Sandbox::new();
    let spec = script(
        sb.path(),
        "garbage.sh",
        &format!("{HELLO}\nread line\necho 'ggml_init: some native chatter'\nsleep 600"),
    );
    let events = run_one(fast_config(spec), Path::new("/x.wav")).await;
    let reason = failure(&events);
    assert!(reason.contains("garbage"), "{reason}");
}

#[tokio::test]
async fn wrong_protocol_version_is_refused() {
    let sb = Sandbox::new();
    let hello = HELLO.replace("\"version\":2", "\"version\":999");
    let spec = script(sb.path(), "old.sh", &format!("{hello}\nsleep 600"));
    let events = run_one(fast_config(spec), Path::new("/x.wav")).await;
    let reason = failure(&events);
    assert!(reason.contains("version 999"), "{reason}");
}

#[tokio::test]
async fn crash_on_first_attempt_is_retried_and_succeeds() {
    let sb = Sandbox::new();
    let marker = sb.path().join("crashed-once");
    let body = format!(
        "{HELLO}\nread line\nif [ ! -e {m} ]; then touch {m}; kill -9 $$; fi\n\
         echo '{{\"type\":\"done\",\"id\":1,\"text\":\"hello\",\"segments\":[],\"no_speech_prob\":0.0,\"encode_ms\":1,\"decode_ms\":1,\"worker_ms\":2}}'\nsleep 600",
        m = marker.display()
    );
    let spec = script(sb.path(), "flaky.sh", &body);
    let events = run_one(fast_config(spec), Path::new("/x.wav")).await;
    let done: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            PoolEvent::Done { text, timings, .. } => Some((text.clone(), timings.attempts)),
            _ => None,
        })
        .collect();
    assert_eq!(done, vec![("hello".to_string(), 2)], "{events:?}");
}

fn speech(sb: &Sandbox) -> Option<PathBuf> {
    if !have("espeak-ng") {
        return None;
    }
    let wav = sb.path().join("speech.wav");
    speak(
        "Nothing that reaches the microphone may be lost, whatever crashes in the worker process.",
        &wav,
    )
    .unwrap();
    Some(wav)
}

/// The real whisper worker killed with SIGKILL while it transcribes: the pool replaces it,
/// retries, and the text arrives exactly once.
#[tokio::test]
async fn real_worker_killed_mid_job_still_delivers_the_text_once() {
    let model = tiny_en();
    let sb = Sandbox::new();
    let Some(wav) = speech(&sb) else {
        return skip(
            "real_worker_killed_mid_job_still_delivers_the_text_once",
            "espeak-ng missing",
        );
    };
    let spec = real_worker(&model, &[]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (pool, submitter) = Pool::start(PoolConfig::new(1, spec), tx);
    // Wait for the warm worker, then submit and kill it as soon as it has the job.
    let ready = collect(&mut rx, |e, _| matches!(e, PoolEvent::WorkerReady { .. })).await;
    let Some(PoolEvent::WorkerReady { pid, .. }) = ready.last().cloned() else {
        panic!("no worker: {ready:?}")
    };
    submitter.submit(job(7, &wav, 6.0));
    let started = collect(&mut rx, |e, _| matches!(e, PoolEvent::Started { .. })).await;
    assert!(
        matches!(
            started.last(),
            Some(PoolEvent::Started {
                id: UtteranceId(7),
                ..
            })
        ),
        "{started:?}"
    );
    // SAFETY: kill(2) on the worker's pid.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let events = collect(&mut rx, |e, _| {
        matches!(e, PoolEvent::Done { .. } | PoolEvent::Failed { .. })
    })
    .await;
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
    let mut done = events.iter().filter_map(|e| match e {
        PoolEvent::Done {
            job, text, timings, ..
        } => Some((job.id().0, text.clone(), timings.attempts)),
        _ => None,
    });
    let (id, text, attempts) = done.next().unwrap_or_else(|| panic!("no text: {events:?}"));
    assert!(done.next().is_none(), "text delivered twice");
    assert_eq!(id, 7);
    assert_eq!(attempts, 2, "{events:?}");
    let text = norm(&text);
    assert!(
        text.contains("microphone") && text.contains("lost"),
        "{text}"
    );
    assert!(
        notices(&events) >= 1,
        "the user is told a worker was replaced"
    );
}

/// A worker that cannot start (here: exits at once) is tried twice, then the pool stops
/// trying and says so in one notice; every job fails at once with that line as its reason.
#[tokio::test]
async fn a_worker_that_cannot_start_is_tried_twice_then_given_up_in_one_notice() {
    let sb = Sandbox::new();
    let tries = sb.path().join("tries");
    let spec = script(
        sb.path(),
        "broken.sh",
        &format!(
            "echo try >> {}\necho 'cannot load model' >&2\nexit 1",
            tries.display()
        ),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (pool, submitter) = Pool::start(fast_config(spec), tx);
    for id in 1..=3 {
        submitter.submit(job(id, Path::new("/x.wav"), 1.0));
    }
    let events = collect(&mut rx, |e, seen| {
        matches!(e, PoolEvent::Failed { .. })
            && seen
                .iter()
                .filter(|e| matches!(e, PoolEvent::Failed { .. }))
                .count()
                == 2
    })
    .await;
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
    let starts = std::fs::read_to_string(&tries).unwrap().lines().count();
    assert_eq!(starts, 2, "{events:?}");
    let gave_up: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            PoolEvent::Notice(n) if n.contains("stopped trying") => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(gave_up.len(), 1, "{events:?}");
    assert!(gave_up[0].contains("cannot load model"), "{}", gave_up[0]);
    let failed = events
        .iter()
        .filter(
            |e| matches!(e, PoolEvent::Failed { reason: JobFailure::NoWorkers(why), .. } if why.contains("stopped trying")),
        )
        .count();
    assert_eq!(failed, 3, "{events:?}");
}

/// The worker's memory is capped (`RLIMIT_AS`): with a cap below what the model needs, the
/// real worker fails to start instead of growing (a damaged model took workers to ~24 GB).
#[tokio::test]
async fn the_real_worker_cannot_grow_past_its_memory_cap() {
    let model = tiny_en();
    // The cap travels in the worker's tuning (`[tuning] memory_mb`, or
    // `RECORDER_WORKER_MEMORY_MB` in the parent's environment).
    let spec = real_worker(&model, &["--tuning", r#"{"memory_mb": 40}"#]);
    let events = run_one(fast_config(spec), Path::new("/x.wav")).await;
    let reason = failure(&events);
    assert!(reason.contains("stopped trying"), "{reason}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, PoolEvent::WorkerReady { .. })),
        "{events:?}"
    );
}

/// A settle pass runs only on a worker with nothing else to do: a final job arriving cuts
/// it short (SIGUSR1, as for an interim pass), its result is dropped, and the final's text
/// follows at once instead of after the pass.
#[tokio::test]
async fn a_final_job_cuts_a_settle_pass_short() {
    let sb = Sandbox::new();
    let started = sb.path().join("settle-started");
    let cut = sb.path().join("settle-cut");
    // A settle pass "takes" 20 s unless SIGUSR1 ends it; any other job answers at once.
    let body = format!(
        r#"{HELLO}
trap 'touch {cut}; kill $pid 2>/dev/null' USR1
while read -r line; do
  id=$(printf '%s' "$line" | sed 's/.*"id":\([0-9]*\).*/\1/')
  case "$line" in
    *settle.wav*) touch '{started}'; sleep 20 & pid=$!; wait $pid ;;
  esac
  echo "{{\"type\":\"done\",\"id\":$id,\"text\":\"text $id\",\"segments\":[],\"no_speech_prob\":0.0,\"encode_ms\":1,\"decode_ms\":1,\"worker_ms\":1}}"
done"#,
        started = started.display(),
        cut = cut.display()
    );
    let spec = script(sb.path(), "settling.sh", &body);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut cfg = fast_config(spec);
    cfg.job_timeout_base = Duration::from_secs(60);
    let (pool, submitter) = Pool::start(cfg, tx);
    submitter
        .settle_queue()
        .submit(job(1, &sb.path().join("settle.wav"), 5.0));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the settle pass never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    submitter.submit(job(2, &sb.path().join("utt-000002.wav"), 1.0));
    let events = collect(
        &mut rx,
        |ev, _| matches!(ev, PoolEvent::Done { job, .. } if job.id() == UtteranceId(2)),
    )
    .await;
    let settled: Vec<&Result<_, String>> = events
        .iter()
        .filter_map(|e| match e {
            PoolEvent::Settled { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    assert_eq!(settled.len(), 1, "{events:?}");
    assert!(
        settled[0].is_err(),
        "a cut pass's text is dropped: {events:?}"
    );
    assert!(
        cut.exists(),
        "the final job did not interrupt the settle pass"
    );
    assert!(
        matches!(events.last(), Some(PoolEvent::Done { text, .. }) if text == "text 2"),
        "{events:?}"
    );
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
}

/// With the settle pass on, a final pass leaves its full-window re-check to it: the real
/// worker answers at once, marked unsure, and the settle pass's full-window decode of the
/// same audio says what the re-check in line said (`ps_librivox_sense_and_sensibility_0890`:
/// tiny.en q8_0's shortened window is unsure of a word there; in line the final pass took
/// 1.6 s, deferred 0.16 s).
#[tokio::test]
async fn a_deferred_recheck_is_done_by_the_settle_pass() {
    let model = tiny_en().with_file_name("ggml-tiny.en-q8_0.bin");
    let clip = "ps_librivox_sense_and_sensibility_0890.wav";
    let Some(wav) = support::run::eval_clip(clip) else {
        return skip(
            "a_deferred_recheck_is_done_by_the_settle_pass",
            "../shared/eval is absent",
        );
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (pool, submitter) = Pool::start(PoolConfig::new(1, real_worker(&model, &[])), tx);
    submitter.submit(job(1, &wav, 5.3));
    submitter.submit(job(2, &wav, 5.3).deferring_recheck(true));
    let finals = collect(&mut rx, |e, seen| {
        let done = |e: &PoolEvent| matches!(e, PoolEvent::Done { .. } | PoolEvent::Failed { .. });
        done(e) && seen.iter().filter(|e| done(e)).count() == 1
    })
    .await;
    let result = |id: u64| {
        finals.iter().find_map(|e| match e {
            PoolEvent::Done {
                job, text, unsure, ..
            } if job.id() == UtteranceId(id) => Some((text.clone(), *unsure)),
            _ => None,
        })
    };
    let (in_line, unsure_in_line) = result(1).unwrap_or_else(|| panic!("{finals:?}"));
    let (_, deferred) = result(2).unwrap_or_else(|| panic!("{finals:?}"));
    assert!(!unsure_in_line, "the re-check ran in line");
    assert!(deferred, "the re-check was due and deferred: {finals:?}");
    submitter.settle_queue().submit(job(3, &wav, 5.3));
    let settled = collect(&mut rx, |e, _| matches!(e, PoolEvent::Settled { .. })).await;
    let Some(PoolEvent::Settled {
        result: Ok(pass), ..
    }) = settled.last()
    else {
        panic!("no settle pass: {settled:?}")
    };
    assert_eq!(pass.text, in_line);
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
}

/// A scripted worker for speculations: it answers "spec" for the speculative WAV and "final"
/// for any other, logs each request line to `log`; a speculation "takes" `spec_s` seconds
/// unless SIGUSR1 cuts it short (then it answers an error, as the real worker does).
fn speculating_worker(sb: &Sandbox, log: &Path, spec_s: u32) -> WorkerSpec {
    let body = format!(
        r#"{HELLO}
trap 'kill $pid 2>/dev/null; cut=1' USR1
while read -r line; do
  printf '%s\n' "$line" >> '{log}'
  id=$(printf '%s' "$line" | sed 's/.*"id":\([0-9]*\).*/\1/')
  cut=0
  case "$line" in
    *speculative.wav*) text=spec; sleep {spec_s} & pid=$!; wait $pid ;;
    *) text=final ;;
  esac
  if [ $cut = 1 ]; then
    echo "{{\"type\":\"error\",\"id\":$id,\"message\":\"interrupted\"}}"
  else
    echo "{{\"type\":\"done\",\"id\":$id,\"text\":\"$text\",\"segments\":[],\"no_speech_prob\":0.0,\"encode_ms\":1,\"decode_ms\":1,\"worker_ms\":1}}"
  fi
done"#,
        log = log.display()
    );
    script(sb.path(), "speculating.sh", &body)
}

/// A pool on [`speculating_worker`] running a speculation over utterance 1 (2 s) now.
async fn speculating_pool(
    sb: &Sandbox,
    log: &Path,
    spec_s: u32,
) -> (
    Pool,
    recorder::pool::Submitter,
    mpsc::UnboundedReceiver<PoolEvent>,
) {
    let mut cfg = fast_config(speculating_worker(sb, log, spec_s));
    cfg.job_timeout_base = Duration::from_secs(60);
    let (tx, rx) = mpsc::unbounded_channel();
    let (pool, submitter) = Pool::start(cfg, tx);
    submitter.speculate(job(1, &sb.path().join("speculative.wav"), 2.0));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !log.exists() {
        assert!(std::time::Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (pool, submitter, rx)
}

async fn first_done(rx: &mut mpsc::UnboundedReceiver<PoolEvent>) -> (UtteranceId, String) {
    let events = collect(rx, |ev, _| matches!(ev, PoolEvent::Done { .. })).await;
    match events.last() {
        Some(PoolEvent::Done { job, text, .. }) => (job.id(), text.clone()),
        _ => panic!("no Done in {events:?}"),
    }
}

#[tokio::test]
async fn a_final_job_takes_the_speculation_over_its_cut_and_the_worker_decodes_once() {
    let sb = Sandbox::new();
    let log = sb.path().join("requests");
    let (pool, submitter, mut rx) = speculating_pool(&sb, &log, 1).await;
    // While the speculation runs (1 s), the utterance closes with the same cut.
    submitter.submit(job(1, &sb.path().join("utt-000001.wav"), 2.0));
    assert_eq!(first_done(&mut rx).await, (UtteranceId(1), "spec".into()));
    // Another cut of the next utterance is decoded as usual.
    submitter.speculate(job(2, &sb.path().join("speculative.wav"), 1.0));
    submitter.submit(job(2, &sb.path().join("utt-000002.wav"), 1.5));
    assert_eq!(first_done(&mut rx).await, (UtteranceId(2), "final".into()));
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
    let lines = std::fs::read_to_string(&log).unwrap();
    let first: Vec<&str> = lines.lines().filter(|l| l.contains("\"id\":1,")).collect();
    assert_eq!(first.len(), 1, "utterance 1 decoded once: {lines}");
    assert!(first[0].contains("\"speculative\":true"), "{lines}");
}

#[tokio::test]
async fn a_cancelled_speculation_is_cut_short_and_never_taken() {
    let sb = Sandbox::new();
    let log = sb.path().join("requests");
    let (pool, submitter, mut rx) = speculating_pool(&sb, &log, 20).await;
    // The speaker went on: void. The utterance then closes (same span, as it happens when
    // the speech after it is a new word that moved no cut but broke the silence).
    let began = std::time::Instant::now();
    submitter.cancel_speculation(UtteranceId(1));
    submitter.submit(job(1, &sb.path().join("utt-000001.wav"), 2.0));
    assert_eq!(first_done(&mut rx).await, (UtteranceId(1), "final".into()));
    assert!(
        began.elapsed() < Duration::from_secs(15),
        "the final waited for the void speculation"
    );
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_pool_says_it_is_ready_once_a_worker_has_loaded_before_any_job() {
    let sb = Sandbox::new();
    let spec = script(
        sb.path(),
        "idle.sh",
        &format!("{HELLO}\nwhile read -r line; do :; done"),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (pool, submitter) = Pool::start(fast_config(spec), tx);
    let events = collect(&mut rx, |e, _| {
        matches!(e, PoolEvent::Status { ready: true, .. })
    })
    .await;
    assert!(
        matches!(
            events.last(),
            Some(PoolEvent::Status {
                busy: 0,
                ready: true,
                ..
            })
        ),
        "{events:?}"
    );
    drop(submitter);
    pool.join(Duration::from_secs(5)).await;
}
