#!/usr/bin/env bash
# Each module's internal/ headers are its own: no other module (tests
# excepted) may include them. The CMake links enforce the direction between
# modules; this enforces the wall around internals.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
for module in protocol storage projections server; do
  hits=$(grep -rEn "#include \"$module/internal/" \
    --include='*.h' --include='*.cc' protocol storage projections server tools bench 2>/dev/null |
    grep -v "^$module/" || true)
  if [ -n "$hits" ]; then
    echo "includes of $module/internal from outside $module/:"
    echo "$hits"
    bad=1
  fi
done
exit $bad
