"""A gRPC call through certgate-edge with python3-grpcio: one unary call of
/certgate.test.Echo/Call (raw bytes; no gRPC server is needed for the edge's
refusals) on a TLS channel to 127.0.0.1:--port with SNI and authority
--host, trusting --ca, with an optional client certificate. Prints
{"code": "OK" | status code name, "details": ...}.

    grpc_call.py --port P --host auth.pizza --ca edge-ca.pem [--cert c.pem --key k.pem]
"""
import argparse
import json

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
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
    with grpc.secure_channel(f"127.0.0.1:{args.port}", creds, options=options) as channel:
        call = channel.unary_unary("/certgate.test.Echo/Call")
        try:
            call(b"ping", timeout=15)
            print(json.dumps({"code": "OK", "details": ""}))
        except grpc.RpcError as error:
            print(json.dumps({"code": error.code().name, "details": error.details()}))


if __name__ == "__main__":
    main()
