#!/usr/bin/env bash
# Runs the fault tests: origins that reset, stall or refuse; slow and idle
# clients; a control plane stream cut mid-snapshot or sending malformed
# snapshots; an unwritable or full state dir; certgate-control killed with
# SIGKILL during a burst of writes; oversized, smuggled and malformed
# requests; the body and connection limits.
#
#   tests/integration/faults/run.sh [BUILD_DIR] [CTEST_ARGS...]   (default: build)
#
# Builds what the tests start (edge, control plane) and the tests, then runs
# them under CTest; any extra arguments go to ctest (e.g. -V, -R Origin).
set -euo pipefail
cd "$(dirname "$0")/../../.."
build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
  echo "$build is not configured: run deploy/test.sh first" >&2
  exit 2
fi
cmake --build "$build" --target fault_tests certgate-edge certgate-control
ctest --test-dir "$build" --output-on-failure -j2 --timeout 300 \
  -R '^(EdgeFaultTest|ControlPlaneKillTest)\.' "$@"
