#!/usr/bin/env bash
# Interop of telox-srtp with libsrtp2 (Debian libsrtp2-dev): builds the srtp_ref line tool
# (.ci/interop/srtp/, from the project's peer toolbox), checks it against libsrtp's own known
# answers (srtp/test.sh), then runs srtp/examples/srtp_interop.rs: for every profile both
# implement, thousands of random packets across a sequence wrap with reordering, libsrtp
# protects -> telox unprotects and the other way round, SRTP and SRTCP, tampered and replayed
# packets refused by both, late joiners given the ROC.
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

check "build srtp_interop (release)" \
  cargo build --quiet --release -p telox-srtp --example srtp_interop
HARNESS="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/srtp_interop"

timeout 600 "$HARNESS" "$WORK/srtp_ref" "${SRTP_INTEROP_PACKETS:-2000}" > "$WORK/interop.log" 2>&1
rc=$?
grep -E '^(ok|skip|FAIL|#)' "$WORK/interop.log" | head -60
line=$(grep '^srtp_interop:' "$WORK/interop.log" || echo "srtp_interop: no summary (rc $rc)")
check "telox <-> libsrtp2 packets: ${line#srtp_interop: }" test "$rc" -eq 0

summary srtp
