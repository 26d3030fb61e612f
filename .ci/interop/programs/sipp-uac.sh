#!/usr/bin/env bash
# sipp-uac.sh TARGET_HOST:PORT RATE COUNT [extra sipp args...]
# Runs a SIPp UAC (default: built-in SipStone 'uac' scenario: INVITE/180/200/ACK/BYE/200)
# against TARGET at RATE calls/s until COUNT calls are processed, bounded in time,
# and prints a one-line summary:
#   target= rate= count= rc= created= ok= failed= retrans= ... elapsed_s= sipp_cps= ok_cps=
#   rt1_avg_ms= call_len_avg_ms= rtt_n= rtt_p50_ms= rtt_p99_ms= rtt_max_ms= outdir=
# Response times (INVITE -> 200, the scenario's rtd) come from -trace_rtt; SIPp 3.6 measures
# them with a 1 ms clock, so on loopback p50 is usually 0 ms.
# Exit code: SIPp's (0 = all calls ok, 1 = some failed, other = error/timeout).
#
# env: LOCAL_IP=127.0.0.1  LOCAL_PORT=(random free)  SCENARIO=path.xml (default built-in uac)
#      TIMEOUT=seconds (default COUNT/RATE*2+20)  OUTDIR=dir (default mktemp)
#      TRACE_MSG=1 (log all SIP messages)   LIMIT=N (-l max simultaneous calls)
#      PEERS_ALLOW_NETNS=1 (allow non-loopback target; only inside your own netns)
set -u
. "$(dirname "$0")/peers-lib.sh"
[ $# -ge 3 ] || { sed -n '2,17p' "$0"; exit 2; }
TARGET="$1"; RATE="$2"; COUNT="$3"; shift 3
peers_split_hostport "$TARGET"
peers_check_loopback "$PEERS_HOST"
LOCAL_IP="${LOCAL_IP:-127.0.0.1}"
peers_check_loopback "$LOCAL_IP"
LOCAL_PORT="${LOCAL_PORT:-$(peers_free_udp_port)}"
TIMEOUT="${TIMEOUT:-$(( COUNT / (RATE > 0 ? RATE : 1) * 2 + 20 ))}"
OUTDIR="${OUTDIR:-$(mktemp -d /tmp/sipp-uac.XXXXXX)}"
mkdir -p "$OUTDIR"
if [ -n "${SCENARIO:-}" ]; then SC=(-sf "$(readlink -f "$SCENARIO")"); else SC=(-sn uac); fi
EXTRA=()
[ "${TRACE_MSG:-0}" = 1 ] && EXTRA+=(-trace_msg -message_file "$OUTDIR/messages.log")
[ -n "${LIMIT:-}" ] && EXTRA+=(-l "$LIMIT")
RTT_FREQ=$(( COUNT < 100 ? (COUNT > 0 ? COUNT : 1) : 100 ))

cd "$OUTDIR" || exit 2
# hard bound (SIPp's own -timeout does not end a run whose calls are stuck)
timeout -k 3 $(( TIMEOUT + 15 )) sipp "$TARGET" "${SC[@]}" -i "$LOCAL_IP" -p "$LOCAL_PORT" \
     -r "$RATE" -m "$COUNT" -nostdin -timeout "${TIMEOUT}s" \
     -trace_stat -stf "$OUTDIR/stat.csv" -fd 1 \
     -trace_rtt -rtt_freq "$RTT_FREQ" \
     -trace_err -error_file "$OUTDIR/errors.log" \
     -trace_screen -screen_file "$OUTDIR/screen.log" \
     "${EXTRA[@]}" "$@" > "$OUTDIR/stdout.log" 2>&1 &
PID=$!
cleanup() { [ -n "$PID" ] && peers_stop_pid "$PID" 2; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
wait "$PID"; RC=$?
PID=
if [ -s "$OUTDIR/stat.csv" ]; then
  SUM=$(python3 "$PEERS_DIR/sipp_summary.py" "$OUTDIR/stat.csv" "$OUTDIR"/*_rtt.csv 2>/dev/null)
else
  SUM="no-stats"; tail -5 "$OUTDIR/stdout.log" >&2
fi
echo "target=$TARGET rate=$RATE count=$COUNT rc=$RC $SUM outdir=$OUTDIR"
exit "$RC"
