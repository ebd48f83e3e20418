#!/usr/bin/env bash
# Builds and runs the tests under sanitizers.
#
#   deploy/sanitize.sh asan [CTEST_ARGS...]   build-asan/: every unit and integration
#                                             test under AddressSanitizer + UBSan
#   deploy/sanitize.sh asan-unit              build-asan/: the unit tests only (what
#                                             deploy/test.sh runs, in build/asan/)
#   deploy/sanitize.sh tsan [GTEST_FILTER]    build-tsan/: the edge's unit tests, its
#                                             integration tests and its fault tests
#                                             under ThreadSanitizer
#
# BUILD_DIR overrides the folder; an already configured folder is used as it
# is (e.g. build-fuzz/, which clang builds with ASan + UBSan), after checking
# that its sanitizer option is on.
# Child processes the tests start (certgate-edge, certgate-control) are
# sanitized too; their reports go to BUILD/sanitizer-reports/ (a child's
# stderr is only its log file) and any report fails the run. Debug builds.
# BUILD_JOBS (default 2) sets the build's parallelism. BORINGSSL_FROM names
# another build folder whose BoringSSL source to use instead of fetching it
# again.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
shift || true
case "$mode" in
  asan | asan-unit) build=${BUILD_DIR:-build-asan}; option=CERTGATE_SANITIZE ;;
  tsan) build=${BUILD_DIR:-build-tsan}; option=CERTGATE_TSAN ;;
  *)
    echo "usage: $0 asan|tsan [args]" >&2
    exit 2
    ;;
esac
case $build in /*) ;; *) build=$PWD/$build ;; esac

if [ -f "$build/CMakeCache.txt" ]; then
  if ! grep -q "^$option:BOOL=ON" "$build/CMakeCache.txt"; then
    echo "$build is configured without -D$option=ON" >&2
    exit 2
  fi
else
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug "-D$option=ON")
  if command -v ccache >/dev/null 2>&1 && [ -z "${CI:-}" ]; then
    cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  source_build=${BORINGSSL_FROM:-$build}
  case $source_build in /*) ;; *) source_build=$PWD/$source_build ;; esac
  deploy/install-deps.sh "$source_build" >/dev/null
  cmake -S . -B "$build" -G Ninja "${cmake_args[@]}" \
    -DCERTGATE_BORINGSSL_DIR="$source_build/_deps/boringssl" >/dev/null
fi

reports="$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
# Debian's gRPC, protobuf and Abseil are not instrumented: their
# process-lifetime singletons are not leaks, and TSan cannot see their
# synchronisation, so reports that start inside them are not ours.
cat >"$build/lsan.supp" <<'SUPP'
leak:libgrpc
leak:libgpr
leak:libprotobuf
leak:libabsl
leak:libcares
SUPP
cat >"$build/tsan.supp" <<'SUPP'
called_from_lib:libgrpc.so
called_from_lib:libgrpc++.so
called_from_lib:libgpr.so
SUPP
status=0

if [ "$mode" = asan ] || [ "$mode" = asan-unit ]; then
  if [ "$mode" = asan-unit ]; then
    # Only what the unit tests need: no binaries, no integration tests.
    cmake --build "$build" -j "${BUILD_JOBS:-2}" --target common_unit_tests \
      controlplane_unit_tests dataplane_core_unit_tests dataplane_http_unit_tests cli_unit_tests
    set -- -L unit "$@"
  else
    cmake --build "$build" -j "${BUILD_JOBS:-2}"
  fi
  # Leak checking stays on for our processes; gRPC's and protobuf's
  # process-lifetime singletons are not leaks of ours.
  export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0"
  export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$build/lsan.supp:print_suppressions=0"
  ctest --test-dir "$build" --output-on-failure -j2 --timeout 900 -LE bench "$@" || status=1
else
  targets=(dataplane_core_unit_tests dataplane_http_unit_tests edge_integration_tests
           fault_tests certgate-edge certgate-control certgate-echo-origin)
  cmake --build "$build" -j "${BUILD_JOBS:-2}" --target "${targets[@]}"
  export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:exitcode=0:second_deadlock_stack=1:suppressions=$build/tsan.supp"
  # exitcode=0: a process with reports still exits as it would (the tests
  # judge behaviour); the reports are counted below. Debian's Abseil is not
  # built with TSan, so absl::Mutex is invisible to it: expect reports on
  # data that an absl::Mutex guards until Abseil is instrumented too.
  filter=${1:-*}
  for test in dataplane_core_unit_tests dataplane_http_unit_tests edge_integration_tests; do
    echo "== $test"
    "$build/bin/$test" --gtest_filter="$filter" || status=1
  done
  echo "== fault_tests (edge)"
  "$build/bin/fault_tests" --gtest_filter="EdgeFaultTest.*:-*FiveThousand*" || status=1
fi

# Every report, from the tests or from a process they started, counted by
# where it points.
shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  status=1
  echo "sanitizer reports: ${#found[@]} files in $reports; most frequent:"
  { grep -h '^SUMMARY' "${found[@]}" || true; } | sed 's/(pid=[0-9]*)//' | sort | uniq -c |
    sort -rn | head -25 || true  # head leaves early: sort's SIGPIPE is not a failure
else
  echo "no sanitizer reports"
fi
exit $status
