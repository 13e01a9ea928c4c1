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
//   kIdle        nothing new was published, or the poller deferred its
//                read of the cursor in a dense stream (see "Streams")
// The handler is `bool(const E&, int64_t sequence, bool end_of_batch)`
// (false stops the poll after that event) or the same returning void.
//
// TryLease / TryLeaseBatch(max) return a Lease / LeaseBatch over the next
// event(s) without copying; the poller's sequence advances when the lease
// is released. One lease (or batch) at a time per poller; the poller must
// outlive its leases.
//
// Streams: each read of the producer's cursor takes its cache line from
// the producer, so a reader that keeps up with a dense stream and reads
// after every event or two makes the whole ring about 45 times slower (in
// the 19:45 `make bench` run, OneToOne with the processor's stream backoff
// off: 16.1 M ev/s, against 752 with it; the OneToOnePoller row, with the
// option below: 707). Two things keep a spinning reader off the producer's
// lines:
//   - TryLease and TryLeaseBatch take events the last read found available
//     without reading the cursor again (a lease at a time costs one read
//     per batch, not one per event);
//   - with PollerOptions::stream_backoff_pauses > 0, after a small batch of
//     a dense stream the poller defers its next read of the cursor by up to
//     that many pause instructions' worth of time (the rule of
//     BatchEventProcessor's pause, core/internal/stream_backoff.h). While
//     a read is deferred, Poll returns kIdle and TryLease empty without
//     touching shared memory, and the reader's loop keeps control (no pause
//     is taken inside the call). A sparse stream or a request/reply
//     hand-off is never deferred. Off by default: with it, an event
//     published a moment ago may be seen a few microseconds later, even by a
//     reader on the producer's own thread; a reader that spins on Poll over
//     a dense stream turns it on.
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
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/notifier_table.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/stream_backoff.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/processors/lease.h"

namespace ringflow {

enum class PollState : uint8_t { kProcessing, kGating, kIdle };

struct PollerOptions {
  // Label for the poller's metrics (see ValidateName); empty:
  // consumer-<slot>. The ring makes it unique (#2, #3...).
  std::string name;
  // After a small batch of a dense stream, defer the next read of the
  // cursor by up to this many pause instructions' worth of time (see
  // "Streams" above); in [0, 1024], 0 = read whenever needed (default).
  // 256 is BatchEventProcessor's default.
  int stream_backoff_pauses = 0;
};

template <typename E>
class EventPoller {
 public:
  // Registers a consumer slot on `ring` (a RingBuffer or a shared ring)
  // gated by `dependents` (upstream sequences that must outlive the poller).
  template <ConsumerRingOf<E> Ring>
  static absl::StatusOr<std::unique_ptr<EventPoller>> Create(
      Ring& ring, std::vector<const Sequence*> dependents = {},
      PollerOptions options = {}) {
    RINGFLOW_RETURN_IF_ERROR(
        core_internal::StreamBackoff::Validate(options.stream_backoff_pauses));
    RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle slot,
                              ring.RegisterConsumer(options.name));
    return std::unique_ptr<EventPoller>(
        new EventPoller(ring.slots(), ring.NewBarrier(std::move(dependents)),
                        std::move(slot), options.stream_backoff_pauses));
  }

  // As Create, on a consumer slot of `ring` the caller registered already:
  // the poller starts after the slot's sequence (options.name is unused).
  template <ConsumerRingOf<E> Ring>
  static absl::StatusOr<std::unique_ptr<EventPoller>> CreateOnSlot(
      Ring& ring, core_internal::ConsumerHandle slot,
      std::vector<const Sequence*> dependents = {},
      PollerOptions options = {}) {
    RINGFLOW_RETURN_IF_ERROR(
        core_internal::StreamBackoff::Validate(options.stream_backoff_pauses));
    return std::unique_ptr<EventPoller>(
        new EventPoller(ring.slots(), ring.NewBarrier(std::move(dependents)),
                        std::move(slot), options.stream_backoff_pauses));
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
    // Poll hands out everything available: it reads the cursor unless the
    // read is deferred (then only what the last read found).
    if (!Read(next) && next > known_available_) {
      if (deferred_) return PollState::kIdle;
      return barrier_->Published(next) >= next ? PollState::kGating
                                               : PollState::kIdle;
    }
    const int64_t available = known_available_;
    int64_t processed = current;
    struct Commit {
      Sequence& sequence;
      const int64_t& processed;
      core_internal::ConsumerCounters counters;
      int64_t current;
      int64_t depth;
      const void* ring;
      ~Commit() {
        counters.OnBatch(processed - current, depth);
        // Release: the handler is done with the slots up to `processed`.
        // Pairs with the producer's acquire gating read.
        sequence.StoreRelease(processed);
        core_internal::AfterConsumerAdvance(ring);  // SpaceNotifier
      }
    } commit{sequence, processed,           counters_,
             current,  available - current, slots_.data()};
    // At most two contiguous runs of the storage (split where the sequence
    // wraps), as BatchEventProcessor's HandleRange: no mask per event.
    const E* const base = slots_.data();
    const int64_t capacity = slots_.capacity();
    for (int64_t s = next; s <= available;) {
      const int64_t start = s & (capacity - 1);
      const int64_t last = std::min(available, s + (capacity - start) - 1);
      if (!PollRun(handler, base + start, s, last, available, processed)) {
        break;
      }
      s = last + 1;
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
  const SequenceBarrier& barrier() const noexcept { return *barrier_; }
  // Whether events are published past this poller's sequence (upstream
  // stages not consulted), read with `order`: what an EventNotifier re-reads
  // after arming (seq_cst). Reader thread.
  bool HasPublished(std::memory_order order) const noexcept {
    const int64_t next = slot_.sequence().LoadRelaxed() + 1;
    return barrier_->published_cursor().Published(next, order) >= next;
  }
  // The last read of the cursor was deferred (a dense stream, see
  // "Streams"): a kIdle from Poll then means "later", not "nothing".
  // Reader thread.
  bool read_deferred() const noexcept { return deferred_; }
  // Ends a deferral: the next Poll or lease reads the cursor. For a
  // reader about to sleep, whose last look must be a real one. Reader
  // thread.
  void ClearDeferral() noexcept {
    read_after_ns_ = 0;
    deferred_ = false;
  }
  // A lease of this poller is live. Acquire: pairs with the release that
  // clears it (LeaseOwner::ReleaseLease), after the lease's sequence store.
  bool lease_outstanding() const noexcept {
    return lease_outstanding_.load(std::memory_order_acquire);
  }

 private:
  EventPoller(RingSlots<const E> slots,
              std::unique_ptr<SequenceBarrier> barrier,
              core_internal::ConsumerHandle slot, int stream_backoff_pauses)
      : slots_(slots),
        barrier_(std::move(barrier)),
        slot_(std::move(slot)),
        counters_(slot_.counters()),
        owner_{&slot_.sequence(), &lease_outstanding_, slots_.data()},
        backoff_(stream_backoff_pauses),
        // Measured once per process, here at setup (not on a read).
        pause_ns_(stream_backoff_pauses > 0
                      ? core_internal::StreamBackoff::PauseNanos()
                      : 0) {}

  // Hands events[0, last - first] (sequences first..last, contiguous in the
  // storage) to the handler; false when it asked to stop. The events are
  // reached through a `__restrict` pointer, which lets the compiler keep
  // the handler's own state in registers across the run (see
  // processors/internal/handle_range.h: with int64_t events and an int64_t
  // accumulator the store-to-load chain otherwise caps the loop).
  template <typename Handler>
  [[gnu::always_inline]] static bool PollRun(Handler& handler,
                                             const E* __restrict events,
                                             int64_t first, int64_t last,
                                             int64_t end, int64_t& processed) {
    if constexpr (std::is_nothrow_invocable_r_v<void, Handler&, const E&,
                                                int64_t, bool> &&
                  std::is_void_v<std::invoke_result_t<Handler&, const E&,
                                                      int64_t, bool>>) {
      // Cannot stop early or throw: `processed` is stored once per run,
      // and the loop body is the handler alone. The run's last event is
      // peeled off (as HandleRange does): inside the loop end_of_batch is
      // the constant false, so a handler's end-of-batch work folds away
      // there and leaves nothing that forces its state out to memory.
      for (int64_t s = first; s < last; ++s) {
        handler(events[s - first], s, false);
      }
      handler(events[last - first], last, last == end);
      processed = last;
      return true;
    }
    for (int64_t s = first; s <= last; ++s) {
      const E& event = events[s - first];
      if constexpr (std::is_void_v<std::invoke_result_t<Handler&, const E&,
                                                        int64_t, bool>>) {
        handler(event, s, s == end);
        processed = s;
      } else {
        const bool more = handler(event, s, s == end);
        processed = s;
        if (!more) return false;
      }
    }
    return true;
  }

  // Reads the cursor for `next` unless the read is deferred: true when the
  // read found events from `next` on (known_available_ is then the highest
  // one). False when it found none or was deferred (deferred_ says which);
  // known_available_ then keeps what an earlier read found. Reader thread.
  bool Read(int64_t next) noexcept {
    deferred_ = false;
    if (read_after_ns_ != 0) {
      // A clock read only while a dense stream defers reads.
      if (core_internal::MonotonicNanos() < read_after_ns_) {
        deferred_ = true;
        return false;
      }
      read_after_ns_ = 0;
    }
    const int64_t available = barrier_->Available(next);
    if (available < next) {
      counters_.OnEmptyPoll();
      waited_ = true;
      return false;
    }
    known_available_ = available;
    // What this read found decides the next one (StreamBackoff): a few
    // events ready at once in a dense stream defer it.
    const int pauses = backoff_.Next(available - next + 1, waited_);
    waited_ = false;
    if (pauses > 0) {
      read_after_ns_ = core_internal::MonotonicNanos() + pauses * pause_ns_;
    }
    return true;
  }

  std::optional<std::pair<int64_t, int64_t>> NextRange(int64_t max) noexcept {
    if (max < 1) return std::nullopt;
    // Acquire: pairs with the release in LeaseOwner::ReleaseLease, so the
    // previous lease's sequence store is visible before we read it.
    if (lease_outstanding_.load(std::memory_order_acquire)) return std::nullopt;
    const int64_t next = slot_.sequence().LoadRelaxed() + 1;
    // Events the last read found are leased without reading the cursor
    // again; it is read when they run out, or when the caller wants more
    // than they hold and the read is not deferred.
    if (max > known_available_ - next + 1 && !Read(next) &&
        next > known_available_) {
      return std::nullopt;
    }
    const int64_t available = known_available_;
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
  // The reader thread's own state (no other thread touches it): the
  // highest sequence the last read of the cursor found available, and the
  // pacing of the next read.
  int64_t known_available_ = kInitialSequence;
  core_internal::StreamBackoff backoff_;
  const int64_t pause_ns_;
  int64_t read_after_ns_ = 0;  // 0: the next read is not deferred
  bool waited_ = false;        // a read found nothing since the last batch
  bool deferred_ = false;      // the last Read was deferred
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_EVENT_POLLER_H_
