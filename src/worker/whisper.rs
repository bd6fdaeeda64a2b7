//! whisper.cpp through whisper-rs: one context and one state per worker, created once (creating
//! a state allocates the KV caches and compute buffers, ~30 ms and tens of MB for tiny.en).

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperState};

use super::guards::{self, Guards};
use crate::protocol::{DecodeOptions, Segment};
use crate::vocab::Hints;

pub struct Whisper {
    // Keeps the model alive for the state (the state also holds a reference).
    ctx: WhisperContext,
    state: WhisperState,
    threads: usize,
    options: DecodeOptions,
    guards: Guards,
    speed: super::speed::Speed,
    pub multilingual: bool,
    /// The next pass may be cut short: stop it when `interrupt` is raised.
    pub interruptible: bool,
    /// The next pass is a draft (interim or settle): no second looks (the greedy look at an
    /// empty text, the full-window re-check); a speculative final is not one.
    pub draft: bool,
    /// Raised (by the worker's signal handler) to cut an interim pass short.
    interrupt: &'static AtomicBool,
    /// The next pass is a settle pass: on the full window.
    pub full_window: bool,
    /// The next pass leaves a due full-window re-check to a settle pass (see
    /// `protocol::Request::Job::defer_recheck`).
    pub defer_recheck: bool,
    /// The last pass deferred its re-check.
    deferred: bool,
}

/// The text of one utterance and where whisper spent its time.
#[derive(Debug, Clone)]
pub struct Output {
    pub text: String,
    pub segments: Vec<Segment>,
    pub no_speech_prob: f32,
    pub encode_ms: f64,
    pub decode_ms: f64,
    /// The full-window re-check was due and left to a settle pass.
    pub unsure: bool,
}

/// Timestamps set from whisper.cpp's callbacks: the encoder starting, and the first logits
/// filter call (which happens right after the encoder finished).
#[derive(Default)]
struct Marks {
    encoder_start: Cell<Option<Instant>>,
    first_logits: Cell<Option<Instant>>,
}

unsafe extern "C" fn on_encoder_begin(
    _ctx: *mut whisper_rs_sys::whisper_context,
    _state: *mut whisper_rs_sys::whisper_state,
    user: *mut c_void,
) -> bool {
    // SAFETY: `user` is the `Marks` that outlives the `full` call (see `transcribe`).
    let marks = unsafe { &*(user as *const Marks) };
    if marks.encoder_start.get().is_none() {
        marks.encoder_start.set(Some(Instant::now()));
    }
    true
}

unsafe extern "C" fn on_logits(
    _ctx: *mut whisper_rs_sys::whisper_context,
    _state: *mut whisper_rs_sys::whisper_state,
    _tokens: *const whisper_rs_sys::whisper_token_data,
    _n_tokens: c_int,
    _logits: *mut f32,
    user: *mut c_void,
) {
    // SAFETY: as above.
    let marks = unsafe { &*(user as *const Marks) };
    if marks.first_logits.get().is_none() {
        marks.first_logits.set(Some(Instant::now()));
    }
}

/// A greedy second look keeps text this probable (mean log-prob per token) or better: real
/// short pieces of the eval set came out at -0.9 ("have been made in") and -1.27 ("to be",
/// two tokens), above whisper's fallback cut (-1) for one and under it for the other; the
/// garbage cut of the guards is -2.
const GREEDY_LOGPROB: f32 = -1.5;

impl Whisper {
    pub fn load(
        model: &Path,
        threads: usize,
        options: DecodeOptions,
        interrupt: &'static AtomicBool,
    ) -> anyhow::Result<Self> {
        let path = model
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("model path '{}' is not UTF-8", model.display()))?;
        let speed = super::speed::Speed::from_tuning(&options.tuning);
        let ctx = WhisperContext::new_with_params(path, speed.context_params())
            .map_err(|e| anyhow::anyhow!("cannot load whisper model '{}': {e}", model.display()))?;
        let state = ctx
            .create_state()
            .map_err(|e| anyhow::anyhow!("cannot create whisper state: {e}"))?;
        let multilingual = ctx.is_multilingual();
        let guards = Guards::from_spec(&options.tuning.guards);
        tracing::info!(guards = %guards.describe(), ?options, "decoding");
        Ok(Whisper {
            ctx,
            state,
            threads,
            options,
            guards,
            speed,
            multilingual,
            interruptible: false,
            draft: false,
            interrupt,
            full_window: false,
            defer_recheck: false,
            deferred: false,
        })
    }
}

/// whisper.cpp's abort callback: true once the flag `user_data` points at is raised. Our own
/// trampoline: whisper-rs 0.16's `set_abort_callback_safe` casts its boxed `dyn FnMut` back
/// to the closure's type, which works only for a closure that captures nothing (one that
/// captured the flag read garbage and aborted every interim pass), and it leaks two boxes per
/// call.
unsafe extern "C" fn abort_when_raised(user_data: *mut c_void) -> bool {
    // SAFETY: `user_data` is the `&'static AtomicBool` set with this callback.
    unsafe { (*user_data.cast::<AtomicBool>()).load(Ordering::SeqCst) }
}

/// Per-call settings that vary with the audio and the model.
struct Call<'a> {
    threads: usize,
    language: &'a str,
    translate: bool,
    prompt: Option<&'a str>,
    audio_s: f32,
    guards: Guards,
    /// The flag that stops an interim pass; `None` for a final pass.
    interrupt: Option<&'static AtomicBool>,
    /// whisper.cpp's own no-speech skip applies only where the audio leaves room for nobody
    /// having spoken ([`guards::no_speech_may_drop`]).
    no_speech_may_drop: bool,
    /// Word times are needed (an overlapped split keeps words by time).
    word_times: bool,
}

fn params<'a>(call: &Call<'a>, marks: &'a Marks) -> FullParams<'a, 'a> {
    let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    p.set_n_threads(call.threads as c_int);
    if let Some(flag) = call.interrupt {
        // SAFETY: the flag is 'static and the callback only reads it.
        unsafe {
            p.set_abort_callback(Some(abort_when_raised));
            p.set_abort_callback_user_data(std::ptr::from_ref(flag).cast_mut().cast::<c_void>());
        }
    }
    // whisper.cpp's own carry-over stays off: the only text carried from one utterance to the
    // next is the bounded context the parent sends, which the echo guard checks.
    p.set_no_context(true);
    p.set_suppress_blank(true);
    p.set_suppress_nst(call.guards.nst);
    // whisper's fallback rule, spelled out: re-decode at +0.2 temperature only if the text
    // repeats itself (entropy under 2.4) or is improbable (mean log-prob under -1) while
    // speech is likely (no-speech under 0.6). The same two thresholds mark a segment as
    // silence and drop it (the `gate` guard re-checks them per segment).
    p.set_temperature_inc(if call.guards.fallback { 0.2 } else { 0.0 });
    p.set_entropy_thold(2.4);
    p.set_logprob_thold(-1.0);
    p.set_no_speech_thold(if call.guards.gate && call.no_speech_may_drop {
        0.6
    } else {
        f32::INFINITY
    });
    p.set_token_timestamps(call.word_times);
    if call.guards.max_tokens {
        p.set_max_tokens(guards::max_tokens(call.audio_s));
    }
    if let Some(prompt) = call.prompt {
        p.set_initial_prompt(prompt);
    }
    p.set_translate(call.translate);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_special(false);
    p.set_print_timestamps(false);
    p.set_language(Some(call.language));
    // SAFETY: the callbacks only write to `marks`, which outlives the `full` call.
    unsafe {
        p.set_start_encoder_callback(Some(on_encoder_begin));
        p.set_start_encoder_callback_user_data(marks as *const Marks as *mut c_void);
        p.set_filter_logits_callback(Some(on_logits));
        p.set_filter_logits_callback_user_data(marks as *const Marks as *mut c_void);
    }
    p
}

impl Whisper {
    /// Decodes one utterance; `context` (the text said just before) goes into the prompt.
    pub fn transcribe(
        &mut self,
        samples: &[f32],
        hints: &Hints,
        context: Option<&str>,
    ) -> anyhow::Result<Output> {
        let level = guards::level(samples);
        if self.guards.energy && guards::too_weak(&level) {
            tracing::debug!(
                ?level,
                "energy guard: nothing stands out of the noise; skipped"
            );
            return Ok(Output::empty());
        }
        self.deferred = false;
        let marks = Marks::default();
        let started = Instant::now();
        // English-only models only know "en"; multilingual ones detect it unless told.
        let language = if self.multilingual {
            self.options
                .language
                .clone()
                .unwrap_or_else(|| "auto".into())
        } else {
            "en".to_string()
        };
        let prompt = self.options.prompt(context);
        let mut call = Call {
            threads: self.threads,
            language: &language,
            translate: self.options.translate && self.multilingual,
            prompt: prompt.as_deref(),
            audio_s: samples.len() as f32 / 16_000.0,
            guards: self.guards,
            interrupt: self.interruptible.then_some(self.interrupt),
            no_speech_may_drop: guards::no_speech_may_drop(hints.vad_sure, &level),
            word_times: hints.keep_from_s.is_some() || hints.keep_to_s.is_some(),
        };
        // whisper.cpp refuses input under 100 ms and is unreliable under ~1 s: pad with silence.
        let mut audio = samples.to_vec();
        if audio.len() < 17_600 {
            audio.resize(17_600, 0.0);
        }
        let (mut raw, mut segments) = self.guarded(&call, &marks, &audio, hints, &level)?;
        if let Some(context) = context
            && self.guards.echo
            && guards::echoes(context, &Segment::join(&segments))
        {
            tracing::debug!(
                context,
                ?segments,
                "echo of the context: decoded without it"
            );
            let plain = self.options.prompt(None);
            call.prompt = plain.as_deref();
            (raw, segments) = self.guarded(&call, &marks, &audio, hints, &level)?;
        }
        let done = Instant::now();
        let no_speech_prob = raw.iter().map(|s| s.no_speech_prob).fold(0.0, f32::max);
        let text = Segment::join(&segments);
        let enc_start = marks.encoder_start.get().unwrap_or(started);
        let enc_end = marks.first_logits.get().unwrap_or(done);
        Ok(Output {
            text,
            segments,
            no_speech_prob,
            encode_ms: ms(enc_end.saturating_duration_since(enc_start)),
            decode_ms: ms(done.saturating_duration_since(enc_end)),
            unsure: self.deferred,
        })
    }

    /// One decode with the guards applied: whisper's segments and those the guards keep
    /// (with a greedy look at a final pass that came out empty).
    fn guarded(
        &mut self,
        call: &Call<'_>,
        marks: &Marks,
        audio: &[f32],
        hints: &Hints,
        level: &guards::Level,
    ) -> anyhow::Result<(Vec<Segment>, Vec<Segment>)> {
        self.decode(call, marks, audio)?;
        let raw = self.collect_segments(hints);
        let segments = guards::filter(&self.guards, raw.clone(), level, hints.vad_sure);
        let look = segments.is_empty() && self.guards.fallback && !self.draft;
        if look
            && guards::worth_a_greedy_look(level)
            && let Some(greedy) = self.greedy_look(call, marks, audio, hints, level)?
        {
            return Ok(greedy);
        }
        Ok((raw, segments))
    }

    /// Runs whisper on `audio` with the encoder window sized to it (see `speed`). A shortened
    /// window costs a few words that the full one gets right; those show as an unsure
    /// token, so a final pass with one is decoded again on the full window (see
    /// `speed::RECHECK_BELOW`).
    fn decode(&mut self, call: &Call<'_>, marks: &Marks, audio: &[f32]) -> anyhow::Result<()> {
        let mut params = params(call, marks);
        super::speed::apply(&mut params, &self.speed, audio.len(), self.threads);
        if self.full_window {
            params.set_audio_ctx(0);
        }
        let shortened = self.speed.audio_ctx.positions(audio.len()) != 0 && !self.full_window;
        self.state
            .full(params, audio)
            .map_err(|e| anyhow::anyhow!("whisper failed: {e}"))?;
        let limit = (self.speed.recheck_below).filter(|_| shortened && !self.draft);
        let Some(limit) = limit else {
            return Ok(());
        };
        let weakest = self.weakest_token();
        tracing::debug!(weakest, "first pass");
        if weakest < limit && self.defer_recheck {
            // The text goes out now; a settle pass decodes it again on the full window.
            tracing::debug!(
                weakest,
                "unsure token on a shortened window: re-check deferred"
            );
            self.deferred = true;
        } else if weakest < limit {
            tracing::debug!(weakest, "unsure token on a shortened window: full window");
            self.full_window(call, marks, audio, true)?;
        }
        Ok(())
    }

    /// One decode on the full 30 s window (a second look: the re-check of a shortened
    /// window, the greedy look); `fallback` false turns whisper's temperature fallback off
    /// (greedy only), true leaves it as the guards set it.
    fn full_window(
        &mut self,
        call: &Call<'_>,
        marks: &Marks,
        audio: &[f32],
        fallback: bool,
    ) -> anyhow::Result<()> {
        let mut params = params(call, marks);
        if !fallback {
            params.set_temperature_inc(0.0);
        }
        params.set_audio_ctx(0);
        params.set_n_threads(self.speed.threads(self.threads) as c_int);
        self.state
            .full(params, audio)
            .map_err(|e| anyhow::anyhow!("whisper failed: {e}"))
    }

    /// A greedy decode (no temperature fallback) of audio whose guarded text came out empty:
    /// whisper.cpp's fallback can replace a good greedy text with a sound tag (the eval's
    /// piece "have been made": greedy on the full window "have been made in" at mean log-prob
    /// -0.91 and no-speech 0.19, after the fallback "[Singing]"). The greedy text is taken only
    /// when the guards keep it and whisper leans to it: every segment at or over
    /// [`GREEDY_LOGPROB`] and under whisper's no-speech cut (0.6). Returns the raw and the
    /// kept segments. Final passes only: an interim pass that came out empty is common at an
    /// utterance's start and is redone moments later anyway.
    fn greedy_look(
        &mut self,
        call: &Call<'_>,
        marks: &Marks,
        audio: &[f32],
        hints: &Hints,
        level: &guards::Level,
    ) -> anyhow::Result<Option<(Vec<Segment>, Vec<Segment>)>> {
        // On the full window, as the re-check of a shortened one does: the greedy text on
        // the shortened window was "[Singing]" (-1.66).
        self.full_window(call, marks, audio, false)?;
        let raw = self.collect_segments(hints);
        let sure = !raw.is_empty()
            && raw
                .iter()
                .all(|s| s.avg_logprob >= GREEDY_LOGPROB && s.no_speech_prob < 0.6);
        let kept = guards::filter(&self.guards, raw.clone(), level, hints.vad_sure);
        tracing::debug!(sure, raw = ?raw, "greedy look at an empty result");
        Ok((sure && !kept.is_empty()).then_some((raw, kept)))
    }

    /// The lowest probability (log) of any text token the last pass chose.
    fn weakest_token(&self) -> f32 {
        let eot = self.ctx.token_eot();
        (0..self.state.full_n_segments())
            .filter_map(|i| self.state.get_segment(i))
            .flat_map(|seg| {
                (0..seg.n_tokens())
                    .filter_map(|t| seg.get_token(t))
                    .filter(|t| t.token_id() < eot)
                    .map(|t| t.token_data().plog)
                    .collect::<Vec<_>>()
            })
            .fold(0.0, f32::min)
    }

    /// The last pass's segments; with a keep span (an overlapped split), only the words
    /// whose middle lies inside it.
    fn collect_segments(&self, hints: &Hints) -> Vec<Segment> {
        let eot = self.ctx.token_eot();
        let span = (hints.keep_from_s.is_some() || hints.keep_to_s.is_some()).then(|| {
            (
                hints.keep_from_s.unwrap_or(f64::NEG_INFINITY),
                hints.keep_to_s.unwrap_or(f64::INFINITY),
            )
        });
        let mut out = Vec::new();
        for i in 0..self.state.full_n_segments() {
            let Some(seg) = self.state.get_segment(i) else {
                continue;
            };
            let text = match span {
                Some(span) => words_within(&seg, eot, span),
                None => seg
                    .to_str_lossy()
                    .map(|t| t.trim().to_string())
                    .unwrap_or_default(),
            };
            // Text tokens only: timestamps and other special tokens come after end-of-text.
            let logprobs: Vec<f32> = (0..seg.n_tokens())
                .filter_map(|t| seg.get_token(t))
                .filter(|t| t.token_id() < eot)
                .map(|t| t.token_data().plog)
                .collect();
            let avg_logprob = if logprobs.is_empty() {
                0.0
            } else {
                logprobs.iter().sum::<f32>() / logprobs.len() as f32
            };
            out.push(Segment {
                // whisper.cpp timestamps are in 10 ms units.
                start_s: seg.start_timestamp() as f64 / 100.0,
                end_s: seg.end_timestamp() as f64 / 100.0,
                text,
                no_speech_prob: seg.no_speech_probability(),
                avg_logprob,
                tokens: logprobs.len() as u32,
            });
        }
        out
    }
}

/// The text of `seg`'s words whose middle (from whisper's token times) lies in
/// `[from, to)` seconds. A word is the run of tokens from one that starts with a space.
fn words_within(seg: &whisper_rs::WhisperSegment<'_>, eot: i32, (from, to): (f64, f64)) -> String {
    let mut words: Vec<(Vec<u8>, i64, i64)> = Vec::new();
    for t in 0..seg.n_tokens() {
        let Some(tok) = seg.get_token(t) else {
            continue;
        };
        if tok.token_id() >= eot {
            continue;
        }
        let bytes = tok.to_bytes().unwrap_or_default();
        let data = tok.token_data();
        match words.last_mut() {
            Some((text, _, end)) if !bytes.starts_with(b" ") => {
                text.extend_from_slice(bytes);
                *end = data.t1;
            }
            _ => words.push((bytes.to_vec(), data.t0, data.t1)),
        }
    }
    let kept: Vec<u8> = words
        .into_iter()
        // whisper.cpp times are in 10 ms units.
        .filter(|(_, t0, t1)| {
            let mid = (t0 + t1) as f64 / 200.0;
            mid >= from && mid < to
        })
        .flat_map(|(text, _, _)| text)
        .collect();
    String::from_utf8_lossy(&kept).trim().to_string()
}

impl Output {
    /// Nothing said (the energy guard skipped whisper).
    fn empty() -> Output {
        Output {
            text: String::new(),
            segments: Vec::new(),
            no_speech_prob: 1.0,
            encode_ms: 0.0,
            decode_ms: 0.0,
            unsure: false,
        }
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
