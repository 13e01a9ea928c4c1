// ringflow/processors/internal/handle_range.h
//
// Provides `HandleRange`: the per-event loop of a batch. It hands the
// events of [lo, hi] to a noexcept handler as at most two contiguous runs
// of the ring's storage (split where the sequence wraps) and then the last
// event on its own, so the loop body is the handler alone: no mask per
// event, the storage base and the run length in registers, and
// end_of_batch a constant.
//
// The runs are reached through a `__restrict` pointer. That tells the
// compiler that the handler's own state (its accumulators, its counters)
// is not one of the events, so it may keep that state in registers across
// the run instead of storing and reloading it for every event: with
// int64_t events and an int64_t accumulator, the store-to-load forwarding
// chain through memory otherwise caps a summing handler at about one
// event per 5 cycles (OneToOneBatch10 shows it). The contract it relies on is
// the one EventHandler documents: during OnEvent a handler reaches events of
// the batch only through the references it was handed.

#ifndef RINGFLOW_PROCESSORS_INTERNAL_HANDLE_RANGE_H_
#define RINGFLOW_PROCESSORS_INTERNAL_HANDLE_RANGE_H_

#include <algorithm>
#include <cstdint>

#include "ringflow/core/ring_slots.h"

namespace ringflow::processors_internal {

// One contiguous run, none of it the end of the batch: events[0, count)
// carry sequences first, first+1, ...
template <typename H, typename E>
[[gnu::always_inline]] inline void HandleRun(H& handler, E* __restrict events,
                                             int64_t first,
                                             int64_t count) noexcept {
  for (int64_t i = 0; i < count; ++i) {
    handler.OnEvent(events[i], first + i, false);
  }
}

// [lo, hi] (lo <= hi, hi - lo < capacity) of `slots`. The last event is
// peeled off the loop: inside it end_of_batch is the constant false, so a
// handler's end-of-batch work (a flush, a clock read) folds away there and
// leaves no call in the loop to force its state out to memory.
template <typename H, typename E>
[[gnu::always_inline]] inline void HandleRange(H& handler,
                                               const RingSlots<E>& slots,
                                               int64_t lo,
                                               int64_t hi) noexcept {
  E* const base = slots.data();
  const int64_t capacity = slots.capacity();
  const int64_t start = lo & (capacity - 1);
  const int64_t before_last = hi - lo;  // events before the last one
  const int64_t first_run = std::min(before_last, capacity - start);
  HandleRun(handler, base + start, lo, first_run);
  if (first_run < before_last) {
    HandleRun(handler, base, lo + first_run, before_last - first_run);
  }
  handler.OnEvent(slots[hi], hi, true);
}

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_HANDLE_RANGE_H_
