#!/usr/bin/env python3
"""A webhook receiver for tests: appends each POST's body (one JSON event per
line) to --out, and answers 503 to the first --fail-first POSTs so that the
sender's retry is exercised. Every attempt is counted in --attempts. With
--cert and --key it serves https."""
import argparse
import http.server
import ssl
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--attempts", required=True)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--cert", help="serve https with this certificate (PEM)")
parser.add_argument("--key", help="the key of --cert (PEM)")
args = parser.parse_args()

lock = threading.Lock()
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        with lock:
            seen += 1
            attempt = seen
            with open(args.attempts, "a") as f:
                f.write(f"{self.path} {self.headers.get('Content-Type')}\n")
            if attempt > args.fail_first:
                with open(args.out, "a") as f:
                    f.write(body.replace("\n", " ") + "\n")
        self.send_response(503 if attempt <= args.fail_first else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *unused):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
if args.cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
