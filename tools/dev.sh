#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds, and then serves or tests.
#
#   bash tools/dev.sh serve   # build, then cairnd --dev on ./data, 127.0.0.1:8642
#   bash tools/dev.sh test    # build, then every test (ctest) and the checks
#   bash tools/dev.sh build   # build only
#   bash tools/dev.sh asan    # every test again, built with ASan and UBSan
#
# BUILD_DIR (default build, or build-asan for asan) and BUILD_TYPE (default
# RelWithDebInfo; asan ignores it) may be set in the environment.
set -euo pipefail

cd "$(dirname "$0")/.."
source tools/packages.sh
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}

# build [CMAKE_CONFIGURE_ARG...]: configures and builds all of $BUILD_DIR.
build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    "$@" >/dev/null
  cmake --build "$BUILD_DIR"
}

case "${1:-}" in
  serve)
    install_packages "${CAIRN_PACKAGES[@]}"
    BUILD_DIR=${BUILD_DIR:-build}
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
      >/dev/null
    cmake --build "$BUILD_DIR" --target cairnd
    exec "$BUILD_DIR/server/cairnd" --dev --data-dir ./data \
      --listen 127.0.0.1:8642 "${@:2}"
    ;;
  test)
    install_packages "${CAIRN_PACKAGES[@]}"
    bash tools/check_includes.sh
    bash tools/check_format.sh
    BUILD_DIR=${BUILD_DIR:-build}
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 -j 2
    ;;
  build)
    install_packages "${CAIRN_PACKAGES[@]}"
    BUILD_DIR=${BUILD_DIR:-build}
    build
    ;;
  asan)
    install_packages "${CAIRN_PACKAGES[@]}"
    BUILD_DIR=${BUILD_DIR:-build-asan}
    # GCC, as the normal build. -O1 with line tables only: the sanitizers
    # need neither -O2 nor full debug info, and this build is the longest
    # part of CI. Debug keeps assert() on. The integration tests run this
    # build's cairnd (tests/support/cairnd_process.cc), so the server is
    # sanitized too; it does without jemalloc here.
    BUILD_TYPE=Debug
    build -DCAIRN_SANITIZE=address,undefined -DCAIRN_BUILD_BENCH=OFF \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_C_FLAGS_DEBUG="-O1 -g1"
    # Any report fails its test. detect_stack_use_after_return stays off
    # (GCC's default): it moves every frame's locals to the heap, slowing
    # all tests, while the server's coroutines keep theirs in heap frames
    # it does not watch. Options already in the environment come last, so
    # they win.
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 -j 2
    ;;
  *)
    echo "usage: bash tools/dev.sh serve|test|build|asan" >&2
    exit 2
    ;;
esac
