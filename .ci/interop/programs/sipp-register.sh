#!/usr/bin/env bash
# sipp-register.sh REGISTRAR_HOST:PORT USER PASSWORD [COUNT] [RATE]
#   Registers USER with digest auth (scenarios/register-auth-uac.xml: REGISTER -> 401/407 ->
#   REGISTER with Authorization -> 200 with a Contact binding -> de-REGISTER with auth -> 200)
#   COUNT times (default 1) at RATE per second (default 10); one line summary (sipp-uac.sh
#   format) + "result=PASS|FAIL". Exit 0 only if every registration succeeded.
# sipp-register.sh --csv REGISTRAR_HOST:PORT USERS.csv COUNT [RATE]
#   Same with many users: USERS.csv = SIPp injection file ("SEQUENTIAL" line, then
#   "user;[authentication username=user password=secret];secret;" lines), e.g.
#   kamailio/users.csv (user1000..user1099 / pw1000..pw1099).
# sipp-register.sh --uas PORT USER PASSWORD
#   Starts a SIPp UAS that challenges REGISTER with 401 and verifies the digest
#   (scenarios/register-401-uas.xml); prints its PID. Bounded by UAS_TIMEOUT (600 s).
# env: EXPIRES=3600 (Expires of the REGISTER), LOCAL_PORT, TRACE_MSG=1, OUTDIR
set -u
. "$(dirname "$0")/peers-lib.sh"
SC="$PEERS_DIR/scenarios"
usage() { sed -n '2,15p' "$0"; exit 2; }
[ $# -ge 3 ] || usage
TMPCSV=$(mktemp /tmp/sipp-reg-users.XXXXXX.csv)
trap 'rm -f "$TMPCSV"' EXIT
if [ "$1" = --uas ]; then
  PORT="$2"; printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s];%s;\n' "$3" "$3" "$4" "$4" > "$TMPCSV"
  CSV_KEEP=$(mktemp /tmp/sipp-reg-uas-users.XXXXXX.csv); cp "$TMPCSV" "$CSV_KEEP"
  rm -f "$TMPCSV"
  SCENARIO="$SC/register-401-uas.xml" exec "$PEERS_DIR/sipp-uas.sh" "$PORT" -inf "$CSV_KEEP"
fi
if [ "$1" = --csv ]; then
  [ $# -ge 4 ] || usage
  TARGET="$2"; cp "$3" "$TMPCSV"; COUNT="$4"; RATE="${5:-10}"
else
  TARGET="$1"; printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s];%s;\n' "$2" "$2" "$3" "$3" > "$TMPCSV"; COUNT="${4:-1}"; RATE="${5:-10}"
fi
line=$(SCENARIO="$SC/register-auth-uac.xml" "$PEERS_DIR/sipp-uac.sh" "$TARGET" "$RATE" "$COUNT" \
        -inf "$TMPCSV" -key expires "${EXPIRES:-3600}" -trace_logs)
rc=$?
res=FAIL
ok=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^ok=//p')
[ "$rc" -eq 0 ] && [ "${ok:-0}" -eq "$COUNT" ] && res=PASS
echo "$line result=$res"
[ "$res" = PASS ]
