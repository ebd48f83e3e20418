#!/usr/bin/env bash
# gRPC unary calls per server CPU-second: certgate-edge (enforce mode, an
# h2c:// origin) beside nginx (`ssl_verify_client on`, `grpc_pass`) with the
# same server certificate, client certificate and gRPC server
# (tests/integration/h2_origins/grpc_server.py, python3-grpcio), one worker
# each, the server under test pinned to core 0 and everything else to core 1.
# The load is tests/bench/grpc_load.py (grpcio): it is slower than either
# server, so the figure that compares them is calls per second of the
# server's own CPU (utime+stime), not calls per second.
#
#   tests/bench/grpc_bench.sh [--build-dir DIR] [--duration S] [--concurrency N]
#
# Prints one table; writes nothing else. Loopback only; every process it
# starts is stopped on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=build
duration=10
concurrency=32
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift ;;
    --duration) duration=$2; shift ;;
    --concurrency) concurrency=$2; shift ;;
    *) echo "grpc_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin="$repo/$build_dir/bin"
[ -d "$bin" ] || bin="$build_dir/bin"
die() { echo "grpc_bench.sh: $*" >&2; exit 1; }
for b in certgate-control certgate-edge certgate; do
  [ -x "$bin/$b" ] || die "missing $bin/$b (build it first)"
done
py=/usr/bin/python3
"$py" -c 'import grpc' 2>/dev/null || die "python3-grpcio not installed (deploy/install-deps.sh)"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || die "nginx not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/certgate-grpc-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start() {  # NAME cmd...
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  eval "pid_${name//-/_}=$!"
}
if [ "$(nproc)" -ge 2 ]; then pin_server=(taskset -c 0); pin_client=(taskset -c 1); else
  pin_server=(); pin_client=(); fi
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  local i
  for ((i = 0; i < 400; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
cpu_ticks() {  # utime+stime of a process and its children's threads
  local total=0 p t
  for p in $1 $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    t=$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null | awk '{print $12 + $13}') || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

# PKI: the device CA and certificate; a server certificate for grpc.bench.test.
pki=$work/pki
mkdir -p "$pki"
"$bin/certgate" pki init-ca --cn "Bench Devices CA" --out "$pki/ca" >/dev/null
"$bin/certgate" pki issue --ca "$pki/ca" --cn device --out "$pki/dev" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Bench Server CA" -keyout "$pki/server-ca.key" -out "$pki/server-ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=grpc.bench.test" \
  -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:grpc.bench.test\nextendedKeyUsage=serverAuth\n' >"$pki/server.ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/server-ca.pem" -CAkey "$pki/server-ca.key" \
  -CAcreateserial -days 2 -extfile "$pki/server.ext" -out "$pki/server.pem" 2>/dev/null
cat "$pki/server.pem" "$pki/server-ca.pem" >"$pki/server-chain.pem"

cp_port=$(free_port); grpc_port=$(free_port); edge_port=$(free_port); nginx_port=$(free_port)
metrics_port=$(free_port)
start grpc-server "${pin_client[@]}" "$py" "$repo/tests/integration/h2_origins/grpc_server.py" \
  --port "$grpc_port"
wait_port "$grpc_port" || die "gRPC server did not start"
mkdir -p "$work/cp"
start control "${pin_client[@]}" "$bin/certgate-control" --db "$work/cp/certgate.db" \
  --listen "127.0.0.1:$cp_port" --admin-token-file "$work/cp/admin.token" \
  --edge-token-file "$work/cp/edge.token" --insecure --origin-allow 127.0.0.0/8 \
  --verify-hostnames off
wait_port "$cp_port" || die "control plane did not start"
for _ in $(seq 100); do [ -s "$work/cp/edge.token" ] && break; sleep 0.05; done
export CERTGATE_SERVER="127.0.0.1:$cp_port"
token=$(CERTGATE_TOKEN=$(cat "$work/cp/admin.token") "$bin/certgate" admin tenant create bench \
  --insecure --json | grep -o 'cgt_[A-Za-z0-9_.-]*' | head -1)
tcg() { CERTGATE_TOKEN=$token "$bin/certgate" "$@" --insecure >/dev/null; }
tcg zone create grpc.bench.test --origin "h2c://127.0.0.1:$grpc_port" --mode enforce
tcg root add grpc.bench.test "$pki/ca/ca.pem"
tcg cert set grpc.bench.test --cert "$pki/server-chain.pem" --key "$pki/server.key"
start edge "${pin_server[@]}" "$bin/certgate-edge" --control "127.0.0.1:$cp_port" --insecure \
  --token-file "$work/cp/edge.token" --node-id grpc-bench --listen "127.0.0.1:$edge_port" \
  --state-dir "$work/edge-state" --metrics-listen "127.0.0.1:$metrics_port" --workers 1 \
  --origin-allow 127.0.0.0/8 --access-log off
wait_port "$edge_port" || die "edge did not start"

mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
user root;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  upstream grpc_origin { server 127.0.0.1:$grpc_port; keepalive 16; }
  server {
    listen 127.0.0.1:$nginx_port ssl http2;
    server_name grpc.bench.test;
    ssl_protocols TLSv1.3;
    ssl_certificate $pki/server-chain.pem;
    ssl_certificate_key $pki/server.key;
    ssl_client_certificate $pki/ca/ca.pem;
    ssl_verify_client on;
    location / {
      grpc_pass grpc://grpc_origin;
      grpc_set_header X-Client-Cert-Status \$ssl_client_verify;
      grpc_set_header X-Client-Cert-Fingerprint \$ssl_client_fingerprint;
    }
  }
}
NGINX
start nginx "${pin_server[@]}" "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" \
  -e "$work/nginx/logs/error.log" -g "daemon off;"
wait_port "$nginx_port" || die "nginx did not start: $(cat "$work/nginx/logs/error.log")"

row() {  # NAME PORT PID
  local c0 c1 out calls errors seconds cpu
  # The edge may still be applying its first config: one call until it answers.
  for _ in $(seq 50); do
    "${pin_client[@]}" "$py" "$repo/tests/bench/grpc_load.py" --port "$2" --host grpc.bench.test \
      --ca "$pki/server-ca.pem" --cert "$pki/dev/cert.pem" --key "$pki/dev/key.pem" \
      --duration 0.2 --concurrency 1 >/dev/null 2>&1 && break
    sleep 0.2
  done
  c0=$(cpu_ticks "$3")
  out=$("${pin_client[@]}" "$py" "$repo/tests/bench/grpc_load.py" --port "$2" \
    --host grpc.bench.test --ca "$pki/server-ca.pem" --cert "$pki/dev/cert.pem" \
    --key "$pki/dev/key.pem" --duration "$duration" --concurrency "$concurrency")
  c1=$(cpu_ticks "$3")
  calls=$(echo "$out" | jq .calls); errors=$(echo "$out" | jq .errors)
  seconds=$(echo "$out" | jq .seconds)
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
  awk -v n="$1" -v c="$calls" -v e="$errors" -v s="$seconds" -v cpu="$cpu" 'BEGIN {
    printf "| %s | %d | %d | %.0f | %.2f | %.0f | %.1f |\n", n, c, e, c / s, cpu,
      (cpu > 0 ? c / cpu : 0), (c > 0 ? cpu * 1e6 / c : 0) }'
}
echo "gRPC unary calls through the edge (TLS 1.3, client certificate, h2c origin); duration ${duration}s, ${concurrency} calls in flight on one channel"
echo
echo "| server | calls | errors | calls/s | server CPU s | calls per server CPU-second | server CPU µs per call |"
echo "|---|---|---|---|---|---|---|"
row certgate-edge "$edge_port" "$pid_edge"
row "nginx grpc_pass" "$nginx_port" "$pid_nginx"
