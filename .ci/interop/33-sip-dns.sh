#!/usr/bin/env bash
# RFC 3263 server location against a real DNS server: dnsmasq on a loopback port serves the
# NAPTR, SRV and A records of sipdns.test (NAPTR: SIP+D2T before SIP+D2U; _sip._tcp: a dead
# target at priority 10, a telox UAS at 20; _sip._udp: a SIPp UAS). dig checks the zone;
# the telox uac calls sip:service@sipdns.test through it (NAPTR -> SRV -> A over UDP DNS),
# is refused by the first TCP target and places each call again to the next (RFC 3263
# §4.3); with ;transport=udp it skips NAPTR and reaches SIPp through _sip._udp. The dnsmasq
# query log shows which lookups were made. Loopback only, every process bounded by
# `timeout` and stopped by PID.
set -u
. "$(dirname "$0")/lib.sh"
require dnsmasq
require dig
require sipp
EX="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"
(cd "$ROOT" && cargo build --release -q -p telox-sip-core --features tokio --examples) || {
  not_ok "build sip-core examples"; summary sip-dns; exit 1; }
TMP=$(mktemp -d /tmp/interop-sip-dns.XXXXXX)
DPID=""
trap 'stop_pid "$DPID"; rm -rf "$TMP"' EXIT
CALLS=${CALLS:-20}
# calls_ok RC OUTPUT: the uac exited 0 and every call succeeded.
calls_ok() { [ "$1" -eq 0 ] && grep -qx "uac calls=$CALLS ok=$CALLS failed=0" <<<"$2"; }

NS=$(free_udp_port)     # dnsmasq, UDP and TCP
UAS=$(free_udp_port)    # telox uas, UDP and TCP
DEAD=$(free_udp_port)   # nothing listens here: a TCP connect is refused
SIPP=$(free_udp_port)   # SIPp uas, UDP

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

summary sip-dns
