// ringflow/shm/shared_ring.h
//
// Provides `SharedRing<E>`: the producer side of a ring in shared memory.
// Same producer API as RingBuffer<E> (Next/TryNext/operator[]/Publish/
// PublishEvent/...), and the same consumer hooks (RegisterConsumer,
// NewBarrier, slots), so in-process processors, pollers and the DSL run on
// it too — their slots live in the shared slot table, where `ringflow stat`
// sees them. Consumers in other processes attach with SharedConsumer.
//
//   auto ring = shm::SharedRing<Tick>::Create({.name = "ticks",
//                                              .capacity = 1 << 16});
//   (*ring)->PublishEvent([](Tick& t, int64_t seq) { t.sequence = seq; });
//
// Liveness: a housekeeping thread beats the producer heartbeat and evicts
// consumers whose process is gone (their liveness lock is free) or whose
// heartbeat is older than consumer_timeout, every 100 ms; a producer
// waiting on a full ring wakes it at once, so a dead consumer never stalls
// the producer for longer than one housekeeping pass. The producer's own
// thread never evicts: its wait only records the stall and wakes the
// housekeeper (no allocation, no file I/O). With SlowConsumerPolicy::kEvict
// a live consumer holding the producer back for longer than max_stall is
// evicted too.
//
// Creating a ring whose previous producer died resumes it: the cursor and
// attached consumers are kept (resumed() is true). Only a ring of this
// process's euid, with no wider mode than asked, of the same type and
// shape, whose producer lock is free, is resumed (Control::CreateOrResume).
//
// Who calls what: as RingBuffer. Memory ordering: as RingBuffer; the
// cursor, availability buffer and consumer sequences simply live in the
// control segment.

#ifndef RINGFLOW_SHM_SHARED_RING_H_
#define RINGFLOW_SHM_SHARED_RING_H_

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/futex.h"
#include "ringflow/core/internal/sequenced_ring.h"
#include "ringflow/core/internal/sequencer.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/liveness.h"
#include "ringflow/shm/internal/shared_gating.h"
#include "ringflow/shm/internal/shared_ring_storage.h"

namespace ringflow::shm {

// The identity a type E presents to a ring: size, alignment and a tag.
template <typename E>
shm_internal::RingIdentity IdentityOf(std::string_view type_tag) {
  return shm_internal::RingIdentity{
      sizeof(E), static_cast<uint32_t>(alignof(E)), std::string(type_tag)};
}

template <typename E>
class SharedRing
    : private shm_internal::SharedRingStorage,
      public core_internal::SequencedRing<E, shm_internal::SharedGating> {
  static_assert(std::is_trivially_copyable_v<E> && std::is_standard_layout_v<E>,
                "events in shared memory must be trivially copyable and "
                "standard layout: other processes read them as bytes");
  using Storage = shm_internal::SharedRingStorage;
  using Base = core_internal::SequencedRing<E, shm_internal::SharedGating>;

 public:
  using EventType = E;

  static absl::StatusOr<std::unique_ptr<SharedRing>> Create(
      const SharedRingOptions& options, std::string_view type_tag = "") {
    bool resumed = false;
    RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<shm_internal::Control> control,
                              shm_internal::Control::CreateOrResume(
                                  options, IdentityOf<E>(type_tag), &resumed));
    return std::unique_ptr<SharedRing>(
        new SharedRing(options, std::move(control), resumed));
  }

  ~SharedRing() {
    // Relaxed: the wake below (release) carries it.
    stopping_.store(true, std::memory_order_relaxed);
    this->stall_.wake.fetch_add(1, std::memory_order_release);
    core_internal::FutexWake(&this->stall_.wake, 1);
    housekeeping_.join();
  }

  // Producer calls, PublishedSequence, Close/Halt, NewBarrier, slots...:
  // see SequencedRing (the contract in ring_concepts.h).

  // True when Create resumed a ring whose previous producer died.
  bool resumed() const noexcept { return this->resumed_; }

  // Takes a slot in the shared slot table for an in-process consumer
  // (processor, poller, the DSL), starting at the cursor; `ringflow stat`
  // sees it. As RingBuffer::RegisterConsumer.
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumer(
      std::string_view name = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(const int index, this->control_->RegisterConsumer(
                                                   name, /*oldest=*/false));
    return this->control_->ConsumerHandleFor(index);
  }

  // As RegisterConsumer, starting at the oldest event still protected by
  // the other consumers (the shm join handshake, Control::JoinAtOldest).
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumerAtOldest(
      std::string_view name = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(const int index, this->control_->RegisterConsumer(
                                                   name, /*oldest=*/true));
    return this->control_->ConsumerHandleFor(index);
  }

  shm_internal::Control& control() noexcept { return *this->control_; }
  const shm_internal::Control& control() const noexcept {
    return *this->control_;
  }

 private:
  SharedRing(const SharedRingOptions& options,
             std::unique_ptr<shm_internal::Control> control, bool resumed)
      : Storage(std::move(control), resumed),
        Base(options.ring, Storage::template Parts<E>(options)),
        housekeeping_([this] { Housekeeping(); }) {}

  // Heartbeat every 100 ms; evict consumers whose process is gone or whose
  // heartbeat is stale even while the producer is not waiting; woken at
  // once by a stalled producer (SharedGating::OnStall) and by shutdown.
  void Housekeeping() noexcept {
    shm_internal::StallReport& stall = this->stall_;
    // Acquire: pairs with the release increments of `wake`.
    uint32_t seen = stall.wake.load(std::memory_order_acquire);
    // Relaxed: the destructor's store is ordered before its release
    // increment of `wake`, which the acquire loads here see first.
    while (!stopping_.load(std::memory_order_relaxed)) {
      this->control_->ProducerHeartbeat();
      this->control_->EvictDeadConsumers(
          stall.wrap_point.load(std::memory_order_relaxed),
          stall.started_ns.load(std::memory_order_relaxed));
      core_internal::FutexWait(&stall.wake, seen, kHousekeepingPeriodNs);
      seen = stall.wake.load(std::memory_order_acquire);
    }
  }
  static constexpr int64_t kHousekeepingPeriodNs = 100'000'000;

  std::atomic<bool> stopping_{false};  // set by the destructor
  std::thread housekeeping_;
};

// The contract (ring_concepts.h), checked where it is implemented.
static_assert(ProducerRing<SharedRing<int64_t>>,
              "SharedRing must be a ProducerRing");
static_assert(ConsumerRing<SharedRing<int64_t>>,
              "SharedRing must be a ConsumerRing");

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_RING_H_
