#!/usr/bin/env bash
# Where cairnd's CPU goes, per thread, under one workload of cairn-compare:
# starts a fresh cairnd (as run.sh does: --dev, default durability) on a
# free port of 127.0.0.1, runs the workload, and prints each thread's CPU
# time (from /proc/PID/task/*/stat, over the whole run, warm-up included)
# in µs per event and its context switches per event (from
# /proc/PID/task/*/status), threads of one name summed, and the threads
# that exited meanwhile as one line (the process's CPU, from
# /proc/PID/stat, less the live threads'); then the data
# directory's size at the end, and the CPU the hypervisor stole meanwhile.
# Needs build-compare/ (run.sh builds it).
#
#   bash bench/compare/threads.sh --clients 64 --streams 1000
#   bash bench/compare/threads.sh --clients 4 --batch 1000 --streams 1000
#
# The arguments go to `cairn-compare --system cairn --workload append`,
# with --duration $DURATION (default 8) and --warmup $WARMUP (default 1).
# PERF=1 also records `perf record -g` of cairnd into
# build-compare/threads-perf.data; PERF_THREADS=NAME records only the
# threads of that name (cairn-projector), so that the others run as
# without perf. CAIRND=PATH runs another cairnd binary
# (an older build, to compare side by side); CAIRND_ARGS adds flags to its
# command line. READ_MODEL_SUBSCRIBERS=N holds N dashboard subscriptions
# open meanwhile (read_model_subscribers.py; Debian's python3-websocket), as
# the learning app's open dashboards would.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build-compare
WORK=$(mktemp -d)
CAIRN_PID=
PERF_PID=
SUBSCRIBERS_PID=
cleanup() {
  [ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null || true
  [ -z "$SUBSCRIBERS_PID" ] || kill -TERM "$SUBSCRIBERS_PID" 2>/dev/null || true
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

# utime+stime (clock ticks) of a /proc/.../stat file; fails when it is gone
stat_ticks() {
  local stat
  stat=$(cat "$1" 2>/dev/null) || return 1
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))
}
# tid, name, utime+stime, context switches (voluntary and not): one line
# per thread
thread_ticks() {
  for t in /proc/"$CAIRN_PID"/task/*; do
    local ticks name switches
    ticks=$(stat_ticks "$t/stat") || continue
    name=$(cat "$t/comm")
    switches=$(awk '/ctxt_switches/ { n += $2 } END { print n + 0 }' "$t/status" 2>/dev/null) || continue
    echo "${t##*/} $name $ticks $switches"
  done
}
# The whole process's: of its threads that exited too (a WAL filler lives
# as long as its WAL file), which thread_ticks no longer sees
process_ticks() { stat_ticks /proc/"$CAIRN_PID"/stat; }
if [ "${READ_MODEL_SUBSCRIBERS:-0}" -gt 0 ]; then
  /usr/bin/python3 bench/compare/read_model_subscribers.py "127.0.0.1:$PORT" \
    "$READ_MODEL_SUBSCRIBERS" >"$WORK/subscribers.log" &
  SUBSCRIBERS_PID=$!
  for _ in $(seq 200); do
    grep -q subscribed "$WORK/subscribers.log" 2>/dev/null && break
    sleep 0.05
  done
fi
before=$(thread_ticks)
process_before=$(process_ticks)
steal_before=$(awk '/^cpu / { print $9 }' /proc/stat)
if [ "${PERF:-0}" = 1 ]; then
  target=(-p "$CAIRN_PID")
  if [ -n "${PERF_THREADS:-}" ]; then
    tids=$(grep -lx "$PERF_THREADS" /proc/"$CAIRN_PID"/task/*/comm | cut -d/ -f5 | paste -sd,)
    target=(-t "$tids")
  fi
  perf record -g -o "$BUILD/threads-perf.data" "${target[@]}" 2>/dev/null &
  PERF_PID=$!
fi
out=$("$BUILD/tools/loadgen/cairn-compare" --system cairn --target "127.0.0.1:$PORT" \
  --workload append --duration "${DURATION:-8}" --warmup "${WARMUP:-1}" \
  --json "$@" | tail -1)
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; PERF_PID=; fi
after=$(thread_ticks)
process_after=$(process_ticks)
steal_after=$(awk '/^cpu / { print $9 }' /proc/stat)
if [ -n "$SUBSCRIBERS_PID" ]; then
  kill -TERM "$SUBSCRIBERS_PID"; wait "$SUBSCRIBERS_PID" || true; SUBSCRIBERS_PID=
  tail -1 "$WORK/subscribers.log"
fi
echo "$out"
echo "data directory: $(du -sm "$WORK/data" | cut -f1) MiB"
python3 - "$out" "$(getconf CLK_TCK)" <<PY
import json, sys
run = json.loads(sys.argv[1])
tck = int(sys.argv[2])
def parse(text):
    d = {}
    for line in text.splitlines():
        tid, rest = line.split(" ", 1)
        name, ticks, switches = rest.rsplit(" ", 2)
        d[tid] = (name, int(ticks), int(switches))
    return d
# By thread name: what each thread alive at the end did since the start
# (or since it began).
before_tids, after_tids = parse("""$before"""), parse("""$after""")
spent = {}  # name -> (ticks, switches)
for tid, (name, t1, s1) in after_tids.items():
    _, t0, s0 = before_tids.get(tid, (name, 0, 0))
    t, s = spent.get(name, (0, 0))
    spent[name] = (t + t1 - t0, s + s1 - s0)
# warm-up and measured part: events over both, from the measured rate
seconds = run["seconds"] + float("${WARMUP:-1}")
events = run["events_per_s"] * seconds
def per_event(name):
    ticks, switches = spent[name]
    return ticks / tck * 1e6 / events, switches / events
total_us = total_switches = 0
for name in sorted(spent, key=lambda n: -per_event(n)[0]):
    us, switches = per_event(name)
    total_us += us
    total_switches += switches
    if us >= 0.05:
        print(f"{name:20s} {us:7.2f} µs/event {switches:6.2f} switches/event")
# Threads that exited during the run: the process's CPU less the live
# threads'.
exited_us = (($process_after - $process_before) / tck * 1e6 / events
             - total_us)
if exited_us >= 0.05:
    print(f"{'(exited threads)':20s} {exited_us:7.2f} µs/event")
    total_us += exited_us
print(f"{'all threads':20s} {total_us:7.2f} µs/event {total_switches:6.2f} switches/event"
      f" ({run['events_per_s']:.0f} events/s)")
# The hypervisor's steal: a run that lost much CPU to other machines
# measured them (bench/compare/README.md).
stolen = ($steal_after - $steal_before) / tck / seconds
print(f"stolen by the hypervisor: {stolen:.3f} cores")
PY
