#!/usr/bin/env bash
# The build's dataplane include check (cmake/CheckDataplaneLayers.cmake) on a
# copy of dataplane/: it passes on the tree as it is, and fails, naming the
# file and the include, when a lower layer includes a higher one or a folder
# has no layer.
#   layers_check_test.sh REPO_DIR
set -euo pipefail
repo=$1
check="$repo/cmake/CheckDataplaneLayers.cmake"
work=$(mktemp -d "${TMPDIR:-/tmp}/certgate-layers.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

run_check() { cmake -DDATAPLANE_DIR="$work/dataplane" -P "$check" 2>&1; }
fresh() { rm -rf "$work/dataplane"; cp -r "$repo/dataplane" "$work/dataplane"; }

fresh
out=$(run_check) || fail "the tree as it is fails the check: $out"

# tls/ is the lowest layer: it may not include config/ (the old cycle).
fresh
echo '#include "dataplane/config/edge_config.h"' >>"$work/dataplane/tls/zone_trust.h"
if out=$(run_check); then fail "tls/ including config/ passed"; fi
grep -q 'dataplane/tls/zone_trust.h: #include "dataplane/config/edge_config.h"' <<<"$out" ||
  fail "the message does not name the file and include: $out"

# config/ may not include the handshake layer above it.
fresh
echo '#include "dataplane/handshake/tls_server.h"' >>"$work/dataplane/config/edge_config.cc"
if out=$(run_check); then fail "config/ including handshake/ passed"; fi

# metrics/ stands alone.
fresh
echo '#include "dataplane/http/client_connection.h"' >>"$work/dataplane/metrics/log_file.cc"
if out=$(run_check); then fail "metrics/ including http/ passed"; fi

# A new folder must be given a layer.
fresh
mkdir "$work/dataplane/extra"
echo '#include "dataplane/tls/zone_trust.h"' >"$work/dataplane/extra/x.cc"
if out=$(run_check); then fail "a folder without a layer passed"; fi
grep -q 'dataplane/extra/ has no layer' <<<"$out" || fail "no message for the new folder: $out"
echo "ok"
