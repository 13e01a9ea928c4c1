// ringflow/core/internal/monotonic_clock.h
//
// Provides `MonotonicNanos` and `CoarseMonotonicNanos`: CLOCK_MONOTONIC
// (system-wide, so comparable across processes: shm heartbeats and stall
// times) in nanoseconds, the one definition every component uses.

#ifndef RINGFLOW_CORE_INTERNAL_MONOTONIC_CLOCK_H_
#define RINGFLOW_CORE_INTERNAL_MONOTONIC_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace ringflow::core_internal {

// CLOCK_MONOTONIC through the vDSO (no syscall).
inline int64_t MonotonicNanos() noexcept {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// CLOCK_MONOTONIC_COARSE: a few ns, resolution one scheduler tick (~4 ms);
// for heartbeats taken on every read.
inline int64_t CoarseMonotonicNanos() noexcept {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_MONOTONIC_CLOCK_H_
