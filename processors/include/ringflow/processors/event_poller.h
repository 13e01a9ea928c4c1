// ringflow/processors/event_poller.h
//
// Provides `EventPoller<E>`: pull-style consumption for users with their
// own loop, and zero-copy leases.
//
//   auto poller = EventPoller<Tick>::Create(*ring);
//   for (;;) {
//     (*poller)->Poll([](const Tick& t, int64_t seq, bool end) { ...; return
//     true; });
//     ... other work of the loop ...
//   }
//
// Poll hands every currently available event to the handler and returns
//   kProcessing  at least one event was handled
//   kGating      events are published but an upstream consumer (or a live
//                lease of this poller) holds them back
//   kIdle        nothing new was published
// The handler is `bool(const E&, int64_t sequence, bool end_of_batch)`
// (false stops the poll after that event) or the same returning void.
//
// TryLease / TryLeaseBatch(max) return a Lease / LeaseBatch over the next
// event(s) without copying; the poller's sequence advances when the lease
// is released. One lease (or batch) at a time per poller; the poller must
// outlive its leases.
//
// Who calls what: Poll, TryLease, TryLeaseBatch from one thread at a time
// (the reader's thread). A lease may be released from any thread.
//
// Memory ordering: events are read after the barrier's acquire; the
// sequence is stored with release after they were read (pairs with the
// producer's acquire gating read).

#ifndef RINGFLOW_PROCESSORS_EVENT_POLLER_H_
#define RINGFLOW_PROCESSORS_EVENT_POLLER_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/processors/lease.h"

namespace ringflow {

enum class PollState : uint8_t { kProcessing, kGating, kIdle };

template <typename E>
class EventPoller {
 public:
  // Registers a consumer slot on `ring` (a RingBuffer or a shared ring)
  // gated by `dependents` (upstream sequences that must outlive the poller).
  // `name` labels the poller's metrics (empty: consumer-<slot>).
  template <ConsumerRingOf<E> Ring>
  static absl::StatusOr<std::unique_ptr<EventPoller>> Create(
      Ring& ring, std::vector<const Sequence*> dependents = {},
      std::string_view name = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle slot,
                              ring.RegisterConsumer(name));
    return std::unique_ptr<EventPoller>(new EventPoller(
        ring.slots(), ring.NewBarrier(std::move(dependents)), std::move(slot)));
  }

  // As Create, on a consumer slot of `ring` the caller registered already:
  // the poller starts after the slot's sequence.
  template <ConsumerRingOf<E> Ring>
  static std::unique_ptr<EventPoller> CreateOnSlot(
      Ring& ring, core_internal::ConsumerHandle slot,
      std::vector<const Sequence*> dependents = {}) {
    return std::unique_ptr<EventPoller>(new EventPoller(
        ring.slots(), ring.NewBarrier(std::move(dependents)), std::move(slot)));
  }

  EventPoller(const EventPoller&) = delete;
  EventPoller& operator=(const EventPoller&) = delete;

  // Handles every available event. Reader thread. Never allocates.
  // If the handler throws, the events before the throwing one count as
  // consumed and the exception propagates.
  template <typename Handler>
  PollState Poll(Handler&& handler) {
    if (lease_outstanding_.load(std::memory_order_acquire)) {
      return PollState::kGating;
    }
    Sequence& sequence = slot_.sequence();
    // Relaxed: our own value (single writer).
    const int64_t current = sequence.LoadRelaxed();
    const int64_t next = current + 1;
    const int64_t available = barrier_->Available(next);
    if (next > available) {
      counters_.OnEmptyPoll();
      return barrier_->Published(next) >= next ? PollState::kGating
                                               : PollState::kIdle;
    }
    int64_t processed = current;
    struct Commit {
      Sequence& sequence;
      const int64_t& processed;
      core_internal::ConsumerCounters counters;
      int64_t current;
      int64_t depth;
      ~Commit() {
        counters.OnBatch(processed - current, depth);
        // Release: the handler is done with the slots up to `processed`.
        // Pairs with the producer's acquire gating read.
        sequence.StoreRelease(processed);
      }
    } commit{sequence, processed, counters_, current, available - current};
    for (int64_t s = next; s <= available; ++s) {
      const E& event = slots_[s];
      if constexpr (std::is_void_v<std::invoke_result_t<Handler&, const E&,
                                                        int64_t, bool>>) {
        handler(event, s, s == available);
        processed = s;
      } else {
        const bool more = handler(event, s, s == available);
        processed = s;
        if (!more) break;
      }
    }
    return PollState::kProcessing;
  }

  // Leases the next event if one is available and no lease is outstanding.
  // Reader thread. Wait-free. Never allocates.
  std::optional<Lease<E>> TryLease() noexcept {
    auto range = NextRange(1);
    if (!range) return std::nullopt;
    return Lease<E>(&owner_, &slots_[range->first], range->first);
  }

  // Leases up to `max` contiguous available events (max >= 1).
  // Reader thread. Wait-free. Never allocates.
  std::optional<LeaseBatch<E>> TryLeaseBatch(int64_t max) noexcept {
    auto range = NextRange(max);
    if (!range) return std::nullopt;
    return LeaseBatch<E>(&owner_, slots_, range->first, range->second);
  }

  const Sequence& sequence() const noexcept { return slot_.sequence(); }
  SequenceBarrier& barrier() noexcept { return *barrier_; }

 private:
  EventPoller(RingSlots<const E> slots,
              std::unique_ptr<SequenceBarrier> barrier,
              core_internal::ConsumerHandle slot)
      : slots_(slots),
        barrier_(std::move(barrier)),
        slot_(std::move(slot)),
        counters_(slot_.counters()),
        owner_{&slot_.sequence(), &lease_outstanding_} {}

  std::optional<std::pair<int64_t, int64_t>> NextRange(int64_t max) noexcept {
    if (max < 1) return std::nullopt;
    // Acquire: pairs with the release in LeaseOwner::ReleaseLease, so the
    // previous lease's sequence store is visible before we read it.
    if (lease_outstanding_.load(std::memory_order_acquire)) return std::nullopt;
    const int64_t next = slot_.sequence().LoadRelaxed() + 1;
    const int64_t available = barrier_->Available(next);
    if (available < next) {
      counters_.OnEmptyPoll();
      return std::nullopt;
    }
    // Relaxed: only this reader thread sets the flag; the release that
    // matters is the one that clears it.
    lease_outstanding_.store(true, std::memory_order_relaxed);
    // `max` may be huge (INT64_MAX): compare counts, never next + max.
    const int64_t last = max > available - next ? available : next + max - 1;
    counters_.OnBatch(last - next + 1, available - next + 1);
    return std::make_pair(next, last);
  }

  RingSlots<const E> slots_;
  std::unique_ptr<SequenceBarrier> barrier_;
  core_internal::ConsumerHandle
      slot_;  // our sequence: written by the reader or a lease
  core_internal::ConsumerCounters
      counters_;  // values written by the reader thread
  std::atomic<bool> lease_outstanding_{false};
  LeaseOwner owner_;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_EVENT_POLLER_H_
