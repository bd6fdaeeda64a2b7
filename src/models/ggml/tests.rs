//! End-to-end tests of the importer on synthetic CT2 models written by the tests.

use std::collections::BTreeMap;

use half::f16;

use super::*;
use crate::models::ct2::test_support::*;

/// A parsed ggml tensor: (ggml type, dims innermost first, raw data).
type Tensor = (i32, Vec<i32>, Vec<u8>);

/// What [`GgmlFile`] wrote, read back: hparams, mel header, vocabulary, tensors.
struct Parsed {
    hparams: Vec<i32>,
    mel_header: (i32, i32),
    vocab: Vec<Vec<u8>>,
    tensors: BTreeMap<String, Tensor>,
}

/// Walks the bytes of a ggml file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        self.pos += n;
        &self.bytes[self.pos - n..self.pos]
    }

    fn int(&mut self) -> i32 {
        i32::from_le_bytes(self.take(4).try_into().unwrap())
    }
}

fn parse_ggml(bytes: &[u8]) -> Parsed {
    let mut c = Cursor { bytes, pos: 0 };
    assert_eq!(c.int() as u32, GGML_MAGIC);
    let hparams: Vec<i32> = (0..11).map(|_| c.int()).collect();
    let mel_header = (c.int(), c.int());
    c.take(4 * (mel_header.0 * mel_header.1) as usize);
    let n_vocab = c.int();
    let vocab = (0..n_vocab)
        .map(|_| {
            let len = c.int() as usize;
            c.take(len).to_vec()
        })
        .collect();
    let mut tensors = BTreeMap::new();
    while c.pos < bytes.len() {
        let (n_dims, name_len, ttype) = (c.int(), c.int(), c.int());
        let dims: Vec<i32> = (0..n_dims).map(|_| c.int()).collect();
        let name = String::from_utf8(c.take(name_len as usize).to_vec()).unwrap();
        let size = if ttype == 0 { 4 } else { 2 };
        let data = c
            .take(size * dims.iter().product::<i32>() as usize)
            .to_vec();
        tensors.insert(name, (ttype, dims, data));
    }
    Parsed {
        hparams,
        mel_header,
        vocab,
        tensors,
    }
}

/// Writes a synthetic model directory from `vars` and imports it into `out.bin` there.
fn import_synthetic(
    vars: &[RawVariable],
) -> (tempfile::TempDir, Result<ImportReport, ConvertError>) {
    let dir = tempfile::tempdir().unwrap();
    write_model_dir(
        dir.path(),
        &model_bin("WhisperSpec", vars, SYNTHETIC_ALIASES),
        SYN_VOCAB,
    );
    let result = import_ct2(dir.path(), &dir.path().join("out.bin"));
    (dir, result)
}

/// Imports the synthetic model stored as CT2 `dtype`; returns the report and file bytes.
fn import_and_read(dtype: u8) -> (ImportReport, Vec<u8>) {
    let (dir, report) = import_synthetic(&synthetic_whisper(dtype));
    (
        report.unwrap(),
        std::fs::read(dir.path().join("out.bin")).unwrap(),
    )
}

fn f16_values(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(2)
        .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
        .collect()
}

fn f32_values(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn fused_attention_is_split_and_key_bias_dropped() {
    let t = parse_ggml(&import_and_read(4).1).tensors;
    // Every element of the synthetic tensors holds its CT2 row number (`rows_var`).
    let rows = |name: &str| {
        let (_, dims, data) = &t[name];
        f16_values(data)
            .chunks(dims[0] as usize)
            .map(|row| row[0])
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rows("encoder.blocks.0.attn.query.weight"),
        [0.0, 1.0, 2.0, 3.0]
    );
    assert_eq!(
        rows("encoder.blocks.0.attn.key.weight"),
        [4.0, 5.0, 6.0, 7.0]
    );
    assert_eq!(
        rows("decoder.blocks.0.attn.value.weight"),
        [8.0, 9.0, 10.0, 11.0]
    );
    assert_eq!(
        rows("decoder.blocks.0.cross_attn.key.weight"),
        [0.0, 1.0, 2.0, 3.0]
    );
    assert_eq!(
        rows("decoder.blocks.0.cross_attn.value.weight"),
        [4.0, 5.0, 6.0, 7.0]
    );
    assert_eq!(
        f32_values(&t["encoder.blocks.0.attn.query.bias"].2),
        [0.0, 1.0, 2.0, 3.0]
    );
    assert_eq!(
        f32_values(&t["encoder.blocks.0.attn.value.bias"].2),
        [8.0, 9.0, 10.0, 11.0]
    );
    assert_eq!(
        f32_values(&t["decoder.blocks.0.cross_attn.value.bias"].2),
        [4.0, 5.0, 6.0, 7.0]
    );
    assert!(!t.keys().any(|name| name.ends_with("key.bias")));
}

#[test]
fn header_vocabulary_types_and_dims_follow_whisper_cpp() {
    let (report, bytes) = import_and_read(4);
    let parsed = parse_ggml(&bytes);
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
    // n_text_state, n_text_head, n_text_layer, n_mels, ftype
    assert_eq!(parsed.hparams, [6, 6, 4, 1, 1, 5, 4, 1, 1, 80, 1]);
    assert_eq!(parsed.mel_header, (80, 201));
    let vocab: [&[u8]; 4] = [b"!", b" a", b"\n", "é".as_bytes()];
    assert_eq!(parsed.vocab, vocab);
    let t = &parsed.tensors;
    let meta = |name: &str| (t[name].0, t[name].1.clone());
    assert_eq!(meta("encoder.conv1.weight"), (1, vec![3, 80, 4]));
    assert_eq!(meta("encoder.conv1.bias"), (0, vec![1, 4]));
    assert_eq!(meta("encoder.positional_embedding"), (0, vec![4, 6]));
    assert_eq!(meta("decoder.positional_embedding"), (0, vec![4, 5]));
    assert_eq!(meta("decoder.token_embedding.weight"), (1, vec![4, 6]));
    assert_eq!(meta("decoder.blocks.0.mlp.0.weight"), (1, vec![4, 16]));
    assert_eq!(meta("encoder.ln_post.weight"), (0, vec![4]));
    assert_eq!(meta("decoder.blocks.0.cross_attn_ln.bias"), (0, vec![4]));
    // 7 encoder globals + 15 per encoder layer + 4 decoder globals + 24 per decoder layer.
    assert_eq!(t.len(), 50);
    let expected = ImportReport {
        n_tensors: 50,
        bytes: bytes.len() as u64,
        multilingual: false,
        n_vocab: 6,
        n_text_tokens: 4,
        n_audio_layer: 1,
        n_text_layer: 1,
        hparams: report.hparams,
    };
    assert_eq!(report, expected);
}

#[test]
fn float32_model_converts_to_the_same_file() {
    assert_eq!(import_and_read(0).1, import_and_read(4).1);
}

#[test]
fn rejects_int8_quantized_models() {
    let mut vars = synthetic_whisper(4);
    let i = vars
        .iter()
        .position(|v| v.name == "encoder/layer_0/ffn/linear_0/weight")
        .unwrap();
    vars[i] = rows_var("encoder/layer_0/ffn/linear_0/weight", &[16, 4], 1);
    let (dir, result) = import_synthetic(&vars);
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            ConvertError::Quantized {
                dtype: DataType::Int8,
                ..
            }
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message
            .contains("quantized CT2 models are not supported; export with --quantization float16")
    );
    assert!(message.contains("model.bin"), "{message}");
    assert!(!dir.path().join("out.bin").exists());
}

#[test]
fn rejects_non_whisper_spec() {
    let dir = tempfile::tempdir().unwrap();
    write_model_dir(
        dir.path(),
        &model_bin("TransformerSpec", &synthetic_whisper(4), &[]),
        SYN_VOCAB,
    );
    let err = import_ct2(dir.path(), &dir.path().join("out.bin")).unwrap_err();
    assert!(
        matches!(err, ConvertError::Ct2(Ct2Error::NotWhisper { .. })),
        "{err}"
    );
}

#[test]
fn truncated_model_fails_and_leaves_existing_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    std::fs::write(&out, b"previous model").unwrap();
    let full = model_bin("WhisperSpec", &synthetic_whisper(4), SYNTHETIC_ALIASES);
    for len in [0, 3, 20, full.len() / 2, full.len() - 1] {
        write_model_dir(dir.path(), &full[..len], SYN_VOCAB);
        let err = import_ct2(dir.path(), &out).unwrap_err();
        assert!(
            matches!(err, ConvertError::Ct2(Ct2Error::Corrupt { .. })),
            "length {len}: {err}"
        );
    }
    assert_eq!(std::fs::read(&out).unwrap(), b"previous model");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "no temporary file left behind: {names:?}");
}

#[test]
fn missing_and_unknown_tensors_are_named() {
    let mut vars = synthetic_whisper(4);
    vars.retain(|v| v.name != "decoder/layer_0/attention/linear_2/bias");
    let err = import_synthetic(&vars).1.unwrap_err().to_string();
    assert!(
        err.contains("decoder.blocks.0.cross_attn.out.bias"),
        "{err}"
    );

    let mut vars = synthetic_whisper(4);
    vars.push(rows_var("encoder/extra/weight", &[4, 4], 4));
    let err = import_synthetic(&vars).1.unwrap_err();
    assert!(
        matches!(err, ConvertError::UnknownVariable { ref name, .. } if name == "encoder/extra/weight")
    );
}

#[test]
fn vocabulary_without_end_of_text_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let bin = model_bin("WhisperSpec", &synthetic_whisper(4), SYNTHETIC_ALIASES);
    write_model_dir(dir.path(), &bin, &["a", "b", "c", "d", "e", "f"]);
    let err = import_ct2(dir.path(), &dir.path().join("out.bin")).unwrap_err();
    assert!(matches!(err, ConvertError::NoEndOfText { .. }), "{err}");
}
