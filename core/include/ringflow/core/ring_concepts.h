// ringflow/core/ring_concepts.h
//
// The ring contract, as two concepts every ring kind satisfies and
// everything that takes "a ring" is constrained by (a missing member is a
// one-line compiler error naming it):
//
//   ProducerRing   claim, fill and publish events: Next/TryNext (and the
//                  deadline form), operator[], Publish, PublishEvent and
//                  PublishEvents (and their Try and deadline forms),
//                  Cursor, PublishedSequence, RemainingCapacity, capacity,
//                  Close/Reopen/Halt/IsClosed/IsHalted.
//   ConsumerRing   let consumers join and read: RegisterConsumer (a slot
//                  that gates the producer from now on), NewBarrier,
//                  slots (E or const E), published_cursor,
//                  PublishedSequence, capacity.
//
// RingBuffer<E> and shm::SharedRing<E> are both (one implementation:
// core_internal::SequencedRing). shm_internal::AttachedRing<E>, a ring mapped
// read-only by a consumer process, is a ConsumerRing only: processors,
// pollers and leases run on it unchanged, with handlers taking const E&.
// docs/architecture.md says where a new ring kind plugs in.

#ifndef RINGFLOW_CORE_RING_CONCEPTS_H_
#define RINGFLOW_CORE_RING_CONCEPTS_H_

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"

namespace ringflow {

template <typename R>
concept ProducerRing = requires(R& r, const R& cr, int64_t s, absl::Duration d,
                                void (*fill)(typename R::EventType&, int64_t)) {
  typename R::EventType;
  { r.Next() } -> std::same_as<std::optional<int64_t>>;
  { r.Next(s) } -> std::same_as<std::optional<int64_t>>;
  { r.Next(s, d) } -> std::same_as<std::optional<int64_t>>;
  { r.TryNext(s) } -> std::same_as<std::optional<int64_t>>;
  { r[s] } -> std::same_as<typename R::EventType&>;
  { cr[s] } -> std::same_as<const typename R::EventType&>;
  r.Publish(s);
  r.Publish(s, s);
  { r.PublishEvent(fill) } -> std::same_as<bool>;
  { r.PublishEvent(fill, d) } -> std::same_as<bool>;
  { r.TryPublishEvent(fill) } -> std::same_as<bool>;
  { r.PublishEvents(s, fill) } -> std::same_as<bool>;
  { r.PublishEvents(s, fill, d) } -> std::same_as<bool>;
  { r.TryPublishEvents(s, fill) } -> std::same_as<bool>;
  { cr.Cursor() } -> std::same_as<int64_t>;
  { cr.PublishedSequence() } -> std::same_as<int64_t>;
  { cr.RemainingCapacity() } -> std::same_as<int64_t>;
  { cr.capacity() } -> std::same_as<int64_t>;
  r.Close();
  r.Reopen();
  r.Halt();
  { cr.IsClosed() } -> std::same_as<bool>;
  { cr.IsHalted() } -> std::same_as<bool>;
};

template <typename R>
concept ConsumerRing = requires(R& r, const R& cr, std::string_view name,
                                std::vector<const Sequence*> dependents) {
  typename R::EventType;
  {
    r.RegisterConsumer(name)
    } -> std::same_as<absl::StatusOr<core_internal::ConsumerHandle>>;
  {
    cr.NewBarrier(dependents)
    } -> std::same_as<std::unique_ptr<SequenceBarrier>>;
  { r.slots() } -> std::convertible_to<RingSlots<const typename R::EventType>>;
  { cr.published_cursor() } -> std::same_as<core_internal::PublishedCursor>;
  { cr.PublishedSequence() } -> std::same_as<int64_t>;
  { cr.capacity() } -> std::same_as<int64_t>;
};

// A ring a consumer of event type E can read: its events are E (mutable:
// handlers may write, e.g. a pipeline stage) or const E (a read-only
// mapping, handlers take const E&).
template <typename R, typename E>
concept ConsumerRingOf = ConsumerRing<R> &&
    (std::is_same_v<std::remove_const_t<E>,
                    std::remove_const_t<typename R::EventType>>);

}  // namespace ringflow

#endif  // RINGFLOW_CORE_RING_CONCEPTS_H_
