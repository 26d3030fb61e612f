#!/usr/bin/env bash
# Load: the telox PBX (B2BUA with media relay on, and off) side by side with kamailio as a
# stateful proxy (tm + Record-Route) under the same SIPp load, on this machine, one run.
# For each system and rate: fresh processes, RATE*SECS calls (INVITE/180/200/ACK/BYE, 100 ms
# hold); reports calls/s achieved, failures, and CPU-ms per call of the proxy/PBX processes
# (utime+stime from /proc, all kamailio processes summed). The highest rate with zero failures
# and >= 95 % of the target rate is "sustained".
# The PBX challenges every INVITE (407, then the authenticated INVITE), kamailio does not: the
# PBX handles two INVITE transactions per call and runs a B2BUA (two dialogs), so the
# comparison is conservative for telox.
# Informational: it fails only if the PBX cannot sustain the lowest rate with zero failures.
set -u
. "$(dirname "$0")/lib.sh"
require sipp
require kamailio
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
RATES="${RATES:-100 200 400 800}"
SECS="${SECS:-5}"
WORK=$(mktemp -d /tmp/telox-load.XXXXXX)
UAS=""; SUT=""
cleanup() { stop_pid "$UAS"; stop_pid "$SUT"; true; }
trap cleanup EXIT

cpu_ms_tree() { # CPU ms of PID and its children
  local t=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
    t=$((t + $(awk -v hz="$(getconf CLK_TCK)" '{print int(($14+$15)*1000/hz)}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

run_one() { # run_one SYSTEM RATE -> prints a result line
  local sys=$1 rate=$2 count=$(( $2 * SECS )) port out c0 c1 pid
  local uport; uport=$(free_udp_port)
  UAS=$(UAS_TIMEOUT=120 "$P/sipp-uas.sh" "$uport" -buff_size 4194304 2>>"$WORK/uas.log")
  port=$(free_udp_port)
  case "$sys" in
    pbx-relay|pbx-direct)
      local extra=(); [ "$sys" = pbx-direct ] && extra=(--direct-media)
      timeout -k 3 120 "$BIN/pbx" --listen "127.0.0.1:$port" --demo-users 1000-1099 --digest md5 \
        --trunk "127.0.0.1:$uport" --quiet "${extra[@]}" 2>>"$WORK/pbx.log" &
      SUT=$!; sleep 0.5; pid=$(pgrep -P "$SUT" | head -1)
      c0=$(cpu_ms_tree "$pid")
      out=$(SCENARIO="$P/scenarios/invite-auth-uac.xml" "$P/sipp-uac.sh" "127.0.0.1:$port" "$rate" "$count" \
            -au 1000 -ap 1000 -s 5551234 -key caller 1000 -d 100 -buff_size 4194304 2>&1 | tail -1)
      c1=$(cpu_ms_tree "$pid")
      ;;
    kamailio-stateful)
      SUT=$(KAM_TIMEOUT=120 OUTDIR="$WORK/kam-$rate" KAM_DEFINES="DEST_URI=\"sip:127.0.0.1:$uport\"" \
            "$P/kamailio.sh" "$P/kamailio/proxy-stateful.cfg" "$port" 2>>"$WORK/kam.log")
      sleep 0.5; pid=$SUT
      c0=$(cpu_ms_tree "$pid")
      out=$(SCENARIO="$P/scenarios/uac-bench.xml" "$P/sipp-uac.sh" "127.0.0.1:$port" "$rate" "$count" \
            -d 100 -buff_size 4194304 2>&1 | tail -1)
      c1=$(cpu_ms_tree "$pid")
      ;;
  esac
  stop_pid "$SUT"; SUT=""; stop_pid "$UAS"; UAS=""
  local ok failed cps
  ok=$(tr ' ' '\n' <<<"$out" | sed -n 's/^ok=//p'); failed=$(tr ' ' '\n' <<<"$out" | sed -n 's/^failed=//p')
  cps=$(tr ' ' '\n' <<<"$out" | sed -n 's/^ok_cps=//p')
  local per; per=$(awk -v c=$((c1 - c0)) -v n="${ok:-0}" 'BEGIN{ if (n>0) printf "%.3f", c/n; else print "na"}')
  printf '%-18s rate=%-5s calls=%-5s ok=%-5s failed=%-4s ok_cps=%-7s cpu_ms=%-6s cpu_ms_per_call=%s\n' \
    "$sys" "$rate" "$count" "${ok:-0}" "${failed:-?}" "${cps:-0}" $((c1 - c0)) "$per"
}

cp "$P/kamailio/proxy-stateful.cfg" "$WORK/" 2>/dev/null || true
for sys in pbx-relay pbx-direct kamailio-stateful; do
  for r in $RATES; do
    run_one "$sys" "$r" | tee -a "$WORK/results.txt"
  done
done
echo "  sustained (zero failures, >= 95 % of target):"
for sys in pbx-relay pbx-direct kamailio-stateful; do
  best=$(awk -v s="$sys" '$1==s { split($2,a,"="); split($4,o,"="); split($5,f,"="); split($6,c,"=");
         if (f[2]==0 && c[2] >= 0.95*a[2] && a[2] > b) b=a[2] } END { print b+0 }' "$WORK/results.txt")
  echo "  $sys: $best calls/s"
done
first=${RATES%% *}
check "the PBX (media relay) sustains $first calls/s with zero failures" \
  awk -v r="$first" '$1=="pbx-relay" && $2=="rate="r { split($5,f,"="); exit (f[2]==0 ? 0 : 1) }' "$WORK/results.txt"
summary load
