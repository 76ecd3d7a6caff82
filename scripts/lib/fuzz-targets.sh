# shellcheck shell=bash
# The fuzz targets, as the builds read them: the RSE_FUZZ_TARGETS line of fuzz/targets.cmake.

list_fuzz_targets() { # -> the target names on one line: read -r -a targets < <(list_fuzz_targets)
  sed -n 's/^set(RSE_FUZZ_TARGETS \([a-z_ ]*\).*/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../../fuzz/targets.cmake"
}
