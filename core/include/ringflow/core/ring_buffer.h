// ringflow/core/ring_buffer.h
//
// Provides `RingBuffer<E>`: a power-of-two ring of pre-allocated events with
// one producer cursor and a table of consumer sequences that gate it.
//
//   auto ring = RingBuffer<Tick>::Create({.capacity = 1024});
//   if (!ring.ok()) return ring.status();
//   (*ring)->PublishEvent([](Tick& t, int64_t seq) { t.value = seq; });
//
// Producer API (DESIGN.md section 3): Next/TryNext claim, operator[] fills,
// Publish makes slots visible; PublishEvent/TryPublishEvent/PublishEvents
// do all three around a `fill(E&, int64_t sequence)` callable. Consumers
// register a slot (RegisterConsumer) and wait on a SequenceBarrier; the
// processors library builds on those.
//
// Who calls what:
//   claim/publish      producer thread(s): one thread for kSingle, any
//                      number for kMulti
//   RegisterConsumer,  setup, any thread (also while the producer runs)
//   ...AtOldest,
//   NewBarrier
//   Cursor, capacity,  any thread
//   RemainingCapacity  (producer thread for kSingle)
//   Close, Halt        any thread; new claims fail (Halt: waiting ones too)
//
// Memory ordering: slot writes happen before Publish; Publish is a release
// (seq_cst for blocking strategies) store that consumers acquire through
// their barrier. A consumer's release of its sequence happens before the
// producer overwrites those slots (acquire in the gating read).
//
// Nothing here throws or allocates after Create, except that a throwing
// `fill` is rethrown after its slot was published (a claimed slot is never
// left unpublished, which would stall every consumer).

#ifndef RINGFLOW_CORE_RING_BUFFER_H_
#define RINGFLOW_CORE_RING_BUFFER_H_

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/counters_block.h"
#include "ringflow/core/internal/event_publisher.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/sequencer.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow {

template <typename E>
class RingBuffer : public core_internal::EventPublisher<RingBuffer<E>, E> {
 public:
  using EventType = E;

  // Default-constructs every event. InvalidArgument names a bad option.
  static absl::StatusOr<std::unique_ptr<RingBuffer>> Create(
      const RingOptions& options) requires std::is_default_constructible_v<E> {
    return Create(options, [] { return E(); });
  }

  // Constructs every event from `factory()` (called capacity times, on this
  // thread, before Create returns).
  template <typename Factory>
  requires std::is_invocable_r_v<E, Factory&>
  static absl::StatusOr<std::unique_ptr<RingBuffer>> Create(
      const RingOptions& options, Factory factory) {
    RINGFLOW_RETURN_IF_ERROR(ValidateRingOptions(options, sizeof(E)));
    auto ring = std::unique_ptr<RingBuffer>(new RingBuffer(options));
    RINGFLOW_RETURN_IF_ERROR(ring->AllocateEvents(factory));
    return ring;
  }

  ~RingBuffer() {
    for (int64_t i = 0; i < constructed_; ++i) events_[i].~E();
    // Unsized aligned delete: clang without -fsized-deallocation has no
    // sized aligned overload.
    ::operator delete (raw_, std::align_val_t{kFalseSharingRange});
  }

  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  // ---- producer side -------------------------------------------------------

  // Claims n slots (waiting for space) and returns the highest claimed
  // sequence; the range is [hi - n + 1, hi]. Empty when n is outside
  // [1, capacity] or the ring is closed or halted. Never allocates.
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
    return sequencer_.NextFor(n, this->TimeoutNanos(timeout));
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

  // PublishEvent, TryPublishEvent, PublishEvents, TryPublishEvents: see
  // EventPublisher.

  // Highest published (kSingle) or claimed (kMulti) sequence, as in LMAX.
  // Thread-safe. Acquire: pairs with the producer's publish.
  int64_t Cursor() const noexcept { return cursor_.LoadAcquire(); }

  // Free slots. kSingle: producer thread only. kMulti: an estimate.
  int64_t RemainingCapacity() const noexcept {
    return sequencer_.RemainingCapacity();
  }

  int64_t capacity() const noexcept { return capacity_; }

  // Refuses new claims (Next/TryNext/PublishEvent... return empty/false);
  // a claim already waiting for space still completes. Thread-safe.
  void Close() noexcept { gate_.Close(); }
  // Accepts claims again after Close (never after Halt). Thread-safe.
  void Reopen() noexcept { gate_.Reopen(); }
  // Close, and claims waiting for space give up too. Consumers are halted
  // through their barriers. Thread-safe.
  void Halt() noexcept { gate_.Halt(); }
  bool IsClosed() const noexcept { return !gate_.IsOpen(); }
  bool IsHalted() const noexcept { return gate_.IsHalted(); }

  // Highest sequence up to which every event is published (for kMulti the
  // cursor is the highest *claimed*). Any thread; scans at most one lap.
  int64_t PublishedSequence() const noexcept {
    const int64_t cursor = cursor_.LoadAcquire();
    if (options_.producer_type == ProducerType::kSingle) return cursor;
    const int64_t oldest = cursor - capacity_ + 1;
    const int64_t from =
        std::max<int64_t>({0, oldest, consumers_.MinimumSequence(cursor) + 1});
    return published_cursor().Published(from, std::memory_order_acquire);
  }

  // ---- consumer side -------------------------------------------------------

  // Takes a consumer slot that gates the producer from now on, starting at
  // the current cursor (a consumer added before the first publish sees
  // every event). `name` labels its metrics (empty: consumer-<slot>; a
  // taken name gets #2, #3...). InvalidArgument for a bad name,
  // ResourceExhausted when max_consumers slots are taken.
  // Thread-safe (setup path).
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumer(
      std::string_view name = {}) {
    // Late-joiner protocol (as LMAX addGatingSequences), see
    // ConsumerTable::Join: the producer never laps a slot the new consumer
    // has not read.
    RINGFLOW_ASSIGN_OR_RETURN(
        const int index,
        consumers_.Join(cursor_, core_internal::JoinAt::kCursor, name));
    return core_internal::MakeConsumerHandle(consumers_, index);
  }

  // As RegisterConsumer, but starting at the oldest event still protected:
  // after the lowest sequence another registered consumer holds (at the
  // cursor when there is none), so the new consumer first reads what the
  // slowest consumer has not released yet. It gates the producer before
  // it reads anything, and never reads a slot the producer has lapped.
  // Thread-safe (setup path).
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumerAtOldest(
      std::string_view name = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(
        const int index,
        consumers_.Join(cursor_, core_internal::JoinAt::kOldest, name));
    return core_internal::MakeConsumerHandle(consumers_, index);
  }

  // A barrier over the producer and the given upstream sequences (which
  // must outlive it). Setup path.
  std::unique_ptr<SequenceBarrier> NewBarrier(
      std::vector<const Sequence*> dependents = {}) const {
    return std::make_unique<SequenceBarrier>(published_cursor(), wait_,
                                             std::move(dependents));
  }

  RingSlots<E> slots() noexcept { return RingSlots<E>(events_, capacity_); }
  core_internal::PublishedCursor published_cursor() const noexcept {
    return core_internal::PublishedCursor(options_.producer_type, &cursor_,
                                          available_.get(), capacity_);
  }
  const WaitStrategy& wait_strategy() const noexcept { return wait_; }
  const core_internal::ConsumerTable& consumers() const noexcept {
    return consumers_;
  }
  const RingOptions& options() const noexcept { return options_; }

  // Producer statistics (relaxed reads; 0 when counters are off).
  uint64_t full_waits() const noexcept {
    return producer_counters_.Get(core_internal::ProducerCounters::kFullWaits);
  }
  uint64_t try_next_failures() const noexcept {
    return producer_counters_.Get(
        core_internal::ProducerCounters::kTryNextFailures);
  }

  // The ring's counters (producer and per-consumer statistics), or null
  // when RingOptions::counters is false. Read by observability.
  const core_internal::CountersBlock* counters_block() const noexcept {
    return counters_.block.valid() ? &counters_.block : nullptr;
  }

 private:
  // PublishEvent & co. reach sequencer_.ClaimFillPublish.
  friend class core_internal::EventPublisher<RingBuffer<E>, E>;

  explicit RingBuffer(const RingOptions& options)
      : options_(options),
        capacity_(options.capacity),
        mask_(options.capacity - 1),
        available_(MakeAvailability(options)),
        counters_(options),
        producer_counters_(counters_.producer,
                           options.producer_type == ProducerType::kMulti),
        consumers_(options.max_consumers, options.name,
                   counters_.block.valid() ? &counters_.block : nullptr),
        wait_(options.wait_strategy, &signal_,
              absl::ToInt64Nanoseconds(options.wait_timeout)),
        sequencer_(options.producer_type, capacity_, &cursor_, available_.get(),
                   &consumers_, &wait_, &gate_, producer_counters_) {}

  // The ring's counters block in heap memory: one group for the producer
  // and room for two groups per consumer slot (a freed group rests before
  // reuse, see CountersBlock).
  struct Counters {
    struct AlignedDelete {
      void operator()(std::byte* p) const noexcept {
        ::operator delete (p, std::align_val_t{kFalseSharingRange});
      }
    };
    std::unique_ptr<std::byte, AlignedDelete> memory;
    core_internal::CountersBlock block;
    core_internal::Counter* producer = nullptr;

    explicit Counters(const RingOptions& options) {
      if (!options.counters) return;
      const int capacity = core_internal::CountersBlock::kGroup +
                           2 * options.max_consumers *
                               ((core_internal::ConsumerCounters::kCount +
                                 core_internal::CountersBlock::kGroup - 1) /
                                core_internal::CountersBlock::kGroup *
                                core_internal::CountersBlock::kGroup);
      const size_t bytes = core_internal::CountersBlock::BytesFor(capacity);
      memory.reset(static_cast<std::byte*>(
          ::operator new (bytes, std::align_val_t{kFalseSharingRange})));
      block = core_internal::CountersBlock::Initialize(
          memory.get(), bytes, capacity, /*reuse_delay_ns=*/100'000'000,
          nullptr);
      std::string labels;
      const auto specs =
          core_internal::ProducerCounters::Specs(options.name, labels);
      const int first = block.Allocate(specs, nullptr);
      if (first >= 0) producer = &block.value(first);
    }
  };

  static std::unique_ptr<std::atomic<int64_t>[]> MakeAvailability(
      const RingOptions& options) {
    if (options.producer_type != ProducerType::kMulti) return nullptr;
    auto available = std::make_unique<std::atomic<int64_t>[]>(
        static_cast<size_t>(options.capacity));
    for (int64_t i = 0; i < options.capacity; ++i) {
      // Relaxed: setup, published to other threads by whatever hands them
      // the ring (thread start, or a mutex).
      available[i].store(kInitialSequence, std::memory_order_relaxed);
    }
    return available;
  }

  size_t AllocationBytes() const noexcept {
    // One false-sharing range of padding on each side of the events so no
    // neighbouring allocation shares their lines.
    return 2 * kFalseSharingRange + static_cast<size_t>(capacity_) * sizeof(E);
  }

  // Constructs every event; a throwing factory (or constructor) becomes an
  // Internal status, and only the events already built are destroyed.
  template <typename Factory>
  absl::Status AllocateEvents(Factory& factory) {
    raw_ = static_cast<std::byte*>(::operator new (
        AllocationBytes(), std::align_val_t{kFalseSharingRange}));
    events_ = reinterpret_cast<E*>(raw_ + kFalseSharingRange);
    try {
      for (; constructed_ < capacity_; ++constructed_) {
        new (&events_[constructed_]) E(factory());
      }
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("event factory threw at slot ",
                                              constructed_, ": ", e.what()));
    } catch (...) {
      return absl::InternalError(
          absl::StrCat("event factory threw at slot ", constructed_));
    }
    return absl::OkStatus();
  }

  // Read-only after construction (read by every thread).
  const RingOptions options_;
  const int64_t capacity_;
  const int64_t mask_;
  std::byte* raw_ = nullptr;
  E* events_ = nullptr;
  int64_t constructed_ = 0;  // events built so far (all, after Create)
  const std::unique_ptr<std::atomic<int64_t>[]> available_;  // kMulti only

  Counters counters_;  // the block is written by producers and consumers
  const core_internal::ProducerCounters producer_counters_;

  Sequence cursor_;  // written by producers
  core_internal::WakeupSignal
      signal_;  // bumped by producers, slept on by consumers
  core_internal::ProducerGate gate_;        // written by Close/Halt
  core_internal::ConsumerTable consumers_;  // slots written by their consumers
  const WaitStrategy wait_;
  core_internal::Sequencer<core_internal::ConsumerTable>
      sequencer_;  // producer-local state inside
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_RING_BUFFER_H_
