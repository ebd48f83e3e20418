"""HTTP/2 client of certgate-edge (python3-h2 over Python's ssl, ALPN h2):
opens one TLS connection to the edge with SNI --sni and an optional client
certificate, sends every request of --requests (a JSON list of
{"method", "authority", "path", "headers": [[name, value]...], "body",
"repeat": times the body is repeated, "trailers": [[name, value]...] sent
after the body}) on
its own stream before reading any answer, then prints one JSON object:
{"alpn": ..., "goaway": error code or null, "max_concurrent_streams": the
server's setting, "streams": [{"status", "headers", "body", "body_bytes",
"reset"}...]} in the order of the requests.

    h2_edge_client.py --port P --sni auth.pizza [--cert c.pem --key k.pem] \
        --requests '[{"method": "GET", "authority": "auth.pizza", "path": "/"}]'
"""
import argparse
import json
import os
import socket
import ssl
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sni", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--requests", required=True)
    # A slow reader: at most 64 KiB per read, --read-delay-ms between reads;
    # bodies are counted ("body_bytes") instead of kept.
    parser.add_argument("--read-delay-ms", type=int, default=0)
    # After --requests: wait until --then-wait-file exists, then send
    # --then-requests on the same connection.
    parser.add_argument("--then-wait-file")
    parser.add_argument("--then-requests")
    args = parser.parse_args()
    requests = json.loads(args.requests)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2", "http/1.1"])
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=15)
    sock = context.wrap_socket(raw, server_hostname=args.sni)
    alpn = sock.selected_alpn_protocol()
    if alpn != "h2":
        print(json.dumps({"alpn": alpn, "streams": []}))
        return

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    conn.initiate_connection()
    order = []
    results = {}
    state = {"goaway": None}

    pending = {}  # stream id -> request body bytes not sent yet
    trailers = {}  # stream id -> trailers sent after its body

    def pump():
        """Sends request bodies as far as the server's windows allow, then
        their trailers."""
        for sid in list(pending):
            body = pending[sid]
            while body:
                n = min(len(body), conn.local_flow_control_window(sid),
                        conn.max_outbound_frame_size)
                if n <= 0:
                    break
                conn.send_data(sid, body[:n], end_stream=(n == len(body) and sid not in trailers))
                body = body[n:]
            if body:
                pending[sid] = body
            else:
                del pending[sid]
                if sid in trailers:
                    conn.send_headers(sid, trailers.pop(sid), end_stream=True)

    def run(batch):
        """Sends every request of `batch`, then reads until all are answered."""
        sids = []
        for request in batch:
            sid = conn.get_next_available_stream_id()
            body = (request.get("body", "") * request.get("repeat", 1)).encode()
            fields = [(":method", request["method"]), (":scheme", "https"),
                      (":authority", request["authority"]), (":path", request["path"])]
            fields += [tuple(h) for h in request.get("headers", [])]
            if request.get("trailers"):
                trailers[sid] = [tuple(t) for t in request["trailers"]]
            conn.send_headers(sid, fields, end_stream=not body and sid not in trailers)
            if body:
                pending[sid] = body
            elif sid in trailers:
                conn.send_headers(sid, trailers.pop(sid), end_stream=True)
            sids.append(sid)
            results[sid] = {"status": None, "headers": {}, "body": "", "body_bytes": 0,
                            "reset": None}
        order.extend(sids)
        pump()
        sock.sendall(conn.data_to_send())
        open_streams = set(sids)
        while open_streams:
            if args.read_delay_ms:
                time.sleep(args.read_delay_ms / 1000)
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    r = results[event.stream_id]
                    for name, value in event.headers:
                        if name == ":status":
                            r["status"] = int(value)
                        else:
                            r["headers"][name] = value
                elif isinstance(event, h2.events.TrailersReceived):
                    for name, value in event.headers:
                        results[event.stream_id]["headers"][name] = value
                elif isinstance(event, h2.events.DataReceived):
                    results[event.stream_id]["body_bytes"] += len(event.data)
                    if not args.read_delay_ms:
                        results[event.stream_id]["body"] += event.data.decode("utf-8", "replace")
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    open_streams.discard(event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    results[event.stream_id]["reset"] = int(event.error_code)
                    open_streams.discard(event.stream_id)
                    pending.pop(event.stream_id, None)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    state["goaway"] = int(event.error_code)
            try:
                pump()
            except h2.exceptions.StreamClosedError:
                pass
            out = conn.data_to_send()
            if out:
                sock.sendall(out)

    run(requests)
    if args.then_requests:
        # The same connection, after the test changed something (a file it
        # creates says when).
        deadline = time.time() + 30
        while not os.path.exists(args.then_wait_file) and time.time() < deadline:
            time.sleep(0.05)
        run(json.loads(args.then_requests))
    print(json.dumps({"alpn": alpn, "goaway": state["goaway"],
                      "max_concurrent_streams": conn.remote_settings.max_concurrent_streams,
                      "streams": [results[sid] for sid in order]}))

if __name__ == "__main__":
    main()
