#!/usr/bin/env bash
# Message bodies as carriers and emergency services send them (RFC 5621): SIPp calls a telox
# phone (auto answer) with INVITEs whose SDP offer is one part of a multipart/mixed body:
#  1. SIP-I (ITU-T Q.1912.5, RFC 3204): the SDP, then an ISUP IAM part.
#  2. RFC 6442 location conveyance: a preamble, the PIDF-LO part first, then the SDP.
# Each call must be answered 200 with an SDP answer (checked by the SIPp scenario), ACKed and
# ended by BYE; the phone reports every call up. Loopback only, every process under
# `timeout` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
HERE="$ROOT/.ci/interop/sip-body"
TMP=$(mktemp -d /tmp/interop-sip-body.XXXXXX)
PH=""
trap 'stop_pid "$PH"; rm -rf "$TMP"' EXIT
if [ ! -x "$BIN/phone" ]; then
  not_ok "phone binary missing at $BIN (cargo build --release -p telox-examples)"
  summary sip-body; exit 1
fi
PHONE=$(free_udp_port)
CALLS=2
timeout -k 3 60 "$BIN/phone" --listen "127.0.0.1:$PHONE" --user bob --auto-answer \
  --codecs pcmu,pcma --calls $((2 * CALLS)) --max-time 50s </dev/null >/dev/null 2>"$TMP/phone.log" &
PH=$!
sleep 0.5

# call SCENARIO WHAT: CALLS calls from SIPp to the phone, checked to exit 0 (SIPp's errors
# shown when not).
call() {
  timeout 40 sipp "127.0.0.1:$PHONE" -sf "$HERE/$1" -s bob -i 127.0.0.1 -p "$(free_udp_port)" \
    -m "$CALLS" -l 1 -r 2 -timeout 30 -timeout_error -nostdin -trace_err \
    -error_file "$TMP/$1.err" >"$TMP/$1.out" 2>&1
  local rc=$?
  check "$2: $CALLS calls answered with SDP, rc=$rc" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || tail -20 "$TMP/$1.err" 2>/dev/null | sed 's/^/  /'
}
call invite-sipi-uac.xml "SIP-I INVITE (multipart/mixed: SDP + ISUP)"
call invite-pidf-uac.xml "RFC 6442 INVITE (multipart/mixed: PIDF-LO + SDP)"
wait "$PH" 2>/dev/null; PH=""
up=$(grep -c "call up" "$TMP/phone.log")
check "phone: every multipart call came up ($up of $((2 * CALLS)))" [ "$up" -eq $((2 * CALLS)) ]
[ "$up" -eq $((2 * CALLS)) ] || sed 's/^/  /' "$TMP/phone.log" | tail -20
summary sip-body
