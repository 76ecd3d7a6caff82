# Included by tests/CMakeLists.txt. The benchmark is not a test and does not run in CI's
# measurements; this smoke run at the smallest size (1 group, a few views, < 30 s) only
# checks that bench/run still works and produces a sane table, not the performance targets.
if(NOT TARGET bench_loadgen)
  add_subdirectory(${CMAKE_SOURCE_DIR}/bench ${CMAKE_BINARY_DIR}/bench-build)
endif()
add_test(NAME "bench: smoke run (1 group)"
  COMMAND bash ${CMAKE_SOURCE_DIR}/bench/smoke.sh
    --exporter $<TARGET_FILE:redis_sentinel_exporter>
    --loadgen $<TARGET_FILE:bench_loadgen>
    --floor $<TARGET_FILE:bench_floor>
    --out-dir ${CMAKE_CURRENT_BINARY_DIR}/bench-smoke)
set_tests_properties("bench: smoke run (1 group)" PROPERTIES LABELS bench TIMEOUT 120 COST 50)
