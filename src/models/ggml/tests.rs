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

#[test]
fn q8_0_blocks_follow_ggml() {
    // One block: max |x| = 127 gives scale 1, so the values come out as themselves.
    let block: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) * 127.0 / 16.0).collect();
    let bytes = quantize_q8_0(&block);
    assert_eq!(bytes.len(), 34);
    let d = f16::from_le_bytes([bytes[0], bytes[1]]).to_f32();
    assert_eq!(d, f16::from_f32(127.0 / 127.0).to_f32());
    assert_eq!(bytes[2] as i8, -127);
    assert_eq!(bytes[2 + 16] as i8, 0);
    assert_eq!(bytes[2 + 31] as i8, (15.0f32 * 127.0 / 16.0).round() as i8);
    // Rounding is half away from zero, as C's roundf: 0.5 -> 1, -0.5 -> -1 (scale 1/127 * 127).
    let mut half = vec![0.0f32; 32];
    half[0] = 127.0;
    half[1] = 0.5;
    half[2] = -0.5;
    half[3] = -127.0;
    let q = quantize_q8_0(&half);
    assert_eq!(
        [q[2] as i8, q[3] as i8, q[4] as i8, q[5] as i8],
        [127, 1, -1, -127]
    );
    // An all-zero block has scale 0 and zero values (no division by zero).
    let zeros = quantize_q8_0(&[0.0; 64]);
    assert_eq!(zeros, vec![0u8; 68]);
}

#[test]
fn q8_0_round_trip_error_is_at_most_half_a_step() {
    // Pseudo-random values in [-0.5, 0.5), every third block ten times larger.
    let values: Vec<f32> = (0..32 * 8)
        .map(|i| {
            let v = ((i * 7919) % 1000) as f32 / 1000.0 - 0.5;
            if (i / 32) % 3 == 0 { v * 10.0 } else { v }
        })
        .collect();
    let back = dequantize_q8_0(&quantize_q8_0(&values));
    for (block, out) in values.chunks(32).zip(back.chunks(32)) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let step = amax / 127.0;
        for (a, b) in block.iter().zip(out) {
            // Half a quantisation step, plus the f16 rounding of the scale (2^-11 relative).
            assert!((a - b).abs() <= step * 0.5 + amax * 1e-3, "{a} vs {b}");
        }
    }
}

#[test]
fn weight_formats_parse_and_name_their_ftype() {
    assert_eq!(WeightFormat::parse("q8_0"), Ok(WeightFormat::Q8_0));
    assert_eq!(WeightFormat::parse("Q8_0"), Ok(WeightFormat::Q8_0));
    assert_eq!(WeightFormat::parse("f16"), Ok(WeightFormat::F16));
    assert!(WeightFormat::parse("q4_0").unwrap_err().contains("q8_0"));
    assert_eq!(WeightFormat::F16.ftype(), 1);
    // whisper.cpp reads ftype % 1000 = 7 (GGML_FTYPE_MOSTLY_Q8_0), quantisation version 2.
    assert_eq!(WeightFormat::Q8_0.ftype() % 1000, 7);
    assert_eq!(WeightFormat::Q8_0.ftype() / 1000, 2);
}

#[test]
fn q8_0_needs_rows_of_whole_blocks() {
    // The synthetic model is 4 wide: its matrices cannot be cut in blocks of 32.
    let dir = tempfile::tempdir().unwrap();
    write_model_dir(
        dir.path(),
        &model_bin("WhisperSpec", &synthetic_whisper(4), SYNTHETIC_ALIASES),
        SYN_VOCAB,
    );
    let out = dir.path().join("out.bin");
    let err = import_ct2_as(dir.path(), &out, WeightFormat::Q8_0).unwrap_err();
    assert!(matches!(err, ConvertError::BadLayout { .. }), "{err}");
    assert!(err.to_string().contains("not a multiple of 32"), "{err}");
    assert!(!out.exists());
}

/// The real tiny.en CT2 model (from `make setup`), when present.
fn real_ct2_model() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ct2/tiny.en");
    if dir.join("model.bin").exists() {
        Some(dir)
    } else {
        eprintln!("skipped: {} not found (run `make setup`)", dir.display());
        None
    }
}

/// Reads a q8_0 file's tensors: (type, dims, raw data), with q8_0 sizes.
fn parse_any(bytes: &[u8]) -> (Vec<i32>, BTreeMap<String, Tensor>) {
    let mut c = Cursor { bytes, pos: 0 };
    assert_eq!(c.int() as u32, GGML_MAGIC);
    let hparams: Vec<i32> = (0..11).map(|_| c.int()).collect();
    let (n_mel, n_fft) = (c.int(), c.int());
    c.take(4 * (n_mel * n_fft) as usize);
    for _ in 0..c.int() {
        let len = c.int() as usize;
        c.take(len);
    }
    let mut tensors = BTreeMap::new();
    while c.pos < bytes.len() {
        let (n_dims, name_len, ttype) = (c.int(), c.int(), c.int());
        let dims: Vec<i32> = (0..n_dims).map(|_| c.int()).collect();
        let name = String::from_utf8(c.take(name_len as usize).to_vec()).unwrap();
        let n = dims.iter().product::<i32>() as usize;
        let size = match ttype {
            0 => GgmlType::F32.bytes_for(n),
            1 => GgmlType::F16.bytes_for(n),
            8 => GgmlType::Q8_0.bytes_for(n),
            other => panic!("{name}: unexpected type {other}"),
        };
        tensors.insert(name, (ttype, dims, c.take(size).to_vec()));
    }
    (hparams, tensors)
}

#[test]
fn real_model_converts_to_q8_0_close_to_f16() {
    let Some(model) = real_ct2_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (f16_out, q8_out) = (dir.path().join("f16.bin"), dir.path().join("q8.bin"));
    import_ct2(&model, &f16_out).unwrap();
    let report = import_ct2_as(&model, &q8_out, WeightFormat::Q8_0).unwrap();
    assert_eq!(report.hparams.ftype, 2007);
    let (_, f) = parse_any(&std::fs::read(&f16_out).unwrap());
    let (hparams, q) = parse_any(&std::fs::read(&q8_out).unwrap());
    assert_eq!(hparams[10], 2007);
    assert_eq!(f.keys().collect::<Vec<_>>(), q.keys().collect::<Vec<_>>());
    let mut quantised = 0;
    for (name, (ftype, dims, fdata)) in &f {
        let (qtype, qdims, qdata) = &q[name];
        assert_eq!(dims, qdims, "{name}");
        if *ftype == 1 && dims.len() == 2 {
            // Every 2-D f16 matrix becomes q8_0, within half a step of the f16 values.
            assert_eq!(*qtype, 8, "{name}");
            quantised += 1;
            let (a, b) = (f16_values(fdata), dequantize_q8_0(qdata));
            for (block, out) in a.chunks(32).zip(b.chunks(32)) {
                let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                // Half a step, plus the scale's own f16 rounding (which is large for the
                // few near-zero blocks whose scale is an f16 subnormal), times up to 127.
                let d = amax / 127.0;
                let tolerance = d * 0.5 + 127.0 * (d - f16::from_f32(d).to_f32()).abs() + 1e-6;
                for (x, y) in block.iter().zip(out) {
                    assert!((x - y).abs() <= tolerance, "{name}: {x} vs {y}");
                }
            }
        } else {
            // Convolutions, vectors and positional embeddings stay as they were.
            assert_eq!((qtype, qdata), (ftype, fdata), "{name}");
        }
    }
    // tiny.en: 4 encoder layers × 6 matrices, 4 decoder layers × 10, and the token embedding.
    assert_eq!(quantised, 4 * 6 + 4 * 10 + 1);
    let ctx = whisper_rs::WhisperContext::new_with_params(
        q8_out.to_str().unwrap(),
        whisper_rs::WhisperContextParameters::default(),
    )
    .expect("whisper.cpp loads the q8_0 file");
    assert!(!ctx.is_multilingual());
}
