# Registers the install tests (install_test.cmake, one STEP each):
#
#   InstallIntoScratchPrefix        install this build into a scratch prefix
#                                   (the fixture the others need)
#   InstallBuildsExamplesAndPkgConfigConsumer
#                                   examples/ out of tree with
#                                   find_package(ringflow CONFIG) and a
#                                   one-file program with pkg-config
#   InstallBuildsCoreOnlyConsumerWithoutPrometheus
#                                   core_only/: COMPONENTS core processors,
#                                   prometheus-cpp disabled and never looked
#                                   for, no prometheus symbol or library
#   InstallNamesMissingComponent    COMPONENTS observability without
#                                   prometheus-cpp (or without the component)
#                                   fails naming what is missing
#   InstallCompilesReadmeTourVerbatim
#                                   README's API tour, extracted between its
#                                   tour:begin/tour:end markers, compiled and
#                                   run; the umbrella headers include no
#                                   internal/ header
#
# The examples, the pkg-config program and the tour use ringflow/ringflow.h
# and ringflow::ringflow: registered only in a build with every component.
# Included from tests/integration/CMakeLists.txt. Needs the libraries (and
# whatever else `cmake --install` installs) built first: run after a full
# build.

if(CMAKE_GENERATOR MATCHES "Ninja")
  set(_ringflow_install_test_ninja "${CMAKE_MAKE_PROGRAM}")
else()
  find_program(RINGFLOW_NINJA ninja)
  set(_ringflow_install_test_ninja "${RINGFLOW_NINJA}")
endif()
find_program(RINGFLOW_PKG_CONFIG NAMES pkg-config pkgconf)
string(TOUPPER "${CMAKE_BUILD_TYPE}" _ringflow_install_test_config)
# Commas: a list would be split on its way through ctest.
string(REPLACE ";" "," _ringflow_install_test_components "${RINGFLOW_COMPONENTS}")

# ringflow_add_install_test(<name> <step>)
function(ringflow_add_install_test name step)
  add_test(NAME ${name}
    COMMAND "${CMAKE_COMMAND}"
      "-DSTEP=${step}"
      "-DBUILD_DIR=${PROJECT_BINARY_DIR}"
      "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
      "-DSCRATCH_DIR=${PROJECT_BINARY_DIR}/install_test"
      "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
      "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
      "-DCXX_FLAGS_CONFIG=${CMAKE_CXX_FLAGS_${_ringflow_install_test_config}}"
      "-DEXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}"
      "-DBUILD_TYPE=${CMAKE_BUILD_TYPE}"
      "-DMAKE_PROGRAM=${_ringflow_install_test_ninja}"
      "-DPKG_CONFIG=${RINGFLOW_PKG_CONFIG}"
      "-DNM=${CMAKE_NM}"
      "-DVERSION=${PROJECT_VERSION}"
      "-DWARNINGS_AS_ERRORS=${RINGFLOW_WARNINGS_AS_ERRORS}"
      "-DCOMPONENTS=${_ringflow_install_test_components}"
      -P "${CMAKE_CURRENT_LIST_DIR}/install_test.cmake")
  set_tests_properties(${name} PROPERTIES
    LABELS integration
    TIMEOUT 600
    # Each builds programs: keep them from competing under ctest -j.
    RUN_SERIAL ON
    SKIP_REGULAR_EXPRESSION "RINGFLOW_INSTALL_TEST_SKIPPED")
  if(step STREQUAL "install")
    set_tests_properties(${name} PROPERTIES FIXTURES_SETUP ringflow_installed)
  else()
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ringflow_installed)
  endif()
endfunction()

ringflow_add_install_test(InstallIntoScratchPrefix install)
ringflow_add_install_test(InstallBuildsCoreOnlyConsumerWithoutPrometheus core_only)
ringflow_add_install_test(InstallNamesMissingComponent missing_component)
if(RINGFLOW_ALL_COMPONENTS)
  ringflow_add_install_test(InstallBuildsExamplesAndPkgConfigConsumer examples)
  ringflow_add_install_test(InstallCompilesReadmeTourVerbatim tour)
endif()

unset(_ringflow_install_test_ninja)
unset(_ringflow_install_test_config)
unset(_ringflow_install_test_components)
