#!/usr/bin/env bash
# Runs the libFuzzer targets, each for a given time, several at once.
#
#   tests/fuzz/run.sh TARGET|all SECONDS
#
# Targets: field_selector upload_validation http_request edge_config pem_csr.
# Builds them first in build-fuzz/ (clang, ASan + UBSan, -DCERTGATE_FUZZ=ON;
# CERTGATE_FUZZ_BUILD_DIR overrides; FUZZ_NO_BUILD=1 skips configuring and
# building). Runs up to FUZZ_JOBS targets at a time (default: nproc). Each
# target starts from its seeds (tests/fuzz/corpus/) and a working corpus in the
# build folder (new inputs go there, not into the repository); crashes land in
# BUILD/fuzz-artifacts/TARGET/. A crash found
# belongs in tests/fuzz/regressions/TARGET/ once fixed, so that CTest replays
# it. Prints per target: runs, coverage, crashes; exits 1 if any crashed or
# did not run.
set -euo pipefail
cd "$(dirname "$0")/../.."

all_targets=(field_selector upload_validation http_request edge_config pem_csr)
if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 TARGET|all SECONDS   (targets: ${all_targets[*]})" >&2
  exit 2
fi
if [ "$1" = all ]; then
  targets=("${all_targets[@]}")
else
  targets=("$1")
  if [[ ! " ${all_targets[*]} " == *" $1 "* ]]; then
    echo "unknown target $1 (targets: ${all_targets[*]})" >&2
    exit 2
  fi
fi
seconds=$2
build=${CERTGATE_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}

if [ -z "${FUZZ_NO_BUILD:-}" ] && [ ! -f "$build/build.ninja" ]; then
  deploy/install-deps.sh "$build"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCERTGATE_FUZZ=ON -DCERTGATE_SANITIZE=ON \
    -DCERTGATE_BORINGSSL_DIR="$PWD/$build/_deps/boringssl" >/dev/null
fi
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
  ninja -C "$build" -j "${BUILD_JOBS:-2}" "${targets[@]/%/_fuzzer}" >/dev/null
fi

run_one() {
  local target=$1 seconds=$2 build=$3
  local work="$build/fuzz-corpus/$target" artifacts="$build/fuzz-artifacts/$target"
  mkdir -p "$work" "$artifacts" "$build/fuzz-logs"
  # Leaks are reported by LeakSanitizer at exit; gRPC and protobuf keep
  # process-lifetime singletons that are not leaks.
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$build/bin/${target}_fuzzer" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$target" \
    >"$build/fuzz-logs/$target.log" 2>&1 || true
}
export -f run_one

start=$(date +%s)
stamp="$build/fuzz-logs/.started"
mkdir -p "$build/fuzz-logs"
touch "$stamp"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c "run_one {} $seconds $build"
elapsed=$(( $(date +%s) - start ))

status=0
printf '%-18s %12s %8s %8s %8s\n' target runs cov features crashes
for target in "${targets[@]}"; do
  log="$build/fuzz-logs/$target.log"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  crashes=$(find "$build/fuzz-artifacts/$target" -type f -newer "$stamp" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if grep -q 'ERROR: \(AddressSanitizer\|libFuzzer\|UndefinedBehaviorSanitizer\)\|FUZZ_CHECK' "$log"; then
    crashes=$(( crashes > 0 ? crashes : 1 ))
  fi
  printf '%-18s %12s %8s %8s %8s\n' "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$crashes"
  if [ -z "$runs" ]; then
    status=1
    echo "$target: did not run" >&2
  fi
  if [ "$crashes" -gt 0 ]; then
    status=1
    echo "  $target: see $log and $build/fuzz-artifacts/$target/" >&2
  fi
done
echo "ran ${#targets[@]} target(s) for ${seconds}s each, $jobs at a time, in ${elapsed}s"
exit $status
