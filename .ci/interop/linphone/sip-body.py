#!/usr/bin/env python3
"""sip-body.py LOG sent|received START_REGEX [N]: prints, byte for byte, the body of the Nth
(1-based, default 1) SIP message with a body in a linphonec debug log (-d 6) that linphone sent or
received and whose start line matches START_REGEX (e.g. '^INVITE ' or '^SIP/2.0 200 .*'
with a CSeq check left to the caller). belle-sip logs each message in full after a
'message sent to' / 'received [N] new bytes from' line, CRLF intact; the body is the
Content-Length bytes after the blank line. Exit 1 when there is no such message."""
import re
import sys


def main():
    log, direction, start = sys.argv[1], sys.argv[2], re.compile(sys.argv[3].encode())
    want = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    data = open(log, "rb").read()
    marker = b"message sent to [" if direction == "sent" else b"new bytes from ["
    seen = 0
    pos = 0
    while True:
        at = data.find(marker, pos)
        if at < 0:
            return 1
        line_end = data.find(b"\n", at)
        if line_end < 0:  # a log cut off after the marker (linphonec stopped)
            return 1
        pos = line_end + 1
        msg_start = pos
        first_end = data.find(b"\r\n", msg_start)
        if first_end < 0:
            return 1
        first = data[msg_start:first_end]
        if not start.search(first):
            continue
        head_end = data.find(b"\r\n\r\n", msg_start)
        if head_end < 0:
            return 1
        headers = data[msg_start:head_end].decode("utf-8", "replace")
        m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", headers)
        length = int(m.group(1)) if m else 0
        if length == 0:
            continue
        seen += 1
        if seen == want:
            sys.stdout.buffer.write(data[head_end + 4:head_end + 4 + length])
            return 0


if __name__ == "__main__":
    sys.exit(main())
