// ringflow/shm/internal/attached_ring.h
//
// Provides `AttachedRing<E>`: a shared ring as a consumer process sees it,
// a ConsumerRing (ring_concepts.h) over the read-only data mapping. Its
// RegisterConsumer takes a real slot in the shared slot table (at the
// latest or the oldest protected event), its slots are `const E`, and its
// barriers wake at least every heartbeat interval (kTimeoutBlocking on a
// blocking ring, a bounded yielding wait otherwise) so the consumer loop
// can heartbeat and notice eviction while idle. EventPoller, leases and
// BatchEventProcessor run on it unchanged; SharedConsumer adds what is
// shm-specific (its slot's heartbeat, eviction, producer liveness).
//
// Who calls what: Attach and RegisterConsumer on setup paths; the rest
// from the consumer's thread(s). The ring outlives every consumer
// registered on it.

#ifndef RINGFLOW_SHM_INTERNAL_ATTACHED_RING_H_
#define RINGFLOW_SHM_INTERNAL_ATTACHED_RING_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/shm/internal/control.h"

namespace ringflow::shm_internal {

template <typename E>
class AttachedRing {
  static_assert(std::is_trivially_copyable_v<E> && std::is_standard_layout_v<E>,
                "events in shared memory must be trivially copyable and "
                "standard layout: they are read as bytes");

 public:
  using EventType = E;

  // Wraps an attached Control (Control::Attach validated it). Consumers
  // register at the latest published event, or at the oldest one still
  // protected by the other consumers when `oldest`; barriers wake at least
  // every `heartbeat_ns`.
  AttachedRing(std::unique_ptr<Control> control, bool oldest,
               int64_t heartbeat_ns) noexcept
      : control_(std::move(control)),
        oldest_(oldest),
        heartbeat_ns_(heartbeat_ns) {}

  AttachedRing(const AttachedRing&) = delete;
  AttachedRing& operator=(const AttachedRing&) = delete;

  // A slot in the shared table for this process, at the configured start.
  // ResourceExhausted when every slot is taken by a live consumer.
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumer(
      std::string_view name = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(const int index,
                              control_->RegisterConsumer(name, oldest_));
    return control_->ConsumerHandleFor(index);
  }
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumerAtOldest(
      std::string_view name = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(const int index,
                              control_->RegisterConsumer(name, true));
    return control_->ConsumerHandleFor(index);
  }

  // A barrier over the producer and `dependents`. Blocking rings sleep on
  // the shared futex, the others yield; both give kTimeout after a
  // heartbeat interval without events.
  std::unique_ptr<SequenceBarrier> NewBarrier(
      std::vector<const Sequence*> dependents = {}) const {
    return std::make_unique<SequenceBarrier>(
        published_cursor(),
        WaitStrategy(blocking() ? WaitStrategyKind::kTimeoutBlocking
                                : WaitStrategyKind::kYielding,
                     &control_->wakeup(), heartbeat_ns_),
        std::move(dependents));
  }

  // The events, read-only: the data segment is mapped PROT_READ here.
  RingSlots<const E> slots() const noexcept {
    return RingSlots<const E>(static_cast<const E*>(control_->data()),
                              control_->capacity());
  }
  core_internal::PublishedCursor published_cursor() const noexcept {
    return control_->published_cursor();
  }
  int64_t PublishedSequence() const noexcept {
    return control_->PublishedSequence();
  }
  int64_t capacity() const noexcept { return control_->capacity(); }

  bool blocking() const noexcept {
    const WaitStrategyKind kind = control_->geometry().wait_strategy;
    return kind == WaitStrategyKind::kBlocking ||
           kind == WaitStrategyKind::kTimeoutBlocking;
  }
  int64_t heartbeat_ns() const noexcept { return heartbeat_ns_; }
  Control& control() noexcept { return *control_; }
  const Control& control() const noexcept { return *control_; }

 private:
  std::unique_ptr<Control> control_;
  const bool oldest_;
  const int64_t heartbeat_ns_;
};

static_assert(ConsumerRing<AttachedRing<int64_t>>,
              "AttachedRing must be a ConsumerRing");

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_ATTACHED_RING_H_
