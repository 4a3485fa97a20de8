# Runs at install time (from install(CODE)), so mccache.pc names the prefix
# actually installed into, including `cmake --install --prefix DIR`.
# Expects MCCACHE_PC_TEMPLATE, MCCACHE_PC_OUTPUT, MCCACHE_LIBDIR,
# MCCACHE_INCLUDEDIR (as configured, relative or absolute) and the @VARS@.
foreach(_kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${MCCACHE_${_kind}}")
    set(CMAKE_INSTALL_FULL_${_kind} "${MCCACHE_${_kind}}")
  else()
    set(CMAKE_INSTALL_FULL_${_kind} "${CMAKE_INSTALL_PREFIX}/${MCCACHE_${_kind}}")
  endif()
endforeach()
configure_file("${MCCACHE_PC_TEMPLATE}" "${MCCACHE_PC_OUTPUT}" @ONLY)
