//! Token times from an offline whisper pass (whisper.cpp's token timestamps), for the tools
//! that need to know when each word was spoken: `bench interim` (word ends) and
//! `eval --short` (cuts at word boundaries).

use std::path::Path;

/// One text token: its bytes as text and its start and end in seconds from the audio's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub piece: String,
    pub t0: f64,
    pub t1: f64,
}

/// The model loaded once for many passes.
pub struct WordTimer {
    ctx: whisper_rs::WhisperContext,
    threads: usize,
}

impl WordTimer {
    pub fn load(model: &Path, threads: usize) -> anyhow::Result<WordTimer> {
        // whisper.cpp's messages go to the log file, as the workers' do.
        whisper_rs::install_logging_hooks();
        let path = model
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("model path is not UTF-8"))?;
        let ctx = whisper_rs::WhisperContext::new_with_params(path, Default::default())
            .map_err(|e| anyhow::anyhow!("cannot load '{path}': {e}"))?;
        Ok(WordTimer { ctx, threads })
    }

    /// The text tokens whisper writes for `samples` (16 kHz mono), with their times.
    pub fn tokens(&self, samples: &[f32]) -> anyhow::Result<Vec<Token>> {
        use whisper_rs::{FullParams, SamplingStrategy};
        let mut audio = samples.to_vec();
        // As the workers do: whisper.cpp is unreliable under ~1 s.
        if audio.len() < 17_600 {
            audio.resize(17_600, 0.0);
        }
        let mut state = self
            .ctx
            .create_state()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_n_threads(self.threads as i32);
        p.set_no_context(true);
        p.set_suppress_blank(true);
        p.set_token_timestamps(true);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        if !self.ctx.is_multilingual() {
            p.set_language(Some("en"));
        }
        state
            .full(p, &audio)
            .map_err(|e| anyhow::anyhow!("whisper: {e}"))?;
        let eot = self.ctx.token_eot();
        let mut tokens = Vec::new();
        for i in 0..state.full_n_segments() {
            let Some(seg) = state.get_segment(i) else {
                continue;
            };
            for t in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(t) else {
                    continue;
                };
                if tok.token_id() >= eot {
                    continue;
                }
                let piece = String::from_utf8_lossy(tok.to_bytes().unwrap_or_default());
                let d = tok.token_data();
                // whisper.cpp times are in 10 ms units.
                tokens.push(Token {
                    piece: piece.into_owned(),
                    t0: d.t0 as f64 / 100.0,
                    t1: d.t1 as f64 / 100.0,
                });
            }
        }
        Ok(tokens)
    }
}
