# Checks of the repository's own scripts; included by tests/CMakeLists.txt.
#   shellcheck     bash -n and ShellCheck over every shell script (scripts/check-shell.sh),
#                  labels lint, ops and deploy (so `ctest -L ops` and `-L deploy` still run it)
#   clang-format   the C++ sources match .clang-format (scripts/check-format.sh, Debian 12's
#                  clang-format 14: another version may format differently)
add_test(NAME "shellcheck" COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-shell.sh)
set_tests_properties("shellcheck" PROPERTIES LABELS "lint;ops;deploy" TIMEOUT 300 COST 30)

add_test(NAME "clang-format" COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-format.sh)
set_tests_properties("clang-format" PROPERTIES LABELS lint TIMEOUT 300)
