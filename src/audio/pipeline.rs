//! The audio thread: drains the source, converts to 16 kHz mono, runs the VAD on 512-sample
//! chunks, segments, writes each utterance to disk and only then reports it, and publishes
//! the input level 20 times a second.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::meter::LevelMeter;
use super::probe::Probe;
use super::resample::ToMono16k;
use super::segmenter::{SegEvent, Segmenter, SegmenterConfig};
use super::source::Source;
use super::source::{Input, Poll};
use super::vad::Vad;
use super::{CHUNK, Level, SAMPLE_RATE};
use crate::session::Entry;
use crate::store::Store;
use crate::vocab::{Span, UtteranceId, UtteranceRef};

mod snapshots;

/// Commands into the audio thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    Pause,
    Resume,
    Stop,
    /// Record from this microphone (`None`: the default) from now on, in the same session.
    Switch(Option<String>),
}

/// What the audio thread reports.
#[derive(Debug, Clone)]
pub enum AudioEvent {
    Level(Level),
    SpeechStarted {
        id: UtteranceId,
        start_s: f64,
    },
    /// The open candidate was not kept (journaled with its span; see the segmenter).
    SpeechDiscarded {
        id: UtteranceId,
    },
    /// The utterance's WAV is on disk and journaled.
    Utterance(UtteranceRef),
    Notice(String),
    /// The source failed; the thread ends after this (the open utterance was flushed first).
    Failed(String),
    /// The microphone went away (stream error, or no callbacks for 1 s): recording is on hold
    /// (the open utterance was closed and queued) until it is back.
    DeviceLost(String),
    /// The microphone is back; recording continues in the same session.
    DeviceBack(String),
    /// [`Control::Switch`] went through: recording continues from this input, same session.
    Switched(String),
    /// The open utterance's audio so far is at `wav` (overwritten by the next one), for an
    /// interim transcript.
    Interim {
        id: UtteranceId,
        span: Span,
        wav: PathBuf,
    },
    /// The open utterance's cut is fixed unless the speaker goes on: its audio is at
    /// `utt.wav` (scratch, overwritten by the next one), for a speculative final, whose text
    /// comes back through `tell` (the segmenter's endpointing).
    Speculate {
        utt: UtteranceRef,
        tell: Sender<crate::vocab::Speculated>,
    },
    /// The speaker went on: the last [`AudioEvent::Speculate`] for `id` is void.
    SpeculationVoid {
        id: UtteranceId,
    },
    /// The speaker has been silent for the settle pause since utterance `after` ended (or
    /// recording was paused): a good moment to re-decode the stretch before it (the engine's
    /// settle pass). Once per pause.
    Pause {
        after: UtteranceId,
    },
    /// The thread has ended (stop or end of input); always the last event.
    Stopped,
}

pub type VadFactory = Box<dyn FnOnce() -> anyhow::Result<Box<dyn Vad>> + Send>;

pub struct PipelineConfig {
    pub segmenter: SegmenterConfig,
    /// Where the session's audio, utterance WAVs and journal go.
    pub store: Store,
    /// Id of the first utterance.
    pub first_id: UtteranceId,
    /// Publish the open utterance's audio this often for interim transcripts (None: off).
    pub interim_every: Option<std::time::Duration>,
    /// Silence after an utterance that makes a [`AudioEvent::Pause`] (None: never).
    pub settle_pause: Option<std::time::Duration>,
    /// Offer each utterance's audio for a speculative final once the speaker has been quiet
    /// this many ms (live input only; None: off).
    pub speculate: Option<u32>,
    /// Timing hook for the benchmark (`None` in the product).
    pub probe: Option<Box<dyn Probe>>,
}

/// Starts the audio thread. Returns once the source is open (or with the reason it is not),
/// so "no microphone" is an error at start, not an event later.
pub fn spawn(
    source: Source,
    cfg: PipelineConfig,
    vad: VadFactory,
    mut emit: impl FnMut(AudioEvent) + Send + 'static,
) -> anyhow::Result<(JoinHandle<()>, Sender<Control>, String)> {
    let (ctl_tx, ctl_rx) = crossbeam_channel::unbounded();
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<anyhow::Result<String>>(1);
    let handle = std::thread::Builder::new()
        .name("audio".into())
        .spawn(move || {
            // The converter is made here, where a failure is the start's error: a
            // microphone's format is not validated like a file's, and an `expect` on it
            // later left the UI saying "recording" forever.
            let opened = open(&source).and_then(|input| {
                let (rate, channels) = input.format();
                let conv = ToMono16k::new(rate, channels)
                    .map_err(|e| anyhow::anyhow!("input '{}': {e}", input.name()))?;
                Ok((input, conv, vad()?))
            });
            let (input, conv, vad) = match opened {
                Ok(x) => x,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(input.name().to_string()));
            let device = match &source {
                Source::Device(d) => Some(d.clone()),
                Source::File { .. } => None,
            };
            let mut run = Run::new(input, conv, vad, cfg, device);
            run.main_loop(&ctl_rx, &mut emit);
            emit(AudioEvent::Stopped);
        })?;
    match ready_rx.recv() {
        Ok(Ok(name)) => Ok((handle, ctl_tx, name)),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => {
            let _ = handle.join();
            anyhow::bail!("the audio thread died while opening the input")
        }
    }
}

fn open(source: &Source) -> anyhow::Result<Input> {
    Ok(match source {
        Source::Device(name) => Input::mic(name.as_deref())?,
        Source::File { path, realtime } => Input::file(path, *realtime)?,
    })
}

struct Run {
    input: Input,
    vad: Box<dyn Vad>,
    conv: ToMono16k,
    seg: Segmenter,
    store: Store,
    /// `Some(name)` for a microphone (reopened by that name after a loss).
    device: Option<Option<String>>,
    raw: Vec<f32>,
    mono: Vec<f32>,
    events: Vec<SegEvent>,
    paused: bool,
    stop_requested: bool,
    store_error: Option<String>,
    interim_every: Option<std::time::Duration>,
    /// (utterance id, stream position) of the last interim snapshot.
    last_interim: Option<(UtteranceId, u64)>,
    speculate: Option<u32>,
    /// The last speculation offered (its cut in samples too), until its utterance closes.
    last_spec: Option<(UtteranceId, Span, usize)>,
    /// Speculative finals' texts, back from the pool.
    told: (
        Sender<crate::vocab::Speculated>,
        Receiver<crate::vocab::Speculated>,
    ),
    level: LevelMeter,
    reported_overruns: u64,
    /// Xruns of the current input already reported, and of earlier inputs of this session.
    reported_xruns: u64,
    xruns_before: u64,
    /// The settle pause in samples, and the last utterance cut with where it ended, until
    /// its pause has been reported.
    settle_pause: Option<u64>,
    last_cut: Option<(UtteranceId, u64)>,
    probe: Option<Box<dyn Probe>>,
}

impl Run {
    fn new(
        input: Input,
        conv: ToMono16k,
        vad: Box<dyn Vad>,
        cfg: PipelineConfig,
        device: Option<Option<String>>,
    ) -> Self {
        Run {
            input,
            vad,
            conv,
            seg: Segmenter::with_first_id(cfg.segmenter, cfg.first_id),
            store: cfg.store,
            device,
            raw: Vec::new(),
            mono: Vec::new(),
            events: Vec::new(),
            paused: false,
            stop_requested: false,
            store_error: None,
            interim_every: cfg.interim_every,
            last_interim: None,
            speculate: cfg.speculate,
            last_spec: None,
            told: crossbeam_channel::unbounded(),
            level: LevelMeter::default(),
            reported_overruns: 0,
            reported_xruns: 0,
            xruns_before: 0,
            settle_pause: cfg
                .settle_pause
                .map(|d| (d.as_secs_f64() * SAMPLE_RATE as f64) as u64),
            last_cut: None,
            probe: cfg.probe,
        }
    }

    fn main_loop(&mut self, ctl: &Receiver<Control>, emit: &mut dyn FnMut(AudioEvent)) {
        loop {
            // Waiting on the control channel is also the poll timer.
            let wait = self.input.poll_interval();
            let waited = Instant::now();
            let cmd = if wait.is_zero() {
                ctl.try_recv().ok()
            } else {
                match ctl.recv_timeout(wait) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some(Control::Stop),
                }
            };
            let woke = Instant::now();
            let late = match cmd {
                None => woke.duration_since(waited).saturating_sub(wait),
                Some(_) => Duration::ZERO,
            };
            match cmd {
                Some(Control::Stop) => return self.finish("stopped", emit),
                Some(c) => self.control(c, emit),
                None => {}
            }
            self.raw.clear();
            let result = match self.input.poll(&mut self.raw) {
                Poll::Data => self.process(emit),
                Poll::End => return self.finish("end of input", emit),
                Poll::Failed(reason) if self.device.is_some() => {
                    self.device_lost(reason, ctl, emit)
                }
                Poll::Failed(reason) => Err(reason),
            };
            if let Some(probe) = &mut self.probe {
                probe.poll(late, woke.elapsed(), &self.input);
            }
            if let Err(reason) = result {
                self.finish(&reason, emit);
                emit(AudioEvent::Failed(reason));
                return;
            }
            if self.stop_requested {
                return self.finish("stopped", emit);
            }
            self.report_overruns(emit);
        }
    }

    fn control(&mut self, c: Control, emit: &mut dyn FnMut(AudioEvent)) {
        let at_s = self.seg.position() as f64 / SAMPLE_RATE as f64;
        match c {
            Control::Pause if !self.paused => {
                self.close_open(emit);
                self.paused = true;
                let _ = self.store.note(Entry::Paused { at_s });
                if let Some((after, _)) = self.last_cut.take() {
                    emit(AudioEvent::Pause { after });
                }
            }
            Control::Resume if self.paused => {
                self.vad.reset();
                self.paused = false;
                let _ = self.store.note(Entry::Resumed { at_s });
            }
            Control::Stop => self.stop_requested = true,
            Control::Switch(name) => self.switch(name, emit),
            _ => {}
        }
    }

    /// Moves to another microphone without leaving the session: the old one's last audio is
    /// processed and the open utterance closed (as at a device loss), the new one opened (the
    /// old keeps running until then, so a device that will not open costs nothing), and the
    /// clock skips the time the opening took.
    fn switch(&mut self, name: Option<String>, emit: &mut dyn FnMut(AudioEvent)) {
        if self.device.is_none() {
            return emit(AudioEvent::Notice("a file input cannot be switched".into()));
        }
        let began = std::time::Instant::now();
        let input = match Input::mic(name.as_deref()) {
            Ok(input) => input,
            Err(e) => {
                let old = self.input.name().to_string();
                return emit(AudioEvent::Notice(format!(
                    "cannot switch input: {e:#}; still recording from {old}"
                )));
            }
        };
        let (rate, channels) = input.format();
        let Ok(conv) = ToMono16k::new(rate, channels) else {
            return emit(AudioEvent::Notice(format!(
                "cannot switch input: {} has an unusable format",
                input.name()
            )));
        };
        self.drain_tail(emit);
        self.close_open(emit);
        // While the old device is lost, `device_lost` skips the whole gap, opening included.
        if !matches!(self.input, Input::Lost) {
            self.seg
                .skip((began.elapsed().as_secs_f64() * SAMPLE_RATE as f64) as u64);
        }
        self.conv = conv;
        self.input = input;
        self.vad.reset();
        self.device = Some(name);
        self.reported_overruns = 0;
        self.xruns_before += self.reported_xruns;
        self.reported_xruns = 0;
        emit(AudioEvent::Switched(self.input.name().to_string()));
    }

    /// The microphone failed: close the open utterance, journal the loss, then try to reopen
    /// the same device every 500 ms until it is back or recording stops. The session clock
    /// runs on through the gap.
    fn device_lost(
        &mut self,
        reason: String,
        ctl: &Receiver<Control>,
        emit: &mut dyn FnMut(AudioEvent),
    ) -> Result<(), String> {
        self.input = Input::Lost;
        self.drain_tail(emit);
        self.close_open(emit);
        let lost_at = std::time::Instant::now();
        let at_s = self.seg.position() as f64 / SAMPLE_RATE as f64;
        let _ = self.store.note(Entry::DeviceLost {
            at_s,
            reason: reason.clone(),
        });
        emit(AudioEvent::DeviceLost(reason));
        let device = self.device.clone().flatten();
        loop {
            match ctl.recv_timeout(std::time::Duration::from_millis(500)) {
                Ok(c) => {
                    self.control(c, emit);
                    if !matches!(self.input, Input::Lost) {
                        // Another device was picked (`Control::Switch`) and opened: go on
                        // from it; the clock runs on through the gap as at a return.
                        let gap = lost_at.elapsed().as_secs_f64() * SAMPLE_RATE as f64;
                        self.seg.skip(gap as u64);
                        return Ok(());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => self.stop_requested = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.stop_requested {
                return Ok(());
            }
            if let Ok(input) = Input::mic(device.as_deref()) {
                let (rate, channels) = input.format();
                self.conv = ToMono16k::new(rate, channels).map_err(|e| e.to_string())?;
                self.input = input;
                self.xruns_before += self.reported_xruns;
                self.reported_xruns = 0;
                self.vad.reset();
                self.seg
                    .skip((lost_at.elapsed().as_secs_f64() * SAMPLE_RATE as f64) as u64);
                let at_s = self.seg.position() as f64 / SAMPLE_RATE as f64;
                let _ = self.store.note(Entry::DeviceBack { at_s });
                emit(AudioEvent::DeviceBack(self.input.name().to_string()));
                return Ok(());
            }
        }
    }

    fn process(&mut self, emit: &mut dyn FnMut(AudioEvent)) -> Result<(), String> {
        let mut mono = std::mem::take(&mut self.mono);
        let before = mono.len();
        self.conv.push(&self.raw, &mut mono);
        let mut failed = None;
        if self.paused {
            // Paused: the audio is neither kept nor transcribed, but the clock runs on.
            self.seg.skip((mono.len() - before) as u64);
            mono.truncate(before);
        } else if let Err(e) = self.store.audio(&mono[before..]) {
            // Disk full: session.wav stops here, but this audio still goes to the open
            // utterance (its own WAV, written when recording stops after this block);
            // returning at once dropped it (tests/disk_full.rs).
            failed = Some(e.to_string());
        }
        let mut used = 0;
        while mono.len() - used >= CHUNK {
            self.chunk(&mono[used..used + CHUNK], emit);
            used += CHUNK;
        }
        mono.drain(..used);
        self.mono = mono;
        self.deliver(emit, false);
        let store_error = self.store_error.take();
        failed.or(store_error).map_or(Ok(()), Err)
    }

    fn chunk(&mut self, chunk: &[f32], emit: &mut dyn FnMut(AudioEvent)) {
        // The VAD may hear a level-normalised copy ([`super::vad::silero`]); the utterance
        // keeps the original.
        let began = self.probe.is_some().then(Instant::now);
        self.hear_endings();
        let prob = self.vad.predict(chunk);
        let vad = began.map(|b| b.elapsed());
        self.seg.push(chunk, prob, &mut self.events);
        self.handle_events(emit);
        self.maybe_speculate(emit);
        self.maybe_interim(emit);
        self.maybe_pause(emit);
        if !self.input.is_fast() {
            let in_speech = self.seg.in_speech();
            for level in self.level.feed(chunk, prob, in_speech) {
                emit(AudioEvent::Level(level));
            }
        }
        if let (Some(probe), Some(began), Some(vad)) = (&mut self.probe, began, vad) {
            probe.chunk(vad, began.elapsed());
        }
    }

    /// Reports a pause once the silence after the last utterance reaches the settle pause
    /// (measured on the stream's clock, so a file fed faster than real time pauses where
    /// its speaker did).
    fn maybe_pause(&mut self, emit: &mut dyn FnMut(AudioEvent)) {
        let (Some(pause), Some((after, end))) = (self.settle_pause, self.last_cut) else {
            return;
        };
        if self.seg.open_audio().is_none() && self.seg.position() >= end + pause {
            self.last_cut = None;
            emit(AudioEvent::Pause { after });
        }
    }

    fn handle_events(&mut self, emit: &mut dyn FnMut(AudioEvent)) {
        for ev in std::mem::take(&mut self.events) {
            match ev {
                SegEvent::Start { id, start_sample } => emit(AudioEvent::SpeechStarted {
                    id,
                    start_s: start_sample as f64 / SAMPLE_RATE as f64,
                }),
                SegEvent::Discard {
                    id,
                    start_sample,
                    end_sample,
                    samples,
                } => {
                    let span = Span::of_samples(start_sample, (end_sample - start_sample) as usize);
                    tracing::debug!(?span, "no speech evidence: candidate discarded");
                    self.store.queue_discard(span, samples);
                    emit(AudioEvent::SpeechDiscarded { id });
                }
                SegEvent::Utterance(cut) => {
                    self.last_cut = Some((cut.id, cut.start_sample + cut.samples.len() as u64));
                    // The store's disk thread writes and fsyncs it; `deliver` reports it once
                    // durable (fsyncs here cost this thread 8-12 ms: src/store.rs).
                    let began = Instant::now();
                    let queued = self.store.queue_utterance(cut);
                    if let Some(probe) = &mut self.probe {
                        probe.store(began.elapsed());
                    }
                    if let Err(e) = queued {
                        self.store_error = Some(e.to_string());
                    }
                }
            }
        }
    }

    /// Reports the utterances the store made durable (waiting for all with `wait`): only now
    /// may their jobs be queued.
    fn deliver(&mut self, emit: &mut dyn FnMut(AudioEvent), wait: bool) {
        let stored = if wait {
            self.store.wait_stored()
        } else {
            self.store.poll_stored()
        };
        for r in stored {
            match r {
                Ok(utt) => emit(AudioEvent::Utterance(utt)),
                // Disk full or folder gone: stop recording (the caller sees the error after
                // this chunk); what is on disk stays intact.
                Err(e) => self.store_error = Some(e.to_string()),
            }
        }
    }

    fn close_open(&mut self, emit: &mut dyn FnMut(AudioEvent)) {
        self.seg.flush(&mut self.events);
        self.handle_events(emit);
        self.deliver(emit, true);
    }

    /// End of input, stop or failure: everything still buffered goes through (padded to a
    /// whole chunk), the open utterance is closed, and the session's files are finalised.
    fn finish(&mut self, reason: &str, emit: &mut dyn FnMut(AudioEvent)) {
        self.drain_tail(emit);
        self.close_open(emit);
        // Snapshots are scratch: they never outlive the session.
        for scratch in [snapshots::INTERIM_WAV, snapshots::SPECULATIVE_WAV] {
            let _ = std::fs::remove_file(self.store.journal.dir().join(scratch));
        }
        if let Err(e) = self.store.end(reason) {
            emit(AudioEvent::Notice(e.to_string()));
        }
    }

    fn drain_tail(&mut self, emit: &mut dyn FnMut(AudioEvent)) {
        if !self.paused {
            let mut tail = std::mem::take(&mut self.mono);
            self.conv.finish(&mut tail);
            if !tail.is_empty() {
                let pad = (CHUNK - tail.len() % CHUNK) % CHUNK;
                tail.extend(std::iter::repeat_n(0.0, pad));
                let _ = self.store.audio(&tail);
                for c in tail.chunks(CHUNK) {
                    self.chunk(c, emit);
                }
            }
        }
    }

    fn report_overruns(&mut self, emit: &mut dyn FnMut(AudioEvent)) {
        let xruns = self.input.xruns();
        if xruns > self.reported_xruns {
            // The device recovers by itself: the open utterance stays open and whole but
            // for the audio the device dropped.
            tracing::warn!(xruns, "input buffer overrun (xrun); recording continues");
            if self.reported_xruns == 0 {
                emit(AudioEvent::Notice(
                    "audio glitch: the input device dropped audio (xrun) while this machine was \
                     busy; recording continues"
                        .to_string(),
                ));
            }
            self.reported_xruns = xruns;
            self.level.xruns = self.xruns_before + xruns;
        }
        let (overruns, dropped) = self.input.overruns();
        if overruns > self.reported_overruns {
            self.reported_overruns = overruns;
            emit(AudioEvent::Notice(format!(
                "audio overrun: {dropped} samples dropped so far (the audio thread fell behind)"
            )));
        }
    }
}
