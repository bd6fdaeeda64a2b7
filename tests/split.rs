//! A monologue without a pause is split before the segmenter's 25 s limit with overlapping
//! parts: the words at the seam come out once each, none lost and none doubled.

// A test fails by panicking: `unwrap` is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use recorder::bench::interim::words::lcs_pairs as lcs;
use recorder::eval::normalize::normalize;
use serde_json::Value;
use support::run::{Sandbox, output, texts, tiny_en};
use support::speak;

/// 33 s of espeak-ng at 140 words a minute with no punctuation (it pauses only there): no
/// pause for the segmenter to split at.
const MONOLOGUE: &str = "the morning train leaves the station at seven and carries workers \
    toward the harbor where ships unload coffee grain timber and steel while gulls circle \
    above the cranes and the river slowly carries melting snow from distant mountains past \
    quiet farms old mills narrow bridges and small villages until it finally reaches the open \
    sea where fishing boats return each evening with their silver catch and tired sailors walk \
    home through lantern lit streets to warm kitchens full of bread soup and laughter";

#[test]
fn a_forced_split_loses_and_doubles_no_word() {
    tiny_en();
    let sb = Sandbox::new();
    let wav = sb.path().join("monologue.wav");
    speak(MONOLOGUE, &wav).unwrap();
    let o = output(sb.cmd().args(["transcribe", "--json"]).arg(&wav));
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}\n{}", sb.log());
    let parts: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == "final")
        .map(|v| v["text"].as_str().unwrap().to_string())
        .collect();
    assert!(parts.len() >= 2, "the monologue was split: {parts:?}");
    let script = normalize(MONOLOGUE);
    let mut heard = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        let seam = heard.len();
        heard.extend(normalize(part));
        if k == 0 {
            continue;
        }
        // The script words lined up with the last word before the seam and the first after
        // it must be neighbours in both texts: nothing left out, nothing written twice.
        let pairs = lcs(&script, &heard);
        let before = pairs.iter().rev().find(|p| p.1 < seam).copied();
        let after = pairs.iter().find(|p| p.1 >= seam).copied();
        let (Some((i1, j1)), Some((i2, j2))) = (before, after) else {
            panic!("nothing lines up around seam {k}: {parts:?}");
        };
        let context = format!("seam {k}: {:?} | {:?}", &heard[j1..seam], &heard[seam..=j2]);
        assert!(
            seam - j1 <= 2 && j2 - seam <= 1,
            "misheard at the seam, {context}"
        );
        assert_eq!(i2, i1 + 1, "a script word is lost, {context}\n{parts:#?}");
        assert_eq!(j2, j1 + 1, "a word is doubled, {context}\n{parts:#?}");
    }
}
