# Sourced by the bench/run_*.sh scripts: one cairnd at a time on
# 127.0.0.1:$PORT with its data in $WORK (a temp directory removed on exit),
# started and stopped by its PID. Set BUILD and PORT before sourcing.
CAIRND="$BUILD/server/cairnd"
LOADGEN="$BUILD/tools/loadgen/cairn-loadgen"
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$WORK"' EXIT

# Dev mode (no auth) unless a script empties this.
DEV_FLAG=(--dev)
# launch [cairnd flags]: starts cairnd on $WORK/data, without waiting.
launch() {
  "$CAIRND" "${DEV_FLAG[@]}" --listen 127.0.0.1:$PORT --data-dir "$WORK/data" "$@" \
    2>"$WORK/server.log" &
  PID=$!
}
# start [cairnd flags]: launch, then wait until it listens.
start() {
  launch "$@"
  for _ in $(seq 600); do
    grep -q '"msg":"listening"' "$WORK/server.log" 2>/dev/null && return
    sleep 0.05
  done
  echo "cairnd did not start"; cat "$WORK/server.log"; exit 1
}
# start_fresh [cairnd flags]: start on an empty store.
start_fresh() { rm -rf "$WORK/data"; start "$@"; }
stop() { kill -TERM "$PID"; wait "$PID" || true; PID=; }
load() { "$LOADGEN" --target 127.0.0.1:$PORT "$@"; }
machine() {
  echo "== $(date -u +%FT%TZ), $(nproc) cores," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
}
