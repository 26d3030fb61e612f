#!/usr/bin/env bash
# Interop of telox-codecs with the reference implementations:
# - Opus: packets telox encodes decode with libopus at an SNR (against the input) comparable to
#   libopus' own encoder at the same settings; packets libopus encodes decode with telox at
#   >= 40 dB SNR against libopus' own decode. Both as raw packets (a small C program against
#   libopus-dev, same settings: VOIP, 20 ms, VBR) and as Ogg Opus files (opusenc/opusdec).
# - G.722: telox's encoder and decoder against spandsp (libspandsp-dev), bit for bit.
# Test audio is synthetic speech from espeak-ng. Everything is files: no network at all.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

for peer in opusenc opusdec opusinfo gcc pkg-config sox espeak-ng; do require "$peer"; done
if ! pkg-config --exists opus spandsp; then
  if [ "${CI:-}" = "true" ]; then echo "interop: libopus-dev / libspandsp-dev missing" >&2; exit 1; fi
  echo "interop: libopus-dev / libspandsp-dev missing, skipping" >&2; exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
HERE="$ROOT/.ci/interop/codecs"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
T="$TARGET/release/examples/codec_tool"
run() { timeout 120 "$@"; }
quiet() { timeout 120 "$@" >/dev/null 2>&1; }

echo "building codec_tool and the C reference programs"
interop_build
run gcc -O2 -o "$WORK/opus_ref" "$HERE/opus_ref.c" $(pkg-config --cflags --libs opus)
run gcc -O2 -o "$WORK/spandsp_g722" "$HERE/spandsp_g722.c" $(pkg-config --cflags --libs spandsp)

run espeak-ng -v en -s 150 -w "$WORK/speech.wav" -f "$HERE/speech.txt"
for rate in 8000 16000 48000; do
  run sox -D "$WORK/speech.wav" -r "$rate" -c 1 -b 16 -e signed-integer -t raw "$WORK/sp$rate.s16" vol 0.8
done

# snr REF TEST MAXLAG -> prints "dB lag"
snr() { run "$T" snr "$@"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

echo
echo "Opus raw packets (VOIP, 20 ms, mono), SNR against the input:"
printf '  %-26s %10s %10s %10s %10s %12s\n' config ours-kbps lib-kbps "ours->lib" "lib->lib" "lib-pkts:us"
for cfg in "48000 24000 10" "48000 24000 5" "16000 16000 10" "8000 12000 10"; do
  set -- $cfg
  rate=$1 bitrate=$2 cx=$3
  name="${rate}Hz ${bitrate}bps c$cx"
  in="$WORK/sp$rate.s16"
  run "$T" opus-enc-raw "$in" "$rate" 1 "$bitrate" "$cx" "$WORK/ours.pkts"
  run "$WORK/opus_ref" enc "$in" "$rate" 1 "$bitrate" "$cx" "$WORK/ref.pkts"
  run "$WORK/opus_ref" dec "$WORK/ours.pkts" "$rate" 1 "$WORK/ours_lib.s16"
  run "$WORK/opus_ref" dec "$WORK/ref.pkts" "$rate" 1 "$WORK/ref_lib.s16"
  run "$T" opus-dec-raw "$WORK/ref.pkts" "$rate" 1 "$WORK/ref_ours.s16"
  secs=$(awk -v n="$(stat -c %s "$in")" -v r="$rate" 'BEGIN { print n / 2 / r }')
  kb_ours=$(awk -v n="$(stat -c %s "$WORK/ours.pkts")" -v s="$secs" 'BEGIN { printf "%.1f", n * 8 / s / 1000 }')
  kb_ref=$(awk -v n="$(stat -c %s "$WORK/ref.pkts")" -v s="$secs" 'BEGIN { printf "%.1f", n * 8 / s / 1000 }')
  ours=$(snr "$in" "$WORK/ours_lib.s16" 800 | cut -d' ' -f1)
  ref=$(snr "$in" "$WORK/ref_lib.s16" 800 | cut -d' ' -f1)
  cross=$(snr "$WORK/ref_lib.s16" "$WORK/ref_ours.s16" 0 | cut -d' ' -f1)
  printf '  %-26s %10s %10s %10s %10s %12s\n' "$name" "$kb_ours" "$kb_ref" "$ours" "$ref" "$cross"
  check "opus $name: our packets decode with libopus within 1.5 dB of libopus' own ($ours vs $ref dB)" \
    ge "$ours" "$(awk -v r="$ref" 'BEGIN { print r - 1.5 }')"
  check "opus $name: our bitrate within 15% of libopus' ($kb_ours vs $kb_ref kbit/s)" \
    awk -v a="$kb_ours" -v b="$kb_ref" 'BEGIN { exit !(a <= b * 1.15 && a >= b * 0.85) }'
  check "opus $name: libopus packets decode with telox at >= 40 dB vs libopus ($cross dB)" ge "$cross" 40
done

echo
echo "Opus in Ogg (RFC 7845) through opus-tools:"
run "$T" opus-enc "$WORK/sp48000.s16" 48000 1 24000 10 "$WORK/ours.opus" 2>/dev/null
check "opusinfo accepts telox's Ogg Opus file" quiet opusinfo "$WORK/ours.opus"
run opusdec --quiet --rate 48000 "$WORK/ours.opus" "$WORK/ours_opusdec.wav"
run sox "$WORK/ours_opusdec.wav" -t raw "$WORK/ours_opusdec.s16"
ogg=$(snr "$WORK/sp48000.s16" "$WORK/ours_opusdec.s16" 400)
echo "  telox .opus via opusdec: SNR ${ogg% *} dB at lag ${ogg#* } (pre-skip honoured)"
check "opusdec decodes telox's file at >= 8 dB SNR vs the input (${ogg% *} dB)" ge "${ogg% *}" 8
run opusenc --quiet --bitrate 24 --raw --raw-rate 48000 --raw-chan 1 "$WORK/sp48000.s16" "$WORK/ref.opus"
run opusdec --quiet --rate 48000 "$WORK/ref.opus" "$WORK/ref_opusdec.wav"
run sox "$WORK/ref_opusdec.wav" -t raw "$WORK/ref_opusdec.s16"
run "$T" opus-dec "$WORK/ref.opus" "$WORK/ref_ours.s16"
x=$(snr "$WORK/ref_opusdec.s16" "$WORK/ref_ours.s16" 0 | cut -d' ' -f1)
echo "  opusenc .opus decoded by telox vs opusdec: $x dB"
check "telox decodes opusenc's file at >= 40 dB vs opusdec ($x dB)" ge "$x" 40

echo
echo "G.722 64 kbit/s against spandsp:"
run "$T" g722-enc "$WORK/sp16000.s16" "$WORK/ours.g722"
run "$WORK/spandsp_g722" enc "$WORK/sp16000.s16" "$WORK/ref.g722"
# spandsp codes a trailing odd sample; compare the whole pairs both produced.
n=$(stat -c %s "$WORK/ours.g722")
check "G.722 encoder: telox == spandsp on all $n codes" cmp -n "$n" "$WORK/ours.g722" "$WORK/ref.g722"
run "$T" g722-dec "$WORK/ref.g722" "$WORK/ours_dec.s16"
run "$WORK/spandsp_g722" dec "$WORK/ref.g722" "$WORK/ref_dec.s16"
check "G.722 decoder: telox == spandsp on every sample" cmp "$WORK/ours_dec.s16" "$WORK/ref_dec.s16"
g=$(snr "$WORK/sp16000.s16" "$WORK/ours_dec.s16" 40)
echo "  G.722 round trip SNR ${g% *} dB (delay ${g#* } samples)"
check "G.722 round trip >= 20 dB SNR (${g% *} dB)" ge "${g% *}" 20

summary codecs
