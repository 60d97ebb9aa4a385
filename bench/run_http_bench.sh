#!/usr/bin/env bash
# The HTTP scenarios of docs/BENCHMARKS.md, each against a fresh cairnd on
# a temp data directory on 127.0.0.1, stopped by its PID afterwards.
#
#   bash bench/run_http_bench.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CAIRND="$BUILD/server/cairnd"
LOADGEN="$BUILD/tools/loadgen/cairn-loadgen"
PORT=18690
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill -TERM $PID 2>/dev/null; rm -rf "$WORK"' EXIT

start() {  # start [cairnd flags]: a fresh store
  rm -rf "$WORK/data"
  "$CAIRND" --dev --listen 127.0.0.1:$PORT --data-dir "$WORK/data" "$@" \
    2>"$WORK/server.log" &
  PID=$!
  for _ in $(seq 200); do
    grep -q '"msg":"listening"' "$WORK/server.log" 2>/dev/null && return
    sleep 0.05
  done
  echo "cairnd did not start"; cat "$WORK/server.log"; exit 1
}
stop() { kill -TERM "$PID"; wait "$PID" || true; PID=; }
load() { "$LOADGEN" --target 127.0.0.1:$PORT "$@"; }

echo "== $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "== durable single-event appends, 64 connections"
start; load --workload append --connections 64 --duration 8; stop
echo "== durable single-event appends, 8 connections (latency)"
start; load --workload append --connections 8 --duration 8; stop
echo "== batch ingest, 1,000 events a request, 4 connections"
start; load --workload batch --batch 1000 --connections 4 --duration 8; stop
echo "== preload 1,000,000 events, then read the log as NDJSON and stream pages"
start
load --workload preload --events 1000000 --connections 4
load --workload read-log --connections 1 --duration 3 --warmup 0
load --workload read-stream --limit 100 --connections 8 --duration 5
stop
