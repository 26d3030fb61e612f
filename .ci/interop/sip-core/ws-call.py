#!/usr/bin/python3
"""SIP over WebSocket (RFC 7118) peer for the interop stage, on the Debian `websockets`
library (python3-websockets): connects to ws://HOST:PORT with the `sip` subprotocol, sends an
OPTIONS, then a call (INVITE, ACK for the 2xx, BYE), one SIP message per text frame, and
checks each answer. Prints one line per step; exits non-zero on the first failure.

usage: ws-call.py HOST:PORT
"""
import asyncio
import sys

import websockets

HOSTPORT = sys.argv[1]
HOST, PORT = HOSTPORT.rsplit(":", 1)
# RFC 7118 §5.2: the client's Via sent-by is an invalid domain; responses use the connection.
VIA_HOST = "df7jal23ls0d.invalid"


def request(method, cseq, call_id, branch, to_tag="", body="", extra=""):
    to = f"<sip:uas@{HOSTPORT}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} sip:uas@{HOSTPORT};transport=ws SIP/2.0",
        f"Via: SIP/2.0/WS {VIA_HOST};branch=z9hG4bK{branch}",
        "Max-Forwards: 70",
        f"From: <sip:py@{VIA_HOST}>;tag=pyws1",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:py@{VIA_HOST};transport=ws>",
    ]
    if extra:
        lines.append(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def status(msg):
    first = msg.split("\r\n", 1)[0]
    if not first.startswith("SIP/2.0 "):
        raise SystemExit(f"not a response: {first!r}")
    return int(first.split(" ")[1])


def header(msg, name):
    for line in msg.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


async def final(ws):
    """Reads frames until a final response; returns it (provisionals are skipped)."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), 10)
        if not isinstance(msg, str):
            raise SystemExit("binary frame for a text SIP message")
        if status(msg) >= 200:
            return msg


async def main():
    async with websockets.connect(f"ws://{HOSTPORT}/", subprotocols=["sip"]) as ws:
        if ws.subprotocol != "sip":
            raise SystemExit(f"server chose subprotocol {ws.subprotocol!r}")
        print("ok handshake: subprotocol sip")
        await ws.send(request("OPTIONS", 1, "pyws-options", "o1"))
        r = await final(ws)
        if status(r) != 200:
            raise SystemExit(f"OPTIONS answered {status(r)}")
        print("ok OPTIONS: 200")
        sdp = ("v=0\r\no=py 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 40010 RTP/AVP 0\r\n")
        await ws.send(request("INVITE", 1, "pyws-call", "i1", body=sdp))
        r = await final(ws)
        if status(r) != 200:
            raise SystemExit(f"INVITE answered {status(r)}")
        to = header(r, "To")
        tag = to.split("tag=", 1)[1].split(";", 1)[0] if "tag=" in to else ""
        if not tag or "transport=ws" not in header(r, "Contact"):
            raise SystemExit(f"2xx without To tag or ws Contact: {to!r} {header(r, 'Contact')!r}")
        print("ok INVITE: 200 with a ws Contact")
        await ws.send(request("ACK", 1, "pyws-call", "a1", to_tag=tag))
        await asyncio.sleep(0.2)
        await ws.send(request("BYE", 2, "pyws-call", "b1", to_tag=tag))
        r = await final(ws)
        if status(r) != 200:
            raise SystemExit(f"BYE answered {status(r)}")
        print("ok BYE: 200")


asyncio.run(main())
