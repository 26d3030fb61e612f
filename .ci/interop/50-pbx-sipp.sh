#!/usr/bin/env bash
# Interop: the telox PBX against SIPp (sip-tester).
#  1. SIPp REGISTER with digest auth (REGISTER -> 401 -> REGISTER with Authorization -> 200
#     with the binding -> de-REGISTER with auth -> 200) for 20 demo users.
#  2. SIPp uac (invite-auth-uac.xml: INVITE -> 407 -> ACK -> INVITE with Proxy-Authorization)
#     -> telox PBX (B2BUA, media relay) -> its trunk, a SIPp uas: 1000 calls, zero failures,
#     and one answered call record per call in the PBX's CDR file.
#  3. The same 1000 calls with direct media (signalling-only B2BUA).
#  Prints the PBX's CPU time per call for both (from /proc/PID/stat).
# Programs and SIPp scenarios: .ci/interop/programs/ (copied from the peers toolbox).
set -u
. "$(dirname "$0")/lib.sh"
require sipp
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
CALLS="${CALLS:-1000}"
RATE="${RATE:-100}"
WORK=$(mktemp -d /tmp/telox-pbx-sipp.XXXXXX)
UAS=""; PBX=""
cleanup() { stop_pid "$UAS"; [ -n "$PBX" ] && kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; true; }
trap cleanup EXIT

cpu_ms() { # utime+stime of PID in ms
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14+$15)*1000/hz)}' "/proc/$1/stat" 2>/dev/null || echo 0
}

start_pbx() { # start_pbx EXTRA_ARGS... ; sets PBX, PBX_PORT
  PBX_PORT=$(free_udp_port)
  timeout -k 3 300 "$BIN/pbx" --listen "127.0.0.1:$PBX_PORT" --demo-users 1000-1099 \
    --trunk "127.0.0.1:$UAS_PORT" --digest md5 --quiet "$@" 2>>"$WORK/pbx.log" &
  PBX=$!
  sleep 0.2
  PBX_CHILD=$(pgrep -P "$PBX" | head -1)
  sleep 0.5
}
stop_pbx() { kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; PBX=""; }

UAS_PORT=$(free_udp_port)
UAS=$(UAS_TIMEOUT=300 "$P/sipp-uas.sh" "$UAS_PORT" 2>>"$WORK/uas.log")

# 1. REGISTER with digest auth, 20 users.
start_pbx --cdr "$WORK/cdr-relay.jsonl"
{ echo SEQUENTIAL; for u in $(seq 1000 1019); do echo "$u;[authentication username=$u password=$u];$u;"; done; } > "$WORK/users.csv"
out=$("$P/sipp-register.sh" --csv "127.0.0.1:$PBX_PORT" "$WORK/users.csv" 20 20 2>&1 | tail -1)
echo "  $out"
check "SIPp REGISTER with digest auth: 20 users registered and unregistered" \
  grep -q "result=PASS" <<<"$out"
# A wrong password is refused.
printf 'SEQUENTIAL\n1000;[authentication username=1000 password=wrong];wrong;\n' > "$WORK/bad.csv"
bad=$("$P/sipp-register.sh" --csv "127.0.0.1:$PBX_PORT" "$WORK/bad.csv" 1 1 2>&1 | tail -1)
check "a wrong password is refused" grep -q "result=FAIL" <<<"$bad"

# 2. Calls through the B2BUA with the media relay.
c0=$(cpu_ms "$PBX_CHILD")
out=$(SCENARIO="$P/scenarios/invite-auth-uac.xml" "$P/sipp-uac.sh" "127.0.0.1:$PBX_PORT" "$RATE" "$CALLS" \
      -au 1000 -ap 1000 -s 5551234 -key caller 1000 -d 100 2>&1 | tail -1)
c1=$(cpu_ms "$PBX_CHILD")
echo "  relay: $out"
echo "  relay: pbx cpu $((c1 - c0)) ms for $CALLS calls = $(awk -v c=$((c1 - c0)) -v n="$CALLS" 'BEGIN{printf "%.3f", c/n}') ms/call"
check "SIPp uac -> PBX (media relay) -> SIPp uas: $CALLS calls, zero failures" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
stop_pbx
answered=$(grep -c '"answer_cause":"answered"' "$WORK/cdr-relay.jsonl" 2>/dev/null || echo 0)
check "one answered call record per call ($answered/$CALLS)" test "$answered" -eq "$CALLS"

# 3. The same with direct media.
start_pbx --direct-media --cdr "$WORK/cdr-direct.jsonl"
c0=$(cpu_ms "$PBX_CHILD")
out=$(SCENARIO="$P/scenarios/invite-auth-uac.xml" "$P/sipp-uac.sh" "127.0.0.1:$PBX_PORT" "$RATE" "$CALLS" \
      -au 1042 -ap 1042 -s 5551234 -key caller 1042 -d 100 2>&1 | tail -1)
c1=$(cpu_ms "$PBX_CHILD")
echo "  direct: $out"
echo "  direct: pbx cpu $((c1 - c0)) ms for $CALLS calls = $(awk -v c=$((c1 - c0)) -v n="$CALLS" 'BEGIN{printf "%.3f", c/n}') ms/call"
check "SIPp uac -> PBX (direct media) -> SIPp uas: $CALLS calls, zero failures" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
stop_pbx
summary pbx-sipp
