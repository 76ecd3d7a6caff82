#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test (unit and integration).
# Integration tests start their own redis-server and redis-sentinel processes on 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"

# A test killed mid-way cannot run its destructors: stop any topology it left behind.
cleanup() {
  local d
  for d in /tmp/rse-test-*/topology; do
    if [ -d "$d" ]; then bash "$root/scripts/topology.sh" stop --dir "$d" >/dev/null 2>&1 || true; fi
  done
  rm -rf /tmp/rse-test-* 2>/dev/null || true
}
trap cleanup EXIT

ctest --test-dir "$build" --output-on-failure -j2 --timeout 300 "$@"
