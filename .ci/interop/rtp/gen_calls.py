#!/usr/bin/env python3
"""gen_calls.py SEED OUT_BASE: writes one seeded capture of several calls made the way real
calls are, for the rtp-analyze / tshark differential test (differential.py).

Prints a JSON line: {"file": path, "ports": [...], "calls": [description, ...]}. The file is
OUT_BASE.pcap or OUT_BASE.pcapng; `ports` are the UDP ports of streams that have no SDP (give
them to `rtp-analyze --port` and to tshark as `-d udp.port==P,rtp`).

What a seed draws, per file: pcap (microsecond or nanosecond magic) with one link type, or
pcapng with several interfaces of different link types and timestamp resolutions (10^-6 or
10^-9); link types Ethernet (with or without an 802.1Q tag), Linux cooked SLL and SLL2, raw
IP, BSD loopback (null, host byte order, AF_INET6 24/28/30) and OpenBSD loop. Per call: IPv4
or IPv6; SIP over UDP (sometimes TCP) with an SDP offer and answer, or no SIP at all (the
stream is found by port); a codec with its SDP clock (PCMU/PCMA 8000, G.722 announced 8000
with 16 kHz audio, Opus 48000/2 on a dynamic payload type, and now and then G.722 mis-
announced as 16000), telephone-event with the codec's clock, comfort noise (PT 13) before
silence-suppression gaps that end with a marker bit; 10-40 ms packetization; sequence and
timestamp starts near the wrap; loss (single and bursts), duplicates, reordering (late by
1..50 packets), arrival jitter; a sender restart (new SSRC, or the same SSRC with a sequence
and timestamp jump); RTP padding, header extensions (RFC 8285 one- and two-byte, RFC 3550
generic) and CSRCs; RTCP SR+SDES on port+1 or multiplexed (a=rtcp-mux); a re-INVITE that
moves the media port or changes the codec (payload type) mid-stream; an answer numbering the
dynamic types its own way (each side sends with the other's numbers); a packet reaching the
media port before the INVITE; files in big-endian byte order now and then.
"""
import ipaddress
import json
import random
import struct
import sys

EPOCH_NS = 1_795_000_000 * 10**9


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_packet(src, dst, proto, l4):
    a = ipaddress.ip_address(src).packed
    b = ipaddress.ip_address(dst).packed
    if len(a) == 4:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, a, b)
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        return h + l4
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, a, b) + l4


def pseudo(src, dst, proto, n):
    a = ipaddress.ip_address(src).packed
    b = ipaddress.ip_address(dst).packed
    if len(a) == 4:
        return a + b + struct.pack("!BBH", 0, proto, n)
    return a + b + struct.pack("!IxxxB", n, proto)


def udp(src, sp, dst, dp, payload):
    l4 = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload
    c = csum(pseudo(src, dst, 17, len(l4)) + l4) or 0xFFFF
    return ip_packet(src, dst, 17, l4[:6] + struct.pack("!H", c) + l4[8:])


def tcp(src, sp, dst, dp, seq, payload):
    l4 = struct.pack("!HHIIBBHHH", sp, dp, seq, 1, 0x50, 0x18, 65535, 0, 0) + payload
    c = csum(pseudo(src, dst, 6, len(l4)) + l4)
    return ip_packet(src, dst, 6, l4[:16] + struct.pack("!H", c) + l4[18:])


# Link layers: (LINKTYPE, encapsulate(ip_bytes, is_v6, rng) -> frame).
def eth(ip, v6, vlan):
    et = 0x86DD if v6 else 0x0800
    h = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
    if vlan is not None:
        return h + struct.pack("!HHH", 0x8100, vlan, et) + ip
    return h + struct.pack("!H", et) + ip


def sll(ip, v6):
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", 0x86DD if v6 else 0x0800) + ip


def sll2(ip, v6):
    return struct.pack("!HHIHBB8s", 0x86DD if v6 else 0x0800, 0, 3, 1, 0, 6, b"\x02\0\0\0\0\x01\0\0") + ip


LINKS = {
    "ethernet": (1, lambda ip, v6, c: eth(ip, v6, None)),
    "ethernet-vlan": (1, lambda ip, v6, c: eth(ip, v6, 100 + c)),
    "sll": (113, lambda ip, v6, c: sll(ip, v6)),
    "sll2": (276, lambda ip, v6, c: sll2(ip, v6)),
    "raw": (101, lambda ip, v6, c: ip),
    # BSD loopback: the family in the capturing host's byte order (little endian here);
    # AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS).
    "null": (0, lambda ip, v6, c: struct.pack("<I", [24, 28, 30][c % 3] if v6 else 2) + ip),
    "loop": (108, lambda ip, v6, c: struct.pack("!I", 24 if v6 else 2) + ip),
}

# name, payload type (None: dynamic), SDP clock, RTP ticks per ms, rtpmap encoding
CODECS = [
    ("PCMU", 0, 8000, 8, "PCMU/8000"),
    ("PCMA", 8, 8000, 8, "PCMA/8000"),
    ("G722", 9, 8000, 8, "G722/8000"),
    ("opus", None, 48000, 48, "opus/48000/2"),
    # Some devices announce G.722 with its audio rate (RFC 3551 §4.5.2 says 8000) and
    # stamp 16 ticks per ms: Wireshark takes a static type's clock from RFC 3551 regardless.
    ("G722-16k", 9, 16000, 16, "G722/16000"),
]


def rtp_packet(rng, pt, seq, ts, ssrc, marker, payload, style):
    """An RTP packet with the stream's header style (padding, extension, CSRCs)."""
    x = style["ext"] is not None
    cc = style["csrc"]
    pad = style["pad"] and rng.random() < 0.3
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if x else 0) | cc
    h = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    h += b"".join(struct.pack("!I", 0x1000 + i) for i in range(cc))
    if x:
        kind = style["ext"]
        if kind == "one-byte":  # RFC 8285 one-byte: audio level (id 1) + padding
            body = bytes([0x10, 0x80 | rng.randrange(128), 0, 0])
            h += struct.pack("!HH", 0xBEDE, len(body) // 4) + body
        elif kind == "two-byte":  # RFC 8285 two-byte: id 3, 3 bytes
            body = bytes([3, 3, 1, 2, 3, 0])
            body += b"\0" * (-len(body) % 4)
            h += struct.pack("!HH", 0x1000, len(body) // 4) + body
        else:  # RFC 3550 generic
            h += struct.pack("!HH", 0xABAC, 2) + b"\x01\x02\x03\x04\x05\x06\x07\x08"
    if pad:
        n = rng.randrange(1, 17)
        payload = payload + b"\0" * (n - 1) + bytes([n])
    return h + payload


def te_payload(event, end, volume, duration):
    return struct.pack("!BBH", event, (0x80 if end else 0) | volume, duration & 0xFFFF)


def sdp_body(ip, port, codec, te_pt, dyn_pt, cn, mux):
    net = "IP6" if ":" in ip else "IP4"
    pts = []
    maps = []
    pt = codec[1] if codec[1] is not None else dyn_pt
    pts.append(pt)
    maps.append(f"a=rtpmap:{pt} {codec[4]}")
    if cn:
        pts.append(13)
        maps.append("a=rtpmap:13 CN/8000")
    if te_pt is not None:
        pts.append(te_pt)
        maps.append(f"a=rtpmap:{te_pt} telephone-event/{codec[2] if codec[0] != 'G722-16k' else 8000}")
        maps.append(f"a=fmtp:{te_pt} 0-16")
    lines = [
        "v=0",
        f"o=- {port} 1 IN {net} {ip}",
        "s=-",
        f"c=IN {net} {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}",
        *maps,
    ]
    if mux:
        lines.append("a=rtcp-mux")
    return "\r\n".join(lines) + "\r\n"


def sip(first, a_ip, b_ip, call_id, cseq, sdp, transport):
    host = f"[{a_ip}]" if ":" in a_ip else a_ip
    return (
        f"{first}\r\nVia: SIP/2.0/{transport} {host}:5060;branch=z9hG4bK{call_id}{cseq}\r\n"
        f"From: <sip:a@{host}>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: {call_id}@gen\r\n"
        f"CSeq: {cseq} INVITE\r\nContact: <sip:a@{host}:5060>\r\nMax-Forwards: 70\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


class Direction:
    """One sender's media: what it sends (send time, RTP bytes) before the network."""

    def __init__(self, rng, codec, dyn_pt, te_pt, cn, ptime, n):
        self.codec = codec
        self.dyn_pt = dyn_pt
        self.te_pt = te_pt
        self.cn = cn
        self.ptime = ptime
        self.n = n
        self.ssrc = rng.getrandbits(32)
        r = rng.random()
        self.seq = 65535 - rng.randrange(0, n) if r < 0.3 else rng.randrange(0, 65536)
        r = rng.random()
        self.ts = (1 << 32) - rng.randrange(0, n * 960) if r < 0.25 else rng.getrandbits(32)
        self.style = {
            "ext": rng.choice([None, None, None, "one-byte", "two-byte", "generic"]),
            "csrc": rng.choice([0, 0, 0, 0, 1, 2]),
            "pad": rng.random() < 0.2,
        }

    def pt(self):
        return self.codec[1] if self.codec[1] is not None else self.dyn_pt


def media(rng, d, t0, events, notes):
    """The packets (send time ns, bytes) of direction `d` from t0; `events`
    maps a packet index to what happens there."""
    out = []
    ticks = d.codec[3] * d.ptime
    t = t0
    marker = True
    k = 0
    while k < d.n:
        ev = events.get(k)
        if ev == "silence":
            gap = rng.randrange(3, 40)
            if d.cn:
                out.append((t, rtp_packet(rng, 13, d.seq, d.ts, d.ssrc, False, b"\x40", d.style)))
                d.seq += 1
            t += gap * d.ptime * 10**6
            d.ts += gap * ticks
            marker = True
            notes.add("silence")
        elif ev == "dtmf" and d.te_pt is not None:
            start = d.ts
            steps = rng.randrange(3, 8)
            same_seq_end = rng.random() < 0.3
            for s in range(steps + 3):
                end = s >= steps
                dur = min(s + 1, steps) * ticks
                out.append((t, rtp_packet(rng, d.te_pt, d.seq, start, d.ssrc, s == 0,
                                             te_payload(5, end, 10, dur), d.style)))
                if not (end and same_seq_end and s < steps + 2):
                    d.seq += 1
                t += d.ptime * 10**6
                d.ts += ticks
            marker = True
            notes.add("dtmf")
        elif ev == "restart":
            kind = rng.choice(["ssrc", "jump", "both"])
            if kind in ("ssrc", "both"):
                d.ssrc = rng.getrandbits(32)
            if kind in ("jump", "both"):
                d.seq = rng.randrange(0, 65536)
                d.ts = rng.getrandbits(32)
            marker = True
            notes.add("restart-" + kind)
        elif isinstance(ev, tuple) and ev[0] == "codec":
            d.codec = ev[1]
            ticks = d.codec[3] * d.ptime
            notes.add("pt-change")
        plen = {8: 160, 16: 160, 48: 80}[d.codec[3]] * d.ptime // 20
        out.append((t, rtp_packet(rng, d.pt(), d.seq, d.ts, d.ssrc, marker, b"\xd5" * plen, d.style)))
        marker = False
        d.seq += 1
        d.ts += ticks
        t += d.ptime * 10**6
        k += 1
    return out


def network(rng, pkts, ptime, notes):
    """Loss (single, bursts), duplicates, reordering and jitter: (arrival ns, bytes)."""
    # Each impairment in about a third of the streams, so a disagreement shows with few.
    loss = rng.choice([0, 0, 0, 0.01, 0.03, 0.1])
    burst = rng.random() < 0.3
    dup = rng.choice([0, 0, 0, 0, 0.01, 0.05])
    reorder = rng.choice([0, 0, 0, 0, 0.01, 0.03])
    jitter_ms = rng.choice([0, 0, 0, 1, 5, 15, 40])
    out = []
    skip = 0
    for t, b in pkts:
        if skip:
            skip -= 1
            continue
        if loss and rng.random() < loss:
            notes.add("loss")
            if burst and rng.random() < 0.3:
                skip = rng.randrange(1, 10)
                notes.add("burst")
            continue
        a = t + 1_000_000 + int(rng.random() * jitter_ms * 10**6)
        if jitter_ms:
            notes.add("jitter")
        if reorder and rng.random() < reorder:
            a += rng.randrange(1, 51) * ptime * 10**6 + rng.randrange(0, 10**6)
            notes.add("reorder")
        out.append((a, b))
        if dup and rng.random() < dup:
            out.append((a + rng.randrange(0, 3 * 10**6), b))
            notes.add("dup")
    return out


def rtcp_sr(ssrc, t_ns, rtp_ts, count, cname):
    ntp = t_ns // 10**9 + 2208988800
    frac = ((t_ns % 10**9) << 32) // 10**9
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, ntp & 0xFFFFFFFF, frac, rtp_ts & 0xFFFFFFFF, count, count * 160)
    c = cname.encode()
    item = struct.pack("!I", ssrc) + bytes([1, len(c)]) + c + b"\0"
    item += b"\0" * (-len(item) % 4)
    return sr + struct.pack("!BBH", 0x81, 202, len(item) // 4) + item


def gen_call(rng, c, t0):
    """One call: its frames (ns, ip bytes), the ports to give by hand, a description."""
    v6 = rng.random() < 0.35
    A = f"2001:db8:{c + 1:x}::a" if v6 else f"10.77.{c}.1"
    B = f"2001:db8:{c + 1:x}::b" if v6 else f"10.77.{c}.2"
    notes = set()
    with_sdp = rng.random() < 0.85
    transport = "TCP" if with_sdp and rng.random() < 0.15 else "UDP"
    codec = rng.choice(CODECS)
    dyn_pt = rng.randrange(96, 128)
    te_pt = rng.choice([None, 101, rng.randrange(96, 128)])
    if te_pt == dyn_pt:
        te_pt = None
    # The answerer may number the dynamic types its own way (RFC 3264 §6.1): each side then
    # sends with the numbers the other announced.
    dyn_b, te_b = dyn_pt, te_pt
    if rng.random() < 0.25:
        dyn_b = rng.choice([x for x in range(96, 128) if x not in (dyn_pt, te_pt)])
        if te_pt is not None:
            te_b = rng.choice([x for x in range(96, 128) if x not in (dyn_pt, te_pt, dyn_b)])
    cn = rng.random() < 0.3 and codec[2] == 8000
    ptime = rng.choice([20, 20, 20, 10, 30, 40]) if codec[0] in ("PCMU", "PCMA") else 20
    rtcp = rng.choice(["none", "port+1", "mux"])
    pa = 10000 + 2 * rng.randrange(0, 20000)
    pb = 10000 + 2 * rng.randrange(0, 20000)
    while pb == pa or 4788 <= pb <= 4790:
        pb = 10000 + 2 * rng.randrange(0, 20000)
    n = rng.randrange(60, 260)
    frames = []
    ports = []
    call_id = f"c{c}x{rng.getrandbits(24)}"
    reinvite = rng.choice([None, None, None, None, "move", "codec"]) if with_sdp else None
    re_at = rng.randrange(n // 3, 2 * n // 3)
    new_codec = rng.choice([x for x in CODECS if x[0] != codec[0] and x[0] != "G722-16k"])
    new_pa = pa + 2 if reinvite == "move" else pa

    # Next TCP sequence number of each direction: the connection stays open, so a
    # re-INVITE and its 200 OK continue the INVITE's byte streams (one reassembled chunk).
    tcp_seq = {A: 1000, B: 500000}

    def signal(t, cseq, codec_a, port_a):
        mux = rtcp == "mux"
        offer = sdp_body(A, port_a, codec_a, te_pt, dyn_pt, cn, mux)
        answer = sdp_body(B, pb, codec_a, te_b, dyn_b, cn, mux)
        inv = sip(f"INVITE sip:b@example.com SIP/2.0", A, B, call_id, cseq, offer, transport)
        ok = sip("SIP/2.0 200 OK", A, B, call_id, cseq, answer, transport)
        if transport == "TCP":
            frames.append((t, tcp(A, 5060, B, 5060, tcp_seq[A], inv)))
            frames.append((t + 30 * 10**6, tcp(B, 5060, A, 5060, tcp_seq[B], ok)))
            tcp_seq[A] += len(inv)
            tcp_seq[B] += len(ok)
        else:
            frames.append((t, udp(A, 5060, B, 5060, inv)))
            frames.append((t + 30 * 10**6, udp(B, 5060, A, 5060, ok)))

    if with_sdp:
        if rng.random() < 0.1:
            # A packet reaches the media port before the call's INVITE: not RTP yet.
            frames.append((t0 - 20 * 10**6, udp(A, pa, B, pb, rtp_packet(rng, 0, 1, 0, 7, False, b"\xd5" * 160, {"ext": None, "csrc": 0, "pad": False}))))
            notes.add("early-packet")
        signal(t0, 1, codec, pa)
    else:
        ports.append(rng.choice([pa, pb]))
        notes.add("no-sdp")
    m0 = t0 + 50 * 10**6
    for dir_i, (src, sp, dst, dp) in enumerate([(A, pa, B, pb), (B, pb, A, pa)]):
        # A sends with B's numbers, B with A's.
        d = Direction(rng, codec, dyn_b if dir_i == 0 else dyn_pt, te_b if dir_i == 0 else te_pt, cn, ptime, n)
        if (dyn_b, te_b) != (dyn_pt, te_pt):
            notes.add("asymmetric-pt")
        events = {}
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            events[rng.randrange(1, n - 1)] = rng.choice(["silence", "dtmf", "dtmf", "silence", "restart"])
        if reinvite == "codec":
            events[re_at] = ("codec", new_codec)
        pkts = media(rng, d, m0 + dir_i * rng.randrange(0, 7 * 10**6), events, notes)
        if d.seq > 65535:
            notes.add("seq-wrap")
        if d.ts >= 1 << 32:
            notes.add("ts-wrap")
        arrivals = network(rng, pkts, d.ptime, notes)
        cut = m0 + re_at * ptime * 10**6

        def ports_at(t, rtcp_port):
            """(source, destination) ports at t: A's port moves with a "move" re-INVITE."""
            a = new_pa if reinvite == "move" and t >= cut else pa
            off = 1 if rtcp_port and rtcp != "mux" else 0
            return (a + off, pb + off) if src == A else (pb + off, a + off)

        for a, b in arrivals:
            s_port, d_port = ports_at(a, False)
            frames.append((a, udp(src, s_port, dst, d_port, b)))
        if rtcp != "none":
            for j in range(1, n // 100 + 2):
                t = m0 + j * 100 * d.ptime * 10**6 // 2 + 500_000
                if t > pkts[-1][0]:
                    break
                body = rtcp_sr(d.ssrc, EPOCH_NS + t, j * 1000, j * 50, f"u{dir_i}@gen")
                s_port, d_port = ports_at(t, True)
                frames.append((t, udp(src, s_port, dst, d_port, body)))
    if reinvite is not None:
        # The re-INVITE and its 200 OK come 150 ms before the senders use what it set.
        signal(m0 + re_at * ptime * 10**6 - 150 * 10**6, 2, new_codec if reinvite == "codec" else codec, new_pa)
        notes.add("reinvite-" + reinvite)
    desc = {
        "call": c,
        "ip": "v6" if v6 else "v4",
        "sip": transport if with_sdp else "none",
        "codec": codec[0],
        "te": te_pt,
        "dyn_pt": dyn_pt if codec[1] is None or reinvite == "codec" else None,
        "dyn_pt_answer": dyn_b,
        "cn": cn,
        "ptime": ptime,
        "rtcp": rtcp,
        "notes": sorted(notes),
    }
    return frames, ports, desc


def write_pcap(path, frames, link, nanos, bo="<"):
    lt, enc = LINKS[link]
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = [struct.pack(bo + "IHHiIII", magic, 2, 4, 0, 0, 262144, lt)]
    for t, ip, v6, c in frames:
        f = enc(ip, v6, c)
        sub = t % 10**9 if nanos else (t % 10**9) // 1000
        out.append(struct.pack(bo + "IIII", t // 10**9, sub, len(f), len(f)) + f)
    open(path, "wb").write(b"".join(out))


def write_pcapng(path, frames, links, nano_if, bo="<"):
    def blk(bt, body):
        body += b"\0" * ((-len(body)) % 4)
        n = 12 + len(body)
        return struct.pack(bo + "II", bt, n) + body + struct.pack(bo + "I", n)

    out = [blk(0x0A0D0D0A, struct.pack(bo + "IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for i, link in enumerate(links):
        opts = b""
        if nano_if[i]:
            opts = struct.pack(bo + "HHB3x", 9, 1, 9) + struct.pack(bo + "HH", 0, 0)
        out.append(blk(1, struct.pack(bo + "HHI", LINKS[link][0], 0, 262144) + opts))
    for t, ip, v6, c, iface in frames:
        f = LINKS[links[iface]][1](ip, v6, c)
        units = t if nano_if[iface] else t // 1000
        out.append(blk(6, struct.pack(bo + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(f), len(f)) + f))
    open(path, "wb").write(b"".join(out))


def main():
    seed = int(sys.argv[1])
    base = sys.argv[2]
    rng = random.Random(seed)
    ncalls = rng.randrange(3, 8)
    calls = []
    frames = []
    ports = []
    t = EPOCH_NS + rng.randrange(0, 10**9)
    for c in range(ncalls):
        f, p, desc = gen_call(rng, c, t + c * rng.randrange(0, 500) * 10**6)
        v6 = desc["ip"] == "v6"
        frames += [(a, ip, v6, c) for a, ip in f]
        ports += p
        calls.append(desc)
    frames.sort(key=lambda x: x[0])
    # Files written on a big-endian machine now and then (both formats say so in their magic).
    bo = ">" if rng.random() < 0.15 else "<"
    if rng.random() < 0.5:
        link = rng.choice(list(LINKS))
        nanos = rng.random() < 0.5
        path = base + ".pcap"
        write_pcap(path, frames, link, nanos, bo)
        fmt = {"format": ("pcap-ns" if nanos else "pcap-us") + ("-be" if bo == ">" else ""), "links": [link]}
    else:
        links = rng.sample(list(LINKS), rng.randrange(1, 4))
        nano_if = [rng.random() < 0.5 for _ in links]
        iface_of = [rng.randrange(len(links)) for _ in range(ncalls)]
        path = base + ".pcapng"
        write_pcapng(path, [(t, ip, v6, c, iface_of[c]) for t, ip, v6, c in frames], links, nano_if, bo)
        fmt = {"format": "pcapng" + ("-be" if bo == ">" else ""), "links": links, "nano": nano_if, "iface_of_call": iface_of}
    print(json.dumps({"seed": seed, "file": path, "ports": ports, **fmt, "calls": calls}))


if __name__ == "__main__":
    main()
