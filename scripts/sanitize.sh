#!/usr/bin/env bash
# Builds the project with clang AddressSanitizer + UndefinedBehaviorSanitizer (and
# LeakSanitizer) in the sanitized build tree (scripts/lib/sanitized-build.sh, shared with
# scripts/fuzz.sh) and runs the unit and integration tests under them. Exits non-zero on a test failure or on any sanitizer report from any sanitized
# process: the test binaries, and the exporter they spawn, whose stderr is a log file that
# the integration tests delete, so every report is also kept under $BUILD/sanitizer-logs/
# and checked here afterwards.
#
#   scripts/sanitize.sh                 # configure, build, run `ctest -L 'unit|sanitized'`
#                                       # (not the fuzz replays: scripts/fuzz.sh runs those)
#   scripts/sanitize.sh -R 'unit:'      # extra arguments go to ctest
#   scripts/sanitize.sh --build-only    # configure and build, run nothing (scripts/test.sh)
#   SANITIZED_BUILD_DIR=/tmp/b scripts/sanitize.sh
#
# Needs only what scripts/install-deps.sh installs (clang and libclang-rt-14-dev).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/sanitized-build.sh
. "$root/scripts/lib/sanitized-build.sh"
build="$(sanitized_build_dir "$root")"
jobs="${JOBS:-2}"
build_only=0
if [ "${1:-}" = --build-only ]; then
  build_only=1
  shift
fi

configure_sanitized_build "$root" "$build" || exit $?
# Only what the run below needs: the test binaries and the exporter with its TLS module (not
# the benchmark's programs, the ops tests or the tools). The fuzz replays are left out:
# scripts/fuzz.sh replays the same inputs through the sanitized libFuzzer targets.
make -C "$build" -j"$jobs" unit_tests integration_tests hostile_http_tests redis_sentinel_exporter >/dev/null
[ "$build_only" -eq 0 ] || exit 0

logs="$build/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"

# Every report goes to $logs (log_path), not to stderr: the exporter the tests start logs to
# a file that the tests delete unread. clang's UBSan, unlike g++'s, honours log_path.
# exitcode=86: never the same as a `check` verdict (0, 1, 2) or usage error (3).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=86:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$logs/ubsan"
export LSAN_OPTIONS="exitcode=86"

# A test killed mid-way cannot run its destructors: stop the topologies this run started.
. "$root/scripts/lib/test-dirs.sh"
before="$(test_dirs)"
trap 'remove_test_dirs_since "$before" "$root"' EXIT

# The unit tests and the integration tests labelled "sanitized" or "asan-too"
# (tests/CMakeLists.txt): not the load test that checks the exporter's RSS stays flat over
# thousands of scrapes (under ASan freed memory waits in a 256 MB quarantine and shadow memory
# grows with it; LeakSanitizer checks for leaks instead), nor the tests that spend their time waiting on real-world clocks
# rather than running our code (failover drills, alert rules in a real Prometheus, sharding,
# the browser), which the plain suite runs.
rc=0
ctest --test-dir "$build" -L 'unit|sanitized|asan-too' -LE fuzz \
  --output-on-failure -j"$jobs" \
  --timeout 300 "$@" || rc=$?

found=0
for f in "$logs"/*; do
  [ -s "$f" ] || continue
  if [ "$found" -eq 0 ]; then echo "sanitize: sanitizer reports:" >&2; fi
  found=1
  echo "==== $f" >&2
  grep -E -A40 'runtime error:|ERROR: (Address|Leak)Sanitizer' -- "$f" | head -80 >&2
done
if [ "$found" -ne 0 ] || [ "$rc" -ne 0 ]; then
  echo "sanitize: FAILED (reports, if any, are under $logs)" >&2
  exit 1
fi
echo "sanitize: clean (unit and integration tests under ASan, LSan and UBSan)"
