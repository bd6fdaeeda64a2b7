//! CTranslate2 variable names → the PyTorch-style tensor names whisper.cpp looks up
//! (those of whisper.cpp's `convert-pt-to-ggml.py`), and the full set whisper.cpp expects.

use std::collections::BTreeMap;

use super::Hparams;

/// Splits `layer_<N>/<rest>` into `(N, rest)`. `layer_norm/...` is *not* a layer.
pub(super) fn split_layer(module: &str) -> Option<(usize, &str)> {
    let (index, rest) = module.strip_prefix("layer_")?.split_once('/')?;
    let all_digits = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    Some((index.parse().ok().filter(|_| all_digits)?, rest))
}

/// ggml module names for a CT2 module inside a transformer layer. Several names mean a fused
/// matrix whose rows are those modules' rows stacked in order.
fn layer_modules(module: &str) -> Option<&'static [&'static str]> {
    Some(match module {
        "self_attention/layer_norm" => &["attn_ln"],
        "self_attention/linear_0" => &["attn.query", "attn.key", "attn.value"],
        "self_attention/linear_1" => &["attn.out"],
        "attention/layer_norm" => &["cross_attn_ln"],
        "attention/linear_0" => &["cross_attn.query"],
        "attention/linear_1" => &["cross_attn.key", "cross_attn.value"],
        "attention/linear_2" => &["cross_attn.out"],
        "ffn/layer_norm" => &["mlp_ln"],
        "ffn/linear_0" => &["mlp.0"],
        "ffn/linear_1" => &["mlp.2"],
        _ => return None,
    })
}

/// ggml name of a CT2 module outside the layers (`encodings` has no leaf suffix in ggml).
fn top_level_name(side: &str, module: &str, leaf: &str) -> Option<String> {
    let base = match (side, module) {
        (_, "position_encodings") => {
            return (leaf == "encodings").then(|| format!("{side}.positional_embedding"));
        }
        ("encoder", "conv1" | "conv2") => module,
        ("encoder", "layer_norm") => "ln_post",
        ("decoder", "layer_norm") => "ln",
        ("decoder", "embeddings") => "token_embedding",
        _ => return None,
    };
    Some(format!("{side}.{base}.{}", ggml_leaf(leaf)?))
}

/// CT2 parameter leaf → PyTorch/ggml leaf (layer norms use gamma/beta in CT2).
fn ggml_leaf(leaf: &str) -> Option<&'static str> {
    match leaf {
        "weight" | "gamma" => Some("weight"),
        "bias" | "beta" => Some("bias"),
        _ => None,
    }
}

/// Maps a CT2 variable name to the ggml tensors it becomes: one entry per equal split along
/// the outermost dimension, `None` for a part that is dropped (the fused key bias). Returns
/// `None` for names outside the Whisper layout.
pub fn ggml_names(ct2_name: &str) -> Option<Vec<Option<String>>> {
    let (side, rest) = ct2_name.split_once('/')?;
    if side != "encoder" && side != "decoder" {
        return None;
    }
    let (module, leaf) = rest.rsplit_once('/')?;
    let Some((layer, inner)) = split_layer(module) else {
        return top_level_name(side, module, leaf).map(|name| vec![Some(name)]);
    };
    let leaf = ggml_leaf(leaf)?;
    let parts = layer_modules(inner)?
        .iter()
        .map(|m| {
            // whisper.cpp's attention has no key bias (it would cancel in the softmax anyway).
            let dropped = leaf == "bias" && m.ends_with(".key");
            (!dropped).then(|| format!("{side}.blocks.{layer}.{m}.{leaf}"))
        })
        .collect();
    Some(parts)
}

/// Every tensor whisper.cpp will ask for, with its CT2-order shape.
pub(super) fn expected_tensors(h: &Hparams) -> BTreeMap<String, Vec<usize>> {
    let mut map = BTreeMap::new();
    let (sa, st) = (h.n_audio_state as usize, h.n_text_state as usize);
    let mut add = |name: String, shape: Vec<usize>| map.insert(name, shape);
    add(
        "encoder.positional_embedding".into(),
        vec![h.n_audio_ctx as usize, sa],
    );
    add(
        "encoder.conv1.weight".into(),
        vec![sa, h.n_mels as usize, 3],
    );
    add("encoder.conv2.weight".into(), vec![sa, sa, 3]);
    for name in [
        "encoder.conv1.bias",
        "encoder.conv2.bias",
        "encoder.ln_post.weight",
        "encoder.ln_post.bias",
    ] {
        add(name.into(), vec![sa]);
    }
    add(
        "decoder.positional_embedding".into(),
        vec![h.n_text_ctx as usize, st],
    );
    add(
        "decoder.token_embedding.weight".into(),
        vec![h.n_vocab as usize, st],
    );
    add("decoder.ln.weight".into(), vec![st]);
    add("decoder.ln.bias".into(), vec![st]);
    let blocks = [
        ("encoder", h.n_audio_layer, sa, false),
        ("decoder", h.n_text_layer, st, true),
    ];
    for (side, n_layer, n, cross) in blocks {
        for i in 0..n_layer {
            let prefix = format!("{side}.blocks.{i}");
            let mut modules = vec!["attn"];
            modules.extend(cross.then_some("cross_attn"));
            for m in modules {
                add(format!("{prefix}.{m}_ln.weight"), vec![n]);
                add(format!("{prefix}.{m}_ln.bias"), vec![n]);
                for proj in ["query", "key", "value", "out"] {
                    add(format!("{prefix}.{m}.{proj}.weight"), vec![n, n]);
                    if proj != "key" {
                        add(format!("{prefix}.{m}.{proj}.bias"), vec![n]);
                    }
                }
            }
            add(format!("{prefix}.mlp_ln.weight"), vec![n]);
            add(format!("{prefix}.mlp_ln.bias"), vec![n]);
            add(format!("{prefix}.mlp.0.weight"), vec![4 * n, n]);
            add(format!("{prefix}.mlp.0.bias"), vec![4 * n]);
            add(format!("{prefix}.mlp.2.weight"), vec![n, 4 * n]);
            add(format!("{prefix}.mlp.2.bias"), vec![n]);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ct2_names_to_whisper_cpp_names() {
        let one = |n: &str| Some(vec![Some(n.to_string())]);
        let cases = [
            ("encoder/conv1/weight", one("encoder.conv1.weight")),
            ("encoder/conv2/bias", one("encoder.conv2.bias")),
            (
                "encoder/position_encodings/encodings",
                one("encoder.positional_embedding"),
            ),
            (
                "decoder/position_encodings/encodings",
                one("decoder.positional_embedding"),
            ),
            (
                "decoder/embeddings/weight",
                one("decoder.token_embedding.weight"),
            ),
            // The trap: `layer_norm` starts with `layer_` but is not `layer_<N>`.
            ("encoder/layer_norm/gamma", one("encoder.ln_post.weight")),
            ("decoder/layer_norm/beta", one("decoder.ln.bias")),
            (
                "encoder/layer_3/self_attention/layer_norm/gamma",
                one("encoder.blocks.3.attn_ln.weight"),
            ),
            (
                "decoder/layer_0/attention/layer_norm/beta",
                one("decoder.blocks.0.cross_attn_ln.bias"),
            ),
            (
                "decoder/layer_1/attention/linear_0/weight",
                one("decoder.blocks.1.cross_attn.query.weight"),
            ),
            (
                "decoder/layer_1/attention/linear_2/bias",
                one("decoder.blocks.1.cross_attn.out.bias"),
            ),
            (
                "encoder/layer_12/self_attention/linear_1/weight",
                one("encoder.blocks.12.attn.out.weight"),
            ),
            (
                "encoder/layer_0/ffn/layer_norm/gamma",
                one("encoder.blocks.0.mlp_ln.weight"),
            ),
            (
                "encoder/layer_0/ffn/linear_0/bias",
                one("encoder.blocks.0.mlp.0.bias"),
            ),
            (
                "decoder/layer_5/ffn/linear_1/weight",
                one("decoder.blocks.5.mlp.2.weight"),
            ),
            ("decoder/num_heads", None),
            ("decoder/layer_x/ffn/linear_0/weight", None),
            ("encoder/layer_0/ffn/linear_0/weight_scale", None),
            ("model/whatever/weight", None),
        ];
        for (ct2_name, expected) in cases {
            assert_eq!(ggml_names(ct2_name), expected, "{ct2_name}");
        }
        let s = |n: &str| Some(n.to_string());
        let qkv = ggml_names("encoder/layer_2/self_attention/linear_0/bias").unwrap();
        assert_eq!(
            qkv,
            [
                s("encoder.blocks.2.attn.query.bias"),
                None,
                s("encoder.blocks.2.attn.value.bias")
            ]
        );
        let kv = ggml_names("decoder/layer_0/attention/linear_1/weight").unwrap();
        assert_eq!(
            kv,
            [
                s("decoder.blocks.0.cross_attn.key.weight"),
                s("decoder.blocks.0.cross_attn.value.weight")
            ]
        );
    }
}
