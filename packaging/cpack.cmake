# Debian package of redis_sentinel_exporter: `cpack -G DEB` in the build directory.
# Included from the root CMakeLists.txt after the binary's install() rule:
#   include(${CMAKE_SOURCE_DIR}/packaging/cpack.cmake)
#
# The package (redis-sentinel-exporter_<version>_<arch>.deb) installs
#   /usr/bin/redis_sentinel_exporter                      (the root CMakeLists.txt's install rule)
#   /lib/systemd/system/redis-sentinel-exporter.service   unprivileged user, hardened
#   /etc/default/redis-sentinel-exporter                  flags and environment (a conffile)
#   /usr/share/redis-sentinel-exporter/                   the Prometheus rule file and Grafana dashboard
#   /usr/share/doc/redis-sentinel-exporter/               README.md, docs/metrics.md
# and depends on packaging/runtime-packages.txt, the list the container image installs too.
# Tested by deploy/test-deb.sh (ctest: "deploy: debian package").

set(RSE_PACKAGE_NAME redis-sentinel-exporter)
set(RSE_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
set(RSE_SHARE_DIR share/${RSE_PACKAGE_NAME})

install(FILES ${RSE_PACKAGING_DIR}/redis-sentinel-exporter.service
  DESTINATION /lib/systemd/system)
install(FILES ${RSE_PACKAGING_DIR}/redis-sentinel-exporter.default
  DESTINATION /etc/default RENAME ${RSE_PACKAGE_NAME})
# Written by others; OPTIONAL so that a checkout without them still packages.
install(FILES ${CMAKE_SOURCE_DIR}/rules/redis_sentinel.rules.yml
  DESTINATION ${RSE_SHARE_DIR}/rules OPTIONAL)
install(FILES ${CMAKE_SOURCE_DIR}/dashboards/redis-sentinel.json
  DESTINATION ${RSE_SHARE_DIR}/dashboards OPTIONAL)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/metrics.md
  DESTINATION share/doc/${RSE_PACKAGE_NAME} OPTIONAL)

# Depends: the runtime libraries, one list for the image and the package; adduser for postinst.
file(STRINGS ${RSE_PACKAGING_DIR}/runtime-packages.txt _rse_runtime_lines)
set(_rse_depends "")
foreach(_line IN LISTS _rse_runtime_lines)
  string(REGEX REPLACE "#.*" "" _line "${_line}")
  string(STRIP "${_line}" _line)
  if(_line)
    list(APPEND _rse_depends "${_line}")
  endif()
endforeach()
list(APPEND _rse_depends adduser)
list(JOIN _rse_depends ", " _rse_depends)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${RSE_PACKAGING_DIR}/runtime-packages.txt)

# Maintainer scripts and the conffiles list, copied into the build tree so their modes are exact.
set(_rse_control_dir ${CMAKE_BINARY_DIR}/packaging/debian)
file(MAKE_DIRECTORY ${_rse_control_dir})
foreach(_script postinst prerm postrm)
  file(COPY ${RSE_PACKAGING_DIR}/debian/${_script} DESTINATION ${_rse_control_dir}
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${RSE_PACKAGING_DIR}/debian/${_script})
endforeach()
file(WRITE ${_rse_control_dir}/conffiles "/etc/default/${RSE_PACKAGE_NAME}\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${RSE_PACKAGE_NAME})
set(CPACK_PACKAGE_VENDOR "redis_sentinel_exporter")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Prometheus exporter for Redis Sentinel topologies")
set(CPACK_PACKAGE_CONTACT "redis_sentinel_exporter maintainers <root@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_rse_depends}")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Prometheus exporter for Redis Sentinel topologies
 Point it at one Sentinel and it discovers and scrapes, on every scrape, every
 master, replica and Sentinel behind it: who is master, what each Sentinel
 believes, whether quorum is reachable, every replica's link and offset.
 .
 Runs as the systemd service redis-sentinel-exporter, configured in
 /etc/default/redis-sentinel-exporter. The Prometheus rules and the Grafana
 dashboard are in /usr/share/redis-sentinel-exporter.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_rse_control_dir}/postinst ${_rse_control_dir}/prerm ${_rse_control_dir}/postrm
  ${_rse_control_dir}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)

include(CPack)
