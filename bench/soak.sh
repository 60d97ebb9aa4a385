#!/usr/bin/env bash
# A soak run (issue 7): one cairnd on a fresh temp data directory on
# 127.0.0.1, under mixed load for MINUTES, sampled every INTERVAL seconds:
# throughput, p99 latency, RSS and open file descriptors over time, written
# to a TSV. It fails (exit 1) on growth: RSS, descriptors (other than the
# table files, which RocksDB keeps open and which grow with the data: they
# are counted apart) or p99 rising, or
# throughput falling, from the second quarter of the run to the last one.
# Outside CI (it runs for minutes); stopped by the PIDs it started.
#
#   bash bench/soak.sh [BUILD_DIR] [MINUTES] [INTERVAL]   (build, 20, 30)
#   OUT=soak.tsv bash bench/soak.sh build 20 30
#
# The load, all at once: WebSocket subscribers on their own streams and on
# the log, fed by cairn-subscribe-bench's paced appends for the whole run
# (live delivery, the live log, projections); and, in turns of INTERVAL
# seconds, cairn-loadgen's single appends (16 connections), 100-event
# batches (4) and stream reads (16), each turn one sample.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MINUTES=${2:-20}
INTERVAL=${3:-30}
PORT=18697
source bench/cairnd.sh
SUBBENCH="$BUILD/tools/loadgen/cairn-subscribe-bench"
OUT=${OUT:-$WORK/soak.tsv}
SUB_PID=
trap '[ -n "$SUB_PID" ] && kill -9 $SUB_PID 2>/dev/null;
      [ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$WORK"' EXIT

machine
echo "== soak: $MINUTES min, a sample every $INTERVAL s, into $OUT"
start_fresh
"$SUBBENCH" --target 127.0.0.1:$PORT --mode latency --subscribers 200 \
  --log-subscribers 4 --rate 500 --writers 8 --duration $((MINUTES * 60)) \
  >"$WORK/subscribe.log" 2>&1 &
SUB_PID=$!

printf 'second\tworkload\tevents_per_s\tp99_ms\trss_kib\tfds\tsst_fds\n' >"$OUT"
started=$SECONDS
workloads=(append batch read-stream)
turn=0
while [ $((SECONDS - started + INTERVAL)) -le $((MINUTES * 60)) ]; do
  w=${workloads[$((turn % 3))]}
  case $w in
    append) args=(--workload append --connections 16) ;;
    batch) args=(--workload batch --batch 100 --connections 4) ;;
    read-stream) args=(--workload read-stream --limit 100 --connections 16) ;;
  esac
  summary=$(load --tenant soak "${args[@]}" --duration "$INTERVAL" --json |
    tail -1)
  kill -0 "$PID" 2>/dev/null || { echo "cairnd died"; cat "$WORK/server.log"; exit 1; }
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  # Descriptors other than table files (sockets, WAL, LOG, ...), and those.
  # A descriptor closed while find reads the list (a compaction's input)
  # makes it fail; it is simply not counted.
  sst_fds=$({ find "/proc/$PID/fd" -lname '*.sst' 2>/dev/null || true; } | wc -l)
  fds=$(($(ls "/proc/$PID/fd" | wc -l) - sst_fds))
  eps=$(echo "$summary" | grep -o '"events_per_s":[0-9.eE+-]*' | cut -d: -f2)
  p99=$(echo "$summary" | grep -o '"p99_ms":[0-9.eE+-]*' | cut -d: -f2)
  printf '%d\t%s\t%s\t%s\t%s\t%s\t%s\n' $((SECONDS - started)) "$w" "$eps" "$p99" \
    "$rss" "$fds" "$sst_fds" | tee -a "$OUT"
  turn=$((turn + 1))
done
wait "$SUB_PID" || { echo "the subscription load failed:"; cat "$WORK/subscribe.log"; exit 1; }
SUB_PID=
tail -4 "$WORK/subscribe.log"
stop

# Growth: each figure's median over the samples of the second quarter
# (after warm-up: caches and memtables filled) against the last quarter's,
# per workload for throughput and p99. Bounds: RSS +25% and +64 MiB, file
# descriptors other than table files +64, throughput -30%, p99 x3.
awk -F'\t' '
  NR == 1 { next }
  { n++; t[n] = $1; w[n] = $2; e[n] = $3; p[n] = $4; r[n] = $5; f[n] = $6; s[n] = $7 }
  function median(a, lo, hi, key,    i, k, v, tmp) {
    k = 0
    for (i = lo; i <= hi; i++) if (key == "" || w[i] == key) v[++k] = a[i]
    if (k == 0) return -1
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
      if (v[j] + 0 < v[i] + 0) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
    return v[int((k + 1) / 2)]
  }
  END {
    if (n < 8) { print "soak: too few samples (" n ") to judge growth"; exit 1 }
    q2a = int(n / 4) + 1; q2b = int(n / 2); q4a = int(3 * n / 4) + 1; q4b = n
    bad = 0
    r2 = median(r, q2a, q2b, ""); r4 = median(r, q4a, q4b, "")
    f2 = median(f, q2a, q2b, ""); f4 = median(f, q4a, q4b, "")
    s2 = median(s, q2a, q2b, ""); s4 = median(s, q4a, q4b, "")
    printf "soak: RSS %d -> %d KiB, descriptors %d -> %d (and table files %d -> %d)\n", r2, r4, f2, f4, s2, s4
    if (r4 > r2 * 1.25 && r4 - r2 > 65536) { print "soak: FAIL, RSS grew"; bad = 1 }
    if (f4 - f2 > 64) { print "soak: FAIL, descriptors grew"; bad = 1 }
    split("append batch read-stream", ws, " ")
    for (i = 1; i <= 3; i++) {
      e2 = median(e, q2a, q2b, ws[i]); e4 = median(e, q4a, q4b, ws[i])
      p2 = median(p, q2a, q2b, ws[i]); p4 = median(p, q4a, q4b, ws[i])
      if (e2 < 0 || e4 < 0) continue
      printf "soak: %s events/s %.0f -> %.0f, p99 %.2f -> %.2f ms\n", ws[i], e2, e4, p2, p4
      if (e4 < e2 * 0.7) { print "soak: FAIL, " ws[i] " throughput fell"; bad = 1 }
      if (p4 > p2 * 3) { print "soak: FAIL, " ws[i] " p99 grew"; bad = 1 }
    }
    if (!bad) print "soak: OK, no growth"
    exit bad
  }' "$OUT"
