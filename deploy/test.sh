#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test.
#
#   deploy/test.sh                 # build/ : unit, integration and end-to-end tests
#   CERTGATE_SANITIZE=1 deploy/test.sh   # build-asan/ : deploy/sanitize.sh asan, the
#                                        # tests under ASan + UBSan with its report
#                                        # collection (child processes included)
#
# The plain run also builds the unit tests with ASan + UBSan in build/asan/
# and runs them (deploy/sanitize.sh asan-unit).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CERTGATE_SANITIZE:-0}" = 1 ]; then
  exec deploy/sanitize.sh asan
fi

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if command -v ccache >/dev/null 2>&1 && [ -z "${CI:-}" ]; then
  cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

deploy/install-deps.sh "$build_dir"
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" \
  -DCERTGATE_BORINGSSL_DIR="$PWD/$build_dir/_deps/boringssl" >/dev/null
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 600
BUILD_DIR="$build_dir/asan" BORINGSSL_FROM="$build_dir" deploy/sanitize.sh asan-unit
