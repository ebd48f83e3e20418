"""WebSocket echo load for the benchmark (Python websockets, Debian's).

Opens --connections WebSockets to wss://HOST:PORT/ through 127.0.0.1 (SNI and
Host: HOST) with a client certificate, and on each keeps --window messages of
--size bytes in flight against an echo origin for --duration seconds. One
message is one echoed round trip: the proxy relays it twice (to the origin and
back). Writes {"messages", "bytes", "elapsed_s", "errors"} as JSON to
--json-out and prints one line.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import time

import websockets


async def one(args, context, deadline, totals):
    uri = f"wss://{args.host}:{args.port}/"
    try:
        async with websockets.connect(uri, host="127.0.0.1", port=args.port, ssl=context,
                                      server_hostname=args.host, max_size=None,
                                      compression=None, open_timeout=10) as ws:
            payload = os.urandom(args.size)
            for _ in range(args.window):
                await ws.send(payload)
            while True:
                got = await asyncio.wait_for(ws.recv(), 10)
                if got != payload:
                    totals["errors"] += 1
                    return
                totals["messages"] += 1
                if time.monotonic() >= deadline:
                    return
                await ws.send(payload)
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
        print(f"ws_bench: {type(e).__name__}: {e}", file=sys.stderr)
        totals["errors"] += 1


async def run(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # What is measured is the relay, not the server certificate.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(args.cert, args.key)
    totals = {"messages": 0, "errors": 0}
    start = time.monotonic()
    deadline = start + args.duration
    await asyncio.gather(*(one(args, context, deadline, totals) for _ in range(args.connections)))
    elapsed = time.monotonic() - start
    result = {"messages": totals["messages"], "bytes": totals["messages"] * args.size,
              "elapsed_s": round(elapsed, 3), "errors": totals["errors"],
              "messages_per_s": round(totals["messages"] / elapsed, 1) if elapsed > 0 else 0}
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f)
    print(f"{args.label}: {result['messages']} messages in {result['elapsed_s']} s "
          f"({result['messages_per_s']}/s), {result['errors']} errors", flush=True)
    return 0 if totals["messages"] > 0 and totals["errors"] == 0 else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--label", default="ws")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
