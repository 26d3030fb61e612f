#!/usr/bin/env python3
"""A webhook receiver for the interop stage: accepts JSON POSTs on 127.0.0.1:PORT, appends each
body as one line to FILE, answers 204. Exits after TIMEOUT seconds."""
import http.server, sys, threading

port, path, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 1 << 20))
        with open(path, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", port), H)
threading.Timer(timeout, srv.shutdown).start()
srv.serve_forever()
