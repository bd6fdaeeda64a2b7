#!/usr/bin/env python3
"""Scores scripts/mic_eval.sh's run: per clip, the reference words that whole-clip whisper
(`recorder eval --no-vad`) gets and the microphone path deletes ("lost") or writes
differently ("changed"), with the standard Whisper English normaliser (PyPI
whisper-normalizer) on every side."""
import json
import sys
from pathlib import Path

from whisper_normalizer.english import EnglishTextNormalizer


def ref_ops(ref, hyp):
    """Per reference word: 'hit', 'sub' or 'del' in a cheapest alignment."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]),
                             cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    ops, i, j = ["del"] * n, n, m
    while i > 0:
        same = j > 0 and ref[i - 1] == hyp[j - 1]
        if j > 0 and cost[i][j] == cost[i - 1][j - 1] + (not same):
            ops[i - 1] = "hit" if same else "sub"
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return ops


def edits(ref, hyp):
    """Word edits (substitutions, deletions, insertions) from `ref` to `hyp`."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j - 1] + (r != h), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return prev[-1]


def main(out):
    out = Path(out)
    norm = EnglishTextNormalizer()
    whole = {c["name"]: c for c in json.load(open(out / "whole.json"))["clips"]}
    lines = [json.loads(l) for l in open(out / "mic.jsonl") if l.strip()]
    marks = [l.rstrip("\n").split("\t") for l in open(out / "marks.tsv")]
    lost = changed = words = speech = nonspeech_words = errors = 0
    # A final belongs to the clip playing at its middle (the clip marks are on the session
    # clock, give or take the stream's start-up; clips are 2 s and more apart).
    for (name, a), (_, b) in zip(marks, marks[1:]):
        a, b = float(a) - 0.5, float(b) - 0.5
        text = " ".join(l["text"] for l in lines
                        if l.get("kind") == "final" and a <= (l["start"] + l["end"]) / 2 < b)
        if not whole[name]["speech"]:
            nonspeech_words += len(norm(text).split())
            if text:
                print(f"{name:<48} non-speech gave {text!r}")
            continue
        speech += 1
        ref = norm(whole[name]["reference"]).split()
        w_ops = ref_ops(ref, norm(whole[name]["hypothesis"]).split())
        m_ops = ref_ops(ref, norm(text).split())
        errors += edits(ref, norm(text).split())
        l = [r for r, w, m in zip(ref, w_ops, m_ops) if w == "hit" and m == "del"]
        c = [r for r, w, m in zip(ref, w_ops, m_ops) if w == "hit" and m == "sub"]
        words += len(ref)
        lost += len(l)
        changed += len(c)
        if l or c:
            print(f"{name:<48} lost {l} changed {c}")
    print(f"through the microphone: {speech} speech clips, {words} reference words; "
          f"lost {lost} and changed {changed} against whole-clip whisper; "
          f"{nonspeech_words} words on {len(marks) - 1 - speech} non-speech clips; "
          f"WER {100 * errors / max(1, words):.2f}% ({errors} errors, the first texts, "
          f"Whisper normaliser)")


if __name__ == "__main__":
    main(sys.argv[1])
