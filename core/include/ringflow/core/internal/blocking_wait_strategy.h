// ringflow/core/internal/blocking_wait_strategy.h
//
// Provides `BlockingWaitStrategy` (sleeps on a futex until a publish; zero
// CPU while idle) and `TimeoutBlockingWaitStrategy` (the same, returning
// kTimeout after a fixed time without events).
//
// Before sleeping, a waiter spins briefly (kBlockingSpinTries pauses, then
// kBlockingYieldTries sched_yield calls): in a steady stream the next publish
// usually lands within that window, which saves the waiter a futex sleep
// and the publisher a futex wake. The phase is bounded, so an idle consumer
// still sleeps in the kernel and uses no CPU.
//
// Only the wait for the producer's cursor sleeps. Waiting for upstream
// consumers (a pipeline stage behind another) spins, then yields, then naps:
// when the cursor has moved, upstream consumers are running and will catch
// up soon; publishers never wake downstream stages twice.
//
// Publishers make a syscall only when a waiter is registered: see
// WakeupSignal for the seq_cst handshake. The futex is not private, so the
// strategy works across processes when the signal lives in shared memory.

#ifndef RINGFLOW_CORE_INTERNAL_BLOCKING_WAIT_STRATEGY_H_
#define RINGFLOW_CORE_INTERNAL_BLOCKING_WAIT_STRATEGY_H_

#include <sched.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/wait_result.h"

namespace ringflow::core_internal {

// Spin long enough that a request/reply round trip rarely sleeps, and well
// under the cost of a futex sleep + wake; an idle consumer pays the window
// once per idle period. The PingPongBlocking figures behind 1024 (and how to
// re-measure them): docs/architecture.md, "Measured figures".
inline constexpr int kBlockingSpinTries = 1024;
inline constexpr int kBlockingYieldTries = 8;

// `timeout_ns < 0` waits without limit.
template <WaitProbe Probe>
WaitResult BlockingWaitFor(int64_t sequence, const Probe& probe,
                           const AlertFlag& alert, WakeupSignal& signal,
                           int64_t timeout_ns) noexcept {
  // Saturating: a huge timeout means "no deadline", never an overflow.
  const int64_t now = timeout_ns >= 0 ? MonotonicNanos() : 0;
  const int64_t deadline = timeout_ns < 0 || timeout_ns > INT64_MAX - now
                               ? INT64_MAX
                               : now + timeout_ns;
  int64_t published = probe.Published(sequence, std::memory_order_acquire);
  for (int tries = 0;
       published < sequence && tries < kBlockingSpinTries + kBlockingYieldTries;
       ++tries) {
    if (alert.IsSet()) return WaitResult::Alerted();
    if (tries < kBlockingSpinTries) {
      probe.Touch();
      CpuRelax();
    } else {
      sched_yield();
    }
    published = probe.Published(sequence, std::memory_order_acquire);
  }
  if (published < sequence) {
    signal.Register();
    for (;;) {
      // Epoch first, then the seq_cst re-check: a publish after the
      // re-check bumps the epoch and the futex wait returns at once.
      const uint32_t epoch = signal.Epoch();
      published = probe.Published(sequence, std::memory_order_seq_cst);
      if (published >= sequence) break;
      if (alert.IsSet()) {
        signal.Unregister();
        return WaitResult::Alerted();
      }
      int64_t remaining = -1;
      if (timeout_ns >= 0) {
        remaining = deadline - MonotonicNanos();
        if (remaining <= 0) {
          signal.Unregister();
          return WaitResult::Timeout();
        }
      }
      signal.Wait(epoch, remaining);
    }
    signal.Unregister();
  }
  if (!probe.HasDependents()) return WaitResult::Available(published);

  // Upstream consumers are behind but running: spin, yield, then nap.
  for (uint32_t tries = 0;; ++tries) {
    const int64_t available = probe.Gate(published);
    if (available >= sequence) return WaitResult::Available(available);
    if (alert.IsSet()) return WaitResult::Alerted();
    if (tries < 100) {
      CpuRelax();
    } else if (tries < 10'000) {
      sched_yield();
    } else {
      if (timeout_ns >= 0 && MonotonicNanos() >= deadline) {
        return WaitResult::Timeout();
      }
      const struct timespec ts { 0, 50'000 };
      nanosleep(&ts, nullptr);
    }
  }
}

class BlockingWaitStrategy {
 public:
  // `signal` is the ring's; it must outlive the strategy.
  explicit BlockingWaitStrategy(WakeupSignal* signal) noexcept
      : signal_(signal) {}

  // Consumer thread only. Never allocates. Sleeps in the kernel while idle.
  template <WaitProbe Probe>
  WaitResult WaitFor(int64_t sequence, const Probe& probe,
                     const AlertFlag& alert) const noexcept {
    return core_internal::BlockingWaitFor(sequence, probe, alert, *signal_, -1);
  }

 private:
  WakeupSignal* signal_;  // owned by the ring
};

class TimeoutBlockingWaitStrategy {
 public:
  TimeoutBlockingWaitStrategy(WakeupSignal* signal, int64_t timeout_ns) noexcept
      : signal_(signal), timeout_ns_(timeout_ns) {}

  // Consumer thread only. Never allocates. Returns kTimeout after
  // `timeout_ns` without the sequence becoming available.
  template <WaitProbe Probe>
  WaitResult WaitFor(int64_t sequence, const Probe& probe,
                     const AlertFlag& alert) const noexcept {
    return core_internal::BlockingWaitFor(sequence, probe, alert, *signal_,
                                          timeout_ns_);
  }

 private:
  WakeupSignal* signal_;  // owned by the ring
  int64_t timeout_ns_;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_BLOCKING_WAIT_STRATEGY_H_
