# Installs what a systemd host needs besides the binary (daemon/CMakeLists.txt
# installs that to <prefix>/bin): the units, the example config and mapping, the
# credentials folder and the docs; and builds the .deb with `cpack -G DEB`.
# The layout is Debian's, see docs/deployment.md:
#   <prefix>/bin/boardsync
#   <prefix>/lib/systemd/system/boardsync{.service,-sync.service,-sync.timer}
#   <etc>/boardsync/boardsync.yaml.example, mappings/youtrack.yaml, credentials/ (0700)
#   <prefix>/share/doc/boardsync/
# where <etc> is /etc for --prefix /usr (and for the .deb) and <prefix>/etc for any
# other prefix, as GNUInstallDirs does. The units name /usr/bin and /etc/boardsync;
# installed under another prefix they are rewritten to point at it.
include(GNUInstallDirs)

set(BOARDSYNC_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units go, relative to the install prefix")
set(BOARDSYNC_DEB_MAINTAINER "boardsync maintainers <boardsync@example.org>" CACHE STRING
    "The Maintainer field of the .deb")

# The systemd files: GNUInstallDirs cannot place them, because /etc is outside the
# /usr prefix and both must follow `cmake --install --prefix`. So this runs at
# install time, when CMAKE_INSTALL_PREFIX is the prefix actually used.
set(_boardsync_stage "${PROJECT_BINARY_DIR}/deploy-install")
file(MAKE_DIRECTORY "${_boardsync_stage}/credentials")
install(CODE "
  set(_boardsync_src \"${PROJECT_SOURCE_DIR}\")
  set(_boardsync_stage \"${_boardsync_stage}\")
  set(_boardsync_unitdir \"${BOARDSYNC_SYSTEMD_UNITDIR}\")
  set(_boardsync_docdir \"${CMAKE_INSTALL_DOCDIR}\")
")
install(CODE [==[
  string(REGEX REPLACE "/+$" "" _prefix "${CMAKE_INSTALL_PREFIX}")
  if(_prefix STREQUAL "/usr" OR _prefix STREQUAL "")
    set(_etc "/etc")
  else()
    set(_etc "${_prefix}/etc")
  endif()
  set(_conf "${_etc}/boardsync")

  # Units, with their paths moved under the prefix when it is not /usr.
  foreach(_unit boardsync.service boardsync-sync.service boardsync-sync.timer)
    set(_from "${_boardsync_src}/deploy/${_unit}")
    if(NOT _prefix STREQUAL "/usr")
      file(READ "${_from}" _text)
      string(REPLACE "/usr/bin/boardsync" "${_prefix}/bin/boardsync" _text "${_text}")
      string(REPLACE "/usr/share/doc/boardsync" "${_prefix}/${_boardsync_docdir}" _text "${_text}")
      string(REPLACE "/etc/boardsync/" "${_conf}/" _text "${_text}")
      file(MAKE_DIRECTORY "${_boardsync_stage}/units")
      set(_from "${_boardsync_stage}/units/${_unit}")
      file(WRITE "${_from}" "${_text}")
    endif()
    file(INSTALL "${_from}" DESTINATION "${_prefix}/${_boardsync_unitdir}"
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endforeach()

  # The example config: an example, so that the units stay skipped
  # (ConditionPathExists=) until the operator has written boardsync.yaml.
  file(INSTALL "${_boardsync_src}/deploy/boardsync.yaml" DESTINATION "${_conf}"
       RENAME boardsync.yaml.example
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

  # The mapping the example config names. An edited copy is never overwritten: the
  # shipped one then goes next to it as youtrack.yaml.dist (the .deb has conffiles).
  set(_mapping "${_boardsync_src}/mappings/examples/youtrack.yaml")
  set(_installed "$ENV{DESTDIR}${_conf}/mappings/youtrack.yaml")
  set(_rename youtrack.yaml)
  if(EXISTS "${_installed}")
    file(SHA256 "${_installed}" _old)
    file(SHA256 "${_mapping}" _new)
    if(NOT _old STREQUAL _new)
      set(_rename youtrack.yaml.dist)
      message(STATUS "Keeping the edited ${_installed}; the shipped one is youtrack.yaml.dist")
    endif()
  endif()
  file(INSTALL "${_mapping}" DESTINATION "${_conf}/mappings" RENAME ${_rename}
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

  # Where LoadCredential= reads the tokens from: root only.
  file(INSTALL "${_boardsync_stage}/credentials" DESTINATION "${_conf}"
       DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
]==])

file(GLOB _boardsync_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES README.md ${_boardsync_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES mappings/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME mappings.md)
install(FILES connectors/youtrack/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME youtrack.md)
install(FILES connectors/jira/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME jira.md)
install(FILES connectors/github/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME github.md)
install(FILES connectors/gitlab/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME gitlab.md)

# --- The .deb -----------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "boardsync")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "boardsync")
set(CPACK_PACKAGE_CONTACT "${BOARDSYNC_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sync issue trackers into prioritization boards")
set(CPACK_PACKAGE_DESCRIPTION
    "boardsync pulls the issues a query selects from each connected tracker
(YouTrack first), maps each to a board item through a YAML mapping file, and
writes the items to a board store (an embedded SQLite file by default). It runs
as a sandboxed systemd service (boardsync.service) or from a timer
(boardsync-sync.timer).")
# Staged with DESTDIR and CMAKE_INSTALL_PREFIX=/usr (whatever the build's own
# prefix), so that the install code above puts the config in /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${BOARDSYNC_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Jira reads query dates in the user's zone from the system's zone database.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
# Every file in /etc is the operator's once installed.
file(WRITE "${PROJECT_BINARY_DIR}/deploy-install/conffiles"
     "/etc/boardsync/boardsync.yaml.example\n/etc/boardsync/mappings/youtrack.yaml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_BINARY_DIR}/deploy-install/conffiles"
    "${PROJECT_SOURCE_DIR}/deploy/debian/postinst"
    "${PROJECT_SOURCE_DIR}/deploy/debian/prerm"
    "${PROJECT_SOURCE_DIR}/deploy/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
