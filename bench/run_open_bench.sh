#!/usr/bin/env bash
# How fast a large data directory opens (docs/BENCHMARKS.md, "Opening a data
# directory"): fills a fresh store with EVENTS events through cairn-loadgen,
# then times restarts of cairnd from exec to the first /readyz 200, after a
# clean stop, with the page cache dropped (when allowed), and after kill -9
# with 200,000 more events in the WAL. Servers run on 127.0.0.1 and are
# stopped by their PIDs.
#
#   bash bench/run_open_bench.sh [BUILD_DIR] [EVENTS]   (build, 10000000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
EVENTS=${2:-10000000}
PORT=18693
source bench/cairnd.sh

restart_timed() {  # prints the time from exec to the first /readyz 200
  local t0
  t0=$(date +%s%N)
  launch
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.005; done
  echo "ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms," \
    "$(grep -o '"open_ms":[0-9]*' "$WORK/server.log")"
}
preload() {
  load --workload preload --events "$1" --connections 4 |
    grep -E "events/s|errors"
}

machine
echo "== preload $EVENTS events"
start; preload "$EVENTS"; stop
du -sh "$WORK/data"
echo "== first restart after SIGTERM"; restart_timed; stop
echo "== restart after SIGTERM, warm"; restart_timed; stop
sync
if echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
  echo "== restart after SIGTERM, page cache dropped"; restart_timed; stop
fi
echo "== 200,000 more events, then kill -9"
start; preload 200000; kill -9 "$PID"; wait "$PID" || true; PID=
echo "== restart after kill -9"; restart_timed; stop
