#!/usr/bin/env python3
"""Scores a `recorder eval --json` report with the standard Whisper English normaliser.

    recorder eval MANIFEST --json > eval.json
    .bench/venv/bin/python scripts/wer_whisper.py eval.json

Public ASR leaderboards score with openai/whisper's EnglishTextNormalizer (PyPI
`whisper-normalizer`); our own normaliser (src/eval/normalize.rs) also handles the eval set's
mixed reference styles. Both figures side by side make ours comparable with published ones.
Word error rate = (substitutions + deletions + insertions) / reference words, word-weighted
over the speech clips.
"""
import json
import sys

from whisper_normalizer.english import EnglishTextNormalizer


def edits(ref, hyp):
    """Levenshtein distance in words."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diag, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diag, row[j] = row[j], min(diag + (r != h), row[j] + 1, row[j - 1] + 1)
    return row[-1]


def main(path):
    report = json.load(open(path))
    norm = EnglishTextNormalizer()
    words = errors = 0
    for clip in report["clips"]:
        if not clip["speech"]:
            continue
        ref = norm(clip["reference"]).split()
        hyp = norm(clip["hypothesis"]).split()
        words += len(ref)
        errors += edits(ref, hyp)
    ours = report["summary"]
    print(
        f"WER ours {100 * ours['wer']:.2f}% ({ours['score']['ref_words']} words) · "
        f"whisper-normalizer EnglishTextNormalizer {100 * errors / max(words, 1):.2f}% "
        f"({errors} errors in {words} words) · {ours['nonspeech_words']} words on non-speech"
    )


if __name__ == "__main__":
    main(sys.argv[1])
