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
#include "ringflow/core/internal/event_publisher.h"
#include "ringflow/core/internal/futex.h"
#include "ringflow/core/internal/sequencer.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/liveness.h"
#include "ringflow/shm/internal/shared_gating.h"

namespace ringflow::shm {

// The identity a type E presents to a ring: size, alignment and a tag.
template <typename E>
shm_internal::RingIdentity IdentityOf(std::string_view type_tag) {
  return shm_internal::RingIdentity{
      sizeof(E), static_cast<uint32_t>(alignof(E)), std::string(type_tag)};
}

template <typename E>
class SharedRing : public core_internal::EventPublisher<SharedRing<E>, E> {
  static_assert(std::is_trivially_copyable_v<E> && std::is_standard_layout_v<E>,
                "events in shared memory must be trivially copyable and "
                "standard layout: other processes read them as bytes");

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
    stall_.wake.fetch_add(1, std::memory_order_release);
    core_internal::FutexWake(&stall_.wake, 1);
    housekeeping_.join();
  }

  SharedRing(const SharedRing&) = delete;
  SharedRing& operator=(const SharedRing&) = delete;

  // ---- producer side (as RingBuffer) ---------------------------------------
  std::optional<int64_t> Next(int64_t n = 1) noexcept {
    return sequencer_.Next(n);
  }
  std::optional<int64_t> TryNext(int64_t n = 1) noexcept {
    return sequencer_.TryNext(n);
  }

  // As Next, waiting for space at most `timeout`: empty, with nothing
  // claimed, when it passes. A producer blocked on a slow or stalled
  // consumer gets control back. Never allocates.
  std::optional<int64_t> Next(int64_t n, absl::Duration timeout) noexcept {
    return sequencer_.NextFor(n, this->TimeoutNanos(timeout));
  }
  E& operator[](int64_t sequence) noexcept { return events_[sequence & mask_]; }
  void Publish(int64_t sequence) noexcept {
    sequencer_.Publish(sequence, sequence);
  }
  void Publish(int64_t lo, int64_t hi) noexcept { sequencer_.Publish(lo, hi); }

  // PublishEvent, TryPublishEvent, PublishEvents: see EventPublisher.

  int64_t Cursor() const noexcept { return control_->cursor().LoadAcquire(); }
  int64_t PublishedSequence() const noexcept {
    return control_->PublishedSequence();
  }
  int64_t RemainingCapacity() const noexcept {
    return sequencer_.RemainingCapacity();
  }
  int64_t capacity() const noexcept { return control_->capacity(); }
  void Close() noexcept { control_->gate().Close(); }
  void Reopen() noexcept { control_->gate().Reopen(); }
  void Halt() noexcept { control_->gate().Halt(); }
  bool IsHalted() const noexcept { return control_->gate().IsHalted(); }
  // True when Create resumed a ring whose previous producer died.
  bool resumed() const noexcept { return resumed_; }

  // ---- consumer hooks (processors, pollers, the DSL) -----------------------
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumer(
      std::string_view name = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(const int index,
                              control_->AcquireSlot(name, /*oldest=*/false));
    shm_internal::ConsumerSlot& slot = control_->slot(index);
    const int counters = slot.counters.load(std::memory_order_relaxed);
    return core_internal::ConsumerHandle(
        this,
        [](void* owner, int i, uint32_t generation) noexcept {
          static_cast<SharedRing*>(owner)->control_->ReleaseSlot(i, generation);
        },
        index, &slot.sequence,
        counters >= 0 && control_->counters() != nullptr &&
                counters <= control_->counters()->capacity() -
                                core_internal::ConsumerCounters::kCount
            ? core_internal::ConsumerCounters(
                  &control_->counters()->value(counters))
            : core_internal::ConsumerCounters(),
        std::string(slot.name, strnlen(slot.name, sizeof(slot.name))),
        slot.generation.load(std::memory_order_relaxed));
  }
  std::unique_ptr<SequenceBarrier> NewBarrier(
      std::vector<const Sequence*> dependents = {}) const {
    return std::make_unique<SequenceBarrier>(published_cursor(), wait_,
                                             std::move(dependents));
  }
  RingSlots<E> slots() noexcept { return RingSlots<E>(events_, capacity()); }
  core_internal::PublishedCursor published_cursor() const noexcept {
    return control_->published_cursor();
  }
  const WaitStrategy& wait_strategy() const noexcept { return wait_; }
  shm_internal::Control& control() noexcept { return *control_; }
  const shm_internal::Control& control() const noexcept { return *control_; }
  const core_internal::CountersBlock* counters_block() const noexcept {
    return control_->counters();
  }
  uint64_t full_waits() const noexcept {
    return producer_counters_.Get(core_internal::ProducerCounters::kFullWaits);
  }

 private:
  // PublishEvent & co. reach sequencer_.ClaimFillPublish.
  friend class core_internal::EventPublisher<SharedRing<E>, E>;

  SharedRing(const SharedRingOptions& options,
             std::unique_ptr<shm_internal::Control> control, bool resumed)
      : control_(std::move(control)),
        resumed_(resumed),
        mask_(control_->capacity() - 1),
        events_(static_cast<E*>(control_->data())),
        gating_(control_.get(), &stall_),
        wait_(options.ring.wait_strategy, &control_->wakeup(),
              absl::ToInt64Nanoseconds(options.ring.wait_timeout)),
        producer_counters_(MakeProducerCounters(options, *control_)),
        sequencer_(options.ring.producer_type, control_->capacity(),
                   &control_->cursor(), control_->available(), &gating_, &wait_,
                   &control_->gate(), producer_counters_),
        housekeeping_([this] { Housekeeping(); }) {}

  static core_internal::ProducerCounters MakeProducerCounters(
      const SharedRingOptions& options, shm_internal::Control& control) {
    core_internal::CountersBlock* block = control.counters();
    if (!options.ring.counters || block == nullptr)
      return core_internal::ProducerCounters();
    std::string labels;
    const auto specs =
        core_internal::ProducerCounters::Specs(options.ring.name, labels);
    const int first = block->Allocate(specs, nullptr);
    if (first < 0) return core_internal::ProducerCounters();
    return core_internal::ProducerCounters(
        &block->value(first),
        options.ring.producer_type == ProducerType::kMulti);
  }

  // Heartbeat every 100 ms; evict consumers whose process is gone or whose
  // heartbeat is stale even while the producer is not waiting; woken at
  // once by a stalled producer (SharedGating::OnStall) and by shutdown.
  void Housekeeping() noexcept {
    // Acquire: pairs with the release increments of `wake`.
    uint32_t seen = stall_.wake.load(std::memory_order_acquire);
    // Relaxed: the destructor's store is ordered before its release
    // increment of `wake`, which the acquire loads here see first.
    while (!stopping_.load(std::memory_order_relaxed)) {
      control_->ProducerHeartbeat();
      control_->EvictDeadConsumers(
          stall_.wrap_point.load(std::memory_order_relaxed),
          stall_.started_ns.load(std::memory_order_relaxed));
      core_internal::FutexWait(&stall_.wake, seen, kHousekeepingPeriodNs);
      seen = stall_.wake.load(std::memory_order_acquire);
    }
  }
  static constexpr int64_t kHousekeepingPeriodNs = 100'000'000;

  std::unique_ptr<shm_internal::Control> control_;
  const bool resumed_;
  const int64_t mask_;
  E* const events_;  // the data segment, mapped read-write
  shm_internal::StallReport stall_;
  shm_internal::SharedGating gating_;
  const WaitStrategy wait_;
  const core_internal::ProducerCounters producer_counters_;
  core_internal::Sequencer<shm_internal::SharedGating> sequencer_;
  std::atomic<bool> stopping_{false};  // set by the destructor
  std::thread housekeeping_;
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_RING_H_
