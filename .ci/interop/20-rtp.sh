#!/usr/bin/env bash
# Interop: telox RTP/RTCP against tshark (Wireshark 4.0 dissectors and RTP stream analysis).
#  1. `rtp-analyze --synth` writes a capture of a call made with telox's RtpSession (SIP/SDP,
#     PCMU both ways, an RFC 4733 key press, SR/RR/SDES/BYE) through a seeded network emulator.
#  2. tshark decodes it (decode-as rtp/rtcp on the ports): every RTP header field (SSRC, seq,
#     timestamp, PT, marker) and every RTCP report field (SSRCs, RTP timestamp, counts,
#     fraction/cumulative lost, extended highest seq, jitter, LSR, DLSR, CNAME) must equal what
#     our parser reads, and tshark must flag nothing malformed.
#  3. rtp-analyze's per-stream packets, lost, max and mean jitter must equal tshark's
#     `-z rtp,streams` on the same capture: on our captures and on SIPp's real ones.
#  4. The same on captures shaped like the field's (rtp/field_capture.py: cooked pcapng,
#     VLAN-tagged IPv6 media, SIP over TCP, RTCP multiplexed on the RTP port, an SSRC change;
#     and a call seen through cloud traffic mirroring, inside VXLAN).
#  5. Differentially, on RTP_DIFF_CAPTURES (default 100) seeded captures of 3-7 calls each
#     (rtp/gen_calls.py: pcap us/ns and multi-interface pcapng; Ethernet, VLAN, SLL, SLL2, raw
#     IP, BSD null and loop; IPv4/IPv6; PCMU/PCMA/G.722/Opus, telephone-event, comfort noise
#     and silence gaps; sequence and timestamp wraps, loss bursts, duplicates, reordering,
#     sender restarts, padding, header extensions, CSRCs, RTCP on port+1 or muxed, re-INVITEs
#     moving the port or changing the codec, streams without SDP by --port): every stream's
#     packets, lost, max/mean jitter, max delta, payload type and problem flag must equal
#     tshark's rtp,streams, and its MOS be sane (rtp/differential.py; a failure names the
#     seed: `python3 rtp/gen_calls.py SEED /tmp/x` writes that capture again).
# Files only, no network; every tshark and rtp-analyze run is bounded by `timeout`.
set -u
. "$(dirname "$0")/lib.sh"
require tshark
require python3
HERE=$(cd "$(dirname "$0")" && pwd)
[ -n "${RTP_ANALYZE:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
RA="${RTP_ANALYZE:-$BIN/rtp-analyze}"
if [ ! -x "$RA" ]; then
  echo "interop rtp: $RA missing (cargo build --release -p telox-examples --bins)" >&2
  exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ts() { timeout -k 5 120 tshark -n "$@" 2>/dev/null; }
DECODE=(-d udp.port==40000,rtp -d udp.port==40002,rtp -d udp.port==40001,rtcp -d udp.port==40003,rtcp)

same_file() { # same_file A B: equal, else show the first differences
  if cmp -s "$1" "$2"; then return 0; fi
  diff "$1" "$2" | head -5 >&2
  return 1
}
nonempty() { [ -s "$1" ]; }

for cfg in "1 0.05 30" "2 0 0" "3 0.15 60"; do
  read -r seed loss jitter <<<"$cfg"
  pcap="$WORK/call-$seed.pcap"
  check "synth seed=$seed loss=$loss jitter=${jitter}ms writes a capture" \
    timeout 60 "$RA" --synth "$pcap" --seed "$seed" --packets 600 --loss "$loss" --jitter "$jitter"
  [ -s "$pcap" ] || continue

  # RTP headers, frame by frame.
  ts -r "$pcap" "${DECODE[@]}" -Y rtp -T fields -E separator=/t \
    -e rtp.ssrc -e rtp.seq -e rtp.timestamp -e rtp.p_type -e rtp.marker |
    awk -F'\t' 'BEGIN{OFS="\t"} {m=($5=="True"||$5=="1")?1:0; print $1,$2,$3,$4,m}' >"$WORK/t-rtp"
  timeout -k 5 120 "$RA" --dump "$pcap" | awk -F'\t' 'BEGIN{OFS="\t"} $1=="RTP"{print $2,$3,$4,$5,$6}' >"$WORK/o-rtp"
  check "seed $seed: tshark decodes RTP packets" nonempty "$WORK/t-rtp"
  check "seed $seed: RTP ssrc/seq/ts/pt/marker agree ($(wc -l <"$WORK/t-rtp") packets)" \
    same_file "$WORK/t-rtp" "$WORK/o-rtp"

  # RTCP compounds, field by field.
  ts -r "$pcap" "${DECODE[@]}" -Y rtcp -T fields -E separator=/t -E occurrence=a -E aggregator=, \
    -e rtcp.pt -e rtcp.senderssrc -e rtcp.timestamp.rtp -e rtcp.sender.packetcount \
    -e rtcp.sender.octetcount -e rtcp.ssrc.identifier -e rtcp.ssrc.fraction -e rtcp.ssrc.cum_nr \
    -e rtcp.ssrc.ext_high -e rtcp.ssrc.jitter -e rtcp.ssrc.lsr -e rtcp.ssrc.dlsr -e rtcp.sdes.text \
    >"$WORK/t-rtcp"
  timeout -k 5 120 "$RA" --dump "$pcap" | awk -F'\t' '$1=="RTCP"' | cut -f2- >"$WORK/o-rtcp"
  check "seed $seed: tshark decodes RTCP compounds" nonempty "$WORK/t-rtcp"
  check "seed $seed: RTCP SR/RR/SDES/BYE fields agree ($(wc -l <"$WORK/t-rtcp") compounds)" \
    same_file "$WORK/t-rtcp" "$WORK/o-rtcp"
  check "seed $seed: tshark finds nothing malformed" \
    test "$(ts -r "$pcap" "${DECODE[@]}" -Y '_ws.malformed' | wc -l)" -eq 0

  # Stream analysis: rtp-analyze (streams from the SDP) vs tshark -z rtp,streams.
  timeout -k 5 120 "$RA" --json "$pcap" >"$WORK/o-streams.json"
  ts -r "$pcap" -q -z rtp,streams >"$WORK/t-streams.txt"
  check "seed $seed: rtp-analyze --json has the documented keys" python3 -c '
import json,sys
a=json.load(open(sys.argv[1]))
keys={"ssrc","payload_type","packets","lost","max_jitter_ms","mean_jitter_ms","mos"}
sys.exit(0 if a and all(keys<=set(s) and all(isinstance(s[k],(int,float)) for k in keys) for s in a) else 1)' \
    "$WORK/o-streams.json"
  check "seed $seed: packets/lost/max+mean jitter equal tshark rtp,streams" \
    python3 "$HERE/rtp/compare_streams.py" "$WORK/o-streams.json" "$WORK/t-streams.txt"
done

# Real captures shipped with SIPp (no SDP): streams by --port on both sides.
for f in g711a:2006 dtmf_2833_1:10000 dtmf_2833_pound:10000; do
  name=${f%%:*}
  port=${f##*:}
  pcap="/usr/share/sip-tester/$name.pcap"
  if [ ! -r "$pcap" ]; then
    not_ok "SIPp capture $pcap present (package sip-tester)"
    continue
  fi
  timeout -k 5 120 "$RA" --json --port "$port" "$pcap" >"$WORK/o-$name.json"
  ts -r "$pcap" -d "udp.port==$port,rtp" -q -z rtp,streams >"$WORK/t-$name.txt"
  check "$name.pcap: rtp-analyze equals tshark rtp,streams" \
    python3 "$HERE/rtp/compare_streams.py" "$WORK/o-$name.json" "$WORK/t-$name.txt"
done

# A capture shaped like the field's (see rtp/field_capture.py): cooked pcapng, VLAN, IPv6
# media, SIP over TCP, RTCP on the RTP port, an SSRC change: the three streams, as tshark.
# Then a call seen through cloud traffic mirroring (every frame inside VXLAN): 2 streams.
field="$WORK/field.pcapng"
mirror="$WORK/mirror.pcap"
if check "field-shaped captures written" \
  python3 "$HERE/rtp/field_capture.py" "$field" "$mirror"; then
  for cfg in "field:$field:3" "mirror:$mirror:2"; do
    IFS=: read -r name file n <<<"$cfg"
    timeout -k 5 120 "$RA" --json "$file" >"$WORK/o-$name.json"
    ts -r "$file" -q -z rtp,streams >"$WORK/t-$name.txt"
    check "$name capture: $n streams from the SDP, no RTCP read as RTP" \
      python3 -c 'import json,sys; sys.exit(0 if len(json.load(open(sys.argv[1]))) == int(sys.argv[2]) else 1)' \
      "$WORK/o-$name.json" "$n"
    check "$name capture: rtp-analyze equals tshark rtp,streams" \
      python3 "$HERE/rtp/compare_streams.py" "$WORK/o-$name.json" "$WORK/t-$name.txt"
  done
fi

# Differential: many seeded captures, every stream against tshark (see 5. above).
ndiff=${RTP_DIFF_CAPTURES:-100}
check "differential: $ndiff seeded captures, every stream equals tshark rtp,streams" \
  timeout -k 5 300 python3 -u "$HERE/rtp/differential.py" "$RA" "${RTP_DIFF_SEED:-1}" "$ndiff" "$WORK/diff"

summary rtp
