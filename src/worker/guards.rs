//! Guards against text nobody said. The VAD keeps most non-speech away from whisper; these
//! catch what gets through (a door, a cough, music, a noisy room) before it reaches the
//! transcript: whisper writes sound tags ("[BLANK_AUDIO]", "(screams)"), stock phrases from
//! its subtitle training data ("Thank you.", "Subtitles by the Amara.org community") and, on
//! bad audio, the same words over and over.
//!
//! Each guard can be switched for measurement with `RECORDER_GUARDS` (or `tuning.guards`):
//! `default`, `all`, `none`, `-tags,-gate` (the default set without these) or `nst,tags`
//! (only these). The harness (`recorder eval`) reports the effect of each; the README has
//! the numbers.

use crate::protocol::Segment;

/// Which guards are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guards {
    /// whisper.cpp's `suppress_nst`: brackets, music notes and other non-speech tokens get
    /// zero probability, so sound tags cannot be written at all. Off by default: measured
    /// without the VAD, tiny.en then writes words instead of the tags it cannot write (car
    /// horn: "Beep,", thunder: "I'm not sure if I can."), which no later guard can tell from
    /// speech, while stripping the tags afterwards leaves nothing.
    pub nst: bool,
    /// Removes bracketed, parenthesised and starred text ("[Music]", "(screams)", "*laughs*").
    pub tags: bool,
    /// Drops an utterance that is only a stock phrase when the audio says nobody spoke.
    pub phrases: bool,
    /// Drops segments whisper itself considers silence (no-speech probability and average
    /// log-probability; whisper's own rule).
    pub gate: bool,
    /// Skips utterances with no frame clearly above their own noise floor (or near-silent).
    pub energy: bool,
    /// Re-decodes at higher temperature only when the output looks degenerate (whisper's
    /// rule: low entropy = repetition, or low log-probability while speech is likely).
    pub fallback: bool,
    /// Caps decoded tokens by audio length, so a loop cannot run to the 224-token limit.
    pub max_tokens: bool,
    /// Collapses a phrase repeated many times in a row to one copy.
    pub repeats: bool,
    /// Decodes again without the context a result that repeats it ([`echo`]).
    pub echo: bool,
}

const NAMES: [&str; 9] = [
    "nst",
    "tags",
    "phrases",
    "gate",
    "energy",
    "fallback",
    "max_tokens",
    "repeats",
    "echo",
];

impl Default for Guards {
    /// Every guard but `nst` (see there).
    fn default() -> Self {
        Guards {
            nst: false,
            ..Guards::all()
        }
    }
}

impl Guards {
    pub fn all() -> Guards {
        Guards {
            nst: true,
            tags: true,
            phrases: true,
            gate: true,
            energy: true,
            fallback: true,
            max_tokens: true,
            repeats: true,
            echo: true,
        }
    }

    pub fn none() -> Guards {
        let mut g = Guards::all();
        for name in NAMES {
            *g.flag(name).expect("known name") = false;
        }
        g
    }

    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "nst" => &mut self.nst,
            "tags" => &mut self.tags,
            "phrases" => &mut self.phrases,
            "gate" => &mut self.gate,
            "energy" => &mut self.energy,
            "fallback" => &mut self.fallback,
            "max_tokens" => &mut self.max_tokens,
            "repeats" => &mut self.repeats,
            "echo" => &mut self.echo,
            _ => return None,
        })
    }

    /// `""`/`default`; `all`; `none`; `-a,-b`: the default without these; `a,b`: only these.
    pub fn parse(spec: &str) -> Result<Guards, String> {
        let spec = spec.trim();
        match spec {
            "" | "default" => return Ok(Guards::default()),
            "all" => return Ok(Guards::all()),
            "none" => return Ok(Guards::none()),
            _ => {}
        }
        let items: Vec<&str> = spec.split(',').map(str::trim).collect();
        let negative = items.iter().all(|i| i.starts_with('-'));
        if !negative && items.iter().any(|i| i.starts_with('-')) {
            return Err(format!(
                "guards {spec:?}: either all names with '-' or none"
            ));
        }
        let mut g = if negative {
            Guards::default()
        } else {
            Guards::none()
        };
        for item in items {
            let name = item.trim_start_matches('-');
            let flag = g
                .flag(name)
                .ok_or_else(|| format!("unknown guard {name:?} (known: {})", NAMES.join(", ")))?;
            *flag = !negative;
        }
        Ok(g)
    }

    /// From the tuning's `guards` (`RECORDER_GUARDS`); a bad value is logged and the
    /// default set is used.
    pub fn from_spec(spec: &str) -> Guards {
        Guards::parse(spec).unwrap_or_else(|e| {
            tracing::warn!("tuning.guards: {e}; default guards");
            Guards::default()
        })
    }

    /// "default", "all", "none", or the names of those on.
    pub fn describe(&self) -> String {
        if *self == Guards::default() {
            return "default".into();
        }
        let mut g = *self;
        let on: Vec<&str> = NAMES
            .into_iter()
            .filter(|n| *g.flag(n).expect("known name"))
            .collect();
        match on.len() {
            0 => "none".into(),
            9 => "all".into(),
            _ => on.join(","),
        }
    }
}

/// Loudness of an utterance in 32 ms frames: `speech_db` is the 95th percentile frame level
/// (dBFS), `floor_db` the 10th percentile, which falls in the pre-roll, the trailing silence
/// and the gaps between words: the noise around this utterance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub speech_db: f32,
    pub floor_db: f32,
}

impl Level {
    pub fn snr_db(&self) -> f32 {
        self.speech_db - self.floor_db
    }
}

const FRAME: usize = 512;

/// Digital silence is -inf dB; clamp so differences stay finite.
const MIN_DB: f32 = -120.0;

pub fn level(samples: &[f32]) -> Level {
    let mut frames: Vec<f32> = samples
        .chunks(FRAME)
        .filter(|c| c.len() == FRAME || samples.len() < FRAME)
        .map(|c| {
            let ms = c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32;
            (10.0 * ms.log10()).max(MIN_DB)
        })
        .collect();
    if frames.is_empty() {
        return Level {
            speech_db: MIN_DB,
            floor_db: MIN_DB,
        };
    }
    frames.sort_by(f32::total_cmp);
    let at = |q: f32| frames[((frames.len() - 1) as f32 * q).round() as usize];
    Level {
        speech_db: at(0.95),
        floor_db: at(0.10),
    }
}

/// Below this the loudest frames are near-silence even for a quiet talker far from the
/// microphone (speech at -30 dB gain still peaks around -45 dBFS; see README).
pub const ABSOLUTE_FLOOR_DB: f32 = -70.0;

/// Speech rises well above the noise between words (19.6 dB or more on every eval
/// utterance); steady noise does not (generated white, pink, brown noise and hum: 0.5–5 dB,
/// the eval set's noise clips 2.1 and 5.1 dB).
pub const MIN_SNR_DB: f32 = 6.0;

/// Whether audio whose text came out empty gets a second, greedy look
/// (`Whisper::greedy_look`): it stands clear of its noise floor (speech-like energy), so an
/// empty result is more likely a decoding accident than nobody speaking.
pub fn worth_a_greedy_look(l: &Level) -> bool {
    !too_weak(l) && l.snr_db() >= PHRASE_WEAK_SNR_DB
}

/// The energy guard: nothing in this audio is loud enough, or stands out enough from its own
/// background, to be speech.
pub fn too_weak(l: &Level) -> bool {
    l.speech_db < ABSOLUTE_FLOOR_DB || l.snr_db() < MIN_SNR_DB
}

/// whisper's own silence rule (openai/whisper `transcribe`, whisper.cpp `whisper_full`): a
/// segment is silence when the no-speech token is likely and the text was not. Plus: text
/// with a mean log-probability under -2 (each token a 1-in-7 guess) is noise whatever the
/// no-speech token says: that is what is left after every fallback temperature failed (car
/// horn without VAD: "The magic has reopened again!" at -6.0, no-speech 0.53), while real
/// speech on the eval set stays above -0.7.
pub fn is_silence(seg: &Segment) -> bool {
    says_no_speech(seg) || is_garbage(seg)
}

/// whisper's no-speech half of [`is_silence`].
pub fn says_no_speech(seg: &Segment) -> bool {
    seg.no_speech_prob > 0.6 && seg.avg_logprob < -1.0
}

/// The log-probability half of [`is_silence`].
pub fn is_garbage(seg: &Segment) -> bool {
    seg.avg_logprob < -2.0
}

/// Whether whisper's no-speech judgement may drop text: only where the audio leaves room for
/// nobody having spoken, i.e. the VAD does not vouch for speech *and* the audio stands out
/// less than [`PHRASE_WEAK_SNR_DB`] from its own noise floor. Short real pieces ("been",
/// "made still", "leave my" cut from the eval clips) stand 20 dB and more out of their floor
/// and got no-speech 0.6-0.9 with unsure tokens: whisper's rule alone dropped 7 of 149 that
/// whisper writes. Text of clear audio that is improbable as a whole ([`is_garbage`]) still
/// goes: a car horn stands 21 dB out of its floor too.
pub fn no_speech_may_drop(vad_sure: bool, level: &Level) -> bool {
    !vad_sure && level.snr_db() < PHRASE_WEAK_SNR_DB
}

/// Removes sound tags: `[...]`, `(...)`, `*...*` and music notes. If nothing word-like is
/// left, the result is empty.
pub fn strip_sound_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut close: Option<char> = None;
    for c in text.chars() {
        if let Some(end) = close {
            if c == end {
                close = None;
            }
            continue;
        }
        match c {
            '[' => close = Some(']'),
            '(' => close = Some(')'),
            '*' => close = Some('*'),
            '♪' | '♫' | '♬' | '♩' => {}
            _ => out.push(c),
        }
    }
    if !out.chars().any(char::is_alphanumeric) {
        return String::new();
    }
    let words: Vec<&str> = out.split_whitespace().collect();
    words.join(" ")
}

/// Phrases whisper writes on silence and noise (from subtitle credits and video outros),
/// compared after lowercasing and dropping punctuation. Real speech can say them ("Thank
/// you."), so they are dropped only with weak audio or a likely no-speech (see [`filter`]).
const STOCK_PHRASES: &[&str] = &[
    "thank you",
    "thank you very much",
    "thanks",
    "thanks for watching",
    "thank you for watching",
    "thanks for listening",
    "thank you for listening",
    "thank you so much for watching",
    "please subscribe",
    "please subscribe to my channel",
    "like and subscribe",
    "subtitles by the amara org community",
    "subtitles by the amaraorg community",
    "transcription by castingwords",
    "see you next time",
    "see you in the next video",
    "bye",
    "bye bye",
    "goodbye",
    "you",
    "so",
    "oh",
    "okay",
    "the end",
    "i'm sorry",
    "whoo",
    "wow",
];

pub fn is_stock_phrase(text: &str) -> bool {
    let key: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
    !key.is_empty() && STOCK_PHRASES.contains(&key.as_str())
}

/// A stock phrase is dropped when whisper gives no-speech at least this likely (real speech
/// on the eval set: at most 0.16; whisper's own cut is 0.6) …
pub const PHRASE_NO_SPEECH: f32 = 0.3;
/// … or when the utterance stands out less than this from its noise floor.
pub const PHRASE_WEAK_SNR_DB: f32 = 15.0;

/// Collapses runs of the same 1–10 word phrase to one copy: a single word repeated 5+ times
/// in a row, or a longer phrase 3+ times (people say "no, no, no", not five of them; whisper's
/// loops repeat a phrase until the token limit).
pub fn collapse_repeats(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let key = |w: &str| -> String {
        w.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let keys: Vec<String> = words.iter().map(|w| key(w)).collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for n in 1..=10usize.min(words.len() - i) {
            let min_runs = if n == 1 { 5 } else { 3 };
            let unit = &keys[i..i + n];
            let mut runs = 1;
            while i + (runs + 1) * n <= words.len()
                && keys[i + runs * n..i + (runs + 1) * n] == *unit
            {
                runs += 1;
            }
            if runs >= min_runs {
                out.extend_from_slice(&words[i..i + n]);
                i += runs * n;
                continue 'outer;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    out.join(" ")
}

/// Token budget for `audio_s` seconds (the decoder's own limit is 224 per 30 s window): the
/// eval set peaks at 4.4 text tokens/s (LDC93S1), plus a few timestamp tokens per segment.
/// 12 per second plus 24 leaves room for any real speech, while a loop on a 2 s utterance
/// stops at 48 tokens instead of 224.
pub fn max_tokens(audio_s: f32) -> i32 {
    (24.0 + 12.0 * audio_s.max(0.0)).ceil() as i32
}

/// The text guards on one utterance's segments. `vad_sure`: the VAD heard at least
/// `min_speech_ms` of speech in it. Then whisper's no-speech probability alone never drops
/// text: on real short utterances it runs up to 0.53 ("and then", a dictation pause), while
/// the VAD and the energy guard are the evidence that somebody spoke.
pub fn filter(g: &Guards, segments: Vec<Segment>, level: &Level, vad_sure: bool) -> Vec<Segment> {
    let mut kept: Vec<Segment> = Vec::with_capacity(segments.len());
    for mut seg in segments {
        let silence =
            is_garbage(&seg) || (no_speech_may_drop(vad_sure, level) && says_no_speech(&seg));
        if g.gate && !vad_sure && silence {
            continue;
        }
        if g.tags {
            seg.text = strip_sound_tags(&seg.text);
        }
        if g.repeats {
            seg.text = collapse_repeats(&seg.text);
            // A loop across segments: the same text again and again.
            let same_run = kept.iter().rev().take_while(|k| k.text == seg.text).count();
            if same_run >= 2 {
                continue;
            }
        }
        if !seg.text.trim().is_empty() {
            kept.push(seg);
        }
    }
    if g.phrases {
        let text = Segment::join(&kept);
        let nsp = kept.iter().map(|s| s.no_speech_prob).fold(0.0, f32::max);
        let weak = (nsp >= PHRASE_NO_SPEECH && !vad_sure) || level.snr_db() < PHRASE_WEAK_SNR_DB;
        if weak && is_stock_phrase(&text) {
            kept.clear();
        }
    }
    kept
}

pub mod echo;
pub use echo::echoes;

#[cfg(test)]
mod tests;
