"""HTTP/2 client (python3-h2, an implementation independent of nghttp2) for
the HTTP/2 codec interop test: on one cleartext connection with prior
knowledge, it sends a GET, a POST whose body goes in two parts followed by
trailers, and a GET for another zone's host, all before reading; then prints
one JSON object per stream (status, body, trailers, reset code).

    h2_client.py --port PORT --authority auth.pizza --other bank.example

With --rapid-reset N it instead opens and cancels N streams at once (the
CVE-2023-44487 pattern) and prints how the server ended the connection:
{"goaway": ERROR_CODE} or {"goaway": null}.
"""
import argparse
import json
import socket

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def rapid_reset(args):
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    # The server's SETTINGS first: its stream limit does not stop the flood.
    sock.sendall(conn.data_to_send())
    conn.receive_data(sock.recv(65536))
    for _ in range(args.rapid_reset):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"),
                                (":authority", args.authority), (":path", "/")], end_stream=True)
        conn.reset_stream(sid)
    try:
        sock.sendall(conn.data_to_send())
    except OSError:
        pass
    goaway = None
    try:
        while goaway is None:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ConnectionTerminated):
                    goaway = int(event.error_code)
    except (OSError, h2.exceptions.ProtocolError):
        pass
    print(json.dumps({"goaway": goaway}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--authority", required=True)
    parser.add_argument("--other", required=True)
    parser.add_argument("--rapid-reset", type=int, default=0)
    args = parser.parse_args()
    if args.rapid_reset:
        rapid_reset(args)
        return

    sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()

    def head(method, authority, path, extra=()):
        return [(":method", method), (":scheme", "https"), (":authority", authority),
                (":path", path)] + list(extra)

    streams = {}
    get = conn.get_next_available_stream_id()
    conn.send_headers(get, head("GET", args.authority, "/hello?x=1"), end_stream=True)
    post = conn.get_next_available_stream_id()
    conn.send_headers(post, head("POST", args.authority, "/echo",
                                 [("content-type", "application/grpc"), ("te", "trailers")]))
    conn.send_data(post, b"first part,")
    conn.send_data(post, b"second part")
    conn.send_headers(post, [("x-client-trailer", "sent")], end_stream=True)
    other = conn.get_next_available_stream_id()
    conn.send_headers(other, head("GET", args.other, "/"), end_stream=True)
    for sid, name in ((get, "get"), (post, "post"), (other, "other")):
        streams[sid] = {"name": name, "status": None, "body": "", "trailers": {}, "reset": None,
                        "ended": False}
    sock.sendall(conn.data_to_send())

    while not all(s["ended"] or s["reset"] is not None for s in streams.values()):
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            sid = getattr(event, "stream_id", None)
            if isinstance(event, h2.events.ResponseReceived):
                streams[sid]["status"] = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.DataReceived):
                streams[sid]["body"] += event.data.decode()
                conn.acknowledge_received_data(event.flow_controlled_length, sid)
            elif isinstance(event, h2.events.TrailersReceived):
                streams[sid]["trailers"] = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h2.events.StreamEnded):
                streams[sid]["ended"] = True
            elif isinstance(event, h2.events.StreamReset):
                streams[sid]["reset"] = event.error_code
        sock.sendall(conn.data_to_send())
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    print(json.dumps({s["name"]: s for s in streams.values()}, sort_keys=True))


if __name__ == "__main__":
    main()
