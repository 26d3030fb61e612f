#!/usr/bin/env python3
"""differential.py RTP_ANALYZE FIRST_SEED COUNT WORKDIR: for each seed, gen_calls.py writes a
capture of several calls; rtp-analyze --json and `tshark -q -z rtp,streams` read it (streams
without SDP by --port / -d udp.port==P,rtp on both sides), and every stream (SSRC, source,
destination) must agree: present on both sides, packets, lost (Wireshark's sign: negative with
duplicates), max and mean jitter, max delta (3 decimals as tshark prints them), payload type,
and problems (tshark's "X") exactly when rtp-analyze counts sequence errors or timestamps out
of time sequence. MOS must be a number in [1, 4.41] and R at most 93.2 (G.107's defaults: a
negative loss leaking into the E-model would exceed them) for every stream. Every fifth
capture (DIFF_HEADERS_EVERY), every RTP packet's SSRC, sequence number, timestamp, payload
type and marker must also read the same in `rtp-analyze --dump` and in tshark.
Prints each disagreement with its seed and call (reproduce with gen_calls.py SEED OUT), then a
summary; exits 1 on any disagreement."""
import ipaddress
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
RA, FIRST, COUNT, WORK = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
JOBS = int(os.environ.get("DIFF_JOBS", "2"))
# Every HEADERS_EVERY-th seed also compares every RTP packet's header fields.
HEADERS_EVERY = int(os.environ.get("DIFF_HEADERS_EVERY", "5"))

ROW = re.compile(
    r"^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+(.*?)\s+(\d+)\s+"
    r"(-?\d+) \((-?[\d.]+)%\)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)"
    r"\s+(-?[\d.]+)\s*(X?)\s*$"
)
# tshark's payload names (rtp_pt.h) for the types the generator uses.
NAMES = {0: "g711U", 8: "g711A", 9: "g722", 13: "CN"}


def endpoint(s):
    host, port = s.rsplit(":", 1)
    return str(ipaddress.ip_address(host.strip("[]"))), int(port)


def headers(meta, f):
    """Every RTP packet's SSRC, sequence number, timestamp, payload type and marker, in
    capture order, as `rtp-analyze --dump` and tshark's rtp.* fields read them (padding,
    extensions and CSRCs skipped alike; a packet that is not RTP for one is not for the other)."""
    ports = sum((["--port", str(p)] for p in meta["ports"]), [])
    dump = subprocess.run([RA, "--dump", *ports, f], capture_output=True, text=True).stdout
    ours = ["\t".join(line.split("\t")[1:6]) for line in dump.splitlines() if line.startswith("RTP\t")]
    ts = ["timeout", "-k", "5", "60", "tshark", "-n", "-r", f, "-Y", "rtp", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]
    ts += sum((["-d", f"udp.port=={p},rtp"] for p in meta["ports"]), [])
    for field in ("rtp.ssrc", "rtp.seq", "rtp.timestamp", "rtp.p_type", "rtp.marker"):
        ts += ["-e", field]
    theirs = []
    for line in subprocess.run(ts, capture_output=True, text=True).stdout.splitlines():
        c = line.split("\t")
        c[4] = "1" if c[4] in ("1", "True") else "0"
        theirs.append("\t".join(c))
    if ours == theirs:
        return []
    n = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return [f"RTP headers: {len(ours)}/{len(theirs)} packets, first difference at packet {n}: "
            f"{ours[n] if n < len(ours) else '-'} / {theirs[n] if n < len(theirs) else '-'}"]


def run(seed):
    meta = json.loads(
        subprocess.run(
            [sys.executable, os.path.join(HERE, "gen_calls.py"), str(seed), os.path.join(WORK, f"s{seed}")],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    f = meta["file"]
    ra = [RA, "--json"] + sum((["--port", str(p)] for p in meta["ports"]), []) + [f]
    ts = ["timeout", "-k", "5", "60", "tshark", "-n", "-r", f, "-q", "-z", "rtp,streams"]
    ts += sum((["-d", f"udp.port=={p},rtp"] for p in meta["ports"]), [])
    o = subprocess.run(ra, capture_output=True, text=True)
    t = subprocess.run(ts, capture_output=True, text=True)
    problems = []
    if o.returncode != 0:
        return meta, [f"rtp-analyze failed: {o.stderr.strip()}"], 0
    ours = {}
    for s in json.loads(o.stdout):
        ours[(s["ssrc"], *endpoint(s["src"]), *endpoint(s["dst"]))] = s
    theirs = {}
    for line in t.stdout.splitlines():
        m = ROW.match(line)
        if m:
            key = (int(m[5], 16), str(ipaddress.ip_address(m[1])), int(m[2]), str(ipaddress.ip_address(m[3])), int(m[4]))
            theirs[key] = {
                "payload": m[6],
                "packets": int(m[7]),
                "lost": int(m[8]),
                "max_delta_ms": float(m[12]),
                "mean_jitter_ms": float(m[14]),
                "max_jitter_ms": float(m[15]),
                "problem": m[16] == "X",
            }
    if not theirs:
        problems.append("tshark found no streams")
    if seed % HEADERS_EVERY == 0:
        problems += headers(meta, f)
    for key in sorted(set(ours) | set(theirs)):
        o, th = ours.get(key), theirs.get(key)
        where = f"ssrc {key[0]:#010x} {key[1]}:{key[2]} -> {key[3]}:{key[4]}"
        if o is None or th is None:
            problems.append(f"{where}: only in {'tshark' if o is None else 'rtp-analyze'}")
            continue
        diffs = [k for k in ("packets", "lost") if o[k] != th[k]]
        diffs += [k for k in ("max_jitter_ms", "mean_jitter_ms", "max_delta_ms") if abs(o[k] - th[k]) > 0.0015]
        name = NAMES.get(o["payload_type"])
        if name is not None and name not in th["payload"].split(", "):
            diffs.append("payload_type")
        if th["problem"] != (o["sequence_errors"] > 0 or o["timestamp_errors"] > 0):
            diffs.append("problem")
        # MOS sane: a number in 1..4.41 (G.107's ceiling for the default R of 93.2), which a
        # negative loss (duplicates) leaking into the E-model would push above.
        mos, r = o["mos"], o["r_factor"]
        if not (isinstance(mos, (int, float)) and 1.0 <= mos <= 4.41 and r <= 93.25):
            diffs.append("mos")
        if diffs:
            detail = " ".join(f"{k}={o.get(k)}/{th.get(k)}" for k in diffs if k not in ("payload_type", "problem", "mos"))
            if "payload_type" in diffs:
                detail += f" pt={o['payload_type']}/{th['payload']}"
            if "problem" in diffs:
                detail += f" problem: seqerr={o['sequence_errors']} tserr={o['timestamp_errors']} tshark={'X' if th['problem'] else '-'}"
            if "mos" in diffs:
                detail += f" mos={mos} r={r}"
            problems.append(f"{where}: DIFF {','.join(diffs)} ({detail})")
    return meta, problems, len(set(ours) & set(theirs))


def main():
    os.makedirs(WORK, exist_ok=True)
    bad_files = 0
    streams = 0
    calls = 0
    with ThreadPoolExecutor(JOBS) as pool:
        for meta, problems, n in pool.map(run, range(FIRST, FIRST + COUNT)):
            streams += n
            calls += len(meta["calls"])
            if problems:
                bad_files += 1
                print(f"seed {meta['seed']} ({meta['format']} {','.join(meta['links'])}): {len(problems)} disagreement(s)")
                for p in problems[:6]:
                    print("   ", p)
                ssrc_calls = ", ".join(
                    f"call {c['call']}: {c['ip']} sip={c['sip']} {c['codec']} ptime={c['ptime']} te={c['te']} cn={c['cn']} rtcp={c['rtcp']} {'/'.join(c['notes'])}"
                    for c in meta["calls"]
                )
                print("    calls:", ssrc_calls)
            else:
                os.remove(meta["file"])
    print(f"differential: {COUNT} captures, {calls} calls, {streams} streams compared, {bad_files} captures disagree")
    sys.exit(1 if bad_files else 0)


main()
