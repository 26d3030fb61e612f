#!/usr/bin/env bash
# Interop: the telox gateway between an internal side and SIP trunks.
#  1. Trunk 1 is a SIPp that answers 503, trunk 2 a SIPp uas: SIPp uac -> gateway: 1000 calls,
#     zero failures, every call failed over to trunk 2.
#  2. Trunk 1 never answers (no process on the port): a call fails over after --trunk-timeout.
#  3. A telox phone (Opus + SDES-SRTP required) calls through the gateway to a telox phone on
#     the trunk side that only speaks PCMU over plain RTP (auto-answer): transcoding and
#     SRTP<->RTP, audio received on both sides, DTMF forwarded.
#  4. A call from a network outside --allow is refused (403).
set -u
. "$(dirname "$0")/lib.sh"
require sipp
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
CALLS="${CALLS:-1000}"
WORK=$(mktemp -d /tmp/telox-gw.XXXXXX)
U1=""; U2=""; GW=""; PH=""
cleanup() { stop_pid "$U1"; stop_pid "$U2"; stop_pid "$PH"; [ -n "$GW" ] && kill -INT "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; true; }
trap cleanup EXIT

start_gw() { # start_gw ARGS...
  GW_PORT=$(free_udp_port)
  timeout -k 3 200 "$BIN/gateway" --listen "127.0.0.1:$GW_PORT" "$@" 2>>"$WORK/gw.log" &
  GW=$!
  sleep 0.5
}
stop_gw() { kill -INT "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; GW=""; }

# 1. 503 failover under load.
T1=$(free_udp_port); T2=$(free_udp_port)
U1=$(SCENARIO="$P/scenarios/uas-503.xml" UAS_TIMEOUT=200 "$P/sipp-uas.sh" "$T1" 2>>"$WORK/uas.log")
U2=$(UAS_TIMEOUT=200 "$P/sipp-uas.sh" "$T2" 2>>"$WORK/uas.log")
start_gw --trunk "127.0.0.1:$T1" --trunk "127.0.0.1:$T2" --allow 127.0.0.0/8 --quiet
out=$("$P/sipp-uac.sh" "127.0.0.1:$GW_PORT" 100 "$CALLS" 2>&1 | tail -1)
echo "  $out"
check "SIPp uac -> gateway -> (503 trunk, then SIPp uas): $CALLS calls, zero failures" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
stop_gw
check "every call failed over" grep -q "$CALLS bridged, 0 failed, 0 refused, $CALLS failovers" "$WORK/gw.log"
stop_pid "$U1"; U1=""

# 2. A dead trunk: failover on timeout.
DEAD=$(free_udp_port)
start_gw --trunk "127.0.0.1:$DEAD" --trunk "127.0.0.1:$T2" --allow 127.0.0.0/8 --trunk-timeout 3s --quiet
out=$(TIMEOUT=30 "$P/sipp-uac.sh" "127.0.0.1:$GW_PORT" 2 4 2>&1 | tail -1)
echo "  $out"
check "dead first trunk: calls fail over after the trunk timeout" grep -Eq "rc=0 created=4 ok=4 failed=0" <<<"$out"
stop_gw
stop_pid "$U2"; U2=""

# 3. Opus/SRTP internal <-> PCMU/RTP trunk, audio both ways, between two telox phones.
TP=$(free_udp_port)
timeout -k 3 60 "$BIN/phone" --listen "127.0.0.1:$TP" --auto-answer --codecs pcmu --srtp off \
  --calls 1 --max-time 40s </dev/null >"$WORK/trunk-phone.out" 2>"$WORK/trunk-phone.log" &
PH=$!
start_gw --trunk "127.0.0.1:$TP" --allow 127.0.0.0/8
timeout 40 "$BIN/phone" --call "sip:5551234@127.0.0.1:$GW_PORT" --codecs opus --srtp required \
  --duration 4s --dtmf 59 </dev/null >"$WORK/caller.out" 2>"$WORK/caller.log"
rc=$?
wait "$PH" 2>/dev/null; PH=""
stop_gw
cat "$WORK/caller.out" "$WORK/trunk-phone.out" | sed 's/^/  /'
check "internal phone: call answered with Opus + SRTP" grep -q "call up: opus/48000, SRTP AEAD" "$WORK/caller.log"
check "internal phone received audio (exit 0)" test "$rc" -eq 0
check "trunk phone: PCMU without SRTP" grep -q "call up: PCMU/8000, SRTP none" "$WORK/trunk-phone.log"
recv=$(awk 'NR==2{print $5}' "$WORK/trunk-phone.out")
check "trunk phone received transcoded audio ($recv packets)" test "${recv:-0}" -gt 100
check "DTMF 59 forwarded to the trunk side" grep -Eq ' 59$' "$WORK/trunk-phone.out"

# 4. Not in --allow.
T3=$(free_udp_port)
U2=$(UAS_TIMEOUT=60 "$P/sipp-uas.sh" "$T3" 2>>"$WORK/uas.log")
start_gw --trunk "127.0.0.1:$T3" --allow 10.0.0.0/8 --quiet
out=$(TIMEOUT=10 "$P/sipp-uac.sh" "127.0.0.1:$GW_PORT" 1 1 2>&1 | tail -1)
stop_gw
check "a caller outside --allow is refused" grep -q "1 refused" "$WORK/gw.log"
summary gateway
