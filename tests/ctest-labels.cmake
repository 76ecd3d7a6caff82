# Read by ctest after the doctest-discovered tests (tests/CMakeLists.txt, TEST_INCLUDE_FILES):
# labels and costs that depend on a test's name, which CMake cannot know before the test
# binaries list their cases.
#
# "sanitized": the integration tests scripts/sanitize.sh runs, and scripts/test.sh leaves to it.
# COST: see tests/CMakeLists.txt.
# (ctest's script mode has set_tests_properties, not set_property(TEST).)
foreach(_rse_test IN LISTS integration_tests_TESTS hostile_http_tests_TESTS)
  if(_rse_test MATCHES "^integration: ?valkey:")
    # "valkey": needs the Valkey that scripts/test.sh builds beside the main suite.
    set_tests_properties("${_rse_test}" PROPERTIES LABELS "integration;valkey" COST 10)
  elseif(_rse_test MATCHES "@RSE_BOTH_RUNS_TESTS@")
    # "asan-too": the plain suite runs it, and scripts/sanitize.sh as well.
    set_tests_properties("${_rse_test}" PROPERTIES LABELS "integration;asan-too" COST 10)
  elseif(_rse_test MATCHES "@RSE_PLAIN_ONLY_TESTS@")
    set_tests_properties("${_rse_test}" PROPERTIES COST 10)
  else()
    set_tests_properties("${_rse_test}" PROPERTIES LABELS "integration;sanitized" COST 10)
  endif()
endforeach()
