#!/usr/bin/env bash
# Interop: the telox phone over TCP and TLS, and blind transfer (REFER), loopback only:
#  1. telox phone (--transport tcp) calls baresip (Debian package, headless, auto answer,
#     SIP over TCP): call established, audio both ways.
#  2. baresip calls a telox phone (auto answer, TCP listener) over TCP: the same.
#  3. TLS with mutual authentication between two telox phones: a CA and two certificates
#     made here with openssl; the callee requires a client certificate; audio both ways.
#     (baresip over TLS, with SRTP, through the PBX is in 53-baresip; openssl s_client against
#     the telox driver is in 30-sip-core.)
#  4. REFER between three telox phones: A calls B, A transfers B to C (--transfer-to); A exits
#     0 only after the final NOTIFY said 200; C's call report counts audio from B.
#  5. baresip as the transferee: a telox phone calls baresip and transfers it (REFER) to a
#     second telox phone; baresip accepts the REFER, calls the target and reports it in
#     NOTIFYs; the target receives audio from baresip.
#  6. Registration to the telox PBX over TCP and over TLS (digest auth; the PBX's certificate
#     from the CA of step 3), then a call from the TLS phone to the TCP phone through it.
#  7. The PBX opens a new TLS connection to a callee (--tls-ca): phone 1001 (its own TLS
#     listener and certificate) registers over TLS and is killed, so its registration
#     connection is gone; restarted on the same port without registering, it still gets the
#     call from 1000 (UDP) through the PBX, which connects to its sips: Contact and verifies
#     its certificate against the CA. Without --tls-ca the same call fails.
set -u
. "$(dirname "$0")/lib.sh"
require baresip
require sox
require openssl
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
WORK=$(mktemp -d /tmp/telox-phone.XXXXXX)
PIDS=()
# The work directory (WAV dumps, logs) is kept only when a check failed.
cleanup() { for p in "${PIDS[@]}"; do stop_pid "$p"; done; [ "$FAIL" -eq 0 ] && rm -rf "$WORK"; true; }
trap cleanup EXIT

sox -n -r 48000 -c 1 -b 16 "$WORK/say.wav" synth 12 sine 300-900 2>/dev/null

# packets received, from the call report a phone printed (second line, fifth column).
received() { awk 'NR==2{print $5}' "$1" 2>/dev/null; }

# baresip NAME SIP_PORT CTRL_PORT TRANSPORT OUTBOUND: headless baresip, auto answer, not
# registering; OUTBOUND is where its own calls go (its outbound proxy).
baresip_start() {
  USER_NAME=$1 PASS=x REGISTRAR="$5" REGINT=0 SIP_PORT="$2" CTRL_PORT="$3" SIP_TRANSPORT="$4" \
    RTP_PORTS=32000-32099 AUDIO="file:$WORK/say.wav" BARESIP_TIMEOUT=60 CODECS=PCMU \
    RUN_DIR="$WORK/bs-$1" "$P/baresip-run.sh" 2>>"$WORK/baresip.log"
}

baresip_decoded() { find "$WORK/bs-$1" -name '*dec*.wav' -size +20k 2>/dev/null | head -1; }

phone() { timeout -k 3 40 "$BIN/phone" --play "$WORK/say.wav" --codecs pcmu "$@" </dev/null; }

# 1. telox (TCP) -> baresip over TCP.
BSP=$(free_udp_port); CTRL=$((20000 + RANDOM % 20000))
BS=$(baresip_start tcpcallee "$BSP" "$CTRL" tcp "127.0.0.1:$BSP"); PIDS+=("$BS")
phone --transport tcp --user 1001 --call "sip:tcpcallee@127.0.0.1:$BSP;transport=tcp" --duration 4s \
  >"$WORK/1.out" 2>"$WORK/1.log"
est=$?
stop_pid "$BS"
sed 's/^/  /' "$WORK/1.out"
check "tcp telox->baresip: call completed" test "$est" -eq 0
check "tcp telox->baresip: INVITE sent over TCP" grep -q "via TCP" "$WORK/1.log"
check "tcp telox->baresip: telox received audio ($(received "$WORK/1.out") packets)" test "$(received "$WORK/1.out")" -gt 100
dec=$(baresip_decoded tcpcallee)
check "tcp telox->baresip: baresip decoded audio (${dec:-no dump})" test -n "$dec"

# 2. baresip -> telox over TCP.
TP=$(free_udp_port); BSP=$(free_udp_port); CTRL=$((20000 + RANDOM % 20000))
phone --transport tcp --listen "127.0.0.1:$TP" --user 1001 --auto-answer --calls 1 --max-time 30s \
  >"$WORK/2.out" 2>"$WORK/2.log" &
PH=$!; PIDS+=("$PH")
BS=$(baresip_start tcpcaller "$BSP" "$CTRL" tcp "127.0.0.1:$TP"); PIDS+=("$BS")
python3 "$P/baresip-ctl.py" --port "$CTRL" --wait-event CALL_ESTABLISHED --timeout 10 \
  dial "sip:1001@127.0.0.1:$TP;transport=tcp" >"$WORK/2.dial" 2>&1
est=$?
sleep 4
python3 "$P/baresip-ctl.py" --port "$CTRL" --timeout 5 hangup >/dev/null 2>&1
wait "$PH" 2>/dev/null
stop_pid "$BS"
sed 's/^/  /' "$WORK/2.out"
check "tcp baresip->telox: call established" test "$est" -eq 0
check "tcp baresip->telox: telox received audio ($(received "$WORK/2.out") packets)" test "$(received "$WORK/2.out")" -gt 100
dec=$(baresip_decoded tcpcaller)
check "tcp baresip->telox: baresip decoded audio (${dec:-no dump})" test -n "$dec"

# 3. TLS, mutual, telox <-> telox with an openssl CA.
PKI="$WORK/pki"
"$P/test-pki.sh" "$PKI" alice bob
TP=$(free_udp_port)
phone --transport tls --listen "127.0.0.1:$TP" --user bob --ca "$PKI/ca.pem" --cert "$PKI/bob.pem" \
  --key "$PKI/bob.key" --require-client-cert --auto-answer --calls 1 --max-time 30s \
  >"$WORK/3b.out" 2>"$WORK/3b.log" &
PH=$!; PIDS+=("$PH")
sleep 0.5
phone --user alice --ca "$PKI/ca.pem" --cert "$PKI/alice.pem" --key "$PKI/alice.key" \
  --call "sips:bob@127.0.0.1:$TP" --duration 3s >"$WORK/3a.out" 2>"$WORK/3a.log"
est=$?
wait "$PH" 2>/dev/null
check "tls: sips: call with client certificates completed" test "$est" -eq 0
check "tls: INVITE sent over TLS" grep -q "via TLS" "$WORK/3a.log"
check "tls: both ends received audio ($(received "$WORK/3a.out")/$(received "$WORK/3b.out") packets)" \
  test "$(received "$WORK/3a.out")" -gt 50 -a "$(received "$WORK/3b.out")" -gt 50
# Without a client certificate bob's listener refuses the connection: the call fails.
phone --transport tls --listen "127.0.0.1:$TP" --user bob --ca "$PKI/ca.pem" --cert "$PKI/bob.pem" \
  --key "$PKI/bob.key" --require-client-cert --auto-answer --calls 1 --max-time 8s \
  >"$WORK/3c.out" 2>"$WORK/3c.log" &
PH=$!; PIDS+=("$PH")
sleep 0.5
timeout -k 3 45 "$BIN/phone" --user anon --ca "$PKI/ca.pem" --call "sips:bob@127.0.0.1:$TP" \
  --duration 2s --max-time 6s </dev/null >"$WORK/3d.out" 2>"$WORK/3d.log"
anon=$?
stop_pid "$PH"
check "tls: a caller without a client certificate is refused" test "$anon" -ne 0
check "tls: the callee never answered it" bash -c "! grep -q 'call up' '$WORK/3c.log'"

# 4. REFER among three telox phones.
BP=$(free_udp_port); CP=$(free_udp_port)
phone --listen "127.0.0.1:$BP" --user bob --auto-answer --calls 2 --duration 3s --max-time 30s \
  >"$WORK/4b.out" 2>"$WORK/4b.log" &
PB=$!; PIDS+=("$PB")
phone --listen "127.0.0.1:$CP" --user carol --auto-answer --calls 1 --max-time 30s \
  >"$WORK/4c.out" 2>"$WORK/4c.log" &
PC=$!; PIDS+=("$PC")
sleep 0.3
phone --user alice --call "sip:bob@127.0.0.1:$BP" --transfer-to "sip:carol@127.0.0.1:$CP" --duration 1s \
  >"$WORK/4a.out" 2>"$WORK/4a.log"
est=$?
wait "$PB" "$PC" 2>/dev/null
check "refer: the transferor saw 100 then 200 in NOTIFYs" \
  bash -c "grep -q 'transfer status 100' '$WORK/4a.log' && grep -q 'transfer status 200' '$WORK/4a.log'"
check "refer: the transferor exited 0 after hanging up" test "$est" -eq 0
check "refer: bob was transferred" grep -q "transferred to sip:carol@" "$WORK/4b.log"
check "refer: carol received audio from bob ($(received "$WORK/4c.out") packets)" test "$(received "$WORK/4c.out")" -gt 50

# 5. baresip as the transferee.
BSP=$(free_udp_port); CTRL=$((20000 + RANDOM % 20000)); CP=$(free_udp_port)
phone --listen "127.0.0.1:$CP" --user carol --auto-answer --calls 1 --max-time 30s \
  >"$WORK/5c.out" 2>"$WORK/5c.log" &
PC=$!; PIDS+=("$PC")
BS=$(baresip_start transferee "$BSP" "$CTRL" udp "127.0.0.1:$CP"); PIDS+=("$BS")
phone --user alice --call "sip:transferee@127.0.0.1:$BSP" --transfer-to "sip:carol@127.0.0.1:$CP" \
  --duration 1s --max-time 20s >"$WORK/5a.out" 2>"$WORK/5a.log"
est=$?
sleep 3
python3 "$P/baresip-ctl.py" --port "$CTRL" --timeout 5 hangup >/dev/null 2>&1
wait "$PC" 2>/dev/null
stop_pid "$BS"
check "refer baresip: the transfer completed (final NOTIFY 200)" test "$est" -eq 0
check "refer baresip: carol received audio from baresip ($(received "$WORK/5c.out") packets)" \
  test "$(received "$WORK/5c.out")" -gt 50

# 6. Register to the PBX over TCP and TLS, call through it.
PBXP=$(free_udp_port); TLSP=$(free_udp_port)
timeout -k 3 60 "$BIN/pbx" --listen "127.0.0.1:$PBXP" --demo-users 1000-1099 --tls-cert "$PKI/bob.pem" \
  --tls-key "$PKI/bob.key" --tls-listen "127.0.0.1:$TLSP" 2>"$WORK/6pbx.log" &
PBX=$!; PIDS+=("$PBX")
sleep 0.5
phone --transport tcp --registrar "127.0.0.1:$PBXP" --user 1001 --password 1001 --auto-answer --calls 1 \
  --max-time 30s >"$WORK/6b.out" 2>"$WORK/6b.log" &
PB=$!; PIDS+=("$PB")
for _ in $(seq 1 50); do grep -q registered "$WORK/6b.log" && break; sleep 0.1; done
phone --transport tls --ca "$PKI/ca.pem" --registrar "127.0.0.1:$TLSP" --user 1000 --password 1000 \
  --call "sip:1001@127.0.0.1:$TLSP" --duration 3s >"$WORK/6a.out" 2>"$WORK/6a.log"
est=$?
wait "$PB" 2>/dev/null
kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null
check "pbx: the TCP phone registered with digest auth" grep -q "registered (1 digest" "$WORK/6b.log"
check "pbx: the TLS phone registered with digest auth" grep -q "registered (1 digest" "$WORK/6a.log"
check "pbx: TLS phone -> PBX -> TCP phone call completed" test "$est" -eq 0
check "pbx: both ends received audio ($(received "$WORK/6a.out")/$(received "$WORK/6b.out") packets)" \
  test "$(received "$WORK/6a.out")" -gt 50 -a "$(received "$WORK/6b.out")" -gt 50
check "pbx: both unregistered on exit" bash -c "[ \$(grep -c 'unregistered' '$WORK/6pbx.log') -ge 2 ]"

# 7. PBX -> callee over a new TLS connection.
tls_callee() { # tls_callee OUT LOG ARGS...: phone 1001 on TLS at 127.0.0.1:$BP, in the
  # background, its own PID in $! (no timeout wrapper: it is killed by PID; --max-time bounds it)
  local out=$1 log=$2; shift 2
  "$BIN/phone" --play "$WORK/say.wav" --codecs pcmu --transport tls --listen "127.0.0.1:$BP" \
    --ca "$PKI/ca.pem" --cert "$PKI/alice.pem" --key "$PKI/alice.key" --user 1001 "$@" \
    </dev/null >"$out" 2>"$log" &
}
pbx_tls_case() { # pbx_tls_case NAME [--tls-ca CA]: exit status of 1000's call to 1001
  local name=$1; shift
  PBXP=$(free_udp_port); TLSP=$(free_udp_port); BP=$(free_udp_port)
  timeout -k 3 60 "$BIN/pbx" --listen "127.0.0.1:$PBXP" --demo-users 1000-1099 --tls-cert "$PKI/bob.pem" \
    --tls-key "$PKI/bob.key" --tls-listen "127.0.0.1:$TLSP" "$@" 2>"$WORK/$name-pbx.log" &
  PBX=$!; PIDS+=("$PBX")
  sleep 0.5
  tls_callee "$WORK/$name-r.out" "$WORK/$name-r.log" --registrar "127.0.0.1:$TLSP" --password 1001 \
    --max-time 20s
  PR=$!; PIDS+=("$PR")
  for _ in $(seq 1 50); do grep -q registered "$WORK/$name-r.log" && break; sleep 0.1; done
  # Killed: no unregistration, the binding stays; the kernel closes its TLS connection.
  kill -9 "$PR" 2>/dev/null; wait "$PR" 2>/dev/null
  tls_callee "$WORK/$name-b.out" "$WORK/$name-b.log" --auto-answer --calls 1 --max-time 20s
  PB=$!; PIDS+=("$PB")
  sleep 0.5
  phone --registrar "127.0.0.1:$PBXP" --user 1000 --password 1000 --call "sip:1001@127.0.0.1:$PBXP" \
    --duration 3s --max-time 15s >"$WORK/$name-a.out" 2>"$WORK/$name-a.log"
  local est=$?
  stop_pid "$PB"
  kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null
  CALLEE_PORT=$BP
  return "$est"
}
pbx_tls_case 7 --tls-ca "$PKI/ca.pem"
est=$?
check "pbx tls callee: 1001 registered over TLS before it was killed" grep -q "registered (1 digest" "$WORK/7-r.log"
check "pbx tls callee: the call to it completed" test "$est" -eq 0
check "pbx tls callee: the PBX connected to its Contact 127.0.0.1:$CALLEE_PORT over TLS" \
  grep -q "calling 1001 at tls:127.0.0.1:$CALLEE_PORT" "$WORK/7-pbx.log"
check "pbx tls callee: both ends received audio ($(received "$WORK/7-a.out")/$(received "$WORK/7-b.out") packets)" \
  test "$(received "$WORK/7-a.out")" -gt 50 -a "$(received "$WORK/7-b.out")" -gt 50
pbx_tls_case 7n
est=$?
check "pbx tls callee: without --tls-ca the call fails" test "$est" -ne 0
check "pbx tls callee: ... and the callee never answered" bash -c "! grep -q 'call up' '$WORK/7n-b.log'"

summary phone
