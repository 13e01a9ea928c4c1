# Install rules: headers under include/ringflow/..., the static libraries,
# an exported CMake package (find_package(ringflow CONFIG)) and a
# pkg-config file.
include(CMakePackageConfigHelpers)

set(RINGFLOW_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/ringflow")

# One export set per component (ringflow<Component>Targets.cmake), so
# that ringflowConfig.cmake loads only the components asked for and looks
# only for their dependencies; ringflowTargets.cmake holds the umbrella
# ringflow::ringflow. A component's targets file checks that the targets it
# links from another component's file are already loaded.
foreach(component IN LISTS RINGFLOW_COMPONENTS)
  # core -> Core: the export set's and the file's name.
  string(SUBSTRING "${component}" 0 1 first)
  string(TOUPPER "${first}" first)
  string(SUBSTRING "${component}" 1 -1 rest)
  set(export_name "ringflow${first}${rest}Targets")

  # Each component's folder is its name, except async (processors/async).
  set(dir "${component}")
  if(component STREQUAL "async")
    set(dir "processors/async")
  endif()
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/${dir}/include/"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    FILES_MATCHING PATTERN "*.h")
  install(TARGETS ringflow_${component}
    EXPORT ${export_name}
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(EXPORT ${export_name}
    NAMESPACE ringflow::
    DESTINATION "${RINGFLOW_INSTALL_CMAKEDIR}")
endforeach()
unset(first)
unset(rest)
unset(export_name)
unset(dir)

# The umbrella: ringflow/ringflow.h and ringflow::ringflow, only when every
# component is built.
if(RINGFLOW_ALL_COMPONENTS)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    FILES_MATCHING PATTERN "*.h")
  install(TARGETS ringflow_ringflow EXPORT ringflowTargets)
  install(EXPORT ringflowTargets
    NAMESPACE ringflow::
    DESTINATION "${RINGFLOW_INSTALL_CMAKEDIR}")
endif()

# ringflowConfig.cmake.in reads RINGFLOW_COMPONENTS (what this install has).
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
# Requires and Libs list only the components this build has, so a build
# without observability does not require prometheus-cpp.
set(RINGFLOW_PC_REQUIRES "absl_status absl_statusor absl_strings absl_time")
set(RINGFLOW_PC_LIBS "-lringflow_processors -lringflow_core -pthread")
if(RINGFLOW_BUILD_SHM)
  string(APPEND RINGFLOW_PC_REQUIRES " absl_str_format")
  set(RINGFLOW_PC_LIBS "-lringflow_shm ${RINGFLOW_PC_LIBS} -lrt")
endif()
if(RINGFLOW_BUILD_OBSERVABILITY)
  string(APPEND RINGFLOW_PC_REQUIRES " prometheus-cpp-core prometheus-cpp-pull")
  string(PREPEND RINGFLOW_PC_LIBS "-lringflow_observability ")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/ringflow.pc.in"
  "${PROJECT_BINARY_DIR}/ringflow.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/ringflow.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
