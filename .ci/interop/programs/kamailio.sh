#!/usr/bin/env bash
# kamailio.sh MODE LISTEN_PORT [DEST_URI]
# Starts kamailio in the background listening on udp:127.0.0.1:LISTEN_PORT and prints the
# PID of its main process (only the PID) on stdout. Stop it with: kill PID
# (the main process then stops its children). Bounded: killed after KAM_TIMEOUT seconds.
#   MODE = stateless  -> kamailio/proxy-stateless.cfg, forward() every request to DEST_URI
#          stateful   -> kamailio/proxy-stateful.cfg,  t_relay() to DEST_URI, Record-Route
#          registrar  -> kamailio/registrar.cfg, REGISTER with digest auth (db_text
#                        subscriber table copied to OUTDIR/db), lookup("location") + t_relay
#          FILE.cfg   -> your own config
#   DEST_URI default sip:127.0.0.1:5070 (for registrar: fallback for unregistered users;
#            omit it to answer 404 instead)
# env: KAM_TIMEOUT=600 KAM_CHILDREN=4 KAM_SHM_MB=1024 KAM_PKG_MB=16 OUTDIR=(mktemp)
#      KAM_DEFINES="WITH_INVITE_AUTH ..." extra -A defines   KAM_DEBUG=N (log level)
set -u
. "$(dirname "$0")/peers-lib.sh"
[ $# -ge 2 ] || { sed -n '2,15p' "$0"; exit 2; }
MODE="$1"; LPORT="$2"; DEST="${3:-}"
KAM_TIMEOUT="${KAM_TIMEOUT:-600}"
OUTDIR="${OUTDIR:-$(mktemp -d /tmp/kamailio."$LPORT".XXXXXX)}"
mkdir -p "$OUTDIR"
case "$MODE" in
  stateless) CFG="$PEERS_DIR/kamailio/proxy-stateless.cfg" ;;
  stateful)  CFG="$PEERS_DIR/kamailio/proxy-stateful.cfg" ;;
  registrar) CFG="$PEERS_DIR/kamailio/registrar.cfg" ;;
  *) CFG="$(readlink -f "$MODE")" ;;
esac
[ -f "$CFG" ] || peers_die "no config $CFG"
peers_port_free "$LPORT" udp || peers_die "UDP port $LPORT already in use"
DEFS=()
if [ -n "$DEST" ]; then
  peers_split_hostport "${DEST#sip:}"; peers_check_loopback "$PEERS_HOST"
  [ "$MODE" = registrar ] && DEFS+=(-A "FALLBACK_URI=\"$DEST\"") || DEFS+=(-A "DEST_URI=\"$DEST\"")
fi
if [ "$MODE" = registrar ]; then
  cp -r "$PEERS_DIR/kamailio/db" "$OUTDIR/db"
  DEFS+=(-A "DBURL=\"text://$OUTDIR/db\"")
fi
for d in ${KAM_DEFINES:-}; do DEFS+=(-A "$d"); done
[ -n "${KAM_DEBUG:-}" ] && DEFS+=(--debug="$KAM_DEBUG")
mkdir -p "$OUTDIR/run"
setsid timeout -k 5 "$KAM_TIMEOUT" kamailio -f "$CFG" -DD -E -l "udp:127.0.0.1:$LPORT" \
   -n "${KAM_CHILDREN:-4}" -m "${KAM_SHM_MB:-1024}" -M "${KAM_PKG_MB:-16}" \
   -Y "$OUTDIR/run" -P "$OUTDIR/kamailio.pid" -w "$OUTDIR" "${DEFS[@]}" \
   > "$OUTDIR/kamailio.log" 2>&1 < /dev/null &
TPID=$!
KPID=
for i in $(seq 1 50); do
  KPID=$(cat "$OUTDIR/kamailio.pid" 2>/dev/null)
  [ -n "$KPID" ] && ! peers_port_free "$LPORT" udp && break
  kill -0 "$TPID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$KPID" ] || peers_port_free "$LPORT" udp; then
  tail -20 "$OUTDIR/kamailio.log" >&2
  peers_stop_pid "$TPID"; peers_die "kamailio did not start (cfg $CFG)"
fi
echo "kamailio: pid=$KPID mode=$MODE listen=udp:127.0.0.1:$LPORT dest=${DEST:-default} timeout=${KAM_TIMEOUT}s logs=$OUTDIR" >&2
echo "$KPID"
