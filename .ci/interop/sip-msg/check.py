#!/usr/bin/env python3
"""Reads `tshark -T fields` rows (frame, Call-ID, CSeq seq, CSeq method, udp payload hex) on
stdin, runs sip-lint --json on each payload, prints one `ok`/`FAIL` line per message and a
last line `checked N valid V agree A`."""
import json, subprocess, sys, tempfile, os

lint = sys.argv[1]
n = valid = agree = 0
for row in sys.stdin:
    cols = row.rstrip("\n").split("\t")
    if len(cols) < 5 or not cols[4]:
        continue
    frame, call_id, cseq, cseq_method, payload = cols[:5]
    data = bytes.fromhex(payload.replace(":", ""))
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        path = f.name
    try:
        out = subprocess.run([lint, "--json", path], capture_output=True, timeout=10)
    finally:
        os.unlink(path)
    n += 1
    lines = out.stdout.decode("utf-8", "replace").strip().splitlines()
    verdict = lines[-1] if lines else "(no output)"
    first = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    if verdict == "valid" and out.returncode == 0:
        valid += 1
        parsed = json.loads(lines[0])
        ours = (parsed.get("call_id"), str((parsed.get("cseq") or {}).get("seq")),
                (parsed.get("cseq") or {}).get("method"))
        theirs = (call_id, cseq, cseq_method)
        if ours == theirs:
            agree += 1
            print(f"ok   frame {frame}: {first}")
        else:
            print(f"FAIL frame {frame}: {first}: sip-lint {ours} tshark {theirs}")
    else:
        print(f"FAIL frame {frame}: {first}: {verdict}")
print(f"checked {n} valid {valid} agree {agree}")
