#!/usr/bin/env bash
# Appends as the store grows: starts a fresh cairnd (as run.sh does:
# --dev, default durability) on a free port of 127.0.0.1, preloads
# $EVENTS events (default 20,000,000) in 1,000-event batches from 4
# clients into 1,000 streams, and prints the rate and p99, cairnd's CPU
# over the preload, then, from RocksDB's LOG, each column family's
# compactions (how many, the records they read, their CPU, the bytes they
# wrote) and the files compaction moved down a level without rewriting
# them; then the data directory's size. A short run hides what grows
# with the store (a compaction that rewrites a whole level each time);
# this one shows it. Needs build-compare/ (run.sh builds it).
#
#   bash bench/compare/growth.sh
#   EVENTS=5000000 CAIRND=/tmp/cairnd.old bash bench/compare/growth.sh
#
# CAIRND=PATH runs another cairnd binary (to compare side by side).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build-compare
WORK=$(mktemp -d)
CAIRN_PID=
cleanup() {
  [ -z "$CAIRN_PID" ] || { kill -TERM "$CAIRN_PID"; wait "$CAIRN_PID" || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CAIRND:-$BUILD/server/cairnd}" --dev --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  2>"$WORK/cairnd.log" &
CAIRN_PID=$!
for _ in $(seq 600); do
  grep -q '"msg":"listening"' "$WORK/cairnd.log" 2>/dev/null && break
  sleep 0.05
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$CAIRN_PID/stat"; }
before=$(cpu_ticks)
"$BUILD/tools/loadgen/cairn-compare" --system cairn --target "127.0.0.1:$PORT" \
  --workload preload --clients 4 --batch 1000 --streams 1000 \
  --events "${EVENTS:-20000000}" --json | tail -1 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("%.0f events/s, p99 %.1f ms, %d errors" % (r["events_per_s"], r["p99_ms"], r["errors"]))'
echo "cairnd CPU over the preload: $((($(cpu_ticks) - before) / $(getconf CLK_TCK))) s"

python3 - "$WORK/data/LOG" <<'PY'
import collections, json, re, sys
family_of_job = {}
done = collections.defaultdict(lambda: [0, 0, 0, 0])
moved = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"\[([\w$-]+)\] \[JOB (\d+)\] Compacting ", line)
    if m:
        family_of_job[m[2]] = m[1]
        continue
    m = re.search(r"\[([\w$-]+)\] Moving #", line)
    if m:
        moved[m[1]] += 1
        continue
    if '"event": "compaction_finished"' in line:
        j = json.loads(line[line.index("{"):])
        d = done[family_of_job.get(str(j["job"]), "?")]
        d[0] += 1
        d[1] += j["num_input_records"]
        d[2] += j["compaction_time_cpu_micros"]
        d[3] += j["total_output_size"]
for family in sorted(set(done) | set(moved)):
    n, records, cpu, out = done[family]
    print(f"{family:10s} {n:4d} compactions, {records:11,d} records read, "
          f"{cpu / 1e6:6.2f} s CPU, {out / 2**20:7.1f} MiB written, "
          f"{moved[family]:4d} files moved")
PY
echo "data directory: $(du -sm "$WORK/data" | cut -f1) MiB"
