# Registers the install test (install_test.cmake): install this build into a
# scratch prefix, build examples/ out of tree against it with
# find_package(ringflow CONFIG) and a one-file program with pkg-config, run
# them. Included from tests/integration/CMakeLists.txt.
#
# Needs the libraries (and whatever else `cmake --install` installs) built
# first: run it after a full build.

if(CMAKE_GENERATOR MATCHES "Ninja")
  set(_ringflow_install_test_ninja "${CMAKE_MAKE_PROGRAM}")
else()
  find_program(RINGFLOW_NINJA ninja)
  set(_ringflow_install_test_ninja "${RINGFLOW_NINJA}")
endif()
find_program(RINGFLOW_PKG_CONFIG NAMES pkg-config pkgconf)
string(TOUPPER "${CMAKE_BUILD_TYPE}" _ringflow_install_test_config)

add_test(NAME InstallBuildsExamplesAndPkgConfigConsumer
  COMMAND "${CMAKE_COMMAND}"
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
    "-DVERSION=${PROJECT_VERSION}"
    "-DWARNINGS_AS_ERRORS=${RINGFLOW_WARNINGS_AS_ERRORS}"
    -P "${CMAKE_CURRENT_LIST_DIR}/install_test.cmake")
set_tests_properties(InstallBuildsExamplesAndPkgConfigConsumer PROPERTIES
  LABELS integration
  TIMEOUT 600
  # Builds six programs: keep it from competing with itself under ctest -j.
  RUN_SERIAL ON
  SKIP_REGULAR_EXPRESSION "RINGFLOW_INSTALL_TEST_SKIPPED")
unset(_ringflow_install_test_ninja)
unset(_ringflow_install_test_config)
