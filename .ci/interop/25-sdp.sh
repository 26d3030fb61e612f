#!/usr/bin/env bash
# sdp against real peers: SIPp's and baresip's real SDP offers (plain and SDES-SRTP) are
# captured off the wire, parsed by `sdp-tool parse` and answered by `sdp-tool answer`; the
# answer is then sent back in a 200 OK and the peer must accept it (SIPp checks the codec,
# baresip establishes the call, with SRTP when offered). Loopback only, every process
# bounded by `timeout` / `-t` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
require baresip
require python3
HERE="$ROOT/.ci/interop/sdp"
PEERS="$ROOT/.ci/interop/programs"   # shared baresip helpers (also used by 53-baresip.sh)
TOOL="${CARGO_TARGET_DIR:-$ROOT/target}/release/sdp-tool"
interop_build || { not_ok "build sdp-tool"; summary sdp; exit 1; }
TMP=$(mktemp -d /tmp/interop-sdp.XXXXXX)
BPID=""; SPID=""
cleanup() { stop_pid "$SPID"; stop_pid "$BPID"; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }
trap cleanup EXIT

# The SDP body of the first INVITE in a SIPp message log, with CRLF line ends.
invite_body() {
  python3 - "$1" <<'PY'
import re, sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
m = re.search(r"INVITE sip:.*?\r?\n\r?\n(v=0.*?)(?:\r?\n){2,}|INVITE sip:.*?\r?\n\r?\n(v=0.*)", log, re.S)
body = next(g for g in m.groups() if g) if m else ""
lines = [l.rstrip("\r") for l in body.split("\n")]
while lines and not lines[-1]:
    lines.pop()
sys.stdout.write("".join(l + "\r\n" for l in lines))
PY
}

# start_uas SCENARIO LOGFILE [PORT] -> sets SPID, UAS_PORT
start_uas() {
  UAS_PORT=${3:-$(free_udp_port)}
  timeout 60 sipp -sf "$1" -i 127.0.0.1 -p "$UAS_PORT" -m 1 -nostdin -timeout 30 \
    -trace_msg -message_file "$2" >"$2.out" 2>&1 &
  SPID=$!
  sleep 0.5
}

# uas_with_answer ANSWER_FILE OUT_XML: the answer UAS scenario with the SDP filled in.
uas_with_answer() {
  python3 - "$HERE/scenarios/telox-answer-uas.xml" "$1" "$2" <<'PY'
import sys
tpl, ans, out = sys.argv[1:]
body = open(ans).read().replace("\r\n", "\n").rstrip("\n")
open(out, "w").write(open(tpl).read().replace("@ANSWER@", body))
PY
}

# 1. SIPp's offer -> sdp-tool answer -> SIPp accepts the answer.
LP=$(free_udp_port)
start_uas "$HERE/scenarios/invite-sdp-uas.xml" "$TMP/sipp-capture.log"
timeout 30 sipp "127.0.0.1:$UAS_PORT" -sf "$HERE/scenarios/invite-sdp-uac.xml" -i 127.0.0.1 \
  -p "$LP" -m 1 -nostdin -timeout 20 -timeout_error >"$TMP/sipp-uac1.out" 2>&1
wait "$SPID" 2>/dev/null; SPID=""
invite_body "$TMP/sipp-capture.log" >"$TMP/sipp-offer.sdp"
out=$("$TOOL" parse --strict "$TMP/sipp-offer.sdp" | tail -1)
check "SIPp offer parses strictly: $out" [ "$out" = valid ]
"$TOOL" answer "$TMP/sipp-offer.sdp" --codecs opus,pcma,pcmu,telephone-event --seed 1 \
  >"$TMP/sipp-answer.sdp" 2>"$TMP/sipp-answer.err"
rc=$?
answer_has() { grep -q "^m=audio 40000 RTP/AVP $2" "$1" && grep -q "^a=rtpmap:$3" "$1"; }
check "sdp-tool answers SIPp's offer with opus first, SIPp's payload types (rc=$rc)" \
  answer_has "$TMP/sipp-answer.sdp" "111 8 0 101" "101 telephone-event/8000"
uas_with_answer "$TMP/sipp-answer.sdp" "$TMP/answer-uas.xml"
start_uas "$TMP/answer-uas.xml" "$TMP/sipp-answer.log"
LP=$(free_udp_port)
timeout 30 sipp "127.0.0.1:$UAS_PORT" -sf "$HERE/scenarios/invite-sdp-uac.xml" -i 127.0.0.1 \
  -p "$LP" -m 1 -nostdin -timeout 20 -timeout_error -trace_logs -log_file "$TMP/uac2.log" \
  >"$TMP/sipp-uac2.out" 2>&1
rc=$?
wait "$SPID" 2>/dev/null; SPID=""
check "SIPp accepts telox's answer (sipp rc=$rc)" [ "$rc" -eq 0 ]

# 2./3. baresip's offer (plain RTP, then SDES-SRTP) -> sdp-tool answer -> baresip accepts.
baresip_call() { # $1 = scenario, $2 = message log; dials once, waits for the answer
  start_uas "$1" "$2" "$UPORT"
  timeout 20 python3 "$PEERS/baresip-ctl.py" --port "$CTRL" --wait-event CALL_ESTABLISHED \
    --timeout 10 dial "sip:service@127.0.0.1:$UAS_PORT" >"$2.ctl" 2>&1
  local rc=$?
  sleep 1
  timeout 10 python3 "$PEERS/baresip-ctl.py" --port "$CTRL" --timeout 3 hangup >/dev/null 2>&1
  wait "$SPID" 2>/dev/null; SPID=""
  return $rc
}

no_common_codec() { [ "$1" -eq 1 ] && [[ "$2" == "failed: no common codec"* ]]; }

for mode in plain srtp; do
  # baresip sends every request to its outbound proxy: the SIPp UAS's port.
  CTRL=$(free_udp_port); SIPP_PORT_B=$(free_udp_port); UPORT=$(free_udp_port)
  ME=""; FLAGS=(--codecs pcma,telephone-event); [ "$mode" = srtp ] && { ME=srtp-mand; FLAGS+=(--srtp); }
  BPID=$(REGINT=0 REGISTRAR="127.0.0.1:$UPORT" SIP_PORT="$SIPP_PORT_B" CTRL_PORT="$CTRL" \
    MEDIAENC="$ME" BARESIP_TIMEOUT=60 RUN_DIR="$TMP/baresip-$mode" \
    timeout 10 "$PEERS/baresip-run.sh" 2>"$TMP/baresip-$mode.start")
  if [ -z "$BPID" ]; then not_ok "baresip ($mode) starts"; continue; fi
  baresip_call "$HERE/scenarios/invite-sdp-uas.xml" "$TMP/baresip-$mode-capture.log"
  invite_body "$TMP/baresip-$mode-capture.log" >"$TMP/baresip-$mode-offer.sdp"
  out=$("$TOOL" parse "$TMP/baresip-$mode-offer.sdp" | tail -1)
  check "baresip offer ($mode) parses: $out" [ "$out" = valid ]
  "$TOOL" answer "$TMP/baresip-$mode-offer.sdp" "${FLAGS[@]}" --seed 2 \
    >"$TMP/baresip-$mode-answer.sdp" 2>"$TMP/baresip-$mode-answer.err"
  rc=$?
  check "sdp-tool answers baresip ($mode) with PCMA (rc=$rc)" \
    grep -q "^a=rtpmap:8 PCMA/8000" "$TMP/baresip-$mode-answer.sdp"
  if [ "$mode" = srtp ]; then
    check "SRTP answer carries one a=crypto" \
      [ "$(grep -c '^a=crypto:' "$TMP/baresip-$mode-answer.sdp")" -eq 1 ]
  fi
  # baresip numbers its offer per call the same way, so the answer fits the next call.
  uas_with_answer "$TMP/baresip-$mode-answer.sdp" "$TMP/baresip-$mode-uas.xml"
  baresip_call "$TMP/baresip-$mode-uas.xml" "$TMP/baresip-$mode-answer.log"
  rc=$?
  check "baresip ($mode) establishes the call on telox's answer" [ "$rc" -eq 0 ]
  # The codec (and suite) telox chose must be what baresip uses.
  check "baresip ($mode) encodes with PCMA" \
    grep -q "Set audio encoder: PCMA" "$TMP/baresip-$mode/baresip.log"
  if [ "$mode" = srtp ]; then
    check "baresip enables SRTP with the answered suite" \
      grep -q "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)" "$TMP/baresip-$mode/baresip.log"
  fi
  if [ "$mode" = plain ]; then
    # No common codec: the tool says why and exits 1.
    out=$("$TOOL" answer "$TMP/baresip-$mode-offer.sdp" --codecs g722 2>&1)
    rc=$?
    check "no common codec is reported (rc=$rc): $out" no_common_codec "$rc" "$out"
  fi
  stop_pid "$BPID"; BPID=""
done

summary sdp
