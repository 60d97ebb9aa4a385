#!/usr/bin/env bash
# Cairn against PostgreSQL (as an event store) and Redis Streams, side by
# side, in one run: bench/compare/README.md says what is measured and how
# each system is set up; docs/BENCHMARKS.md has the figures.
#
#   bash bench/compare/run.sh [--quick] [--rounds N] [--out DIR] [--no-plots]
#                             [--only RUN,RUN...] [--awake]
#
# Installs what is missing (Debian packages), builds cairnd and
# cairn-compare in build-compare/, starts private instances of the three on
# free ports of 127.0.0.1 with their data in one temp directory, runs each
# workload for every system in turn (cairn, postgres, redis, then again, for
# --rounds rounds), stops everything by its PID, and prints the medians and
# ratios (bench/compare/summarize.py). Results: DIR/results.jsonl (one JSON
# line per run), DIR/summary.md, DIR/summary.tsv and the plots
# DIR/compare-*.png, which a full run (not --quick, --only or --awake)
# copies to docs/ (unless --no-plots). --quick: one round, 3 s runs and a
# 200,000-event log instead of 1,000,000 (a check that everything works,
# not a measurement). --only: just those runs (append-1, append-8,
# append-64, batch-100, batch-1000, subscribe, read-stream, read-log).
# --awake: a busy loop at nice 19 for the whole run, so that one vCPU never
# halts (README.md, "This machine: idle vCPUs wake slowly").
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

QUICK=0
ROUNDS=
OUT=
PLOTS=1
ONLY=
AWAKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-plots) PLOTS=0 ;;
    --only) ONLY=",$2,"; shift ;;
    --awake) AWAKE=1 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  ROUNDS=${ROUNDS:-1} DURATION=3 WARMUP=0.5 LOG_EVENTS=200000 SUB_DURATION=3
  SETTLE_TRIES=4
else
  ROUNDS=${ROUNDS:-3} DURATION=8 WARMUP=1 LOG_EVENTS=1000000 SUB_DURATION=10
  SETTLE_TRIES=20
fi
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-build-compare/compare-$STAMP}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.jsonl
LOG=$OUT/log.txt
: >"$RESULTS"
say() { echo "$*" | tee -a "$LOG"; }

# --- packages and build -----------------------------------------------------
source tools/packages.sh
install_packages "${CAIRN_PACKAGES[@]}" python3 \
  postgresql redis-server libpq-dev libhiredis-dev gnuplot-nox
BUILD=build-compare
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCAIRN_BUILD_TESTS=OFF
fi
cmake --build "$BUILD" --target cairnd cairn-compare
CAIRND=$ROOT/$BUILD/server/cairnd
COMPARE=$ROOT/$BUILD/tools/loadgen/cairn-compare
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# --- private instances ------------------------------------------------------
WORK=$(mktemp -d /tmp/cairn-compare.XXXXXX)
chmod 755 "$WORK"
CAIRN_PID= REDIS_PID= PG_PID= SPIN_PID=
cleanup() {
  set +e
  [ -n "$SPIN_PID" ] && kill -9 "$SPIN_PID" 2>/dev/null
  [ -n "$CAIRN_PID" ] && kill -9 "$CAIRN_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill -9 "$REDIS_PID" 2>/dev/null
  if [ -n "$PG_PID" ]; then
    kill -INT "$PG_PID" 2>/dev/null  # fast shutdown
    for _ in $(seq 100); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PG_PID" 2>/dev/null && kill -9 "$PG_PID"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
CAIRN_PORT=$(free_port) PG_PORT=$(free_port) REDIS_PORT=$(free_port)

# cairnd as shipped: dev mode (no auth; loopback), default durability
# (fsync: the WAL is fdatasync'ed before a 201, group commit).
cairn_start() {
  rm -rf "$WORK/cairn"
  "$CAIRND" --dev --listen "127.0.0.1:$CAIRN_PORT" --data-dir "$WORK/cairn" \
    2>"$WORK/cairnd.log" &
  CAIRN_PID=$!
  for _ in $(seq 600); do
    grep -q '"msg":"listening"' "$WORK/cairnd.log" 2>/dev/null && return
    sleep 0.05
  done
  echo "cairnd did not start"; cat "$WORK/cairnd.log"; exit 1
}
cairn_stop() {
  [ -n "$CAIRN_PID" ] || return 0
  kill -TERM "$CAIRN_PID"; wait "$CAIRN_PID" || true; CAIRN_PID=
}

# Redis: AOF on, fsync of the AOF before each reply (appendfsync always),
# no RDB snapshots; everything else Redis 7's defaults.
redis_start() {
  rm -rf "$WORK/redis"; mkdir -p "$WORK/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" \
    --appendonly yes --appendfsync always --save '' --daemonize no \
    --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  for _ in $(seq 200); do
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return
    sleep 0.05
  done
  echo "redis-server did not start"; cat "$WORK/redis.log"; exit 1
}
redis_stop() {
  [ -n "$REDIS_PID" ] || return 0
  kill -TERM "$REDIS_PID"; wait "$REDIS_PID" || true; REDIS_PID=
}
# Waits while Redis rewrites its AOF in the background (a fork that would
# take CPU from the next run).
redis_quiet() {
  for _ in $(seq 600); do
    redis-cli -p "$REDIS_PORT" info persistence |
      grep -q 'aof_rewrite_in_progress:1' || return 0
    sleep 0.1
  done
}

# PostgreSQL: a private cluster, run by an unprivileged user (the
# postgres system user when this runs as root). Durability as shipped:
# fsync = on, synchronous_commit = on, full_page_writes = on,
# wal_sync_method = fdatasync (Linux default), commit_delay = 0, default
# WAL and checkpoint settings (max_wal_size 1 GB, checkpoint_timeout 5
# min), autovacuum on. Changed: listen on 127.0.0.1:PORT only, 200
# connections (64 clients + followers), shared_buffers 256 MB (the size of
# cairnd's RocksDB block cache; the default is 128 MB; both also have the
# OS page cache).
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  AS_PG=(runuser -u postgres --)
else
  AS_PG=()
fi
pg_start() {
  mkdir -p "$WORK/pg" "$WORK/pgsock"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$WORK/pg" "$WORK/pgsock"; fi
  "${AS_PG[@]}" "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 \
    --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 ||
    { cat "$WORK/initdb.log"; exit 1; }
  cat >>"$WORK/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/pgsock'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w \
    start >/dev/null
  PG_PID=$(head -1 "$WORK/pg/postmaster.pid")
}
export PGOPTIONS='-c client_min_messages=warning'
PSQL=(psql "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres sslmode=disable"
  -qAtX -v ON_ERROR_STOP=1)
# A fresh events table (and, with "notify", the trigger of notify.sql),
# then a checkpoint so that the run does not pay for what came before.
pg_reset() {
  "${PSQL[@]}" -f bench/compare/schema.sql >/dev/null
  if [ "${1:-}" = notify ]; then
    "${PSQL[@]}" -f bench/compare/notify.sql >/dev/null
  fi
  "${PSQL[@]}" -c 'CHECKPOINT' >/dev/null
}

# --- running ----------------------------------------------------------------
# settle N: waits (up to N half seconds; SETTLE_TRIES: 10 s, --quick 2 s) until the machine is quiet: under 15% of the CPUs
# busy over half a second, so that no system's background work (RocksDB
# compaction, a checkpoint, an AOF rewrite) lands in the next one's run.
BUSY=0
settle() {
  local a b
  for _ in $(seq "$1"); do
    a=($(head -1 /proc/stat))
    sleep 0.5
    b=($(head -1 /proc/stat))
    local total=0 idle i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    idle=$((b[4] - a[4] + b[5] - a[5]))
    # --awake: the busy loop's nice time is not "busy".
    [ "$AWAKE" = 1 ] && idle=$((idle + b[2] - a[2]))
    BUSY=$(( total > 0 ? 100 * (total - idle) / total : 0 ))
    if [ "$BUSY" -lt 15 ]; then return 0; fi
  done
  return 0  # busy all along: say so in the results (busy_before)
}
target_of() {
  case "$1" in
    cairn) echo "127.0.0.1:$CAIRN_PORT" ;;
    postgres) echo "127.0.0.1:$PG_PORT" ;;
    redis) echo "127.0.0.1:$REDIS_PORT" ;;
  esac
}
# run SYSTEM NAME ROUND ARGS...: one measured run, its JSON line (with the
# round, the load average, how busy the machine was just before,
# "foreign_cores": the cores that processes other than this script's and
# the postmaster's trees used during the run, bench/compare/cpu.py, and
# "stolen_cores": the CPU time the hypervisor gave to other machines while
# ours wanted it, the steal column of /proc/stat) added to results.jsonl.
# Sets CLEAN=0 when another job took more than FOREIGN_MAX cores meanwhile,
# or the hypervisor more than STEAL_MAX (the line is then marked
# "disturbed"). On a shared host steal comes and goes: a run that lost 40%
# of its CPU to it measured the neighbours, not the system.
FOREIGN_MAX=0.15
STEAL_MAX=0.10
CLEAN=1
cpu_now() { python3 bench/compare/cpu.py $$ ${PG_PID:-}; }
steal_now() { awk '/^cpu / { print $9 }' /proc/stat; }
run() {
  local system=$1 name=$2 round=$3; shift 3
  settle "$SETTLE_TRIES"
  local load1 out line b0 o0 b1 o1 s0 s1 t0 t1 foreign stolen  # b: others, o: ours
  load1=$(cut -d' ' -f1 /proc/loadavg)
  say "== $name, $system, round $round (load $load1, busy ${BUSY}% before)"
  read -r b0 o0 < <(cpu_now)
  s0=$(steal_now)
  t0=$(date +%s.%N)
  out=$(timeout 900 "$COMPARE" --system "$system" --target "$(target_of "$system")" \
    --label "$name" --json "$@" 2>&1) || true
  t1=$(date +%s.%N)
  s1=$(steal_now)
  read -r b1 o1 < <(cpu_now)
  foreign=$(python3 -c "print(round(max(0, $b1 - $b0) / 100 / ($t1 - $t0), 3))")
  stolen=$(python3 -c "print(round(max(0, $s1 - $s0) / 100 / ($t1 - $t0), 3))")
  CLEAN=$(python3 -c "print(int($foreign <= $FOREIGN_MAX and $stolen <= $STEAL_MAX))")
  echo "$out" | grep -v '^{' | tee -a "$LOG"
  say "   other processes: $foreign cores; stolen by the hypervisor: $stolen cores"
  line=$(echo "$out" | grep '^{' | tail -1)
  [ -n "$line" ] || line="{\"system\":\"$system\",\"label\":\"$name\",\"ok\":false}"
  # ours_cpu_s: this script's and the servers' CPU over the run, the
  # client's included (client_cpu_s): what the servers cost.
  local ours
  ours=$(python3 -c "print(round(($o1 - $o0) / 100, 3), round($t1 - $t0, 3), sep=',\"wall_s\":')")
  echo "{\"round\":$round,\"load1\":$load1,\"busy_before\":$BUSY,\"foreign_cores\":$foreign,\"stolen_cores\":$stolen,\"disturbed\":$([ "$CLEAN" = 1 ] && echo false || echo true),\"ours_cpu_s\":$ours,${line#\{}" >>"$RESULTS"
}
fresh() {
  case "$1" in
    cairn) cairn_stop; cairn_start ;;
    postgres) pg_reset "${2:-}" ;;
    redis) redis_stop; redis_start ;;
  esac
}
# After a write run: nothing of it may go on in the background.
done_with() {
  case "$1" in
    cairn) cairn_stop ;;
    postgres) pg_reset ;;  # drops the table, checkpoints
    redis) redis_stop ;;
  esac
}
# measure KIND SYSTEM NAME ROUND ARGS...: a run (KIND write: on a fresh
# store, cleaned up after; notify: the same with PostgreSQL's NOTIFY
# trigger; read: on the loaded store), again (3 tries at most, after
# waiting up to 2 minutes for the machine to be quiet) while another job
# disturbed it.
measure() {
  local kind=$1 system=$2; shift 2
  for try in 1 2 3; do
    case "$kind" in
      write) fresh "$system" ;;
      notify) fresh "$system" notify ;;
    esac
    run "$system" "$@"
    case "$kind" in write | notify) done_with "$system" ;; esac
    [ "$CLEAN" = 1 ] && return 0
    say "   disturbed by another job or the hypervisor: waiting for quiet, then again"
    settle 240
  done
}

SYSTEMS=(cairn postgres redis)
wanted() { [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]]; }
if [ "$AWAKE" = 1 ]; then
  nice -n 19 sh -c 'while :; do :; done' &
  SPIN_PID=$!
fi
say "== cairn-compare, $(date -u +%FT%TZ), $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(uname -r)"
say "== $("$PGBIN/postgres" --version), $(redis-server --version | cut -d' ' -f1-3), rounds $ROUNDS, $DURATION s runs"
say "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)${SPIN_PID:+, with a nice-19 busy loop (--awake)}"
pg_start
say "== postgres: $("${PSQL[@]}" -c "SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_sync_method','commit_delay','shared_buffers','max_wal_size','wal_level','autovacuum')")"

# Write workloads: every run on a fresh store, the clients owning their
# streams (1,000 learners) and appending with an exact expected version.
COMMON=(--duration "$DURATION" --warmup "$WARMUP" --streams 1000)
write_workload() {
  local name=$1; shift
  wanted "$name" || return 0
  for round in $(seq "$ROUNDS"); do
    for system in "${SYSTEMS[@]}"; do
      measure write "$system" "$name" "$round" "$@"
    done
  done
}
write_workload append-1 --workload append --clients 1 "${COMMON[@]}"
write_workload append-8 --workload append --clients 8 "${COMMON[@]}"
write_workload append-64 --workload append --clients 64 "${COMMON[@]}"
write_workload batch-100 --workload append --clients 4 --batch 100 "${COMMON[@]}"
write_workload batch-1000 --workload append --clients 4 --batch 1000 "${COMMON[@]}"

# Subscription delivery: 8 writers at 1,000 appends/s in all, 4 followers
# of the whole log each.
wanted subscribe && for round in $(seq "$ROUNDS"); do
  for system in "${SYSTEMS[@]}"; do
    measure notify "$system" subscribe "$round" --workload subscribe \
      --clients 8 --rate 1000 --subscribers 4 --duration "$SUB_DURATION" \
      --streams 1000
  done
done

# Reads: each system holds the same log, LOG_EVENTS events in streams of
# 1,000 (learner-user-0 .. learner-user-N-1, one 1,000-event request each).
STREAMS=$((LOG_EVENTS / 1000))
if wanted read-stream || wanted read-log; then
cairn_start
redis_start
pg_reset
for system in "${SYSTEMS[@]}"; do
  run "$system" preload 0 --workload preload --clients 4 --batch 1000 \
    --events "$LOG_EVENTS" --streams "$STREAMS"
done
# PostgreSQL: set hint bits and the visibility map, and statistics, now
# rather than during the reads (autovacuum would); Redis: no AOF rewrite
# left running.
"${PSQL[@]}" -c 'VACUUM ANALYZE events' -c 'CHECKPOINT' >/dev/null
redis_quiet
wanted read-stream && for round in $(seq "$ROUNDS"); do
  for system in "${SYSTEMS[@]}"; do
    measure read "$system" read-stream "$round" --workload read-stream --clients 8 \
      --streams "$STREAMS" --stream-events 1000 --duration "$DURATION" \
      --warmup "$WARMUP"
  done
done
wanted read-log && for round in $(seq "$ROUNDS"); do
  for system in "${SYSTEMS[@]}"; do
    measure read "$system" read-log "$round" --workload read-log --clients 1 \
      --expect-events "$LOG_EVENTS" --duration 3
  done
done
cairn_stop
redis_stop
fi
say "== load average after: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

python3 bench/compare/summarize.py "$RESULTS" --out "$OUT" --plots "$OUT" | tee -a "$LOG"
# Only a full run replaces the plots of docs/BENCHMARKS.md.
if [ "$PLOTS" = 1 ] && [ "$QUICK" = 0 ] && [ -z "$ONLY" ] && [ "$AWAKE" = 0 ]; then
  cp "$OUT"/compare-appends.png "$OUT"/compare-reads.png \
    "$OUT"/compare-latency.png docs/
  say "== plots copied to docs/"
fi
say "== results in $OUT"
