# Sourced by tools/dev.sh and tools/fuzz.sh: Debian 12's packages for Cairn
# and the function that installs those that are missing.

# The one install line of shared/STACK.md, plus jemalloc (cairnd's
# allocator), curl for the README's examples and clang-format for the
# format check; systemd for `systemd-analyze verify` of
# docs/deploy/cairnd.service (the ctest ConfigSystemdUnitVerify; it needs no
# running systemd) and procps for the unit's ExecReload=/bin/kill, which
# verify wants to exist.
CAIRN_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev libzstd-dev liblz4-dev
  libflatbuffers-dev flatbuffers-compiler flatbuffers-compiler-dev
  prometheus-cpp-dev libssl-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  libcpp-jwt-dev nlohmann-json3-dev
  curl clang-format
  systemd procps
)

# install_packages PACKAGE...: apt-get installs those not installed yet
# (through sudo when not root); does nothing when all are.
install_packages() {
  local missing=()
  for p in "$@"; do
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
