#!/usr/bin/env bash
# Late offer through the PBX (RFC 3261 §13.2.1, RFC 3264 §5: an INVITE without SDP, the offer
# in the 200, the answer in the ACK), SIPp as the caller (programs/scenarios/late-offer-*.xml,
# digest auth, -rtp_echo sends back the RTP it gets):
#  1. Relay mode, to a telox phone in auto-answer: the PBX offers the phone in its INVITE and
#     the caller in its 200, and starts the relay from the answer in the caller's ACK. The
#     phone's audio reaches SIPp and comes back (the phone's packet count). The phone takes
#     Opus from the PBX's offer and SIPp answers PCMU, so the PBX transcodes; the call is
#     recorded from the transcoder: both channels of the WAV carry the tone (sox).
#  2. The same with hold and resume by re-INVITEs without SDP (the PBX offers in its 200, the
#     ACK answers sendonly, then sendrecv): the PBX forwards both to the phone.
#  3. Direct media, to a SIPp UAS behind the trunk that answers the INVITE without SDP with
#     its offer and checks the answer in the ACK (.ci/interop/sip-core/late-offer-uas.xml):
#     the PBX passes the caller's answer from its ACK on.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
require sox
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
S="$P/scenarios"
WORK=$(mktemp -d /tmp/telox-pbx-late.XXXXXX)
PBX=""; PH=""; UAS=""
cleanup() { stop_pid "$PH"; stop_pid "$UAS"; [ -n "$PBX" ] && kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; true; }
trap cleanup EXIT

start_pbx() { # start_pbx NAME EXTRA_ARGS... ; sets PBX, PORT
  local name=$1; shift
  PORT=$(free_udp_port)
  timeout -k 3 120 "$BIN/pbx" --listen "127.0.0.1:$PORT" --demo-users 1000-1009 --digest md5 \
    --cdr "$WORK/cdr-$name.jsonl" "$@" 2>"$WORK/pbx-$name.log" &
  PBX=$!
  sleep 0.5
}
stop_pbx() { kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; PBX=""; sleep 0.3; }

phone() { # phone NAME CALLS -> sets PH (1001, auto-answer, playing a 1 kHz tone)
  local port; port=$(free_udp_port)
  timeout -k 3 60 "$BIN/phone" --listen "127.0.0.1:$port" --user 1001 --password 1001 \
    --registrar "127.0.0.1:$PORT" --auto-answer --calls "$2" --max-time 50s \
    --play "$WORK/t1000.wav" </dev/null >"$WORK/$1.out" 2>"$WORK/$1.log" &
  PH=$!
  wait_log "$WORK/$1.log" "^phone: registered"
}

# sipp_calls NAME SCENARIO CALLS PAUSE_MS WHAT: SIPp caller 1000 -> $CALLEE (1001) with
# -rtp_echo, one call at a time; checks that every call succeeded.
sipp_calls() {
  local mp out; mp=$(free_udp_port)
  SCENARIO="$S/$2" MEDIA_PORT="$mp" "$P/sipp-uac.sh" "127.0.0.1:$PORT" 1 "$3" -l 1 \
    -au 1000 -ap 1000 -s "${CALLEE:-1001}" -key caller 1000 -d "$4" -mp "$mp" -rtp_echo \
    >"$WORK/sipp-$1.out" 2>&1
  out=$(tail -1 "$WORK/sipp-$1.out")
  echo "  $1: $out"
  check "$1: $5: $3 call(s)" grep -Eq "rc=0 created=$3 ok=$3 failed=0" <<<"$out"
}

sox -n -r 8000 -c 1 -b 16 "$WORK/t1000.wav" synth 10 sine 1000 vol 0.5

# 1. Relay, recorded.
start_pbx relay --record "$WORK/rec"
phone relay 3
sipp_calls relay late-offer-auth-uac.xml 3 2000 \
  "SIPp late-offer uac -> PBX -> phone, offer in the 200, answer in the ACK"
wait "$PH" 2>/dev/null; PH=""
# The phone's report table: one row per call (leg "phone"), received packets in column 5.
pk=$(awk '$1 == "phone" {print $5}' "$WORK/relay.out" | grep -E '^[0-9]+$' | tr '\n' ' ')
n=$(for x in $pk; do [ "$x" -gt 50 ] && echo ok; done | grep -c ok)
check "relay: the phone's audio went to SIPp and back in each call (packets: ${pk:-none})" test "$n" -eq 3
up=$(grep 'media up after the answer in the ACK' "$WORK/pbx-relay.log")
check "relay: the PBX started the media from the answer in the ACK (3 calls; ${up##*ACK })" \
  test "$(grep -c . <<<"$up")" -eq 3
stop_pbx
answered=$(grep -c '"answer_cause":"answered"' "$WORK/cdr-relay.jsonl" 2>/dev/null || echo 0)
check "relay: 3 answered call records ($answered)" test "$answered" -eq 3
rec=$(sed -n 's/.*"recording":"\([^"]*\)".*/\1/p' "$WORK/cdr-relay.jsonl" | head -1)
sleep 0.5
check "relay: the record names its WAV ($rec)" test -s "$rec"
for c in "1 caller (SIPp's echo)" "2 callee (the phone's tone)"; do
  set -- $c
  rms=$(sox "$rec" -n trim 0.5 remix "$1" stat 2>&1 | awk '/RMS +amplitude/ {print $3}')
  f=$(sox "$rec" -n trim 0.5 remix "$1" stat 2>&1 | awk '/Rough +frequency/ {print $3}')
  check "relay: recording channel $1, the $2: RMS ${rms:-none}, ${f:-none} Hz" \
    awk -v r="${rms:-0}" -v f="${f:-0}" 'BEGIN{exit !(r > 0.05 && f > 900 && f < 1100)}'
done

# 2. Relay, hold and resume by re-INVITEs without SDP.
start_pbx hold
phone hold 1
sipp_calls hold late-offer-hold-uac.xml 1 1500 \
  "re-INVITEs without SDP answered with the PBX's offer, answers in the ACKs"
wait "$PH" 2>/dev/null; PH=""
check "hold: the PBX took hold then resume from the answers in the ACKs" \
  sh -c "grep -q 'hold from 1000' '$WORK/pbx-hold.log' && grep -q 'resume from 1000' '$WORK/pbx-hold.log'"
check "hold: the PBX held and resumed the phone" \
  sh -c "grep -q 'held by the far end' '$WORK/hold.log' && grep -q 'resumed by the far end' '$WORK/hold.log'"
stop_pbx

# 3. Direct media, to a SIPp UAS (the trunk) answering with the offer.
UAS_PORT=$(free_udp_port)
UAS=$(UAS_TIMEOUT=60 OUTDIR="$WORK/uas" SCENARIO="$(dirname "$0")/sip-core/late-offer-uas.xml" \
  "$P/sipp-uas.sh" "$UAS_PORT" 2>>"$WORK/uas.log")
start_pbx direct --direct-media --trunk "127.0.0.1:$UAS_PORT"
CALLEE=5551234 sipp_calls direct late-offer-auth-uac.xml 5 200 \
  "SIPp uac -> PBX -> SIPp uas, INVITE without SDP passed on"
stop_pbx
stop_pid "$UAS"; UAS=""
uas_count() { # uas_count COLUMN: the UAS's cumulative count in its last statistics line
  awk -F';' -v col="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==col) c=i} END{print $c+0}' \
    "$WORK/uas/stat.csv" 2>/dev/null
}
uas_ok=$(uas_count "SuccessfulCall(C)"); uas_fail=$(uas_count "FailedCall(C)")
check "direct: the SIPp uas found the caller's answer in 5 ACKs (ok ${uas_ok:-?}, failed ${uas_fail:-?})" \
  test "${uas_ok:-0}" -eq 5 -a "${uas_fail:-1}" -eq 0
answered=$(grep -c '"answer_cause":"answered"' "$WORK/cdr-direct.jsonl" 2>/dev/null || echo 0)
check "direct: 5 answered call records ($answered)" test "$answered" -eq 5
summary pbx-late-offer
