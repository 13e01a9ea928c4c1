// ringflow/core/sequencer.h
//
// Provides `Sequencer`: the producer type chosen once at setup, dispatching
// each claim and publish to SingleProducerSequencer or
// MultiProducerSequencer with one predictable branch (no virtual call).
//
// Thread-safety: as the chosen sequencer (single: one producer thread;
// multi: any producer thread). Memory ordering: see those two headers.

#ifndef RINGFLOW_CORE_SEQUENCER_H_
#define RINGFLOW_CORE_SEQUENCER_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "ringflow/core/consumer_counters.h"
#include "ringflow/core/gating_view.h"
#include "ringflow/core/internal/fill_then_publish.h"
#include "ringflow/core/multi_producer_sequencer.h"
#include "ringflow/core/producer_gate.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/single_producer_sequencer.h"
#include "ringflow/core/wait_probe.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow {

template <GatingView Gating>
class Sequencer {
 public:
  Sequencer(ProducerType type, int64_t capacity, Sequence* cursor,
            std::atomic<int64_t>* available, const Gating* gating,
            const WaitStrategy* wait, const ProducerGate* gate,
            ProducerCounters counters) noexcept
      : type_(type),
        single_(capacity, cursor, gating, wait, gate, counters),
        multi_(capacity, cursor, available, gating, wait, gate, counters) {}

  std::optional<int64_t> Next(int64_t n) noexcept {
    int64_t hi;
    const bool claimed = type_ == ProducerType::kSingle ? single_.Claim(n, hi)
                                                        : multi_.Claim(n, hi);
    if (!claimed) return std::nullopt;
    return hi;
  }
  std::optional<int64_t> TryNext(int64_t n) noexcept {
    int64_t hi;
    const bool claimed = type_ == ProducerType::kSingle
                             ? single_.TryClaim(n, hi)
                             : multi_.TryClaim(n, hi);
    if (!claimed) return std::nullopt;
    return hi;
  }
  void Publish(int64_t lo, int64_t hi) noexcept {
    if (type_ == ProducerType::kSingle) {
      single_.Publish(hi);
    } else {
      multi_.Publish(lo, hi);
    }
  }
  // Claim, fill(lo, hi), publish: see SingleProducerSequencer::
  // ClaimFillPublish. One branch on the type for the whole call.
  template <bool kWait, RangeFiller Fill>
  bool ClaimFillPublish(int64_t n, Fill& fill) noexcept(
      std::is_nothrow_invocable_v<Fill&, int64_t, int64_t>) {
    return type_ == ProducerType::kSingle
               ? single_.template ClaimFillPublish<kWait>(n, fill)
               : multi_.template ClaimFillPublish<kWait>(n, fill);
  }
  int64_t RemainingCapacity() const noexcept {
    return type_ == ProducerType::kSingle ? single_.RemainingCapacity()
                                          : multi_.RemainingCapacity();
  }
  ProducerType type() const noexcept { return type_; }

 private:
  const ProducerType type_;
  SingleProducerSequencer<Gating> single_;
  MultiProducerSequencer<Gating> multi_;
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_SEQUENCER_H_
