#!/usr/bin/env bash
# certgate benchmarks, in one command: certgate-edge side by side with nginx
# (Debian's, OpenSSL 3, `ssl_verify_client on`) on the same machine, same
# server certificate, same CA, same client certificates, same origin, same
# number of workers, pinned the same way; the crypto floor from `bssl speed`
# of the same BoringSSL tree; floods of invalid certificates while valid
# clients keep connecting; and config propagation to a 100-edge fleet.
#
#   tests/bench/run.sh            default run (~5-10 minutes), writes docs/benchmarks.md
#                                 and docs/handshake-rate.png
#   tests/bench/run.sh --full     propagation with 100,000 zones (much longer)
#   tests/bench/run.sh --smoke    a few seconds per row; checks that everything runs
#
# Options: --build-dir DIR (default: build), --out-dir DIR (raw results; default:
# BUILD/bench-results), --no-build, --no-docs, --keep (keep the work folder),
# --duration S (seconds per row), --zones N (propagation), --stream-mib N (body size
# of the streaming-memory rows; default 1024, smoke 128), --edge-bin PATH (measure
# another certgate-edge binary),
# --only keepalive (only the keep-alive rows, printed, no docs), --only h2 (only the
# HTTP/2 rows: h2load, many streams per connection, printed, no docs), --perf (with --only
# keepalive or --only h2: `perf record -g` each server during its row; the top symbols go
# to OUT/perf.SERVER.txt, or OUT/perf.SERVER.h2.txt), --syscalls (with --only: count each
# server's context switches and system calls during its row with `perf stat`, per request
# in the table, the counts in OUT/syscalls.SERVER.txt).
#
# Loopback only. Every process it starts is stopped on exit.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
build_dir="$repo/build"
out_dir=""
mode=default
do_build=1
write_docs=1
keep=0
duration=""
zones=""
stream_mib_override=""
edge_bin_override=""
only=""
perf=0
syscalls=0
# What the report says produced it: the mode flags, never local paths.
command_line="tests/bench/run.sh"
for arg in "$@"; do
  case "$arg" in --smoke|--full) command_line+=" $arg" ;; esac
done

while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) mode=smoke ;;
    --full) mode=full ;;
    --build-dir) build_dir=$(cd "$2" && pwd); shift ;;
    --out-dir) out_dir=$2; shift ;;
    --no-build) do_build=0 ;;
    --no-docs) write_docs=0 ;;
    --keep) keep=1 ;;
    --duration) duration=$2; command_line+=" --duration $2"; shift ;;
    --zones) zones=$2; command_line+=" --zones $2"; shift ;;
    --stream-mib) stream_mib_override=$2; command_line+=" --stream-mib $2"; shift ;;
    --edge-bin) edge_bin_override=$2; shift ;;
    --only) only=$2; shift ;;
    --perf) perf=1 ;;
    --syscalls) syscalls=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# Sizes per mode.
case "$mode" in
  smoke)
    row_s=${duration:-1}; sweep_s=1; flood_s=2; conc_list="1 4"; idle_conns=50
    zones=${zones:-60}; edges=5; changes=3; probe_at=20; write_docs=0; stream_mib=128 ;;
  default)
    row_s=${duration:-5}; sweep_s=3; flood_s=6; conc_list="1 4 16 64"; idle_conns=1000
    zones=${zones:-10000}; edges=100; changes=30; probe_at=1000; stream_mib=1024 ;;
  full)
    row_s=${duration:-5}; sweep_s=3; flood_s=6; conc_list="1 4 16 64"; idle_conns=1000
    zones=${zones:-100000}; edges=100; changes=30; probe_at=1000; stream_mib=1024 ;;
esac
[ -n "$stream_mib_override" ] && stream_mib=$stream_mib_override
[[ "$stream_mib" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --stream-mib: want a whole number of MiB, got \"$stream_mib\"" >&2; exit 2; }
row_conc=16
case "$only" in
  "") ;;
  keepalive|h2) write_docs=0 ;;
  *) echo "run.sh: --only takes keepalive or h2, not $only" >&2; exit 2 ;;
esac
[ "$perf" -eq 0 ] || [ -n "$only" ] || { echo "run.sh: --perf needs --only keepalive or --only h2" >&2; exit 2; }
[ "$perf" -eq 0 ] || command -v perf >/dev/null || { echo "run.sh: --perf needs perf (linux-perf)" >&2; exit 2; }
[ "$syscalls" -eq 0 ] || [ -n "$only" ] || { echo "run.sh: --syscalls needs --only keepalive or --only h2" >&2; exit 2; }
[ "$syscalls" -eq 0 ] || [ "$perf" -eq 0 ] || { echo "run.sh: --syscalls and --perf profile the same row; pick one" >&2; exit 2; }
[ "$syscalls" -eq 0 ] || command -v perf >/dev/null || { echo "run.sh: --syscalls needs perf (linux-perf)" >&2; exit 2; }
bin="$build_dir/bin"
[ -n "$out_dir" ] || out_dir="$build_dir/bench-results"
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

if [ "$do_build" -eq 1 ]; then
  log "building"
  cmake --build "$build_dir" -j2 --target certgate-control certgate-edge certgate \
    certgate-echo-origin certgate-loadgen certgate-propagation-bench certgate-relay-floor bssl \
    >"$out_dir/build.log" 2>&1 ||
    { tail -30 "$out_dir/build.log" >&2; die "build failed (log: $out_dir/build.log)"; }
fi
for b in certgate-control certgate-edge certgate certgate-echo-origin certgate-loadgen \
  certgate-propagation-bench certgate-relay-floor bssl; do
  [ -x "$bin/$b" ] || die "missing $bin/$b (build it, or drop --no-build)"
done
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx not installed (deploy/install-deps.sh)"
command -v h2load >/dev/null || die "h2load not installed (nghttp2-client, deploy/install-deps.sh)"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
command -v openssl >/dev/null || die "openssl not installed"
command -v curl >/dev/null || die "curl not installed"
# Debian's Python: the streaming and WebSocket origins and the WebSocket client.
py=/usr/bin/python3
"$py" -c 'import websockets' 2>/dev/null || die "python3-websockets not installed (deploy/install-deps.sh)"
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

work=$(mktemp -d "${TMPDIR:-/tmp}/certgate-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$keep" -eq 0 ]; then rm -rf "$work"; else log "work folder kept: $work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Pinning: the server under test on core 0, everything else on core 1.
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
  pin_server=(taskset -c 0); pin_client=(taskset -c 1)
  pinning="server on core 0; load generator, origin and control plane on core 1"
else
  pin_server=(); pin_client=()
  pinning="not pinned (one core)"
fi
clk_tck=$(getconf CLK_TCK)

# ---------- helpers ----------
free_port() {
  local p
  while true; do
    # Below the kernel's ephemeral range (32768+), where the load generator's
    # own connections would collide; no socket of any state on it.
    p=$((20000 + RANDOM % 12000))
    if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
      if ! printf '%s\n' "${used_ports[@]:-}" | grep -qx "$p"; then
        used_ports+=("$p"); echo "$p"; return
      fi
    fi
  done
}
used_ports=()

wait_port() {  # port [seconds]
  local i
  for ((i = 0; i < ${2:-20} * 20; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Start NAME cmd...: runs in background, logs to $work/NAME.log, records pid.
start() {
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  eval "pid_${name//-/_}=$pid"
}

stop_pid() {
  local pid=$1 p
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local keep_pids=()
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep_pids+=("$p"); done
  pids=("${keep_pids[@]}")
}

# The process and all its descendants.
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

# CPU ticks (utime+stime, all threads) of a process tree.
cpu_ticks() {
  local total=0 p t
  for p in $(tree_pids "$1"); do
    t=$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null | awk '{print $12 + $13}') || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

# Peak resident memory: clear_refs 5 resets each process's VmHWM to its
# VmRSS, so VmHWM afterwards is the peak since then.
hwm_reset() {
  local p
  for p in $(tree_pids "$1"); do echo 5 >/proc/"$p"/clear_refs 2>/dev/null || true; done
}
hwm_kib() {  # sum of VmHWM over a process tree, KiB
  local total=0 p r
  for p in $(tree_pids "$1"); do
    r=$(awk '/^VmHWM:/ {print $2}' /proc/"$p"/status 2>/dev/null) || r=0
    total=$((total + ${r:-0}))
  done
  echo "$total"
}

rss_kib() {  # resident memory of a process tree, KiB
  local total=0 p r
  for p in $(tree_pids "$1"); do
    r=$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null) || r=0
    total=$((total + ${r:-0}))
  done
  echo "$total"
}

calc() { awk "BEGIN { x = $1; if (x != x) x = 0; printf \"${2:-%.1f}\", x }"; }

jget() { jq -r "$2 // 0" "$1"; }

loadgen() { "${pin_client[@]}" "$bin/certgate-loadgen" "$@"; }

# measure KEY SERVER_PID loadgen-args...: runs the load generator against a
# server and records rate, latency and the server's CPU over the run into
# $work/results/KEY.{json,cpu}.
mkdir -p "$work/results"
measure() {
  local key=$1 spid=$2; shift 2
  local c0 c1
  c0=$(cpu_ticks "$spid")
  loadgen --label "$key" --json-out "$work/results/$key.json" "$@" >>"$out_dir/loadgen.log" 2>&1 ||
    { tail -3 "$out_dir/loadgen.log" >&2; die "load generator failed for $key"; }
  c1=$(cpu_ticks "$spid")
  echo "$(( c1 - c0 ))" >"$work/results/$key.cpu"
  tail -1 "$out_dir/loadgen.log" | sed 's/^/  /' >&2
}
# Derived figures of a measure() result.
r_hs() { jget "$work/results/$1.json" .handshakes_per_s; }
r_req() { jget "$work/results/$1.json" .requests_per_s; }
r_p99() { jget "$work/results/$1.json" .latency_ms.p99; }
r_cpu_s() { calc "$(cat "$work/results/$1.cpu") / $clk_tck" "%.3f"; }
# Server CPU per handshake (or request), microseconds.
r_cpu_per() {
  local n
  n=$(jget "$work/results/$1.json" ".${2:-handshakes}")
  calc "$(cat "$work/results/$1.cpu") / $clk_tck * 1e6 / ($n > 0 ? $n : 1)"
}
# Handshakes per second of server CPU: what one saturated core would do.
r_per_core() {
  local n
  n=$(jget "$work/results/$1.json" ".${2:-handshakes}")
  calc "$n / ($(cat "$work/results/$1.cpu") > 0 ? $(cat "$work/results/$1.cpu") / $clk_tck : 1)" "%.0f"
}

metrics_sum() {  # PATTERN: sum of the edge's /metrics samples whose name matches
  curl -fsS --max-time 3 "http://127.0.0.1:$metrics_port/metrics" |
    awk -v pat="$1" '!/^#/ && NF >= 2 { split($1, a, "{"); if (a[1] ~ pat) s += $NF } END { printf "%.0f", s + 0 }'
}

# ---------- machine and crypto floor ----------
log "work folder $work; $pinning"
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
kernel=$(uname -sr)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)

log "crypto floor: bssl speed"
speed_t=1
# bssl speed reports wall-clock time; on a busy machine that overstates the
# cost, so each figure is scaled by the CPU time / wall time of its run.
: >"$work/speed.txt"
speed() {  # filter
  local t0 t1 w0 w1 factor
  t0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  w0=$(date +%s.%N)
  "${pin_server[@]}" "$bin/bssl" speed -timeout "$speed_t" -filter "$1" >"$work/speed.part" 2>&1 || true
  # A run cut short (a signal from the shared machine) leaves no figures; try once more.
  grep -q '^Did ' "$work/speed.part" ||
    "${pin_server[@]}" "$bin/bssl" speed -timeout "$speed_t" -filter "$1" >"$work/speed.part" 2>&1 || true
  w1=$(date +%s.%N)
  t1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  factor=$(calc "($t1 - $t0) / $clk_tck / ($w1 - $w0)" "%.3f")
  awk -v f="$factor" '{ print } /^Did / { n++ } END { }' "$work/speed.part" >>"$work/speed.txt"
  echo "# cpu/wall of this run: $factor" >>"$work/speed.txt"
  awk -v f="$factor" '/^Did / { line = $0; sub(/^Did [0-9]+ /, "", line); sub(/ operations in .*/, "", line)
    match($0, /\(([0-9.]+) ops\/sec\)/); v = substr($0, RSTART + 1, RLENGTH - 10)
    if (f > 0 && f <= 1.05) printf "%s\t%.2f\n", line, 1e6 / v * f; else printf "%s\t%.2f\n", line, 1e6 / v }' \
    "$work/speed.part" >>"$work/speed.tsv"
}
: >"$work/speed.tsv"
speed Curve25519
speed "ECDSA P-256"
speed "RSA 2048"
# The same operations in OpenSSL 3 (nginx's library), for reference.
"${pin_server[@]}" openssl speed -seconds "$speed_t" ecdsap256 ecdhx25519 >"$work/openssl-speed.txt" 2>/dev/null || true
cp "$work/openssl-speed.txt" "$out_dir/openssl-speed.txt"
ossl_sign=$(awk '/bits ecdsa \(nistp256\)/ && $(NF-1) > 0 {printf "%.2f", 1e6 / $(NF-1); exit}' "$work/openssl-speed.txt")
ossl_verify=$(awk '/bits ecdsa \(nistp256\)/ && $NF > 0 {printf "%.2f", 1e6 / $NF; exit}' "$work/openssl-speed.txt")
ossl_x25519=$(awk '/bits ecdh \(X25519\)/ && $NF > 0 {printf "%.2f", 1e6 / $NF; exit}' "$work/openssl-speed.txt")
cp "$work/speed.txt" "$out_dir/bssl-speed.txt"
op_us() {  # CPU microseconds per operation named exactly $1
  awk -F'\t' -v name="$1" '$1 == name { print $2; exit }' "$work/speed.tsv"
}
x25519_base=$(op_us "Curve25519 base-point multiplication")
x25519_arb=$(op_us "Curve25519 arbitrary point multiplication")
p256_sign=$(op_us "ECDSA P-256 signing")
p256_verify=$(op_us "ECDSA P-256 verify")
rsa_verify=$(op_us "RSA 2048 verify (same key)")
[ -n "$x25519_base" ] && [ -n "$p256_sign" ] && [ -n "$p256_verify" ] && [ -n "$rsa_verify" ] ||
  die "could not read bssl speed output ($out_dir/bssl-speed.txt)"
# One full TLS 1.3 mTLS handshake, server side: an X25519 key pair and shared
# secret, its CertificateVerify signature, the client's CertificateVerify and
# the client certificate's signature by the CA.
floor_ec=$(calc "$x25519_base + $x25519_arb + $p256_sign + 2 * $p256_verify")
# RSA-2048 client: its CertificateVerify is an RSA verify; the chain (P-256 CA) stays.
floor_rsa=$(calc "$x25519_base + $x25519_arb + $p256_sign + $p256_verify + $rsa_verify")

# ---------- bare TCP ----------
log "bare TCP connection cost"
tcp_port=$(free_port)
start tcp-sink "${pin_server[@]}" "$bin/certgate-loadgen" --serve-tcp "127.0.0.1:$tcp_port"
wait_port "$tcp_port" || die "tcp sink did not start"
measure tcp "$pid_tcp_sink" --target "127.0.0.1:$tcp_port" --plain --connections "$row_conc" \
  --duration "$row_s"
tcp_us=$(r_cpu_per tcp)
stop_pid "$pid_tcp_sink"

# ---------- PKI ----------
log "PKI"
pki="$work/pki"
mkdir -p "$pki"
cg() { "$bin/certgate" "$@"; }
cg pki init-ca --cn "Bench Devices CA" --out "$pki/ca" >/dev/null
cg pki issue --ca "$pki/ca" --cn device-ec --out "$pki/dev-ec" >/dev/null
cg pki issue --ca "$pki/ca" --cn device-rsa --key rsa-2048 --out "$pki/dev-rsa" >/dev/null
cg pki init-ca --cn "Other Tenant CA" --out "$pki/other" >/dev/null
# The server certificate both servers present (serverAuth, so clients can
# verify it): its own small CA, made with openssl.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=Bench Server CA" -keyout "$pki/server-ca.key" -out "$pki/server-ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench.test" \
  -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:bench.test\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' >"$pki/server.ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/server-ca.pem" -CAkey "$pki/server-ca.key" \
  -CAcreateserial -days 30 -extfile "$pki/server.ext" -out "$pki/server.pem" 2>/dev/null
cat "$pki/server.pem" "$pki/server-ca.pem" >"$pki/server-chain.pem"
# The https origin: its own CA and name, and the client CA it requires; both
# servers present the same client certificate to it (certgate-edge through
# `certgate origin-cert set`, nginx through proxy_ssl_certificate).
cg pki init-ca --cn "Bench Origin CA" --out "$pki/origin-ca" >/dev/null
cg pki issue --ca "$pki/origin-ca" --cn origin.bench.test --server-auth --san-dns origin.bench.test \
  --out "$pki/origin-server" >/dev/null
cg pki init-ca --cn "Bench Origin Client CA" --out "$pki/origin-client-ca" >/dev/null
cg pki issue --ca "$pki/origin-client-ca" --cn tls.bench.test --out "$pki/origin-client" >/dev/null

# ---------- control plane, zones, origin ----------
log "control plane and zones"
cp_port=$(free_port); origin_port=$(free_port); edge_port=$(free_port); metrics_port=$(free_port)
nginx_port=$(free_port)
# nginx's HTTP/2 server listens apart: "http2" on a listen turns it on for
# every server of that address, and the other rows compare HTTP/1.1.
nginx_h2_port=$(free_port)
tls_origin_port=$(free_port)
stream_origin_port=$(free_port); ws_origin_port=$(free_port)
mkdir -p "$work/cp"
start control "${pin_client[@]}" "$bin/certgate-control" --db "$work/cp/certgate.db" \
  --listen "127.0.0.1:$cp_port" --admin-token-file "$work/cp/admin.token" \
  --edge-token-file "$work/cp/edge.token" --insecure --origin-allow 127.0.0.0/8 \
  --max-zones 1000000 --max-config-bytes 100000000000 --verify-hostnames off
wait_port "$cp_port" 30 || { cat "$work/control.log" >&2; die "control plane did not start"; }
for _ in $(seq 100); do [ -s "$work/cp/edge.token" ] && break; sleep 0.05; done
admin_token=$(cat "$work/cp/admin.token")
export CERTGATE_SERVER="127.0.0.1:$cp_port"
tenant_token() {
  CERTGATE_TOKEN=$admin_token cg admin tenant create "$1" --insecure --json |
    grep -o 'cgt_[A-Za-z0-9_.-]*' | head -1
}
bench_token=$(tenant_token bench)
other_token=$(tenant_token other)
[ -n "$bench_token" ] && [ -n "$other_token" ] || die "could not create tenants"
tcg() { CERTGATE_TOKEN=$bench_token cg "$@" --insecure >/dev/null; }
tcg zone create bench.test --origin "http://127.0.0.1:$origin_port" --mode enforce
tcg root add bench.test "$pki/ca/ca.pem"
tcg cert set bench.test --cert "$pki/server-chain.pem" --key "$pki/server.key"
# tls.bench.test: the same as bench.test, but its origin is https (verified
# against the origin CA under the name origin.bench.test, with the bench
# origin client certificate).
tcg zone create tls.bench.test --origin "https://127.0.0.1:$tls_origin_port" --mode enforce \
  --origin-ca "$pki/origin-ca/ca.pem" --origin-server-name origin.bench.test
tcg root add tls.bench.test "$pki/ca/ca.pem"
tcg origin-cert set tls.bench.test --cert "$pki/origin-client/cert.pem" \
  --key "$pki/origin-client/key.pem"
# stream.bench.test: a streaming origin that never holds a body (bounded-memory
# rows); ws.bench.test: a WebSocket echo origin. Their server certificates are
# the control plane's own (the clients of those rows do not check them).
for z in stream ws; do
  port_var=${z}_origin_port
  tcg zone create "$z.bench.test" --origin "http://127.0.0.1:${!port_var}" --mode enforce
  tcg root add "$z.bench.test" "$pki/ca/ca.pem"
done
# h2.bench.test: the HTTP/2 rows. h2load presents no client certificate, so
# the zone is in report mode (nginx: ssl_verify_client optional); both still
# request one and forward the status header.
tcg zone create h2.bench.test --origin "http://127.0.0.1:$origin_port" --mode report
tcg root add h2.bench.test "$pki/ca/ca.pem"
CERTGATE_TOKEN=$other_token cg zone create other.test --origin "http://127.0.0.1:$origin_port" \
  --insecure >/dev/null
CERTGATE_TOKEN=$other_token cg root add other.test "$pki/other/ca.pem" --insecure >/dev/null

start origin "${pin_client[@]}" "$bin/certgate-echo-origin" --listen "127.0.0.1:$origin_port"
wait_port "$origin_port" || die "origin did not start"
start stream-origin "${pin_client[@]}" "$py" "$repo/tests/integration/edge/stream_origin.py" \
  --port "$stream_origin_port"
wait_port "$stream_origin_port" || die "stream origin did not start"
start ws-origin "${pin_client[@]}" "$py" "$repo/tests/integration/edge/ws_origin.py" \
  --port "$ws_origin_port"
wait_port "$ws_origin_port" || die "WebSocket origin did not start"

# The https origin: nginx on the client core terminating TLS (client
# certificate required) in front of the same echo origin, so both origins
# answer the same bytes and only the TLS to the origin differs.
mkdir -p "$work/tls-origin/logs" "$work/tls-origin/tmp"
cat >"$work/tls-origin/nginx.conf" <<EOF
worker_processes 1;
user root;
pid $work/tls-origin/nginx.pid;
error_log $work/tls-origin/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/tls-origin/tmp/body;
  proxy_temp_path $work/tls-origin/tmp/proxy;
  fastcgi_temp_path $work/tls-origin/tmp/fastcgi;
  uwsgi_temp_path $work/tls-origin/tmp/uwsgi;
  scgi_temp_path $work/tls-origin/tmp/scgi;
  keepalive_requests 100000;
  upstream echo { server 127.0.0.1:$origin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$tls_origin_port ssl;
    ssl_certificate $pki/origin-server/cert.pem;
    ssl_certificate_key $pki/origin-server/key.pem;
    ssl_client_certificate $pki/origin-client-ca/ca.pem;
    ssl_verify_client on;
    ssl_session_tickets on;
    location / {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
EOF
start tls-origin "${pin_client[@]}" "$nginx_bin" -p "$work/tls-origin" -c "$work/tls-origin/nginx.conf" \
  -e "$work/tls-origin/logs/error.log" -g "daemon off;"
wait_port "$tls_origin_port" 20 || { cat "$work/tls-origin/logs/error.log" >&2; die "https origin did not start"; }

# ---------- servers ----------
# A valid request through a server: proves it is up and has the zone.
server_ready() {  # port
  local i
  for i in $(seq 150); do
    if "$bin/certgate-loadgen" --target "127.0.0.1:$1" --sni bench.test --cacert "$pki/server-ca.pem" \
      --cert "$pki/dev-ec/cert.pem" --key "$pki/dev-ec/key.pem" --requests 1 --count 1 \
      --timeout-ms 2000 --json-out "$work/ready.json" >/dev/null 2>&1 &&
      [ "$(jq -r .ok "$work/ready.json")" = 1 ]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# A valid request for tls.bench.test (its server certificate is not the
# bench one, so it is not verified here): proves the https origin answers.
tls_ready() {  # port
  local i
  for i in $(seq 150); do
    if "$bin/certgate-loadgen" --target "127.0.0.1:$1" --sni tls.bench.test \
      --cert "$pki/dev-ec/cert.pem" --key "$pki/dev-ec/key.pem" --requests 1 --count 1 \
      --timeout-ms 2000 --json-out "$work/ready.json" >/dev/null 2>&1 &&
      [ "$(jq -r .ok "$work/ready.json")" = 1 ]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

edge_run=0
edge_extra=()  # more certgate-edge flags (the access-log rows)
start_edge() {  # cache entries ("" = default)
  edge_run=$((edge_run + 1))
  local cache_args=()
  [ -n "${1:-}" ] && cache_args=(--cache-entries "$1")
  start "edge$edge_run" "${pin_server[@]}" "${edge_bin_override:-$bin/certgate-edge}" --control "127.0.0.1:$cp_port" \
    --insecure --token-file "$work/cp/edge.token" --node-id bench-edge \
    --listen "127.0.0.1:$edge_port" --state-dir "$work/edge-state" \
    --metrics-listen "127.0.0.1:$metrics_port" --workers 1 --origin-allow 127.0.0.0/8 \
    "${cache_args[@]}" "${edge_extra[@]}"
  eval "pid_edge=\$pid_edge$edge_run"
  wait_port "$edge_port" 30 || { tail -20 "$work/edge$edge_run.log" >&2; die "edge did not start"; }
  server_ready "$edge_port" || { tail -20 "$work/edge$edge_run.log" >&2; die "edge does not serve bench.test"; }
  tls_ready "$edge_port" || { tail -20 "$work/edge$edge_run.log" >&2; die "edge does not serve tls.bench.test"; }
}

# nginx_mtls_server NAME: the lines every nginx server block of the
# comparison shares (listener, serving certificate, client certificate
# verification), for the server_name NAME.
nginx_mtls_server() {
  cat <<EOF
    listen 127.0.0.1:$nginx_port ssl;
    server_name $1;
    ssl_protocols TLSv1.3;
    ssl_certificate $pki/server-chain.pem;
    ssl_certificate_key $pki/server.key;
    ssl_client_certificate $pki/ca/ca.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
EOF
}

mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
user root;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
  # Like the edge, which logs every request: a production nginx logs too
  # (tests/bench/method.md, "Access logs in the comparison").
  access_log $work/nginx/logs/access.log combined buffer=64k flush=1s;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  keepalive_requests 100000;
  # 256: the edge's upper bound of idle connections per origin
  # (tests/bench/method.md, "Idle origin connections").
  upstream origin { server 127.0.0.1:$origin_port; keepalive 256; }
  upstream tls_origin { server 127.0.0.1:$tls_origin_port; keepalive 64; }
  server {
$(nginx_mtls_server bench.test)
    ssl_session_tickets on;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Client-Cert-Status \$ssl_client_verify;
      proxy_set_header X-Client-Cert-Fingerprint \$ssl_client_fingerprint;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
  # Streaming: neither body is buffered (nginx's equivalent of the edge,
  # which streams both), no body size limit.
  server {
$(nginx_mtls_server stream.bench.test)
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:$stream_origin_port;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_set_header X-Client-Cert-Status \$ssl_client_verify;
    }
  }
  server {
$(nginx_mtls_server ws.bench.test)
    location / {
      proxy_pass http://127.0.0.1:$ws_origin_port;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host \$host;
      proxy_set_header X-Client-Cert-Status \$ssl_client_verify;
      proxy_read_timeout 300s;
    }
  }
  server {
    listen 127.0.0.1:$nginx_h2_port ssl http2;
    server_name h2.bench.test;
    ssl_protocols TLSv1.3;
    ssl_certificate $pki/server-chain.pem;
    ssl_certificate_key $pki/server.key;
    ssl_client_certificate $pki/ca/ca.pem;
    ssl_verify_client optional;
    ssl_verify_depth 2;
    http2_max_concurrent_streams 128;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Client-Cert-Status \$ssl_client_verify;
      proxy_set_header X-Client-Cert-Fingerprint \$ssl_client_fingerprint;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
  server {
$(nginx_mtls_server tls.bench.test)
    ssl_session_tickets on;
    location / {
      proxy_pass https://tls_origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate $pki/origin-client/cert.pem;
      proxy_ssl_certificate_key $pki/origin-client/key.pem;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $pki/origin-ca/ca.pem;
      proxy_ssl_name origin.bench.test;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      proxy_set_header Host \$host;
      proxy_set_header X-Client-Cert-Status \$ssl_client_verify;
      proxy_set_header X-Client-Cert-Fingerprint \$ssl_client_fingerprint;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
EOF
start_nginx() {
  start nginx "${pin_server[@]}" "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" \
    -e "$work/nginx/logs/error.log" -g "daemon off;"
  wait_port "$nginx_port" 20 || { cat "$work/nginx.log" "$work/nginx/logs/error.log" >&2; die "nginx did not start"; }
  server_ready "$nginx_port" || { cat "$work/nginx/logs/error.log" >&2; die "nginx does not serve bench.test"; }
  tls_ready "$nginx_port" || { cat "$work/nginx/logs/error.log" >&2; die "nginx does not serve tls.bench.test"; }
}

log "starting certgate-edge and nginx (1 worker each)"
start_edge ""
start_nginx
# The floor under the keep-alive rows: TLS termination and a byte relay to the
# same origin, no HTTP (tests/bench/relay_floor.cc), pinned like the servers.
relay_port=$(free_port)
start relay "${pin_server[@]}" "$bin/certgate-relay-floor" --listen "127.0.0.1:$relay_port" \
  --cert "$pki/server-chain.pem" --key "$pki/server.key" --origin "127.0.0.1:$origin_port"
wait_port "$relay_port" 20 || { cat "$work/relay.log" >&2; die "certgate-relay-floor did not start"; }
nginx_version=$("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //')
openssl_version=$(openssl version | awk '{print $1, $2}')

# ---------- streaming and WebSocket helpers ----------
# ws_measure SERVER PORT PID: WebSocket echo messages through the server, and
# its CPU over them, into $work/results/SERVER.ws.{json,cpu}.
ws_measure() {
  local c0 c1
  c0=$(cpu_ticks "$3")
  "${pin_client[@]}" "$py" "$script_dir/ws_bench.py" --host ws.bench.test --port "$2" \
    --cert "$pki/dev-ec/cert.pem" --key "$pki/dev-ec/key.pem" --connections 8 --window 16 \
    --size 128 --duration "$row_s" --label "$1.ws" --json-out "$work/results/$1.ws.json" \
    >>"$out_dir/loadgen.log" 2>&1 || { tail -3 "$out_dir/loadgen.log" >&2; die "WebSocket client failed for $1"; }
  c1=$(cpu_ticks "$3")
  echo "$(( c1 - c0 ))" >"$work/results/$1.ws.cpu"
  tail -1 "$out_dir/loadgen.log" | sed 's/^/  /' >&2
}

# stream_rows SERVER PORT PID: a $stream_mib MiB upload (Content-Length and
# chunked) and download (Content-Length and chunked) through the server with
# the bench client certificate. For each: the growth of the server's peak
# resident memory over its resident memory before (KiB), the rate (MB/s) and
# the server's CPU, into $work/results/SERVER.stream_KIND.
stream_bytes=$((stream_mib * 1024 * 1024))
stream_rows() {
  local server=$1 port=$2 spid=$3 kind rss0 hwm c0 c1 t0 t1 got want args url
  [ -f "$work/upload.bin" ] || truncate -s "$stream_bytes" "$work/upload.bin"
  for kind in upload_cl upload_chunked download_cl download_chunked; do
    args=(-sS -k --max-time 900 --resolve "stream.bench.test:$port:127.0.0.1"
      --cert "$pki/dev-ec/cert.pem" --key "$pki/dev-ec/key.pem")
    url="https://stream.bench.test:$port"
    case $kind in
      upload_cl) args+=(-T "$work/upload.bin" "$url/up"); want="\"body_bytes\": $stream_bytes," ;;
      upload_chunked) args+=(-H "Transfer-Encoding: chunked" -T "$work/upload.bin" "$url/up")
        want="\"body_bytes\": $stream_bytes," ;;
      download_cl) args+=(-o /dev/null -w "%{size_download}" "$url/bytes?n=$stream_bytes"); want=$stream_bytes ;;
      download_chunked) args+=(-o /dev/null -w "%{size_download}" "$url/bytes?n=$stream_bytes&chunked=1")
        want=$stream_bytes ;;
    esac
    log "$server: $stream_mib MiB $kind"
    hwm_reset "$spid"
    rss0=$(rss_kib "$spid")
    c0=$(cpu_ticks "$spid"); t0=$(date +%s.%N)
    got=$("${pin_client[@]}" curl "${args[@]}" 2>>"$out_dir/stream.log") ||
      die "$server: $kind failed (curl $?; $out_dir/stream.log)"
    t1=$(date +%s.%N); c1=$(cpu_ticks "$spid")
    hwm=$(hwm_kib "$spid")
    case "$got" in *"$want"*) ;; *) die "$server: $kind: unexpected answer: $got" ;; esac
    echo "$((hwm - rss0)) $(calc "$stream_bytes / 1e6 / ($t1 - $t0)" %.0f) $(calc "($c1 - $c0) / $clk_tck" %.2f)" \
      >"$work/results/$server.stream_$kind"
    log "  peak RSS growth $((hwm - rss0)) KiB"
  done
}

# ---------- rows ----------
pool=$(( row_s * 5000 ))
[ "$pool" -lt 2000 ] && pool=2000
common=(--sni bench.test --threads 1)
ec_fixed=(--cert "$pki/dev-ec/cert.pem" --key "$pki/dev-ec/key.pem")
ec_pool=(--pool-ca-cert "$pki/ca/ca.pem" --pool-ca-key "$pki/ca/ca.key" --pool "$pool")
rsa_pool=(--pool-ca-cert "$pki/ca/ca.pem" --pool-ca-key "$pki/ca/ca.key" --pool "$pool" --pool-key-type rsa-2048)

# perf_start NAME SERVER_PID / perf_stop NAME: with --perf, `perf record -g`
# the server's processes between the two; the top symbols go to
# OUT/perf.NAME.txt.
perf_pid=""
perf_start() {
  perf_pid=""
  if [ "$syscalls" -eq 1 ]; then
    local ev=context-switches,raw_syscalls:sys_enter s
    for s in epoll_wait epoll_ctl read recvfrom readv write writev sendto sendmsg getsockopt; do
      ev+=",syscalls:sys_enter_$s"
    done
    # TCP segments: loopback, so the machine's counter is this row's traffic.
    nstat -n >/dev/null 2>&1 || true
    perf stat -e "$ev" -p "$(tree_pids "$2" | paste -sd,)" -o "$out_dir/syscalls.$1.txt" >/dev/null 2>&1 &
    perf_pid=$!
    pids+=("$perf_pid")
    sleep 0.5
    return 0
  fi
  [ "$perf" -eq 1 ] || return 0
  perf record -g -p "$(tree_pids "$2" | paste -sd,)" -o "$out_dir/perf.$1.data" >"$out_dir/perf.$1.log" 2>&1 &
  perf_pid=$!
  pids+=("$perf_pid")
  sleep 0.5
}
perf_stop() {
  [ -n "$perf_pid" ] || return 0
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  stop_pid "$perf_pid"
  perf_pid=""
  if [ "$syscalls" -eq 1 ]; then
    nstat 2>/dev/null | awk '$1 == "TcpOutSegs" { print "      " $2 " TcpOutSegs" }' >>"$out_dir/syscalls.$1.txt" || true
    log "$1: system calls in $out_dir/syscalls.$1.txt"
    return 0
  fi
  # Where the time goes: by library, then the top symbols, then the system calls.
  {
    perf report -i "$out_dir/perf.$1.data" --stdio --no-children --sort dso -g none \
      --percent-limit 1 2>/dev/null
    perf report -i "$out_dir/perf.$1.data" --stdio --no-children --sort dso,symbol \
      -g none --percent-limit 0.7 2>/dev/null
    perf report -i "$out_dir/perf.$1.data" --stdio --children --sort symbol -g none \
      2>/dev/null | grep -E '\] (__x64_sys_|__GI___libc_write|__GI___writev|read$|__libc_recv|epoll_)'
  } | grep -v '^#' | grep -v '^$' | sed 's/ *$//' >"$out_dir/perf.$1.txt" || true
  log "$1: profile in $out_dir/perf.$1.txt"
}

# h2_measure KEY SERVER_PID PORT: HTTP/2 GETs of h2.bench.test with h2load
# ($h2_conns connections, $h2_streams concurrent streams each) and the
# server's CPU over them, into $work/results/KEY.{h2load,cpu,requests}.
h2_conns=4; h2_streams=32
h2_measure() {
  local key=$1 spid=$2 port=$3 c0 c1
  c0=$(cpu_ticks "$spid")
  "${pin_client[@]}" h2load -D "$row_s" -c "$h2_conns" -m "$h2_streams" -t 1 \
    --connect-to "127.0.0.1:$port" "https://h2.bench.test/" >"$work/results/$key.h2load" 2>&1 ||
    { tail -5 "$work/results/$key.h2load" >&2; die "h2load failed for $key"; }
  c1=$(cpu_ticks "$spid")
  echo "$(( c1 - c0 ))" >"$work/results/$key.cpu"
  # "requests: T total, S started, D done, N succeeded, ..."; every one a 2xx.
  awk '/^requests:/ { print $8 }' "$work/results/$key.h2load" >"$work/results/$key.requests"
  grep -E '^(requests|status codes):' "$work/results/$key.h2load" | sed 's/^/  /' >&2
}
# h2_measure_median KEY SERVER_PID PORT: h2_measure three times; KEY.* are
# the run with the median CPU per request (single h2load runs vary by about
# ±15% on a shared machine).
h2_measure_median() {
  local key=$1 r
  for r in 1 2 3; do h2_measure "$key.r$r" "$2" "$3"; done
  r=$(for r in 1 2 3; do echo "$(h2_cpu_per "$key.r$r") $r"; done | sort -n | sed -n 2p | cut -d' ' -f2)
  for ext in h2load cpu requests; do cp "$work/results/$key.r$r.$ext" "$work/results/$key.$ext"; done
}
h2_cpu_per() { calc "$(cat "$work/results/$1.cpu") / $clk_tck * 1e6 / ($(cat "$work/results/$1.requests") + 0 > 0 ? $(cat "$work/results/$1.requests") : 1)"; }
h2_rate() { calc "$(cat "$work/results/$1.requests") / $row_s" "%.0f"; }
h2_table() {
  echo "| HTTP/2 ($h2_conns conns x $h2_streams streams, ${row_s} s, h2load) | certgate | nginx | certgate / nginx |"
  echo "|---|---:|---:|---:|"
  a=$(h2_cpu_per certgate.h2); b=$(h2_cpu_per nginx.h2)
  echo "| server CPU µs per request | $a | $b | $(calc "($b > 0) ? $a / $b : 0" "%.2f") |"
  echo "| requests per server CPU-second | $(calc "($a > 0) ? 1e6 / $a : 0" "%.0f") | $(calc "($b > 0) ? 1e6 / $b : 0" "%.0f") | |"
  echo "| requests/s | $(h2_rate certgate.h2) | $(h2_rate nginx.h2) | |"
}

# --only h2: the HTTP/2 rows alone, then stop.
if [ "$only" = h2 ]; then
  log "certgate: HTTP/2 requests, $h2_conns connections x $h2_streams streams"
  perf_start certgate.h2 "$pid_edge"
  h2_measure_median certgate.h2 "$pid_edge" "$edge_port"
  perf_stop certgate.h2
  log "nginx: HTTP/2 requests, $h2_conns connections x $h2_streams streams"
  perf_start nginx.h2 "$pid_nginx"
  h2_measure_median nginx.h2 "$pid_nginx" "$nginx_h2_port"
  perf_stop nginx.h2
  h2_table | tee "$out_dir/h2.md"
  exit 0
fi

# per_request_count SERVER EVENT: EVENT's count in SERVER's `perf stat` over
# its keep-alive row, per request.
per_request_count() {
  local n
  n=$(awk -v ev="$2" '$2 == ev || $2 == "syscalls:sys_enter_" ev { gsub(",", "", $1); print $1 }' \
    "$out_dir/syscalls.$1.txt")
  calc "${n:-0} / $(jget "$work/results/$1.keepalive.json" .requests)" %.2f
}

# --only keepalive: the keep-alive rows alone (optionally profiled), then stop.
if [ "$only" = keepalive ]; then
  for server in certgate nginx relay; do
    case $server in
      certgate) port=$edge_port; spid=$pid_edge ;;
      nginx) port=$nginx_port; spid=$pid_nginx ;;
      relay) port=$relay_port; spid=$pid_relay ;;
    esac
    perf_start "$server" "$spid"
    log "$server: keep-alive requests to the origin"
    measure "$server.keepalive" "$spid" --target "127.0.0.1:$port" "${common[@]}" "${ec_fixed[@]}" \
      --requests 1000000 --connections "$row_conc" --duration "$row_s"
    perf_stop "$server"
  done
  {
    echo "| keep-alive ($row_conc conns, ${row_s} s) | certgate | nginx | certgate / nginx | TLS relay, no HTTP (floor) | floor / nginx |"
    echo "|---|---:|---:|---:|---:|---:|"
    a=$(r_cpu_per certgate.keepalive requests); b=$(r_cpu_per nginx.keepalive requests)
    f=$(r_cpu_per relay.keepalive requests)
    echo "| server CPU µs per request | $a | $b | $(calc "($b > 0) ? $a / $b : 0" "%.2f") | $f | $(calc "($b > 0) ? $f / $b : 0" "%.2f") |"
    echo "| requests/s | $(r_req certgate.keepalive | xargs printf %.0f) | $(r_req nginx.keepalive | xargs printf %.0f) | | $(r_req relay.keepalive | xargs printf %.0f) | |"
    if [ "$syscalls" -eq 1 ]; then
      for ev in TcpOutSegs context-switches raw_syscalls:sys_enter epoll_wait read recvfrom readv write writev sendto sendmsg getsockopt; do
        a=$(per_request_count certgate "$ev"); b=$(per_request_count nginx "$ev"); f=$(per_request_count relay "$ev")
        [ "$a" = 0.00 ] && [ "$b" = 0.00 ] && [ "$f" = 0.00 ] && continue
        echo "| ${ev#raw_syscalls:sys_enter} per request | $a | $b | | $f | |" |
          sed -e 's/^|  per/| system calls per/' -e 's/^| TcpOutSegs per/| TCP segments sent on loopback per/'
      done
    fi
  } | tee "$out_dir/keepalive.md"
  exit 0
fi

for server in certgate nginx; do
  if [ "$server" = certgate ]; then port=$edge_port; spid=$pid_edge; else port=$nginx_port; spid=$pid_nginx; fi
  t=(--target "127.0.0.1:$port" "${common[@]}")
  log "$server: full handshakes, ECDSA P-256 client certificates (all distinct)"
  measure "$server.full_ec" "$spid" "${t[@]}" "${ec_pool[@]}" --connections "$row_conc" --duration "$row_s"
  log "$server: full handshakes, RSA-2048 client certificates (all distinct)"
  measure "$server.full_rsa" "$spid" "${t[@]}" "${rsa_pool[@]}" --connections "$row_conc" --duration "$row_s"
  log "$server: returning client (one certificate, full handshakes)"
  measure "$server.returning" "$spid" "${t[@]}" "${ec_fixed[@]}" --connections "$row_conc" --duration "$row_s"
  # One GET per resumed connection: certgate-edge sends its TLS 1.3 tickets
  # with its first write, so a client that never sends a request gets none.
  log "$server: resumed handshakes (one GET each)"
  measure "$server.resumed" "$spid" "${t[@]}" "${ec_fixed[@]}" --resume --requests 1 --connections "$row_conc" --duration "$row_s"
  log "$server: keep-alive requests to the origin"
  measure "$server.keepalive" "$spid" "${t[@]}" "${ec_fixed[@]}" --requests 1000000 --connections "$row_conc" --duration "$row_s"
  for kib in 1 64; do
    log "$server: keep-alive requests, $kib KiB responses"
    measure "$server.keepalive_${kib}k" "$spid" "${t[@]}" "${ec_fixed[@]}" --path "/bytes?n=$((kib * 1024))" \
      --requests 1000000 --connections "$row_conc" --duration "$row_s"
  done
  log "$server: HTTP/2 requests, $h2_conns connections x $h2_streams streams"
  if [ "$server" = certgate ]; then h2_port=$edge_port; else h2_port=$nginx_h2_port; fi
  h2_measure_median "$server.h2" "$spid" "$h2_port"
  log "$server: WebSocket echo messages"
  ws_measure "$server" "$port" "$spid"
  # https origins: the same rows through tls.bench.test, whose origin is https.
  tt=(--target "127.0.0.1:$port" --sni tls.bench.test --threads 1)
  log "$server: keep-alive requests to the https origin"
  measure "$server.https_keepalive" "$spid" "${tt[@]}" "${ec_fixed[@]}" --requests 1000000 --connections "$row_conc" --duration "$row_s"
  log "$server: full handshake + one request, http origin"
  measure "$server.http_full_req" "$spid" "${t[@]}" "${ec_pool[@]}" --requests 1 --connections "$row_conc" --duration "$row_s"
  log "$server: full handshake + one request, https origin"
  measure "$server.https_full_req" "$spid" "${tt[@]}" "${ec_pool[@]}" --requests 1 --connections "$row_conc" --duration "$row_s"
  for c in $conc_list; do
    log "$server: concurrency $c"
    measure "$server.conc$c" "$spid" "${t[@]}" "${ec_pool[@]}" --connections "$c" --duration "$sweep_s"
  done
  # Idle keep-alive connections: RSS before, with N held open, per connection.
  rss0=$(rss_kib "$spid")
  rm -f "$work/held"
  # The binary itself in the background (not the loadgen function, whose
  # subshell would leave it running when stopped).
  "${pin_client[@]}" "$bin/certgate-loadgen" --target "127.0.0.1:$port" "${common[@]}" \
    "${ec_fixed[@]}" --requests 1 --connections "$idle_conns" --hold 600 --ready-file "$work/held" \
    --json-out "$work/results/$server.idle.json" >/dev/null 2>&1 &
  hold_pid=$!
  pids+=("$hold_pid")
  for _ in $(seq 600); do { [ -f "$work/held" ] || ! kill -0 "$hold_pid" 2>/dev/null; } && break; sleep 0.1; done
  sleep 0.5
  rss1=$(rss_kib "$spid")
  held=$(cat "$work/held" 2>/dev/null || echo 0)
  stop_pid "$hold_pid"
  echo "$rss1" >"$work/results/$server.rss"
  calc "($rss1 - $rss0) / (${held:-0} > 0 ? ${held:-0} : 1)" >"$work/results/$server.idle_kib"
  log "$server: RSS ${rss1} KiB with $held idle connections (before: $rss0 KiB)"
  stream_rows "$server" "$port" "$spid"
done
log "relay floor: keep-alive requests to the origin (TLS relay, no HTTP)"
measure relay.keepalive "$pid_relay" --target "127.0.0.1:$relay_port" "${common[@]}" "${ec_fixed[@]}" \
  --requests 1000000 --connections "$row_conc" --duration "$row_s"
stop_pid "$pid_relay"

# ---------- floods ----------
flood_modes=(repeat fresh-self-signed other-ca none)
flood_args() {
  case "$1" in
    repeat) echo "--bad-cert-mode repeat --cert $pki/dev-ec/cert.pem --key $pki/dev-ec/key.pem --tamper-signature" ;;
    fresh-self-signed) echo "--bad-cert-mode fresh-self-signed --pool $(( flood_s * 6000 ))" ;;
    other-ca) echo "--bad-cert-mode other-ca --pool-ca-cert $pki/other/ca.pem --pool-ca-key $pki/other/ca.key --pool $(( flood_s * 6000 ))" ;;
    none) echo "--bad-cert-mode none" ;;
  esac
}
flood_letter() { case "$1" in repeat) echo a;; fresh-self-signed) echo b;; other-ca) echo c;; none) echo d;; esac; }

run_floods() {  # suffix
  local sfx=$1 m c0 c1 v0 v1 h0 h1 k0 k1 fpid
  for m in "${flood_modes[@]}"; do
    log "flood ($(flood_letter "$m")) $m, cache ${sfx}"
    v0=$(metrics_sum '^certgate_chain_verifications_total$'); h0=$(metrics_sum '^certgate_verify_cache_hits_total$'); k0=$(metrics_sum '^certgate_cheap_rejections_total$')
    c0=$(cpu_ticks "$pid_edge")
    # shellcheck disable=SC2046
    "${pin_client[@]}" "$bin/certgate-loadgen" --label "flood.$m.$sfx" --target "127.0.0.1:$edge_port" "${common[@]}" $(flood_args "$m") \
      --connections 32 --duration "$flood_s" --json-out "$work/results/flood.$m.$sfx.bad.json" \
      >>"$out_dir/loadgen.log" 2>&1 &
    fpid=$!
    pids+=("$fpid")
    sleep 0.3  # the flood is running before valid clients start
    loadgen --label "valid.$m.$sfx" --target "127.0.0.1:$edge_port" "${common[@]}" "${ec_fixed[@]}" \
      --cacert "$pki/server-ca.pem" --requests 1 --connections 2 --duration "$(calc "$flood_s - 0.8")" \
      --json-out "$work/results/flood.$m.$sfx.valid.json" >>"$out_dir/loadgen.log" 2>&1
    wait "$fpid" || true
    c1=$(cpu_ticks "$pid_edge")
    v1=$(metrics_sum '^certgate_chain_verifications_total$'); h1=$(metrics_sum '^certgate_verify_cache_hits_total$'); k1=$(metrics_sum '^certgate_cheap_rejections_total$')
    echo "$((c1 - c0)) $((v1 - v0)) $((h1 - h0)) $((k1 - k0))" >"$work/results/flood.$m.$sfx.edge"
  done
}
run_floods cached
log "restarting the edge with --cache-entries 0"
stop_pid "$pid_edge"
start_edge 0
run_floods nocache

# ---------- access log cost ----------
# Keep-alive requests with the access log off, buffered to a file (64 KiB,
# written at least every second) and written line by line, on both servers
# with the same settings (nginx: its combined format; certgate: its JSON).
for variant in off buffered unbuffered; do
  case $variant in
    off) edge_extra=(--access-log off); nginx_log="access_log off;" ;;
    buffered)
      edge_extra=(--access-log "$work/edge-access.log" --log-buffer-bytes 65536 --log-flush-ms 1000)
      nginx_log="access_log $work/nginx/logs/access.log combined buffer=64k flush=1s;" ;;
    unbuffered)
      edge_extra=(--access-log "$work/edge-access.log")
      nginx_log="access_log $work/nginx/logs/access.log combined;" ;;
  esac
  rm -f "$work/edge-access.log" "$work/nginx/logs/access.log"
  log "certgate: keep-alive requests, access log $variant"
  stop_pid "$pid_edge"
  start_edge ""
  measure "certgate.log_$variant" "$pid_edge" --target "127.0.0.1:$edge_port" "${common[@]}" \
    "${ec_fixed[@]}" --requests 1000000 --connections "$row_conc" --duration "$row_s"
  log "nginx: keep-alive requests, access log $variant"
  stop_pid "$pid_nginx"
  sed -i "s|^  access_log .*|  $nginx_log|" "$work/nginx/nginx.conf"
  start_nginx
  measure "nginx.log_$variant" "$pid_nginx" --target "127.0.0.1:$nginx_port" "${common[@]}" \
    "${ec_fixed[@]}" --requests 1000000 --connections "$row_conc" --duration "$row_s"
done
edge_extra=()
stop_pid "$pid_edge"
stop_pid "$pid_nginx"

# ---------- propagation ----------
log "propagation: $zones zones, $edges edges, $changes changes"
if [ "$ncpu" -ge 2 ]; then taskset -a -pc 0-$((ncpu - 1)) "$pid_control" >/dev/null 2>&1 || true; fi
prop_ok=1
"$bin/certgate-propagation-bench" --control "127.0.0.1:$cp_port" \
  --admin-token-file "$work/cp/admin.token" --edge-token-file "$work/cp/edge.token" \
  --zones "$zones" --edges "$edges" --changes "$changes" --probe-at "$probe_at" \
  --control-pid "$pid_control" --json-out "$work/results/propagation.json" \
  >"$out_dir/propagation.log" 2>&1 || prop_ok=0
cat "$out_dir/propagation.log" >&2
[ -s "$work/results/propagation.json" ] || echo '{}' >"$work/results/propagation.json"
pj() { jget "$work/results/propagation.json" "$1"; }

# ---------- table ----------
cp "$work/results/"* "$out_dir/" 2>/dev/null || true
ratio() { calc "($2 > 0) ? $1 / $2 : 0" "%.2f"; }
verdict() { awk "BEGIN { print ($1) ? \"met\" : \"**not met**\" }"; }
table="$out_dir/table.md"
{
  echo "| measurement | certgate | nginx | certgate / nginx | target |"
  echo "|---|---:|---:|---:|---|"
  row() {  # name certgate nginx target-text [higher|lower]
    local r; r=$(ratio "$2" "$3")
    echo "| $1 | $2 | $3 | $r | $4 |"
  }
  for kind in full_ec full_rsa returning resumed; do
    case $kind in
      full_ec) name="full mTLS handshakes, ECDSA P-256 clients"; need=3 ;;
      full_rsa) name="full mTLS handshakes, RSA-2048 clients"; need="" ;;
      returning) name="returning client (same certificate; chain result cached by certgate)"; need=4 ;;
      resumed) name="resumed handshakes (one GET each, through to the origin)"; need=3 ;;
    esac
    a=$(r_per_core "certgate.$kind"); b=$(r_per_core "nginx.$kind")
    tgt="—"
    [ -n "$need" ] && tgt="≥ ${need}× nginx: $(verdict "$(ratio "$a" "$b") >= $need")"
    row "$name: per core (handshakes per server CPU-second)" "$a" "$b" "$tgt"
    row "$name: measured /s ($row_conc conns)" "$(r_hs "certgate.$kind" | xargs printf %.0f)" \
      "$(r_hs "nginx.$kind" | xargs printf %.0f)" "—"
    row "$name: server CPU µs each" "$(r_cpu_per "certgate.$kind")" "$(r_cpu_per "nginx.$kind")" "—"
    row "$name: p99 ms" "$(r_p99 "certgate.$kind")" "$(r_p99 "nginx.$kind")" "—"
  done
  row "keep-alive requests/s to the origin ($row_conc conns)" "$(r_req certgate.keepalive | xargs printf %.0f)" \
    "$(r_req nginx.keepalive | xargs printf %.0f)" "—"
  ka_c=$(r_cpu_per certgate.keepalive requests); ka_n=$(r_cpu_per nginx.keepalive requests)
  row "keep-alive: server CPU µs per request" "$ka_c" "$ka_n" \
    "≤ 0.75× nginx: $(verdict "$(ratio "$ka_c" "$ka_n") <= 0.75")"
  row "keep-alive through a TLS relay without HTTP (certgate-relay-floor, the floor of any proxy here; in the certgate column): server CPU µs per request" \
    "$(r_cpu_per relay.keepalive requests)" "$ka_n" "—"
  row "keep-alive: p99 ms" "$(r_p99 certgate.keepalive)" "$(r_p99 nginx.keepalive)" "—"
  for kib in 1 64; do
    row "keep-alive, $kib KiB responses: server CPU µs per request" \
      "$(r_cpu_per "certgate.keepalive_${kib}k" requests)" "$(r_cpu_per "nginx.keepalive_${kib}k" requests)" "—"
  done
  h2_c=$(h2_cpu_per certgate.h2); h2_n=$(h2_cpu_per nginx.h2)
  row "HTTP/2 ($h2_conns conns x $h2_streams streams, h2load, median of 3 runs): server CPU µs per request" "$h2_c" "$h2_n" \
    "≤ nginx: $(verdict "$h2_c <= $h2_n")"
  row "HTTP/2: requests/s" "$(h2_rate certgate.h2)" "$(h2_rate nginx.h2)" "—"
  ws_c=$(r_per_core certgate.ws messages); ws_n=$(r_per_core nginx.ws messages)
  row "WebSocket echo (128-byte messages, 8 connections): messages per server CPU-second" "$ws_c" "$ws_n" \
    "≥ nginx: $(verdict "$ws_c >= $ws_n")"
  row "WebSocket echo: server CPU µs per message" "$(r_cpu_per certgate.ws messages)" \
    "$(r_cpu_per nginx.ws messages)" "—"
  row "keep-alive, access log off: server CPU µs per request" \
    "$(r_cpu_per certgate.log_off requests)" "$(r_cpu_per nginx.log_off requests)" "—"
  row "keep-alive, access log to a file, 64 KiB buffer: server CPU µs per request" \
    "$(r_cpu_per certgate.log_buffered requests)" "$(r_cpu_per nginx.log_buffered requests)" "—"
  row "keep-alive, access log to a file, unbuffered: server CPU µs per request" \
    "$(r_cpu_per certgate.log_unbuffered requests)" "$(r_cpu_per nginx.log_unbuffered requests)" "—"
  row "resident memory after the runs, MiB" "$(calc "$(cat "$work/results/certgate.rss") / 1024")" \
    "$(calc "$(cat "$work/results/nginx.rss") / 1024")" "—"
  ik=$(cat "$work/results/certgate.idle_kib")
  row "memory per idle keep-alive connection, KiB ($idle_conns held)" "$ik" \
    "$(cat "$work/results/nginx.idle_kib")" "< 64 KiB: $(verdict "$ik < 64")"
  ce=$(r_cpu_per certgate.full_ec); ne=$(r_cpu_per nginx.full_ec)
  echo "| crypto floor per full mTLS handshake, ECDSA P-256 client (µs) | $floor_ec | $floor_ec | | X25519 $x25519_base+$x25519_arb, P-256 sign $p256_sign, verify $p256_verify ×2 |"
  echo "| crypto floor, RSA-2048 client (µs) | $floor_rsa | $floor_rsa | | RSA-2048 verify $rsa_verify |"
  echo "| bare TCP connection, server CPU (µs) | $tcp_us | $tcp_us | | accept, read to EOF, close |"
  [ -n "$ossl_verify" ] && echo "| for reference: the same floor in OpenSSL 3 (\`openssl speed\`, nginx's library) (µs) | | $(calc "2 * ${ossl_x25519:-0} + $ossl_sign + 2 * $ossl_verify") | | X25519 ${ossl_x25519:-?} ×2, P-256 sign $ossl_sign, verify $ossl_verify ×2 |"
  echo "| server CPU per full ECDSA handshake ÷ crypto floor | $(ratio "$ce" "$floor_ec") | $(ratio "$ne" "$floor_ec") | | |"
  m=$(ratio "$ce" "$(calc "$floor_ec + $tcp_us")")
  echo "| server CPU per full ECDSA handshake ÷ (floor + bare TCP) | $m | $(ratio "$ne" "$(calc "$floor_ec + $tcp_us")") | | ≤ 2: $(verdict "$m <= 2") |"
} >"$table"

otable="$out_dir/origin-tls.md"
{
  echo "| origin over TLS (server CPU µs) | certgate | nginx | certgate / nginx |"
  echo "|---|---:|---:|---:|"
  orow() {  # name key unit
    local a b
    a=$(r_cpu_per "certgate.$2" "$3"); b=$(r_cpu_per "nginx.$2" "$3")
    echo "| $1 | $a | $b | $(ratio "$a" "$b") |"
  }
  orow "keep-alive request, http:// origin" keepalive requests
  orow "keep-alive request, https:// origin (verified, client certificate, pooled)" https_keepalive requests
  orow "full mTLS handshake + one request, http:// origin" http_full_req handshakes
  orow "full mTLS handshake + one request, https:// origin" https_full_req handshakes
  for s in certgate nginx; do
    echo "| $s: https ÷ http, keep-alive request | $(ratio "$(r_cpu_per "$s.https_keepalive" requests)" "$(r_cpu_per "$s.keepalive" requests)") | | |"
    echo "| $s: https ÷ http, full handshake + request | $(ratio "$(r_cpu_per "$s.https_full_req")" "$(r_cpu_per "$s.http_full_req")") | | |"
  done
} >"$otable"

stable="$out_dir/streaming.md"
{
  echo "| $stream_mib MiB through the server | certgate peak RSS growth, MiB | nginx peak RSS growth, MiB | certgate MB/s | nginx MB/s | certgate server CPU s | nginx server CPU s | target |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  for kind in upload_cl upload_chunked download_cl download_chunked; do
    case $kind in
      upload_cl) name="upload, Content-Length" ;;
      upload_chunked) name="upload, chunked" ;;
      download_cl) name="download, Content-Length" ;;
      download_chunked) name="download, chunked" ;;
    esac
    read -r cg_kib cg_rate cg_cpu <"$work/results/certgate.stream_$kind"
    read -r ng_kib ng_rate ng_cpu <"$work/results/nginx.stream_$kind"
    cg_mib=$(calc "$cg_kib / 1024"); ng_mib=$(calc "$ng_kib / 1024")
    echo "| $name | $cg_mib | $ng_mib | $cg_rate | $ng_rate | $cg_cpu | $ng_cpu | < 16 MiB: $(verdict "$cg_mib < 16") |"
  done
} >"$stable"

ftable="$out_dir/floods.md"
{
  echo "| flood (edge, 1 worker) | cache | bad handshakes/s | valid connections, success | valid p99 ms | edge CPU µs per bad handshake | chain verifications (bad clients) | cache hits | cheap rejections | target |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  valid_cpu=$(r_cpu_per certgate.returning)
  for sfx in cached nocache; do
    for m in "${flood_modes[@]}"; do
      b="$work/results/flood.$m.$sfx.bad.json"; v="$work/results/flood.$m.$sfx.valid.json"
      read -r fc fv fh fk <"$work/results/flood.$m.$sfx.edge"
      bad_n=$(jq -r '.ok + .failed' "$b"); valid_n=$(jq -r '.ok + .failed' "$v")
      valid_hs=$(jq -r '.handshakes' "$v")
      # The valid clients' share of the edge's CPU is taken out at their
      # measured cost per handshake (row "returning client").
      per_bad=$(calc "($fc / $clk_tck * 1e6 - $valid_n * $valid_cpu) / ($bad_n > 0 ? $bad_n : 1)")
      succ=$(jget "$v" .success_rate)
      # Without the cache each valid handshake is one chain verification:
      # what is left is the bad clients'.
      fvb=$fv
      [ "$sfx" = nocache ] && fvb=$(( fv > valid_hs ? fv - valid_hs : 0 ))
      case "$m" in
        repeat) extra="; one repeated bad certificate: $( [ "$sfx" = cached ] && echo "$(verdict "$fvb <= 1") (≤ 1 chain verification)" || echo "cache off: one per handshake" )" ;;
        other-ca|fresh-self-signed) extra="; unknown issuer: $(verdict "$fvb == 0") (no chain signature check)" ;;
        *) extra="" ;;
      esac
      sv="n/a (no valid connection finished)"
      [ "$valid_n" -gt 0 ] && sv=$(verdict "$succ >= 0.99")
      echo "| ($(flood_letter "$m")) $m | $sfx | $(calc "$bad_n / $(jget "$b" .elapsed_s)" %.0f) | $valid_n, $(calc "$succ * 100" %.2f)% | $(jget "$v" .latency_ms.p99) | $per_bad | $fvb | $fh | $fk | ≥ 99%: $sv$extra |"
    done
  done
} >"$ftable"

ptable="$out_dir/propagation.md"
{
  echo "| propagation | value | target |"
  echo "|---|---:|---|"
  echo "| zones loaded (created through the tenant API) | $(pj .zones) in $(pj .zone_create_s) s ($(pj .zone_create_per_s)/s) | |"
  echo "| edges (stream clients in one process) | $(pj .edges) ($(pj .failed_edges) failed) | |"
  echo "| change → ACKed by every edge, p50 ms | $(pj .p50_ms) | |"
  echo "| change → ACKed by every edge, p99 ms | $(pj .p99_ms) | < 1000: $(verdict "$(pj .p99_ms) < 1000 && $(pj .changes) > 0") |"
  echo "| change → ACKed by every edge, max ms ($(pj .changes) changes, $(pj .missed) missed) | $(pj .max_ms) | |"
  echo "| snapshot bytes at $(pj .zones) zones | $(pj .snapshot_bytes) | |"
  echo "| snapshot bytes at $(pj .probe_zones) zones | $(pj .probe_snapshot_bytes) | |"
  echo "| one-zone delta bytes at $(pj .zones) zones | $(pj .delta_bytes) | same as at $(pj .probe_zones): $(verdict "$(pj .delta_bytes) <= $(pj .probe_delta_bytes) * 1.1 + 16") |"
  echo "| one-zone delta bytes at $(pj .probe_zones) zones | $(pj .probe_delta_bytes) | |"
  echo "| control plane RSS with zones loaded, MiB | $(calc "$(pj .control_rss_kib_loaded) / 1024") | |"
  echo "| control plane RSS with the fleet subscribed, MiB (peak) | $(calc "$(pj .control_rss_kib_fleet) / 1024") ($(calc "$(pj .control_hwm_kib) / 1024")) | |"
} >"$ptable"

{
  echo
  echo "## certgate-edge vs nginx ($nginx_version, $openssl_version), 1 worker each, $pinning"
  echo
  cat "$table"
  echo
  echo "## Streaming with bounded memory"
  echo
  echo "One $stream_mib MiB body per row, through each server with the bench client certificate"
  echo "(curl, TLS 1.3), to an origin that streams (\`tests/integration/edge/stream_origin.py\`: it"
  echo "reads and counts a request body, or generates a response body, a block at a time). nginx"
  echo "runs with \`proxy_request_buffering off\` and \`proxy_buffering off\` (it streams both ways"
  echo "too, as certgate does), \`client_max_body_size 0\`."
  echo
  cat "$stable"
  echo
  echo "## https:// origins next to http:// ones"
  echo
  echo "Both servers verify the https origin (its own CA, name origin.bench.test) and present"
  echo "the same client certificate to it (certgate: \`certgate origin-cert set\`; nginx:"
  echo "\`proxy_ssl_certificate\`, \`proxy_ssl_verify on\`); both keep origin connections"
  echo "alive. The https origin is nginx on the client core in front of the same echo origin."
  echo
  cat "$otable"
  echo
  echo "## Floods of invalid client certificates (certgate-edge)"
  echo
  cat "$ftable"
  echo
  echo "## Config propagation"
  echo
  cat "$ptable"
  echo
  echo "## Handshake rate against concurrency (full handshakes, ECDSA P-256, distinct certificates)"
  echo
  echo "| connections | certgate /s | nginx /s | certgate per core | nginx per core |"
  echo "|---:|---:|---:|---:|---:|"
  for c in $conc_list; do
    echo "| $c | $(r_hs "certgate.conc$c" | xargs printf %.0f) | $(r_hs "nginx.conc$c" | xargs printf %.0f) | $(r_per_core "certgate.conc$c") | $(r_per_core "nginx.conc$c") |"
  done
  # gRPC needs its own origin (a grpcio server behind h2c://), so it is its
  # own script; run here, its rows sit in the same run as nginx's above.
  if [ "$mode" != smoke ]; then
    echo
    echo "## gRPC unary calls"
    echo
    "$script_dir/grpc_bench.sh" --build-dir "$build_dir" --duration "$row_s"
  fi
} >"$out_dir/results.md"
cat "$out_dir/results.md"

# ---------- plot ----------
plot_png="$out_dir/handshake-rate.png"
{
  for c in $conc_list; do
    echo "$c $(r_hs "certgate.conc$c") $(r_hs "nginx.conc$c") $(r_per_core "certgate.conc$c") $(r_per_core "nginx.conc$c")"
  done
} >"$out_dir/concurrency.dat"
if command -v gnuplot >/dev/null; then
  gnuplot <<EOF || log "gnuplot failed"
set terminal pngcairo size 900,600 noenhanced
set output "$plot_png"
set title "Full TLS 1.3 mTLS handshakes (ECDSA P-256 client certificates), 1 server worker"
set xlabel "concurrent connections"
set ylabel "handshakes per second"
set logscale x 2
set key below
set grid
plot "$out_dir/concurrency.dat" using 1:2 with linespoints lw 2 title "certgate-edge (measured)", \
     "$out_dir/concurrency.dat" using 1:3 with linespoints lw 2 title "nginx + OpenSSL 3 (measured)", \
     "$out_dir/concurrency.dat" using 1:4 with lines dt 2 title "certgate-edge (per server core)", \
     "$out_dir/concurrency.dat" using 1:5 with lines dt 2 title "nginx (per server core)"
EOF
fi

# Every measured cell must be a number (the smoke test's only check: no
# timing is asserted), before the docs are touched: a broken run must not
# overwrite the last good report.
bad_cells=$(awk -F'|' '/^\| / && !/^\| measurement/ && !/for reference/ {
    for (i = 3; i <= 4; i++) { c = $i; gsub(/ /, "", c); if (c !~ /^-?[0-9]+(\.[0-9]+)?$/) print $2 ":" c } }' "$table"
  awk -F'|' '/^\| \(/ { for (i = 4; i <= 10; i++) { c = $i; gsub(/ /, "", c); sub(/,.*/, "", c); if (c !~ /^-?[0-9]+(\.[0-9]+)?%?$/) print $2 ":" c } }' "$ftable"
  awk -F'|' '/^\| [a-z]/ && !/÷/ && !/^\| origin over TLS/ { for (i = 3; i <= 4; i++) { c = $i; gsub(/ /, "", c); if (c !~ /^-?[0-9]+(\.[0-9]+)?$/) print $2 ":" c } }' "$otable"
  awk -F'|' '/ms \|/ && /change/ { c = $3; gsub(/ /, "", c); if (c !~ /^[0-9]+(\.[0-9]+)?$/) print $2 ":" c }' "$ptable"
  awk -F'|' '/^\| (upload|download)/ { for (i = 3; i <= 8; i++) { c = $i; gsub(/ /, "", c); if (c !~ /^-?[0-9]+(\.[0-9]+)?$/) print $2 ":" c } }' "$stable")
if [ -n "$bad_cells" ]; then
  echo "run.sh: non-numeric results:" >&2
  echo "$bad_cells" >&2
  exit 1
fi

# ---------- docs ----------
if [ "$write_docs" -eq 1 ]; then
  doc="$repo/docs/benchmarks.md"
  mkdir -p "$repo/docs"
  [ -f "$plot_png" ] && cp "$plot_png" "$repo/docs/handshake-rate.png"
  {
    echo "# Benchmarks"
    echo
    echo "Produced by \`$command_line\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    echo "Machine: $cpu_model, $ncpu cores (\`nproc\`), $mem_total, $kernel."
    echo "Load average when the run started: $load_at_start (other work on the machine"
    echo "inflates latencies and measured rates; CPU-per-operation figures are less affected)."
    echo "Loopback TCP only. $pinning. Both servers run one worker"
    echo "(\`--workers 1\`, \`worker_processes 1\`) with the same server certificate"
    echo "(ECDSA P-256), the same client CA and client certificates, and proxy to the"
    echo "same origin (\`certgate-echo-origin\`). Each row runs ${row_s} s with ${row_conc}"
    echo "connections from one load-generator thread (\`certgate-loadgen\`, BoringSSL)."
    cat "$script_dir/method.md"
    cat "$out_dir/results.md"
    echo
    echo "![handshake rate against concurrency](handshake-rate.png)"
    echo
    echo "Raw \`bssl speed\` output for the floor:"
    echo
    echo '```'
    cat "$work/speed.txt"
    echo '```'
    if [ -f "$script_dir/analysis.md" ]; then
      echo
      cat "$script_dir/analysis.md"
    fi
  } >"$doc"
  log "wrote docs/benchmarks.md and docs/handshake-rate.png"
fi
[ "$prop_ok" -eq 1 ] || log "propagation benchmark reported a failure (see $out_dir/propagation.log)"

log "done; raw results in $out_dir"
