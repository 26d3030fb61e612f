#!/usr/bin/env bash
# Interop: the PBX and the gateway register to a SIP trunk with digest auth and answer the
# trunk's digest challenge on outbound INVITEs. The trunk is two SIPp instances:
#  - a registrar (scenarios/trunk-registrar.xml): REGISTER -> 401 -> REGISTER with a checked
#    Authorization -> 200; at the program's stop, REGISTER Expires: 0 -> 200. SIPp runs one
#    "call" (-m 1) and exits 0 only if all of that happened;
#  - a call side (scenarios/uas-auth.xml): INVITE -> 401 -> ACK -> INVITE with a checked
#    Authorization -> 180/200 -> ACK -> BYE.
#  1. gateway --trunk-user/--trunk-password/--trunk-registrar: registered, 50 SIPp calls through
#     it to the challenging trunk, zero failures, unregistered at stop.
#  2. pbx --demo-users ... --trunk ... --trunk-user ...: the same through the PBX's B2BUA.
#  3. A wrong trunk password: the registration fails (logged), and the challenged calls fail.
#  4. A trunk over TCP (SIPp -t t1 for the registrar and the call side): the PBX with
#     --trunk 'sip:127.0.0.1:P;transport=tcp' and --trunk-registrar IP:PORT registers, answers
#     the challenge and unregisters over TCP too (one trunk, one transport), and its
#     challenged INVITEs go over TCP; SIPp only listens on TCP, so a REGISTER or INVITE over
#     UDP gets no answer.
#  5. The gateway over a TCP trunk, as 4 (--trunk and --trunk-registrar naming
#     ;transport=tcp): registered, the calls through it, unregistered, no binding left.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
SC="$(readlink -f "$P/scenarios")"
CALLS="${CALLS:-50}"
WORK=$(mktemp -d /tmp/telox-trunk.XXXXXX)
REG=""; UAS=""; PROG=""; TUAS=""
cleanup() { stop_pid "$REG"; stop_pid "$UAS"; stop_pid "$TUAS"; [ -n "$PROG" ] && kill -INT "$PROG" 2>/dev/null; wait "$PROG" 2>/dev/null; true; }
trap cleanup EXIT

start_registrar() { # start_registrar NAME [sipp args...]; sets REG, REG_PORT
  local name=$1; shift
  REG_PORT=$(free_udp_port)
  ( cd "$WORK" && exec timeout -k 3 90 sipp -sf "$SC/trunk-registrar.xml" -i 127.0.0.1 \
      -p "$REG_PORT" -m 1 -nostdin -trace_err -error_file "$WORK/reg-$name.err" \
      -trace_screen -screen_file "$WORK/reg-$name.screen" "$@" >/dev/null 2>&1 ) &
  REG=$!
  sleep 0.5
}
# wait_tcp PORT: until something listens on TCP 127.0.0.1:PORT (up to 5 s).
wait_tcp() {
  for _ in $(seq 1 50); do
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0; sleep 0.1
  done
  return 1
}
# registrar_rc: wait for the registrar SIPp to finish (it exits after the unregister); sets RC.
registrar_rc() { wait "$REG"; RC=$?; REG=""; }
start_prog() { # start_prog NAME ARGS... ; sets PROG, PROG_PORT
  local name=$1; shift
  PROG_PORT=$(free_udp_port)
  timeout -k 3 120 "$BIN/$name" --listen "127.0.0.1:$PROG_PORT" "$@" 2>>"$WORK/$name.log" &
  PROG=$!
  sleep 0.5
}
# start_tcp_uas NAME: the trunk's call side over TCP only, for $TCALLS challenged calls; sets
# TUAS, TUAS_PORT.
start_tcp_uas() {
  TUAS_PORT=$(free_udp_port)
  ( cd "$WORK" && exec timeout -k 3 120 sipp -sf "$SC/uas-auth.xml" -i 127.0.0.1 -p "$TUAS_PORT" \
      -t t1 -m "$TCALLS" -nostdin -trace_err -error_file "$WORK/uas-$1.err" \
      -trace_screen -screen_file "$WORK/uas-$1.screen" >/dev/null 2>&1 ) &
  TUAS=$!
}
stop_prog() { kill -INT "$PROG" 2>/dev/null; wait "$PROG" 2>/dev/null; PROG=""; }

UAS_PORT=$(free_udp_port)
UAS=$(SCENARIO="$SC/uas-auth.xml" UAS_TIMEOUT=200 "$P/sipp-uas.sh" "$UAS_PORT" 2>>"$WORK/uas.log")

# 1. The gateway.
start_registrar gw
start_prog gateway --trunk "127.0.0.1:$UAS_PORT" --allow 127.0.0.0/8 --trunk-user telox \
  --trunk-password trunk-secret --trunk-registrar "127.0.0.1:$REG_PORT"
check "gateway: registered to the trunk after a 401 challenge" wait_log "$WORK/gateway.log" "trunk 1: registered sip:telox@"
out=$("$P/sipp-uac.sh" "127.0.0.1:$PROG_PORT" 20 "$CALLS" -s 5551234 2>&1 | tail -1)
echo "  gateway: $out"
check "SIPp uac -> gateway -> challenging trunk (401, then authenticated): $CALLS calls, zero failures" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
stop_prog
check "gateway: unregistered at stop" grep -q "trunk 1: unregistered" "$WORK/gateway.log"
registrar_rc
check "SIPp registrar: challenge answered, registered and unregistered (SIPp rc=$RC)" test "$RC" -eq 0

# 2. The PBX.
start_registrar pbx
start_prog pbx --demo-users 1000-1099 --digest md5 --trunk "127.0.0.1:$UAS_PORT" --trunk-user telox \
  --trunk-password trunk-secret --trunk-registrar "127.0.0.1:$REG_PORT" --register-expires 120
check "pbx: registered to the trunk after a 401 challenge" wait_log "$WORK/pbx.log" "trunk trunk: registered sip:telox@"
out=$(SCENARIO="$SC/invite-auth-uac.xml" "$P/sipp-uac.sh" "127.0.0.1:$PROG_PORT" 20 "$CALLS" \
      -au 1000 -ap 1000 -s 5551234 -key caller 1000 -d 100 2>&1 | tail -1)
echo "  pbx: $out"
check "SIPp uac -> pbx -> challenging trunk (401, then authenticated): $CALLS calls, zero failures" \
  grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
stop_prog
check "pbx: unregistered at stop" grep -q "trunk trunk: unregistered" "$WORK/pbx.log"
check "pbx: no binding left at stop" grep -q "trunk registrations (0 left registered)" "$WORK/pbx.log"
registrar_rc
check "SIPp registrar: challenge answered, registered and unregistered (SIPp rc=$RC)" test "$RC" -eq 0

# 3. A wrong trunk password.
start_registrar bad
start_prog gateway --trunk "127.0.0.1:$UAS_PORT" --allow 127.0.0.0/8 --trunk-user telox \
  --trunk-password wrong --trunk-registrar "127.0.0.1:$REG_PORT"
check "gateway: a refused registration is reported" wait_log "$WORK/gateway.log" "trunk 1: registration failed [(]403[)]"
out=$(TIMEOUT=20 "$P/sipp-uac.sh" "127.0.0.1:$PROG_PORT" 1 1 -s 5551234 2>&1 | tail -1)
check "a call with the wrong trunk password is refused by the trunk" grep -Eq "failed=1" <<<"$out"
stop_prog
registrar_rc
check "SIPp registrar saw the wrong password (SIPp rc=$RC != 0)" test "$RC" -ne 0
# 4. The PBX over a TCP trunk: registrar and call side are SIPp over TCP only.
TCALLS="${TCP_CALLS:-20}"
mv "$WORK/pbx.log" "$WORK/pbx-udp.log"
start_registrar tcp -t t1
check "SIPp registrar listens on TCP" wait_tcp "$REG_PORT"
start_tcp_uas tcp
check "SIPp call side listens on TCP" wait_tcp "$TUAS_PORT"
start_prog pbx --demo-users 1000-1099 --digest md5 --trunk "sip:127.0.0.1:$TUAS_PORT;transport=tcp" \
  --trunk-user telox --trunk-password trunk-secret --trunk-registrar "127.0.0.1:$REG_PORT" \
  --register-expires 120
check "pbx: registering over TCP" wait_log "$WORK/pbx.log" "trunk trunk: registering sip:telox@.* over TCP"
check "pbx: registered to the TCP trunk after a 401 challenge" wait_log "$WORK/pbx.log" "trunk trunk: registered sip:telox@.*for"
out=$(SCENARIO="$SC/invite-auth-uac.xml" "$P/sipp-uac.sh" "127.0.0.1:$PROG_PORT" 10 "$TCALLS" \
      -au 1000 -ap 1000 -s 5551234 -key caller 1000 -d 100 2>&1 | tail -1)
echo "  pbx over tcp: $out"
check "SIPp uac -> pbx -> challenging TCP trunk: $TCALLS calls, zero failures" \
  grep -Eq "rc=0 created=$TCALLS ok=$TCALLS failed=0" <<<"$out"
# The call side ends once its calls did (before the PBX stops: SIPp over TCP fails a call
# whose connection closes during the scenario's last pause).
wait "$TUAS"; RC=$?; TUAS=""
check "SIPp TCP call side: $TCALLS challenged calls over TCP (SIPp rc=$RC)" test "$RC" -eq 0
stop_prog
check "pbx: unregistered from the TCP trunk at stop" grep -q "trunk trunk: unregistered" "$WORK/pbx.log"
# The registrar's rc is not looked at: the PBX closes the connection as it stops, during
# the pause after the unregister's 200, and SIPp counts that a failed call. Its 401 was
# answered with the password SIPp checks (else 403, and no 'registered' line above).
registrar_rc
# 5. The gateway over a TCP trunk, as 4: SIPp registrar and call side over TCP only.
mv "$WORK/gateway.log" "$WORK/gateway-udp.log"
start_registrar gwtcp -t t1
check "SIPp registrar listens on TCP (gateway case)" wait_tcp "$REG_PORT"
start_tcp_uas gwtcp
check "SIPp call side listens on TCP (gateway case)" wait_tcp "$TUAS_PORT"
start_prog gateway --trunk "sip:127.0.0.1:$TUAS_PORT;transport=tcp" --allow 127.0.0.0/8 \
  --trunk-user telox --trunk-password trunk-secret \
  --trunk-registrar "sip:127.0.0.1:$REG_PORT;transport=tcp" --register-expires 120
check "gateway: registered to the TCP trunk after a 401 challenge" wait_log "$WORK/gateway.log" "trunk 1: registered sip:telox@"
out=$("$P/sipp-uac.sh" "127.0.0.1:$PROG_PORT" 10 "$TCALLS" -s 5551234 2>&1 | tail -1)
echo "  gateway over tcp: $out"
check "SIPp uac -> gateway -> challenging TCP trunk: $TCALLS calls, zero failures" \
  grep -Eq "rc=0 created=$TCALLS ok=$TCALLS failed=0" <<<"$out"
wait "$TUAS"; RC=$?; TUAS=""
check "SIPp TCP call side: $TCALLS challenged calls from the gateway over TCP (SIPp rc=$RC)" test "$RC" -eq 0
stop_prog
check "gateway: unregistered from the TCP trunk at stop" grep -q "trunk 1: unregistered" "$WORK/gateway.log"
check "gateway: no binding left at stop" grep -q "trunk registrations (0 left registered)" "$WORK/gateway.log"
registrar_rc
summary trunk
