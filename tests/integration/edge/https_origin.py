#!/usr/bin/env python3
"""An https origin for certgate's integration tests (stdlib only).

It does what README.md's "What your origin should check" asks of an origin:
TLS with a client certificate required and verified against the edge CA,
then a check that the certificate's DNS SAN is the origin's own zone. It
answers 200 with what it saw (SNI, resumption, the client certificate's SAN
and serial) as response headers, or 403 when the certificate is for another
zone. GET /close answers with `Connection: close`, so the next request
needs a new TLS connection (and can resume).
"""
import argparse
import http.server
import ssl
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True, help="server certificate chain (PEM)")
    parser.add_argument("--key", required=True, help="server key (PEM)")
    parser.add_argument("--client-ca", help="require client certificates from this CA (PEM)")
    parser.add_argument("--zone", help="the only client certificate DNS SAN accepted")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(args.client_ca)

    def remember_sni(sock, name, _context):
        sock.certgate_sni = name or ""

    context.sni_callback = remember_sni

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            self.request.do_handshake()
            super().setup()

        def log_message(self, fmt, *fmt_args):
            sys.stderr.write("origin: " + (fmt % fmt_args) + "\n")

        def do_GET(self):
            tls = self.connection
            peer = tls.getpeercert() or {}
            sans = [value for kind, value in peer.get("subjectAltName", ()) if kind == "DNS"]
            status = 200
            body = "ok\n"
            if args.zone is not None and args.zone not in sans:
                # Chains to the edge CA, but was issued for another zone.
                status = 403
                body = "client certificate is for %s, not %s\n" % (",".join(sans) or "-", args.zone)
            close = self.path == "/close"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Origin-Sni", getattr(tls, "certgate_sni", "") or "-")
            self.send_header("X-Origin-Resumed", "yes" if tls.session_reused else "no")
            self.send_header("X-Origin-Client-San", ",".join(sans) or "-")
            self.send_header("X-Origin-Client-Serial", peer.get("serialNumber", "-"))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body.encode())

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    print("https origin listening on 127.0.0.1:%d" % args.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
