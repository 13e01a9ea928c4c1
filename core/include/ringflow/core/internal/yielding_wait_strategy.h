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

#include <atomic>
#include <cstdint>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/wait_result.h"

namespace ringflow::core_internal {

class YieldingWaitStrategy {
 public:
  static constexpr int kSpinTries = 100;

  // Consumer thread only. Never allocates.
  template <WaitProbe Probe>
  WaitResult WaitFor(int64_t sequence, const Probe& probe,
                     const AlertFlag& alert) const noexcept {
    int counter = kSpinTries;
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
        sched_yield();
      }
    }
  }
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_YIELDING_WAIT_STRATEGY_H_
