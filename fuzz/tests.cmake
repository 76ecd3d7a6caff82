# Replays every regression input (fuzz/regressions/<target>/) and seed (fuzz/seeds/<target>/)
# through each fuzz target with a plain driver (fuzz/replay_main.cpp): no clang, no libFuzzer,
# so the inputs that once crashed stay covered by the ordinary build and `ctest` (under the
# sanitizers, scripts/fuzz.sh replays them through the libFuzzer targets). Labels: unit and
# fuzz. To enable, in tests/CMakeLists.txt:
#   include(${CMAKE_SOURCE_DIR}/fuzz/tests.cmake OPTIONAL)
# Fuzzing itself (clang, libFuzzer) is scripts/fuzz.sh, with fuzz/CMakeLists.txt.
set(_rse_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})
include(${_rse_fuzz_dir}/targets.cmake)
# The driver is compiled once and linked into every replay.
add_library(rse_fuzz_replay_main OBJECT ${_rse_fuzz_dir}/replay_main.cpp)
rse_test_code(rse_fuzz_replay_main)
foreach(t IN LISTS RSE_FUZZ_TARGETS)
  add_executable(fuzz_replay_${t} ${_rse_fuzz_dir}/${t}.cpp)
  target_link_libraries(fuzz_replay_${t} PRIVATE rse_fuzz_replay_main rse_collectors rse_exporter)
  rse_test_code(fuzz_replay_${t})
  add_test(NAME "fuzz replay: ${t}"
    COMMAND fuzz_replay_${t} ${_rse_fuzz_dir}/regressions/${t} ${_rse_fuzz_dir}/seeds/${t})
  set_tests_properties("fuzz replay: ${t}" PROPERTIES LABELS "unit;fuzz" TIMEOUT 120)
endforeach()
