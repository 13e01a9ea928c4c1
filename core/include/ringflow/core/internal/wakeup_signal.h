// ringflow/core/internal/wakeup_signal.h
//
// Provides `WakeupSignal`: the word blocking consumers sleep on and the
// publisher bumps, plus a count of registered sleepers so that a publisher
// makes a syscall only when somebody sleeps.
//
// One WakeupSignal per ring, shared by the producer(s) and every blocking
// consumer; it is standard layout and may live in shared memory (the futex
// is not private, so it works across processes).
//
// Memory ordering (a Dekker handshake, both sides seq_cst):
//   waiter:    waiters_ += 1 (seq_cst); e = epoch_; re-read the cursor
//              (seq_cst); if nothing new, futex_wait(epoch_, e).
//   publisher: store the cursor (seq_cst); read waiters_ (seq_cst); if > 0,
//              bump epoch_ and futex_wake.
// In the single total order of seq_cst operations either the waiter's
// re-read sees the new cursor, or the publisher's read sees the waiter and
// bumps the epoch, which makes the waiter's futex_wait return.

#ifndef RINGFLOW_CORE_INTERNAL_WAKEUP_SIGNAL_H_
#define RINGFLOW_CORE_INTERNAL_WAKEUP_SIGNAL_H_

#include <atomic>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/futex.h"
#include "ringflow/core/internal/notifier_table.h"

namespace ringflow::core_internal {

class alignas(kFalseSharingRange) WakeupSignal {
 public:
  constexpr WakeupSignal() noexcept = default;
  WakeupSignal(const WakeupSignal&) = delete;
  WakeupSignal& operator=(const WakeupSignal&) = delete;

  // Publisher side, after a seq_cst store of the cursor / availability.
  // Seq_cst load: the store->load half of the handshake described above.
  // Thread-safe. Wait-free unless a waiter is registered (then one syscall).
  void WakeIfWaiters() noexcept {
    if (RINGFLOW_UNLIKELY(waiters_.load(std::memory_order_seq_cst) != 0)) {
      WakeAll();
    }
  }

  // Unconditional wake, for alerts (halt) and for consumers that moved.
  // Thread-safe. One syscall. Never allocates.
  void WakeAll() noexcept {
    // Release: a waiter that reads the new epoch (acquire, in Epoch()) also
    // sees the cursor / alert stored before this call.
    epoch_.fetch_add(1, std::memory_order_release);
    core_internal::FutexWake(&epoch_, INT_MAX);
    // Armed eventfd notifiers of this signal (notifier_table.h): looked up
    // in this process's table, never through the signal's own bytes.
    if (RINGFLOW_UNLIKELY(AnyNotifiers())) FireNotifiers(*this);
  }

  // Waiter side: announce a sleeper. Seq_cst RMW: pairs with the seq_cst
  // load in WakeIfWaiters.
  void Register() noexcept { waiters_.fetch_add(1, std::memory_order_seq_cst); }

  // Relaxed: the count only decides whether publishers wake; a stale high
  // value costs one spare syscall, never a missed wake-up.
  void Unregister() noexcept {
    waiters_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Acquire: pairs with the release bump in WakeAll. Read it *before*
  // re-checking the condition, then pass it to Wait.
  uint32_t Epoch() const noexcept {
    return epoch_.load(std::memory_order_acquire);
  }

  // Sleeps while the epoch equals `observed`; `timeout_ns < 0` waits without
  // limit. Returns false on timeout.
  bool Wait(uint32_t observed, int64_t timeout_ns) const noexcept {
    return core_internal::FutexWait(&epoch_, observed, timeout_ns);
  }

  // Statistic: how many consumers are asleep or about to be. Relaxed.
  uint32_t Waiters() const noexcept {
    return waiters_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t> epoch_{0};    // futex word; bumped by wakers
  std::atomic<uint32_t> waiters_{0};  // written by waiters, read by wakers
};

static_assert(sizeof(WakeupSignal) == kFalseSharingRange,
              "the signal owns its 128 bytes: consumers bump waiters_ while "
              "the producer writes the cursor nearby");
static_assert(std::is_standard_layout_v<WakeupSignal>,
              "placed in shared memory by offset");

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_WAKEUP_SIGNAL_H_
