//! `--headless` and `transcribe`: the same engine, printing one line per finished utterance on
//! stdout (plain text, or JSON with `--json`, where the settle pass's texts follow as
//! `settled` lines), always in utterance order even when workers finish out of order.
//! `transcribe` in plain text prints each file's text once it is settled, a paragraph a line.
//! Diagnostics go to stderr.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::engine::{Drive, Engine, EngineEvent, Source};
use crate::inert;
use crate::protocol::{Timings, Transcript};
use crate::vocab::{Span, UtteranceId};

/// The result of one utterance, as printed.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Text(Transcript),
    Failed {
        id: UtteranceId,
        span: Span,
        reason: String,
        wav: PathBuf,
    },
}

impl Outcome {
    pub fn id(&self) -> UtteranceId {
        match self {
            Outcome::Text(t) => t.id,
            Outcome::Failed { id, .. } => *id,
        }
    }
}

/// Releases outcomes in id order: an outcome waits until every earlier queued utterance has one.
#[derive(Debug, Default)]
pub struct Reorder {
    queued: BTreeMap<UtteranceId, Span>,
    done: BTreeMap<UtteranceId, Outcome>,
}

impl Reorder {
    pub fn queued(&mut self, id: UtteranceId, span: Span) {
        self.queued.insert(id, span);
    }

    pub fn span(&self, id: UtteranceId) -> Span {
        self.queued.get(&id).copied().unwrap_or_default()
    }

    /// Records an outcome and returns those now ready, in order.
    pub fn finished(&mut self, outcome: Outcome) -> Vec<Outcome> {
        self.done.insert(outcome.id(), outcome);
        let mut ready = Vec::new();
        while let Some((&first, _)) = self.queued.first_key_value() {
            match self.done.remove(&first) {
                Some(o) => {
                    self.queued.remove(&first);
                    ready.push(o);
                }
                None => break,
            }
        }
        ready
    }

    /// Utterances queued whose outcome has not been released yet.
    pub fn outstanding(&self) -> usize {
        self.queued.len()
    }
}

#[derive(Serialize)]
struct JsonLine<'a> {
    /// "final" (the utterance's text) or "interim" (with `--interim`).
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    id: UtteranceId,
    start: f64,
    end: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_speech_prob: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings: Option<&'a Timings>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Formats one outcome for stdout; `None` when there is nothing to print (empty text in plain
/// mode). Failures in plain mode go to stderr instead (returned as `Err`).
pub fn format_outcome(
    o: &Outcome,
    json: bool,
    file: Option<&str>,
) -> Result<Option<String>, String> {
    match (o, json) {
        (Outcome::Text(t), false) => {
            Ok((!t.text.trim().is_empty()).then(|| t.text.trim().to_string()))
        }
        (
            Outcome::Failed {
                id, reason, wav, ..
            },
            false,
        ) => Err(format!(
            "utterance #{id} failed: {reason} (audio kept at {})",
            wav.display()
        )),
        (Outcome::Text(t), true) => Ok(Some(
            serde_json::to_string(&JsonLine {
                kind: "final",
                file,
                id: t.id,
                start: round3(t.span.start_s),
                end: round3(t.span.end_s),
                text: Some(t.text.trim()),
                error: None,
                no_speech_prob: Some(t.no_speech_prob),
                timings: Some(&t.timings),
            })
            .expect("serialisable"),
        )),
        (
            Outcome::Failed {
                id, span, reason, ..
            },
            true,
        ) => Ok(Some(
            serde_json::to_string(&JsonLine {
                kind: "final",
                file,
                id: *id,
                start: round3(span.start_s),
                end: round3(span.end_s),
                text: None,
                error: Some(reason),
                no_speech_prob: None,
                timings: None,
            })
            .expect("serialisable"),
        )),
    }
}

/// Prints outcomes; counts failures.
struct Printer {
    json: bool,
    file: Option<String>,
    failures: usize,
    /// Lines printed for this file (`transcribe --json` says so when a file has none).
    printed: usize,
    /// `transcribe` in plain text: the texts are held until the file is done (and its
    /// settle passes over), then printed as paragraphs.
    held: Option<Held>,
}

/// A file's texts as they stand, and how they join into paragraphs.
struct Held {
    prose: crate::prose::ProseConfig,
    texts: BTreeMap<UtteranceId, (Span, String)>,
}

impl Printer {
    fn print(&mut self, outcomes: Vec<Outcome>) {
        for o in outcomes {
            if let (Some(held), Outcome::Text(t)) = (&mut self.held, &o) {
                held.texts.insert(t.id, (t.span, t.text.clone()));
                continue;
            }
            match format_outcome(&o, self.json, self.file.as_deref()) {
                // Text from whisper, file names: never raw control characters.
                Ok(Some(line)) if self.json => {
                    crate::out::line(&inert::json_escaped(line));
                    self.printed += 1;
                }
                Ok(Some(line)) => {
                    crate::out::line(&inert::inert_line(&line));
                }
                Ok(None) => {}
                Err(msg) => eprintln!("recorder: {}", inert::inert_line(&msg)),
            }
            if matches!(o, Outcome::Failed { .. }) {
                self.failures += 1;
            }
        }
    }

    /// The settle pass's texts: they replace the held ones (`transcribe`), or go out as
    /// `settled` lines (`--json`); plain live text, already printed, stays as it was.
    fn settled(&mut self, texts: &[(UtteranceId, String)], worker_ms: f64) {
        if let Some(held) = &mut self.held {
            for (id, text) in texts {
                if let Some(t) = held.texts.get_mut(id) {
                    t.1 = text.clone();
                }
            }
        } else if self.json {
            for (id, text) in texts {
                let v = serde_json::json!({
                    "kind": "settled", "file": self.file, "id": id, "text": text.trim(),
                    "worker_ms": round3(worker_ms),
                });
                crate::outln!("{}", inert::json_escaped(v.to_string()));
            }
        }
    }

    /// `transcribe --json` for a file that gave no utterance at all: one line with empty
    /// text, so a script reading one answer per file gets one.
    fn no_speech_line(&self, end: &RunEnd) {
        let Some(file) = &self.file else { return };
        if !self.json || self.printed > 0 || end.source_error.is_some() || end.signal.is_some() {
            return;
        }
        let v = serde_json::json!({"kind": "final", "file": file, "text": "", "no_speech": true});
        crate::outln!("{}", inert::json_escaped(v.to_string()));
    }

    /// Prints the held texts as paragraphs (a paragraph a line, a blank line between).
    fn release(&mut self) {
        let Some(held) = self.held.as_mut() else {
            return;
        };
        let doc = crate::export::Doc {
            session: 1,
            input: String::new(),
            folder: String::new(),
            utterances: std::mem::take(&mut held.texts)
                .into_iter()
                .map(|(id, (span, text))| crate::export::Utterance {
                    id,
                    start: span.start_s,
                    end: span.end_s,
                    text,
                })
                .collect(),
            prose: held.prose.clone(),
        };
        let text = crate::export::render(&doc, crate::export::Format::Txt);
        let text: String = text
            .lines()
            .map(|line| format!("{}\n", inert::inert_line(line)))
            .collect();
        crate::out::text(&text);
    }
}

/// What ended a recording.
#[derive(Default)]
struct RunEnd {
    failures: usize,
    source_error: Option<String>,
    /// A signal stopped it (its number); the run exits 128 + that.
    signal: Option<i32>,
    /// Utterances left without text because a second signal (or the drain's bound) cut the
    /// wait short: their audio is on disk, `sessions resume` finishes them.
    abandoned: usize,
    session_dir: Option<PathBuf>,
}

/// What a run prints and what it has seen so far.
struct Output {
    reorder: Reorder,
    printer: Printer,
    end: RunEnd,
}

impl Output {
    /// Prints what `ev` completes (in utterance order) and notes how the run is going.
    fn on_event(&mut self, ev: EngineEvent) {
        match ev {
            EngineEvent::RecordingStarted { session_dir, .. } => {
                self.end.session_dir = Some(session_dir);
            }
            EngineEvent::Queued { utt, .. } => self.reorder.queued(utt.id, utt.span),
            EngineEvent::Transcribed { text, .. } => self
                .printer
                .print(self.reorder.finished(Outcome::Text(text))),
            EngineEvent::Failed {
                id, reason, wav, ..
            } => {
                let span = self.reorder.span(id);
                self.printer.print(self.reorder.finished(Outcome::Failed {
                    id,
                    span,
                    reason: reason.to_string(),
                    wav,
                }));
            }
            EngineEvent::Settled {
                texts: Ok(texts),
                worker_ms,
                ..
            } => self.printer.settled(&texts, worker_ms),
            EngineEvent::Notice(n) => eprintln!("recorder: {}", inert::inert_line(&n)),
            EngineEvent::Input { status, .. } => {
                eprintln!("recorder: {}", inert::inert_line(&status.to_string()))
            }
            EngineEvent::Interim {
                id,
                stable,
                tentative,
                ..
            } if self.printer.json => {
                let v = serde_json::json!({
                    "kind": "interim", "id": id, "stable": stable, "tentative": tentative,
                    "text": format!("{stable} {tentative}").trim(),
                });
                crate::outln!("{}", inert::json_escaped(v.to_string()));
            }
            EngineEvent::SourceError { reason, .. } => {
                eprintln!("recorder: {}", inert::inert_line(&reason));
                self.end.source_error = Some(reason);
            }
            _ => {}
        }
    }
}

/// After the first signal the pending utterances get this long to finish; then (or at a
/// second signal) the run exits and says how to resume. A hung worker once held
/// `--headless` for 75 s through repeated TERM/INT.
const DRAIN: Duration = Duration::from_secs(30);

/// Runs one recording to its end (end of input, device failure, or a signal), printing as
/// results arrive, and returns once every queued utterance has its outcome, or a second
/// signal or [`DRAIN`] after the first cut the wait short.
async fn record(
    engine: &mut Engine,
    events: &mut UnboundedReceiver<EngineEvent>,
    signals: &mut Signals,
    source: Source,
    json: bool,
    file: Option<String>,
    held: Option<crate::prose::ProseConfig>,
) -> anyhow::Result<RunEnd> {
    // Opening a device or file blocks (ALSA's open takes tens of ms): off the runtime's
    // other tasks.
    let rec = tokio::task::block_in_place(|| engine.start_recording(source))?;
    let mut out = Output {
        reorder: Reorder::default(),
        printer: Printer {
            json,
            file,
            failures: 0,
            printed: 0,
            held: held.map(|prose| Held {
                prose,
                texts: BTreeMap::new(),
            }),
        },
        end: RunEnd::default(),
    };
    let mut drive = Drive::recording(rec);
    let mut drain_until: Option<tokio::time::Instant> = None;
    loop {
        if drive.done() {
            break;
        }
        let ev = tokio::select! {
            ev = events.recv() => ev,
            sig = signals.recv() => {
                if out.end.signal.is_some() {
                    // The second: leave now; the audio is on disk.
                    out.end.abandoned = drive.outstanding();
                    break;
                }
                // The first: stop taking input; the open utterance is cut and transcribed
                // with the rest (without blocking this loop on the audio thread's flush).
                out.end.signal = Some(sig);
                engine.request_stop();
                drain_until = Some(tokio::time::Instant::now() + DRAIN);
                continue;
            }
            _ = sleep_until(drain_until) => {
                out.end.abandoned = drive.outstanding();
                break;
            }
        };
        let Some(ev) = ev else { break };
        drive.observe(engine, &ev);
        out.on_event(ev);
    }
    // What a signal cut short is printed as it stands.
    out.printer.release();
    out.printer.no_speech_line(&out.end);
    out.end.failures = out.printer.failures;
    Ok(out.end)
}

/// Waits until `t`, or forever when there is none.
async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Ctrl-C, SIGTERM and SIGHUP as one stream, registered once per run (a signal between two
/// files of a batch must not be lost).
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal's number.
    async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => libc::SIGTERM,
            _ = self.hup.recv() => libc::SIGHUP,
            _ = self.int.recv() => libc::SIGINT,
        }
    }
}

/// Ends the run after `end`: shuts the engine down (at once when the wait was cut short),
/// says how to finish what was left, and gives the exit code for a signal (128 + its
/// number), or `None` when no signal stopped it. `kept`: the session stays on disk (a file
/// run that is not `--keep` has nothing to resume: its input is there to run again).
async fn finish_after_signal(engine: Engine, end: &RunEnd, kept: bool) -> Option<i32> {
    let sig = end.signal?;
    let wait = if end.abandoned > 0 {
        Duration::ZERO
    } else {
        Duration::from_secs(10)
    };
    engine.shutdown(wait).await;
    if end.abandoned > 0 && !kept {
        eprintln!(
            "recorder: interrupted; {} not transcribed; run it again (with --keep to keep a run that can be resumed)",
            match end.abandoned {
                1 => "1 utterance".to_string(),
                n => format!("{n} utterances"),
            }
        );
    } else if end.abandoned > 0 {
        let id = end
            .session_dir
            .as_deref()
            .map_or_else(|| "last".into(), crate::session::id_of);
        eprintln!(
            "recorder: interrupted; {} not transcribed yet (the audio is kept): `recorder sessions resume {}`",
            match end.abandoned {
                1 => "1 utterance".to_string(),
                n => format!("{n} utterances"),
            },
            inert::inert_line(&id)
        );
    }
    Some(128 + sig)
}

/// `recorder --headless`: returns the process exit code.
pub async fn run_live(
    mut engine: Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    source: Source,
    json: bool,
    kept: bool,
) -> anyhow::Result<i32> {
    let mut signals = Signals::new()?;
    let end = record(
        &mut engine,
        &mut events,
        &mut signals,
        source,
        json,
        None,
        None,
    )
    .await?;
    if end.signal.is_some() {
        return Ok(finish_after_signal(engine, &end, kept).await.unwrap_or(1));
    }
    engine.shutdown(Duration::from_secs(10)).await;
    Ok(if end.failures > 0 || end.source_error.is_some() {
        1
    } else {
        0
    })
}

/// `recorder transcribe FILE...`: each file through the same engine, one after another. A
/// signal ends the batch (the files after it are not started) with 128 + its number.
pub async fn run_files(
    mut engine: Engine,
    mut events: UnboundedReceiver<EngineEvent>,
    files: Vec<PathBuf>,
    json: bool,
    prose: &crate::prose::ProseConfig,
    kept: bool,
) -> anyhow::Result<i32> {
    let mut signals = Signals::new()?;
    let mut failed = 0;
    let many = files.len() > 1;
    for f in files {
        let name = f.display().to_string();
        if many && !json {
            crate::outln!("# {}", inert::inert_line(&name));
        }
        let source = Source::File {
            path: f,
            realtime: false,
        };
        let file = json.then(|| name.clone());
        let held = (!json).then(|| prose.clone());
        match record(
            &mut engine,
            &mut events,
            &mut signals,
            source,
            json,
            file,
            held,
        )
        .await
        {
            Ok(end) if end.signal.is_some() => {
                return Ok(finish_after_signal(engine, &end, kept).await.unwrap_or(1));
            }
            Ok(end) => {
                if end.failures > 0 || end.source_error.is_some() {
                    failed += 1;
                }
            }
            Err(e) => {
                eprintln!("recorder: {}", crate::error_line(&e));
                failed += 1;
            }
        }
    }
    engine.shutdown(Duration::from_secs(10)).await;
    Ok(if failed > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests;
