#!/usr/bin/env bash
# Interop: linphone (Debian linphone-cli 5.1.65: linphonec, the console client, headless with
# 'soundcard use files') with the telox PBX and a telox phone, audio both ways:
#  1. linphonec (1000) registers to the PBX with MD5 digest; a telox phone (1001,
#     auto-answer) registers too; linphonec calls 1001 through the PBX (media relay), sends
#     RFC 4733 DTMF 1#5 and hangs up (BYE from linphone). The phone's report counts the
#     received packets and the digits, linphone records the far end's 440 Hz tone,
#     RTCP passes the relay both ways.
#  2. The reverse: the telox phone calls linphonec (1000, auto answer) through the PBX,
#     sends DTMF 47* (linphonec prints each tone it receives) and hangs up (BYE from telox).
#  3. SDES-SRTP mandatory on linphone (RTP/SAVP, four crypto suites offered) against a PBX
#     offering SHA-256 and MD5 digests (linphone answers SHA-256) and a phone requiring SRTP.
#  4. SDES-SRTP from telox: the telox phone (SRTP required) calls linphonec (SRTP mandatory)
#     directly with RTP/SAVP.
#  5. The same through the PBX: linphone (SRTP mandatory) refuses the PBX's best-effort offer
#     (RTP/AVP with a=crypto) with 488, the PBX sends the INVITE again (same Call-ID, CSeq 2)
#     with RTP/SAVP, linphone answers one a=crypto; the phone (SRTP optional) hears nothing of
#     it but a longer setup; audio both ways.
#  6. RTCP-XR: linphone sends XR only when the peer's SDP has a=rtcp-xr, which telox does
#     not write, so two linphonec call each other directly with rtcp-xr configured; tshark
#     captures their RTCP and rtp-analyze --dump reads every compound with telox's RTCP
#     parser (XR included) without a violation.
#  7. linphone's real offer (1) and answer (2, to the PBX's offer) parse strictly with
#     sdp-tool and telox answers the offer (sdp/tests/data/real/linphone holds captures).
# Surprises from linphone (none of baresip, kamailio or SIPp does these):
#  - It will not start its SIP stack when ~/.local/share/linphone is missing (no REGISTER,
#    nothing in the log but a database error), and it rewrites its config file at exit.
#  - Its offer carries a session-level a=rtcp-xr (rcvr-rtt, stat-summary, voip-metrics),
#    a=rtcp-fb:* trr-int/ccm tmmbr on RTP/AVP, telephone-event at 48000, 16000 and 8000 Hz,
#    a=fmtp:18 without an rtpmap, and s=Talk; the SRTP offer lists four suites.
#  - It sends STUN binding requests to the far end's media ports: two from its RTP port at
#    the start, then one from its RTCP port every 500 ms until RTCP arrives there. It offers
#    no rtcp-mux, so it sends RTCP to RTP port + 1 (or to a=rtcp) and reads RTCP only on its
#    own RTCP port: until telox wrote a=rtcp and its relay sent RTCP to the RTCP port, it
#    received none through the PBX (checked below: its RTP session's totals at the end, and
#    the phone's round-trip time, which needs linphone's report blocks to come back).
#  - It sends XR only when the answer carries a=rtcp-xr, and even then only the RRTR block
#    (type 4), never the DLRR, statistics-summary or VoIP-metrics blocks it advertises.
#  - It answers a SHA-256 challenge when offered beside MD5, and its BYE carries a
#    Proxy-Authorization computed ahead of any challenge (nc=00000002 on the INVITE's nonce).
#  - Without a proxy it writes c=IN IP6 <the default route's address> (and that host in its
#    RTCP CNAME) although use_ipv6=0; with a proxy, the address it reaches the proxy from.
#  - It takes SDES only on RTP/SAVP: to an RTP/AVP offer carrying a=crypto (best-effort
#    SDES, what the PBX offers its callees first) it answers plain RTP/AVP, or 488 when SRTP
#    is mandatory. The PBX (and the phone with SRTP optional) then offers RTP/SAVP once more,
#    as Asterisk and FreeSWITCH setups do (case 5).
#  - linphonec reads console commands from a pipe; a digit alone on a line is sent as DTMF
#    (RFC 4733), and it prints "Receiving tone X" for each digit it receives.
# Runs in about 50 s (49-69 s at load 15-17 on a 2-core machine).
set -u
. "$(dirname "$0")/lib.sh"
require linphonec
require sox
require tshark
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
L="$(dirname "$0")/linphone"
. "$L/lp-lib.sh"
WORK=$(mktemp -d /tmp/telox-linphone.XXXXXX)
PBX=""; PBX2=""; PH=""; TS=""
cleanup() {
  lp_stop_all; stop_pid "$PH"; stop_pid "$TS"
  for p in $PBX $PBX2; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; true
}
trap cleanup EXIT
T0=$(date +%s)

# The telox side plays a 440 Hz tone, linphone 16 kHz mono speech (espeak-ng if present,
# else a 1 kHz tone), so that linphone's recording shows it is the far end's audio.
sox -n -r 16000 -c 1 -b 16 "$WORK/tone.wav" synth 10 sine 440 2>/dev/null
if command -v espeak-ng >/dev/null 2>&1; then
  espeak-ng -w "$WORK/raw.wav" "telox and linphone talking through the telox PBX, one two three four five six" 2>/dev/null
  sox "$WORK/raw.wav" -r 16000 -c 1 -b 16 "$WORK/say.wav" repeat 2 2>/dev/null
else
  sox -n -r 16000 -c 1 -b 16 "$WORK/say.wav" synth 8 sine 1000 2>/dev/null
fi

# hears_tone WAV: the recording holds at least a second of audio with RMS above -40 dBFS
# whose (zero-crossing) frequency is the telox side's 440 Hz.
hears_tone() {
  local st len rms hz
  st=$(sox "$1" -n stat 2>&1)
  len=$(awk '/^Length/{print $3}' <<<"$st")
  rms=$(awk '/^RMS +amplitude/{print $3}' <<<"$st")
  hz=$(awk '/^Rough +frequency/{print $3}' <<<"$st")
  awk -v l="${len:-0}" -v r="${rms:-0}" -v f="${hz:-0}" 'BEGIN{exit !(l >= 1 && r > 0.01 && f > 400 && f < 480)}'
}

# savp_one_crypto SDP: the SDP (an answer) has an RTP/SAVP audio stream and one a=crypto.
savp_one_crypto() {
  grep -q '^m=audio [0-9]* RTP/SAVP ' "$1" && test "$(grep -c '^a=crypto:' "$1")" -eq 1
}

PBX_PORT=$(free_udp_port)
timeout -k 3 120 "$BIN/pbx" --listen "127.0.0.1:$PBX_PORT" --demo-users 1000-1099 --digest md5 \
  2>"$WORK/pbx.log" &
PBX=$!
PBX2_PORT=$(free_udp_port)
timeout -k 3 120 "$BIN/pbx" --listen "127.0.0.1:$PBX2_PORT" --demo-users 1000-1099 --digest SHA-256,MD5 \
  2>"$WORK/pbx2.log" &
PBX2=$!
sleep 0.5

# phone NAME REGISTRAR ARGS...: a telox phone 1001 in the background, its report in NAME.out.
phone() {
  local name=$1 reg=$2; shift 2
  timeout -k 3 40 "$BIN/phone" --listen "127.0.0.1:$(free_udp_port)" --user 1001 --password 1001 \
    --registrar "127.0.0.1:$reg" --max-time 30s --calls 1 --play "$WORK/tone.wav" "$@" \
    </dev/null >"$WORK/$name.out" 2>"$WORK/$name.log" &
  PH=$!
}
recv_of() { awk 'NR==2{print $5}' "$WORK/$1.out"; }
dtmf_of() { awk 'NR==2{print $NF}' "$WORK/$1.out"; }

# rtcp_from_telox CASE LP [rtt]: RTCP reached linphone, which does not offer rtcp-mux and
# reads RTCP on its RTCP port only (it counts RTCP received in its RTP session's totals,
# logged at the end of the call); with `rtt`, the phone also measured a round trip from
# linphone's report blocks, which linphone sends where telox's a=rtcp says (needs a call of
# 8 s or more: both send RTCP about every 5 s).
rtcp_from_telox() {
  local n rtt
  n=$(awk '/ortp-message-received rtcp /{v=$(NF-1)} END{print v+0}' "$WORK/lp-$2/lp.log")
  check "$1: linphone received telox's RTCP ($n compounds)" test "$n" -ge 1
  [ "${3:-}" = rtt ] || return 0
  rtt=$(awk 'NR==2{print $9}' "$WORK/$1.out")
  check "$1: the phone measured the round trip from linphone's reports (${rtt:-none})" \
    bash -c "case '${rtt:--}' in *ms) true ;; *) false ;; esac"
}

# lp_calls_phone LP CASE PBXLOG ALGORITHM: once linphone LP (1000) and the phone of CASE
# (1001) are registered (checked, with the digest algorithm linphone answered), LP calls
# 1001; est is 0 when the call is up.
lp_calls_phone() {
  local lp=$1 case=$2 pbxlog=$3 alg=$4
  lp_wait "$lp" lp.log 'LinphoneRegistrationOk' 10
  for _ in $(seq 1 50); do grep -q registered "$WORK/$case.log" && break; sleep 0.1; done
  check "$case: linphone registered with $alg digest" bash -c \
    "grep -q 'registered sip:1000@' '$pbxlog' && grep -q '^Authorization: .*algorithm=$alg' '$WORK/lp-$lp/lp.log'"
  lp_cmd "$lp" "call sip:1001@127.0.0.1"
  lp_wait "$lp" out 'Call 1 with .* connected' 10; est=$?
}

# 1. linphone calls the telox phone through the PBX, DTMF, BYE from linphone.
c=lp-calls-telox
phone "$c" "$PBX_PORT" --auto-answer
lp_start a "$(free_udp_port)" "$(lp_free_rtp_port)" user=1000 registrar="127.0.0.1:$PBX_PORT" \
  play="$WORK/say.wav" record="$WORK/$c.wav"
lp_calls_phone a "$c" "$WORK/pbx.log" MD5
sleep 2
for k in 1 '#' 5; do lp_cmd a "$k"; sleep 0.4; done
sleep 5
lp_cmd a terminate
lp_wait a out 'Call 1 with .* ended' 5
wait "$PH" 2>/dev/null; PH=""
lp_stop a
sed 's/^/  /' "$WORK/$c.out"
check "$c: call established" test "$est" -eq 0
check "$c: telox phone received audio from linphone ($(recv_of $c) packets)" test "$(recv_of $c)" -gt 100 2>/dev/null
check "$c: linphone recorded telox's 440 Hz tone" hears_tone "$WORK/$c.wav"
check "$c: DTMF 1#5 from linphone reached the phone ($(dtmf_of $c))" test "$(dtmf_of $c)" = "1#5"
rtcp_from_telox "$c" a rtt
check "$c: BYE from linphone ended the call" bash -c \
  "grep -q 'far end hung up' '$WORK/$c.log' && grep -q 'CallerHangup' '$WORK/pbx.log'"
python3 "$L/sip-body.py" "$WORK/lp-a/lp.log" sent '^INVITE ' >"$WORK/offer.sdp"
check "$c: linphone's offer parses strictly" bash -c \
  "'$BIN/sdp-tool' parse '$WORK/offer.sdp' --strict >'$WORK/offer.parse'"
check "$c: telox answers linphone's offer" bash -c \
  "'$BIN/sdp-tool' answer '$WORK/offer.sdp' --codecs opus,pcmu,telephone-event >'$WORK/answer-telox.sdp' 2>/dev/null"

# 2. The telox phone calls linphone through the PBX, DTMF, BYE from telox.
c=telox-calls-lp
lp_start b "$(free_udp_port)" "$(lp_free_rtp_port)" user=1000 registrar="127.0.0.1:$PBX_PORT" autoanswer=1 \
  play="$WORK/say.wav" record="$WORK/$c.wav"
lp_wait b lp.log 'LinphoneRegistrationOk' 10
timeout -k 3 40 "$BIN/phone" --listen "127.0.0.1:$(free_udp_port)" --user 1001 --password 1001 \
  --registrar "127.0.0.1:$PBX_PORT" --max-time 30s --calls 1 --play "$WORK/tone.wav" \
  --call "sip:1000@127.0.0.1:$PBX_PORT" --duration 5s --dtmf '47*' </dev/null >"$WORK/$c.out" 2>"$WORK/$c.log"
est=$?
lp_wait b out 'Call 1 with .* ended' 5
lp_stop b
sed 's/^/  /' "$WORK/$c.out"
check "$c: call established" test "$est" -eq 0
check "$c: telox phone received audio from linphone ($(recv_of $c) packets)" test "$(recv_of $c)" -gt 100 2>/dev/null
check "$c: linphone recorded telox's 440 Hz tone" hears_tone "$WORK/$c.wav"
tones=$(grep -o 'Receiving tone .' "$WORK/lp-b/out" | awk '{printf "%s", $3}')
check "$c: DTMF 47* from telox reached linphone (${tones:-none})" test "$tones" = "47*"
rtcp_from_telox "$c" b
check "$c: BYE from telox ended linphone's call" grep -q 'Call 1 with .* ended' "$WORK/lp-b/out"
python3 "$L/sip-body.py" "$WORK/lp-b/lp.log" sent '^SIP/2.0 200 ' >"$WORK/answer.sdp"
check "$c: linphone's answer parses strictly" bash -c \
  "'$BIN/sdp-tool' parse '$WORK/answer.sdp' --strict >'$WORK/answer.parse'"

# 3. SDES-SRTP mandatory on linphone; the PBX offers SHA-256 and MD5.
c=lp-srtp
phone "$c" "$PBX2_PORT" --auto-answer --srtp required
lp_start c "$(free_udp_port)" "$(lp_free_rtp_port)" user=1000 registrar="127.0.0.1:$PBX2_PORT" enc=srtp \
  play="$WORK/say.wav" record="$WORK/$c.wav"
lp_calls_phone c "$c" "$WORK/pbx2.log" SHA-256
sleep 4
lp_cmd c terminate
lp_wait c out 'Call 1 with .* ended' 5
wait "$PH" 2>/dev/null; PH=""
lp_stop c
sed 's/^/  /' "$WORK/$c.out"
check "$c: call established" test "$est" -eq 0
python3 "$L/sip-body.py" "$WORK/lp-c/lp.log" received '^SIP/2.0 200 ' >"$WORK/srtp-answer.sdp"
check "$c: the PBX answered linphone with RTP/SAVP and one a=crypto" savp_one_crypto "$WORK/srtp-answer.sdp"
check "$c: telox phone received audio from linphone ($(recv_of $c) packets)" test "$(recv_of $c)" -gt 100 2>/dev/null
check "$c: linphone recorded telox's 440 Hz tone" hears_tone "$WORK/$c.wav"
rtcp_from_telox "$c" c

# 4. SDES-SRTP from telox to linphone: the PBX offers its callees RTP/AVP with a=crypto,
#    which linphone answers without SRTP (or refuses, 488, when SRTP is mandatory), so the
#    telox phone calls linphone (SRTP mandatory) directly with RTP/SAVP, and hangs up.
c=telox-srtp-lp
LS=$(free_udp_port)
lp_start s "$LS" "$(lp_free_rtp_port)" enc=srtp autoanswer=1 play="$WORK/say.wav" record="$WORK/$c.wav"
lp_wait s lp.log 'SIP network reachability state is now \[UP\]' 10
sleep 0.5
timeout -k 3 40 "$BIN/phone" --listen "127.0.0.1:$(free_udp_port)" --max-time 30s --calls 1 \
  --play "$WORK/tone.wav" --call "sip:s@127.0.0.1:$LS" --duration 5s --srtp required \
  </dev/null >"$WORK/$c.out" 2>"$WORK/$c.log"
est=$?
lp_wait s out 'Call 1 with .* ended' 5
lp_stop s
sed 's/^/  /' "$WORK/$c.out"
check "$c: call established" test "$est" -eq 0
python3 "$L/sip-body.py" "$WORK/lp-s/lp.log" sent '^SIP/2.0 200 ' >"$WORK/srtp-lp-answer.sdp"
check "$c: linphone answered RTP/SAVP with one a=crypto" savp_one_crypto "$WORK/srtp-lp-answer.sdp"
check "$c: SRTP up at the phone" grep -q 'call up: .*SRTP AES' "$WORK/$c.log"
check "$c: telox phone received audio from linphone ($(recv_of $c) packets)" test "$(recv_of $c)" -gt 100 2>/dev/null
check "$c: linphone recorded telox's 440 Hz tone" hears_tone "$WORK/$c.wav"
rtcp_from_telox "$c" s

# 5. The telox phone (SRTP optional) calls linphonec (SRTP mandatory) through the PBX: 488 to
#    the PBX's RTP/AVP + a=crypto offer, RTP/SAVP in the same call's second INVITE.
c=telox-pbx-srtp-lp
lp_start f "$(free_udp_port)" "$(lp_free_rtp_port)" user=1000 registrar="127.0.0.1:$PBX_PORT" enc=srtp \
  autoanswer=1 play="$WORK/say.wav" record="$WORK/$c.wav"
lp_wait f lp.log 'LinphoneRegistrationOk' 10
timeout -k 3 40 "$BIN/phone" --listen "127.0.0.1:$(free_udp_port)" --user 1001 --password 1001 \
  --registrar "127.0.0.1:$PBX_PORT" --max-time 30s --calls 1 --play "$WORK/tone.wav" \
  --call "sip:1000@127.0.0.1:$PBX_PORT" --duration 5s --srtp optional \
  </dev/null >"$WORK/$c.out" 2>"$WORK/$c.log"
est=$?
lp_wait f out 'Call 1 with .* ended' 5
lp_stop f
sed 's/^/  /' "$WORK/$c.out"
check "$c: call established" test "$est" -eq 0
python3 "$L/sip-body.py" "$WORK/lp-f/lp.log" received '^INVITE ' >"$WORK/pbx-offer-1.sdp"
check "$c: linphone refused the PBX's RTP/AVP offer with 488" bash -c \
  "grep -q '^m=audio [0-9]* RTP/AVP ' '$WORK/pbx-offer-1.sdp' && grep -q '^SIP/2.0 488' '$WORK/lp-f/lp.log'"
check "$c: the PBX offered RTP/SAVP once more (CSeq 2)" bash -c \
  "grep -q '1000 refused RTP/AVP with a=crypto (488): offering RTP/SAVP' '$WORK/pbx.log' && grep -q 'answered (.*RTP/SAVP after 488)' '$WORK/pbx.log' && grep -q '^CSeq: 2 INVITE' '$WORK/lp-f/lp.log'"
python3 "$L/sip-body.py" "$WORK/lp-f/lp.log" sent '^SIP/2.0 200 ' >"$WORK/pbx-srtp-answer.sdp"
check "$c: linphone answered RTP/SAVP with one a=crypto" savp_one_crypto "$WORK/pbx-srtp-answer.sdp"
check "$c: telox phone received audio from linphone ($(recv_of $c) packets)" test "$(recv_of $c)" -gt 100 2>/dev/null
check "$c: linphone recorded telox's 440 Hz tone" hears_tone "$WORK/$c.wav"

# 6. RTCP-XR between two linphonec, read by telox's RTCP parser.
c=lp-xr
X1=$(lp_free_rtp_port); X2=$(lp_free_rtp_port)
timeout -k 3 30 tshark -i lo -n -q -w "$WORK/xr.pcap" \
  -f "(udp port $((X1 + 1)) or udp port $((X2 + 1))) and udp[8] & 0xc0 = 0x80" \
  >/dev/null 2>&1 &
TS=$!
sleep 1.5
XS=$(free_udp_port)
lp_start x1 "$(free_udp_port)" "$X1" xr=1 play="$WORK/say.wav"
lp_start x2 "$XS" "$X2" xr=1 autoanswer=1 play="$WORK/say.wav"
sleep 1
lp_cmd x1 "call sip:x2@127.0.0.1:$XS"
lp_wait x1 out 'Call 1 with .* connected' 10; est=$?
# linphone's RTCP interval is about 5 s: one or two compounds from each side carry XR.
sleep 11
lp_cmd x1 terminate
lp_wait x1 out 'Call 1 with .* ended' 5
lp_stop x1; lp_stop x2
sleep 0.5; stop_pid "$TS"; TS=""
check "$c: linphone called linphone" test "$est" -eq 0
xr=$(timeout 30 tshark -n -r "$WORK/xr.pcap" -d "udp.port==$((X1 + 1)),rtcp" -d "udp.port==$((X2 + 1)),rtcp" \
  -Y 'rtcp.pt==207' -T fields -e rtcp.xr.bt 2>/dev/null)
n_ts=$(printf '%s' "$xr" | grep -c .)
echo "  XR block types per XR compound (tshark): $(printf '%s' "$xr" | sort | uniq -c | tr -s ' ' | paste -sd';')"
check "$c: linphone sent RTCP-XR ($n_ts compounds)" test "$n_ts" -ge 1
"$BIN/rtp-analyze" --dump --port "$X1" --port "$X2" "$WORK/xr.pcap" >"$WORK/xr.dump" 2>&1
n_xr=$(awk -F'\t' '$1=="RTCP" && $2 ~ /(^|,)207(,|$)/' "$WORK/xr.dump" | wc -l)
check "$c: telox's RTCP parser read all $n_ts compounds with XR ($n_xr)" test "$n_xr" -eq "$n_ts"
check "$c: telox's RTCP parser found no violation" bash -c "! grep -q 'RTCP-VIOLATION\|RTCP.invalid' '$WORK/xr.dump'"

echo "  (ran $(($(date +%s) - T0)) s)"
summary linphone
