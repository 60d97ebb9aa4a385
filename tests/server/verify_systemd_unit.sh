#!/usr/bin/env bash
# verify_systemd_unit.sh CAIRND UNIT: `systemd-analyze verify` of the unit
# docs/deploy/cairnd.service, with ExecStart's /usr/local/bin/cairnd
# replaced by the cairnd just built (verify wants every Exec binary to
# exist). systemd-analyze exits 0 on most mistakes (an unknown key, a value
# it cannot parse) and only prints them, so any output at all fails the
# test. It needs no running systemd: it works in a container as any user.
# The package `systemd` provides it (tools/packages.sh installs it).
set -euo pipefail
cairnd=$1
unit=$2

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found: install the package systemd" \
    "(tools/packages.sh lists it)" >&2
  exit 1
fi
grep -q '^ExecStart=/usr/local/bin/cairnd ' "$unit" || {
  echo "$unit: no ExecStart=/usr/local/bin/cairnd line" >&2
  exit 1
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#^ExecStart=/usr/local/bin/cairnd #ExecStart=$cairnd #" "$unit" \
  >"$dir/cairnd.service"

status=0
output=$(cd "$dir" && systemd-analyze verify --man=no ./cairnd.service 2>&1) ||
  status=$?
if [ "$status" -ne 0 ] || [ -n "$output" ]; then
  echo "systemd-analyze verify $unit: exit $status" >&2
  echo "$output" >&2
  exit 1
fi
echo "systemd-analyze verify: $unit is clean"
