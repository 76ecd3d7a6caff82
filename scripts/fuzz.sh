#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in the sanitized build tree
# (scripts/lib/sanitized-build.sh, shared with scripts/sanitize.sh), replays every regression
# input (fuzz/regressions/<target>/) and seed, then fuzzes each target for a bounded time. Exits
# non-zero when a regression input or a new input crashes (or trips a sanitizer or a property
# check); new crashing inputs are left in $BUILD/artifacts/<target>/.
#
#   scripts/fuzz.sh                  # ~10 s per target
#   scripts/fuzz.sh 60               # 60 s per target
#   scripts/fuzz.sh 0                # build and replay only
#   scripts/fuzz.sh 30 --runs 100000 --only pipeline --only info
#   scripts/fuzz.sh --build-only     # configure and build, nothing else (scripts/test.sh)
#
# Environment: SANITIZED_BUILD_DIR (default build-asan), CXX_FUZZ (clang++ to use), JOBS (2).
# Needs clang and libFuzzer: Debian packages clang and libclang-rt-14-dev.
# The working corpus ($BUILD/corpus/<target>/) grows across runs; the seeds in fuzz/seeds/
# are only read. A crash found: fix it, then keep the input as a regression:
#   cp $BUILD/artifacts/<target>/crash-... fuzz/regressions/<target>/<what-it-was>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/sanitized-build.sh
. "$root/scripts/lib/sanitized-build.sh"
build="$(sanitized_build_dir "$root")"
jobs="${JOBS:-2}"

seconds=10
runs=""
only=()
build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *[!0-9]*|"") echo "fuzz: unknown argument '$1' (see --help)" >&2; exit 3 ;;
    *) seconds="$1"; shift ;;
  esac
done

configure_sanitized_build "$root" "$build" || exit $?
make -C "$build" -j"$jobs" fuzzers >/dev/null
[ "$build_only" -eq 0 ] || exit 0

# The targets of fuzz/targets.cmake (RSE_FUZZ_TARGETS), the one list the builds use too.
# shellcheck source=lib/fuzz-targets.sh
. "$root/scripts/lib/fuzz-targets.sh"
read -r -a targets < <(list_fuzz_targets)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets found in fuzz/targets.cmake" >&2; exit 1; }
if [ ${#only[@]} -gt 0 ]; then targets=("${only[@]}"); fi
for t in "${targets[@]}"; do
  if [ ! -x "$build/fuzz_$t" ]; then echo "fuzz: no target '$t'" >&2; exit 3; fi
done

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
common=(-timeout=10 -rss_limit_mb=2048 -dict="$root/fuzz/redis.dict")
failed=()

# 1. Regression inputs (one run each, so that every failing one is named) and seeds (one run
#    for all): every one must pass, every time.
for t in "${targets[@]}"; do
  log="$build/replay-$t.log"
  : >"$log"
  bad=()
  count=0
  if [ -d "$root/fuzz/regressions/$t" ]; then
    while IFS= read -r -d '' f; do
      count=$((count + 1))
      if ! "$build/fuzz_$t" "${common[@]}" "$f" >>"$log" 2>&1; then bad+=("$f"); fi
    done < <(find "$root/fuzz/regressions/$t" -type f ! -name '*.md' -print0 | sort -z)
  fi
  if [ -d "$root/fuzz/seeds/$t" ]; then
    count=$((count + $(find "$root/fuzz/seeds/$t" -type f | wc -l)))
    if ! "$build/fuzz_$t" "${common[@]}" -runs=0 "$root/fuzz/seeds/$t" >>"$log" 2>&1; then bad+=("a seed"); fi
  fi
  if [ ${#bad[@]} -gt 0 ]; then
    echo "fuzz: $t: ${#bad[@]} of $count regression inputs and seeds fail:" >&2
    for f in "${bad[@]}"; do echo "  ${f#"$root"/}" >&2; done
    grep -aE 'FUZZ_CHECK|ERROR: |runtime error' "$log" | head -20 | sed 's/^/    /' >&2
    echo "  (full log: $log)" >&2
    failed+=("$t (replay)")
  else
    echo "fuzz: $t: $count regression inputs and seeds pass"
  fi
done

# 2. Fuzzing, each target whose replay passed, for a bounded time (and runs), $jobs at a time.
fuzz_one() { # target: fuzzes it; prints one line; fails on a crash
  local t=$1 corpus="$build/corpus/$1" artifacts="$build/artifacts/$1" args seeds=()
  mkdir -p "$corpus" "$artifacts"
  args=("${common[@]}" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [ -n "$runs" ]; then args+=(-runs="$runs"); fi
  if [ "$t" = pipeline ]; then args+=(-max_len=65536); else args+=(-max_len=8192); fi
  if [ -d "$root/fuzz/seeds/$t" ]; then seeds=("$root/fuzz/seeds/$t"); fi
  if "$build/fuzz_$t" "${args[@]}" "$corpus" "${seeds[@]}" >"$build/fuzz-$t.log" 2>&1; then
    echo "fuzz: $t: $(grep -E '^stat::number_of_executed_units' "$build/fuzz-$t.log" | awk '{print $2}') runs," \
      "$(grep -E '^#[0-9]+.*(DONE|cov:)' "$build/fuzz-$t.log" | tail -n1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true), no crash"
  else
    {
      echo "fuzz: $t: CRASH"
      grep -E 'FUZZ_CHECK|ERROR: |runtime error|SUMMARY|#[0-9]+ 0x|Test unit written' "$build/fuzz-$t.log" | head -40
      echo "  (full log: $build/fuzz-$t.log; reproduce: $build/fuzz_$t <artifact>)"
    } >&2
    return 1
  fi
}
if [ "$seconds" -gt 0 ] || [ -n "$runs" ]; then
  declare -A running=() # pid -> target
  reap() { # waits for one fuzzing job to end and records a crash
    local pid
    wait -n -p pid "${!running[@]}" || failed+=("${running[$pid]}")
    unset "running[$pid]"
  }
  for t in "${targets[@]}"; do
    case " ${failed[*]-} " in *" $t (replay) "*) continue ;; esac
    while [ ${#running[@]} -ge "$jobs" ]; do reap; done
    fuzz_one "$t" &
    running[$!]=$t
  done
  while [ ${#running[@]} -gt 0 ]; do reap; done
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ok"
