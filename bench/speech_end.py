#!/usr/bin/env python3
"""Speech end -> final text through the virtual microphone (`make bench`, issue #14).

Each clip, with its trailing silence trimmed (so the end of the feed is the end of speech), is
played into the virtual microphone (`paplay --device=feed`, which returns once the sink has
played it) while `recorder --headless --json --interim` records from it, as a user would with
the TUI (live text on). The clock starts when paplay returns and stops when the last `final`
line of that clip reaches us. A gap of silence follows each clip, long enough for the settle
pass to run, so one clip's work never spills into the next one's figure.

    bench/speech_end.py BIN MANIFEST [--clips a,b] [--runs N] [--label L] > out.json

Needs the virtual microphone's environment (`source scripts/vmic.sh start`), sox is not
needed (the trimming is done here). Prints one JSON object: per clip the runs (ms) and the
summary (median, p95, max over every run of every clip).
"""

import argparse
import array
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave

# Eight eval clips of 2-11 s (the set the issue measured on): speech clips of one speaker
# each, none of them a non-speech control.
DEFAULT_CLIPS = [
    "fw_jfk",
    "fw_stereo_diarization_left",
    "cheetah_test_en",
    "ps_librivox_sense_and_sensibility_0870",
    "ps_librivox_sense_and_sensibility_0880",
    "ps_goforward",
    "deepspeech_new-home-in-the-stars",
    "speechbrain_example1",
]

# Silence after each clip: the settle pass runs after a 2 s pause, and takes ~0.3-0.8 s.
GAP_S = 3.0
# A final later than this after the speech end counts as missing (the utterance was lost,
# or joined the next clip).
WAIT_S = 6.0


def trim_trailing_silence(src, dst):
    """Copies `src` (16-bit PCM) to `dst` without the trailing audio under -35 dB of the
    clip's peak, in 10 ms frames, keeping 10 ms after the last loud frame (at -45 dB
    `ps_goforward` kept 0.6 s of room noise after its last word: its text came before the
    feed ended)."""
    with wave.open(src, "rb") as w:
        params = w.getparams()
        frames = w.readframes(w.getnframes())
    if params.sampwidth != 2:
        raise SystemExit(f"{src}: 16-bit PCM expected")
    pcm = array.array("h", frames)
    if sys.byteorder == "big":
        pcm.byteswap()
    ch = params.nchannels
    step = params.framerate // 100 * ch
    peak = max(1, max(abs(s) for s in pcm))
    floor = peak * 10 ** (-35 / 20)
    last = 0
    for i in range(0, len(pcm), step):
        block = pcm[i : i + step]
        rms = (sum(s * s for s in block) / max(1, len(block))) ** 0.5
        if rms >= floor:
            last = i + step
    keep = min(len(pcm), last + step)
    out = pcm[:keep]
    if sys.byteorder == "big":
        out.byteswap()
    with wave.open(dst, "wb") as w:
        w.setparams(params)
        w.writeframes(out.tobytes())
    return keep / ch / params.framerate


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(xs):
    if not xs:
        return {"n": 0}
    return {
        "n": len(xs),
        "median_ms": round(statistics.median(xs), 1),
        "p95_ms": round(percentile(xs, 0.95), 1),
        "max_ms": round(max(xs), 1),
    }


def reader(stream, lines):
    for line in stream:
        lines.put((time.monotonic(), line))
    lines.put((time.monotonic(), None))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("manifest")
    ap.add_argument("--clips", default=",".join(DEFAULT_CLIPS))
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--label", default="quiet")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--config", help="a config file for recorder (e.g. smart_endpoint off)")
    args = ap.parse_args()
    if "PULSE_SERVER" not in os.environ:
        raise SystemExit("speech_end.py: no virtual microphone (source scripts/vmic.sh start)")
    eval_dir = os.path.dirname(os.path.abspath(args.manifest))
    names = [c.strip() for c in args.clips.split(",") if c.strip()]
    tmp = tempfile.mkdtemp(prefix="speech-end-")
    clips = []
    for name in names:
        src = os.path.join(eval_dir, "audio", name + ".wav")
        dst = os.path.join(tmp, name + ".wav")
        clips.append((name, dst, trim_trailing_silence(src, dst)))

    cmd = [args.bin, "--threads", args.threads, "--headless", "--json", "--interim"]
    if args.config:
        cmd += ["--config", args.config]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=reader, args=(proc.stdout, lines), daemon=True).start()
    # The workers load while the first second of silence plays.
    time.sleep(2.0)

    def drain(until):
        """Final lines until `until` (monotonic): [(arrival, json)]."""
        got = []
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return got
            try:
                at, line = lines.get(timeout=left)
            except queue.Empty:
                return got
            if line is None:
                raise SystemExit("speech_end.py: recorder exited early")
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("kind") == "final":
                got.append((at, msg))

    results = {
        name: {
            "runs_ms": [],
            "worker_ms": [],
            "utterances": [],
            "missed": 0,
            "audio_s": round(d, 3),
        }
        for name, _, d in clips
    }
    try:
        drain(time.monotonic())
        for _ in range(args.runs):
            for name, path, _ in clips:
                subprocess.run(["paplay", "--device=feed", path], check=True)
                end = time.monotonic()
                finals = drain(end + GAP_S)
                if not [f for f in finals if f[0] > end]:
                    # Slower than the gap: wait on, up to WAIT_S.
                    finals += drain(end + WAIT_S)
                got = [(at, m) for at, m in finals if at > end]
                # Every final read since the clip began is one of its utterances.
                results[name]["utterances"].append(len(finals))
                if got:
                    at, last = max(got, key=lambda g: g[0])
                    results[name]["runs_ms"].append(round((at - end) * 1000.0, 1))
                    worker = (last.get("timings") or {}).get("worker_ms")
                    results[name]["worker_ms"].append(worker and round(worker, 1))
                else:
                    results[name]["missed"] += 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    every = [x for r in results.values() for x in r["runs_ms"]]
    for r in results.values():
        r.update(summary(r["runs_ms"]))
    json.dump(
        {
            "label": args.label,
            "runs": args.runs,
            "clips": results,
            "summary": summary(every),
            "missed": sum(r["missed"] for r in results.values()),
            "utterances": sum(sum(r["utterances"]) for r in results.values()),
        },
        sys.stdout,
        indent=1,
    )
    print()


if __name__ == "__main__":
    main()
