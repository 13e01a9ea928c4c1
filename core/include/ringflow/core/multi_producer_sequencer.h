// ringflow/core/multi_producer_sequencer.h
//
// Provides `MultiProducerSequencer`: claims and publishes for any number of
// producer threads. `Next` claims with one fetch_add (never a CAS loop);
// `TryNext` claims with a CAS so it can refuse without claiming. Producers
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

#ifndef RINGFLOW_CORE_MULTI_PRODUCER_SEQUENCER_H_
#define RINGFLOW_CORE_MULTI_PRODUCER_SEQUENCER_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "ringflow/core/config.h"
#include "ringflow/core/consumer_counters.h"
#include "ringflow/core/gating_view.h"
#include "ringflow/core/internal/producer_backoff.h"
#include "ringflow/core/producer_gate.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_probe.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow {

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
        wait_(wait),
        gate_(gate),
        counters_(counters) {}

  MultiProducerSequencer(const MultiProducerSequencer&) = delete;
  MultiProducerSequencer& operator=(const MultiProducerSequencer&) = delete;

  // Claims `n` slots, waiting for space; returns the highest claimed
  // sequence. Empty when n is outside [1, capacity], the ring is closed, or
  // it was halted while waiting (the claimed range is then never published:
  // halting ends the ring). Thread-safe. Never allocates.
  std::optional<int64_t> Next(int64_t n) noexcept {
    if (RINGFLOW_UNLIKELY(n < 1 || n > capacity_ || !gate_->IsOpen())) {
      return std::nullopt;
    }
    const int64_t current = cursor_->FetchAddSeqCst(n);
    const int64_t next = current + n;
    const int64_t wrap_point = next - capacity_;
    // Acquire: pairs with the release store below by whichever producer
    // refreshed the cache: it read the consumer sequences with acquire, so
    // trusting its value inherits their "done reading" release.
    const int64_t cached = shared_.cached_gating.LoadAcquire();
    if (RINGFLOW_UNLIKELY(wrap_point > cached || cached > current)) {
      int64_t minimum = gating_->MinimumSequence(current);
      if (wrap_point > minimum) {
        core_internal::ProducerBackoff backoff;
        counters_.OnFullWait();
        do {
          if (gate_->IsHalted()) return std::nullopt;
          backoff.Pause();
          if constexpr (requires(const Gating& g, int64_t w, uint32_t t) {
                          g.OnStall(w, t);
                        }) {
            // A gating view that can evict dead consumers (shared memory).
            gating_->OnStall(wrap_point, backoff.tries());
          }
        } while (wrap_point > (minimum = gating_->MinimumSequence(current)));
      }
      // Release: see the acquire load above.
      shared_.cached_gating.StoreRelease(minimum);
    }
    return next;
  }

  // Claims `n` slots only if they are free now; never waits.
  // Thread-safe. Lock-free. Never allocates.
  std::optional<int64_t> TryNext(int64_t n) noexcept {
    if (RINGFLOW_UNLIKELY(n < 1 || n > capacity_ || !gate_->IsOpen())) {
      return std::nullopt;
    }
    // Relaxed: the CAS below re-validates the value.
    int64_t current = cursor_->LoadRelaxed();
    for (;;) {
      if (!HasAvailableCapacity(n, current)) {
        counters_.OnTryNextFailure();
        return std::nullopt;
      }
      if (cursor_->CompareExchange(current, current + n)) return current + n;
    }
  }

  // Publishes [lo, hi]. Thread-safe (each producer publishes what it
  // claimed). Wait-free; one syscall only when a blocking consumer sleeps.
  void Publish(int64_t lo, int64_t hi) noexcept {
    if (wait_->NeedsWakeup()) {
      for (int64_t s = lo; s <= hi; ++s) {
        // Seq_cst: the store->load half of the wake-up handshake; pairs
        // with WakeupSignal::Register + the seq_cst re-read in
        // BlockingWaitFor.
        available_[s & mask_].store(s, std::memory_order_seq_cst);
      }
      wait_->signal()->WakeIfWaiters();
    } else {
      for (int64_t s = lo; s <= hi; ++s) {
        // Release: makes this slot's event writes visible to consumers.
        // Pairs with: PublishedCursor::Published -> entry load (acquire).
        available_[s & mask_].store(s, std::memory_order_release);
      }
    }
  }

  // Free slots (approximate while producers run). Thread-safe.
  int64_t RemainingCapacity() const noexcept {
    // Relaxed: an estimate for callers and statistics.
    const int64_t produced = cursor_->LoadRelaxed();
    const int64_t consumed = gating_->MinimumSequence(produced);
    return capacity_ - (produced - consumed);
  }

 private:
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
  const WaitStrategy* const wait_;
  const ProducerGate* const gate_;
  ProducerCounters counters_;  // shared by the producers: relaxed fetch_add

  // Written by every producer thread.
  struct Shared {
    Sequence cached_gating{kInitialSequence};
  } shared_;
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_MULTI_PRODUCER_SEQUENCER_H_
