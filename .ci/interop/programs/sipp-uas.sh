#!/usr/bin/env bash
# sipp-uas.sh PORT [extra sipp args...]
# Starts a SIPp UAS (default: built-in 'uas' scenario: 180, 200, expects ACK, answers BYE)
# in the background on LOCAL_IP:PORT and prints its PID (only the PID) on stdout.
# The UAS is bounded in time: it exits by itself after UAS_TIMEOUT seconds (SIPp -timeout).
# Stop it earlier with: kill PID
#
# env: LOCAL_IP=127.0.0.1   SCENARIO=path.xml (default built-in uas)
#      UAS_TIMEOUT=600      OUTDIR=dir for logs/stats (default: mktemp)
#      TRACE_MSG=1          also log every SIP message (slow at high rates)
#      MEDIA_PORT=N         -mp (RTP port for rtp_echo / media); default: SIPp's default
set -u
. "$(dirname "$0")/peers-lib.sh"
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }
PORT="$1"; shift
LOCAL_IP="${LOCAL_IP:-127.0.0.1}"
peers_check_loopback "$LOCAL_IP"
UAS_TIMEOUT="${UAS_TIMEOUT:-600}"
OUTDIR="${OUTDIR:-$(mktemp -d /tmp/sipp-uas."$PORT".XXXXXX)}"
mkdir -p "$OUTDIR"
peers_port_free "$PORT" udp || peers_die "UDP port $PORT already in use"

if [ -n "${SCENARIO:-}" ]; then SC=(-sf "$(readlink -f "$SCENARIO")"); else SC=(-sn uas); fi
EXTRA=()
[ "${TRACE_MSG:-0}" = 1 ] && EXTRA+=(-trace_msg -message_file "$OUTDIR/messages.log")
[ -n "${MEDIA_PORT:-}" ] && EXTRA+=(-mp "$MEDIA_PORT")

cd "$OUTDIR" || exit 2
out=$(sipp "${SC[@]}" -i "$LOCAL_IP" -p "$PORT" -bg -nostdin -timeout "${UAS_TIMEOUT}s" \
      -trace_stat -stf "$OUTDIR/stat.csv" -fd 1 \
      -trace_err -error_file "$OUTDIR/errors.log" \
      -trace_screen -screen_file "$OUTDIR/screen.log" \
      "${EXTRA[@]}" "$@" 2>&1)
PID=$(printf '%s\n' "$out" | grep -o 'PID=\[[0-9]*' | tr -dc 0-9)
if [ -z "$PID" ]; then echo "$out" >&2; peers_die "SIPp UAS did not start"; fi
if ! peers_wait_udp_listen "$PORT" "$PID" 5; then
  echo "$out" >&2; peers_stop_pid "$PID"; peers_die "SIPp UAS (pid $PID) did not bind UDP $LOCAL_IP:$PORT"
fi
echo "sipp-uas: pid=$PID listen=$LOCAL_IP:$PORT timeout=${UAS_TIMEOUT}s logs=$OUTDIR" >&2
echo "$PID"
