"""A WebSocket echo origin for the edge's upgrade tests (Python websockets).

Every message is sent back as it came; with --cert/--key it serves wss://. On /headers the first message sent
is the upgrade request's headers as JSON ({"name": [values...]}), so a test
can see what the edge forwarded; on /once one message is echoed, then the
origin closes. Prints "ready" once listening.
"""
import argparse
import asyncio
import json
import ssl
import sys

import websockets


async def handler(ws, path=None):
    if ws.path == "/once":
        # Echo one message, then close (a raw client never answers the
        # close: close_timeout ends the wait).
        await ws.send(await ws.recv())
        await ws.close()
        return
    if ws.path == "/headers":
        seen = {}
        for name, value in ws.request_headers.raw_items():
            seen.setdefault(name, []).append(value)
        await ws.send(json.dumps(seen))
    async for message in ws:
        await ws.send(message)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", help="serve wss:// with this certificate chain")
    parser.add_argument("--key")
    args = parser.parse_args()
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    async with websockets.serve(handler, "127.0.0.1", args.port, max_size=None, ssl=context,
                                close_timeout=1):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
