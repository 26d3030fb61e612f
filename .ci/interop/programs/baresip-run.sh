#!/usr/bin/env bash
# baresip-run.sh [--gen-only DIR]
# Generates a headless baresip config dir from baresip/*.template and starts
# `baresip -f DIR -t BARESIP_TIMEOUT` in the background; prints its PID (only the PID) on
# stdout once the ctrl_tcp port listens. Stop it with: kill PID  (or ctrl command "quit").
# With --gen-only DIR it only writes the config dir (then run: baresip -f DIR).
# env (defaults):
#   USER_NAME=alice PASS=alicepw DOMAIN=127.0.0.1 REGISTRAR=127.0.0.1:5060 REGINT=600
#     (REGINT=0: do not register)
#   SIP_PORT=5062 CTRL_PORT=4444 RTP_PORTS=30000-30099 ANSWERMODE=auto (auto|manual|early)
#   CODECS="PCMU,PCMA,opus/48000/2"   MEDIAENC= (srtp|srtp-mand|srtp-mandf|dtls_srtp)
#   AUDIO=sine (ausine 440 Hz, 48 kHz stereo) | file:/path.wav (S16LE, 48 kHz mono)
#   BARESIP_TIMEOUT=300 (baresip -t: quits by itself)   RUN_DIR=(mktemp)
#   SIP_TRACE=1 (baresip -s)
#   SIP_TRANSPORT=udp (udp|tcp|tls: the default transport, and the outbound proxy's ;transport)
#   SIP_CERT= (PEM with certificate and key: baresip's TLS listener on SIP_PORT+1, and
#     needed for TLS at all in baresip 1.0)   SIP_CAFILE= (PEM CA trusted for TLS servers)
set -u
. "$(dirname "$0")/peers-lib.sh"
T="$PEERS_DIR/baresip"
GEN_ONLY=0
if [ "${1:-}" = --gen-only ]; then GEN_ONLY=1; RUN_DIR="${2:?--gen-only DIR}"; fi
USER_NAME="${USER_NAME:-alice}" PASS="${PASS:-alicepw}" DOMAIN="${DOMAIN:-127.0.0.1}"
REGISTRAR="${REGISTRAR:-127.0.0.1:5060}" REGINT="${REGINT:-600}"
SIP_PORT="${SIP_PORT:-5062}" CTRL_PORT="${CTRL_PORT:-4444}" RTP_PORTS="${RTP_PORTS:-30000-30099}"
ANSWERMODE="${ANSWERMODE:-auto}" CODECS="${CODECS:-PCMU,PCMA,opus/48000/2}"
MEDIAENC="${MEDIAENC:-}" AUDIO="${AUDIO:-sine}" BARESIP_TIMEOUT="${BARESIP_TIMEOUT:-300}"
SIP_TRANSPORT="${SIP_TRANSPORT:-udp}"
case "$SIP_TRANSPORT" in
  udp) OUT_TP="" ;;
  tcp) OUT_TP=";transport=tcp" ;;
  tls) OUT_TP=";transport=tls" ;;
  *) echo "SIP_TRANSPORT must be udp, tcp or tls" >&2; exit 2 ;;
esac
peers_split_hostport "$REGISTRAR"; peers_check_loopback "$PEERS_HOST"
RUN_DIR="${RUN_DIR:-$(mktemp -d /tmp/baresip."$USER_NAME".XXXXXX)}"
mkdir -p "$RUN_DIR"
case "$AUDIO" in
  sine)   SRC="ausine,440"; SRATE=48000; CH=2 ;;
  file:*) SRC="aufile,${AUDIO#file:}"; SRATE=48000; CH=1 ;;
  *) peers_die "AUDIO must be sine or file:/path.wav" ;;
esac
ME=""; [ -n "$MEDIAENC" ] && ME=";mediaenc=$MEDIAENC"
sed -e "s|@SIP_PORT@|$SIP_PORT|g" -e "s|@CTRL_PORT@|$CTRL_PORT|g" -e "s|@RTP_PORTS@|$RTP_PORTS|g" \
    -e "s|@AUDIO_SOURCE@|$SRC|g" -e "s|@SRATE@|$SRATE|g" -e "s|@RUN_DIR@|$RUN_DIR|g" \
    -e "s|^ausrc_channels.*|ausrc_channels\t\t$CH|" -e "s|^sip_trans_def.*|sip_trans_def\t\t$SIP_TRANSPORT|" \
    "$T/config.template" > "$RUN_DIR/config"
[ -n "${SIP_CERT:-}" ] && printf 'sip_certificate\t%s\n' "$SIP_CERT" >> "$RUN_DIR/config"
[ -n "${SIP_CAFILE:-}" ] && printf 'sip_cafile\t\t%s\n' "$SIP_CAFILE" >> "$RUN_DIR/config"
sed -e "s|@USER@|$USER_NAME|g" -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@PASS@|$PASS|g" \
    -e "s|@REGISTRAR@|$REGISTRAR$OUT_TP|g" -e "s|@REGINT@|$REGINT|g" -e "s|@ANSWERMODE@|$ANSWERMODE|g" \
    -e "s|@CODECS@|$CODECS|g" -e "s|@MEDIAENC@|$ME|g" \
    "$T/accounts.template" > "$RUN_DIR/accounts"
: > "$RUN_DIR/contacts"
[ -f "$RUN_DIR/uuid" ] || printf %s "$(cat /proc/sys/kernel/random/uuid)" > "$RUN_DIR/uuid"  # no trailing newline: baresip puts it verbatim into +sip.instance
if [ "$GEN_ONLY" = 1 ]; then echo "$RUN_DIR"; exit 0; fi

peers_port_free "$SIP_PORT" udp || peers_die "UDP $SIP_PORT busy"
if [ -n "${SIP_CERT:-}" ]; then
  peers_port_free "$((SIP_PORT + 1))" tcp || peers_die "TCP $((SIP_PORT + 1)) (TLS) busy"
fi
peers_port_free "$CTRL_PORT" tcp || peers_die "TCP $CTRL_PORT busy"
ARGS=(-f "$RUN_DIR" -t "$BARESIP_TIMEOUT")
[ "${SIP_TRACE:-0}" = 1 ] && ARGS+=(-s)
# baresip wants a stdin; give it /dev/null (stdio UI module is not loaded)
baresip "${ARGS[@]}" > "$RUN_DIR/baresip.log" 2>&1 < /dev/null &
PID=$!
for i in $(seq 1 50); do
  peers_port_free "$CTRL_PORT" tcp || break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if peers_port_free "$CTRL_PORT" tcp; then
  tail -20 "$RUN_DIR/baresip.log" >&2; peers_stop_pid "$PID"; peers_die "baresip did not start"
fi
echo "baresip: pid=$PID user=$USER_NAME sip=127.0.0.1:$SIP_PORT ctrl=127.0.0.1:$CTRL_PORT registrar=$REGISTRAR dir=$RUN_DIR" >&2
echo "$PID"
