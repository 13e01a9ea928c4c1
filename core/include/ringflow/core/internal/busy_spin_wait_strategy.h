// ringflow/core/internal/busy_spin_wait_strategy.h
//
// Provides `BusySpinWaitStrategy`: spins with a pause hint until the
// sequence is available. Lowest latency; burns one core per consumer. Use it
// only with a core per consumer thread.
//
// Memory ordering: availability is read through the probe with acquire,
// pairing with the producer's release publish.

#ifndef RINGFLOW_CORE_INTERNAL_BUSY_SPIN_WAIT_STRATEGY_H_
#define RINGFLOW_CORE_INTERNAL_BUSY_SPIN_WAIT_STRATEGY_H_

#include <atomic>
#include <cstdint>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/wait_result.h"

namespace ringflow::core_internal {

class BusySpinWaitStrategy {
 public:
  // Consumer thread only. Never allocates. Returns kAlerted if `alert` is set.
  template <WaitProbe Probe>
  WaitResult WaitFor(int64_t sequence, const Probe& probe,
                     const AlertFlag& alert) const noexcept {
    for (;;) {
      const int64_t available =
          probe.Gate(probe.Published(sequence, std::memory_order_acquire));
      if (available >= sequence) return WaitResult::Available(available);
      if (alert.IsSet()) return WaitResult::Alerted();
      probe.Touch();
      CpuRelax();
    }
  }
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_BUSY_SPIN_WAIT_STRATEGY_H_
