//! Writes synthetic CTranslate2 `model.bin` files (and a minimal Whisper model) for tests.

use std::path::Path;

/// One variable to write: name, shape, CT2 dtype id and raw data.
pub struct RawVariable {
    pub name: String,
    pub shape: Vec<u32>,
    pub dtype: u8,
    pub data: Vec<u8>,
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend(((s.len() + 1) as u16).to_le_bytes());
    out.extend(s.as_bytes());
    out.push(0);
}

/// Serialises a version-6 `model.bin` image.
pub fn model_bin(spec: &str, vars: &[RawVariable], aliases: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(6u32.to_le_bytes());
    put_string(&mut out, spec);
    out.extend(3u32.to_le_bytes());
    out.extend((vars.len() as u32).to_le_bytes());
    for v in vars {
        put_string(&mut out, &v.name);
        out.push(v.shape.len() as u8);
        v.shape.iter().for_each(|d| out.extend(d.to_le_bytes()));
        out.push(v.dtype);
        out.extend((v.data.len() as u32).to_le_bytes());
        out.extend(&v.data);
    }
    out.extend((aliases.len() as u32).to_le_bytes());
    for (alias, target) in aliases {
        put_string(&mut out, alias);
        put_string(&mut out, target);
    }
    out
}

/// A variable whose element at flat index `k` holds `k / row_len`, i.e. its row number, so
/// tests can tell which rows of a fused matrix ended up where. `dtype` is a CT2 dtype id.
pub fn rows_var(name: &str, shape: &[u32], dtype: u8) -> RawVariable {
    let numel: u32 = shape.iter().product();
    let row_len: u32 = shape.iter().skip(1).product();
    let data = (0..numel)
        .flat_map(|k| {
            let row = (k / row_len) as f32;
            match dtype {
                0 => row.to_le_bytes().to_vec(),
                1 => vec![row as u8],
                4 => half::f16::from_f32(row).to_le_bytes().to_vec(),
                other => panic!("rows_var: unsupported dtype {other}"),
            }
        })
        .collect();
    RawVariable {
        name: name.into(),
        shape: shape.to_vec(),
        dtype,
        data,
    }
}

fn int16_scalar(name: &str, value: i16) -> RawVariable {
    RawVariable {
        name: name.into(),
        shape: vec![],
        dtype: 2,
        data: value.to_le_bytes().to_vec(),
    }
}

/// Width of the synthetic model ([`synthetic_whisper`]): 4 channels, 1 head, 1 layer each.
pub const SYN_STATE: u32 = 4;
pub const SYN_MELS: u32 = 80;
pub const SYN_AUDIO_CTX: u32 = 6;
pub const SYN_TEXT_CTX: u32 = 5;
/// Vocabulary of the synthetic model; its embedding has one row per entry.
pub const SYN_VOCAB: &[&str] = &[
    "!",
    "Ġa",
    "Ċ",
    "Ã©",
    "<|endoftext|>",
    "<|startoftranscript|>",
];

/// The variables of a minimal but complete CT2 Whisper model, in `model.bin` order, with
/// float tensors stored as `dtype`. Matches what CTranslate2 writes for real models,
/// attributes and the projection alias included (see [`SYNTHETIC_ALIASES`]).
pub fn synthetic_whisper(dtype: u8) -> Vec<RawVariable> {
    let s = SYN_STATE;
    let mut vars = vec![
        RawVariable {
            name: "decoder/activation".into(),
            shape: vec![],
            dtype: 1,
            data: vec![3],
        },
        rows_var(
            "decoder/embeddings/weight",
            &[SYN_VOCAB.len() as u32, s],
            dtype,
        ),
    ];
    vars.extend(synthetic_layer("decoder/layer_0", true, dtype));
    vars.push(rows_var("decoder/layer_norm/beta", &[s], dtype));
    vars.push(rows_var("decoder/layer_norm/gamma", &[s], dtype));
    vars.push(int16_scalar("decoder/num_heads", 1));
    vars.push(rows_var(
        "decoder/position_encodings/encodings",
        &[SYN_TEXT_CTX, s],
        dtype,
    ));
    vars.push(rows_var("encoder/conv1/bias", &[s], dtype));
    vars.push(rows_var("encoder/conv1/weight", &[s, SYN_MELS, 3], dtype));
    vars.push(rows_var("encoder/conv2/bias", &[s], dtype));
    vars.push(rows_var("encoder/conv2/weight", &[s, s, 3], dtype));
    vars.extend(synthetic_layer("encoder/layer_0", false, dtype));
    vars.push(rows_var("encoder/layer_norm/beta", &[s], dtype));
    vars.push(rows_var("encoder/layer_norm/gamma", &[s], dtype));
    vars.push(int16_scalar("encoder/num_heads", 1));
    vars.push(rows_var(
        "encoder/position_encodings/encodings",
        &[SYN_AUDIO_CTX, s],
        dtype,
    ));
    vars
}

/// Aliases CTranslate2 writes for Whisper: the output projection is the token embedding.
pub const SYNTHETIC_ALIASES: &[(&str, &str)] =
    &[("decoder/projection/weight", "decoder/embeddings/weight")];

fn synthetic_layer(prefix: &str, cross: bool, dtype: u8) -> Vec<RawVariable> {
    let s = SYN_STATE;
    let mut modules: Vec<(&str, u32, u32)> = Vec::new(); // (module, rows, cols); cols 0 = norm
    if cross {
        modules.extend([("attention/layer_norm", s, 0), ("attention/linear_0", s, s)]);
        modules.extend([
            ("attention/linear_1", 2 * s, s),
            ("attention/linear_2", s, s),
        ]);
    }
    modules.extend([
        ("ffn/layer_norm", s, 0),
        ("ffn/linear_0", 4 * s, s),
        ("ffn/linear_1", s, 4 * s),
    ]);
    modules.extend([
        ("self_attention/layer_norm", s, 0),
        ("self_attention/linear_0", 3 * s, s),
    ]);
    modules.push(("self_attention/linear_1", s, s));
    let mut vars = Vec::new();
    for (module, rows, cols) in modules {
        let leaves: [(&str, &[u32]); 2] = if cols == 0 {
            [("beta", &[rows]), ("gamma", &[rows])]
        } else {
            [("bias", &[rows]), ("weight", &[rows, cols])]
        };
        for (leaf, shape) in leaves {
            vars.push(rows_var(&format!("{prefix}/{module}/{leaf}"), shape, dtype));
        }
    }
    vars
}

/// Writes `model.bin` and a `vocabulary.txt` into `dir`.
pub fn write_model_dir(dir: &Path, bin: &[u8], vocab: &[&str]) {
    std::fs::write(dir.join("model.bin"), bin).unwrap();
    std::fs::write(dir.join("vocabulary.txt"), vocab.join("\n") + "\n").unwrap();
}
