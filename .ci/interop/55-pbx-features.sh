#!/usr/bin/env bash
# The PBX's features with telox phones as the users (config from a TOML file):
#  1. IVR: 1000 calls 500, the PBX answers and plays its prompt, 1000 presses 1, the PBX rings
#     1001 and bridges; audio both ways.
#  2. Ring group 600 (simultaneous): 1001 and 1002 both ring, one answers, the other is
#     cancelled; the call completes.
#  3. Webhook: the PBX POSTs call events (ringing, answered, ended with the call record).
#  4. Protection: a REGISTER with a scanner User-Agent (friendly-scanner) gets no answer.
#  5. Transcoding: 1000 speaks only Opus, 1002 only PCMU: the PBX answers each side with its
#     own codec and transcodes in the relay; audio both ways.
#  6. Recording: calls to 600 are recorded (record_dir, record_numbers) as stereo WAVs.
set -u
. "$(dirname "$0")/lib.sh"
require python3
require sox
BIN="${TELOX_BIN:-$BIN}"
# The release programs, fresh: in CI .ci/run built them (under a second here); run alone, this
# builds them (a stale binary would test old code).
[ -n "${TELOX_BIN:-}" ] || interop_build || { echo "interop: release build failed" >&2; exit 1; }
P="$(dirname "$0")/programs"
ROOT_DIR="$(cd "$(dirname "$0")/../.." && pwd)"
WORK=$(mktemp -d /tmp/telox-pbxf.XXXXXX)
PBX=""; P1=""; P2=""; HOOK=""
cleanup() { stop_pid "$P1"; stop_pid "$P2"; stop_pid "$HOOK"; [ -n "$PBX" ] && kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; true; }
trap cleanup EXIT
PORT=$(free_udp_port)
HOOK_PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
timeout -k 3 120 python3 "$P/webhook-sink.py" "$HOOK_PORT" "$WORK/hooks.jsonl" 110 &
HOOK=$!
cat > "$WORK/pbx.toml" <<TOML
listen = "127.0.0.1:$PORT"
digest_algorithms = ["MD5"]
cdr_file = "$WORK/cdr.jsonl"
record_dir = "$WORK/rec"
record_numbers = ["600"]
webhook = "http://127.0.0.1:$HOOK_PORT/events"
[[users]]
extension = "1000"
password = "p1000"
[[users]]
extension = "1001"
password = "p1001"
[[users]]
extension = "1002"
password = "p1002"
[[ring_groups]]
number = "600"
members = ["1001", "1002"]
strategy = "simultaneous"
[ivr]
number = "500"
prompt = "$ROOT_DIR/examples/data/prompt-8k.wav"
routes = { "1" = "1001", "2" = "600" }
TOML
timeout -k 3 110 "$BIN/pbx" --config "$WORK/pbx.toml" 2>"$WORK/pbx.log" &
PBX=$!
sleep 0.5

callee() { # callee EXT LOG [phone args...] -> pid
  local port ext=$1 log=$2; shift 2; port=$(free_udp_port)
  timeout -k 3 40 "$BIN/phone" --listen "127.0.0.1:$port" --user "$ext" --password "p$ext" \
    --registrar "127.0.0.1:$PORT" --auto-answer --calls 1 --max-time 30s "$@" </dev/null >"$log.out" 2>"$log.log" &
  echo $!
}

# 1. IVR.
P1=$(callee 1001 "$WORK/ivr-1001")
wait_log "$WORK/ivr-1001.log" "^phone: registered"
timeout 40 "$BIN/phone" --call "sip:500@127.0.0.1:$PORT" --user 1000 --password p1000 --duration 5s \
  --dtmf 1 </dev/null >"$WORK/ivr-1000.out" 2>"$WORK/ivr-1000.log"
rc=$?
wait "$P1" 2>/dev/null; P1=""
check "IVR: the PBX answered and routed digit 1 to 1001" grep -q "pressed 1" "$WORK/pbx.log"
check "IVR: the caller received audio (prompt, then 1001)" test "$rc" -eq 0
r1=$(awk 'NR==2{print $5}' "$WORK/ivr-1001.out")
check "IVR: 1001 answered and received the caller's audio (${r1:-0} packets)" test "${r1:-0}" -gt 50

# 2. Ring group (recorded): the caller plays 440 Hz, the members 1000 Hz.
sox -n -r 8000 -c 1 -b 16 "$WORK/t440.wav" synth 5 sine 440 vol 0.5
sox -n -r 8000 -c 1 -b 16 "$WORK/t1000.wav" synth 5 sine 1000 vol 0.5
P1=$(callee 1001 "$WORK/rg-1001" --play "$WORK/t1000.wav")
P2=$(callee 1002 "$WORK/rg-1002" --play "$WORK/t1000.wav")
wait_log "$WORK/rg-1001.log" "^phone: registered"; wait_log "$WORK/rg-1002.log" "^phone: registered"
timeout 40 "$BIN/phone" --call "sip:600@127.0.0.1:$PORT" --user 1000 --password p1000 --duration 3s \
  --play "$WORK/t440.wav" </dev/null >"$WORK/rg-1000.out" 2>"$WORK/rg-1000.log"
rc=$?
sleep 0.5
stop_pid "$P1"; stop_pid "$P2"; P1=""; P2=""
check "ring group 600: the call completed with audio" test "$rc" -eq 0
rang=$(cat "$WORK/rg-1001.log" "$WORK/rg-1002.log" | grep -c "incoming call")
check "ring group 600: both members rang ($rang)" test "$rang" -eq 2

# 5. Transcoding: Opus-only caller, PCMU-only callee.
P2=$(callee 1002 "$WORK/tc-1002" --codecs pcmu)
wait_log "$WORK/tc-1002.log" "^phone: registered"
timeout 40 "$BIN/phone" --call "sip:1002@127.0.0.1:$PORT" --user 1000 --password p1000 --duration 4s \
  --codecs opus </dev/null >"$WORK/tc-1000.out" 2>"$WORK/tc-1000.log"
rc=$?
wait "$P2" 2>/dev/null; P2=""
check "transcoding: the PBX bridged Opus and PCMU" grep -q "answered (opus/48000 <-> PCMU/8000)" "$WORK/pbx.log"
check "transcoding: the Opus caller got an Opus call and received audio" \
  sh -c "grep -q 'call up: opus/48000' '$WORK/tc-1000.log' && test $rc -eq 0"
check "transcoding: the PCMU callee got a PCMU call" grep -q "call up: PCMU/8000" "$WORK/tc-1002.log"
r2=$(awk 'NR==2{print $5}' "$WORK/tc-1002.out")
check "transcoding: 1002 received the caller's transcoded audio (${r2:-0} packets)" test "${r2:-0}" -gt 100

# 4. A scanner's REGISTER is dropped silently.
python3 - "$PORT" > "$WORK/scanner.txt" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.0); s.bind(("127.0.0.1", 0))
p = s.getsockname()[1]
msg = ("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKscan1\r\n"
       "From: <sip:100@127.0.0.1>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: scan1\r\nCSeq: 1 REGISTER\r\n"
       "Max-Forwards: 70\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n" % p)
s.sendto(msg.encode(), ("127.0.0.1", int(sys.argv[1])))
try:
    s.recv(4096); print("answered")
except socket.timeout:
    print("silent")
PY
check "a friendly-scanner REGISTER gets no answer" grep -q silent "$WORK/scanner.txt"

kill -INT "$PBX" 2>/dev/null; wait "$PBX" 2>/dev/null; PBX=""
sleep 0.5
answered=$(grep -c '"answer_cause":"answered"' "$WORK/cdr.jsonl" 2>/dev/null || echo 0)
check "call records: 3 answered calls ($answered)" test "$answered" -eq 3
# Call recording (record_numbers = 600): the ring group's relayed call is a stereo WAV named
# in its record, with the caller's audio on the left and the member's on the right (sox).
rec=$(grep '"to":"600"' "$WORK/cdr.jsonl" | sed -n 's/.*"recording":"\([^"]*\)".*/\1/p' | head -1)
check "recording: the ring group call's record names its WAV ($rec)" test -s "$rec"
check "recording: only the calls to 600 were recorded" \
  test "$(grep -c '"recording"' "$WORK/cdr.jsonl")" -eq 1
check "recording: stereo, over 1 s (sox: $(soxi -c "$rec" 2>/dev/null) ch, $(soxi -D "$rec" 2>/dev/null) s)" \
  sh -c "[ \"\$(soxi -c '$rec')\" = 2 ] && awk -v d=\"\$(soxi -D '$rec')\" 'BEGIN{exit !(d > 1)}'"
for c in "1 440 caller" "2 1000 member"; do
  set -- $c
  f=$(sox "$rec" -n trim 0.5 remix "$1" stat 2>&1 | awk '/Rough +frequency/ {print $3}')
  check "recording: channel $1 has the $3's $2 Hz tone (sox: ${f:-none} Hz)" \
    awk -v f="${f:-0}" -v t="$2" 'BEGIN{exit !(f > t * 0.9 && f < t * 1.1)}'
done
check "webhook: call.answered and call.ended events with the record" \
  sh -c "grep -q '\"event\":\"call.answered\"' '$WORK/hooks.jsonl' && grep -q '\"event\":\"call.ended\".*\"record\"' '$WORK/hooks.jsonl'"
grep -q "requests dropped" "$WORK/pbx.log" && grep "stopped" "$WORK/pbx.log" | sed 's/^/  /'
summary pbx-features
