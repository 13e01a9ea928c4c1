// ringflow/core/internal/yielding_wait_strategy.h
//
// Provides `YieldingWaitStrategy`: spins a little, then calls sched_yield()
// between checks. Low latency and friendlier to hyper-threads than a busy
// spin, but still 100% of a core while idle.
//
// Memory ordering: as BusySpinWaitStrategy (acquire reads via the probe).

#ifndef RINGFLOW_CORE_INTERNAL_YIELDING_WAIT_STRATEGY_H_
#define RINGFLOW_CORE_INTERNAL_YIELDING_WAIT_STRATEGY_H_

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/wait_result.h"

namespace ringflow::core_internal {

class YieldingWaitStrategy {
 public:
  static constexpr int kSpinTries = 100;

  // `timeout_ns` < 0: wait without limit (every in-process ring); else
  // kTimeout once that long has passed, checked only between yields (a
  // consumer in another process wakes to heartbeat; see shm::AttachedRing).
  explicit YieldingWaitStrategy(int64_t timeout_ns = -1) noexcept
      : timeout_ns_(timeout_ns) {}

  // Consumer thread only. Never allocates.
  template <WaitProbe Probe>
  WaitResult WaitFor(int64_t sequence, const Probe& probe,
                     const AlertFlag& alert) const noexcept {
    int counter = kSpinTries;
    int64_t deadline = -1;  // set at the first yield, when bounded
    for (;;) {
      const int64_t available =
          probe.Gate(probe.Published(sequence, std::memory_order_acquire));
      if (available >= sequence) return WaitResult::Available(available);
      if (alert.IsSet()) return WaitResult::Alerted();
      if (counter > 0) {
        --counter;
        probe.Touch();
        CpuRelax();
      } else {
        if (timeout_ns_ >= 0) {
          const int64_t now = MonotonicNanos();
          if (deadline < 0) {
            deadline = now + std::min<int64_t>(timeout_ns_, INT64_MAX / 4);
          } else if (now >= deadline) {
            return WaitResult::Timeout();
          }
        }
        sched_yield();
      }
    }
  }

 private:
  int64_t timeout_ns_;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_YIELDING_WAIT_STRATEGY_H_
