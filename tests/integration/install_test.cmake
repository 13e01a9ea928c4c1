# install_test.cmake — does an installed ringflow work for its users?
#
#   cmake -DSTEP=<step> -DBUILD_DIR=<main build> -DSOURCE_DIR=<ringflow source>
#         -DSCRATCH_DIR=<dir under the build> -DCXX_COMPILER=...
#         [-DCXX_FLAGS=... -DCXX_FLAGS_CONFIG=... -DEXE_LINKER_FLAGS=...
#         -DBUILD_TYPE=... -DMAKE_PROGRAM=<ninja> -DPKG_CONFIG=... -DNM=...
#         -DVERSION=... -DWARNINGS_AS_ERRORS=ON|OFF
#         -DCOMPONENTS=core,processors[,shm][,observability]]
#         -P install_test.cmake
#
# Steps (install.cmake registers one ctest test per step; `install` is the
# fixture the others need):
#   install    wipe SCRATCH_DIR, `cmake --install <main build> --prefix
#              <scratch>/prefix`; check that exactly the built components'
#              headers and targets files are there.
#   examples   examples/ configured and built out of tree (its own top-level
#              project, find_package(ringflow CONFIG REQUIRED)) with
#              CMAKE_PREFIX_PATH pointing only at that prefix, the same
#              compiler and the Ninja generator; checks that the package came
#              from the prefix and that no include path points back into the
#              source tree; runs every example. Then a one-file program
#              compiled with `pkg-config --cflags --libs ringflow`
#              (PKG_CONFIG_PATH into the prefix), run.
#   core_only  tests/integration/core_only (COMPONENTS core processors)
#              configured with prometheus-cpp disabled and a dependency
#              provider that logs every find_package(): prometheus-cpp is
#              never looked for, the link line names neither it nor the shm
#              and observability libraries, `nm` finds no prometheus symbol;
#              both programs run and check their sums.
#   missing_component
#              COMPONENTS observability with prometheus-cpp disabled fails
#              naming prometheus-cpp (or, in a build without observability,
#              naming the option); an unknown component is named; an
#              OPTIONAL_COMPONENTS observability does not fail the search.
#   tour       the README's API tour (every ```cpp block between
#              <!-- tour:begin --> and <!-- tour:end -->) written verbatim
#              to tour.cc, built against the installed package and run; the
#              installed umbrella headers include no internal/ header.
#
# The main build's CMAKE_CXX_FLAGS / CMAKE_EXE_LINKER_FLAGS are passed on,
# so the sanitizer presets link their instrumented static libraries.
# Prints "RINGFLOW_INSTALL_TEST_SKIPPED: <why>" (ctest: skipped) when a tool
# it needs (ninja, pkg-config, nm) is missing.

cmake_minimum_required(VERSION 3.25)

foreach(var STEP BUILD_DIR SOURCE_DIR SCRATCH_DIR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Debug)
endif()
if(NOT COMPONENTS)
  set(COMPONENTS core,processors,shm,observability)
endif()
string(REPLACE "," ";" COMPONENTS "${COMPONENTS}")

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
if(STEP STREQUAL "examples")
  if(NOT PKG_CONFIG)
    find_program(PKG_CONFIG NAMES pkg-config pkgconf)
  endif()
  if(NOT PKG_CONFIG)
    skip("pkg-config not found")
    return()
  endif()
endif()
if(STEP STREQUAL "core_only")
  if(NOT NM)
    find_program(NM nm)
  endif()
  if(NOT NM)
    skip("nm not found")
    return()
  endif()
endif()

set(prefix "${SCRATCH_DIR}/prefix")
string(TOUPPER "${BUILD_TYPE}" build_type_upper)
# How every consumer project below is configured: the same compiler and
# flags, Ninja, only the scratch prefix on CMAKE_PREFIX_PATH (Abseil comes
# from the system paths), no package registry.
set(consumer_args
  -G Ninja "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_CXX_FLAGS_${build_type_upper}=${CXX_FLAGS_CONFIG}"
  "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

# ---- install -----------------------------------------------------------------
if(STEP STREQUAL "install")
  # Clean first so reruns start from nothing.
  file(REMOVE_RECURSE "${SCRATCH_DIR}")
  file(MAKE_DIRECTORY "${prefix}")
  step("install into ${prefix}"
    "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
    --config "${BUILD_TYPE}")
  # Each component's umbrella header and targets file is installed exactly
  # when the component was built; ringflow/ringflow.h when all were.
  set(all_components core processors async shm observability bridge)
  set(header_core include/ringflow/core.h)
  set(header_processors include/ringflow/processors.h)
  set(header_async include/ringflow/async.h)
  set(header_shm include/ringflow/shm/shared_ring.h)
  set(header_observability include/ringflow/observability/metrics_exporter.h)
  set(header_bridge include/ringflow/bridge/jetstream_sink.h)
  set(targets_core ringflowCoreTargets.cmake)
  set(targets_processors ringflowProcessorsTargets.cmake)
  set(targets_async ringflowAsyncTargets.cmake)
  set(targets_shm ringflowShmTargets.cmake)
  set(targets_observability ringflowObservabilityTargets.cmake)
  set(targets_bridge ringflowBridgeTargets.cmake)
  file(GLOB_RECURSE config_files "${prefix}/*/ringflowConfig.cmake")
  list(LENGTH config_files n_config)
  if(NOT n_config EQUAL 1)
    message(FATAL_ERROR "install test: expected one ringflowConfig.cmake "
      "under ${prefix}, found: ${config_files}")
  endif()
  get_filename_component(config_dir "${config_files}" DIRECTORY)
  foreach(c IN LISTS all_components)
    if(c IN_LIST COMPONENTS)
      set(want TRUE)
    else()
      set(want FALSE)
    endif()
    foreach(f "${prefix}/${header_${c}}" "${config_dir}/${targets_${c}}")
      if(EXISTS "${f}" AND NOT want)
        message(FATAL_ERROR "install test: ${f} installed, but component "
          "${c} was not built")
      elseif(NOT EXISTS "${f}" AND want)
        message(FATAL_ERROR "install test: ${f} was not installed")
      endif()
    endforeach()
  endforeach()
  # The umbrella: core, processors, shm and observability (async is
  # optional on top).
  set(umbrella TRUE)
  foreach(c core processors shm observability)
    if(NOT c IN_LIST COMPONENTS)
      set(umbrella FALSE)
    endif()
  endforeach()
  foreach(f "${prefix}/include/ringflow/ringflow.h"
            "${config_dir}/ringflowTargets.cmake")
    if(umbrella AND NOT EXISTS "${f}")
      message(FATAL_ERROR "install test: ${f} was not installed")
    elseif(NOT umbrella AND EXISTS "${f}")
      message(FATAL_ERROR "install test: ${f} installed without every component")
    endif()
  endforeach()
  foreach(f include/ringflow/core/ring_buffer.h
            include/ringflow/processors/disruptor.h)
    if(NOT EXISTS "${prefix}/${f}")
      message(FATAL_ERROR "install test: ${f} was not installed")
    endif()
  endforeach()
  file(GLOB_RECURSE pc_files "${prefix}/*/ringflow.pc")
  list(LENGTH pc_files n_pc)
  if(NOT n_pc EQUAL 1)
    message(FATAL_ERROR "install test: expected one ringflow.pc under "
      "${prefix}, found: ${pc_files}")
  endif()
  message(STATUS "install test: installed components ${COMPONENTS}")
  return()
endif()

# ---- every other step: the prefix the install step filled -------------------
file(GLOB_RECURSE config_files "${prefix}/*/ringflowConfig.cmake")
file(GLOB_RECURSE pc_files "${prefix}/*/ringflow.pc")
list(LENGTH config_files n_config)
list(LENGTH pc_files n_pc)
if(NOT n_config EQUAL 1 OR NOT n_pc EQUAL 1)
  message(FATAL_ERROR "install test: no installed ringflow under ${prefix} "
    "(run the InstallIntoScratchPrefix test first)")
endif()
get_filename_component(config_dir "${config_files}" DIRECTORY)
get_filename_component(pc_install_dir "${pc_files}" DIRECTORY)
file(REAL_PATH "${config_dir}" config_dir)

# The package a consumer build found must be the installed one, not a build
# tree or /usr/local.
function(check_found_in_prefix build)
  file(STRINGS "${build}/CMakeCache.txt" found_dir REGEX "^ringflow_DIR:")
  string(REGEX REPLACE "^ringflow_DIR:[A-Z]+=" "" found_dir "${found_dir}")
  file(REAL_PATH "${found_dir}" found_dir)
  if(NOT found_dir STREQUAL config_dir)
    message(FATAL_ERROR "install test: find_package(ringflow) found "
      "'${found_dir}', expected '${config_dir}'")
  endif()
endfunction()

# ---- examples out of tree with find_package, then pkg-config ----------------
if(STEP STREQUAL "examples")
  set(examples_build "${SCRATCH_DIR}/examples")
  set(pc_dir "${SCRATCH_DIR}/pkg-config")
  file(REMOVE_RECURSE "${examples_build}" "${pc_dir}")
  file(MAKE_DIRECTORY "${pc_dir}")
  step("configure examples out of tree"
    "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples" -B "${examples_build}"
    ${consumer_args}
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
    "-DRINGFLOW_WARNINGS_AS_ERRORS=${WARNINGS_AS_ERRORS}")
  check_found_in_prefix("${examples_build}")

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

  # pkg-config
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
  message(STATUS "install test: examples and pkg-config consumer passed")
  return()
endif()

# ---- a core-only consumer: no prometheus-cpp anywhere ------------------------
if(STEP STREQUAL "core_only")
  set(dir "${SCRATCH_DIR}/core_only")
  set(build "${dir}/build")
  set(log "${dir}/find_package.log")
  file(REMOVE_RECURSE "${dir}")
  file(MAKE_DIRECTORY "${dir}")
  file(WRITE "${log}" "")
  # 1. Which packages does find_package(ringflow ... COMPONENTS core
  # processors) look for? A dependency provider (CMake >= 3.24) sees every
  # find_package() call of the project, those inside package config files
  # included; this one logs the name and lets CMake's own search go on.
  # (Not with CMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp: a disabled package
  # never reaches the provider.)
  file(CONFIGURE OUTPUT "${dir}/record_find_package.cmake" CONTENT [==[
function(ringflow_record_find_package method package_name)
  file(APPEND "@log@" "${package_name}\n")
endfunction()
cmake_language(SET_DEPENDENCY_PROVIDER ringflow_record_find_package
  SUPPORTED_METHODS FIND_PACKAGE)
]==] @ONLY)
  step("configure core_only, logging find_package()"
    "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/integration/core_only"
    -B "${dir}/probe" ${consumer_args}
    "-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=${dir}/record_find_package.cmake")
  check_found_in_prefix("${dir}/probe")
  # ringflow and, from its config, absl (so the log does see nested calls),
  # but never prometheus-cpp.
  file(STRINGS "${log}" looked_for)
  list(REMOVE_DUPLICATES looked_for)
  message(STATUS "  find_package() calls: ${looked_for}")
  foreach(name ringflow absl)
    if(NOT name IN_LIST looked_for)
      message(FATAL_ERROR "install test: the provider did not record "
        "find_package(${name}); recorded: ${looked_for}")
    endif()
  endforeach()
  if("prometheus-cpp" IN_LIST looked_for)
    message(FATAL_ERROR "install test: COMPONENTS core processors looked "
      "for prometheus-cpp")
  endif()

  # 2. With prometheus-cpp disabled (it is installed on this machine: the
  # main build used it), configure, build and run.
  step("configure core_only (prometheus-cpp disabled)"
    "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/integration/core_only"
    -B "${build}" ${consumer_args}
    -DCMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp=ON)
  check_found_in_prefix("${build}")
  file(READ "${build}/CMakeCache.txt" cache)
  string(FIND "${cache}" "prometheus-cpp_DIR" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "install test: core_only's cache has prometheus-cpp_DIR")
  endif()

  step("build core_only" "${CMAKE_COMMAND}" --build "${build}")

  # The link line: core and processors archives, nothing of shm,
  # observability or prometheus-cpp.
  step("core_only link line" "${MAKE_PROGRAM}" -C "${build}" -t commands core_only)
  string(REGEX MATCH "[^\n]*-o core_only[^\n]*" link_line "${STEP_OUTPUT}")
  if(link_line STREQUAL "")
    message(FATAL_ERROR "install test: no link command for core_only in:\n"
      "${STEP_OUTPUT}")
  endif()
  foreach(lib libringflow_processors.a libringflow_core.a)
    string(FIND "${link_line}" "${lib}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "install test: core_only does not link ${lib}:\n"
        "${link_line}")
    endif()
  endforeach()
  string(REGEX MATCH "prometheus|ringflow_shm|ringflow_observability|-lrt"
    bad "${link_line}")
  if(bad)
    message(FATAL_ERROR "install test: core_only links '${bad}':\n${link_line}")
  endif()

  # The program: ringflow's symbols are there, prometheus's are not.
  step("nm core_only" "${NM}" -C "${build}/core_only")
  string(FIND "${STEP_OUTPUT}" "ringflow::" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "install test: nm finds no ringflow:: symbol in "
      "core_only (is nm reading the right file?)")
  endif()
  string(TOLOWER "${STEP_OUTPUT}" symbols)
  string(FIND "${symbols}" "prometheus" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "install test: core_only has prometheus symbols")
  endif()

  foreach(program core_only core_umbrella)
    step("run ${program}" "${build}/${program}")
    string(STRIP "${STEP_OUTPUT}" out)
    message(STATUS "  ${out}")
  endforeach()
  message(STATUS "install test: core-only consumer passed")
  return()
endif()

# ---- a missing component or dependency is named -------------------------------
if(STEP STREQUAL "missing_component")
  set(dir "${SCRATCH_DIR}/missing_component")
  file(REMOVE_RECURSE "${dir}")
  file(WRITE "${dir}/CMakeLists.txt" [==[
cmake_minimum_required(VERSION 3.25)
project(ringflow_missing_component LANGUAGES CXX)
# WANT / OPTIONAL: comma-separated component lists.
string(REPLACE "," ";" WANT "${WANT}")
string(REPLACE "," ";" OPTIONAL "${OPTIONAL}")
find_package(ringflow CONFIG REQUIRED
  COMPONENTS ${WANT} OPTIONAL_COMPONENTS ${OPTIONAL})
foreach(c core processors async shm observability ringflow)
  if(TARGET ringflow::${c})
    message(STATUS "target ringflow::${c}: defined")
  else()
    message(STATUS "target ringflow::${c}: not defined")
  endif()
endforeach()
]==])

  # configure_case(<name> <expect ok|fail> <WANT> <OPTIONAL> <regex>...):
  # configures that project (prometheus-cpp disabled) in its own build dir
  # and checks the result and that the output matches every regex.
  function(configure_case name expect want optional)
    message(STATUS "install test: ${name}")
    execute_process(COMMAND "${CMAKE_COMMAND}" -S "${dir}" -B "${dir}/${name}"
      ${consumer_args} "-DWANT=${want}" "-DOPTIONAL=${optional}"
      -DCMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp=ON
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(expect STREQUAL "fail" AND rc EQUAL 0)
      message(FATAL_ERROR "install test: '${name}' configured, expected it "
        "to fail:\n${out}")
    elseif(expect STREQUAL "ok" AND NOT rc EQUAL 0)
      message(FATAL_ERROR "install test: '${name}' failed (${rc}):\n${out}")
    endif()
    foreach(regex IN LISTS ARGN)
      if(NOT out MATCHES "${regex}")
        message(FATAL_ERROR "install test: '${name}': output does not match "
          "'${regex}':\n${out}")
      endif()
    endforeach()
  endfunction()

  if("observability" IN_LIST COMPONENTS)
    configure_case(observability_without_prometheus fail observability ""
      "requested component 'observability' needs prometheus-cpp")
  else()
    configure_case(observability_not_built fail observability ""
      "requested component 'observability' is not in this install"
      "RINGFLOW_BUILD_OBSERVABILITY=OFF")
  endif()
  configure_case(unknown_component fail "core,frobnicate" ""
    "requested component 'frobnicate' is unknown")
  # Optional: the search succeeds without it, and only what loaded is defined.
  configure_case(observability_optional ok "core,processors" observability
    "target ringflow::processors: defined"
    "target ringflow::observability: not defined"
    "target ringflow::ringflow: not defined")
  # The optional Asio component loads on its own, with what it needs.
  if("async" IN_LIST COMPONENTS)
    configure_case(async_alone ok async ""
      "target ringflow::async: defined"
      "target ringflow::processors: defined"
      "target ringflow::shm: not defined")
  else()
    configure_case(async_not_built fail async ""
      "requested component 'async' is not in this install"
      "RINGFLOW_BUILD_ASYNC=OFF")
  endif()
  message(STATUS "install test: missing components named")
  return()
endif()

# ---- README's API tour, verbatim ----------------------------------------------
if(STEP STREQUAL "tour")
  set(dir "${SCRATCH_DIR}/tour")
  file(REMOVE_RECURSE "${dir}")
  file(READ "${SOURCE_DIR}/README.md" readme)
  set(begin_marker "<!-- tour:begin -->")
  set(end_marker "<!-- tour:end -->")
  string(FIND "${readme}" "${begin_marker}" begin)
  string(FIND "${readme}" "${begin_marker}" last_begin REVERSE)
  string(FIND "${readme}" "${end_marker}" end)
  if(begin EQUAL -1 OR end LESS begin OR NOT begin EQUAL last_begin)
    message(FATAL_ERROR "install test: README.md needs one '${begin_marker}' "
      "followed by '${end_marker}' around the API tour")
  endif()
  math(EXPR length "${end} - ${begin}")
  string(SUBSTRING "${readme}" ${begin} ${length} rest)
  # Every ```cpp block between the markers, in order, text unchanged.
  set(tour "")
  set(blocks 0)
  while(TRUE)
    string(FIND "${rest}" "```cpp\n" open)
    if(open EQUAL -1)
      break()
    endif()
    math(EXPR open "${open} + 7")
    string(SUBSTRING "${rest}" ${open} -1 rest)
    string(FIND "${rest}" "\n```" close)
    if(close EQUAL -1)
      message(FATAL_ERROR "install test: unclosed ```cpp block in the tour")
    endif()
    math(EXPR close "${close} + 1")
    string(SUBSTRING "${rest}" 0 ${close} code)
    string(APPEND tour "${code}")
    math(EXPR blocks "${blocks} + 1")
    math(EXPR close "${close} + 3")
    string(SUBSTRING "${rest}" ${close} -1 rest)
  endwhile()
  if(blocks EQUAL 0 OR NOT tour MATCHES "int main\\(")
    message(FATAL_ERROR "install test: the README tour (${blocks} ```cpp "
      "blocks) is not a complete program with a main()")
  endif()
  file(WRITE "${dir}/tour.cc" "${tour}")
  file(WRITE "${dir}/CMakeLists.txt" [==[
cmake_minimum_required(VERSION 3.25)
project(ringflow_readme_tour LANGUAGES CXX)
find_package(ringflow CONFIG REQUIRED)
add_executable(tour tour.cc)
target_compile_features(tour PRIVATE cxx_std_20)
target_link_libraries(tour PRIVATE ringflow::ringflow)
]==])
  message(STATUS "install test: ${blocks} tour blocks -> ${dir}/tour.cc")
  step("configure the tour" "${CMAKE_COMMAND}" -S "${dir}" -B "${dir}/build"
    ${consumer_args})
  check_found_in_prefix("${dir}/build")
  step("build the tour" "${CMAKE_COMMAND}" --build "${dir}/build")
  step("run the tour" "${dir}/build/tour")

  # The umbrella headers name only public headers.
  foreach(header core.h processors.h ringflow.h)
    file(STRINGS "${prefix}/include/ringflow/${header}" includes
      REGEX "^#include")
    foreach(line IN LISTS includes)
      if(line MATCHES "/internal/")
        message(FATAL_ERROR "install test: ringflow/${header} includes an "
          "internal header: ${line}")
      endif()
    endforeach()
  endforeach()
  message(STATUS "install test: README tour passed")
  return()
endif()

message(FATAL_ERROR "install test: unknown STEP '${STEP}'")
