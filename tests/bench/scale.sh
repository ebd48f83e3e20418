#!/usr/bin/env bash
# Zone-count sweep: tests/bench/propagation.sh (a fresh control plane, zones
# made through the tenant API, 100 light streams, 3 real certgate-edge
# processes) once per zone count, then one table and a plot of an edge's
# apply time (cold start from disk and from the control plane) and memory
# against the zone count.
#
#   tests/bench/scale.sh [--zones "1000 10000 100000"] [--with-1m] [--changes N]
#                        [--build-dir DIR] [--out DIR] [--report-only]
#
# --with-1m adds 1,000,000 zones (on 2 cores mostly zone creation, about half
# an hour at ~700 zones/s, and several GB of memory); each row reports how
# long it took. Writes DIR/scale.md and DIR/scale.png (DIR: BUILD/bench-results);
# --report-only writes them again from the rows DIR already holds.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
build_dir="$repo/build"
zone_counts="1000 10000 100000"
changes=200
out=""
report_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --zones) zone_counts=$2; shift 2 ;;
    --with-1m) zone_counts="$zone_counts 1000000"; shift ;;
    --changes) changes=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --report-only) report_only=1; shift ;;
    *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out=${out:-$build_dir/bench-results}
mkdir -p "$out"
log() { echo "[scale $(date -u +%H:%M:%S)] $*" >&2; }

for zones in $zone_counts; do
  [ "$report_only" -eq 0 ] || break
  log "$zones zones"
  started=$(date +%s)
  "$script_dir/propagation.sh" --zones "$zones" --edges 100 --changes "$changes" \
    --build-dir "$build_dir" --json-out "$out/scale-$zones.json" 2>"$out/scale-$zones.log" ||
    { tail -20 "$out/scale-$zones.log" >&2; exit 1; }
  echo $(($(date +%s) - started)) >"$out/scale-$zones.seconds"
done

python3 - "$out" $zone_counts <<'EOF'
import json, sys
out, counts = sys.argv[1], sys.argv[2:]
rows = []
for n in counts:
    d = json.load(open(f"{out}/scale-{n}.json"))
    d["sweep_s"] = int(open(f"{out}/scale-{n}.seconds").read())
    rows.append(d)
mib = lambda kib: kib / 1024
with open(f"{out}/scale.md", "w") as f:
    f.write("| zones | snapshot MB | change → served by 3 real edges, p50 / p99 / max ms "
            f"({rows[0]['changes']} changes) | edge cold start from disk, s | from the control "
            "plane, 3 at once, s (slowest) | edge RSS after the changes, MiB | after a start "
            "from disk, MiB | control plane peak RSS, 100 light + 3 real edges, MiB | "
            "bytes written per change | largest snapshot message | row took, s |\n")
    f.write("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for d in rows:
        f.write(f"| {d['zones']:,} | {d['snapshot_bytes'] / 1e6:.1f} | "
                f"{d['served_p50_ms']:.1f} / {d['served_p99_ms']:.1f} / {d['served_max_ms']:.1f} | "
                f"{d['cold_start_disk_ms'] / 1000:.2f} | {max(d['cold_start_control_ms']) / 1000:.2f} | "
                f"{mib(d['edge_rss_kib_after_changes']):.0f} | {mib(d['edge_rss_kib_from_disk']):.0f} | "
                f"{mib(d['control_hwm_kib']):.0f} | {d['written_per_change']:.0f} | "
                f"{d['max_snapshot_message_bytes']:,} B | {d['sweep_s']} |\n")
with open(f"{out}/scale.dat", "w") as f:
    for d in rows:
        f.write(f"{d['zones']} {d['cold_start_disk_ms'] / 1000:.3f} "
                f"{max(d['cold_start_control_ms']) / 1000:.3f} "
                f"{mib(d['edge_rss_kib_after_changes']):.1f} {mib(d['edge_rss_kib_from_disk']):.1f}\n")
EOF
cat "$out/scale.md"

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF || log "gnuplot failed"
set terminal pngcairo size 900,520
set output "$out/scale.png"
set title "certgate-edge: apply time and memory against zone count"
set logscale xy
set logscale y2
set xrange [700:*]
set xlabel "zones"
set ylabel "cold start, s"
set y2label "edge resident memory, MiB"
set y2tics
set ytics nomirror
set key left top
plot "$out/scale.dat" using 1:2 with linespoints lw 2 title "cold start from disk (s)", \
     "$out/scale.dat" using 1:3 with linespoints lw 2 title "cold start from the control plane, 3 at once (s)", \
     "$out/scale.dat" using 1:4 axes x1y2 with linespoints lw 2 dt 2 title "RSS after the changes (MiB)", \
     "$out/scale.dat" using 1:5 axes x1y2 with linespoints lw 2 dt 2 title "RSS after a start from disk (MiB)"
EOF
  log "wrote $out/scale.md and $out/scale.png"
fi
