#!/usr/bin/env bash
# sip-core against SIPp: built-in uac -> telox UAS, telox UAC -> SIPp built-in uas (UDP and
# TCP), SIPp REGISTER with digest auth -> telox registrar. Loopback only, every process
# bounded by `timeout` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
HERE="$ROOT/.ci/interop/sip-core"
EX="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"
(cd "$ROOT" && cargo build --release -q -p telox-sip-core --features tokio --examples) || {
  not_ok "build sip-core examples"; summary sip-core; exit 1; }
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

summary sip-core
