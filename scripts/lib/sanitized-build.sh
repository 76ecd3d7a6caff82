# shellcheck shell=bash
# The one sanitized build tree (sourced by scripts/fuzz.sh and scripts/sanitize.sh): clang,
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer with ASan), the production
# libraries also instrumented for libFuzzer's coverage (fuzz/enable.cmake). The libFuzzer
# targets and the sanitized unit and integration tests share its objects, so the libraries
# are compiled once for both.
#
#   sanitized_build_dir                 # $SANITIZED_BUILD_DIR, else <root>/build-asan
#   configure_sanitized_build ROOT DIR  # exit 3 when clang or libFuzzer is missing
#
# Line tables only (-gline-tables-only): sanitizer and crash stack traces keep file:line
# without full debug info in every object. -O1 keeps the integration tests within their
# timeouts. No -DNDEBUG, so assert()s are live. Warnings do not fail this tree: the g++ build
# (scripts/build.sh, RSE_WERROR) is where they are enforced.

sanitized_build_dir() { # root
  printf '%s\n' "${SANITIZED_BUILD_DIR:-$1/build-asan}"
}

# The clang++ to use ($CXX_FUZZ, else the first found), printed; fails when none links libFuzzer.
sanitized_cxx() {
  local cxx="${CXX_FUZZ:-}" c probe
  if [ -z "$cxx" ]; then
    for c in clang++ clang++-14 clang++-15 clang++-16; do
      if command -v "$c" >/dev/null 2>&1; then cxx="$c"; break; fi
    done
  fi
  if [ -z "$cxx" ]; then
    echo "sanitized build: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
    return 3
  fi
  probe="$(mktemp -d)"
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/p.cpp"
  if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/err"; then
    cat "$probe/err" >&2
    rm -rf -- "$probe"
    echo "sanitized build: $cxx cannot link libFuzzer (apt-get install libclang-rt-14-dev)" >&2
    return 3
  fi
  rm -rf -- "$probe"
  printf '%s\n' "$cxx"
}

configure_sanitized_build() { # root dir
  local root=$1 dir=$2 cxx san
  cxx="$(sanitized_cxx)" || return $?
  san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
  cmake -S "$root" -B "$dir" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_C_COMPILER="${cxx%++*}${cxx##*++}" \
    -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_C_FLAGS="$san" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DCMAKE_SHARED_LINKER_FLAGS="$san" \
    -DRSE_WERROR=OFF \
    -DRSE_BUILD_TESTS=ON \
    -DCMAKE_PROJECT_INCLUDE="$root/fuzz/enable.cmake" >/dev/null
}
