//! whisper.cpp through whisper-rs: one context and one state per worker, created once (creating
//! a state allocates the KV caches and compute buffers, ~30 ms and tens of MB for tiny.en).

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::path::Path;
use std::time::Instant;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::Segment;

pub struct Whisper {
    // Keeps the model alive for the state (the state also holds a reference).
    _ctx: WhisperContext,
    state: WhisperState,
    threads: usize,
    language: Option<String>,
    pub multilingual: bool,
}

/// The text of one utterance and where whisper spent its time.
#[derive(Debug, Clone)]
pub struct Output {
    pub text: String,
    pub segments: Vec<Segment>,
    pub no_speech_prob: f32,
    pub encode_ms: f64,
    pub decode_ms: f64,
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

impl Whisper {
    pub fn load(model: &Path, threads: usize, language: Option<String>) -> anyhow::Result<Self> {
        let path = model
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("model path '{}' is not UTF-8", model.display()))?;
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| anyhow::anyhow!("cannot load whisper model '{}': {e}", model.display()))?;
        let state = ctx
            .create_state()
            .map_err(|e| anyhow::anyhow!("cannot create whisper state: {e}"))?;
        let multilingual = ctx.is_multilingual();
        Ok(Whisper {
            _ctx: ctx,
            state,
            threads,
            language,
            multilingual,
        })
    }
}

fn params<'a>(threads: usize, language: &'a str, marks: &'a Marks) -> FullParams<'a, 'a> {
    let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    p.set_n_threads(threads as c_int);
    // Each utterance stands alone: carrying text over lets one hallucination seed the next.
    p.set_no_context(true);
    p.set_suppress_blank(true);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_special(false);
    p.set_print_timestamps(false);
    p.set_language(Some(language));
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
    pub fn transcribe(&mut self, samples: &[f32]) -> anyhow::Result<Output> {
        let marks = Marks::default();
        let started = Instant::now();
        // English-only models only know "en"; multilingual ones detect it unless told.
        let language = if self.multilingual {
            self.language.as_deref().unwrap_or("auto")
        } else {
            "en"
        };
        let params = params(self.threads, language, &marks);
        // whisper.cpp refuses input under 100 ms and is unreliable under ~1 s: pad with silence.
        let mut audio = samples.to_vec();
        if audio.len() < 17_600 {
            audio.resize(17_600, 0.0);
        }
        self.state
            .full(params, &audio)
            .map_err(|e| anyhow::anyhow!("whisper failed: {e}"))?;
        let done = Instant::now();
        let segments = self.collect_segments();
        let text = join_segments(&segments);
        let no_speech_prob = segments
            .iter()
            .map(|s| s.no_speech_prob)
            .fold(0.0, f32::max);
        let enc_start = marks.encoder_start.get().unwrap_or(started);
        let enc_end = marks.first_logits.get().unwrap_or(done);
        Ok(Output {
            text,
            segments,
            no_speech_prob,
            encode_ms: ms(enc_end.saturating_duration_since(enc_start)),
            decode_ms: ms(done.saturating_duration_since(enc_end)),
        })
    }

    fn collect_segments(&self) -> Vec<Segment> {
        let mut out = Vec::new();
        for i in 0..self.state.full_n_segments() {
            let Some(seg) = self.state.get_segment(i) else {
                continue;
            };
            let text = seg
                .to_str_lossy()
                .map(|t| t.trim().to_string())
                .unwrap_or_default();
            out.push(Segment {
                // whisper.cpp timestamps are in 10 ms units.
                start_s: seg.start_timestamp() as f64 / 100.0,
                end_s: seg.end_timestamp() as f64 / 100.0,
                text,
                no_speech_prob: seg.no_speech_probability(),
            });
        }
        out
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Joins segment texts with single spaces.
pub fn join_segments(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| s.text.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
