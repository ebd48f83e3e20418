"""A WebSocket echo origin for the edge's upgrade tests (Python websockets).

Every message is sent back as it came. On /headers the first message sent
is the upgrade request's headers as JSON ({"name": [values...]}), so a test
can see what the edge forwarded. Prints "ready" once listening.
"""
import argparse
import asyncio
import json
import sys

import websockets


async def handler(ws, path=None):
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
    args = parser.parse_args()
    async with websockets.serve(handler, "127.0.0.1", args.port, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
