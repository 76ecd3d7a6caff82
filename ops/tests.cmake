# Tests of the operations scripts (ops/*.sh), label "ops"; included by tests/CMakeLists.txt.
#   (shellcheck of these scripts: the repository-wide "shellcheck" test, scripts/tests.cmake)
#   ops: <doctest case>             ops/tests/*.cpp: each script run against a real local
#                                   topology (scripts/topology.sh, free ports, one per test)
#   ctest --test-dir build -L ops   runs them all (about 1.5 minutes on 2 cores).

file(GLOB RSE_OPS_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/ops/tests/*.cpp)
add_executable(ops_tests ${RSE_OPS_TEST_SOURCES})
rse_test_code(ops_tests)
target_link_libraries(ops_tests PRIVATE rse_test_support rse_doctest_main)
target_compile_definitions(ops_tests PRIVATE
  RSE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  RSE_EXPORTER_BINARY="$<TARGET_FILE:redis_sentinel_exporter>")
add_dependencies(ops_tests redis_sentinel_exporter)
doctest_discover_tests(ops_tests TEST_PREFIX "ops: " PROPERTIES LABELS ops TIMEOUT 240 COST 30)
