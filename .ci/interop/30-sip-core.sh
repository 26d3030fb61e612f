#!/usr/bin/env bash
# sip-core against SIPp: built-in uac -> telox UAS, telox UAC -> SIPp built-in uas (UDP and
# TCP), SIPp REGISTER with digest auth -> telox registrar; and SIP over TLS with an OpenSSL
# certificate (OpenSSL's s_client as an independent TLS peer: Debian's SIPp is built without
# TLS). Loopback only, every process bounded by `timeout` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
HERE="$ROOT/.ci/interop/sip-core"
EX="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"
interop_build || { not_ok "build sip-core examples"; summary sip-core; exit 1; }
TMP=$(mktemp -d /tmp/interop-sip-core.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
CALLS=${CALLS:-200}

# 1. SIPp built-in uac -> telox UAS (UDP)
P=$(free_udp_port); LP=$(free_udp_port)
timeout 90 "$EX/uas" --bind "127.0.0.1:$P" --seconds 40 >"$TMP/uas.out" 2>&1 & UPID=$!
sleep 0.5
timeout 60 sipp -sn uac "127.0.0.1:$P" -i 127.0.0.1 -p "$LP" -m "$CALLS" -r 50 -l 50 -d 100 \
  -timeout 45 -timeout_error -nostdin -trace_stat -stf "$TMP/uac-stat.csv" >"$TMP/sipp-uac.out" 2>&1
rc=$?
check "SIPp uac -> telox uas: $CALLS calls, sipp rc=$rc" [ "$rc" -eq 0 ]
stop_pid "$UPID"

# 2. telox UAC -> SIPp built-in uas (UDP)
P=$(free_udp_port)
timeout 90 sipp -sn uas -i 127.0.0.1 -p "$P" -nostdin -timeout 60 >"$TMP/sipp-uas.out" 2>&1 & SPID=$!
sleep 0.5
out=$(timeout 60 "$EX/uac" --to "127.0.0.1:$P" --calls "$CALLS" --concurrent 20 --hold-ms 50 2>&1)
rc=$?
check "telox uac -> SIPp uas (udp): $(echo "$out" | tail -1)" [ "$rc" -eq 0 ]
stop_pid "$SPID"

# 3. telox UAC -> SIPp built-in uas over TCP
P=$(free_udp_port)
timeout 90 sipp -sn uas -t t1 -i 127.0.0.1 -p "$P" -nostdin -timeout 60 >"$TMP/sipp-uas-tcp.out" 2>&1 & SPID=$!
sleep 0.5
out=$(timeout 60 "$EX/uac" --tcp --to "127.0.0.1:$P" --calls 50 --concurrent 10 --hold-ms 50 2>&1)
rc=$?
check "telox uac -> SIPp uas (tcp): $(echo "$out" | tail -1)" [ "$rc" -eq 0 ]
stop_pid "$SPID"

# 4. SIPp REGISTER with digest auth -> telox registrar
P=$(free_udp_port); LP=$(free_udp_port)
printf 'SEQUENTIAL\nalice;[authentication username=alice password=secret-a];secret-a;\nbob;[authentication username=bob password=secret-b];secret-b;\n' >"$TMP/users.csv"
timeout 60 "$EX/registrar" --bind "127.0.0.1:$P" --seconds 25 --algorithms md5 \
  --user alice:secret-a --user bob:secret-b >"$TMP/reg.out" 2>&1 & RPID=$!
sleep 0.5
timeout 40 sipp "127.0.0.1:$P" -sf "$HERE/register-auth-uac.xml" -inf "$TMP/users.csv" \
  -key expires 600 -i 127.0.0.1 -p "$LP" -m 50 -r 20 -timeout 20 -timeout_error -nostdin \
  >"$TMP/sipp-reg.out" 2>&1
rc=$?
check "SIPp REGISTER+digest -> telox registrar: 50 registrations, sipp rc=$rc" [ "$rc" -eq 0 ]
# A wrong password must not register.
printf 'SEQUENTIAL\nalice;[authentication username=alice password=wrong];wrong;\n' >"$TMP/bad.csv"
timeout 20 sipp "127.0.0.1:$P" -sf "$HERE/register-auth-uac.xml" -inf "$TMP/bad.csv" \
  -key expires 600 -i 127.0.0.1 -p "$LP" -m 1 -r 1 -timeout 5 -timeout_error -nostdin \
  >"$TMP/sipp-bad.out" 2>&1
rc=$?
check "SIPp REGISTER with a wrong password is refused (sipp rc=$rc)" [ "$rc" -ne 0 ]
stop_pid "$RPID"

# 5. SIP over TLS: a certificate made by OpenSSL (end entity, SAN IP 127.0.0.1), loaded from
# PEM by the examples; telox UAC (sips:, verifying against it) -> telox UAS.
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
    >/dev/null 2>&1
  P=$(free_udp_port); TP=$(free_udp_port)
  timeout 60 "$EX/uas" --bind "127.0.0.1:$P" --tls "$TMP/cert.pem" "$TMP/key.pem" \
    --tls-bind "127.0.0.1:$TP" --seconds 25 >"$TMP/uas-tls.out" 2>&1 & UPID=$!
  sleep 0.5
  out=$(timeout 40 "$EX/uac" --tls "$TMP/cert.pem" --to "127.0.0.1:$TP" --calls 50 \
    --concurrent 10 --hold-ms 50 2>&1)
  rc=$?
  check "telox uac -> telox uas over TLS: $(echo "$out" | tail -1)" [ "$rc" -eq 0 ]
  # OpenSSL's client verifies the telox listener's certificate and sends an OPTIONS whose
  # Via has no rport: the 200 must come back over the same connection (RFC 3261 §18.2.2).
  REQ="OPTIONS sip:uas@127.0.0.1:$TP;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-ossl-1\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=o1\r\nTo: <sip:uas@127.0.0.1>\r\nCall-ID: ossl-1@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
  reply=$( (printf "$REQ"; sleep 2) | timeout 10 openssl s_client -connect "127.0.0.1:$TP" \
    -CAfile "$TMP/cert.pem" -verify_return_error -verify_ip 127.0.0.1 -quiet 2>/dev/null)
  check "openssl s_client OPTIONS -> telox uas over TLS: $(echo "$reply" | head -1 | tr -d '\r')" \
    grep -q "^SIP/2.0 200" <<<"$reply"
  stop_pid "$UPID"
else
  not_ok "openssl not installed (TLS checks)"
fi

# 6. SIP over WebSocket (RFC 7118): Debian's python3-websockets as an independent client
# (sip subprotocol, OPTIONS, INVITE/ACK/BYE in text frames) and telox uac -> telox uas.
P=$(free_udp_port); WP=$(free_udp_port)
timeout 60 "$EX/uas" --bind "127.0.0.1:$P" --ws "127.0.0.1:$WP" --seconds 25 \
  >"$TMP/uas-ws.out" 2>&1 & UPID=$!
sleep 0.5
if /usr/bin/python3 -c "import websockets" 2>/dev/null; then
  out=$(timeout 30 /usr/bin/python3 "$HERE/ws-call.py" "127.0.0.1:$WP" 2>&1)
  rc=$?
  check "python websockets -> telox uas over WS: $(echo "$out" | tail -1)" [ "$rc" -eq 0 ]
else
  not_ok "python3-websockets not installed (WebSocket check)"
fi
out=$(timeout 40 "$EX/uac" --ws --to "127.0.0.1:$WP" --calls 50 --concurrent 10 --hold-ms 50 2>&1)
rc=$?
check "telox uac -> telox uas over WS: $(echo "$out" | tail -1)" [ "$rc" -eq 0 ]
stop_pid "$UPID"

summary sip-core
