#!/usr/bin/env bash
# Config propagation with real edges: a control plane, --zones zones made
# through the tenant API, --edges light edge streams and --real-edges real
# certgate-edge processes (1 worker each). Prints, and writes as JSON:
# change -> served by every real edge (p50/p99), edge cold start from the
# control plane (empty state) and from disk (control plane unreachable),
# edge and control-plane resident memory, bytes each edge writes per change.
#
#   tests/bench/propagation.sh [--zones N] [--edges N] [--real-edges N] [--changes N]
#                              [--build-dir DIR] [--json-out FILE] [--trace-changes]
#
# --trace-changes runs the control plane with --trace-changes and prints, per
# stage of a change (delta built, handed to the streams, written, acknowledged:
# ms after the commit), the median and the largest over the timed changes.
#
# Loopback only; every process it starts is stopped on exit.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
build_dir="$repo/build"
zones=10000
edges=100
real_edges=3
changes=50
json_out=""
trace_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --zones) zones=$2; shift 2 ;;
    --edges) edges=$2; shift 2 ;;
    --real-edges) real_edges=$2; shift 2 ;;
    --changes) changes=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --json-out) json_out=$2; shift 2 ;;
    --trace-changes) trace_args=(--trace-changes); shift ;;
    *) echo "propagation.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bin="$build_dir/bin"
for b in certgate-control certgate-edge certgate-propagation-bench; do
  [ -x "$bin/$b" ] || { echo "propagation.sh: missing $bin/$b (build it first)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/certgate-propagation.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${CERTGATE_BENCH_KEEP:-}" ] && log "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
log() { echo "propagation.sh: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
served_version() {  # metrics_port
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk '$1 == "certgate_config_version" { print $2 }' | head -1
}
wait_served() {  # metrics_port version timeout_s [start_ms]: ms since start_ms (default now), or -1
  local start=${4:-$(now_ms)}
  local limit=$(($(now_ms) + $3 * 1000)) v
  while [ "$(now_ms)" -lt "$limit" ]; do
    v=$(served_version "$1")
    if [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; then echo $(($(now_ms) - start)); return; fi
    sleep 0.02
  done
  echo -1
}
state_written() {  # metrics_port: bytes the edge wrote to its state dir so far
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk '$1 == "certgate_config_state_bytes_written_total" { print $2 }' | head -1
}
wait_state_settled() {  # metrics_port timeout_s: until it has written and stopped writing
  local limit=$(($(now_ms) + $2 * 1000)) last="" v
  while [ "$(now_ms)" -lt "$limit" ]; do
    v=$(state_written "$1")
    if [ -n "$v" ] && [ "${v%.*}" -gt 0 ] && [ "$v" = "$last" ]; then return; fi
    last=$v
    sleep 1
  done
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

cp_port=$(free_port)
mkdir -p "$work/cp"
"$bin/certgate-control" --db "$work/cp/certgate.db" --listen "127.0.0.1:$cp_port" \
  --admin-token-file "$work/cp/admin.token" --edge-token-file "$work/cp/edge.token" --insecure \
  --origin-allow 127.0.0.0/8 --max-zones 10000000 --max-config-bytes 100000000000 --verify-hostnames off \
  "${trace_args[@]}" >"$work/control.log" 2>&1 &
pid_control=$!
pids+=("$pid_control")
for _ in $(seq 300); do [ -s "$work/cp/edge.token" ] && break; sleep 0.05; done
[ -s "$work/cp/edge.token" ] || { cat "$work/control.log" >&2; exit 1; }

log "$zones zones, $edges light streams, $real_edges real edges, $changes changes"
# The light streams are a harness: few malloc arenas, so the snapshots its
# hundred threads receive reuse one heap instead of each keeping its own.
MALLOC_ARENA_MAX=2 "$bin/certgate-propagation-bench" --control "127.0.0.1:$cp_port" \
  --admin-token-file "$work/cp/admin.token" --edge-token-file "$work/cp/edge.token" \
  --zones "$zones" --edges "$edges" --changes "$changes" --control-pid "$pid_control" \
  --change-timeout 60 --ready-file "$work/ready" --go-file "$work/go" \
  --json-out "$work/bench.json" >"$work/bench.log" 2>&1 &
pid_bench=$!
pids+=("$pid_bench")
while [ ! -s "$work/ready" ]; do
  kill -0 "$pid_bench" 2>/dev/null || { cat "$work/bench.log" >&2; exit 1; }
  sleep 0.1
done
version=$(cat "$work/ready")

# Cold start from the control plane: empty state, the whole snapshot.
start_edge() {  # index control_address
  local i=$1
  "$bin/certgate-edge" --control "$2" --token-file "$work/cp/edge.token" \
    --node-id "real-edge-$i" --listen "127.0.0.1:${edge_port[$i]}" --state-dir "$work/edge-$i" \
    --metrics-listen "127.0.0.1:${metrics_port[$i]}" --insecure --workers 1 \
    >>"$work/edge-$i.log" 2>&1 &
  edge_pid[$i]=$!
  pids+=("${edge_pid[$i]}")
}
declare -a edge_port metrics_port edge_pid cold_cp
for i in $(seq 1 "$real_edges"); do
  edge_port[$i]=$(free_port); metrics_port[$i]=$(free_port)
done
started=$(now_ms)
for i in $(seq 1 "$real_edges"); do start_edge "$i" "127.0.0.1:$cp_port"; done
for i in $(seq 1 "$real_edges"); do
  cold_cp[$i]=$(wait_served "${metrics_port[$i]}" "$version" 300 "$started")
done
log "cold start from the control plane (ms, all started together): ${cold_cp[*]}"
# The changes are timed in the steady state: once each real edge has written
# the snapshot it started from to its state dir (hundreds of MB at 100,000
# zones), which otherwise competes with the control plane's commits for the disk.
settle_started=$(now_ms)
for i in $(seq 1 "$real_edges"); do wait_state_settled "${metrics_port[$i]}" 300; done
log "real edges' state written $(($(now_ms) - settle_started)) ms after they served"
: >"$work/go.tmp"
for i in $(seq 1 "$real_edges"); do echo "${metrics_port[$i]},${edge_pid[$i]}" >>"$work/go.tmp"; done
mv "$work/go.tmp" "$work/go"
bench_rc=0
wait "$pid_bench" || bench_rc=$?
cat "$work/bench.log" >&2
last=$(served_version "${metrics_port[1]}")
rss_after=$(rss_kib "${edge_pid[1]}")

# Cold start from disk: edge 1 restarted with the control plane unreachable.
kill "${edge_pid[1]}"; wait "${edge_pid[1]}" 2>/dev/null || true
state_bytes=$(du -sb "$work/edge-1" | cut -f1)
start_edge 1 "127.0.0.1:$(free_port)"
cold_disk=$(wait_served "${metrics_port[1]}" "${last%.*}" 120)
rss_disk=$(rss_kib "${edge_pid[1]}")
log "cold start from disk: ${cold_disk} ms (version ${last}), state dir ${state_bytes} bytes, RSS ${rss_disk} KiB (after changes: ${rss_after} KiB)"

if [ ${#trace_args[@]} -gt 0 ]; then
  # The timed changes are the last ones; each line's stages in ms.
  grep 'certgate-control: trace version' "$work/control.log" | tail -n "$changes" | python3 -c '
import re, sys
stages = {"built": [], "handed": [], "written": [], "acknowledged": []}
for line in sys.stdin:
    for name in stages:
        m = re.search(r"%s ([0-9.]+) ms" % name, line)
        if m:
            stages[name].append(float(m.group(1)))
for name, values in stages.items():
    values.sort()
    if values:
        print("propagation.sh: trace, %s: p50 %.2f ms, max %.2f ms (%d changes)"
              % (name, values[(len(values) - 1) // 2], values[-1], len(values)), file=sys.stderr)
'
fi

result=$(jq -c --argjson cold_cp "[$(IFS=,; echo "${cold_cp[*]}")]" --argjson cold_disk "$cold_disk" \
  --argjson rss_disk "$rss_disk" --argjson rss_after "$rss_after" --argjson state "$state_bytes" \
  '. + {cold_start_control_ms: $cold_cp, cold_start_disk_ms: $cold_disk,
        edge_rss_kib_after_changes: $rss_after, edge_rss_kib_from_disk: $rss_disk,
        edge_state_bytes: $state}' "$work/bench.json")
echo "$result"
[ -z "$json_out" ] || echo "$result" >"$json_out"
exit "$bench_rc"
