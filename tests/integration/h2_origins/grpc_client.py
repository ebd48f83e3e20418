#!/usr/bin/env python3
"""gRPC calls through certgate-edge with python3-grpcio on a TLS channel to
127.0.0.1:--port (SNI and authority --host, trusting --ca, with an optional
client certificate). Prints one JSON line per call:
{"call": ..., "code": "OK" | status name, "details": ..., "response": ...}.

  --call unary        /certgate.test.Echo/Unary with --metadata k=v (repeatable)
  --call bidi         /certgate.test.Echo/Bidi: --messages N, each sent only after
                      the previous answer came back (both directions stream)
  --call fail         /certgate.test.Echo/Fail
  --count N           repeat the call N times on one channel (unary only)
"""
import argparse
import json
import queue
import threading

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--call", default="unary")
    parser.add_argument("--metadata", action="append", default=[])
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    with open(args.ca, "rb") as f:
        ca = f.read()
    key = chain = None
    if args.cert:
        with open(args.key, "rb") as f:
            key = f.read()
        with open(args.cert, "rb") as f:
            chain = f.read()
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                         certificate_chain=chain)
    options = [("grpc.ssl_target_name_override", args.host),
               ("grpc.default_authority", args.host)]
    metadata = [tuple(m.split("=", 1)) for m in args.metadata]
    with grpc.secure_channel("127.0.0.1:%d" % args.port, creds, options=options) as channel:
        for _ in range(args.count):
            out = {"call": args.call, "code": "OK", "details": "", "response": None}
            try:
                if args.call == "unary":
                    call = channel.unary_unary("/certgate.test.Echo/Unary")
                    out["response"] = json.loads(call(b"ping", timeout=15, metadata=metadata))
                elif args.call == "fail":
                    channel.unary_unary("/certgate.test.Echo/Fail")(b"x", timeout=15)
                else:
                    answers = queue.Queue()
                    got = []

                    def requests():
                        for i in range(args.messages):
                            yield ("m%d" % i).encode()
                            # The next message leaves only once this one's
                            # echo is back: a proxy that waited for the end
                            # of the request stream would hang here.
                            got.append(answers.get(timeout=10))

                    call = channel.stream_stream("/certgate.test.Echo/Bidi")
                    for answer in call(requests(), timeout=30, metadata=metadata):
                        answers.put(answer.decode())
                    out["response"] = got
            except grpc.RpcError as error:
                out["code"] = error.code().name
                out["details"] = error.details()
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
