# ringflow — the two commands of the quick start, and the rest.
#
#   make demo       install what is missing, build (release), run `ringflow demo`
#   make demo-cluster  the same for `ringflow demo-cluster`: rings bridged
#                   through a 3-node NATS JetStream cluster on loopback
#   make test       install what is missing, build (dev), run every test
#   make test-tsan  ThreadSanitizer over the concurrency and shm tests
#   make test-asan  AddressSanitizer + UBSan over every test
#   make bench      benchmarks side by side with the peers (bench/results/),
#                   2-thread scenarios pinned one thread per CPU (--pin)
#   make bench-scaling  the opt-in 1-8 producer x 1/3 consumer table, pinned
#                   (for a machine with >= 11 cores; bench/results/scaling.*)
#   make bench-static  ringflow_bench linked -static, to carry to a machine
#                   without these packages (build/release/bench/)
#   make bench-smoke  every benchmark scenario tiny (a harness check)
#   make deps       the Debian packages, installed only when missing
#   make format     clang-format the tree in place
#
# Every target is a thin wrapper around CMake presets (CMakePresets.json).

SHELL := /bin/bash
JOBS ?= 2

# Everything ringflow builds against or tests with, as Debian packages.
PACKAGES := g++ cmake ninja-build make pkgconf \
  libabsl-dev libboost-dev libgtest-dev libgmock-dev libbenchmark-dev \
  prometheus-cpp-dev prometheus curl \
  libatomic-queue-dev libconcurrentqueue-dev libreaderwriterqueue-dev \
  libasio-dev \
  nats-server libnats-dev \
  iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev \
  gnuplot-nox clang libclang-rt-14-dev

# CI=true (set by the CI runner) selects the ci preset: warnings are errors.
TEST_PRESET := $(if $(filter true,$(CI)),ci,dev)

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: deps demo demo-cluster test test-tsan test-asan bench bench-scaling bench-static bench-smoke format clean

# Idempotent: dpkg -s each package; only when one is missing, one
# apt-get update and one non-interactive install of the missing ones.
deps:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "make deps: all $(words $(PACKAGES)) packages present"; \
	fi

demo: deps
	cmake --preset release
	cmake --build --preset release --target ringflow
	./build/release/tools/ringflow demo

demo-cluster: deps
	cmake --preset release
	cmake --build --preset release --target ringflow
	./build/release/tools/ringflow demo-cluster

test: deps
	cmake --preset $(TEST_PRESET)
	cmake --build --preset $(TEST_PRESET)
	ctest --preset $(TEST_PRESET) -j $(JOBS)

test-tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan
	ctest --preset tsan -j $(JOBS)

test-asan: deps
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan -j $(JOBS)

# Every topology scenario but the opt-in Scaling family (bench-scaling),
# side by side with the peers and the hardware bounds; writes
# bench/results/latest.{txt,json,png}. A few minutes.
bench: deps
	cmake --preset release
	cmake --build --preset release --target ringflow_bench ringflow_micro_bench
	set -o pipefail; ./build/release/bench/ringflow_bench --pin \
	  --json=bench/results/latest.json --plot=bench/results/latest.png \
	  | tee bench/results/latest.txt
	set -o pipefail; ./build/release/bench/ringflow_micro_bench \
	  | tee bench/results/micro.txt

# The opt-in Scaling family (1, 2, 4, 8 producers x 1, 3 consumers), each
# thread pinned to its own CPU; meaningful only with at least P + C = 11
# cores (on fewer, --pin leaves the larger rows unpinned and they measure
# the scheduler). Writes bench/results/scaling.{txt,json}.
bench-scaling: deps
	cmake --preset release
	cmake --build --preset release --target ringflow_bench
	set -o pipefail; ./build/release/bench/ringflow_bench --scenarios=Scaling \
	  --pin --json=bench/results/scaling.json \
	  | tee bench/results/scaling.txt

# ringflow_bench linked -static (build/release/bench/ringflow_bench_static):
# one file that runs the Scaling table on a machine that has none of the
# Debian packages, e.g. `ringflow_bench_static --scenarios=Scaling --pin`.
bench-static: deps
	cmake --preset release
	cmake --build --preset release --target ringflow_bench_static

# Every scenario tiny: checks the harness still builds and verifies.
bench-smoke: deps
	cmake --preset release
	cmake --build --preset release --target ringflow_bench
	./build/release/bench/ringflow_bench --smoke

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
