//! Reader for CTranslate2 model directories (the format faster-whisper downloads).
//!
//! A CT2 model directory holds `model.bin` (every weight plus a few scalar attributes),
//! `config.json` and `vocabulary.txt` or `vocabulary.json`. Only `model.bin` binary version 6 is
//! understood; its layout (little-endian) is:
//!
//! ```text
//! u32 version (6) | string spec name | u32 spec revision | u32 variable count
//! per variable: string name | u8 rank | u32 × rank shape | u8 dtype | u32 byte count | data
//! u32 alias count | per alias: string alias | string target
//! string = u16 length including a trailing NUL, then the bytes and the NUL
//! ```
//!
//! The header is parsed up front but tensor data is read on demand ([`Ct2Model::read_data`]),
//! so converting a multi-gigabyte model holds one tensor in memory at a time.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The only `model.bin` layout this reader understands.
pub const SUPPORTED_BINARY_VERSION: u32 = 6;
/// Spec name CTranslate2 writes for Whisper models.
pub const WHISPER_SPEC: &str = "WhisperSpec";

/// Scalars up to this size are kept in memory while parsing (they are attributes such as
/// `encoder/num_heads`, read again when hparams are derived).
const INLINE_DATA_LIMIT: u64 = 8;
/// No real CT2 variable has more dimensions than this; more means a corrupt file.
const MAX_RANK: u8 = 8;

/// Everything that can go wrong reading a CT2 model directory. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is truncated or corrupt: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error(
        "{path} is CTranslate2 model.bin version {version}; only version {SUPPORTED_BINARY_VERSION} is supported"
    )]
    UnsupportedVersion { path: PathBuf, version: u32 },
    #[error("{path} holds a {spec} model, not a Whisper model ({WHISPER_SPEC})")]
    NotWhisper { path: PathBuf, spec: String },
    #[error("{dir} has neither vocabulary.txt nor vocabulary.json")]
    NoVocabulary { dir: PathBuf },
    #[error("{path} is not a JSON array of strings: {source}")]
    BadVocabularyJson {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// CTranslate2's `DataType` enum, in its on-disk numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Float32,
    Int8,
    Int16,
    Int32,
    Float16,
    BFloat16,
}

impl DataType {
    /// Decodes the on-disk id (`ctranslate2/types.h` order).
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::Float32,
            1 => Self::Int8,
            2 => Self::Int16,
            3 => Self::Int32,
            4 => Self::Float16,
            5 => Self::BFloat16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::Int8 => 1,
            Self::Int16 | Self::Float16 | Self::BFloat16 => 2,
            Self::Float32 | Self::Int32 => 4,
        }
    }

    /// Floating-point types carry weights; integer ones carry attributes or quantised weights.
    pub fn is_float(self) -> bool {
        matches!(self, Self::Float32 | Self::Float16 | Self::BFloat16)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Float32 => "float32",
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Float16 => "float16",
            Self::BFloat16 => "bfloat16",
        })
    }
}

/// One named variable of `model.bin`: its metadata and where its data lies in the file.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    /// Outermost dimension first (row-major, as CTranslate2 and PyTorch store it).
    pub shape: Vec<usize>,
    pub dtype: DataType,
    offset: u64,
    nbytes: u64,
    inline: Option<Vec<u8>>,
}

impl Variable {
    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The value of an integer scalar attribute such as `encoder/num_heads`.
    pub fn as_int(&self) -> Option<i64> {
        let b = self.inline.as_deref()?;
        match (self.dtype, b.len()) {
            (DataType::Int8, 1) => Some(i64::from(b[0] as i8)),
            (DataType::Int16, 2) => Some(i64::from(i16::from_le_bytes([b[0], b[1]]))),
            (DataType::Int32, 4) => Some(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            _ => None,
        }
    }
}

/// A parsed `model.bin`: header, variable table and aliases; data stays on disk.
#[derive(Debug)]
pub struct Ct2Model {
    path: PathBuf,
    file: File,
    pub spec_revision: u32,
    pub variables: Vec<Variable>,
    /// `(alias, target)`: the alias name refers to the target's data (e.g. a tied projection).
    pub aliases: Vec<(String, String)>,
}

impl Ct2Model {
    /// Opens and parses `path`, checking it is a version-6 Whisper model.
    pub fn open(path: &Path) -> Result<Self, Ct2Error> {
        let io_err = |source| Ct2Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        let mut header = HeaderReader {
            inner: BufReader::new(&file),
            pos: 0,
            len,
            path,
        };
        let (spec_revision, variables, aliases) = header.parse()?;
        Ok(Self {
            path: path.to_owned(),
            file,
            spec_revision,
            variables,
            aliases,
        })
    }

    /// The file this model was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Looks a variable up by its CT2 name (aliases are not followed).
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Reads a variable's raw little-endian data from disk.
    pub fn read_data(&self, var: &Variable) -> Result<Vec<u8>, Ct2Error> {
        if let Some(data) = &var.inline {
            return Ok(data.clone());
        }
        let io_err = |source| Ct2Error::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = &self.file;
        file.seek(SeekFrom::Start(var.offset)).map_err(io_err)?;
        let mut data = vec![0; var.nbytes as usize];
        file.read_exact(&mut data).map_err(io_err)?;
        Ok(data)
    }
}

/// Sequential reader over the header that tracks its position and refuses to run past the end.
struct HeaderReader<'a, R> {
    inner: R,
    pos: u64,
    len: u64,
    path: &'a Path,
}

type Header = (u32, Vec<Variable>, Vec<(String, String)>);

impl<R: Read + Seek> HeaderReader<'_, R> {
    fn parse(&mut self) -> Result<Header, Ct2Error> {
        let version = self.u32("version")?;
        if version != SUPPORTED_BINARY_VERSION {
            return Err(Ct2Error::UnsupportedVersion {
                path: self.path.to_owned(),
                version,
            });
        }
        let spec = self.string("spec name")?;
        if spec != WHISPER_SPEC {
            return Err(Ct2Error::NotWhisper {
                path: self.path.to_owned(),
                spec,
            });
        }
        let revision = self.u32("spec revision")?;
        let count = self.u32("variable count")?;
        let variables = (0..count)
            .map(|_| self.variable())
            .collect::<Result<Vec<_>, _>>()?;
        let alias_count = self.u32("alias count")?;
        let aliases = (0..alias_count)
            .map(|_| Ok((self.string("alias")?, self.string("alias target")?)))
            .collect::<Result<Vec<_>, Ct2Error>>()?;
        Ok((revision, variables, aliases))
    }

    fn variable(&mut self) -> Result<Variable, Ct2Error> {
        let name = self.string("variable name")?;
        let rank = self.bytes(1, "rank")?[0];
        if rank > MAX_RANK {
            return Err(self.corrupt(format!("variable {name} has rank {rank}")));
        }
        let shape = (0..rank)
            .map(|_| self.u32("shape").map(|d| d as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let id = self.bytes(1, "dtype")?[0];
        let dtype = DataType::from_id(id)
            .ok_or_else(|| self.corrupt(format!("variable {name} has unknown dtype {id}")))?;
        let nbytes = u64::from(self.u32("byte count")?);
        let expected = shape
            .iter()
            .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64));
        if expected != Some(nbytes) {
            return Err(self.corrupt(format!(
                "variable {name} {shape:?} {dtype} claims {nbytes} bytes"
            )));
        }
        let offset = self.pos;
        let inline = if nbytes <= INLINE_DATA_LIMIT {
            Some(self.bytes(nbytes as usize, "scalar")?)
        } else {
            self.skip(nbytes, &name)?;
            None
        };
        Ok(Variable {
            name,
            shape,
            dtype,
            offset,
            nbytes,
            inline,
        })
    }

    fn corrupt(&self, what: String) -> Ct2Error {
        Ct2Error::Corrupt {
            path: self.path.to_owned(),
            what,
        }
    }

    fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>, Ct2Error> {
        if self.pos + n as u64 > self.len {
            return Err(self.corrupt(format!(
                "file ends while reading the {what} at byte {}",
                self.pos
            )));
        }
        let mut buf = vec![0; n];
        self.inner
            .read_exact(&mut buf)
            .map_err(|source| Ct2Error::Io {
                path: self.path.to_owned(),
                source,
            })?;
        self.pos += n as u64;
        Ok(buf)
    }

    /// Skips a variable's data, checking first that the file really holds it.
    fn skip(&mut self, n: u64, name: &str) -> Result<(), Ct2Error> {
        if self.pos + n > self.len {
            return Err(self.corrupt(format!("file ends inside the data of {name}")));
        }
        self.inner
            .seek(SeekFrom::Current(n as i64))
            .map_err(|source| Ct2Error::Io {
                path: self.path.to_owned(),
                source,
            })?;
        self.pos += n;
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, Ct2Error> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, what: &str) -> Result<String, Ct2Error> {
        let b = self.bytes(2, what)?;
        let len = usize::from(u16::from_le_bytes([b[0], b[1]]));
        let mut bytes = self.bytes(len, what)?;
        if bytes.pop() != Some(0) {
            return Err(self.corrupt(format!("the {what} is not NUL-terminated")));
        }
        String::from_utf8(bytes).map_err(|_| self.corrupt(format!("the {what} is not UTF-8")))
    }
}

/// Reads the model's vocabulary: `vocabulary.txt` (one token per line) or `vocabulary.json`
/// (a JSON array of strings), in token-id order.
pub fn read_vocabulary(model_dir: &Path) -> Result<Vec<String>, Ct2Error> {
    let txt = model_dir.join("vocabulary.txt");
    if txt.is_file() {
        let text = std::fs::read_to_string(&txt).map_err(|source| Ct2Error::Io {
            path: txt.clone(),
            source,
        })?;
        // Byte-level BPE tokens never contain a raw newline, so lines are tokens.
        let mut tokens: Vec<String> = text.split('\n').map(str::to_owned).collect();
        if tokens.last().is_some_and(String::is_empty) {
            tokens.pop();
        }
        return Ok(tokens);
    }
    let json = model_dir.join("vocabulary.json");
    if json.is_file() {
        let text = std::fs::read(&json).map_err(|source| Ct2Error::Io {
            path: json.clone(),
            source,
        })?;
        return serde_json::from_slice(&text)
            .map_err(|source| Ct2Error::BadVocabularyJson { path: json, source });
    }
    Err(Ct2Error::NoVocabulary {
        dir: model_dir.to_owned(),
    })
}

/// Whether GPT-2's byte-level BPE spells byte `b` as the Latin-1 character of the same value.
const fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// Number of bytes GPT-2 moves to U+0100 onwards (controls, space, DEL, NBSP, soft hyphen).
const N_SHIFTED: usize = 68;

/// The bytes spelled U+0100, U+0101, … in that order.
const SHIFTED_BYTES: [u8; N_SHIFTED] = {
    let mut out = [0u8; N_SHIFTED];
    let (mut b, mut n) = (0usize, 0usize);
    while b < 256 {
        if !is_printable(b as u8) {
            out[n] = b as u8;
            n += 1;
        }
        b += 1;
    }
    out
};

/// GPT-2's byte-to-unicode table: byte `b` is spelled as character `table[b]` in BPE tokens.
///
/// Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, …) are
/// shifted to U+0100 onwards, in byte order, so that every token is printable text.
pub fn byte_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    for b in 0..=255u8 {
        table[usize::from(b)] = char::from(b);
    }
    for (i, &b) in SHIFTED_BYTES.iter().enumerate() {
        table[usize::from(b)] = char::from_u32(0x100 + i as u32).expect("U+0100..U+0143 are chars");
    }
    table
}

/// The byte a byte-level BPE character stands for (inverse of [`byte_to_unicode`]).
fn unicode_to_byte(c: char) -> Option<u8> {
    match u32::from(c) {
        code @ 0..=0xFF if is_printable(code as u8) => Some(code as u8),
        code @ 0x100.. => SHIFTED_BYTES.get((code - 0x100) as usize).copied(),
        _ => None,
    }
}

/// Turns a byte-level BPE token back into the raw bytes it stands for, or `None` when a
/// character is outside GPT-2's byte alphabet (special tokens such as `<|en|>` are plain text
/// and would come back unchanged, so callers must not pass them).
pub fn decode_byte_level(token: &str) -> Option<Vec<u8>> {
    token.chars().map(unicode_to_byte).collect()
}

/// Helpers that write synthetic `model.bin` files for tests across the `models` module.
#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    fn sample_vars() -> Vec<RawVariable> {
        vec![
            RawVariable {
                name: "encoder/num_heads".into(),
                shape: vec![],
                dtype: 2,
                data: 6i16.to_le_bytes().to_vec(),
            },
            RawVariable {
                name: "encoder/conv1/bias".into(),
                shape: vec![3],
                dtype: 0,
                data: [1f32, 2.0, 3.0]
                    .iter()
                    .flat_map(|f| f.to_le_bytes())
                    .collect(),
            },
        ]
    }

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    #[test]
    fn parses_variables_attributes_and_aliases() {
        let file = write_temp(&model_bin(
            WHISPER_SPEC,
            &sample_vars(),
            &[("a/b", "encoder/conv1/bias")],
        ));
        let model = Ct2Model::open(file.path()).unwrap();
        assert_eq!(model.spec_revision, 3);
        assert_eq!(
            model.variable("encoder/num_heads").unwrap().as_int(),
            Some(6)
        );
        let bias = model.variable("encoder/conv1/bias").unwrap();
        assert_eq!(
            (bias.shape.as_slice(), bias.dtype),
            (&[3][..], DataType::Float32)
        );
        assert_eq!(model.read_data(bias).unwrap(), sample_vars()[1].data);
        assert_eq!(
            model.aliases,
            vec![("a/b".to_string(), "encoder/conv1/bias".to_string())]
        );
    }

    #[test]
    fn rejects_a_non_whisper_spec() {
        let file = write_temp(&model_bin("TransformerSpec", &sample_vars(), &[]));
        let err = Ct2Model::open(file.path()).unwrap_err();
        assert!(
            matches!(err, Ct2Error::NotWhisper { ref spec, .. } if spec == "TransformerSpec"),
            "{err}"
        );
        assert!(err.to_string().contains("TransformerSpec"));
    }

    #[test]
    fn rejects_other_binary_versions() {
        let mut bytes = model_bin(WHISPER_SPEC, &sample_vars(), &[]);
        bytes[0] = 5;
        let err = Ct2Model::open(write_temp(&bytes).path()).unwrap_err();
        assert!(
            matches!(err, Ct2Error::UnsupportedVersion { version: 5, .. }),
            "{err}"
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = model_bin(
            WHISPER_SPEC,
            &sample_vars(),
            &[("a/b", "encoder/conv1/bias")],
        );
        for len in 0..bytes.len() {
            let file = write_temp(&bytes[..len]);
            let err = Ct2Model::open(file.path()).unwrap_err();
            assert!(
                matches!(err, Ct2Error::Corrupt { .. }),
                "length {len}: {err}"
            );
            assert!(err.to_string().contains(&file.path().display().to_string()));
        }
    }

    #[test]
    fn rejects_byte_count_that_disagrees_with_shape() {
        let mut vars = sample_vars();
        vars[1].data.pop();
        let err =
            Ct2Model::open(write_temp(&model_bin(WHISPER_SPEC, &vars, &[])).path()).unwrap_err();
        assert!(err.to_string().contains("claims 11 bytes"), "{err}");
    }

    #[test]
    fn byte_to_unicode_is_gpt2s_table() {
        // Expected characters printed by GPT-2's own Python `bytes_to_unicode()`.
        let table = byte_to_unicode();
        assert_eq!(table[usize::from(b' ')], 'Ġ');
        assert_eq!(table[usize::from(b'\n')], 'Ċ');
        assert_eq!(table[0], 'Ā');
        assert_eq!(table[usize::from(b'A')], 'A');
        assert_eq!(table[0x7F], 'ġ'); // DEL
        assert_eq!(table[0xAD], 'Ń'); // soft hyphen: the last of the 68 shifted bytes
    }

    #[test]
    fn byte_level_round_trip_covers_every_byte() {
        let table = byte_to_unicode();
        let all: Vec<u8> = (0..=255).collect();
        let spelled: String = all.iter().map(|&b| table[usize::from(b)]).collect();
        assert_eq!(decode_byte_level(&spelled), Some(all));
        assert_eq!(decode_byte_level("ĠHello"), Some(b" Hello".to_vec()));
        assert_eq!(decode_byte_level("Ã©"), Some("é".as_bytes().to_vec()));
        assert_eq!(decode_byte_level("€"), None);
    }

    #[test]
    fn reads_vocabulary_txt_and_json() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_vocabulary(dir.path()),
            Err(Ct2Error::NoVocabulary { .. })
        ));
        std::fs::write(
            dir.path().join("vocabulary.json"),
            r#"["!", "Ġthe", "<|endoftext|>"]"#,
        )
        .unwrap();
        assert_eq!(
            read_vocabulary(dir.path()).unwrap(),
            ["!", "Ġthe", "<|endoftext|>"]
        );
        std::fs::write(dir.path().join("vocabulary.txt"), "a\nĠb\n").unwrap();
        assert_eq!(read_vocabulary(dir.path()).unwrap(), ["a", "Ġb"]);
    }
}
