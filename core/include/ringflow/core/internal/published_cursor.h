// ringflow/core/internal/published_cursor.h
//
// Provides `PublishedCursor`: the consumer-side view of what the producer
// has published. For a single-producer ring that is the cursor. For a
// multi-producer ring the cursor is the highest *claimed* sequence and each
// slot's entry in the availability buffer holds the sequence last published
// into it; the view scans for the highest contiguous published sequence.
//
// It holds only pointers to storage owned elsewhere (a RingBuffer in the
// heap, or a control segment in shared memory). Any thread may use it.
//
// Memory ordering: slot contents are published by a release (or seq_cst)
// store of the cursor (single) or of the availability entry (multi); this
// view reads them with acquire (or seq_cst when a blocking waiter re-checks,
// see WakeupSignal).

#ifndef RINGFLOW_CORE_INTERNAL_PUBLISHED_CURSOR_H_
#define RINGFLOW_CORE_INTERNAL_PUBLISHED_CURSOR_H_

#include <atomic>
#include <cstdint>

#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"

namespace ringflow::core_internal {

class PublishedCursor {
 public:
  PublishedCursor(ProducerType type, const Sequence* cursor,
                  const std::atomic<int64_t>* available,
                  int64_t capacity) noexcept
      : type_(type),
        cursor_(cursor),
        available_(available),
        mask_(capacity - 1) {}

  // Highest published sequence such that every sequence in [lo, result] is
  // published; lo - 1 when `lo` itself is not. `order` is acquire, or
  // seq_cst for a blocking waiter's re-check.
  // Thread-safe. Lock-free. Never allocates.
  int64_t Published(int64_t lo, std::memory_order order) const noexcept {
    const int64_t cursor = cursor_->Load(order);
    if (type_ == ProducerType::kSingle) return cursor;
    for (int64_t s = lo; s <= cursor; ++s) {
      // An entry above `s` is a later lap: `s` was published (and a reader
      // without a gating slot, like a metrics scrape, may see that). A
      // gated consumer never meets one for a sequence it has not read.
      if (available_[s & mask_].load(order) < s) return s - 1;
    }
    return cursor;
  }

  // True when `sequence` has been published (and not yet overwritten by a
  // later lap). Thread-safe. Wait-free.
  bool IsPublished(int64_t sequence) const noexcept {
    if (type_ == ProducerType::kSingle) {
      return cursor_->LoadAcquire() >= sequence;
    }
    // Acquire: pairs with the producer's release store of the entry.
    return available_[sequence & mask_].load(std::memory_order_acquire) >=
           sequence;
  }

  ProducerType producer_type() const noexcept { return type_; }

 private:
  ProducerType type_;
  const Sequence* cursor_;                 // written by producers
  const std::atomic<int64_t>* available_;  // written by producers (multi)
  int64_t mask_;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_PUBLISHED_CURSOR_H_
