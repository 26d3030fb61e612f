#!/usr/bin/env bash
# sip-core message layer against the messages real peers send: SIPp (INVITE with SDP, 100,
# 180, 200, ACK, BYE, CANCEL/487, OPTIONS, REGISTER/401/digest Authorization) captured on
# loopback with tshark; every SIP datagram must be `valid` for sip-lint, and sip-lint's Call-ID
# and CSeq must equal what Wireshark's SIP dissector reads. Loopback only, every process under
# `timeout` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
require tshark
require python3
HERE="$ROOT/.ci/interop/sip-msg"
LINT="${CARGO_TARGET_DIR:-$ROOT/target}/release/sip-lint"
interop_build || { not_ok "build sip-lint"; summary sip-msg; exit 1; }
TMP=$(mktemp -d /tmp/interop-sip-msg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

P1=$(free_udp_port); P2=$(free_udp_port); P3=$(free_udp_port); P4=$(free_udp_port)
L1=$(free_udp_port); L2=$(free_udp_port); L3=$(free_udp_port); L4=$(free_udp_port)
PORTS="$P1 $P2 $P3 $P4 $L1 $L2 $L3 $L4"
FILTER="udp and ($(for p in $PORTS; do printf 'port %s or ' "$p"; done | sed 's/ or $//'))"
timeout 90 tshark -i lo -f "$FILTER" -a duration:80 -w "$TMP/cap.pcap" >"$TMP/tshark.out" 2>&1 & TPID=$!
# wait until tshark says it is capturing (up to 30 s; a fixed sleep missed the first datagrams
# under load), then a short grace for the filter to attach
for _ in $(seq 300); do grep -q 'Capturing on' "$TMP/tshark.out" 2>/dev/null && break; sleep 0.1; done
grep -q 'Capturing on' "$TMP/tshark.out" || echo "tshark did not report capturing within 30 s" >&2
sleep 0.5

# one SIPp UAS + UAC pair: uas_scenario uac_scenario port local_port calls [extra uac args]
pair() {
  local uas=$1 uac=$2 port=$3 lport=$4 calls=$5; shift 5
  timeout 60 sipp -sf "$HERE/$uas" -i 127.0.0.1 -p "$port" -nostdin -timeout 40 "$@" \
    >"$TMP/$uas.out" 2>&1 & local spid=$!
  sleep 0.5
  timeout 40 sipp "127.0.0.1:$port" -sf "$HERE/$uac" -i 127.0.0.1 -p "$lport" -m "$calls" \
    -r 5 -timeout 30 -timeout_error -nostdin "$@" >"$TMP/$uac.out" 2>&1
  local rc=$?
  stop_pid "$spid"
  return $rc
}
printf 'SEQUENTIAL\nalice;[authentication username=alice password=secret-a];secret-a;\n' >"$TMP/users.csv"

check "SIPp INVITE with SDP, 3 calls" pair invite-sdp-uas.xml invite-sdp-uac.xml "$P1" "$L1" 3
check "SIPp INVITE/CANCEL/487, 2 calls" pair cancel-uas.xml cancel-uac.xml "$P2" "$L2" 2
check "SIPp OPTIONS, 2 requests" pair options-uas.xml options-uac.xml "$P3" "$L3" 2
check "SIPp REGISTER with digest (401), 1 registration" \
  pair register-401-uas.xml register-auth-uac.xml "$P4" "$L4" 1 -inf "$TMP/users.csv" -key expires 600
sleep 1
kill -INT "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null || true

tshark -r "$TMP/cap.pcap" -Y sip -T fields -e frame.number -e sip.Call-ID -e sip.CSeq.seq \
  -e sip.CSeq.method -e udp.payload >"$TMP/rows.tsv" 2>"$TMP/tshark-read.err"
python3 "$HERE/check.py" "$LINT" <"$TMP/rows.tsv" >"$TMP/check.out" 2>&1
grep -E '^(FAIL|ok)' "$TMP/check.out" | sed 's/^/  /' | head -60
last=$(tail -1 "$TMP/check.out")
read -r _ n _ v _ a <<<"$last"
check "captured SIP datagrams: ${n:-0} (need >= 30)" [ "${n:-0}" -ge 30 ]
check "sip-lint valid on every captured message: ${v:-0}/${n:-0}" [ "${v:-0}" -eq "${n:-0}" ]
check "sip-lint Call-ID/CSeq equal Wireshark's: ${a:-0}/${n:-0}" [ "${a:-0}" -eq "${n:-0}" ]

# the RFC 4475 invalid messages stay invalid for sip-lint (exit 1, last line invalid: ...)
bad=0
for f in ltgtruri lwsstart badvers bigcode mismatch01 quotbal; do
  out=$("$LINT" "$ROOT/sip-core/tests/data/rfc4475/$f.dat"); rc=$?
  case "$(printf '%s\n' "$out" | tail -1)" in invalid:*) [ $rc -eq 1 ] || bad=$((bad + 1)) ;; *) bad=$((bad + 1)) ;; esac
done
check "sip-lint rejects RFC 4475 invalid messages (6 files)" [ "$bad" -eq 0 ]
summary sip-msg
