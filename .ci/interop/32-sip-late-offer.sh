#!/usr/bin/env bash
# sip-core user agent against SIPp, offer in the 2xx and answer in the ACK (RFC 3264 §5,
# RFC 3261 §13.2.2.4/§13.3.1.4): a SIPp UAC's INVITE without an offer -> telox UAS (the ACK's
# answer; an ACK without one gets a BYE with Reason cause=488), and the telox UAC's INVITE
# without an offer -> a SIPp UAS that checks the answer in the ACK. Loopback only, every
# process bounded by `timeout` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
HERE="$ROOT/.ci/interop/sip-core"
EX="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"
interop_build || { not_ok "build sip-core examples"; summary sip-late-offer; exit 1; }
TMP=$(mktemp -d /tmp/interop-sip-late-offer.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
CALLS=${CALLS:-50}

# 1. SIPp UAC, INVITE without an offer -> telox UAS: 200 with the offer, ACK with the
#    answer, BYE. Then ACKs without the answer: the telox UAS hangs up with Reason 488.
P=$(free_udp_port); LP=$(free_udp_port)
timeout 90 "$EX/uas" --bind "127.0.0.1:$P" --seconds 25 >"$TMP/uas.out" 2>&1 & UPID=$!
sleep 0.5
timeout 40 sipp "127.0.0.1:$P" -sf "$HERE/late-offer-uac.xml" -i 127.0.0.1 -p "$LP" \
  -m "$CALLS" -r 25 -l 25 -timeout 30 -timeout_error -nostdin >"$TMP/sipp-uac.out" 2>&1
rc=$?
check "SIPp uac (no offer) -> telox uas: $CALLS calls, offer in the 200, sipp rc=$rc" [ "$rc" -eq 0 ]
timeout 40 sipp "127.0.0.1:$P" -sf "$HERE/late-offer-noanswer-uac.xml" -i 127.0.0.1 -p "$LP" \
  -m 10 -r 10 -l 10 -timeout 30 -timeout_error -nostdin >"$TMP/sipp-noanswer.out" 2>&1
rc=$?
check "SIPp uac (ACK without answer) -> telox uas: 10 calls, BYE with Reason 488, sipp rc=$rc" \
  [ "$rc" -eq 0 ]
wait "$UPID"   # it prints its counts when its 25 s are over
out=$(tail -1 "$TMP/uas.out")
want="uas incoming=$((CALLS + 10)) confirmed=$((CALLS + 10)) ended=$((CALLS + 10))"
check "telox uas: $out" [ "$out" = "$want" ]

# 2. telox UAC, INVITE without an offer -> SIPp UAS that offers in its 200 and checks the
#    answer in the ACK.
P=$(free_udp_port)
timeout 90 sipp -sf "$HERE/late-offer-uas.xml" -i 127.0.0.1 -p "$P" -m "$CALLS" -nostdin \
  -timeout 60 -timeout_error >"$TMP/sipp-uas.out" 2>&1 & SPID=$!
sleep 0.5
out=$(timeout 60 "$EX/uac" --late-offer --to "127.0.0.1:$P" --calls "$CALLS" --concurrent 10 \
  --hold-ms 50 2>&1)
rc=$?
check "telox uac (no offer) -> SIPp uas: $(echo "$out" | tail -1)" [ "$rc" -eq 0 ]
wait "$SPID"
rc=$?
check "SIPp uas checked the answer in $CALLS ACKs: sipp rc=$rc" [ "$rc" -eq 0 ]

summary sip-late-offer
