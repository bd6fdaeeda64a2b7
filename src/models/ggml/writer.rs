//! Serialises a planned conversion in whisper.cpp's legacy ggml layout, atomically.

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use half::{bf16, f16};

use super::{ConvertError, GGML_MAGIC, Hparams, Source, part_shape};
use crate::models::ct2::{Ct2Error, Ct2Model, DataType};
use crate::models::mel;

/// How the large 2-D weight matrices are stored; the other tensors' types are fixed by
/// whisper.cpp (f32 vectors and positional embeddings, f16 convolutions) whatever the ftype.
///
/// `Q8_0` is ggml's 8-bit block format (`GGML_FTYPE_MOSTLY_Q8_0`, tensor type 8): along each
/// row, blocks of 32 values stored as an f16 scale (absmax / 127) followed by 32 rounded i8,
/// as whisper.cpp's own `quantize` tool writes it. Rows must be a multiple of 32 long (every
/// Whisper size is). About half the size of f16, and faster on CPUs (see README "Speed").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightFormat {
    #[default]
    F16,
    Q8_0,
}

impl WeightFormat {
    /// The `ftype` hparam whisper.cpp reads to learn the matrix type.
    pub fn ftype(self) -> i32 {
        match self {
            Self::F16 => 1,
            // GGML_FTYPE_MOSTLY_Q8_0 plus the quantisation version (2) times 1000, as
            // whisper.cpp's `quantize` writes it; the loader takes `ftype % 1000`.
            Self::Q8_0 => GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + 7,
        }
    }

    fn matrix_type(self) -> GgmlType {
        match self {
            Self::F16 => GgmlType::F16,
            Self::Q8_0 => GgmlType::Q8_0,
        }
    }

    /// Parses a `--quantize` value: `f16` (no quantisation) or `q8_0`.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.to_ascii_lowercase().as_str() {
            "f16" | "none" => Ok(Self::F16),
            "q8_0" | "q8" => Ok(Self::Q8_0),
            other => Err(format!(
                "unknown weight format {other:?} (known: f16, q8_0)"
            )),
        }
    }

    /// Row lengths this format can store (block formats need whole blocks).
    pub(super) fn fits_row(self, row_len: usize) -> bool {
        row_len.is_multiple_of(self.matrix_type().block_len())
    }
}

/// ggml's quantisation version (`GGML_QNT_VERSION`) and the factor it is stored with in ftype.
const GGML_QNT_VERSION: i32 = 2;
const GGML_QNT_VERSION_FACTOR: i32 = 1000;

/// Values per q8_0 block (`QK8_0`).
pub const Q8_0_BLOCK: usize = 32;
/// Bytes per q8_0 block: an f16 scale and 32 i8.
pub const Q8_0_BLOCK_BYTES: usize = 2 + Q8_0_BLOCK;

/// ggml tensor element types this writer emits, with their on-disk ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

impl GgmlType {
    /// Values per block (1 for plain float types).
    pub fn block_len(self) -> usize {
        match self {
            Self::F32 | Self::F16 => 1,
            Self::Q8_0 => Q8_0_BLOCK,
        }
    }

    /// Bytes `n` values take in this type (`n` a multiple of [`Self::block_len`]).
    pub fn bytes_for(self, n: usize) -> usize {
        match self {
            Self::F32 => 4 * n,
            Self::F16 => 2 * n,
            Self::Q8_0 => n / Q8_0_BLOCK * Q8_0_BLOCK_BYTES,
        }
    }

    /// Encodes `data` (elements of CT2 type `src`) as this type; `row_len` is the innermost
    /// dimension, which block-quantised types need. Same-type data passes through uncopied.
    fn encode(self, src: DataType, data: &[u8], row_len: usize) -> Cow<'_, [u8]> {
        match (src, self) {
            (DataType::Float32, Self::F32) | (DataType::Float16, Self::F16) => Cow::Borrowed(data),
            (_, Self::F32) => {
                Cow::Owned(decode_f32(src, data).flat_map(f32::to_le_bytes).collect())
            }
            (_, Self::F16) => Cow::Owned(
                decode_f32(src, data)
                    .flat_map(|v| f16::from_f32(v).to_le_bytes())
                    .collect(),
            ),
            (_, Self::Q8_0) => {
                debug_assert_eq!(row_len % Q8_0_BLOCK, 0, "checked by check_layout");
                let values: Vec<f32> = decode_f32(src, data).collect();
                Cow::Owned(quantize_q8_0(&values))
            }
        }
    }
}

/// ggml's `quantize_row_q8_0_ref`: per block of 32 values, d = max|x| / 127 stored as f16,
/// then each x / d rounded (half away from zero) to i8. Blocks never straddle rows because
/// every row length is a multiple of 32 (checked before writing).
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    assert_eq!(values.len() % Q8_0_BLOCK, 0, "q8_0 needs whole blocks");
    let mut out = Vec::with_capacity(values.len() / Q8_0_BLOCK * Q8_0_BLOCK_BYTES);
    for block in values.chunks_exact(Q8_0_BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|v| (v * id).round() as i8 as u8));
    }
    out
}

/// The inverse of [`quantize_q8_0`] (for tests and checks).
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(Q8_0_BLOCK_BYTES)
        .flat_map(|b| {
            let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
            b[2..].iter().map(move |&q| q as i8 as f32 * d)
        })
        .collect()
}

/// The float values of CT2 data. Only float variables reach here (`classify` turns integer
/// ones into attributes or a quantisation error).
fn decode_f32(src: DataType, data: &[u8]) -> Box<dyn Iterator<Item = f32> + '_> {
    match src {
        DataType::Float32 => Box::new(
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        DataType::Float16 => Box::new(
            data.chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        DataType::BFloat16 => Box::new(
            data.chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => {
            unreachable!("integer variables are never tensors")
        }
    }
}

/// How whisper.cpp wants a tensor stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// 2-D weights (linear layers, token embedding): [`WeightFormat`].
    Matrix,
    /// Convolution kernels: always f16.
    ConvWeight,
    /// Convolution biases: f32, and shaped `[n, 1]` so they broadcast over time.
    ConvBias,
    /// Norms, biases and positional embeddings: f32.
    Float,
}

impl Role {
    fn of(ggml_name: &str, rank: usize) -> Self {
        let is_conv = ggml_name.starts_with("encoder.conv");
        match (is_conv, ggml_name.ends_with(".bias")) {
            (true, true) => Self::ConvBias,
            (true, false) => Self::ConvWeight,
            _ if rank == 2 && !ggml_name.ends_with("positional_embedding") => Self::Matrix,
            _ => Self::Float,
        }
    }

    fn storage(self, format: WeightFormat) -> GgmlType {
        match self {
            Self::Matrix => format.matrix_type(),
            Self::ConvWeight => GgmlType::F16,
            Self::ConvBias | Self::Float => GgmlType::F32,
        }
    }

    /// ggml dimensions (innermost first) for a tensor of CT2 `shape` (outermost first).
    fn ggml_dims(self, shape: &[usize]) -> Vec<usize> {
        let mut dims: Vec<usize> = shape.iter().rev().copied().collect();
        if self == Self::ConvBias {
            dims.insert(0, 1);
        }
        dims
    }
}

/// The first tensor `format` cannot store (a matrix whose rows are not whole blocks), as
/// "name has rows of N values" for the error message; `None` when all fit.
pub(super) fn misfit_row(format: WeightFormat, sources: &[Source<'_>]) -> Option<String> {
    sources.iter().find_map(|src| {
        let shape = part_shape(&src.var.shape, src.parts.len())?;
        src.parts.iter().flatten().find_map(|name| {
            let role = Role::of(name, shape.len());
            let row_len = role.ggml_dims(&shape)[0];
            (role == Role::Matrix && !format.fits_row(row_len))
                .then(|| format!("{name} has rows of {row_len} values"))
        })
    })
}

/// Everything written before the tensors, plus the storage choice for them.
pub(super) struct GgmlFile<'a> {
    pub(super) hparams: Hparams,
    pub(super) tokens: &'a [Vec<u8>],
    pub(super) format: WeightFormat,
}

/// Errors inside the writer: I/O (reported against the final path) or CT2 reads.
enum WriteFailure {
    Io(io::Error),
    Read(Ct2Error),
}

impl From<io::Error> for WriteFailure {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl GgmlFile<'_> {
    /// Writes to a temporary file beside `out`, syncs it and renames it over `out`.
    /// Returns the number of tensors written.
    pub(super) fn write_atomically(
        &self,
        out: &Path,
        model: &Ct2Model,
        sources: &[Source<'_>],
    ) -> Result<usize, ConvertError> {
        let write_err = |source| ConvertError::Write {
            path: out.to_owned(),
            source,
        };
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".ggml-import-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(write_err)?;
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        let n_tensors = match self.write(&mut w, model, sources) {
            Ok(n) => n,
            Err(WriteFailure::Io(e)) => return Err(write_err(e)),
            Err(WriteFailure::Read(e)) => return Err(e.into()),
        };
        w.flush().map_err(write_err)?;
        drop(w);
        tmp.as_file().sync_all().map_err(write_err)?;
        make_world_readable(tmp.path()).map_err(write_err)?;
        tmp.persist(out).map_err(|e| write_err(e.error))?;
        Ok(n_tensors)
    }

    fn write(
        &self,
        w: &mut impl Write,
        model: &Ct2Model,
        sources: &[Source<'_>],
    ) -> Result<usize, WriteFailure> {
        w.write_all(&GGML_MAGIC.to_le_bytes())?;
        for v in self.hparams.fields() {
            w.write_all(&v.to_le_bytes())?;
        }
        self.write_mel_filters(w)?;
        self.write_vocabulary(w)?;
        let mut n_tensors = 0;
        for src in sources {
            let data = model.read_data(src.var).map_err(WriteFailure::Read)?;
            let shape =
                part_shape(&src.var.shape, src.parts.len()).expect("checked by check_layout");
            let part_len = data.len() / src.parts.len();
            for (name, chunk) in src.parts.iter().zip(data.chunks_exact(part_len)) {
                if let Some(name) = name {
                    self.write_tensor(w, name, &shape, src.var.dtype, chunk)?;
                    n_tensors += 1;
                }
            }
        }
        Ok(n_tensors)
    }

    fn write_mel_filters(&self, w: &mut impl Write) -> io::Result<()> {
        let n_mels = self.hparams.n_mels;
        w.write_all(&n_mels.to_le_bytes())?;
        w.write_all(&(mel::N_FREQS as i32).to_le_bytes())?;
        let filters = mel::whisper_mel_filters(n_mels as usize);
        w.write_all(
            &filters
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    fn write_vocabulary(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&(self.tokens.len() as i32).to_le_bytes())?;
        for token in self.tokens {
            w.write_all(&(token.len() as u32).to_le_bytes())?;
            w.write_all(token)?;
        }
        Ok(())
    }

    fn write_tensor(
        &self,
        w: &mut impl Write,
        name: &str,
        shape: &[usize],
        src: DataType,
        data: &[u8],
    ) -> io::Result<()> {
        let role = Role::of(name, shape.len());
        let ty = role.storage(self.format);
        let dims = role.ggml_dims(shape);
        for v in [dims.len() as i32, name.len() as i32, ty as i32] {
            w.write_all(&v.to_le_bytes())?;
        }
        for d in &dims {
            w.write_all(&(*d as i32).to_le_bytes())?;
        }
        w.write_all(name.as_bytes())?;
        w.write_all(&ty.encode(src, data, dims[0]))
    }
}

/// Temporary files are created owner-only; a model file should be readable like any other.
#[cfg(unix)]
fn make_world_readable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn make_world_readable(_path: &Path) -> io::Result<()> {
    Ok(())
}
