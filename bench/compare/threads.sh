#!/usr/bin/env bash
# Where cairnd's CPU goes, per thread, under one workload of cairn-compare:
# starts a fresh cairnd (as run.sh does: --dev, default durability) on a
# free port of 127.0.0.1, runs the workload, and prints each thread's CPU
# time (from /proc/PID/task/*/stat, over the whole run, warm-up included)
# in µs per event, threads of one name summed, and the data directory's
# size at the end. Needs build-compare/ (run.sh
# builds it).
#
#   bash bench/compare/threads.sh --clients 64 --streams 1000
#   bash bench/compare/threads.sh --clients 4 --batch 1000 --streams 1000
#
# The arguments go to `cairn-compare --system cairn --workload append`,
# with --duration $DURATION (default 8) and --warmup $WARMUP (default 1). PERF=1 also records `perf record -g`
# of cairnd into build-compare/threads-perf.data. CAIRND=PATH runs another
# cairnd binary (an older build, to compare side by side); CAIRND_ARGS
# adds flags to its command line.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build-compare
WORK=$(mktemp -d)
CAIRN_PID=
PERF_PID=
cleanup() {
  [ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null || true
  [ -z "$CAIRN_PID" ] || { kill -TERM "$CAIRN_PID"; wait "$CAIRN_PID" || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CAIRND:-$BUILD/server/cairnd}" --dev --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  ${CAIRND_ARGS:-} 2>"$WORK/cairnd.log" &
CAIRN_PID=$!
for _ in $(seq 600); do
  grep -q '"msg":"listening"' "$WORK/cairnd.log" 2>/dev/null && break
  sleep 0.05
done

# name utime+stime (clock ticks), one line per thread
thread_ticks() {
  for t in /proc/"$CAIRN_PID"/task/*; do
    local stat name
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    name=$(cat "$t/comm")
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    echo "$name $((f[11] + f[12]))"
  done
}
before=$(thread_ticks)
if [ "${PERF:-0}" = 1 ]; then
  perf record -g -o "$BUILD/threads-perf.data" -p "$CAIRN_PID" 2>/dev/null &
  PERF_PID=$!
fi
out=$("$BUILD/tools/loadgen/cairn-compare" --system cairn --target "127.0.0.1:$PORT" \
  --workload append --duration "${DURATION:-8}" --warmup "${WARMUP:-1}" \
  --json "$@" | tail -1)
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; PERF_PID=; fi
after=$(thread_ticks)
echo "$out"
echo "data directory: $(du -sm "$WORK/data" | cut -f1) MiB"
python3 - "$out" "$(getconf CLK_TCK)" <<PY
import json, sys
run = json.loads(sys.argv[1])
tck = int(sys.argv[2])
def parse(text):
    d = {}
    for line in text.splitlines():
        name, ticks = line.rsplit(" ", 1)
        d[name] = d.get(name, 0) + int(ticks)
    return d
b, a = parse("""$before"""), parse("""$after""")
# warm-up and measured part: events over both, from the measured rate
seconds = run["seconds"] + float("${WARMUP:-1}")
events = run["events_per_s"] * seconds
total = 0
for name in sorted(a, key=lambda n: -(a[n] - b.get(n, 0))):
    us = (a[name] - b.get(name, 0)) / tck * 1e6 / events
    total += us
    if us >= 0.05:
        print(f"{name:20s} {us:7.2f} µs/event")
print(f"{'all threads':20s} {total:7.2f} µs/event ({run['events_per_s']:.0f} events/s)")
PY
