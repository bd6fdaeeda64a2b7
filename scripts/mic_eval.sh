#!/usr/bin/env bash
# The eval set through the real capture path: every speech clip of MANIFEST is played into a
# virtual microphone (a private PulseAudio daemon, scripts/vmic.sh; 48 kHz stereo there,
# resampled by recorder) while `recorder --headless --json` records, with 2 s of silence
# after each. Each clip's final lines are then scored against its reference and against
# whole-clip whisper on the same weights (`recorder eval --no-vad`): the words the microphone
# path loses (scripts/mic_eval.py). A live stream starts at an arbitrary sample, so this is
# the chunk-grid question of `recorder eval --shifts` asked the way a user meets it.
#
#   scripts/mic_eval.sh MANIFEST OUTDIR [PYTHON]    (PYTHON: one with whisper-normalizer)
# Needs the test packages (make setup-test) and about 4 minutes (130 s of speech).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MANIFEST=$1
OUT=$2
PY=${3:-python3}
BIN="$ROOT/target/release/recorder"
mkdir -p "$OUT"
XDG_DATA_HOME="$OUT/xdg" XDG_STATE_HOME="$OUT/xdg" \
  "$BIN" eval "$MANIFEST" --no-vad --json >"$OUT/whole.json"

# shellcheck source=vmic.sh
source "$ROOT/scripts/vmic.sh" start
trap 'kill "$REC" 2>/dev/null || true; vmic_stop || true' EXIT
# Sessions and logs of this run stay in OUT.
XDG_DATA_HOME="$OUT/xdg" XDG_STATE_HOME="$OUT/xdg" \
  "$BIN" --headless --json >"$OUT/mic.jsonl" 2>"$OUT/mic.err" &
REC=$!
# The loopback records from the mic too: wait for a second stream (recorder's).
for _ in $(seq 300); do
  (($(pactl list short source-outputs | wc -l) >= 2)) && break
  sleep 0.1
done
sox -n -r 16000 -c 1 -b 16 "$OUT/gap.wav" trim 0 2.0
# The session clock starts about when recorder's stream appears; each clip's start on that
# clock assigns the final lines to clips by their time (a slow final may arrive during the
# next clip).
t0=$(date +%s.%N)

lines() { wc -l <"$OUT/mic.jsonl"; }
: >"$OUT/marks.tsv"
dir=$(dirname "$MANIFEST")
# Every clip, the non-speech ones too (they must give no words).
tail -n +2 "$MANIFEST" | cut -f1 | while read -r file; do
  printf '%s\t%s\n' "$(basename "$file" .wav)" "$(awk -v t="$(date +%s.%N)" -v t0="$t0" 'BEGIN { printf "%.3f", t - t0 }')" >>"$OUT/marks.tsv"
  paplay --device=feed "$dir/$file" </dev/null
  paplay --device=feed "$OUT/gap.wav" </dev/null
  # Until no final line came for 2 s (the last utterance closed and was transcribed).
  last=$(lines) quiet=0
  while ((quiet < 10)); do
    sleep 0.2
    now=$(lines)
    if ((now == last)); then quiet=$((quiet + 1)); else quiet=0 last=$now; fi
  done
done
printf 'END\t%s\n' "$(awk -v t="$(date +%s.%N)" -v t0="$t0" 'BEGIN { printf "%.3f", t - t0 }')" >>"$OUT/marks.tsv"
kill -INT "$REC"
wait "$REC" || true
"$PY" "$ROOT/scripts/mic_eval.py" "$OUT"
