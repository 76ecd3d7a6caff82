# Tests of the operations scripts (ops/*.sh), label "ops"; included by tests/CMakeLists.txt.
#   ops: shellcheck                 ShellCheck over every ops/*.sh (following `source`)
#   ops: <doctest case>             ops/tests/*.cpp: each script run against a real local
#                                   topology (scripts/topology.sh, free ports, one per test)
#   ctest --test-dir build -L ops   runs them all (about 1.5 minutes on 2 cores).

find_program(RSE_SHELLCHECK shellcheck)
if(RSE_SHELLCHECK)
  add_test(NAME "ops: shellcheck"
    COMMAND bash -c "cd '${CMAKE_SOURCE_DIR}' && exec '${RSE_SHELLCHECK}' -x --source-path=SCRIPTDIR -- ops/*.sh")
else()
  # Installed by scripts/install-deps.sh; without it the check fails instead of vanishing.
  add_test(NAME "ops: shellcheck"
    COMMAND bash -c "echo 'shellcheck not found: run scripts/install-deps.sh' >&2; exit 1")
endif()
set_tests_properties("ops: shellcheck" PROPERTIES LABELS ops TIMEOUT 120)

file(GLOB RSE_OPS_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/ops/tests/*.cpp)
add_executable(ops_tests ${RSE_OPS_TEST_SOURCES})
target_link_libraries(ops_tests PRIVATE rse_test_support doctest::doctest)
target_compile_definitions(ops_tests PRIVATE
  RSE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  RSE_EXPORTER_BINARY="$<TARGET_FILE:redis_sentinel_exporter>")
add_dependencies(ops_tests redis_sentinel_exporter)
doctest_discover_tests(ops_tests TEST_PREFIX "ops: " PROPERTIES LABELS ops TIMEOUT 240)
