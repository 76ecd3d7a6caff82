# ctest tests of the deployment files (Dockerfile, compose/, packaging/, deploy/kubernetes/),
# label "deploy": ctest --test-dir build -L deploy
# Included by tests/CMakeLists.txt. None needs a Docker engine or a cluster; each is a bash
# script under deploy/ (exit 0 pass, 1 fail, 77 skipped). The npm linters are installed once by
# the fixture test "deploy: npm lint tools" (npm ci into deploy/lint/node_modules).

set(RSE_DEPLOY_DIR ${CMAKE_SOURCE_DIR}/deploy)

function(rse_deploy_test name)
  cmake_parse_arguments(T "NPM" "TIMEOUT" "COMMAND;RESOURCE_LOCK" ${ARGN})
  add_test(NAME "deploy: ${name}" COMMAND ${T_COMMAND} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  set_tests_properties("deploy: ${name}" PROPERTIES LABELS deploy TIMEOUT ${T_TIMEOUT}
    SKIP_RETURN_CODE 77 COST 20)
  if(T_NPM)
    set_tests_properties("deploy: ${name}" PROPERTIES FIXTURES_REQUIRED rse_deploy_npm)
  endif()
  if(T_RESOURCE_LOCK)
    set_tests_properties("deploy: ${name}" PROPERTIES RESOURCE_LOCK "${T_RESOURCE_LOCK}")
  endif()
endfunction()

add_test(NAME "deploy: npm lint tools" COMMAND bash ${RSE_DEPLOY_DIR}/lint/install.sh)
set_tests_properties("deploy: npm lint tools" PROPERTIES LABELS deploy TIMEOUT 300
  FIXTURES_SETUP rse_deploy_npm COST 40)

rse_deploy_test("Dockerfile" NPM COMMAND bash ${RSE_DEPLOY_DIR}/check-dockerfile.sh)
rse_deploy_test("image healthcheck" COMMAND bash ${RSE_DEPLOY_DIR}/check-healthcheck.sh
  $<TARGET_FILE:redis_sentinel_exporter>)
rse_deploy_test("runtime packages" COMMAND bash ${RSE_DEPLOY_DIR}/check-runtime-packages.sh
  $<TARGET_FILE:redis_sentinel_exporter>)
rse_deploy_test("docker-compose file" NPM COMMAND bash ${RSE_DEPLOY_DIR}/check-compose.sh)
rse_deploy_test("compose redis/sentinel configs" TIMEOUT 120
  COMMAND bash ${RSE_DEPLOY_DIR}/check-rendered-configs.sh $<TARGET_FILE:redis_sentinel_exporter>)
rse_deploy_test("prometheus and alertmanager configs" COMMAND bash ${RSE_DEPLOY_DIR}/check-monitoring-configs.sh)
rse_deploy_test("grafana provisioning and dashboard" NPM COMMAND bash ${RSE_DEPLOY_DIR}/check-grafana.sh)
rse_deploy_test("kubernetes manifests" NPM COMMAND bash ${RSE_DEPLOY_DIR}/check-kubernetes.sh)
rse_deploy_test("kubernetes PrometheusRule up to date" NPM COMMAND bash ${RSE_DEPLOY_DIR}/check-prometheusrule.sh)
# Installs and purges a system package: never two at once (RESOURCE_LOCK; test-deb.sh also
# takes a machine-wide lock for other build trees).
rse_deploy_test("debian package" TIMEOUT 300 RESOURCE_LOCK rse_dpkg
  COMMAND bash ${RSE_DEPLOY_DIR}/test-deb.sh ${CMAKE_BINARY_DIR})
