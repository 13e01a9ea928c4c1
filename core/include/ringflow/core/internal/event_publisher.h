// ringflow/core/internal/event_publisher.h
//
// Provides `EventPublisher<Ring, E>`: the claim-fill-publish calls every
// ring offers (PublishEvent, TryPublishEvent, PublishEvents,
// TryPublishEvents), written once over the ring's slots() and its
// Sequencer's ClaimFillPublish (one dispatch on the producer type per call,
// and nothing re-read after the user's stores). RingBuffer and
// shm::SharedRing inherit them (CRTP: no virtual call) and befriend it.
//
// A claimed slot is always published, even when `fill` throws (the
// exception is rethrown after the publish): an unpublished claim would stall
// every consumer.

#ifndef RINGFLOW_CORE_INTERNAL_EVENT_PUBLISHER_H_
#define RINGFLOW_CORE_INTERNAL_EVENT_PUBLISHER_H_

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "absl/time/time.h"
#include "ringflow/core/internal/fill_then_publish.h"
#include "ringflow/core/ring_slots.h"

namespace ringflow::core_internal {

// A callable that fills one event: fill(E& event, int64_t sequence).
template <typename F, typename E>
concept EventFiller = std::invocable<F&, E&, int64_t>;

template <typename Ring, typename E>
class EventPublisher {
 public:
  // Claims one slot (waiting for space), calls fill(event, sequence),
  // publishes. False when the ring is closed or halted.
  template <EventFiller<E> F>
  bool PublishEvent(F&& fill) noexcept(kNothrow<F>) {
    return ClaimFillPublish</*kWait=*/true>(1, fill);
  }

  // As PublishEvent, but false at once when the ring is full.
  template <EventFiller<E> F>
  bool TryPublishEvent(F&& fill) noexcept(kNothrow<F>) {
    return ClaimFillPublish</*kWait=*/false>(1, fill);
  }

  // Claims n slots, fills each, publishes them together. False when n is
  // outside [1, capacity] or the ring is closed or halted.
  template <EventFiller<E> F>
  bool PublishEvents(int64_t n, F&& fill) noexcept(kNothrow<F>) {
    return ClaimFillPublish</*kWait=*/true>(n, fill);
  }

  // As PublishEvents, but false at once when n slots are not free.
  template <EventFiller<E> F>
  bool TryPublishEvents(int64_t n, F&& fill) noexcept(kNothrow<F>) {
    return ClaimFillPublish</*kWait=*/false>(n, fill);
  }

  // As PublishEvent / PublishEvents, waiting for space at most `timeout`:
  // false, with nothing claimed and fill not called, when it passes (or
  // the ring is closed or halted). A producer blocked on a slow or stalled
  // consumer gets control back.
  template <EventFiller<E> F>
  bool PublishEvent(F&& fill, absl::Duration timeout) noexcept(kNothrow<F>) {
    return PublishEvents(1, fill, timeout);
  }
  template <EventFiller<E> F>
  bool PublishEvents(int64_t n, F&& fill,
                     absl::Duration timeout) noexcept(kNothrow<F>) {
    int64_t hi;
    if (!ring().sequencer_.ClaimFor(n, TimeoutNanos(timeout), hi)) {
      return false;
    }
    const RingSlots<E> slots = ring().slots();
    const int64_t lo = hi - n + 1;
    auto fill_range = [&fill, slots](int64_t from,
                                     int64_t to) noexcept(kNothrow<F>) {
      for (int64_t s = from; s <= to; ++s) fill(slots[s], s);
    };
    core_internal::FillThenPublish(fill_range, lo, hi, [this, lo, hi] {
      ring().sequencer_.Publish(lo, hi);
    });
    return true;
  }

 protected:
  EventPublisher() = default;
  ~EventPublisher() = default;

 protected:
  // absl::Duration to a claim timeout in ns (negative: no wait;
  // InfiniteDuration: the longest a claim can wait).
  static int64_t TimeoutNanos(absl::Duration timeout) noexcept {
    if (timeout <= absl::ZeroDuration()) return 0;
    if (timeout >= absl::Hours(24 * 365 * 100)) return INT64_MAX / 4;
    return absl::ToInt64Nanoseconds(timeout);
  }

 private:
  template <typename F>
  static constexpr bool kNothrow = std::is_nothrow_invocable_v<F&, E&, int64_t>;

  Ring& ring() noexcept { return static_cast<Ring&>(*this); }

  template <bool kWait, typename F>
  bool ClaimFillPublish(int64_t n, F& fill) noexcept(kNothrow<F>) {
    // A copy of the slot view: in registers, so the loop does not re-read
    // the ring's members after each store into an event (which may alias
    // them as far as the compiler knows).
    const RingSlots<E> slots = ring().slots();
    auto fill_range = [&fill, slots](int64_t lo,
                                     int64_t hi) noexcept(kNothrow<F>) {
      for (int64_t s = lo; s <= hi; ++s) fill(slots[s], s);
    };
    return ring().sequencer_.template ClaimFillPublish<kWait>(n, fill_range);
  }
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_EVENT_PUBLISHER_H_
