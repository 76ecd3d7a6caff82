# Checks of the repository's own scripts; included by tests/CMakeLists.txt.
#   shellcheck     bash -n and ShellCheck over every shell script (scripts/check-shell.sh),
#                  labels lint, ops and deploy (so `ctest -L ops` and `-L deploy` still run it)
#   clang-format   the C++ sources match .clang-format (scripts/check-format.sh); registered
#                  only with -DRSE_CHECK_FORMAT=ON until the tree has been formatted once
add_test(NAME "shellcheck" COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-shell.sh)
set_tests_properties("shellcheck" PROPERTIES LABELS "lint;ops;deploy" TIMEOUT 300)

option(RSE_CHECK_FORMAT "Add the clang-format check to the tests" OFF)
if(RSE_CHECK_FORMAT)
  add_test(NAME "clang-format" COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-format.sh)
  set_tests_properties("clang-format" PROPERTIES LABELS lint TIMEOUT 300)
endif()
