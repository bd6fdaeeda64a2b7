//! `recorder config`: the config as a file a user can start from, every key there (the
//! unset optional ones commented out) with one line on what it does.

use super::Config;

/// One line per key, `section.key` for the tables; a table's own line under its name.
const COMMENTS: &[(&str, &str)] = &[
    (
        "model",
        "model name (tiny.en, base, …; `recorder models list`) or a ggml file's path",
    ),
    ("workers", "worker processes; each loads the model once"),
    ("threads", "whisper threads per worker"),
    (
        "language",
        "spoken language: en, de, … or auto (English-only models: en)",
    ),
    (
        "device",
        "input device, as `recorder devices` names it (default: the system's)",
    ),
    (
        "models_dir",
        "extra folder searched first for models and ONNX Runtime",
    ),
    (
        "sessions_dir",
        "where recordings are kept (default: the data dir's sessions/)",
    ),
    (
        "max_attempts",
        "tries per utterance before it is marked failed",
    ),
    (
        "translate",
        "translate speech to English (multilingual models)",
    ),
    (
        "vocabulary",
        "names and jargon whisper should spell right, e.g. [\"Kubernetes\"]",
    ),
    (
        "context_chars",
        "characters of the text before an utterance in its prompt (0: none)",
    ),
    (
        "settle_pause_s",
        "after this much silence, recent utterances are decoded again as one (0: off)",
    ),
    (
        "speculative_finals",
        "start the final pass as soon as the end of speech is known",
    ),
    ("start_idle", "open the TUI stopped (as --idle)"),
    (
        "copy_on_stop",
        "copy a recording's text to the clipboard when it stops and all is in",
    ),
    ("interim", "live text while you speak"),
    ("interim_every_ms", "how often live text is redone (ms)"),
    (
        "segmenter",
        "how speech is cut into utterances (Silero VAD probabilities 0-1)",
    ),
    (
        "segmenter.start_threshold",
        "a chunk above this starts speech",
    ),
    (
        "segmenter.end_threshold",
        "speech goes on while chunks stay above this",
    ),
    (
        "segmenter.weak_threshold",
        "soft sounds above this extend the end (word tails)",
    ),
    (
        "segmenter.pre_roll_ms",
        "audio kept before the speech starts",
    ),
    (
        "segmenter.end_silence_ms",
        "the silence that ends an utterance",
    ),
    ("segmenter.post_roll_ms", "audio kept after the speech ends"),
    (
        "segmenter.min_speech_ms",
        "shorter voiced runs are checked for evidence, not kept at once",
    ),
    (
        "segmenter.min_evidence_ms",
        "speech needed over the window for a short run to count",
    ),
    (
        "segmenter.max_utterance_s",
        "longer utterances are split at the quietest point",
    ),
    (
        "segmenter.split_window_s",
        "where to look for that point, before the limit",
    ),
    (
        "segmenter.split_overlap_ms",
        "audio shared by the two parts of a split",
    ),
    (
        "segmenter.smart_endpoint",
        "wait longer when the text so far ends mid-phrase",
    ),
    (
        "segmenter.sentence_end_ms",
        "a shorter end silence after a finished sentence (0: off)",
    ),
    (
        "keys",
        "TUI keys: each action takes a list, e.g. record = [\"r\", \"F5\"]",
    ),
    (
        "tuning",
        "worker speed and guard settings (for measurement; defaults are measured)",
    ),
    (
        "tuning.guards",
        "which hallucination guards run: default, all, none, or names, -name",
    ),
    (
        "tuning.audio_ctx",
        "encoder window: auto (sized to the utterance), full, or MARGIN[,FLOOR]",
    ),
    ("tuning.flash_attn", "whisper.cpp's flash attention"),
    (
        "tuning.adaptive_threads",
        "fewer whisper threads while another process keeps a core busy",
    ),
    (
        "tuning.recheck",
        "full-window re-check of unsure passes: empty (default), off, or a log-prob",
    ),
    (
        "tuning.memory_mb",
        "worker memory cap in MiB (0: 4 GiB plus 3x the model)",
    ),
    (
        "prose",
        "paragraphs and spoken commands in the transcript and exports",
    ),
    (
        "prose.paragraph_pause_s",
        "a pause this long (s) starts a new paragraph",
    ),
    ("prose.new_paragraph", "\"new paragraph\" alone starts one"),
    ("prose.new_line", "\"new line\" alone breaks the line"),
    (
        "prose.scratch_that",
        "\"scratch that\" alone takes back the utterance before it",
    ),
];

/// What an unset optional key would look like, for its commented-out line.
const UNSET: &[(&str, &str)] = &[
    ("language", "\"en\""),
    ("device", "\"default\""),
    ("models_dir", "\"/path/to/models\""),
    ("sessions_dir", "\"/path/to/sessions\""),
];

fn comment(key: &str) -> Option<&'static str> {
    COMMENTS.iter().find(|(k, _)| *k == key).map(|(_, c)| *c)
}

impl Config {
    /// A config file with every key of this config and a comment on each.
    pub fn example_of(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        let mut out = String::from(
            "# recorder config (~/.config/recorder/config.toml, or --config FILE): every key is\n\
             # optional and the command line overrides it.\n",
        );
        let mut table = String::new();
        let mut top_done = false;
        for line in body.lines() {
            let line = super::short_float(line);
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                if !top_done {
                    out.push_str(&self.unset_lines());
                    top_done = true;
                }
                table = name.to_string();
                if let Some(c) = comment(name) {
                    out.push_str(&format!("# {c}\n"));
                }
            } else if let Some((key, _)) = line.split_once(" = ") {
                let full = match table.as_str() {
                    "" => key.to_string(),
                    t => format!("{t}.{key}"),
                };
                if let Some(c) = comment(&full) {
                    out.push_str(&format!("# {c}\n"));
                }
            }
            out.push_str(&line);
            out.push('\n');
        }
        if !top_done {
            out.push_str(&self.unset_lines());
        }
        out
    }

    /// The optional keys this config leaves unset, commented out (toml has no null).
    fn unset_lines(&self) -> String {
        let set = |key: &str| match key {
            "language" => self.language.is_some(),
            "device" => self.device.is_some(),
            "models_dir" => self.models_dir.is_some(),
            _ => self.sessions_dir.is_some(),
        };
        let mut out = String::new();
        for (key, value) in UNSET.iter().filter(|(k, _)| !set(k)) {
            out.push_str(&format!(
                "# {}\n# {key} = {value}\n",
                comment(key).unwrap_or("")
            ));
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_there_with_a_comment() {
        let text = Config::default().example_of();
        let lines: Vec<&str> = text.lines().collect();
        let mut in_keys = false;
        for (i, line) in lines.iter().enumerate() {
            let table = line.starts_with('[');
            if table {
                in_keys = *line == "[keys]";
            }
            // The key bindings share their table's comment (an action: a list of keys).
            let keyed = line.contains(" = ") && !line.starts_with('#') && !in_keys;
            if keyed || table {
                assert!(
                    i > 0 && lines[i - 1].starts_with("# "),
                    "no comment above {line:?}:\n{text}"
                );
            }
        }
        for (key, _) in UNSET {
            assert!(
                text.contains(&format!("\n# {key} = ")),
                "{key} missing:\n{text}"
            );
        }
        for (key, _) in COMMENTS {
            let short = key.rsplit('.').next().unwrap();
            assert!(
                text.contains(&format!("{short} = ")) || text.contains(&format!("[{key}]")),
                "the comment table names {key}, which the config does not have"
            );
        }
    }

    #[test]
    fn a_loaded_config_shows_its_own_values() {
        let cfg = Config::parse("language = \"de\"\nworkers = 2\n").unwrap();
        let text = cfg.example_of();
        assert!(text.contains("\nlanguage = \"de\"\n"), "{text}");
        assert!(text.contains("\nworkers = 2\n"), "{text}");
        assert!(text.contains("\n# device = "), "{text}");
        assert_eq!(Config::parse(&text).unwrap(), cfg);
    }
}
