#!/usr/bin/env bash
# Interop: blind transfer (REFER) through the telox PBX's B2BUA.
#  A SIPp uac (user 1000, scenarios/refer-uac.xml) calls 5551234 through the PBX; the PBX's
#  trunk is a SIPp uas that answers. The uac then sends REFER to 5559999: the PBX answers 202,
#  NOTIFYs "100 Trying", calls 5559999 (the trunk again), and when it answers moves it onto the
#  uac's side of the media relay, NOTIFYs "200 OK" and hangs up the uac. The other party stays
#  connected (now to the transfer target) until the PBX stops.
#  Then the same with an attended transfer (REFER with Replaces): see below.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
SC="$(readlink -f "$P/scenarios")"
CALLS="${CALLS:-10}"
WORK=$(mktemp -d /tmp/telox-xfer.XXXXXX)
UAS=""; PBX=""
cleanup() { stop_pid "$UAS"; [ -n "$PBX" ] && kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; true; }
trap cleanup EXIT

UAS_PORT=$(free_udp_port)
UAS=$(UAS_TIMEOUT=120 "$P/sipp-uas.sh" "$UAS_PORT" 2>>"$WORK/uas.log")
# transferor NAME SCENARIO [sipp args...]: starts a PBX ($PBX; log $WORK/NAME.log, call
# records $WORK/NAME.jsonl) whose trunk is the SIPp uas, and runs the SIPp transferor
# SCENARIO as user 1000 calling 5551234, CALLS times; SIPp's summary line goes to $out.
transferor() {
  local name=$1 scenario=$2; shift 2
  PBX_PORT=$(free_udp_port)
  timeout -k 3 100 "$BIN/pbx" --listen "127.0.0.1:$PBX_PORT" --demo-users 1000-1099 \
    --trunk "127.0.0.1:$UAS_PORT" --digest md5 --cdr "$WORK/$name.jsonl" >/dev/null 2>"$WORK/$name.log" &
  PBX=$!
  sleep 0.7
  out=$(SCENARIO="$SC/$scenario" TIMEOUT=60 "$P/sipp-uac.sh" "127.0.0.1:$PBX_PORT" 5 "$CALLS" \
    -au 1000 -ap 1000 -s 5551234 -key caller 1000 "$@" 2>&1 | tail -1)
  echo "  $out"
}

transferor pbx refer-uac.xml -d 500
check "SIPp transferor: 202, NOTIFY 100, NOTIFY 200, BYE from the PBX for $CALLS calls" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
done=$(grep -c "transfer completed" "$WORK/pbx.log")
check "PBX: $done/$CALLS transfers completed" test "$done" -eq "$CALLS"
kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; PBX=""
recs=$(grep -c '"answer_cause":"answered"' "$WORK/pbx.jsonl" 2>/dev/null || echo 0)
check "one answered call record per transferred call ($recs)" test "$recs" -eq "$CALLS"
targets=$(grep -c "now with 5559999" "$WORK/pbx.log")
check "every call is now with the transfer target ($targets/$CALLS)" test "$targets" -eq "$CALLS"

# Attended transfer (RFC 5589 §7): a SIPp transferor (scenarios/attended-uac.xml) calls
# 5551234, then 5559999 in a second dialog, and REFERs the first call with a Replaces naming
# the second (as the PBX sees it). The PBX bridges the two trunk parties itself, NOTIFYs 100
# then 200, and hangs up both of the transferor's dialogs.
transferor attended attended-uac.xml -d 300 -cid_str "%u-%p-xfer"
check "SIPp attended transferor: two calls, REFER with Replaces, 202, NOTIFY 100 and 200, BYE on both dialogs for $CALLS transfers" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
done=$(grep -c "attended transfer completed" "$WORK/attended.log")
check "PBX: $done/$CALLS attended transfers completed" test "$done" -eq "$CALLS"
kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; PBX=""
merged=$(grep -c '"end_cause":"transferred"' "$WORK/attended.jsonl" 2>/dev/null)
check "one record per consulted call, ended as transferred (${merged:-0})" test "${merged:-0}" -eq "$CALLS"
bridged=$(grep '"to":"5551234"' "$WORK/attended.jsonl" 2>/dev/null | grep -c '"answer_cause":"answered"')
check "the held calls stayed answered, bridged to 5559999 ($bridged)" test "$bridged" -eq "$CALLS"
summary pbx-transfer
