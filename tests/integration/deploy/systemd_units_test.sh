#!/usr/bin/env bash
# The systemd units pass `systemd-analyze verify`, with ExecStart pointed at
# the binaries just built. Skipped (exit 77) where systemd-analyze cannot run.
set -euo pipefail
src_dir=$1
bin_dir=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not installed"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in certgate-control certgate-edge; do
  sed "s|/usr/local/bin/$unit|$bin_dir/$unit|" "$src_dir/deploy/systemd/$unit.service" \
    >"$work/$unit.service"
done
out=$(cd "$work" && systemd-analyze verify certgate-control.service certgate-edge.service 2>&1) || {
  echo "$out"
  exit 1
}
if [ -n "$out" ]; then
  echo "systemd-analyze verify printed warnings:"
  echo "$out"
  exit 1
fi
grep -q '^DynamicUser=yes' "$work/certgate-edge.service"
grep -q '^ProtectSystem=strict' "$work/certgate-control.service"
# reload hands the edge's sockets to a new process, which becomes MAINPID.
grep -q '^Type=notify' "$work/certgate-edge.service"
grep -q '^NotifyAccess=all' "$work/certgate-edge.service"
grep -q '^ExecReload=/bin/kill -USR2 \$MAINPID' "$work/certgate-edge.service"
echo "both units verified"
