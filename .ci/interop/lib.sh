# Shared helpers for the interop scripts (sourced, not run).
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
PASS=0
FAIL=0

# require CMD: fail (CI) or skip the script (local) when a peer is missing.
require() {
  if ! command -v "$1" >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "interop: required peer '$1' is missing" >&2
      exit 1
    fi
    echo "interop: '$1' missing, skipping (set CI=true to make this a failure)" >&2
    exit 0
  fi
}

# interop_build: the release build every script runs against, the same two commands `.ci/run`
# runs at its "build release programs" stage, so that in CI a script finds them fresh (under a
# second) and a script run alone still builds what it needs:
#  1. telox-examples' programs, exactly the README's selection (`cargo run --release -p
#     telox-examples --bin demo-call` then finds them fresh; any other selection resolves other
#     features and would build the programs a second time);
#  2. the examples of sip-core (with `tokio`), srtp and codecs in ONE cargo invocation. An
#     example may use its package's dev-dependencies (proptest, rcgen, aes-gcm, hound), which
#     switch on features of shared crates (crypto-common, rand...): every distinct
#     package/feature selection compiles those and every telox crate above them once more. One
#     selection for the three compiles them once; a script must not run a `cargo build -p X
#     --features Y` of its own.
interop_build() {
  (cd "$ROOT" && cargo build --release --quiet -p telox-examples --bins &&
    cargo build --release --quiet --examples -p telox-sip-core -p telox-srtp -p telox-codecs \
      --features telox-sip-core/tokio)
}

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# free_udp_port: a port on 127.0.0.1 that is free on UDP and on TCP (the scripts use one
# number for a program's UDP and TCP listeners, and some for TCP or TLS alone).
free_udp_port() {
  python3 -c '
import socket
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
'
}

# wait_log FILE PATTERN [SECONDS=10]: until FILE has a line matching PATTERN (grep -E); a
# readiness wait (a phone "registered", a server "listening") instead of a fixed sleep, which
# a loaded CI box outruns. Returns 1 (and says so) on timeout; the checks after it then fail.
wait_log() {
  local i n=$(( ${3:-10} * 10 ))
  for ((i = 0; i < n; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "interop: '$2' not in $1 after ${3:-10} s" >&2
  return 1
}

stop_pid() { [ -n "${1:-}" ] && kill "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; }

summary() {
  echo "interop $1: $PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
