#!/usr/bin/env bash
# Interop of the jitter buffer's tools with a real RTP recording and independent arithmetic:
# - tshark dissects a real G.711 RTP capture (sip-tester's g711a.pcap) into a jb-sim trace;
#   jb-sim plays all of it (no late loss on a capture with its own real jitter);
# - the figures jb-sim prints are recomputed with awk from the trace and its --playout-out
#   file (late loss, mean and p95 delay), for the capture, an impaired copy of it and generated
#   traces, adaptive and fixed;
# - on the impaired capture (every 7th packet 45 ms late) the adaptive buffer keeps late loss
#   under 1 % where a 20 ms fixed buffer loses those packets;
# - jb-sim --eval: the adaptive buffer meets the issue's goal on every generated trace.
# Files only: no network.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require tshark
require awk

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
HERE="$ROOT/.ci/interop/jitter-buffer"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
SIM="$BIN/jb-sim"
GEN="$BIN/jb-tracegen"
interop_build
run() { timeout 120 "$@"; }

# The capture as a trace: seq, send ms (RTP timestamp / 8 kHz from the first), receive ms.
run tshark -r "$HERE/g711a.pcap" -d udp.port==0-65535,rtp -Y rtp -T fields -E separator=/t \
  -e rtp.seq -e rtp.timestamp -e frame.time_relative >"$WORK/raw.tsv" 2>/dev/null
awk -F'\t' 'NR == 1 { s0 = $1; t0 = $2 }
  { d = $1 - s0; if (d < -32768) d += 65536; ts = $2 - t0; if (ts < 0) ts += 4294967296;
    printf "%d\t%.3f\t%.3f\n", d, ts / 8, $3 * 1000 }' "$WORK/raw.tsv" >"$WORK/pcap.trace"
check "tshark dissects 236 RTP packets from the capture" test "$(wc -l <"$WORK/pcap.trace")" -eq 236

# recompute TRACE PLAYOUT LAST_LINE: late loss, mean and p95 delay from the files, compared
# with what jb-sim printed (to 0.01).
recompute() {
  local trace=$1 playout=$2 line=$3
  awk -F'\t' 'FNR == NR { send[$1] = $2; recv[$1] = $3; next }
    { if ($2 == "late") late++; else if ($2 != "lost") { n++; d = $2 - send[$1]; sum += d; print d > "'"$WORK"'/delays" } }
    END { for (s in recv) if (recv[s] != "-") rx++;
          printf "%.3f %.3f\n", (rx ? 100 * late / rx : 0), (n ? sum / n : 0) }' \
    "$trace" "$playout" >"$WORK/mine"
  local n p95
  n=$(wc -l <"$WORK/delays")
  p95=$(sort -g "$WORK/delays" | awk -v n="$n" 'BEGIN { r = int(0.95 * n); if (r < 0.95 * n) r++; if (r < 1) r = 1 }
    NR == r { printf "%.3f", $1 }')
  rm -f "$WORK/delays"
  read -r late mean <"$WORK/mine"
  echo "$line" | awk -v late="$late" -v mean="$mean" -v p95="$p95" '{
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    d1 = v["late_loss_pct"] - late; d2 = v["mean_delay_ms"] - mean; d3 = v["p95_delay_ms"] - p95
    ok = (d1 * d1 < 1e-4 && d2 * d2 < 1e-4 && d3 * d3 < 1e-4)
    if (!ok) print "jb-sim: " $0 "\nawk:    late_loss_pct=" late " mean_delay_ms=" mean " p95_delay_ms=" p95 > "/dev/stderr"
    exit !ok }'
}
last() { tail -n 1 "$1"; }
field() { last "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

run "$SIM" --ptime 30 --playout-out "$WORK/pcap.out" "$WORK/pcap.trace" >"$WORK/pcap.txt"
check "jb-sim plays the whole capture (late loss 0)" test "$(field "$WORK/pcap.txt" late_loss_pct)" = "0.000"
check "playout file: one line per packet, in sequence order" \
  awk -F'\t' 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 } END { exit NR != 236 }' "$WORK/pcap.out"
check "capture: figures recomputed from the playout file" \
  recompute "$WORK/pcap.trace" "$WORK/pcap.out" "$(last "$WORK/pcap.txt")"

# Impaired capture: every 7th packet 45 ms late, every 50th lost.
awk -F'\t' -v OFS='\t' 'NR % 50 == 0 { $3 = "-" } NR % 7 == 0 && $3 != "-" { $3 = sprintf("%.3f", $3 + 45) } { print }' \
  "$WORK/pcap.trace" >"$WORK/imp.trace"
run "$SIM" --ptime 30 --playout-out "$WORK/imp.out" "$WORK/imp.trace" >"$WORK/imp.txt"
run "$SIM" --ptime 30 --fixed 20 --playout-out "$WORK/impf.out" "$WORK/imp.trace" >"$WORK/impf.txt"
check "impaired capture: lost packets reported lost" \
  test "$(grep -c 'lost$' "$WORK/imp.out")" -eq "$(grep -c -- '-$' "$WORK/imp.trace")"
check "impaired capture: adaptive late loss under 1 %" lt "$(field "$WORK/imp.txt" late_loss_pct)" 1
check "impaired capture: fixed 20 ms buffer loses the late packets (> 10 %)" \
  lt 10 "$(field "$WORK/impf.txt" late_loss_pct)"
check "impaired capture: adaptive figures recomputed" \
  recompute "$WORK/imp.trace" "$WORK/imp.out" "$(last "$WORK/imp.txt")"
check "impaired capture: fixed figures recomputed" \
  recompute "$WORK/imp.trace" "$WORK/impf.out" "$(last "$WORK/impf.txt")"

for preset in pareto spikes bursty-loss; do
  run "$GEN" "$preset" --seed 7 >"$WORK/$preset.trace"
  run "$SIM" --playout-out "$WORK/$preset.out" "$WORK/$preset.trace" >"$WORK/$preset.txt"
  check "$preset: adaptive figures recomputed" \
    recompute "$WORK/$preset.trace" "$WORK/$preset.out" "$(last "$WORK/$preset.txt")"
  run "$SIM" --fixed 60 --playout-out "$WORK/$preset.fout" "$WORK/$preset.trace" >"$WORK/$preset.ftxt"
  check "$preset: fixed figures recomputed" \
    recompute "$WORK/$preset.trace" "$WORK/$preset.fout" "$(last "$WORK/$preset.ftxt")"
done

check "jb-sim --eval: goal met on every generated trace" run "$SIM" --eval

summary jitter-buffer
