#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan in
# build-fuzz, then runs each for SECONDS (default 30) on a copy of its seed
# corpus, so tests/fuzz/corpus is never modified. Fails when any target
# crashes, leaks, runs out of time or memory, or breaks an invariant, and
# prints the input that did it (the reproducer) and how to rerun it.
#
#   bash tools/fuzz.sh [SECONDS]
#
# FUZZ_BUILD_DIR (default build-fuzz) may be set in the environment. What
# each target found is left in build-fuzz/fuzz-out/TARGET/: corpus/
# (seeds plus new inputs), artifacts/ (reproducers) and log.
set -euo pipefail

cd "$(dirname "$0")/.."
source tools/packages.sh
SECONDS_EACH=${1:-30}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=(request_body_fuzzer route_fuzzer event_record_fuzzer jwt_fuzzer
  jwks_fuzzer)

install_packages "${CAIRN_PACKAGES[@]}" clang libclang-rt-14-dev

# -O1 with line tables: libFuzzer's usual build; Debug keeps assert() on.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" \
  -DCAIRN_FUZZ=ON -DCAIRN_SANITIZE=address,undefined \
  -DCAIRN_BUILD_TESTS=OFF -DCAIRN_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" --target "${TARGETS[@]}"

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

passed=0
failed=0
for t in "${TARGETS[@]}"; do
  out="$BUILD_DIR/fuzz-out/$t"
  rm -rf "$out"
  mkdir -p "$out/corpus" "$out/artifacts"
  [ -n "$(ls -A tests/fuzz/corpus/"$t" 2>/dev/null)" ] ||
    { echo "$t: no seeds in tests/fuzz/corpus/$t" >&2; exit 1; }
  cp tests/fuzz/corpus/"$t"/* "$out/corpus/"
  # New inputs go to the first corpus directory: the copy.
  if "$BUILD_DIR/tests/fuzz/$t" -max_total_time="$SECONDS_EACH" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" "$out/corpus" >"$out/log" 2>&1; then
    echo "$t: ok, $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' \
      "$out/log" | grep -o '[0-9]*$') runs in ${SECONDS_EACH}s," \
      "$(find "$out/corpus" -type f | wc -l) inputs in its corpus"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    tail -n 60 "$out/log"
    for a in "$out"/artifacts/*; do
      [ -e "$a" ] || continue
      echo "$t: FAILED; reproducer: $a"
      echo "  rerun: $BUILD_DIR/tests/fuzz/$t $a"
    done
    [ -n "$(ls -A "$out/artifacts")" ] ||
      echo "$t: FAILED without a reproducer; see $out/log"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
