#!/usr/bin/env bash
# Interop: baresip (Debian package, headless: audio from a file, ctrl_tcp) with the telox PBX
# and a telox phone, audio both ways:
#  1. baresip (user 1000) registers to the PBX with digest auth; a telox phone (1001,
#     auto-answer) registers too; baresip calls 1001 through the PBX (media relay); the call
#     is established, audio flows both ways: the telox phone's report counts received packets,
#     baresip's sndfile dump of the decoded far-end audio is non-empty.
#  2. The reverse: a telox phone (1001) calls baresip (1000, auto answer) through the PBX.
#  3. The same as 1 with SDES-SRTP mandatory on baresip (srtp-mand).
#  4. SIP over TLS with SDES-SRTP: baresip (its certificate from a CA made here with openssl,
#     srtp-mand) registers to the PBX's TLS listener and calls a telox phone registered over
#     TLS (SRTP required); the INVITEs go over TLS on both legs (baresip's SIP trace, the
#     PBX's B-leg), SRTP is enabled at baresip, audio both ways.
#  5. The reverse over TLS: the telox phone calls baresip (srtp: baresip takes the PBX's
#     RTP/AVP offer with keys) through the PBX, which reuses baresip's registration
#     connection.
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
WORK=$(mktemp -d /tmp/telox-baresip.XXXXXX)
PBX=""; BS=""; PH=""
cleanup() { stop_pid "$BS"; stop_pid "$PH"; [ -n "$PBX" ] && kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; true; }
trap cleanup EXIT

# 48 kHz mono speech-like audio for baresip's aufile source (espeak-ng if present, else a tone).
if command -v espeak-ng >/dev/null 2>&1; then
  espeak-ng -w "$WORK/raw.wav" "telox and baresip talking through the telox PBX, one two three four five six seven eight nine ten" 2>/dev/null
  sox "$WORK/raw.wav" -r 48000 -c 1 -b 16 "$WORK/say.wav" repeat 3 2>/dev/null
else
  sox -n -r 48000 -c 1 -b 16 "$WORK/say.wav" synth 8 sine 440 2>/dev/null
fi

PKI="$WORK/pki"
"$P/test-pki.sh" "$PKI" pbx baresip
PBX_PORT=$(free_udp_port); TLS_PORT=$(free_udp_port)
timeout -k 3 200 "$BIN/pbx" --listen "127.0.0.1:$PBX_PORT" --demo-users 1000-1099 --digest md5 \
  --tls-cert "$PKI/pbx.pem" --tls-key "$PKI/pbx.key" --tls-listen "127.0.0.1:$TLS_PORT" 2>"$WORK/pbx.log" &
PBX=$!
sleep 0.5

# bs_registered DIR: wait (up to 10 s) until the baresip in DIR has its REGISTER answered 200.
bs_registered() {
  local _
  for _ in $(seq 1 100); do
    grep -q "} 200 OK .*binding" "$1/baresip.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "  baresip in $1 not registered after 10 s" >&2
  return 1
}

run_case() { # run_case NAME MEDIAENC DIRECTION(bs2telox|telox2bs) [TRANSPORT(udp|tls)]
  local name=$1 enc=$2 dir=$3 transport=${4:-udp}
  local sip ctrl tp
  sip=$(free_udp_port); ctrl=$((20000 + RANDOM % 20000)); tp=$(free_udp_port)
  # Over TLS both register at the PBX's TLS listener; baresip's calls name TLS.
  local registrar=$PBX_PORT dial="sip:1001@127.0.0.1:$PBX_PORT" tls_env=() tls_args=()
  if [ "$transport" = tls ]; then
    registrar=$TLS_PORT dial="sip:1001@127.0.0.1:$TLS_PORT;transport=tls"
    tls_env=(SIP_TRANSPORT=tls SIP_CERT="$PKI/baresip-full.pem" SIP_CAFILE="$PKI/ca.pem" SIP_TRACE=1)
    tls_args=(--transport tls --ca "$PKI/ca.pem")
  fi
  # baresip-run.sh refuses a busy port (the free_udp_port/RANDOM picks can collide with a
  # socket opened meanwhile): new ports and a second try before the case is lost.
  local try
  for try in 1 2 3; do
    BS=$(env "${tls_env[@]}" USER_NAME=1000 PASS=1000 REGISTRAR="127.0.0.1:$registrar" SIP_PORT="$sip" \
         CTRL_PORT="$ctrl" RTP_PORTS=31000-31099 AUDIO="file:$WORK/say.wav" MEDIAENC="$enc" \
         BARESIP_TIMEOUT=60 RUN_DIR="$WORK/bs-$name" "$P/baresip-run.sh" 2>>"$WORK/baresip.log")
    [ -n "$BS" ] && break
    echo "  $name: baresip did not start (try $try), new ports" >&2
    sip=$(free_udp_port); ctrl=$((20000 + RANDOM % 20000))
  done
  local fail_before=$FAIL
  local srtp=optional; [ -n "$enc" ] && srtp=required
  local args=(--listen "127.0.0.1:$tp" --user 1001 --password 1001 --registrar "127.0.0.1:$registrar"
              --srtp "$srtp" --max-time 40s --calls 1 --play "$WORK/say.wav" --record "$WORK/rec-$name"
              "${tls_args[@]}")
  if [ "$dir" = bs2telox ]; then
    timeout -k 3 45 "$BIN/phone" "${args[@]}" --auto-answer </dev/null >"$WORK/$name.out" 2>"$WORK/$name.log" &
    PH=$!
    # Both registered, then baresip dials 1001.
    for _ in $(seq 1 100); do grep -q registered "$WORK/$name.log" && break; sleep 0.1; done
    bs_registered "$WORK/bs-$name" || not_ok "$name: baresip registered before the call"
    python3 "$P/baresip-ctl.py" --port "$ctrl" --wait-event CALL_ESTABLISHED --timeout 10 dial "$dial" \
      >"$WORK/$name.dial" 2>&1
    est=$?
    sleep 5
    python3 "$P/baresip-ctl.py" --port "$ctrl" --timeout 5 hangup >/dev/null 2>&1
    wait "$PH" 2>/dev/null; PH=""
  else
    # the PBX must know baresip's binding before the call
    bs_registered "$WORK/bs-$name" || not_ok "$name: baresip registered before the call"
    timeout -k 3 45 "$BIN/phone" "${args[@]}" --call "sip:1000@127.0.0.1:$registrar" --duration 5s \
      </dev/null >"$WORK/$name.out" 2>"$WORK/$name.log"
    est=$?
  fi
  stop_pid "$BS"; BS=""
  sed 's/^/  /' "$WORK/$name.out"
  check "$name: call established" test "$est" -eq 0
  local recv; recv=$(awk 'NR==2{print $5}' "$WORK/$name.out")
  check "$name: telox phone received audio from baresip (${recv:-0} packets)" test "${recv:-0}" -gt 100
  # baresip's sndfile module writes the decoded far-end audio (dec-*.wav) into its dir.
  local dec; dec=$(find "$WORK/bs-$name" -name '*dec*.wav' -size +20k 2>/dev/null | head -1)
  check "$name: baresip decoded audio from telox (${dec:-no dump})" test -n "$dec"
  if [ -n "$enc" ]; then
    check "$name: SRTP negotiated" grep -q "SRTP AE\|SRTP AES" "$WORK/$name.log"
  fi
  if [ "$transport" = tls ]; then
    local bslog="$WORK/bs-$name/baresip.log"
    check "$name: baresip registered over TLS" grep -q "{0/TLS/v4} 200 OK" "$bslog"
    check "$name: baresip's INVITE went over TLS" bash -c "grep -A1 '^TLS ' '$bslog' | grep -q '^INVITE '"
    local callee=1001; [ "$dir" = telox2bs ] && callee=1000
    check "$name: the PBX's B-leg went over TLS" grep -q "calling $callee at tls:" "$WORK/pbx.log"
    check "$name: SRTP enabled at baresip" grep -q "SRTP is Enabled" "$bslog"
  fi
  # A failed case prints what each party said, so a CI log alone tells why.
  if [ "$FAIL" -gt "$fail_before" ]; then
    echo "  --- $name diagnostics: baresip-run.sh"; tail -5 "$WORK/baresip.log" | sed 's/^/  | /'
    echo "  --- baresip log"; tail -40 "$WORK/bs-$name/baresip.log" 2>/dev/null | sed 's/^/  | /'
    echo "  --- telox phone"; tail -20 "$WORK/$name.log" | sed 's/^/  | /'
    echo "  --- pbx"; tail -20 "$WORK/pbx.log" | sed 's/^/  | /'
  fi
}

run_case baresip-calls-telox "" bs2telox
run_case telox-calls-baresip "" telox2bs
run_case baresip-srtp "srtp-mand" bs2telox
run_case baresip-tls-srtp "srtp-mand" bs2telox tls
run_case telox-tls-srtp "srtp" telox2bs tls
check "the PBX registered baresip with digest auth" grep -q "registered sip:1000@" "$WORK/pbx.log"
summary baresip
