#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds, and then serves or tests.
#
#   bash tools/dev.sh serve   # build, then cairnd --dev on ./data, 127.0.0.1:8642
#   bash tools/dev.sh test    # build, then every test (ctest) and the checks
#   bash tools/dev.sh build   # build only
#
# BUILD_DIR (default build) and BUILD_TYPE (default RelWithDebInfo) may be
# set in the environment.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}

# The one install line of shared/STACK.md, plus jemalloc (cairnd's
# allocator), curl for the README's examples and clang-format for the
# format check.
PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev libzstd-dev liblz4-dev
  libflatbuffers-dev flatbuffers-compiler flatbuffers-compiler-dev
  prometheus-cpp-dev libssl-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  libcpp-jwt-dev nlohmann-json3-dev
  curl clang-format
)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
}

build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
  cmake --build "$BUILD_DIR" "$@"
}

case "${1:-}" in
  serve)
    install_packages
    build --target cairnd
    exec "$BUILD_DIR/server/cairnd" --dev --data-dir ./data \
      --listen 127.0.0.1:8642 "${@:2}"
    ;;
  test)
    install_packages
    bash tools/check_includes.sh
    bash tools/check_format.sh
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 -j 2
    ;;
  build)
    install_packages
    build
    ;;
  *)
    echo "usage: bash tools/dev.sh serve|test|build" >&2
    exit 2
    ;;
esac
