"""A WebSocket client for the edge's upgrade tests (Python websockets).

Connects to wss://HOST:PORT/PATH through 127.0.0.1 (SNI and Host: HOST),
optionally with a client certificate, then runs a script: --send M sends a
text message and expects it echoed; --send-bytes N sends N random bytes and
expects them back; --recv prints the next message. Prints one line per step
("echo ok", "recv <message>") and exits 0, or prints "refused <status>" /
"error <what>" and exits 1.
"""
import argparse
import asyncio
import os
import ssl
import sys

import websockets


async def run(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The edge's serving certificate is not what these tests check.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    headers = [tuple(h.split(": ", 1)) for h in args.header]
    uri = f"wss://{args.host}:{args.port}{args.path}"
    try:
        async with websockets.connect(uri, host="127.0.0.1", port=args.port, ssl=context,
                                      server_hostname=args.host, extra_headers=headers,
                                      max_size=None, open_timeout=10) as ws:
            for step, value in args.steps:
                if step == "send":
                    await ws.send(value)
                    got = await asyncio.wait_for(ws.recv(), 10)
                    if got != value:
                        print(f"error echo mismatch: {got!r}")
                        return 1
                    print("echo ok", flush=True)
                elif step == "send-bytes":
                    data = os.urandom(int(value))
                    await ws.send(data)
                    got = await asyncio.wait_for(ws.recv(), 30)
                    if got != data:
                        print(f"error binary echo mismatch ({len(got)} bytes back)")
                        return 1
                    print(f"echo ok {len(data)} bytes", flush=True)
                elif step == "recv":
                    got = await asyncio.wait_for(ws.recv(), 10)
                    print(f"recv {got}", flush=True)
                elif step == "wait-close":
                    try:
                        await asyncio.wait_for(ws.recv(), float(value))
                        print("error a message came instead of the close")
                        return 1
                    except websockets.ConnectionClosed:
                        print("closed", flush=True)
                    except asyncio.TimeoutError:
                        print("still open", flush=True)
                        return 1
                elif step == "sleep":
                    await asyncio.sleep(float(value))
    except websockets.InvalidStatusCode as e:
        print(f"refused {e.status_code}", flush=True)
        return 1
    except websockets.ConnectionClosed as e:
        print(f"error closed: {e}", flush=True)
        return 1
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
        print(f"error {type(e).__name__}: {e}", flush=True)
        return 1
    return 0


class Step(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        namespace.steps.append((option_string.lstrip("-"), values))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--header", action="append", default=[])
    parser.set_defaults(steps=[])
    for name in ("--send", "--send-bytes", "--recv", "--wait-close", "--sleep"):
        parser.add_argument(name, action=Step, nargs=None if name != "--recv" else 0)
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
