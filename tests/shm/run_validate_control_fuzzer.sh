#!/bin/sh
# Builds and runs the libFuzzer target on shm_internal::ValidateControl (ctest
# shm_validate_control_fuzzer, label shm).
#
#   run_validate_control_fuzzer.sh <repo root> <scratch dir> <shm_child>
#
# Configures tests/shm/fuzz with clang++ in <scratch dir>/build (once; later
# runs rebuild incrementally), writes a valid control segment image as the
# seed corpus (shm_child image: an event ring and a byte ring), and fuzzes for a bounded time with a fixed
# seed. Exit 77 (ctest: skipped) when clang++ or its libFuzzer runtime
# (Debian: libclang-rt-14-dev) is missing. Environment:
#   RINGFLOW_FUZZ_SECONDS  how long to fuzz (default 20)
set -eu

root=$1
scratch=$2
child=$3
seconds=${RINGFLOW_FUZZ_SECONDS:-20}

skip() {
  echo "SKIPPED: $*"
  exit 77
}

cxx=$(command -v clang++ || command -v clang++-14 || true)
[ -n "$cxx" ] || skip "clang++ is not installed"
mkdir -p "$scratch"
probe="$scratch/probe.cc"
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe"
if ! "$cxx" -fsanitize=fuzzer,address "$probe" -o "$scratch/probe" \
    >"$scratch/probe.log" 2>&1; then
  cat "$scratch/probe.log"
  skip "$cxx cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)"
fi

build="$scratch/build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=
  if command -v ninja >/dev/null 2>&1; then generator="-GNinja"; fi
  cmake -S "$root/tests/shm/fuzz" -B "$build" $generator \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE= \
    -DRINGFLOW_SOURCE_DIR="$root"
fi
cmake --build "$build" -j2

seeds="$scratch/seeds"
corpus="$scratch/corpus"
rm -rf "$seeds" "$corpus"
mkdir -p "$seeds" "$corpus"
"$child" image out="$seeds/valid-ring.bin"
"$child" image kind=bytes out="$seeds/valid-byte-ring.bin"

# -max_len: room for the image and random growth around it.
size=$(cat "$seeds/valid-ring.bin" "$seeds/valid-byte-ring.bin" | wc -c)
echo "fuzzing shm_internal::ValidateControl for ${seconds}s from two images (${size} bytes)"
cd "$scratch"
exec "$build/validate_control_fuzzer" -seed=1 -max_total_time="$seconds" \
  -max_len=$((size * 2)) -print_final_stats=1 \
  -artifact_prefix="$scratch/" "$corpus" "$seeds"
