#!/usr/bin/env bash
# Interop: kamailio (Debian package) as a stateful front proxy / dispatcher in front of two
# telox PBX instances: SIPp uac (digest-authenticated INVITEs) -> kamailio (tm, Record-Route,
# dispatcher hashing the Call-ID) -> PBX 1 or PBX 2 -> trunk (SIPp uas). Calls complete through
# it with zero failures, and both PBXs took calls.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
require kamailio
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
CALLS="${CALLS:-400}"
WORK=$(mktemp -d /tmp/telox-kam.XXXXXX)
UAS=""; K=""; P1=""; P2=""
cleanup() {
  stop_pid "$UAS"; stop_pid "$K"
  for p in $P1 $P2; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; true
}
trap cleanup EXIT
UAS_PORT=$(free_udp_port)
UAS=$(UAS_TIMEOUT=200 "$P/sipp-uas.sh" "$UAS_PORT" 2>>"$WORK/uas.log")
start_pbx() { # start_pbx N -> PBXn on a free port
  local port; port=$(free_udp_port)
  timeout -k 3 200 "$BIN/pbx" --listen "127.0.0.1:$port" --demo-users 1000-1099 --digest md5 \
    --trunk "127.0.0.1:$UAS_PORT" --cdr "$WORK/cdr-$1.jsonl" --quiet 2>>"$WORK/pbx-$1.log" &
  echo "$! $port"
}
read -r P1 PORT1 < <(start_pbx 1)
read -r P2 PORT2 < <(start_pbx 2)
printf '1 sip:127.0.0.1:%s\n1 sip:127.0.0.1:%s\n' "$PORT1" "$PORT2" > "$WORK/dispatcher.list"
KPORT=$(free_udp_port)
# One UDP worker: with several, kamailio's tm can send a relayed 180 after the 200 of the same
# call (the 180's worker decides to relay under the reply lock but sends after unlocking, while
# another worker relays the 200). RFC 3261 lets a UAC ignore that 1xx; SIPp's scenario fails the
# call instead (seen once in 400 calls at load 17). 50 calls/s needs only one worker.
K=$(KAM_CHILDREN=1 KAM_TIMEOUT=200 KAM_DEFINES="DS_LIST=\"$WORK/dispatcher.list\"" OUTDIR="$WORK/kam" \
    "$P/kamailio.sh" "$P/kamailio/dispatcher.cfg" "$KPORT" 2>>"$WORK/kam.log")
check "kamailio started with the dispatcher config" test -n "$K"
sleep 0.5
out=$(SCENARIO="$P/scenarios/invite-auth-uac.xml" "$P/sipp-uac.sh" "127.0.0.1:$KPORT" "${RATE:-50}" "$CALLS" \
      -au 1000 -ap 1000 -s 5551234 -key caller 1000 -d 100 2>&1 | tail -1)
echo "  $out"
check "SIPp -> kamailio dispatcher -> 2 telox PBXs -> SIPp uas: $CALLS calls, zero failures" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
for p in $P1 $P2; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
P1=""; P2=""
n1=$(grep -c '"answer_cause":"answered"' "$WORK/cdr-1.jsonl" 2>/dev/null || echo 0)
n2=$(grep -c '"answer_cause":"answered"' "$WORK/cdr-2.jsonl" 2>/dev/null || echo 0)
echo "  PBX 1 answered $n1 calls, PBX 2 answered $n2"
check "both PBXs took calls and together answered all ($n1 + $n2 = $CALLS)" \
  test "$n1" -gt 0 -a "$n2" -gt 0 -a $((n1 + n2)) -eq "$CALLS"
summary kamailio
