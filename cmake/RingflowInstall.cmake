# Install rules: headers under include/ringflow/..., the static libraries,
# an exported CMake package (find_package(ringflow CONFIG)) and a
# pkg-config file.
include(CMakePackageConfigHelpers)

set(RINGFLOW_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/ringflow")

install(DIRECTORY
    "${PROJECT_SOURCE_DIR}/core/include/"
    "${PROJECT_SOURCE_DIR}/processors/include/"
    "${PROJECT_SOURCE_DIR}/observability/include/"
    "${PROJECT_SOURCE_DIR}/shm/include/"
    "${PROJECT_SOURCE_DIR}/include/"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.h")

install(TARGETS ringflow_core ringflow_processors
    ringflow_observability ringflow_shm ringflow_ringflow
  EXPORT ringflowTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")

install(EXPORT ringflowTargets
  NAMESPACE ringflow::
  DESTINATION "${RINGFLOW_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/ringflowConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/ringflowConfig.cmake"
  INSTALL_DESTINATION "${RINGFLOW_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/ringflowConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
    "${PROJECT_BINARY_DIR}/ringflowConfig.cmake"
    "${PROJECT_BINARY_DIR}/ringflowConfigVersion.cmake"
  DESTINATION "${RINGFLOW_INSTALL_CMAKEDIR}")

# The .pc file finds its prefix relative to itself (${pcfiledir}), so it
# stays right after `cmake --install <build> --prefix <dir>` (the prefix is
# not known at configure time) and when the tree is moved. Absolute install
# dirs are used as they are.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR
   IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(RINGFLOW_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(RINGFLOW_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(RINGFLOW_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _ringflow_pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" _ringflow_pc_up "${_ringflow_pc_up}")
  set(RINGFLOW_PC_PREFIX "\${pcfiledir}/${_ringflow_pc_up}")
  set(RINGFLOW_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(RINGFLOW_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  unset(_ringflow_pc_up)
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/ringflow.pc.in"
  "${PROJECT_BINARY_DIR}/ringflow.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/ringflow.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
