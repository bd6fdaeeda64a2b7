#!/usr/bin/env python3
"""faster-whisper on the eval clips, the way `recorder bench latency` times ours.

Same CT2 weights as our ggml file (models/ct2/tiny.en), same thread count, greedy
(beam_size=1, best_of=1, temperature 0 only), condition_on_previous_text=False,
vad_filter=False, a warm model. Latency: each speech clip's samples (already in memory)
through transcribe(), all segments consumed, `--runs` rounds round-robin. Throughput: every
file of the manifest from its path, one after another.

    fw_bench.py MODEL_DIR MANIFEST --compute-type int8 --threads 2 --runs 5 > fw-int8.json
"""

import argparse
import json
import os
import sys
import time


def load_manifest(path):
    base = os.path.dirname(os.path.abspath(path))
    clips = []
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        if not header.startswith("file\t"):
            sys.exit(f"{path}: not a manifest (no header)")
        for line in f:
            if not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            file, duration, transcript = cols[0], float(cols[1]), cols[2]
            name = os.path.splitext(os.path.basename(file))[0]
            clips.append(
                {
                    "name": name,
                    "path": os.path.join(base, file),
                    "duration_s": duration,
                    "speech": bool(transcript.strip()),
                }
            )
    return clips


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("manifest")
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--throughput-runs", type=int, default=3)
    ap.add_argument("--clips", default="", help="comma-separated clip names (latency only)")
    args = ap.parse_args()

    import faster_whisper
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    clips = load_manifest(args.manifest)
    wanted = [c for c in args.clips.split(",") if c]
    speech = [c for c in clips if c["speech"] and (not wanted or c["name"] in wanted)]

    t0 = time.perf_counter()
    model = WhisperModel(
        args.model_dir,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        num_workers=1,
    )
    load_s = time.perf_counter() - t0

    options = dict(
        language="en",
        beam_size=1,
        best_of=1,
        temperature=0.0,
        condition_on_previous_text=False,
        vad_filter=False,
        without_timestamps=False,
    )

    def transcribe(audio):
        segments, _ = model.transcribe(audio, **options)
        return " ".join(s.text.strip() for s in segments).strip()

    audio = {c["name"]: decode_audio(c["path"], sampling_rate=16000) for c in speech}
    transcribe(audio[speech[0]["name"]])  # warm-up

    runs = {c["name"]: [] for c in speech}
    texts = {}
    for r in range(args.runs):
        for c in speech:
            t = time.perf_counter()
            text = transcribe(audio[c["name"]])
            runs[c["name"]].append((time.perf_counter() - t) * 1000.0)
            texts.setdefault(c["name"], text)
        print(f"fw {args.compute_type}: round {r + 1}/{args.runs}", file=sys.stderr)

    wall = []
    for _ in range(args.throughput_runs):
        t = time.perf_counter()
        for c in clips:
            transcribe(c["path"])
        wall.append(time.perf_counter() - t)

    json.dump(
        {
            "version": faster_whisper.__version__,
            "compute_type": args.compute_type,
            "threads": args.threads,
            "load_s": load_s,
            "clips": [
                {
                    "name": c["name"],
                    "duration_s": c["duration_s"],
                    "runs_ms": runs[c["name"]],
                    "text": texts[c["name"]],
                }
                for c in speech
            ],
            "throughput": {
                "files": len(clips),
                "audio_s": sum(c["duration_s"] for c in clips),
                "runs_s": wall,
            },
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
