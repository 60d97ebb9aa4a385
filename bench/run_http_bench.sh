#!/usr/bin/env bash
# The HTTP scenarios of docs/BENCHMARKS.md, each against a fresh cairnd on
# a temp data directory on 127.0.0.1, stopped by its PID afterwards.
#
#   bash bench/run_http_bench.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PORT=18690
source bench/cairnd.sh

machine
echo "== durable single-event appends, 64 connections"
start_fresh; load --workload append --connections 64 --duration 8; stop
echo "== durable single-event appends, 8 connections (latency)"
start_fresh; load --workload append --connections 8 --duration 8; stop
echo "== batch ingest, 1,000 events a request, 4 connections"
start_fresh; load --workload batch --batch 1000 --connections 4 --duration 8; stop
echo "== preload 1,000,000 events, then read the log as NDJSON and stream pages"
start_fresh
load --workload preload --events 1000000 --connections 4
load --workload read-log --connections 1 --duration 3 --warmup 0
load --workload read-stream --limit 100 --connections 8 --duration 5
stop
