"""A streaming HTTP/1.1 origin for the edge's bounded-memory test and benchmark.

It never holds a body: a request body (Content-Length or chunked) is read in
blocks and counted, then answered with {"body_bytes": N, "sha256": hex}; GET
/bytes?n=N answers N bytes (the repeating pattern 0..255) with a
Content-Length, or chunked with &chunked=1. Keep-alive; one thread per
connection. Prints "ready" once listening.
"""
import argparse
import hashlib
import json
import socket
import socketserver
import sys
import urllib.parse

BLOCK = 256 * 1024
PATTERN = bytes(range(256)) * (BLOCK // 256)


class BadRequest(Exception):
    pass


class Handler(socketserver.StreamRequestHandler):
    rbufsize = BLOCK
    wbufsize = 0

    def read_line(self):
        line = self.rfile.readline(64 * 1024)
        if not line.endswith(b"\r\n"):
            raise BadRequest("line too long or connection closed")
        return line[:-2].decode("latin-1")

    def read_exact(self, n, digest):
        while n > 0:
            block = self.rfile.read(min(n, BLOCK))
            if not block:
                raise BadRequest("body cut short")
            digest.update(block)
            n -= len(block)

    def read_body(self, headers):
        digest = hashlib.sha256()
        total = 0
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self.read_line().split(";")[0].strip(), 16)
                if size == 0:
                    while self.read_line():  # trailers, then the empty line
                        pass
                    break
                self.read_exact(size, digest)
                total += size
                if self.read_line():
                    raise BadRequest("chunk without CRLF")
        elif "content-length" in headers:
            total = int(headers["content-length"])
            self.read_exact(total, digest)
        return total, digest.hexdigest()

    def send_bytes(self, n, chunked):
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {n}\r\n\r\n"
        self.connection.sendall(head.encode())
        view = memoryview(PATTERN)
        while n > 0:
            block = view[: min(n, BLOCK)]
            if chunked:
                self.connection.sendall(b"%x\r\n" % len(block))
            self.connection.sendall(block)
            if chunked:
                self.connection.sendall(b"\r\n")
            n -= len(block)
        if chunked:
            self.connection.sendall(b"0\r\n\r\n")

    def handle(self):
        try:
            while True:
                try:
                    request_line = self.read_line()
                except BadRequest:
                    return  # the client closed between requests
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                while True:
                    line = self.read_line()
                    if not line:
                        break
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if headers.get("expect", "").lower() == "100-continue":
                    self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body_bytes, sha = self.read_body(headers)
                url = urllib.parse.urlsplit(target)
                query = urllib.parse.parse_qs(url.query)
                if method == "GET" and url.path == "/bytes":
                    self.send_bytes(int(query.get("n", ["0"])[0]), query.get("chunked") == ["1"])
                else:
                    body = json.dumps({"body_bytes": body_bytes, "sha256": sha}).encode() + b"\n"
                    self.connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                if headers.get("connection", "").lower() == "close":
                    return
        except (BadRequest, ValueError, ConnectionError) as error:
            print(f"stream_origin: {error}", file=sys.stderr, flush=True)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with Server(("127.0.0.1", args.port), Handler) as server:
        server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        print("ready", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
