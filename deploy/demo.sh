#!/usr/bin/env bash
# The auth.pizza tour: installs what is missing, builds, starts a control
# plane, two edges and an echo origin on loopback, sets up two zones with the
# certgate CLI, and shows what clients with and without a certificate get.
#
#   deploy/demo.sh            # run the tour, then leave everything running
#   deploy/demo.sh --once     # run the tour and stop; exit 0 only if every step passed
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

once=0
for arg in "$@"; do
  case "$arg" in
    --once) once=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $arg" >&2; exit 2 ;;
  esac
done

build_dir=${CERTGATE_BUILD_DIR:-build}
case "$build_dir" in
  /*) bin="$build_dir/bin" ;;
  *) bin="$root_dir/$build_dir/bin" ;;
esac
if [ "${CERTGATE_DEMO_SKIP_BUILD:-0}" != 1 ]; then
  deploy/install-deps.sh "$build_dir"
  launcher=()
  if command -v ccache >/dev/null 2>&1 && [ -z "${CI:-}" ]; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
  cmake --build "$build_dir" --target certgate certgate-control certgate-edge certgate-echo-origin
fi

state=$(mktemp -d "${TMPDIR:-/tmp}/certgate-demo.XXXXXX")
export XDG_CONFIG_HOME="$state/config"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local port=$1
  while ! port_free "$port"; do port=$((20000 + RANDOM % 40000)); done
  echo "$port"
}
wait_port() {
  for _ in $(seq 1 150); do
    if ! port_free "$1"; then return 0; fi
    sleep 0.1
  done
  echo "demo: nothing listens on 127.0.0.1:$1; logs are in $state" >&2
  exit 1
}

control_port=$(pick_port 7000)
origin_port=$(pick_port 8080)
edge1_port=$(pick_port 8443)
edge2_port=$(pick_port $((edge1_port + 1)))
metrics1_port=$(pick_port 9100)
metrics2_port=$(pick_port $((metrics1_port + 1)))
server="127.0.0.1:$control_port"

step=0
failures=0
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
check() {  # check DESCRIPTION COMMAND... ; COMMAND must succeed
  step=$((step + 1))
  if "${@:2}"; then
    printf '   \033[32mok\033[0m  %s\n' "$1"
  else
    printf '   \033[31mFAIL\033[0m %s\n' "$1"
    failures=$((failures + 1))
  fi
}

say "Starting the control plane, an echo origin and two edges (state in $state)"
"$bin/certgate-control" --db "$state/certgate.db" --listen "$server" \
  --admin-token-file "$state/admin.token" --edge-token-file "$state/edge.token" \
  --origin-allow 127.0.0.0/8 --insecure --verify-hostnames off >"$state/control.log" 2>&1 &
pids+=($!)
"$bin/certgate-echo-origin" --listen "127.0.0.1:$origin_port" >"$state/origin.log" 2>&1 &
pids+=($!)
wait_port "$control_port"
wait_port "$origin_port"

cg() { "$bin/certgate" --server "$server" --insecure "$@"; }

say "A tenant, a CA, a device certificate and two zones"
show "certgate admin tenant create pizza --token \$(cat admin.token)"
tenant_token=$(cg --token "$(cat "$state/admin.token")" --json admin tenant create pizza | jq -r .token)
show "certgate login --server $server --token <tenant token> --insecure"
cg login --server "$server" --token "$tenant_token" --insecure
cat >"$state/forbidden.json" <<'JSON'
{"error": "forbidden", "message": "this pizza needs a device certificate"}
JSON
run() { show "certgate $*"; cg "$@"; }
run pki init-ca --cn "Pizza Devices CA" --out "$state/ca"
run pki issue --ca "$state/ca" --cn device-123 --out "$state/device" --san-uri spiffe://auth.pizza/device/123
run pki init-ca --cn "Stranger CA" --out "$state/stranger-ca"
run pki issue --ca "$state/stranger-ca" --cn intruder --out "$state/intruder"
run zone create auth.pizza --origin "http://127.0.0.1:$origin_port" --mode enforce
run root add auth.pizza "$state/ca/ca.pem"
run error-page set auth.pizza --content-type application/json --file "$state/forbidden.json"
run header set auth.pizza X-Device-Id subject.CN
run header set auth.pizza X-Device-Spiffe spiffe_id
run zone create client.auth.pizza --origin "http://127.0.0.1:$origin_port" --mode report
run root add client.auth.pizza "$state/ca/ca.pem"
cg cert edge-ca >"$state/edge-ca.pem"

for n in 1 2; do
  port_var="edge${n}_port"; metrics_var="metrics${n}_port"
  "$bin/certgate-edge" --control "$server" --insecure --token-file "$state/edge.token" \
    --node-id "edge-$n" --listen "127.0.0.1:${!port_var}" --state-dir "$state/edge-$n" \
    --metrics-listen "127.0.0.1:${!metrics_var}" --workers 1 --origin-allow 127.0.0.0/8 \
    >"$state/edge-$n.log" 2>&1 &
  pids+=($!)
done
wait_port "$edge1_port"
wait_port "$edge2_port"

version_everywhere() {
  # The CLI's --json is proto3 JSON: camelCase names, uint64 values as strings.
  cg --json status | jq -e '.configVersion as $v
    | $v != null and (.edges | length) == 2 and all(.edges[]; .ackedVersion == $v)' >/dev/null
}
for _ in $(seq 1 100); do version_everywhere && break; sleep 0.1; done

curl_edge() {  # curl_edge PORT HOST [curl args...]
  local port=$1 host=$2
  shift 2
  curl -sS --cacert "$state/edge-ca.pem" --resolve "$host:$port:127.0.0.1" "$@" "https://$host:$port/"
}
tour_curl() {  # prints the plain curl command, runs it, keeps body and status
  local port=$1 host=$2
  shift 2
  show "curl --cacert edge-ca.pem --resolve $host:$port:127.0.0.1 $* https://$host:$port/"
  curl_edge "$port" "$host" -o "$state/body" -w '%{http_code}' "$@" >"$state/code" || true
  printf '%s\n' "$(cat "$state/body")"
  printf '   HTTP %s\n' "$(cat "$state/code")"
}
code_is() { [ "$(cat "$state/code")" = "$1" ]; }
# Header names are case-insensitive: compare them in lower case.
body_has() {
  jq -e "(if has(\"headers\") then .headers |= with_entries(.key |= ascii_downcase) else . end) | $1" "$state/body" >/dev/null 2>&1
}

say "Enforce mode (auth.pizza): no certificate"
tour_curl "$edge1_port" auth.pizza
check "403 with the zone's own JSON" code_is 403
check "body is the custom error" body_has '.message == "this pizza needs a device certificate"'

say "Enforce mode (auth.pizza): the device certificate"
tour_curl "$edge1_port" auth.pizza --cert "$state/device/cert.pem" --key "$state/device/key.pem"
check "200 from the origin" code_is 200
check "origin saw X-Client-Cert-Status: valid" body_has '.headers["x-client-cert-status"] == "valid"'
check "origin saw the SKI" body_has '(.headers["x-client-cert-ski"] | length) == 40'
check "origin saw X-Device-Id: device-123" body_has '.headers["x-device-id"] == "device-123"'
check "origin saw the SPIFFE id" body_has '.headers["x-device-spiffe"] == "spiffe://auth.pizza/device/123"'

say "Enforce mode on the second edge: a certificate from another CA"
tour_curl "$edge2_port" auth.pizza --cert "$state/intruder/cert.pem" --key "$state/intruder/key.pem"
check "403 for an unknown CA" code_is 403

say "Report mode (client.auth.pizza): everything reaches the origin, with its status"
tour_curl "$edge2_port" client.auth.pizza
check "no certificate forwarded as none" body_has '.headers["x-client-cert-status"] == "none"'
tour_curl "$edge2_port" client.auth.pizza --cert "$state/intruder/cert.pem" --key "$state/intruder/key.pem"
check "unknown CA forwarded as invalid" body_has '.headers["x-client-cert-status"] == "invalid"'
check "with the reason" body_has '.headers["x-client-cert-error"] == "unknown_ca"'
tour_curl "$edge1_port" client.auth.pizza -H "X-Client-Cert-Status: valid"
check "a spoofed status header never reaches the origin" body_has '.headers["x-client-cert-status"] == "none"'

say "Fleet status"
show "certgate status"
cg status
check "both edges hold the current config version" version_everywhere

echo
if [ "$failures" -gt 0 ]; then
  echo "demo: $failures of $step checks failed; logs are in $state"
  exit 1
fi
echo "demo: all $step checks passed"
if [ "$once" = 1 ]; then
  cleanup
  rm -rf "$state"
  exit 0
fi
cat <<EOT

Everything keeps running until you press Ctrl-C:
  control plane   $server        (admin token: $(cat "$state/admin.token"))
  tenant token    $tenant_token
  edges           https://auth.pizza:$edge1_port/  https://auth.pizza:$edge2_port/
  metrics         http://127.0.0.1:$metrics1_port/metrics  http://127.0.0.1:$metrics2_port/metrics
  origin          http://127.0.0.1:$origin_port/
  CLI             XDG_CONFIG_HOME=$XDG_CONFIG_HOME $bin/certgate zone list
  state and logs  $state
EOT
wait
