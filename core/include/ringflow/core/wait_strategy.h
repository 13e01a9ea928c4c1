// ringflow/core/wait_strategy.h
//
// Provides `WaitStrategy`: the strategy a ring's consumers use, chosen once
// at setup from a WaitStrategyKind. `WaitFor` switches on the kind (one
// predictable branch per wait, not per event) into the inlined loop of the
// concrete strategy; no virtual call.
//
// The producer side asks `NeedsWakeup()` once per publish: only the
// blocking kinds do, and then the publisher stores the cursor seq_cst and
// calls `signal()->WakeIfWaiters()`.

#ifndef RINGFLOW_CORE_WAIT_STRATEGY_H_
#define RINGFLOW_CORE_WAIT_STRATEGY_H_

#include <cstdint>

#include "ringflow/core/internal/blocking_wait_strategy.h"
#include "ringflow/core/internal/busy_spin_wait_strategy.h"
#include "ringflow/core/internal/sleeping_wait_strategy.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/internal/yielding_wait_strategy.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/wait_result.h"

namespace ringflow {

class WaitStrategy {
 public:
  // `signal` must outlive the strategy; it is used by the blocking kinds.
  WaitStrategy(WaitStrategyKind kind, core_internal::WakeupSignal* signal,
               int64_t timeout_ns) noexcept
      : kind_(kind), signal_(signal), timeout_ns_(timeout_ns) {}

  WaitStrategyKind kind() const noexcept { return kind_; }
  core_internal::WakeupSignal* signal() const noexcept { return signal_; }

  // True for the kinds whose consumers sleep and must be woken.
  bool NeedsWakeup() const noexcept {
    return kind_ == WaitStrategyKind::kBlocking ||
           kind_ == WaitStrategyKind::kTimeoutBlocking;
  }

  // Consumer thread only. Never allocates.
  template <core_internal::WaitProbe Probe>
  WaitResult WaitFor(int64_t sequence, const Probe& probe,
                     const core_internal::AlertFlag& alert) const noexcept {
    switch (kind_) {
      case WaitStrategyKind::kBusySpin:
        return core_internal::BusySpinWaitStrategy().WaitFor(sequence, probe,
                                                             alert);
      case WaitStrategyKind::kYielding:
        return core_internal::YieldingWaitStrategy(timeout_ns_)
            .WaitFor(sequence, probe, alert);
      case WaitStrategyKind::kSleeping:
        return core_internal::SleepingWaitStrategy().WaitFor(sequence, probe,
                                                             alert);
      case WaitStrategyKind::kBlocking:
        return core_internal::BlockingWaitStrategy(signal_).WaitFor(
            sequence, probe, alert);
      case WaitStrategyKind::kTimeoutBlocking:
        return core_internal::TimeoutBlockingWaitStrategy(signal_, timeout_ns_)
            .WaitFor(sequence, probe, alert);
    }
    return WaitResult::Alerted();
  }

  // Wakes every sleeping consumer (after an alert, or when a consumer's
  // sequence moved for a reason other than a publish). Thread-safe.
  void WakeAll() const noexcept {
    if (NeedsWakeup()) signal_->WakeAll();
  }

 private:
  WaitStrategyKind kind_;
  core_internal::WakeupSignal* signal_;  // owned by the ring
  int64_t timeout_ns_;
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_WAIT_STRATEGY_H_
