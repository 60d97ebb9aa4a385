#!/usr/bin/env bash
# Issue 5: JWT verification must not dent append throughput. Durable
# single-event appends at 64 connections, 5 s each, against a fresh cairnd
# in dev mode, with HS256 tokens and with ES256 tokens (JWKS), alternating
# over ROUNDS rounds (default 3) so that the machine's drift falls on all
# three alike; the sums decide.
#
#   [ROUNDS=N] bash bench/run_auth_bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
PORT=18696
source bench/cairnd.sh

python3 -c "import cryptography" 2>/dev/null ||
  apt-get install -y -q --no-install-recommends python3-cryptography

machine
head -c 48 /dev/urandom | base64 >"$WORK/secret"
HS256=$(python3 bench/auth/mint_token.py hs256 "$WORK/secret" bench)
ES256=$(python3 bench/auth/mint_token.py es256 "$WORK" bench)

run() {  # run NAME [cairnd flags] -- [loadgen flags]
  local name=$1; shift
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  start_fresh "${flags[@]}"
  echo "$name: $(load --workload append --connections 64 --duration 5 \
    --warmup 1 "$@" | grep -E 'requests/s|errors' | tr -s ' ' | paste -sd,)"
  stop
}

for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  DEV_FLAG=(--dev)
  run dev -- --tenant bench
  DEV_FLAG=()
  run hs256 --jwt-secret-file "$WORK/secret" -- --token "$HS256"
  run es256 --jwks-file "$WORK/jwks.json" -- --token "$ES256"
done
