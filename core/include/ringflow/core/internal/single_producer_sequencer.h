// ringflow/core/internal/single_producer_sequencer.h
//
// Provides `SingleProducerSequencer`: claims and publishes for exactly one
// producer thread. A claim is plain arithmetic on producer-local state (no
// atomic read-modify-write); the gating minimum is cached and consumers are
// re-read only when the ring looks full.
//
// Who calls what: every member is for the one producer thread, except the
// constructor (setup).
//
// Memory ordering: Publish stores the cursor with release (seq_cst when a
// blocking strategy needs the wake-up handshake). Pairs with
// PublishedCursor::Published -> cursor load (acquire / seq_cst) in the
// consumers' barriers. Gating sequences are read with acquire (see
// ConsumerTable::MinimumSequence) so a slot is overwritten only after its
// last reader released it.

#ifndef RINGFLOW_CORE_INTERNAL_SINGLE_PRODUCER_SEQUENCER_H_
#define RINGFLOW_CORE_INTERNAL_SINGLE_PRODUCER_SEQUENCER_H_

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
class SingleProducerSequencer {
 public:
  // Pointers are to storage owned by the ring; they must outlive this.
  SingleProducerSequencer(int64_t capacity, Sequence* cursor,
                          const Gating* gating, const WaitStrategy* wait,
                          const ProducerGate* gate,
                          ProducerCounters counters) noexcept
      : capacity_(capacity),
        cursor_(cursor),
        gating_(gating),
        wake_signal_(wait->NeedsWakeup() ? wait->signal() : nullptr),
        gate_(gate),
        counters_(counters) {
    // Relaxed: setup, before any other thread runs. A restarted producer
    // resumes after the last published sequence.
    local_.next_value = cursor->LoadRelaxed();
    local_.cached_gating = kInitialSequence;
  }

  SingleProducerSequencer(const SingleProducerSequencer&) = delete;
  SingleProducerSequencer& operator=(const SingleProducerSequencer&) = delete;

  // Claims `n` slots, waiting for space: true and the highest claimed
  // sequence in `hi` (the range is [hi - n + 1, hi]). False when n is
  // outside [1, capacity], the ring is closed, or it was halted while
  // waiting. Producer thread only. Never allocates. (Sequencer::Next wraps
  // it in a std::optional; NextFillPublish uses it bare.)
  bool Next(int64_t n, int64_t& hi) noexcept {
    // Create rejects a capacity below 1 (ValidateRingOptions /
    // shm::Control), so with a constant n = 1 the bounds check folds away.
    if (capacity_ < 1) __builtin_unreachable();
    if (RINGFLOW_UNLIKELY(n < 1 || n > capacity_ || !gate_->IsOpen())) {
      return false;
    }
    const int64_t next_value = local_.next_value;
    const int64_t next = next_value + n;
    const int64_t wrap_point = next - capacity_;
    const int64_t cached = local_.cached_gating;
    if (RINGFLOW_UNLIKELY(wrap_point > cached || cached > next_value)) {
      if (!AwaitGating(next_value, wrap_point)) return false;
    }
    local_.next_value = next;
    hi = next;
    return true;
  }

  // As Next, but only if the slots are free now; never waits. False too
  // when the ring is full. Producer thread only. Never allocates.
  // kCountFailure = false: a deadline claim retrying (Sequencer::NextFor),
  // which counts one full wait instead of a failure per retry.
  template <bool kCountFailure = true>
  bool TryNext(int64_t n, int64_t& hi) noexcept {
    if (capacity_ < 1) __builtin_unreachable();  // as in Next
    if (RINGFLOW_UNLIKELY(n < 1 || n > capacity_ || !gate_->IsOpen())) {
      return false;
    }
    if (!HasAvailableCapacity(n)) {
      if constexpr (kCountFailure) counters_.OnTryNextFailure();
      return false;
    }
    local_.next_value += n;
    hi = local_.next_value;
    return true;
  }

  // Publishes every claimed sequence up to `hi`. Producer thread only.
  // Wait-free; one syscall only when a blocking consumer sleeps.
  void Publish(int64_t hi) noexcept { PublishTo(cursor_, wake_signal_, hi); }

  // Claims `n` slots (waiting for space when kWait, else only if they are
  // free now), calls fill(lo, hi) and publishes [lo, hi], even when fill
  // throws. False, and fill is not called, when nothing was claimed.
  // Producer thread only. Never allocates.
  //
  // Everything the publish needs is read before fill runs: a store into an
  // event may alias any int64_t or pointer member here as far as the
  // compiler knows, which would make it re-read them after the user's
  // store. What is left per call is the claimed sequence's own store->load
  // forwarding from one call to the next (a raw loop that keeps its index
  // in memory the same way costs as much). Figures: docs/architecture.md,
  // "Measured figures".
  template <bool kWait, RangeFiller Fill>
  bool NextFillPublish(int64_t n, Fill& fill) noexcept(
      std::is_nothrow_invocable_v<Fill&, int64_t, int64_t>) {
    int64_t hi;
    if (!(kWait ? Next(n, hi) : TryNext(n, hi))) return false;
    Sequence* const cursor = cursor_;
    WakeupSignal* const signal = wake_signal_;
    core_internal::FillThenPublish(fill, hi - n + 1, hi, [cursor, signal, hi] {
      PublishTo(cursor, signal, hi);
    });
    return true;
  }

  // Free slots from the producer's point of view. Producer thread only.
  int64_t RemainingCapacity() const noexcept {
    const int64_t next_value = local_.next_value;
    const int64_t consumed = gating_->MinimumSequence(next_value);
    return capacity_ - (next_value - consumed);
  }

 private:
  // Next's slow path: refreshes the cached gating minimum and waits until
  // it reaches `wrap_point`. False when the ring was halted meanwhile.
  RINGFLOW_NOINLINE bool AwaitGating(int64_t next_value,
                                     int64_t wrap_point) noexcept {
    FenceBeforeGatingRead();
    int64_t minimum;
    if (!core_internal::AwaitGating(*gating_, *gate_, counters_, next_value,
                                    wrap_point, minimum)) {
      return false;
    }
    local_.cached_gating = minimum;
    return true;
  }

  static void PublishTo(Sequence* cursor, WakeupSignal* signal,
                        int64_t hi) noexcept {
    if (signal != nullptr) {
      // Seq_cst: the store->load half of the wake-up handshake; pairs with
      // WakeupSignal::Register + the seq_cst re-read in BlockingWaitFor.
      cursor->StoreSeqCst(hi);
      signal->WakeIfWaiters();
    } else {
      // Release: makes the slot writes above visible to consumers.
      // Pairs with: PublishedCursor::Published -> cursor load (acquire).
      cursor->StoreRelease(hi);
    }
  }

  bool HasAvailableCapacity(int64_t n) noexcept {
    const int64_t next_value = local_.next_value;
    const int64_t wrap_point = next_value + n - capacity_;
    const int64_t cached = local_.cached_gating;
    if (wrap_point > cached || cached > next_value) {
      FenceBeforeGatingRead();
      const int64_t minimum = gating_->MinimumSequence(next_value);
      local_.cached_gating = minimum;
      if (wrap_point > minimum) return false;
    }
    return true;
  }

  // The store->load half of the late-joiner handshake: a consumer that
  // registers stores its slot state seq_cst and then reads the cursor
  // seq_cst (RingBuffer::RegisterConsumer). Re-storing our own cursor value
  // seq_cst before reading the slot states (seq_cst, ConsumerTable) means
  // either we see the new slot, or it sees a cursor at least as new as any
  // gating minimum we compute here, so it never starts behind a slot we may
  // overwrite. Only on the slow path (the ring looks full): one locked
  // instruction per gating refresh, none per claim.
  void FenceBeforeGatingRead() noexcept {
    // Relaxed load: our own value (single writer).
    cursor_->StoreSeqCst(cursor_->LoadRelaxed());
  }

  // Read-only after construction; read by the producer only, but kept off
  // the producer-local line anyway so the layout does not depend on that.
  const int64_t capacity_;
  Sequence* const cursor_;
  const Gating* const gating_;
  // The signal to wake after each publish, or null when no consumer of
  // this wait strategy ever sleeps: one load per publish, not three.
  WakeupSignal* const wake_signal_;
  const ProducerGate* const gate_;
  ProducerCounters counters_;  // values written by this producer only

  // Written by the producer thread only.
  struct alignas(kFalseSharingRange) Local {
    int64_t next_value;     // highest claimed sequence
    int64_t cached_gating;  // last gating minimum seen
  } local_;
  static_assert(sizeof(Local) == kFalseSharingRange,
                "producer-local state fills its own 128 bytes");
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_SINGLE_PRODUCER_SEQUENCER_H_
