#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test: unit, integration (real redis-server
# and redis-sentinel processes on 127.0.0.1), rules (promtool, a real Prometheus), deploy,
# operations scripts and the benchmark smoke run; then the unit and integration tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer, and each fuzz target for a bounded time.
#
# Environment: FUZZ_SECONDS (per fuzz target, default 5), SKIP_SANITIZE=1 / SKIP_FUZZ=1 for a
# quicker local run. Extra arguments go to the main ctest run.
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

start=$SECONDS
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600 "$@"
echo "test: main suite took $((SECONDS - start)) s"

if [ -z "${SKIP_FUZZ:-}" ]; then
  start=$SECONDS
  bash "$root/scripts/fuzz.sh" "${FUZZ_SECONDS:-5}"
  echo "test: fuzzing took $((SECONDS - start)) s"
fi
if [ -z "${SKIP_SANITIZE:-}" ]; then
  start=$SECONDS
  bash "$root/scripts/sanitize.sh"
  echo "test: sanitizer run took $((SECONDS - start)) s"
fi
