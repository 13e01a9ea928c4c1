# install_test.cmake — does an installed ringflow work for its users?
#
#   cmake -DBUILD_DIR=<main build> -DSOURCE_DIR=<ringflow source>
#         -DSCRATCH_DIR=<dir under the build, wiped first>
#         -DCXX_COMPILER=... [-DCXX_FLAGS=... -DCXX_FLAGS_CONFIG=...
#         -DEXE_LINKER_FLAGS=... -DBUILD_TYPE=... -DMAKE_PROGRAM=<ninja>
#         -DPKG_CONFIG=... -DVERSION=... -DWARNINGS_AS_ERRORS=ON|OFF]
#         -P install_test.cmake
#
# 1. `cmake --install <main build> --prefix <scratch>/prefix`.
# 2. examples/ configured and built out of tree (its own top-level project,
#    find_package(ringflow CONFIG REQUIRED)) with CMAKE_PREFIX_PATH pointing
#    only at that prefix, the same compiler and the Ninja generator; checks
#    that the package came from the prefix and that no include path points
#    back into the source tree; then runs every example.
# 3. A one-file program compiled with `pkg-config --cflags --libs ringflow`
#    (PKG_CONFIG_PATH into the prefix), then run.
#
# The main build's CMAKE_CXX_FLAGS / CMAKE_EXE_LINKER_FLAGS are passed on,
# so the sanitizer presets link their instrumented static libraries.
# Prints "RINGFLOW_INSTALL_TEST_SKIPPED: <why>" (ctest: skipped) when a tool
# it needs (ninja, pkg-config) is missing.

cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR SOURCE_DIR SCRATCH_DIR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Debug)
endif()

# Runs one step; on failure prints its output and fails the test.
function(step name)
  message(STATUS "install test: ${name}")
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: '${name}' failed (${rc}):\n"
      "command: ${ARGN}\n${out}")
  endif()
  set(STEP_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

function(skip why)
  message("RINGFLOW_INSTALL_TEST_SKIPPED: ${why}")
endfunction()

if(NOT MAKE_PROGRAM)
  find_program(MAKE_PROGRAM ninja)
endif()
if(NOT MAKE_PROGRAM)
  skip("ninja not found")
  return()
endif()
if(NOT PKG_CONFIG)
  find_program(PKG_CONFIG NAMES pkg-config pkgconf)
endif()
if(NOT PKG_CONFIG)
  skip("pkg-config not found")
  return()
endif()

# Clean first so reruns start from nothing.
file(REMOVE_RECURSE "${SCRATCH_DIR}")
set(prefix "${SCRATCH_DIR}/prefix")
set(examples_build "${SCRATCH_DIR}/examples")
set(pc_dir "${SCRATCH_DIR}/pkg-config")
file(MAKE_DIRECTORY "${prefix}" "${pc_dir}")

# ---- 1. install --------------------------------------------------------------
step("install into ${prefix}"
  "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
  --config "${BUILD_TYPE}")
foreach(f include/ringflow/ringflow.h include/ringflow/core/ring_buffer.h
          include/ringflow/processors/disruptor.h)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install test: ${f} was not installed")
  endif()
endforeach()
file(GLOB_RECURSE config_files "${prefix}/*/ringflowConfig.cmake")
file(GLOB_RECURSE pc_files "${prefix}/*/ringflow.pc")
list(LENGTH config_files n_config)
list(LENGTH pc_files n_pc)
if(NOT n_config EQUAL 1 OR NOT n_pc EQUAL 1)
  message(FATAL_ERROR "install test: expected one ringflowConfig.cmake and "
    "one ringflow.pc under ${prefix}, found: ${config_files} ${pc_files}")
endif()
get_filename_component(config_dir "${config_files}" DIRECTORY)
get_filename_component(pc_install_dir "${pc_files}" DIRECTORY)

# ---- 2. examples out of tree with find_package -------------------------------
string(TOUPPER "${BUILD_TYPE}" build_type_upper)
step("configure examples out of tree"
  "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples" -B "${examples_build}"
  -G Ninja "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_CXX_FLAGS_${build_type_upper}=${CXX_FLAGS_CONFIG}"
  "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
  "-DRINGFLOW_WARNINGS_AS_ERRORS=${WARNINGS_AS_ERRORS}")

# The package must be the installed one, not a build tree or /usr/local.
file(STRINGS "${examples_build}/CMakeCache.txt" found_dir
  REGEX "^ringflow_DIR:")
string(REGEX REPLACE "^ringflow_DIR:[A-Z]+=" "" found_dir "${found_dir}")
file(REAL_PATH "${found_dir}" found_dir)
file(REAL_PATH "${config_dir}" config_dir)
if(NOT found_dir STREQUAL config_dir)
  message(FATAL_ERROR "install test: find_package(ringflow) found "
    "'${found_dir}', expected '${config_dir}'")
endif()

step("build examples out of tree" "${CMAKE_COMMAND}" --build "${examples_build}")

# Headers must come from the prefix: no include path into the source tree.
file(READ "${examples_build}/compile_commands.json" compile_commands)
foreach(dir include core/include processors/include)
  string(FIND "${compile_commands}" "${SOURCE_DIR}/${dir}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "install test: the out-of-tree build includes "
      "${SOURCE_DIR}/${dir}; the installed headers should be enough")
  endif()
endforeach()
string(FIND "${compile_commands}" "${prefix}/include" at)
if(at EQUAL -1)
  message(FATAL_ERROR "install test: no include path into ${prefix}/include")
endif()

file(GLOB examples LIST_DIRECTORIES false "${examples_build}/example_*")
list(LENGTH examples n_examples)
if(n_examples LESS 1)
  message(FATAL_ERROR "install test: no example_* built in ${examples_build}")
endif()
foreach(example IN LISTS examples)
  get_filename_component(name "${example}" NAME)
  step("run ${name}" "${example}")
  string(STRIP "${STEP_OUTPUT}" out)
  message(STATUS "  ${out}")
endforeach()

# ---- 3. pkg-config -------------------------------------------------------------
if(DEFINED ENV{PKG_CONFIG_PATH} AND NOT "$ENV{PKG_CONFIG_PATH}" STREQUAL "")
  set(ENV{PKG_CONFIG_PATH} "${pc_install_dir}:$ENV{PKG_CONFIG_PATH}")
else()
  set(ENV{PKG_CONFIG_PATH} "${pc_install_dir}")
endif()

step("pkg-config --modversion ringflow" "${PKG_CONFIG}" --modversion ringflow)
string(STRIP "${STEP_OUTPUT}" pc_version)
if(VERSION AND NOT pc_version STREQUAL VERSION)
  message(FATAL_ERROR "install test: ringflow.pc says version "
    "'${pc_version}', the project is ${VERSION}")
endif()
step("pkg-config --variable=includedir ringflow"
  "${PKG_CONFIG}" --variable=includedir ringflow)
string(STRIP "${STEP_OUTPUT}" pc_includedir)
if(NOT EXISTS "${pc_includedir}/ringflow/ringflow.h")
  message(FATAL_ERROR "install test: ringflow.pc's includedir "
    "'${pc_includedir}' has no ringflow/ringflow.h (is the prefix right?)")
endif()
file(REAL_PATH "${pc_includedir}" pc_includedir)
file(REAL_PATH "${prefix}/include" prefix_include)
if(NOT pc_includedir STREQUAL prefix_include)
  message(FATAL_ERROR "install test: ringflow.pc's includedir is "
    "'${pc_includedir}', expected '${prefix_include}'")
endif()

step("pkg-config --cflags ringflow" "${PKG_CONFIG}" --cflags ringflow)
separate_arguments(pc_cflags UNIX_COMMAND "${STEP_OUTPUT}")
step("pkg-config --libs ringflow" "${PKG_CONFIG}" --libs ringflow)
separate_arguments(pc_libs UNIX_COMMAND "${STEP_OUTPUT}")
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS} ${CXX_FLAGS_CONFIG}")
separate_arguments(ld_flags UNIX_COMMAND "${EXE_LINKER_FLAGS}")

# Uses both libraries (RingOptions validation lives in ringflow_core, the
# handler-name demangling in ringflow_processors) and absl::Status.
file(WRITE "${pc_dir}/pc_consumer.cc" [==[
#include <cstdint>
#include <cstdio>
#include <string>

#include "ringflow/ringflow.h"

struct Event {
  int64_t value = 0;
};

struct Sum {
  int64_t total = 0;
  void OnEvent(Event& e, int64_t, bool) noexcept { total += e.value; }
};

int main() {
  auto bad = ringflow::RingBuffer<Event>::Create({.capacity = 3});
  if (bad.ok() || bad.status().message().find('3') == std::string::npos) {
    std::fprintf(stderr, "capacity 3 not rejected by name: %s\n",
                 bad.status().ToString().c_str());
    return 1;
  }
  auto d = ringflow::Disruptor<Event>::Create(
      {.ring = {.capacity = 64,
                .producer_type = ringflow::ProducerType::kSingle}});
  if (!d.ok()) return 1;
  Sum sum;
  (*d)->HandleEventsWith(sum);
  if (!(*d)->Start().ok()) return 1;
  for (int64_t i = 1; i <= 1000; ++i) {
    (*d)->PublishEvent([i](Event& e, int64_t) noexcept { e.value = i; });
  }
  if (!(*d)->Shutdown(absl::Seconds(5)).ok()) return 1;
  std::printf("pc_consumer: sum %lld\n", static_cast<long long>(sum.total));
  return sum.total == 500500 ? 0 : 1;
}
]==])
step("compile with pkg-config flags"
  "${CXX_COMPILER}" ${cxx_flags} ${pc_cflags}
  "${pc_dir}/pc_consumer.cc" -o "${pc_dir}/pc_consumer"
  ${ld_flags} ${pc_libs})
step("run pc_consumer" "${pc_dir}/pc_consumer")
string(STRIP "${STEP_OUTPUT}" out)
message(STATUS "  ${out}")
message(STATUS "install test: passed")
