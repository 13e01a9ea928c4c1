// ringflow/core/internal/multi_producer_sequencer.h
//
// Provides `MultiProducerSequencer`: claims and publishes for any number of
// producer threads. `Next` takes one fetch_add (never a CAS loop);
// `TryNext` a CAS, so it can refuse without claiming. Producers
// publish out of order: each writes the published sequence into the slot's
// entry of the availability buffer, and consumers scan for the highest
// contiguous published sequence (PublishedCursor).
//
// The availability buffer stores the full sequence, not a lap number, so it
// can never wrap around whatever the capacity and run length.
//
// Who calls what: every member is thread-safe for producer threads.
//
// Memory ordering:
//   - claim: fetch_add seq_cst on the cursor (see Sequence::FetchAddSeqCst).
//   - publish: release store of the availability entry (seq_cst when a
//     blocking strategy needs the wake-up handshake). Pairs with
//     PublishedCursor::Published -> entry load (acquire / seq_cst).
//   - gating: consumer sequences read with acquire; the cached minimum is
//     shared by the producers with release/acquire, so a producer trusting
//     another's cached value is ordered after the consumers' releases.
//   - late joiners: the claim is a seq_cst RMW, so it orders the claim
//     before the seq_cst reads of slot states (see ConsumerTable).

#ifndef RINGFLOW_CORE_INTERNAL_MULTI_PRODUCER_SEQUENCER_H_
#define RINGFLOW_CORE_INTERNAL_MULTI_PRODUCER_SEQUENCER_H_

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/fill_then_publish.h"
#include "ringflow/core/internal/gating_view.h"
#include "ringflow/core/internal/producer_backoff.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow::core_internal {

template <GatingView Gating>
class MultiProducerSequencer {
 public:
  // Pointers are to storage owned by the ring; they must outlive this.
  // `available` has `capacity` entries initialised to -1 (or to the last
  // sequence published into each slot, for a restarted producer).
  MultiProducerSequencer(int64_t capacity, Sequence* cursor,
                         std::atomic<int64_t>* available, const Gating* gating,
                         const WaitStrategy* wait, const ProducerGate* gate,
                         ProducerCounters counters) noexcept
      : capacity_(capacity),
        mask_(capacity - 1),
        cursor_(cursor),
        available_(available),
        gating_(gating),
        wake_signal_(wait->NeedsWakeup() ? wait->signal() : nullptr),
        gate_(gate),
        counters_(counters) {}

  MultiProducerSequencer(const MultiProducerSequencer&) = delete;
  MultiProducerSequencer& operator=(const MultiProducerSequencer&) = delete;

  // Claims `n` slots, waiting for space: true and the highest claimed
  // sequence in `hi`. False when n is outside [1, capacity], the ring is
  // closed, or it was halted while waiting (the claimed range is then never
  // published: halting ends the ring). Thread-safe. Never allocates.
  bool Next(int64_t n, int64_t& hi) noexcept {
    // Create rejects a capacity below 1, so with a constant n = 1 the
    // bounds check folds away.
    if (capacity_ < 1) __builtin_unreachable();
    if (RINGFLOW_UNLIKELY(n < 1 || n > capacity_ || !gate_->IsOpen())) {
      return false;
    }
    const int64_t current = cursor_->FetchAddSeqCst(n);
    const int64_t next = current + n;
    const int64_t wrap_point = next - capacity_;
    // Acquire: pairs with the release store in AwaitGating by whichever
    // producer refreshed the cache: it read the consumer sequences with
    // acquire, so trusting its value inherits their "done reading" release.
    const int64_t cached = shared_.cached_gating.LoadAcquire();
    if (RINGFLOW_UNLIKELY(wrap_point > cached || cached > current)) {
      if (!AwaitGating(current, wrap_point)) return false;
    }
    hi = next;
    return true;
  }

  // As Next, but only if the slots are free now; never waits. False too
  // when the ring is full. Thread-safe. Lock-free. Never allocates.
  // kCountFailure = false: a deadline claim retrying (Sequencer::NextFor),
  // which counts one full wait instead of a failure per retry.
  template <bool kCountFailure = true>
  bool TryNext(int64_t n, int64_t& hi) noexcept {
    if (capacity_ < 1) __builtin_unreachable();  // as in Next
    if (RINGFLOW_UNLIKELY(n < 1 || n > capacity_ || !gate_->IsOpen())) {
      return false;
    }
    // Relaxed: the CAS below re-validates the value.
    int64_t current = cursor_->LoadRelaxed();
    for (;;) {
      if (!HasAvailableCapacity(n, current)) {
        if constexpr (kCountFailure) counters_.OnTryNextFailure();
        return false;
      }
      if (cursor_->CompareExchange(current, current + n)) {
        hi = current + n;
        return true;
      }
    }
  }

  // Publishes [lo, hi]. Thread-safe (each producer publishes what it
  // claimed). Wait-free; one syscall only when a blocking consumer sleeps.
  void Publish(int64_t lo, int64_t hi) noexcept {
    PublishTo(available_, mask_, wake_signal_, lo, hi);
  }

  // Claims `n` slots (waiting for space when kWait, else only if they are
  // free now), calls fill(lo, hi) and publishes [lo, hi], even when fill
  // throws. False, and fill is not called, when nothing was claimed.
  // Thread-safe. Never allocates. What the publish needs is read before
  // fill runs, as in SingleProducerSequencer::NextFillPublish.
  template <bool kWait, RangeFiller Fill>
  bool NextFillPublish(int64_t n, Fill& fill) noexcept(
      std::is_nothrow_invocable_v<Fill&, int64_t, int64_t>) {
    int64_t hi;
    if (!(kWait ? Next(n, hi) : TryNext(n, hi))) return false;
    std::atomic<int64_t>* const available = available_;
    const int64_t mask = mask_;
    WakeupSignal* const signal = wake_signal_;
    const int64_t lo = hi - n + 1;
    core_internal::FillThenPublish(fill, lo, hi,
                                   [available, mask, signal, lo, hi] {
                                     PublishTo(available, mask, signal, lo, hi);
                                   });
    return true;
  }

  // Free slots (approximate while producers run). Thread-safe.
  int64_t RemainingCapacity() const noexcept {
    // Relaxed: an estimate for callers and statistics.
    const int64_t produced = cursor_->LoadRelaxed();
    const int64_t consumed = gating_->MinimumSequence(produced);
    return capacity_ - (produced - consumed);
  }

 private:
  // Next's slow path: refreshes the shared cached gating minimum and waits
  // until it reaches `wrap_point`. False when the ring was halted meanwhile.
  RINGFLOW_NOINLINE bool AwaitGating(int64_t current,
                                     int64_t wrap_point) noexcept {
    int64_t minimum;
    if (!core_internal::AwaitGating(*gating_, *gate_, counters_, current,
                                    wrap_point, minimum)) {
      return false;
    }
    // Release: see the acquire load in Next.
    shared_.cached_gating.StoreRelease(minimum);
    return true;
  }

  static void PublishTo(std::atomic<int64_t>* available, int64_t mask,
                        WakeupSignal* signal, int64_t lo, int64_t hi) noexcept {
    if (signal != nullptr) {
      for (int64_t s = lo; s <= hi; ++s) {
        // Seq_cst: the store->load half of the wake-up handshake; pairs
        // with WakeupSignal::Register + the seq_cst re-read in
        // BlockingWaitFor.
        available[s & mask].store(s, std::memory_order_seq_cst);
      }
      signal->WakeIfWaiters();
    } else {
      for (int64_t s = lo; s <= hi; ++s) {
        // Release: makes this slot's event writes visible to consumers.
        // Pairs with: PublishedCursor::Published -> entry load (acquire).
        available[s & mask].store(s, std::memory_order_release);
      }
    }
  }

  bool HasAvailableCapacity(int64_t n, int64_t current) noexcept {
    const int64_t wrap_point = current + n - capacity_;
    // Acquire / release: as in Next.
    const int64_t cached = shared_.cached_gating.LoadAcquire();
    if (wrap_point > cached || cached > current) {
      const int64_t minimum = gating_->MinimumSequence(current);
      shared_.cached_gating.StoreRelease(minimum);
      if (wrap_point > minimum) return false;
    }
    return true;
  }

  // Read-only after construction.
  const int64_t capacity_;
  const int64_t mask_;
  Sequence* const cursor_;
  std::atomic<int64_t>* const available_;
  const Gating* const gating_;
  // The signal to wake after each publish, or null when no consumer of
  // this wait strategy ever sleeps: one load per publish, not three.
  WakeupSignal* const wake_signal_;
  const ProducerGate* const gate_;
  ProducerCounters counters_;  // shared by the producers: relaxed fetch_add

  // Written by every producer thread.
  struct Shared {
    Sequence cached_gating{kInitialSequence};
  } shared_;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_MULTI_PRODUCER_SEQUENCER_H_
