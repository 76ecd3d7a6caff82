#!/usr/bin/env bash
# ctest "clang-format" (scripts/tests.cmake): every C++ source matches .clang-format, and no
# TEST_CASE name holds ';'. To format: scripts/check-format.sh --fix
set -euo pipefail
# shellcheck source=lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"
fix=0
script_usage() { sed -n '2,3p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
script_option() {
  case "$1" in
    --fix) fix=1 ;;
    *) return 1 ;;
  esac
}
flag_options="--fix" parse_options "$@"
command -v clang-format >/dev/null || die "$EX_FAILED" "clang-format not found: run scripts/install-deps.sh"
cd "$rse_root"
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.c' '*.cc' | grep -v '^tests/fixtures/')
[ "${#files[@]}" -gt 0 ] || die "$EX_FAILED" "no C++ sources found"
# doctest_discover_tests registers each TEST_CASE as a ctest test, and ctest cuts a name at ';'
# into two tests that both fail.
if grep -nE 'TEST_CASE\("[^"]*;' -- "${files[@]}" >&2; then
  die "$EX_FAILED" "a TEST_CASE name above holds ';', which ctest cannot run: use a comma"
fi
if [ "$fix" = 1 ]; then
  clang-format -i -- "${files[@]}"
  log "formatted ${#files[@]} files"
else
  clang-format --dry-run --Werror -- "${files[@]}" || die "$EX_FAILED" "not formatted as .clang-format says: scripts/check-format.sh --fix"
  log "ok: ${#files[@]} files"
fi
