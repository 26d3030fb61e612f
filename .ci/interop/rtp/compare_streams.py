#!/usr/bin/env python3
"""compare_streams.py OURS.json TSHARK.txt: compares rtp-analyze --json with the
`tshark -q -z rtp,streams` table of the same capture, stream by stream (SSRC):
packets, lost, max jitter and mean jitter (tshark prints 3 decimals). Prints one line per
stream and exits 1 on any difference or a stream missing on either side."""
import json
import re
import sys

ours = {s["ssrc"]: s for s in json.load(open(sys.argv[1]))}
row = re.compile(
    r"0x([0-9A-Fa-f]+)\s+(.*?)\s+(\d+)\s+(-?\d+) \((-?[\d.]+)%\)"
    r"\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)"
)
theirs = {}
for line in open(sys.argv[2]):
    m = row.search(line)
    if m:
        theirs[int(m.group(1), 16)] = {
            "packets": int(m.group(3)),
            "lost": int(m.group(4)),
            "mean_jitter_ms": float(m.group(10)),
            "max_jitter_ms": float(m.group(11)),
        }
bad = 0
if not theirs:
    print("tshark found no streams")
    bad += 1
for ssrc in sorted(set(ours) | set(theirs)):
    o, t = ours.get(ssrc), theirs.get(ssrc)
    if o is None or t is None:
        print(f"ssrc {ssrc:#010x}: only in {'tshark' if o is None else 'rtp-analyze'}")
        bad += 1
        continue
    diffs = [k for k in ("packets", "lost") if o[k] != t[k]]
    diffs += [k for k in ("max_jitter_ms", "mean_jitter_ms") if abs(o[k] - t[k]) > 0.0015]
    status = "ok" if not diffs else "DIFF " + ",".join(diffs)
    print(
        f"ssrc {ssrc:#010x}: packets {o['packets']}/{t['packets']} lost {o['lost']}/{t['lost']} "
        f"max_jitter {o['max_jitter_ms']}/{t['max_jitter_ms']} "
        f"mean_jitter {o['mean_jitter_ms']}/{t['mean_jitter_ms']} {status}"
    )
    bad += bool(diffs)
sys.exit(1 if bad else 0)
