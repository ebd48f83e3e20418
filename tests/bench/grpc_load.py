#!/usr/bin/env python3
"""gRPC unary load for tests/bench/grpc_bench.sh: --concurrency calls in
flight on one TLS channel (client certificate), for --duration seconds, of
/certgate.test.Echo/Unary (tests/integration/h2_origins/grpc_server.py).
Prints {"calls": N, "errors": N, "seconds": S}."""
import argparse
import json
import threading
import time

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    read = lambda path: open(path, "rb").read()
    creds = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
    options = [("grpc.ssl_target_name_override", args.host), ("grpc.default_authority", args.host)]
    channel = grpc.secure_channel("127.0.0.1:%d" % args.port, creds, options=options)
    call = channel.unary_unary("/certgate.test.Echo/Unary")
    call(b"warm", timeout=10)
    lock = threading.Lock()
    counts = {"calls": 0, "errors": 0}
    done = threading.Event()
    deadline = time.monotonic() + args.duration
    in_flight = [0]

    def issue():
        with lock:
            in_flight[0] += 1
        future = call.future(b"ping", timeout=10)
        future.add_done_callback(finished)

    def finished(future):
        ok = future.exception() is None
        with lock:
            in_flight[0] -= 1
            counts["calls" if ok else "errors"] += 1
            last = in_flight[0] == 0
        if time.monotonic() < deadline:
            issue()
        elif last:
            done.set()

    start = time.monotonic()
    for _ in range(args.concurrency):
        issue()
    done.wait(args.duration + 30)
    counts["seconds"] = round(time.monotonic() - start, 3)
    print(json.dumps(counts))
    channel.close()


if __name__ == "__main__":
    main()
