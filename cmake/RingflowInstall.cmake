# Install rules: headers under include/ringflow/..., the static libraries,
# an exported CMake package (find_package(ringflow CONFIG)) and a
# pkg-config file.
include(CMakePackageConfigHelpers)

set(RINGFLOW_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/ringflow")

install(DIRECTORY
    "${PROJECT_SOURCE_DIR}/core/include/"
    "${PROJECT_SOURCE_DIR}/processors/include/"
    "${PROJECT_SOURCE_DIR}/include/"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.h")

install(TARGETS ringflow_core ringflow_processors ringflow_ringflow
  EXPORT ringflowTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

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

configure_file("${PROJECT_SOURCE_DIR}/cmake/ringflow.pc.in"
  "${PROJECT_BINARY_DIR}/ringflow.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/ringflow.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
