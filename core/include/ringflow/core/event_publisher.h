// ringflow/core/event_publisher.h
//
// Provides `EventPublisher<Ring, E>`: the claim-fill-publish calls every
// ring offers (PublishEvent, TryPublishEvent, PublishEvents,
// TryPublishEvents), written once over the ring's Next/TryNext/operator[]/
// Publish. RingBuffer and shm::SharedRing inherit them (CRTP: no virtual
// call).
//
// A claimed slot is always published, even when `fill` throws (the
// exception is rethrown after the publish): an unpublished claim would stall
// every consumer.

#ifndef RINGFLOW_CORE_EVENT_PUBLISHER_H_
#define RINGFLOW_CORE_EVENT_PUBLISHER_H_

#include <concepts>
#include <cstdint>
#include <optional>
#include <type_traits>

namespace ringflow {

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
    const std::optional<int64_t> sequence = ring().Next(1);
    if (!sequence) return false;
    FillAndPublish(*sequence, *sequence, fill);
    return true;
  }

  // As PublishEvent, but false at once when the ring is full.
  template <EventFiller<E> F>
  bool TryPublishEvent(F&& fill) noexcept(kNothrow<F>) {
    const std::optional<int64_t> sequence = ring().TryNext(1);
    if (!sequence) return false;
    FillAndPublish(*sequence, *sequence, fill);
    return true;
  }

  // Claims n slots, fills each, publishes them together. False when n is
  // outside [1, capacity] or the ring is closed or halted.
  template <EventFiller<E> F>
  bool PublishEvents(int64_t n, F&& fill) noexcept(kNothrow<F>) {
    const std::optional<int64_t> hi = ring().Next(n);
    if (!hi) return false;
    FillAndPublish(*hi - n + 1, *hi, fill);
    return true;
  }

  // As PublishEvents, but false at once when n slots are not free.
  template <EventFiller<E> F>
  bool TryPublishEvents(int64_t n, F&& fill) noexcept(kNothrow<F>) {
    const std::optional<int64_t> hi = ring().TryNext(n);
    if (!hi) return false;
    FillAndPublish(*hi - n + 1, *hi, fill);
    return true;
  }

 protected:
  EventPublisher() = default;
  ~EventPublisher() = default;

 private:
  template <typename F>
  static constexpr bool kNothrow = std::is_nothrow_invocable_v<F&, E&, int64_t>;

  Ring& ring() noexcept { return static_cast<Ring&>(*this); }

  template <typename F>
  void FillAndPublish(int64_t lo, int64_t hi, F& fill) noexcept(kNothrow<F>) {
    if constexpr (kNothrow<F>) {
      for (int64_t s = lo; s <= hi; ++s) fill(ring()[s], s);
    } else {
      try {
        for (int64_t s = lo; s <= hi; ++s) fill(ring()[s], s);
      } catch (...) {
        ring().Publish(lo, hi);
        throw;
      }
    }
    ring().Publish(lo, hi);
  }
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_EVENT_PUBLISHER_H_
