#!/usr/bin/env bash
# Configures and builds into build/ (or $BUILD_DIR). Extra arguments go to cmake's configure step.
# Warnings are errors here (RSE_WERROR=ON, the CI's setting); plain cmake leaves them warnings.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
  -DRSE_WERROR="${RSE_WERROR:-ON}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
