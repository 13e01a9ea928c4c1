// ringflow/shm/internal/liveness.h
//
// Process identity and clocks for the liveness records of a shared ring:
// a pid plus its start time (so a recycled pid is not taken for the
// original process), and CLOCK_MONOTONIC, which every process on the host
// shares. These are what `ringflow stat` shows; the proof that a producer
// or consumer is alive is its byte lock (segment.h), which the kernel drops
// when the process dies, whatever its pid becomes.
//
// Allocation-free: ProcessStartTicks reads /proc/<pid>/stat into a stack
// buffer.

#ifndef RINGFLOW_SHM_INTERNAL_LIVENESS_H_
#define RINGFLOW_SHM_INTERNAL_LIVENESS_H_

#include <cstdint>

#include "ringflow/core/internal/monotonic_clock.h"

namespace ringflow::shm_internal {

// The clocks live in core (monotonic_clock.h).
using core_internal::CoarseMonotonicNanos;
using core_internal::MonotonicNanos;

int32_t CurrentPid() noexcept;
// Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field
// 22), or 0 when the process does not exist or is a zombie. Recorded for
// `ringflow stat`; liveness itself is proved by locks.
uint64_t ProcessStartTicks(int32_t pid) noexcept;

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_LIVENESS_H_
