#!/usr/bin/env bash
# RFC 3263 server location against a real DNS server: dnsmasq on a loopback port serves the
# NAPTR, SRV and A records of sipdns.test (NAPTR: SIP+D2T before SIP+D2U; _sip._tcp: a dead
# target at priority 10, a telox UAS at 20; _sip._udp: a SIPp UAS). dig checks the zone;
# the telox uac calls sip:service@sipdns.test through it (NAPTR -> SRV -> A over UDP DNS),
# is refused by the first TCP target and places each call again to the next (RFC 3263
# §4.3); with ;transport=udp it skips NAPTR and reaches SIPp through _sip._udp. The dnsmasq
# query log shows which lookups were made. Then the programs by name, the UA failing over by
# itself (RFC 3263 §4.3): the gateway's --trunk sip:trunk.sipdns.test (_sip._udp: a SIPp
# answering 503 first, a SIPp uas second; then sip:quiet.sipdns.test, whose first target
# never answers and is left at the trunk timeout) and a telox phone over TCP whose --registrar
# sip:svc.sipdns.test has a dead first target (_sip._tcp: refused, then a telox phone).
# Last the PBX with trunks named in its config: sip:trunk.sipdns.test (the 503 SIPp, then
# SIPp's uas) and sip:moved.sipdns.test, whose A record (a watched hosts file, TTL 1 s like
# every record here) moves from 127.0.0.1 to 127.0.0.2 between two rounds of calls: the PBX
# locates the name again once the TTL has run out and reaches the new address unrestarted,
# and so does a gateway whose --trunk is sip:moved.sipdns.test.
# Loopback only, every process bounded by `timeout` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require dnsmasq
require dig
require sipp
BIN="${TELOX_BIN:-$BIN}"
P="$(dirname "$0")/programs"
EX="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"
interop_build || {
  not_ok "build sip-core examples"; summary sip-dns; exit 1; }
TMP=$(mktemp -d /tmp/interop-sip-dns.XXXXXX)
DPID=""
U1=""; U2=""; GW=""; PH=""; PB=""
trap 'stop_pid "$U1"; stop_pid "$U2"; stop_pid "$PH"; stop_pid "$GW"; stop_pid "$PB"; stop_pid "$DPID"; rm -rf "$TMP" "${HOSTS:-}"' EXIT
CALLS=${CALLS:-20}
# calls_ok RC OUTPUT: the uac exited 0 and every call succeeded.
calls_ok() { [ "$1" -eq 0 ] && grep -qx "uac calls=$CALLS ok=$CALLS failed=0" <<<"$2"; }

NS=$(free_udp_port)     # dnsmasq, UDP and TCP
UAS=$(free_udp_port)    # telox uas, UDP and TCP
DEAD=$(free_udp_port)   # nothing listens here: a TCP connect is refused
SIPP=$(free_udp_port)   # SIPp uas, UDP
BUSY=$(free_udp_port)   # SIPp answering 503: the gateway trunk's first target
TRUNK=$(free_udp_port)  # SIPp uas: the trunk's second target
DEAD2=$(free_udp_port)  # nothing listens: the phone proxy's first target (TCP refused)
CALLEE=$(free_udp_port) # telox phone, TCP: the proxy's second target
QUIET=$(free_udp_port)  # nothing answers over UDP: the quiet trunk's first target
MOVED=$(free_udp_port)  # SIPp uas on 127.0.0.1, then one on 127.0.0.2: the moved trunk
# dnsmasq reads (and watches) hosts files as the user it drops to: a directory it may enter.
HOSTS=$(mktemp -d /tmp/interop-sip-dns-hosts.XXXXXX)
chmod 755 "$HOSTS"
echo "127.0.0.1 moved.sipdns.test" >"$HOSTS/moved"
chmod 644 "$HOSTS/moved"

timeout 120 dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address=127.0.0.1 --port="$NS" --pid-file="$TMP/dnsmasq.pid" \
  --log-queries --log-facility="$TMP/dnsmasq.log" \
  --naptr-record=sipdns.test,10,10,S,SIP+D2T,,_sip._tcp.sipdns.test \
  --naptr-record=sipdns.test,20,10,S,SIP+D2U,,_sip._udp.sipdns.test \
  --srv-host=_sip._tcp.sipdns.test,dead.sipdns.test,"$DEAD",10,0 \
  --srv-host=_sip._tcp.sipdns.test,uas.sipdns.test,"$UAS",20,0 \
  --srv-host=_sip._udp.sipdns.test,sipp.sipdns.test,"$SIPP",10,0 \
  --host-record=dead.sipdns.test,127.0.0.1 --host-record=uas.sipdns.test,127.0.0.1 \
  --host-record=sipp.sipdns.test,127.0.0.1 \
  --srv-host=_sip._udp.trunk.sipdns.test,busy.sipdns.test,"$BUSY",10,0 \
  --srv-host=_sip._udp.trunk.sipdns.test,trunk2.sipdns.test,"$TRUNK",20,0 \
  --srv-host=_sip._tcp.svc.sipdns.test,dead.sipdns.test,"$DEAD2",10,0 \
  --srv-host=_sip._tcp.svc.sipdns.test,callee.sipdns.test,"$CALLEE",20,0 \
  --host-record=busy.sipdns.test,127.0.0.1 --host-record=trunk2.sipdns.test,127.0.0.1 \
  --host-record=callee.sipdns.test,127.0.0.1 \
  --srv-host=_sip._udp.quiet.sipdns.test,silent.sipdns.test,"$QUIET",10,0 \
  --srv-host=_sip._udp.quiet.sipdns.test,trunk2.sipdns.test,"$TRUNK",20,0 \
  --host-record=silent.sipdns.test,127.0.0.1 \
  --srv-host=_sip._udp.moved.sipdns.test,moved.sipdns.test,"$MOVED",10,0 \
  --hostsdir="$HOSTS" --auth-ttl=1 \
  --auth-zone=sipdns.test --auth-server=ns.sipdns.test >"$TMP/dnsmasq.out" 2>&1 &
DPID=$!
sleep 0.5

# 1. The zone as a stock client sees it.
out=$(dig +noedns +short @127.0.0.1 -p "$NS" sipdns.test NAPTR | sort)
want=$'10 10 "S" "SIP+D2T" "" _sip._tcp.sipdns.test.\n20 10 "S" "SIP+D2U" "" _sip._udp.sipdns.test.'
check "dig: two NAPTR records for sipdns.test" [ "$out" = "$want" ]
out=$(dig +noedns +short @127.0.0.1 -p "$NS" _sip._tcp.sipdns.test SRV | sort)
check "dig: two SRV records for _sip._tcp.sipdns.test" \
  [ "$out" = "10 0 $DEAD dead.sipdns.test."$'\n'"20 0 $UAS uas.sipdns.test." ]

# 2. telox uac -> sip:service@sipdns.test: NAPTR picks TCP, the first SRV target refuses,
#    every call goes to the telox uas at the second.
timeout 90 "$EX/uas" --bind "127.0.0.1:$UAS" --tcp --seconds 20 >"$TMP/uas.out" 2>&1 & UPID=$!
sleep 0.5
out=$(timeout 60 "$EX/uac" --uri "sip:service@sipdns.test" --dns "127.0.0.1:$NS" \
  --calls "$CALLS" --concurrent 5 --hold-ms 50 2>"$TMP/uac.err")
rc=$?
echo "$out" | sed 's/^/  /'
check "telox uac: targets in RFC 3263 order (TCP dead, TCP uas, UDP sipp)" \
  grep -qx "uac targets: Tcp 127.0.0.1:$DEAD, Tcp 127.0.0.1:$UAS, Udp 127.0.0.1:$SIPP" <<<"$out"
check "telox uac: each of $CALLS calls refused by the first target, placed again to the next" \
  grep -qx "uac failovers=$CALLS" <<<"$out"
check "telox uac -> telox uas by name over TCP: $CALLS calls, rc=$rc" calls_ok "$rc" "$out"
wait "$UPID"
out=$(tail -1 "$TMP/uas.out")
check "telox uas: $out" [ "$out" = "uas incoming=$CALLS confirmed=$CALLS ended=$CALLS" ]

# 3. ;transport=udp skips NAPTR: _sip._udp SRV -> SIPp's uas.
timeout 90 sipp -sn uas -i 127.0.0.1 -p "$SIPP" -m "$CALLS" -nostdin -timeout 60 \
  -timeout_error >"$TMP/sipp.out" 2>&1 & SPID=$!
sleep 0.5
out=$(timeout 60 "$EX/uac" --uri "sip:service@sipdns.test;transport=udp" \
  --dns "127.0.0.1:$NS" --calls "$CALLS" --concurrent 5 --hold-ms 50 2>>"$TMP/uac.err")
rc=$?
echo "$out" | sed 's/^/  /'
check "telox uac ;transport=udp: the one target from _sip._udp" \
  grep -qx "uac targets: Udp 127.0.0.1:$SIPP" <<<"$out"
check "telox uac -> SIPp uas by name over UDP: $CALLS calls, rc=$rc" calls_ok "$rc" "$out"
wait "$SPID"
rc=$?
check "SIPp uas: $CALLS calls, sipp rc=$rc" [ "$rc" -eq 0 ]

# 4. What dnsmasq was asked: NAPTR once (the second URI names its transport), the SRV of
#    both transports, and the A records of the SRV targets.
log="$TMP/dnsmasq.log"
q() { grep -c "query\[$1\] $2 from 127.0.0.1" "$log"; }
check "dnsmasq: NAPTR sipdns.test asked by dig and once by the uac" [ "$(q NAPTR sipdns.test)" -eq 2 ]
check "dnsmasq: SRV _sip._tcp asked (dig + uac)" [ "$(q SRV _sip._tcp.sipdns.test)" -eq 2 ]
check "dnsmasq: SRV _sip._udp asked by both uac runs" [ "$(q SRV _sip._udp.sipdns.test)" -eq 2 ]
check "dnsmasq: A of the three SRV targets asked" \
  [ "$(q A dead.sipdns.test)" -ge 1 -a "$(q A uas.sipdns.test)" -ge 1 -a "$(q A sipp.sipdns.test)" -ge 1 ]
check "dnsmasq: no AAAA asked by an IPv4 uac" [ "$(grep -c 'query\[AAAA\]' "$log")" -eq 0 ]

# 5. gateway --trunk sip:trunk.sipdns.test: _sip._udp SRV gives the 503 SIPp, then SIPp's
#    uas; every call is answered 503 by the first and sent again by the UA to the second.
if [ -x "$BIN/gateway" ]; then
  U1=$(SCENARIO="$P/scenarios/uas-503.xml" UAS_TIMEOUT=90 "$P/sipp-uas.sh" "$BUSY" 2>>"$TMP/uas.log")
  U2=$(UAS_TIMEOUT=90 "$P/sipp-uas.sh" "$TRUNK" 2>>"$TMP/uas.log")
  GWP=$(free_udp_port)
  timeout -k 3 90 "$BIN/gateway" --listen "127.0.0.1:$GWP" --trunk sip:trunk.sipdns.test \
    --dns "127.0.0.1:$NS" --allow 127.0.0.0/8 2>"$TMP/gw.log" & GW=$!
  sleep 0.5
  out=$("$P/sipp-uac.sh" "127.0.0.1:$GWP" 10 "$CALLS" 2>&1 | tail -1)
  echo "  $out"
  kill -INT "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; GW=""
  grep -E 'trunks|stopped' "$TMP/gw.log" | sed 's/^/  /'
  check "gateway: trunk located by name (SRV order: 503 SIPp, then SIPp uas)" \
    grep -q "trunks \[trunk.sipdns.test (127.0.0.1:$BUSY, 127.0.0.1:$TRUNK)\]" "$TMP/gw.log"
  check "SIPp uac -> gateway -> trunk by name: $CALLS calls, zero failures" \
    grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
  check "gateway: each call answered 503 by the first target, sent again to the second" \
    [ "$(grep -c "127.0.0.1:$BUSY failed (503); sent again to 127.0.0.1:$TRUNK" "$TMP/gw.log")" -eq "$CALLS" ]
  check "gateway: $CALLS bridged, $CALLS failovers" \
    grep -q "$CALLS bridged, 0 failed, 0 refused, $CALLS failovers" "$TMP/gw.log"
  # A trunk whose first target stays silent over UDP: at the trunk timeout the gateway
  # moves each call to the trunk's next target (UserAgent::fail_over), not to the next trunk.
  GWP=$(free_udp_port)
  timeout -k 3 60 "$BIN/gateway" --listen "127.0.0.1:$GWP" --trunk sip:quiet.sipdns.test \
    --dns "127.0.0.1:$NS" --allow 127.0.0.0/8 --trunk-timeout 1s 2>"$TMP/gw2.log" & GW=$!
  sleep 0.5
  out=$(TIMEOUT=30 "$P/sipp-uac.sh" "127.0.0.1:$GWP" 2 4 2>&1 | tail -1)
  echo "  $out"
  kill -INT "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; GW=""
  check "SIPp uac -> gateway -> trunk with a silent first target: 4 calls, zero failures" \
    grep -Eq "rc=0 created=4 ok=4 failed=0" <<<"$out"
  check "gateway: each call left the silent target at the trunk timeout for the second" \
    [ "$(grep -c "127.0.0.1:$QUIET failed (408); sent again to 127.0.0.1:$TRUNK" "$TMP/gw2.log")" -eq 4 ]
  stop_pid "$U1"; stop_pid "$U2"; U1=""; U2=""
else
  not_ok "gateway binary missing at $BIN (cargo build --release -p telox-examples)"
fi

# 6. A telox phone over TCP with --registrar sip:svc.sipdns.test: _sip._tcp SRV gives a
#    refused port, then a telox phone; the phone's REGISTER and the call's INVITE meet the
#    transport error and the UA sends each to the second target.
if [ -x "$BIN/phone" ]; then
  timeout -k 3 40 "$BIN/phone" --transport tcp --listen "127.0.0.1:$CALLEE" --user bob \
    --auto-answer --codecs pcmu --calls 1 --max-time 30s </dev/null >/dev/null 2>"$TMP/callee.log" &
  PH=$!
  sleep 0.5
  timeout -k 3 40 "$BIN/phone" --transport tcp --user alice --registrar sip:svc.sipdns.test \
    --dns "127.0.0.1:$NS" --call bob --codecs pcmu --duration 2s </dev/null >/dev/null \
    2>"$TMP/caller.log"
  rc=$?
  wait "$PH" 2>/dev/null; PH=""
  grep -E 'registrar|call' "$TMP/caller.log" | sed 's/^/  /'
  check "phone: proxy located by name (SRV order: dead, then the callee)" \
    grep -q "registrar sip:svc.sipdns.test: TCP 127.0.0.1:$DEAD2, TCP 127.0.0.1:$CALLEE" "$TMP/caller.log"
  check "phone: the REGISTER refused by the first target went to the second" \
    grep -q "registrar: 127.0.0.1:$DEAD2 failed (503); sent again to 127.0.0.1:$CALLEE" "$TMP/caller.log"
  check "phone: the INVITE refused by the first target went to the second" \
    grep -q "call: 127.0.0.1:$DEAD2 failed (503); sent again to 127.0.0.1:$CALLEE" "$TMP/caller.log"
  check "phone -> phone through the second target: call up and ended, rc=$rc" \
    [ "$rc" -eq 0 -a "$(grep -c 'call up' "$TMP/caller.log")" -eq 1 -a "$(grep -c 'call ended' "$TMP/caller.log")" -eq 1 ]
  check "callee phone: the call came in" grep -q "incoming call" "$TMP/callee.log"
else
  not_ok "phone binary missing at $BIN (cargo build --release -p telox-examples)"
fi

# 7. The PBX's trunks by name (config `address = "sip:..."`, `dns = ...`). Calls to 0... go
#    to sip:trunk.sipdns.test: each INVITE is answered 503 by the first SRV target and sent
#    again by the UA to the second (RFC 3263 §4.3). Calls to 9... go to sip:moved.sipdns.test:
#    a first round reaches 127.0.0.1; its A record then moves to 127.0.0.2, and once the
#    1 s TTL has run out the next round is located again and reaches the new address. A
#    gateway with --trunk sip:moved.sipdns.test gets the same two rounds.
if [ -x "$BIN/pbx" ] && [ -x "$BIN/gateway" ]; then
  U1=$(SCENARIO="$P/scenarios/uas-503.xml" UAS_TIMEOUT=90 "$P/sipp-uas.sh" "$BUSY" 2>>"$TMP/uas.log")
  U2=$(UAS_TIMEOUT=90 "$P/sipp-uas.sh" "$TRUNK" 2>>"$TMP/uas.log")
  PBXP=$(free_udp_port)
  # MD5: SIPp's digest answers no other algorithm.
  printf '%s\n' "listen = \"127.0.0.1:$PBXP\"" 'tcp = false' "dns = \"127.0.0.1:$NS\"" \
    'digest_algorithms = ["MD5"]' \
    '[[users]]' 'extension = "1000"' 'password = "1000"' \
    '[[trunks]]' 'name = "carrier"' 'address = "sip:trunk.sipdns.test"' \
    '[[trunks]]' 'name = "moved"' 'address = "sip:moved.sipdns.test"' \
    '[[routes]]' 'pattern = "_0X."' 'trunk = "carrier"' \
    '[[routes]]' 'pattern = "_9X."' 'trunk = "moved"' >"$TMP/pbx.toml"
  timeout -k 3 90 "$BIN/pbx" --config "$TMP/pbx.toml" 2>"$TMP/pbx.log" & PB=$!
  GWP=$(free_udp_port)
  timeout -k 3 90 "$BIN/gateway" --listen "127.0.0.1:$GWP" --trunk sip:moved.sipdns.test \
    --dns "127.0.0.1:$NS" --allow 127.0.0.0/8 2>"$TMP/gw3.log" & GW=$!
  sleep 0.5
  pbx_calls() { # pbx_calls NUMBER COUNT: SIPp uac (digest as 1000) through the PBX
    SCENARIO="$P/scenarios/invite-auth-uac.xml" "$P/sipp-uac.sh" "127.0.0.1:$PBXP" 10 "$2" \
      -au 1000 -ap 1000 -s "$1" -key caller 1000 -d 100 2>&1 | tail -1
  }
  out=$(pbx_calls 0301234 "$CALLS")
  echo "  $out"
  check "pbx: trunk located by name (SRV order: 503 SIPp, then SIPp uas)" \
    grep -q "trunk carrier: located trunk.sipdns.test (127.0.0.1:$BUSY, 127.0.0.1:$TRUNK)" "$TMP/pbx.log"
  check "SIPp uac -> pbx -> trunk by name: $CALLS calls, zero failures" \
    grep -Eq "rc=0 created=$CALLS ok=$CALLS failed=0" <<<"$out"
  check "pbx: each INVITE answered 503 by the first target, sent again to the second" \
    [ "$(grep -c "call: 127.0.0.1:$BUSY failed (503); sent again to 127.0.0.1:$TRUNK" "$TMP/pbx.log")" -eq "$CALLS" ]
  stop_pid "$U1"; stop_pid "$U2"; U1=""; U2=""
  # One SIPp at a time on the port (the helper checks the port on every address): the
  # first round's is stopped before the record moves, so a stale address fails the call.
  U1=$(UAS_TIMEOUT=60 "$P/sipp-uas.sh" "$MOVED" 2>>"$TMP/uas.log")
  out1=$(pbx_calls 9123 5)
  gout1=$("$P/sipp-uac.sh" "127.0.0.1:$GWP" 10 5 2>&1 | tail -1)
  stop_pid "$U1"; U1=""; sleep 0.5
  U2=$(LOCAL_IP=127.0.0.2 UAS_TIMEOUT=60 "$P/sipp-uas.sh" "$MOVED" 2>>"$TMP/uas.log")
  echo "127.0.0.2 moved.sipdns.test" >"$HOSTS/moved"
  sleep 2
  out2=$(pbx_calls 9123 5)
  gout2=$("$P/sipp-uac.sh" "127.0.0.1:$GWP" 10 5 2>&1 | tail -1)
  echo "  $out1"; echo "  $out2"; echo "  gateway: $gout1"; echo "  gateway: $gout2"
  kill -INT "$PB" 2>/dev/null; wait "$PB" 2>/dev/null; PB=""
  kill -INT "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; GW=""
  grep -E "trunk moved" "$TMP/pbx.log" | sed 's/^/  /'
  grep -E "trunks|located again|stopped" "$TMP/gw3.log" | sed 's/^/  /'
  check "SIPp uac -> pbx -> moving trunk: 5 + 5 calls, zero failures" \
    [ "$(grep -Ec "rc=0 created=5 ok=5 failed=0" <<<"$out1"$'\n'"$out2")" -eq 2 ]
  check "pbx: the first round reached 127.0.0.1" \
    [ "$(grep -c "calling 9123 at udp:127.0.0.1:$MOVED" "$TMP/pbx.log")" -eq 5 ]
  check "pbx: after the record moved and its TTL ran out, the next round reached 127.0.0.2" \
    [ "$(grep -c "calling 9123 at udp:127.0.0.2:$MOVED" "$TMP/pbx.log")" -eq 5 ]
  # The SIPp of the first round is gone when the second runs: a gateway still sending to
  # 127.0.0.1 fails those calls at its trunk timeout.
  check "SIPp uac -> gateway -> moving trunk: 5 + 5 calls, zero failures" \
    [ "$(grep -Ec "rc=0 created=5 ok=5 failed=0" <<<"$gout1"$'\n'"$gout2")" -eq 2 ]
  check "gateway: the trunk located again at 127.0.0.2 after the record moved" \
    grep -q "located again: moved.sipdns.test (127.0.0.2:$MOVED)" "$TMP/gw3.log"
  stop_pid "$U1"; stop_pid "$U2"; U1=""; U2=""
else
  not_ok "pbx or gateway binary missing at $BIN (cargo build --release -p telox-examples)"
fi

summary sip-dns
