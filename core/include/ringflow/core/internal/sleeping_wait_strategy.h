// ringflow/core/internal/sleeping_wait_strategy.h
//
// Provides `SleepingWaitStrategy`: spins, then yields, then sleeps for a
// short, fixed time between checks. Low CPU while idle at the price of up
// to one sleep of latency. Publishers never make a syscall for it.
//
// Memory ordering: as BusySpinWaitStrategy (acquire reads via the probe).

#ifndef RINGFLOW_CORE_INTERNAL_SLEEPING_WAIT_STRATEGY_H_
#define RINGFLOW_CORE_INTERNAL_SLEEPING_WAIT_STRATEGY_H_

#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/wait_result.h"

namespace ringflow::core_internal {

class SleepingWaitStrategy {
 public:
  static constexpr int kSpinTries = 100;
  static constexpr int kYieldTries = 100;
  static constexpr long kSleepNanos = 100'000;  // 100 us

  // Consumer thread only. Never allocates.
  template <WaitProbe Probe>
  WaitResult WaitFor(int64_t sequence, const Probe& probe,
                     const AlertFlag& alert) const noexcept {
    int counter = kSpinTries + kYieldTries;
    for (;;) {
      const int64_t available =
          probe.Gate(probe.Published(sequence, std::memory_order_acquire));
      if (available >= sequence) return WaitResult::Available(available);
      if (alert.IsSet()) return WaitResult::Alerted();
      if (counter > kYieldTries) {
        --counter;
        probe.Touch();
        CpuRelax();
      } else if (counter > 0) {
        --counter;
        sched_yield();
      } else {
        const struct timespec ts { 0, kSleepNanos };
        nanosleep(&ts, nullptr);
      }
    }
  }
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_SLEEPING_WAIT_STRATEGY_H_
