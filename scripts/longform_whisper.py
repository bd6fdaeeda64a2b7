#!/usr/bin/env python3
"""Scores `recorder eval --long-form --json` reports with the standard Whisper English
normaliser beside ours, one line per set, for the README's long-form table.

    recorder eval MANIFEST --long-form --json > long.json
    .bench/venv/bin/python scripts/longform_whisper.py LABEL long.json [LABEL long.json ...]

WER = (substitutions + deletions + insertions) / reference words, after PyPI
`whisper-normalizer`'s EnglishTextNormalizer (what public leaderboards use); "ours" is
src/eval/normalize.rs. The fragment rate (sentence breaks the reference does not have, per
100 output words) and the settle pass's CPU time come from the report as they are.
"""
import json
import sys

from whisper_normalizer.english import EnglishTextNormalizer

from wer_whisper import edits  # the same word edit distance (this folder)


def main(args):
    if len(args) % 2:
        sys.exit("usage: longform_whisper.py LABEL REPORT.json [LABEL REPORT.json ...]")
    norm = EnglishTextNormalizer()
    print("| run | set | WER (Whisper normaliser) | WER (ours) | fragments / 100 words | settle passes taken | settle CPU s / min |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, path in zip(args[::2], args[1::2]):
        report = json.load(open(path))
        for run in report["runs"]:
            ref = norm(run["reference"]).split()
            hyp = norm(run["hypothesis"]).split()
            wer = 100 * edits(ref, hyp) / max(len(ref), 1)
            s = run["settle"]
            passes = s["taken"] + s["refused"]
            print(
                f"| {label} | {run['set']} | {wer:.2f}% | {100 * run['wer']:.2f}% | "
                f"{run['fragment_rate']:.2f} | {s['taken']} of {passes} | "
                f"{run['settle_s_per_min']:.2f} |"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
