#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test: unit, integration (real redis-server
# and redis-sentinel processes on 127.0.0.1, and a Valkey topology built by scripts/valkey.sh,
# once per machine), rules (promtool, a real Prometheus), deploy,
# operations scripts and the benchmark smoke run; then each fuzz target for a bounded time, and
# the unit tests again and the integration tests labelled "sanitized" under AddressSanitizer +
# UndefinedBehaviorSanitizer. Each integration test runs once: those the sanitized run covers
# are left out of the main run (tests/CMakeLists.txt says which stay there), unless
# SKIP_SANITIZE is set; the hostile-clients tests (label "asan-too") run in both.
#
# Environment: FUZZ_SECONDS (per fuzz target, default 5), SKIP_SANITIZE=1 / SKIP_FUZZ=1 for a
# quicker local run, RSE_VALKEY_DIR. Extra arguments go to the main and the valkey ctest runs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
# A real Valkey for the tests labelled "valkey" (tests/integration/valkey_test.cpp): built by
# the side build below, once per machine, kept outside the clone (Debian 12 has no Valkey
# package); those tests run after the main suite.
RSE_VALKEY_BIN="$(bash "$root/scripts/valkey.sh" --path)"
export RSE_VALKEY_BIN

# A test killed mid-way cannot run its destructors: stop the topologies this run started (and
# the compilers started below).
. "$root/scripts/lib/test-dirs.sh"
before="$(test_dirs)"
side_build=""
cleanup() {
  if [ -n "$side_build" ]; then kill -- -"$side_build" 2>/dev/null || true; fi
  remove_test_dirs_since "$before" "$root"
}
trap cleanup EXIT

# Valkey, then the sanitized tree (the fuzz targets and the sanitized tests share it,
# scripts/lib/sanitized-build.sh) compile at the lowest CPU priority while the main suite runs:
# most of the suite waits on real clocks (failovers, alert rules, timeouts) and leaves the
# cores idle, and a nice 19 compile yields them to any test that wants them.
side_log="$(mktemp /tmp/rse-side-build.XXXXXX)"
# Its own process group, so that an interrupted run stops the compilers too (cleanup).
# shellcheck disable=SC2016 # expanded by the inner bash
SKIP_FUZZ="${SKIP_FUZZ:-}" SKIP_SANITIZE="${SKIP_SANITIZE:-}" setsid nice -n 19 bash -c '
  set -e
  bash "$1/scripts/valkey.sh"
  if [ -z "$SKIP_FUZZ" ]; then bash "$1/scripts/fuzz.sh" --build-only; fi
  if [ -z "$SKIP_SANITIZE" ]; then bash "$1/scripts/sanitize.sh" --build-only; fi' _ "$root" \
  >"$side_log" 2>&1 &
side_build=$!

main_args=(-LE valkey)
if [ -z "${SKIP_SANITIZE:-}" ]; then main_args=(-LE 'sanitized|valkey'); fi
start=$SECONDS
rc=0
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600 "${main_args[@]}" "$@" || rc=$?
echo "test: main suite took $((SECONDS - start)) s"
if [ -n "$side_build" ]; then
  start=$SECONDS
  if ! wait "$side_build"; then
    cat "$side_log" >&2
    echo "test: the valkey, fuzz or sanitizer build failed" >&2
    rc=1
  fi
  echo "test: valkey, fuzz and sanitizer builds finished $((SECONDS - start)) s after the main suite"
  rm -f "$side_log"
  side_build=""
fi
[ "$rc" -eq 0 ] || exit "$rc"

start=$SECONDS
ctest --test-dir "$build" --output-on-failure --timeout 600 -L valkey "$@"
echo "test: valkey tests took $((SECONDS - start)) s"

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
