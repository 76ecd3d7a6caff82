# Checks of the rule pack and the dashboard, label `rules` (`ctest -L rules`). Included by
# tests/CMakeLists.txt.
#
# - promtool: the rule file loads, and its unit tests (rules/tests/*.test.yml) pass.
# - the integration test cases named "rules: ..." (tests/integration/consistency_test.cpp,
#   rules_e2e_test.cpp and runbook_test.cpp: the dashboard's structure, every metric used is one
#   the exporter emits, runbook anchors, /runbook served with one per alert, and a real
#   Prometheus during a real failover). doctest_discover_tests labels
#   them `integration`; the script below adds `rules` to them when ctest loads them.

set(RSE_RULE_FILE ${CMAKE_CURRENT_LIST_DIR}/redis_sentinel.rules.yml)
file(GLOB RSE_RULE_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/tests/*.test.yml)

add_test(NAME "rules: promtool check rules" COMMAND promtool check rules ${RSE_RULE_FILE})
# Test files name the rule file relative to themselves.
add_test(NAME "rules: promtool test rules" COMMAND promtool test rules ${RSE_RULE_TESTS}
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR}/tests)
set_tests_properties("rules: promtool check rules" "rules: promtool test rules" PROPERTIES
  LABELS rules TIMEOUT 60)

# The discovered doctest cases exist only once integration_tests is built, as a ctest script
# that sets the list integration_tests_TESTS; this script runs after it.
set(RSE_RULES_LABELS_SCRIPT ${CMAKE_CURRENT_BINARY_DIR}/rules_labels.cmake)
file(WRITE ${RSE_RULES_LABELS_SCRIPT} [=[
foreach(_rse_test IN LISTS integration_tests_TESTS)
  if(_rse_test MATCHES "^integration: ?rules: ")
    set_tests_properties("${_rse_test}" PROPERTIES LABELS "integration;rules")
  endif()
endforeach()
]=])
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${RSE_RULES_LABELS_SCRIPT})

# Runbook links: rebasing them (rules/render-runbook-urls.sh), and no URL of the repository
# leading to a host that does not exist (rules/check-links.sh), which must also catch one.
add_test(NAME "rules: render-runbook-urls rebases every runbook_url"
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test-render-runbook-urls.sh)
add_test(NAME "rules: no link leads to a made-up host"
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check-links.sh)
# The made-up URLs are assembled at run time, so this file holds none.
add_test(NAME "rules: the link check fails on a made-up host"
  COMMAND bash -c [=[
    set -u
    f="$(mktemp --suffix=.md)"
    trap 'rm -f "$f"' EXIT
    printf 'runbook_url: https://%s/%s/x/blob/main/docs/runbook.md#a\n' github.com redis-sentinel-exporter >"$f"
    printf 'see [the docs](https://docs.%s.io/runbook) or [here](no-such-file.md)\n' redis-sentinel-exporter >>"$f"
    out="$("$0" "$f" 2>&1)"
    rc=$?
    printf '%s\n' "$out"
    [ "$rc" = 1 ] && [ "$(grep -c 'not a host known to exist' <<<"$out")" = 2 ] &&
      grep -q 'no-such-file.md: no such file' <<<"$out"
  ]=] ${CMAKE_CURRENT_LIST_DIR}/check-links.sh)
set_tests_properties("rules: render-runbook-urls rebases every runbook_url" "rules: no link leads to a made-up host"
  "rules: the link check fails on a made-up host" PROPERTIES LABELS rules TIMEOUT 60)
