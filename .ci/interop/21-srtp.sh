#!/usr/bin/env bash
# Interop of telox-srtp with libsrtp2 (Debian libsrtp2-dev): builds the srtp_ref line tool
# (.ci/interop/srtp/, from the project's peer toolbox), checks it against libsrtp's own known
# answers (srtp/test.sh), then runs srtp/examples/srtp_interop.rs: for every profile both
# implement, thousands of random packets across a sequence wrap with reordering, libsrtp
# protects -> telox unprotects and the other way round, SRTP and SRTCP, tampered and replayed
# packets refused by both, late joiners given the ROC, and two master keys chosen per packet
# by MKI (RFC 3711 §8.1) both ways.
set -u
source "$(dirname "$0")/lib.sh"
require gcc
require make
require cargo
if [ ! -e /usr/include/srtp2/srtp.h ]; then
  if [ "${CI:-}" = "true" ]; then echo "interop: libsrtp2-dev missing" >&2; exit 1; fi
  echo "interop: libsrtp2-dev missing, skipping (set CI=true to make this a failure)" >&2; exit 0
fi

WORK=$(mktemp -d /tmp/telox-srtp-interop.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp "$ROOT/.ci/interop/srtp/"{srtp_ref.c,Makefile,test.sh,kat.txt} "$WORK/"
check "build srtp_ref against libsrtp2" make -s -C "$WORK" srtp_ref

# the reference tool itself against libsrtp's known answers and round trips
out=$(timeout 120 bash "$WORK/test.sh" 2>&1 | tail -1)
echo "# srtp_ref self-test: $out"
check "srtp_ref self-test ($out)" test "${out##*, }" = "0 failed"

check "build srtp_interop (release)" interop_build
HARNESS="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/srtp_interop"

timeout 600 "$HARNESS" "$WORK/srtp_ref" "${SRTP_INTEROP_PACKETS:-2000}" > "$WORK/interop.log" 2>&1
rc=$?
grep -E '^(ok|skip|FAIL|#)' "$WORK/interop.log" | head -60
line=$(grep '^srtp_interop:' "$WORK/interop.log" || echo "srtp_interop: no summary (rc $rc)")
check "telox <-> libsrtp2 packets: ${line#srtp_interop: }" test "$rc" -eq 0

# srtp-decrypt on real captures: SIPp's G.711 recording (236 RTP packets) encrypted by libsrtp
# (srtp_ref, packets put back into a pcap with text2pcap) and by telox itself, decrypted by
# srtp-decrypt; tshark must read the output and see the original RTP payloads.
require tshark
require text2pcap
PCAP=/usr/share/sip-tester/g711a.pcap
if [ ! -r "$PCAP" ]; then
  if [ "${CI:-}" = "true" ]; then echo "interop: $PCAP (sip-tester) missing" >&2; exit 1; fi
  echo "interop: $PCAP missing, skipping the srtp-decrypt checks" >&2; summary srtp; exit $?
fi
TOOL="${CARGO_TARGET_DIR:-$ROOT/target}/release/srtp-decrypt"
[ -x "$TOOL" ] || interop_build
KEY_HEX=$(od -An -tx1 -N30 /dev/urandom | tr -d ' \n')
KEY_B64=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$KEY_HEX")
SUITE=AES_CM_128_HMAC_SHA1_80
tshark -r "$PCAP" -T fields -e udp.payload 2>/dev/null > "$WORK/plain.txt"
n_plain=$(wc -l < "$WORK/plain.txt")

# libsrtp protects every packet; text2pcap rebuilds a capture (UDP 5000 -> 2006)
{
  while read -r p; do echo "protect $SUITE $KEY_HEX $p"; done < "$WORK/plain.txt"
} | timeout 60 "$WORK/srtp_ref" > "$WORK/libsrtp.txt"
awk '{ printf "0000"; for (i = 1; i <= length($0); i += 2) printf " %s", substr($0, i, 2); print "" }' \
  "$WORK/libsrtp.txt" > "$WORK/libsrtp.hexdump"
text2pcap -q -u 5000,2006 "$WORK/libsrtp.hexdump" "$WORK/libsrtp.pcap" 2>/dev/null
out=$(timeout 60 "$TOOL" --suite "$SUITE" --key "inline:$KEY_B64" "$WORK/libsrtp.pcap" "$WORK/dec1.pcap")
echo "# srtp-decrypt (libsrtp capture): $out"
check "srtp-decrypt decrypts libsrtp's SRTP ($n_plain packets)" \
  grep -q "decrypted rtp=$n_plain rtcp=0, refused=0" <<<"$out"
tshark -r "$WORK/dec1.pcap" -T fields -e udp.payload 2>/dev/null > "$WORK/dec1.txt"
check "tshark reads the decrypted capture: payloads equal the original" cmp -s "$WORK/plain.txt" "$WORK/dec1.txt"
rtp_seen=$(tshark -r "$WORK/dec1.pcap" -d udp.port==2006,rtp -Y rtp -T fields -e rtp.seq 2>/dev/null | wc -l)
check "tshark decodes $rtp_seen/$n_plain RTP packets" test "$rtp_seen" -eq "$n_plain"

# telox encrypts the capture, srtp-decrypt decrypts it; a wrong key refuses every packet
out=$(timeout 60 "$TOOL" --encrypt --suite "$SUITE" --key "$KEY_B64" "$PCAP" "$WORK/enc.pcap")
check "srtp-decrypt --encrypt ($out)" grep -q "encrypted rtp=$n_plain" <<<"$out"
out=$(timeout 60 "$TOOL" --suite "$SUITE" --key "$KEY_B64" --port 2006 "$WORK/enc.pcap" "$WORK/dec2.pcap")
tshark -r "$WORK/dec2.pcap" -T fields -e udp.payload 2>/dev/null > "$WORK/dec2.txt"
check "telox-encrypted capture decrypts back ($out)" cmp -s "$WORK/plain.txt" "$WORK/dec2.txt"
WRONG=$(head -c 30 /dev/zero | base64 -w0)
out=$(timeout 60 "$TOOL" --suite "$SUITE" --key "$WRONG" "$WORK/libsrtp.pcap" "$WORK/dec3.pcap")
check "wrong key: every packet refused as auth ($out)" grep -q "refused=$n_plain (auth=$n_plain)" <<<"$out"

summary srtp
