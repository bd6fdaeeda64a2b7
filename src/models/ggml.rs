//! Converts a CTranslate2 Whisper model (faster-whisper's format) into a whisper.cpp ggml file.
//!
//! Many Whisper fine-tunes and redistributions only exist as CT2 directories; whisper.cpp only
//! loads its own legacy ggml layout. The two hold the same weights under different names, with
//! three structural differences this module undoes:
//! - CT2 fuses self-attention q|k|v (and cross-attention k|v) into one matrix and bias: split.
//! - CT2 stores a zero key bias inside the fused bias; whisper.cpp has no key bias: drop it.
//! - CT2 has no mel filterbank; whisper.cpp reads it from the file: compute it ([`super::mel`]).
//!
//! Output layout (little-endian): `u32` magic, 11 `i32` hparams, the mel filters (`i32 n_mel`,
//! `i32 n_fft`, `f32` data), the vocabulary (`i32` count, then `u32` length + bytes each), then
//! every tensor as `i32 n_dims, i32 name_len, i32 ggml type, i32 dims innermost first, name,
//! data`. whisper.cpp rejects a file with a missing, extra or mis-shaped tensor, so the plan is
//! checked against the full list of expected tensors before anything is written.

mod names;
#[cfg(test)]
mod tests;
mod writer;

use std::io;
use std::path::{Path, PathBuf};

use super::ct2::{self, Ct2Error, Ct2Model, DataType, Variable};
pub use names::ggml_names;
use names::{expected_tensors, split_layer};
use writer::GgmlFile;
pub use writer::{GgmlType, WeightFormat, dequantize_q8_0, quantize_q8_0};

/// `"ggml"` read as a little-endian u32: whisper.cpp's legacy model magic.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// Vocabularies this large belong to multilingual models (whisper.cpp's own test).
pub const MULTILINGUAL_MIN_VOCAB: i32 = 51_865;
const END_OF_TEXT: &str = "<|endoftext|>";

/// Why an import failed; every message names the file or directory at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Ct2(#[from] Ct2Error),
    #[error(
        "{path}: variable {name} is {dtype}: quantized CT2 models are not supported; \
         export with --quantization float16"
    )]
    Quantized {
        path: PathBuf,
        name: String,
        dtype: DataType,
    },
    #[error(
        "{path}: unexpected variable {name} {shape:?} ({dtype}); not a Whisper model layout this importer knows"
    )]
    UnknownVariable {
        path: PathBuf,
        name: String,
        shape: Vec<usize>,
        dtype: DataType,
    },
    #[error("{path}: {detail}")]
    BadLayout { path: PathBuf, detail: String },
    #[error("{path}: vocabulary has no {END_OF_TEXT} token")]
    NoEndOfText { path: PathBuf },
    #[error(
        "{path}: {END_OF_TEXT} is token {found}, but whisper.cpp expects {expected} for a {n_vocab}-token model"
    )]
    EndOfTextMismatch {
        path: PathBuf,
        found: usize,
        expected: usize,
        n_vocab: i32,
    },
    #[error("{path}: vocabulary token {index} {token:?} is not GPT-2 byte-level text")]
    BadToken {
        path: PathBuf,
        index: usize,
        token: String,
    },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub n_tensors: usize,
    /// Size of the written ggml file.
    pub bytes: u64,
    pub multilingual: bool,
    /// Rows of the token embedding (special tokens included).
    pub n_vocab: i32,
    /// Vocabulary entries written to the file (those before `<|endoftext|>`).
    pub n_text_tokens: usize,
    pub n_audio_layer: i32,
    pub n_text_layer: i32,
    /// All hyper-parameters written to the file (state width, heads, mels, ...).
    pub hparams: Hparams,
}

/// Converts the CT2 model in `model_dir` into a whisper.cpp ggml file at `out` (f16 weights;
/// [`import_ct2_as`] writes q8_0).
///
/// The file is written next to `out` under a temporary name and renamed into place, so `out`
/// is either the complete new model or untouched.
pub fn import_ct2(model_dir: &Path, out: &Path) -> Result<ImportReport, ConvertError> {
    import_ct2_as(model_dir, out, WeightFormat::F16)
}

/// [`import_ct2`] with a choice of matrix storage format.
pub fn import_ct2_as(
    model_dir: &Path,
    out: &Path,
    format: WeightFormat,
) -> Result<ImportReport, ConvertError> {
    let model = Ct2Model::open(&model_dir.join("model.bin"))?;
    let sources = plan_sources(&model)?;
    let hparams = Hparams::derive(&model, format)?;
    check_layout(&model, &sources, &hparams)?;
    if let Some(misfit) = writer::misfit_row(format, &sources) {
        return Err(layout_error(
            &model,
            format!("{misfit}, not a multiple of 32: cannot store it as {format:?}"),
        ));
    }
    let tokens = text_tokens(model_dir, &hparams)?;
    let file = GgmlFile {
        hparams,
        tokens: &tokens,
        format,
    };
    let n_tensors = file.write_atomically(out, &model, &sources)?;
    let bytes = std::fs::metadata(out)
        .map_err(|source| ConvertError::Write {
            path: out.to_owned(),
            source,
        })?
        .len();
    Ok(ImportReport {
        n_tensors,
        bytes,
        multilingual: hparams.is_multilingual(),
        n_vocab: hparams.n_vocab,
        n_text_tokens: tokens.len(),
        n_audio_layer: hparams.n_audio_layer,
        n_text_layer: hparams.n_text_layer,
        hparams,
    })
}

/// A CT2 variable and the ggml tensors it is split into.
struct Source<'a> {
    var: &'a Variable,
    parts: Vec<Option<String>>,
}

/// Decides what becomes of one variable: `Ok(None)` for attributes (scalars such as
/// `num_heads`, integer metadata such as alignment heads) and duplicates, else its parts.
fn classify<'a>(model: &Ct2Model, var: &'a Variable) -> Result<Option<Source<'a>>, ConvertError> {
    let quantized = || ConvertError::Quantized {
        path: model.path().to_owned(),
        name: var.name.clone(),
        dtype: var.dtype,
    };
    if var.name.ends_with("weight_scale") {
        return Err(quantized());
    }
    // The output projection is tied to the token embedding (CT2 normally stores it as an
    // alias, which is not a variable); whisper.cpp reuses the embedding too.
    if var.shape.is_empty() || var.name == "decoder/projection/weight" {
        return Ok(None);
    }
    match ggml_names(&var.name) {
        Some(_) if !var.dtype.is_float() => Err(quantized()),
        Some(parts) => Ok(Some(Source { var, parts })),
        None if !var.dtype.is_float() => Ok(None),
        None => Err(ConvertError::UnknownVariable {
            path: model.path().to_owned(),
            name: var.name.clone(),
            shape: var.shape.clone(),
            dtype: var.dtype,
        }),
    }
}

/// Classifies every variable. A quantised weight wins over any other error, because that is
/// the one the user can act on (re-export), wherever it sits in the file.
fn plan_sources(model: &Ct2Model) -> Result<Vec<Source<'_>>, ConvertError> {
    let mut sources = Vec::new();
    let mut first_error = None;
    for var in &model.variables {
        match classify(model, var) {
            Ok(Some(source)) => sources.push(source),
            Ok(None) => {}
            Err(e @ ConvertError::Quantized { .. }) => return Err(e),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(sources), Err)
}

/// whisper.cpp's hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl Hparams {
    /// Reads the hyper-parameters off tensor shapes (CT2's config.json does not carry them).
    fn derive(model: &Ct2Model, format: WeightFormat) -> Result<Self, ConvertError> {
        let dim = |name: &str, axis: usize| -> Result<i32, ConvertError> {
            let var = model
                .variable(name)
                .ok_or_else(|| layout_error(model, format!("missing variable {name}")))?;
            let size =
                var.shape.get(axis).copied().ok_or_else(|| {
                    layout_error(model, format!("{name} has shape {:?}", var.shape))
                })?;
            match i32::try_from(size) {
                Ok(0) => Err(layout_error(
                    model,
                    format!("{name} is empty ({:?})", var.shape),
                )),
                Ok(size) => Ok(size),
                Err(_) => Err(layout_error(model, format!("{name} is too large"))),
            }
        };
        let n_audio_state = dim("encoder/position_encodings/encodings", 1)?;
        let n_text_state = dim("decoder/embeddings/weight", 1)?;
        let heads = |side: &str, n_state: i32| {
            let attr = model
                .variable(&format!("{side}/num_heads"))
                .and_then(Variable::as_int);
            attr.and_then(|h| i32::try_from(h).ok())
                .unwrap_or(n_state / 64)
        };
        Ok(Self {
            n_vocab: dim("decoder/embeddings/weight", 0)?,
            n_audio_ctx: dim("encoder/position_encodings/encodings", 0)?,
            n_audio_state,
            n_audio_head: heads("encoder", n_audio_state),
            n_audio_layer: count_layers(model, "encoder"),
            n_text_ctx: dim("decoder/position_encodings/encodings", 0)?,
            n_text_state,
            n_text_head: heads("decoder", n_text_state),
            n_text_layer: count_layers(model, "decoder"),
            n_mels: dim("encoder/conv1/weight", 1)?,
            ftype: format.ftype(),
        })
    }

    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= MULTILINGUAL_MIN_VOCAB
    }

    fn fields(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }
}

fn layout_error(model: &Ct2Model, detail: String) -> ConvertError {
    ConvertError::BadLayout {
        path: model.path().to_owned(),
        detail,
    }
}

/// One more than the highest `<side>/layer_N/` index (gaps surface as missing tensors later).
fn count_layers(model: &Ct2Model, side: &str) -> i32 {
    let layer_of =
        |name: &str| split_layer(name.strip_prefix(side)?.strip_prefix('/')?).map(|(n, _)| n);
    let max = model
        .variables
        .iter()
        .filter_map(|v| layer_of(&v.name))
        .max();
    max.map_or(0, |n| n as i32 + 1)
}

/// Shape of each of `parts` equal pieces of `shape`, cut along the outermost dimension (rows);
/// `None` when the rows do not divide evenly.
fn part_shape(shape: &[usize], parts: usize) -> Option<Vec<usize>> {
    let (&outer, inner) = shape.split_first()?;
    (outer % parts == 0).then(|| {
        std::iter::once(outer / parts)
            .chain(inner.iter().copied())
            .collect()
    })
}

/// Checks the tensors we would write against what whisper.cpp expects, so a bad model fails
/// here with a precise message instead of at load time with a vague one (or an assert).
fn check_layout(model: &Ct2Model, sources: &[Source<'_>], h: &Hparams) -> Result<(), ConvertError> {
    let fail = |detail: String| Err(layout_error(model, detail));
    if h.n_audio_state != h.n_text_state {
        return fail(format!(
            "encoder width {} differs from decoder width {}",
            h.n_audio_state, h.n_text_state
        ));
    }
    let mut expected = expected_tensors(h);
    for src in sources {
        let (name, shape, parts) = (&src.var.name, &src.var.shape, src.parts.len());
        let Some(part) = part_shape(shape, parts) else {
            return fail(format!("{name} {shape:?} cannot be split in {parts}"));
        };
        for tensor in src.parts.iter().flatten() {
            match expected.remove(tensor) {
                Some(want) if want == part => {}
                Some(want) => {
                    return fail(format!(
                        "{tensor} (from {name}) is {part:?}, expected {want:?}"
                    ));
                }
                None => {
                    return fail(format!(
                        "{name} gives {tensor}, which whisper.cpp does not expect"
                    ));
                }
            }
        }
    }
    match expected.keys().next() {
        Some(missing) => fail(format!("nothing provides whisper.cpp's tensor {missing}")),
        None => Ok(()),
    }
}

/// The vocabulary entries to write, as raw bytes: those before `<|endoftext|>`. whisper.cpp
/// derives the special tokens' ids from `n_vocab` and adds them itself.
fn text_tokens(model_dir: &Path, h: &Hparams) -> Result<Vec<Vec<u8>>, ConvertError> {
    let tokens = ct2::read_vocabulary(model_dir)?;
    let path = model_dir.to_owned();
    let eot = tokens
        .iter()
        .position(|t| t == END_OF_TEXT)
        .ok_or_else(|| ConvertError::NoEndOfText { path: path.clone() })?;
    // whisper.cpp hard-codes eot at 50256 (English-only) or 50257 (multilingual); a real-sized
    // vocabulary that disagrees would transcribe garbage, so refuse it.
    let expected = 50_256 + usize::from(h.is_multilingual());
    if h.n_vocab as usize > expected && eot != expected {
        return Err(ConvertError::EndOfTextMismatch {
            path,
            found: eot,
            expected,
            n_vocab: h.n_vocab,
        });
    }
    tokens[..eot]
        .iter()
        .enumerate()
        .map(|(index, token)| {
            ct2::decode_byte_level(token).ok_or_else(|| ConvertError::BadToken {
                path: path.clone(),
                index,
                token: token.clone(),
            })
        })
        .collect()
}
