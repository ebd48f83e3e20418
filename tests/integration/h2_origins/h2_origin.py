#!/usr/bin/env python3
"""A cleartext HTTP/2 origin (h2c, prior knowledge) for certgate's tests, on
Python's h2 (python3-h2). One thread per connection. Paths:

  /echo        200 with the request head as JSON (pseudo-headers and fields,
               in order), then the request body echoed back as it arrives.
  /sha256      reads the whole body in blocks, answers {"body_bytes", "sha256"}.
  /bytes?n=N   N bytes of the pattern 0..255, under flow control.
  /trailers    a body, then trailers x-origin-trailer and grpc-status.
  /huge-headers        a response header block far beyond any sane limit.
  /continuation-flood  HEADERS without END_HEADERS, then CONTINUATION frames
                       without end (raw frames, past h2's state machine).
  /goaway-refuse       the first time: GOAWAY with last_stream_id below the
                       stream (it is refused unprocessed), then a close; later
                       like /echo.
  /goaway-midstream    a response head and part of the body, then GOAWAY
                       INTERNAL_ERROR and a close.
With --cert and --key it speaks TLS and picks h2 by ALPN (--alpn http/1.1:
picks HTTP/1.1 and answers POST /sha256 and GET / over it; --client-ca:
requires a client certificate from that CA; /echo then reports its DNS SANs
in x-client-san). Prints "ready" once listening; logs one line per request
to stderr.
"""
import argparse
import hashlib
import http.server
import json
import socket
import ssl
import struct
import sys
import threading
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

PATTERN = bytes(range(256)) * 64
refused_once = threading.Event()
lock = threading.Lock()
connections = [0]


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def pattern_chunks(n):
    while n > 0:
        chunk = PATTERN[: min(n, len(PATTERN))]
        n -= len(chunk)
        yield chunk


class Connection:
    def __init__(self, sock):
        self.sock = sock
        self.client_san = ""
        if isinstance(sock, ssl.SSLSocket):
            peer = sock.getpeercert() or {}
            self.client_san = ",".join(v for k, v in peer.get("subjectAltName", ()) if k == "DNS")
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                           validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.local_settings = h2.settings.Settings(
            client=False, initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                                          h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 20})
        self.streams = {}  # id -> dict(head, path, digest, count, echo)
        self.pending = {}  # id -> [buffer bytes, generator or None, end?, trailers]

    def send(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def run(self):
        self.conn.initiate_connection()
        self.send()
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                log("origin: protocol error %s" % e)
                self.send()
                return
            for event in events:
                if self.handle(event) == "close":
                    self.send()
                    self.sock.close()
                    return
            self.pump()
            self.send()

    def handle(self, event):
        if isinstance(event, h2.events.RequestReceived):
            head = [[k, v] for k, v in event.headers]
            path = dict(event.headers).get(":path", "/")
            s = {"head": head, "path": path, "digest": hashlib.sha256(), "count": 0}
            self.streams[event.stream_id] = s
            route = urllib.parse.urlparse(path).path
            log("origin: %s %s stream %d" % (dict(event.headers).get(":method"), path,
                                             event.stream_id))
            return self.begin(event.stream_id, route, s)
        if isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            s = self.streams.get(event.stream_id)
            if s is None:
                return None
            s["digest"].update(event.data)
            s["count"] += len(event.data)
            if s.get("echo") and event.data:
                self.pending[event.stream_id][0] += event.data
            return None
        if isinstance(event, h2.events.TrailersReceived):
            s = self.streams.get(event.stream_id)
            if s is not None:
                s["trailers"] = [[k, v] for k, v in event.headers]
            return None
        if isinstance(event, h2.events.StreamEnded):
            s = self.streams.get(event.stream_id)
            if s is None:
                return None
            route = urllib.parse.urlparse(s["path"]).path
            if s.get("echo"):
                p = self.pending[event.stream_id]
                p[2] = True
                if "trailers" in s:
                    p[3] = [("x-request-trailers", json.dumps(s["trailers"]))]
            elif route == "/sha256":
                body = json.dumps({"body_bytes": s["count"],
                                   "sha256": s["digest"].hexdigest()}).encode()
                self.respond(event.stream_id, 200, [("content-type", "application/json")], body)
            return None
        if isinstance(event, h2.events.StreamReset):
            self.pending.pop(event.stream_id, None)
            log("origin: stream %d reset by the edge (code %d)" % (event.stream_id,
                                                                   event.error_code))
        return None

    def respond(self, stream_id, status, fields, body, trailers=None):
        self.conn.send_headers(stream_id, [(":status", str(status))] + fields)
        self.pending[stream_id] = [body, None, True, trailers]

    def begin(self, stream_id, route, s):
        if route in ("/echo", "/") or (route == "/goaway-refuse" and refused_once.is_set()):
            s["echo"] = True
            self.conn.send_headers(stream_id, [(":status", "200"),
                                               ("content-type", "application/octet-stream"),
                                               ("x-request-head", json.dumps(s["head"])),
                                               ("x-client-san", self.client_san or "-")])
            self.pending[stream_id] = [b"", None, False, None]
            return None
        if route == "/bytes":
            query = urllib.parse.parse_qs(urllib.parse.urlparse(s["path"]).query)
            n = int(query.get("n", ["0"])[0])
            self.conn.send_headers(stream_id, [(":status", "200"),
                                               ("content-length", str(n))])
            self.pending[stream_id] = [b"", pattern_chunks(n), True, None]
            return None
        if route == "/trailers":
            self.conn.send_headers(stream_id, [(":status", "200")])
            self.pending[stream_id] = [b"trailer body\n", None, True,
                                       [("x-origin-trailer", "done"), ("grpc-status", "0")]]
            return None
        if route == "/huge-headers":
            # 40 fields of 4 KiB: 160 KiB, sent as HEADERS plus CONTINUATIONs.
            fields = [("x-huge-%d" % i, "h" * 4096) for i in range(40)]
            self.conn.max_outbound_frame_size = 16384
            self.conn.send_headers(stream_id, [(":status", "200")] + fields, end_stream=True)
            return None
        if route == "/continuation-flood":
            self.send()
            # :status 200 (static index 8), then CONTINUATIONs carrying a
            # literal field each, never END_HEADERS.
            frames = [struct.pack(">I", 1)[1:] + bytes([0x1, 0x0]) +
                      struct.pack(">I", stream_id) + b"\x88"]
            literal = b"\x40\x05x-pad\x05aaaaa"
            cont = (struct.pack(">I", len(literal))[1:] + bytes([0x9, 0x0]) +
                    struct.pack(">I", stream_id) + literal)
            try:
                self.sock.sendall(frames[0])
                for _ in range(100000):
                    self.sock.sendall(cont)
            except OSError:
                log("origin: continuation flood cut off by the edge")
            return "close"
        if route == "/goaway-refuse":
            refused_once.set()
            log("origin: refusing stream %d with GOAWAY" % stream_id)
            self.conn.close_connection(error_code=0, last_stream_id=stream_id - 2
                                       if stream_id > 2 else 0)
            return "close"
        if route == "/goaway-midstream":
            self.conn.send_headers(stream_id, [(":status", "200"),
                                               ("content-length", "100000")])
            self.conn.send_data(stream_id, b"x" * 1000)
            self.conn.close_connection(error_code=2, last_stream_id=stream_id)
            return "close"
        if route == "/sha256":
            return None  # answered at the body's end
        self.respond(stream_id, 404, [], b"no such path\n")
        return None

    def pump(self):
        for stream_id in list(self.pending):
            buf, gen, end, trailers = self.pending[stream_id]
            while True:
                if not buf and gen is not None:
                    buf = next(gen, b"")
                    if not buf:
                        gen = None
                if not buf:
                    break
                try:
                    window = self.conn.local_flow_control_window(stream_id)
                except h2.exceptions.StreamClosedError:
                    buf = b""
                    end = False
                    break
                n = min(window, self.conn.max_outbound_frame_size, len(buf))
                if n <= 0:
                    break
                self.conn.send_data(stream_id, buf[:n])
                buf = buf[n:]
                self.send()
            if not buf and gen is None and end:
                try:
                    if trailers:
                        self.conn.send_headers(stream_id, trailers, end_stream=True)
                    else:
                        self.conn.end_stream(stream_id)
                except h2.exceptions.StreamClosedError:
                    pass
                del self.pending[stream_id]
            else:
                self.pending[stream_id] = [buf, gen, end, trailers]


class Http1Handler(http.server.BaseHTTPRequestHandler):
    """What an https origin that picked HTTP/1.1 answers."""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *fmt_args):
        log("origin: http/1.1 " + (fmt % fmt_args))

    def do_GET(self):
        body = b"http/1.1 origin\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        digest = hashlib.sha256()
        count = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data = self.rfile.read(size)
                digest.update(data)
                count += len(data)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length", "0"))
            while n > 0:
                data = self.rfile.read(min(n, 65536))
                digest.update(data)
                count += len(data)
                n -= len(data)
        body = json.dumps({"body_bytes": count, "sha256": digest.hexdigest(),
                           "protocol": "http/1.1"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(sock, context):
    if context is not None:
        try:
            sock = context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log("origin: TLS handshake failed: %s" % e)
            sock.close()
            return
        log("origin: ALPN %s" % sock.selected_alpn_protocol())
        if sock.selected_alpn_protocol() != "h2":
            try:
                Http1Handler(sock, sock.getpeername(), None)
            except OSError:
                pass
            sock.close()
            return
    with lock:
        connections[0] += 1
        log("origin: connection %d" % connections[0])
    try:
        Connection(sock).run()
    finally:
        sock.close()
        log("origin: connection ended")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", help="server certificate chain (PEM): speak TLS")
    parser.add_argument("--key", help="server key (PEM)")
    parser.add_argument("--client-ca", help="require client certificates from this CA (PEM)")
    parser.add_argument("--alpn", default="h2", help="the protocol picked by ALPN")
    args = parser.parse_args()
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        context.set_alpn_protocols([args.alpn])
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    print("ready", flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock, context), daemon=True).start()


if __name__ == "__main__":
    main()
