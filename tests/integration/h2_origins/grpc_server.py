#!/usr/bin/env python3
"""A gRPC server for certgate's tests (python3-grpcio, generic handlers with
raw bytes, no generated code), listening in cleartext (h2c) on
127.0.0.1:--port, as a gRPC server behind a proxy does.

  /certgate.test.Echo/Unary  answers JSON {"echo": request, "metadata": {...}}:
                             the metadata the call arrived with.
  /certgate.test.Echo/Bidi   answers each message as it arrives, "echo:<msg>".
  /certgate.test.Echo/Fail   fails with PERMISSION_DENIED "origin says no".
Prints "ready" once listening.
"""
import argparse
import concurrent.futures
import json
import sys

import grpc


def unary(request, context):
    metadata = {key: value for key, value in context.invocation_metadata()
                if isinstance(value, str)}
    return json.dumps({"echo": request.decode(), "metadata": metadata}).encode()


def bidi(requests, context):
    for request in requests:
        yield b"echo:" + request


def fail(request, context):
    context.abort(grpc.StatusCode.PERMISSION_DENIED, "origin says no")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    handler = grpc.method_handlers_generic_handler("certgate.test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    })
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    print("ready", flush=True)
    sys.stdout.flush()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
