// ringflow/core/internal/sequenced_ring.h
//
// Provides `SequencedRing<E, Gating>`: the ring contract (ring_concepts.h)
// implemented once. RingBuffer<E> (heap, ConsumerTable gating) and
// shm::SharedRing<E> (shared memory, the shared slot table) own their
// storage and inherit every producer call and consumer hook from here, so
// the two rings cannot drift apart.
//
// What a ring hands over (RingParts): its events, cursor, availability
// buffer (kMulti), producer gate, wakeup signal, gating view and counters.
// They must outlive this base; the derived ring holds them in a base class
// constructed before this one.
//
// Producer calls: Next/TryNext/Next(n, timeout) claim, operator[] fills,
// Publish makes slots visible; PublishEvent/TryPublishEvent/PublishEvents/
// TryPublishEvents (and their deadline forms) do all three around a
// `fill(E&, int64_t sequence)` callable, one dispatch on the producer type
// per call and nothing re-read after the user's stores into the event.
//
// A claimed slot is always published, even when `fill` throws (the
// exception is rethrown after the publish): an unpublished claim would stall
// every consumer.
//
// Memory ordering: slot writes happen before Publish; Publish is a release
// (seq_cst for blocking strategies) store that consumers acquire through
// their barrier. A consumer's release of its sequence happens before the
// producer overwrites those slots (acquire in the gating read).

#ifndef RINGFLOW_CORE_INTERNAL_SEQUENCED_RING_H_
#define RINGFLOW_CORE_INTERNAL_SEQUENCED_RING_H_

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/counters_block.h"
#include "ringflow/core/internal/fill_then_publish.h"
#include "ringflow/core/internal/gating_view.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/sequencer.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow::core_internal {

// A callable that fills one event: fill(E& event, int64_t sequence).
template <typename F, typename E>
concept EventFiller = std::invocable<F&, E&, int64_t>;

// What a ring's storage hands to SequencedRing (all pointers outlive it).
template <typename E, typename Gating>
struct RingParts {
  E* events = nullptr;
  Sequence* cursor = nullptr;
  std::atomic<int64_t>* available = nullptr;  // kMulti only
  ProducerGate* gate = nullptr;
  WakeupSignal* signal = nullptr;
  const Gating* gating = nullptr;
  ProducerCounters producer_counters;
  const CountersBlock* counters = nullptr;  // null: counters off
};

template <typename E, GatingView Gating>
class SequencedRing {
 public:
  using EventType = E;

  SequencedRing(const SequencedRing&) = delete;
  SequencedRing& operator=(const SequencedRing&) = delete;

  // ---- producer side -------------------------------------------------------

  // Claims n slots (waiting for space) and returns the highest claimed
  // sequence; the range is [hi - n + 1, hi]. Empty when n is outside
  // [1, capacity] or the ring is closed or halted: check it (a producer
  // racing Shutdown gets empty). Never allocates.
  std::optional<int64_t> Next(int64_t n = 1) noexcept {
    return sequencer_.Next(n);
  }

  // As Next, but never waits: empty at once when the ring is full.
  std::optional<int64_t> TryNext(int64_t n = 1) noexcept {
    return sequencer_.TryNext(n);
  }

  // As Next, waiting for space at most `timeout`: empty, with nothing
  // claimed, when it passes. A producer blocked on a slow or stalled
  // consumer gets control back. Never allocates.
  std::optional<int64_t> Next(int64_t n, absl::Duration timeout) noexcept {
    return sequencer_.NextFor(n, TimeoutNanos(timeout));
  }

  // The slot for a claimed (producer) or available (consumer) sequence.
  E& operator[](int64_t sequence) noexcept { return events_[sequence & mask_]; }
  const E& operator[](int64_t sequence) const noexcept {
    return events_[sequence & mask_];
  }

  // Makes claimed slots visible to consumers. Never allocates.
  void Publish(int64_t sequence) noexcept {
    sequencer_.Publish(sequence, sequence);
  }
  void Publish(int64_t lo, int64_t hi) noexcept { sequencer_.Publish(lo, hi); }

  // Claims one slot (waiting for space), calls fill(event, sequence),
  // publishes. False when the ring is closed or halted.
  template <EventFiller<E> F>
  bool PublishEvent(F&& fill) noexcept(kNothrow<F>) {
    return NextFillPublish</*kWait=*/true>(1, fill);
  }

  // As PublishEvent, but false at once when the ring is full.
  template <EventFiller<E> F>
  bool TryPublishEvent(F&& fill) noexcept(kNothrow<F>) {
    return NextFillPublish</*kWait=*/false>(1, fill);
  }

  // Claims n slots, fills each, publishes them together. False when n is
  // outside [1, capacity] or the ring is closed or halted.
  template <EventFiller<E> F>
  bool PublishEvents(int64_t n, F&& fill) noexcept(kNothrow<F>) {
    return NextFillPublish</*kWait=*/true>(n, fill);
  }

  // As PublishEvents, but false at once when n slots are not free.
  template <EventFiller<E> F>
  bool TryPublishEvents(int64_t n, F&& fill) noexcept(kNothrow<F>) {
    return NextFillPublish</*kWait=*/false>(n, fill);
  }

  // As PublishEvent / PublishEvents, waiting for space at most `timeout`:
  // false, with nothing claimed and fill not called, when it passes (or
  // the ring is closed or halted).
  template <EventFiller<E> F>
  bool PublishEvent(F&& fill, absl::Duration timeout) noexcept(kNothrow<F>) {
    return PublishEvents(1, fill, timeout);
  }
  template <EventFiller<E> F>
  bool PublishEvents(int64_t n, F&& fill,
                     absl::Duration timeout) noexcept(kNothrow<F>) {
    int64_t hi;
    if (!sequencer_.NextFor(n, TimeoutNanos(timeout), hi)) return false;
    const RingSlots<E> slots = this->slots();
    const int64_t lo = hi - n + 1;
    auto fill_range = [&fill, slots](int64_t from,
                                     int64_t to) noexcept(kNothrow<F>) {
      for (int64_t s = from; s <= to; ++s) fill(slots[s], s);
    };
    FillThenPublish(fill_range, lo, hi,
                    [this, lo, hi] { sequencer_.Publish(lo, hi); });
    return true;
  }

  // Highest published (kSingle) or claimed (kMulti) sequence, as in LMAX.
  // Thread-safe. Acquire: pairs with the producer's publish.
  int64_t Cursor() const noexcept { return cursor_->LoadAcquire(); }

  // Highest sequence up to which every event is published (for kMulti the
  // cursor is the highest *claimed*). Any thread; scans at most one lap.
  int64_t PublishedSequence() const noexcept {
    const int64_t cursor = cursor_->LoadAcquire();
    if (options_.producer_type == ProducerType::kSingle) return cursor;
    const int64_t from = std::max<int64_t>(
        {0, cursor - capacity_ + 1, gating_->MinimumSequence(cursor) + 1});
    return published_cursor().Published(from, std::memory_order_acquire);
  }

  // Free slots. kSingle: producer thread only. kMulti: an estimate.
  int64_t RemainingCapacity() const noexcept {
    return sequencer_.RemainingCapacity();
  }

  int64_t capacity() const noexcept { return capacity_; }

  // Refuses new claims (Next/TryNext/PublishEvent... return empty/false);
  // a claim already waiting for space still completes. Thread-safe.
  void Close() noexcept { gate_->Close(); }
  // Accepts claims again after Close (never after Halt). Thread-safe.
  void Reopen() noexcept { gate_->Reopen(); }
  // Close, and claims waiting for space give up too. Consumers are halted
  // through their barriers. Thread-safe.
  void Halt() noexcept { gate_->Halt(); }
  bool IsClosed() const noexcept { return !gate_->IsOpen(); }
  bool IsHalted() const noexcept { return gate_->IsHalted(); }

  // ---- consumer hooks (processors, pollers, the DSL) -----------------------
  // RegisterConsumer is the derived ring's: it knows its slot table.

  // A barrier over the producer and the given upstream sequences (which
  // must outlive it). Setup path.
  std::unique_ptr<SequenceBarrier> NewBarrier(
      std::vector<const Sequence*> dependents = {}) const {
    return std::make_unique<SequenceBarrier>(published_cursor(), wait_,
                                             std::move(dependents));
  }

  RingSlots<E> slots() noexcept { return RingSlots<E>(events_, capacity_); }
  RingSlots<const E> slots() const noexcept {
    return RingSlots<const E>(events_, capacity_);
  }
  PublishedCursor published_cursor() const noexcept {
    return PublishedCursor(options_.producer_type, cursor_, available_,
                           capacity_);
  }
  const WaitStrategy& wait_strategy() const noexcept { return wait_; }
  const RingOptions& options() const noexcept { return options_; }

  // Producer statistics (relaxed reads; 0 when counters are off).
  uint64_t full_waits() const noexcept {
    return producer_counters_.Get(ProducerCounters::kFullWaits);
  }
  uint64_t try_next_failures() const noexcept {
    return producer_counters_.Get(ProducerCounters::kTryNextFailures);
  }

  // The ring's counters (producer and per-consumer statistics), or null
  // when RingOptions::counters is false. Read by observability.
  const CountersBlock* counters_block() const noexcept { return counters_; }

 protected:
  SequencedRing(const RingOptions& options, RingParts<E, Gating> parts)
      : options_(options),
        capacity_(options.capacity),
        mask_(options.capacity - 1),
        events_(parts.events),
        cursor_(parts.cursor),
        available_(parts.available),
        gate_(parts.gate),
        gating_(parts.gating),
        counters_(parts.counters),
        producer_counters_(parts.producer_counters),
        wait_(options.wait_strategy, parts.signal, WaitTimeoutNanos(options)),
        sequencer_(options.producer_type, capacity_, parts.cursor,
                   parts.available, parts.gating, &wait_, parts.gate,
                   parts.producer_counters) {}
  ~SequencedRing() = default;

 private:
  template <typename F>
  static constexpr bool kNothrow = std::is_nothrow_invocable_v<F&, E&, int64_t>;

  // absl::Duration to a claim timeout in ns (zero or negative: no wait;
  // InfiniteDuration: the longest a claim can wait).
  static int64_t TimeoutNanos(absl::Duration timeout) noexcept {
    if (timeout <= absl::ZeroDuration()) return 0;
    if (timeout >= absl::Hours(24 * 365 * 100)) return INT64_MAX / 4;
    return absl::ToInt64Nanoseconds(timeout);
  }

  // Only kTimeoutBlocking consumers time out (RingOptions::wait_timeout).
  static int64_t WaitTimeoutNanos(const RingOptions& options) noexcept {
    return options.wait_strategy == WaitStrategyKind::kTimeoutBlocking
               ? absl::ToInt64Nanoseconds(options.wait_timeout)
               : -1;
  }

  template <bool kWait, typename F>
  bool NextFillPublish(int64_t n, F& fill) noexcept(kNothrow<F>) {
    // A copy of the slot view: in registers, so the loop does not re-read
    // the ring's members after each store into an event (which may alias
    // them as far as the compiler knows).
    const RingSlots<E> slots = this->slots();
    auto fill_range = [&fill, slots](int64_t lo,
                                     int64_t hi) noexcept(kNothrow<F>) {
      for (int64_t s = lo; s <= hi; ++s) fill(slots[s], s);
    };
    return sequencer_.template NextFillPublish<kWait>(n, fill_range);
  }

  // Read-only after construction (read by every thread).
  const RingOptions options_;
  const int64_t capacity_;
  const int64_t mask_;
  E* const events_;
  Sequence* const cursor_;
  std::atomic<int64_t>* const available_;
  ProducerGate* const gate_;
  const Gating* const gating_;
  const CountersBlock* const counters_;
  const ProducerCounters producer_counters_;
  const WaitStrategy wait_;
  Sequencer<Gating> sequencer_;  // producer-local state inside
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_SEQUENCED_RING_H_
