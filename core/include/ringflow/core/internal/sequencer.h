// ringflow/core/internal/sequencer.h
//
// Provides `Sequencer`: the producer type chosen once at setup, dispatching
// each claim and publish to SingleProducerSequencer or
// MultiProducerSequencer with one predictable branch (no virtual call).
//
// Thread-safety: as the chosen sequencer (single: one producer thread;
// multi: any producer thread). Memory ordering: see those two headers.

#ifndef RINGFLOW_CORE_INTERNAL_SEQUENCER_H_
#define RINGFLOW_CORE_INTERNAL_SEQUENCER_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "ringflow/core/internal/blocking_wait_strategy.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/fill_then_publish.h"
#include "ringflow/core/internal/gating_view.h"
#include "ringflow/core/internal/multi_producer_sequencer.h"
#include "ringflow/core/internal/producer_backoff.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/single_producer_sequencer.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow::core_internal {

template <GatingView Gating>
class Sequencer {
 public:
  Sequencer(ProducerType type, int64_t capacity, Sequence* cursor,
            std::atomic<int64_t>* available, const Gating* gating,
            const WaitStrategy* wait, const ProducerGate* gate,
            ProducerCounters counters) noexcept
      : type_(type),
        single_(capacity, cursor, gating, wait, gate, counters),
        multi_(capacity, cursor, available, gating, wait, gate, counters),
        capacity_(capacity),
        cursor_(cursor),
        gating_(gating),
        gate_(gate),
        counters_(counters) {}

  std::optional<int64_t> Next(int64_t n) noexcept {
    int64_t hi;
    const bool claimed = type_ == ProducerType::kSingle ? single_.Next(n, hi)
                                                        : multi_.Next(n, hi);
    if (!claimed) return std::nullopt;
    return hi;
  }
  std::optional<int64_t> TryNext(int64_t n) noexcept {
    int64_t hi;
    const bool claimed = type_ == ProducerType::kSingle ? single_.TryNext(n, hi)
                                                        : multi_.TryNext(n, hi);
    if (!claimed) return std::nullopt;
    return hi;
  }
  // Claims n slots, waiting for space until `timeout_ns` has passed.
  // False (nothing claimed) at the deadline, or at once when n is outside
  // [1, capacity] or the ring is closed or halted. Retries TryNext with the
  // full-ring backoff and reports the stall to the gating view as the
  // unbounded wait does (a shared ring evicts dead consumers meanwhile);
  // counts one full wait, not a try-failure per retry. Producer thread(s)
  // as Next. Never allocates; reads the clock between retries.
  bool NextFor(int64_t n, int64_t timeout_ns, int64_t& hi) noexcept {
    if (n < 1 || n > capacity_) return false;
    if (TryNextQuietly(n, hi)) return true;
    const int64_t now = core_internal::MonotonicNanos();
    const int64_t deadline =
        timeout_ns <= 0 ? now
                        : now + std::min<int64_t>(timeout_ns, INT64_MAX / 4);
    counters_.OnFullWait();
    core_internal::ProducerBackoff backoff;
    for (;;) {
      if (!gate_->IsOpen()) return false;
      if (core_internal::MonotonicNanos() >= deadline) return false;
      backoff.Pause();
      if constexpr (requires(int64_t w, uint32_t t) {
                      gating_->OnStall(w, t);
                    }) {
        // Relaxed: a hint for eviction, which re-checks every consumer.
        gating_->OnStall(cursor_->LoadRelaxed() + n - capacity_,
                         backoff.tries());
      }
      if (TryNextQuietly(n, hi)) return true;
    }
  }
  std::optional<int64_t> NextFor(int64_t n, int64_t timeout_ns) noexcept {
    int64_t hi;
    if (!NextFor(n, timeout_ns, hi)) return std::nullopt;
    return hi;
  }

  void Publish(int64_t lo, int64_t hi) noexcept {
    if (type_ == ProducerType::kSingle) {
      single_.Publish(hi);
    } else {
      multi_.Publish(lo, hi);
    }
  }
  // Next, fill(lo, hi), publish: see SingleProducerSequencer::
  // NextFillPublish. One branch on the type for the whole call.
  template <bool kWait, RangeFiller Fill>
  bool NextFillPublish(int64_t n, Fill& fill) noexcept(
      std::is_nothrow_invocable_v<Fill&, int64_t, int64_t>) {
    return type_ == ProducerType::kSingle
               ? single_.template NextFillPublish<kWait>(n, fill)
               : multi_.template NextFillPublish<kWait>(n, fill);
  }
  int64_t RemainingCapacity() const noexcept {
    return type_ == ProducerType::kSingle ? single_.RemainingCapacity()
                                          : multi_.RemainingCapacity();
  }
  ProducerType type() const noexcept { return type_; }

 private:
  bool TryNextQuietly(int64_t n, int64_t& hi) noexcept {
    return type_ == ProducerType::kSingle
               ? single_.template TryNext</*kCountFailure=*/false>(n, hi)
               : multi_.template TryNext</*kCountFailure=*/false>(n, hi);
  }

  const ProducerType type_;
  SingleProducerSequencer<Gating> single_;
  MultiProducerSequencer<Gating> multi_;
  // NextFor only, after the claim paths' members so that adding them
  // moved no hot field (SharedOneToOne is sensitive to it: see
  // docs/architecture.md, "Measured figures").
  const int64_t capacity_;
  const Sequence* const cursor_;  // for the stall's wrap point only
  const Gating* const gating_;
  const ProducerGate* const gate_;
  ProducerCounters counters_;  // a view: shares the ring's counters
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_SEQUENCER_H_
