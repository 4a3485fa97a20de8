# install(): the library with its namelink, the header, mccache.pc and the
# CMake package; plus the build-tree mccache-uninstalled.pc.

# --- build tree: <build>/pkgconfig/mccache-uninstalled.pc -----------------
set(MCCACHE_UNINSTALLED_LIBDIR "$<TARGET_FILE_DIR:mccache>")
configure_file("${PROJECT_SOURCE_DIR}/pkgconfig/mccache-uninstalled.pc.in"
               "${PROJECT_BINARY_DIR}/pkgconfig-gen/mccache-uninstalled.pc.in" @ONLY)
file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/pkgconfig/mccache-uninstalled.pc"
              INPUT "${PROJECT_BINARY_DIR}/pkgconfig-gen/mccache-uninstalled.pc.in")

# --- library and header ---------------------------------------------------
install(TARGETS mccache EXPORT mccacheTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    COMPONENT Runtime
    NAMELINK_COMPONENT Development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development)
install(FILES "${PROJECT_SOURCE_DIR}/include/mccache.h"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development)

# --- mccache.pc, written at install time for the real prefix --------------
set(_pc_out "${PROJECT_BINARY_DIR}/pkgconfig-install/mccache.pc")
install(CODE "
  set(MCCACHE_PC_TEMPLATE \"${PROJECT_SOURCE_DIR}/pkgconfig/mccache.pc.in\")
  set(MCCACHE_PC_OUTPUT \"${_pc_out}\")
  set(MCCACHE_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(MCCACHE_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(PROJECT_DESCRIPTION \"${PROJECT_DESCRIPTION}\")
  set(MCCACHE_PC_REQUIRES_PRIVATE \"${MCCACHE_PC_REQUIRES_PRIVATE}\")
  set(MCCACHE_PC_LIBS_PRIVATE \"${MCCACHE_PC_LIBS_PRIVATE}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/McCacheWritePc.cmake\")
" COMPONENT Development)
install(FILES "${_pc_out}"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT Development)

# --- CMake package: find_package(mccache) -> mccache::mccache -------------
set(MCCACHE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mccache)
install(EXPORT mccacheTargets
  NAMESPACE mccache::
  DESTINATION ${MCCACHE_CMAKE_DIR}
  COMPONENT Development)
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/mccacheConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/mccacheConfig.cmake"
  INSTALL_DESTINATION ${MCCACHE_CMAKE_DIR})
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/mccacheConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/mccacheConfig.cmake"
  "${PROJECT_BINARY_DIR}/mccacheConfigVersion.cmake"
  DESTINATION ${MCCACHE_CMAKE_DIR}
  COMPONENT Development)
