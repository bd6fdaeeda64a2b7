# shellcheck shell=bash
# vmic.sh: a virtual microphone for running the recorder without a sound card.
#
# It starts a private PulseAudio daemon whose default source plays whatever you feed it,
# and points ALSA's `default` device (the one cpal opens) at that daemon. The same recipe
# as tests/support/vmic.rs.
#
#   source scripts/vmic.sh start    # start a daemon, export its environment into this shell
#   cargo run -- --headless         # the app now records from the virtual mic
#   scripts/vmic.sh feed FILE.wav   # play FILE into the mic; returns when it has played
#   scripts/vmic.sh stop            # stop the daemon, remove its folder (and unset the env
#                                   # again when sourced)
#
# `start` must be sourced, to export the variables; `feed` and `stop` find the daemon
# through those variables (VMIC_DIR), so run them from the same shell.
# Exported: VMIC_DIR, XDG_CONFIG_HOME (alsa-lib reads $XDG_CONFIG_HOME/alsa/asoundrc, so
# the app also reads its own config from $VMIC_DIR/config), PULSE_SERVER, PULSE_COOKIE,
# PULSE_CLIENTCONFIG.
#
# Needs: pulseaudio, pulseaudio-utils (pactl, paplay), libasound2-plugins (ALSA pulse plugin).
# Speech to feed: espeak-ng -w /tmp/hello.wav "Hello there"
#
#   paplay --device=feed ─▶ null sink "feed" ─▶ feed.monitor = default source (the mic)
#   module-loopback keeps feed.monitor running (else the first 0.5-2 s recorded are lost)
#   suspend+resume of "feed" at the end of the script: the null sink rendered a 2 s block
#   before the loopback connected, and would stall all clients until its end; resuming
#   restarts its clock, so the mic is live as soon as `start` returns
#   default sink is a separate null sink "discard", so other playback never reaches the mic

vmic_die() {
  echo "vmic: $*" >&2
  return 1
}

vmic_write_config() {
  local dir=$1
  mkdir -p "$dir/config/alsa" && mkdir -m 700 "$dir/runtime" || return
  cat >"$dir/pulse.pa" <<EOF
load-module module-native-protocol-unix socket=$dir/sock auth-anonymous=1
load-module module-null-sink sink_name=feed
load-module module-null-sink sink_name=discard
load-module module-null-sink sink_name=keepalive
load-module module-loopback source=feed.monitor sink=keepalive latency_msec=60
set-default-sink discard
set-default-source feed.monitor
suspend-sink feed 1
suspend-sink feed 0
EOF
  cat >"$dir/config/alsa/asoundrc" <<EOF
pcm.!default { type pulse server "unix:$dir/sock" }
ctl.!default { type pulse server "unix:$dir/sock" }
EOF
  # autospawn=no: once the daemon is stopped, clients must not start a default one.
  echo "autospawn = no" >"$dir/client.conf"
}

vmic_start() {
  [ -z "${VMIC_DIR:-}" ] || vmic_die "already running in $VMIC_DIR (vmic.sh stop first)" || return
  # A short folder under /tmp: the socket path must stay under 108 bytes.
  local dir
  dir=$(mktemp -d /tmp/vmic-XXXXXX) || return
  vmic_write_config "$dir" || return
  # --daemonize=yes returns once the script is loaded. (Do not use --daemonize=no with `&`
  # inside `$(...)`: the daemon keeps the substitution's pipe open and the shell hangs.)
  HOME=$dir XDG_RUNTIME_DIR=$dir/runtime XDG_CONFIG_HOME=$dir/config \
    pulseaudio -n -F "$dir/pulse.pa" --daemonize=yes --exit-idle-time=-1 \
    --disable-shm=yes --log-target="file:$dir/pulse.log" </dev/null ||
    { rm -rf "$dir"; vmic_die "pulseaudio failed to start"; return; }

  export VMIC_DIR=$dir
  export XDG_CONFIG_HOME=$dir/config
  export PULSE_SERVER=unix:$dir/sock
  export PULSE_COOKIE=$dir/cookie
  export PULSE_CLIENTCONFIG=$dir/client.conf

  # Poll (up to 10 s) until the daemon answers and the loopback is loaded.
  local i
  for i in $(seq 100); do
    pactl list short modules 2>/dev/null | grep -q module-loopback && break
    sleep 0.1
  done
  [ "$i" -lt 100 ] || vmic_die "daemon not ready; see $dir/pulse.log" || return
  echo "vmic: running in $dir (PID $(cat "$dir/runtime/pulse/pid"))" >&2
}

vmic_feed() {
  [ -n "${VMIC_DIR:-}" ] || vmic_die "not started (source scripts/vmic.sh start)" || return
  [ -f "${1:-}" ] || vmic_die "usage: vmic.sh feed FILE.wav" || return
  paplay --device=feed "$1"
}

# Whether PID runs: it has a /proc entry and is not a zombie. The daemon is not our child,
# so after exiting it stays a zombie until init reaps it, which can take seconds.
vmic_alive() {
  [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]
}

vmic_stop() {
  [ -n "${VMIC_DIR:-}" ] || vmic_die "not started" || return
  local pid i
  pid=$(cat "$VMIC_DIR/runtime/pulse/pid" 2>/dev/null)
  # Only kill the PID if it is still our daemon (a stale PID may have been reused).
  if [ -n "$pid" ] && grep -q "$VMIC_DIR/pulse.pa" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 50); do
      vmic_alive "$pid" || break
      sleep 0.1
    done
  fi
  rm -rf "$VMIC_DIR"
  unset VMIC_DIR XDG_CONFIG_HOME PULSE_SERVER PULSE_COOKIE PULSE_CLIENTCONFIG
}

vmic_main() {
  case "${1:-}" in
  start) vmic_start ;;
  feed) vmic_feed "${2:-}" ;;
  stop) vmic_stop ;;
  *) vmic_die "usage: source scripts/vmic.sh start | vmic.sh feed FILE.wav | vmic.sh stop" ;;
  esac
}

# `return` works only when sourced; that is how `start` can tell it was not.
if (return 0 2>/dev/null); then
  vmic_main "$@"
else
  [ "${1:-}" != start ] || { echo "vmic: use 'source scripts/vmic.sh start'" >&2; exit 1; }
  vmic_main "$@"
fi
