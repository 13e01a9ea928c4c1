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
//   RegisterConsumer,  setup, any thread
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
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/sequenced_ring.h"
#include "ringflow/core/internal/sequencer.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow {

template <typename E>
class ShardedRing;

namespace core_internal {

// What a RingBuffer owns: constructed before its SequencedRing base, which
// keeps pointers into it.
template <typename E>
class RingBufferStorage {
 protected:
  // `shared_signal` (may be null: the ring's own) is the wakeup signal its
  // blocking consumers sleep on; a ShardedRing gives all its shards one.
  RingBufferStorage(const RingOptions& options, WakeupSignal* shared_signal)
      : shared_signal_(shared_signal),
        capacity_(options.capacity),
        available_(MakeAvailability(options)),
        counters_(options),
        consumers_(options.max_consumers, options.name,
                   counters_.block.valid() ? &counters_.block : nullptr) {}

  ~RingBufferStorage() {
    for (int64_t i = 0; i < constructed_; ++i) events_[i].~E();
    // Unsized aligned delete: clang without -fsized-deallocation has no
    // sized aligned overload.
    ::operator delete (raw_, std::align_val_t{kFalseSharingRange});
  }

  RingParts<E, ConsumerTable> Parts(const RingOptions& options) noexcept {
    RingParts<E, ConsumerTable> parts;
    parts.events = events_;
    parts.cursor = &cursor_;
    parts.available = available_.get();
    parts.gate = &gate_;
    parts.signal = shared_signal_ != nullptr ? shared_signal_ : &signal_;
    parts.gating = &consumers_;
    parts.producer_counters = ProducerCounters(
        counters_.producer, options.producer_type == ProducerType::kMulti);
    parts.counters = counters_.block.valid() ? &counters_.block : nullptr;
    return parts;
  }

  // Constructs every event; a throwing factory (or constructor) becomes an
  // Internal status, and only the events already built are destroyed.
  // Called from the derived constructor's Create, before any thread sees
  // the ring; events_ is set here, before the base takes it.
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
    CountersBlock block;
    Counter* producer = nullptr;

    explicit Counters(const RingOptions& options) {
      if (!options.counters) return;
      const int capacity =
          CountersBlock::kGroup +
          2 * options.max_consumers *
              ((ConsumerCounters::kCount + CountersBlock::kGroup - 1) /
               CountersBlock::kGroup * CountersBlock::kGroup);
      const size_t bytes = CountersBlock::BytesFor(capacity);
      memory.reset(static_cast<std::byte*>(
          ::operator new (bytes, std::align_val_t{kFalseSharingRange})));
      block =
          CountersBlock::Initialize(memory.get(), bytes, capacity,
                                    /*reuse_delay_ns=*/100'000'000, nullptr);
      std::string labels;
      const auto specs = ProducerCounters::Specs(options.name, labels);
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

  WakeupSignal* const shared_signal_;  // null: signal_ below
  const int64_t capacity_;
  std::byte* raw_ = nullptr;
  E* events_ = nullptr;
  int64_t constructed_ = 0;  // events built so far (all, after Create)
  const std::unique_ptr<std::atomic<int64_t>[]> available_;  // kMulti only
  Counters counters_;        // the block is written by producers and consumers
  Sequence cursor_;          // written by producers
  WakeupSignal signal_;      // bumped by producers, slept on by consumers
  ProducerGate gate_;        // written by Close/Halt
  ConsumerTable consumers_;  // slots written by their consumers
};

}  // namespace core_internal

template <typename E>
class RingBuffer
    : private core_internal::RingBufferStorage<E>,
      public core_internal::SequencedRing<E, core_internal::ConsumerTable> {
  using Storage = core_internal::RingBufferStorage<E>;
  using Base = core_internal::SequencedRing<E, core_internal::ConsumerTable>;

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
    return Create(options, std::move(factory), nullptr);
  }

  // Producer calls, PublishedSequence, Close/Halt, NewBarrier, slots...:
  // see SequencedRing (the contract in ring_concepts.h).

  // Takes a consumer slot that gates the producer from now on, starting at
  // the current cursor (a consumer added before the first publish sees
  // every event; one added while the producer runs sees what follows). `name`
  // labels its metrics (empty: consumer-<slot>; a taken name gets #2, #3...).
  // InvalidArgument for a bad name, ResourceExhausted when max_consumers slots
  // are taken. Thread-safe (setup path).
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumer(
      std::string_view name = {}) {
    // Late-joiner protocol (as LMAX addGatingSequences), see
    // ConsumerTable::Join: the producer never laps a slot the new consumer
    // has not read.
    RINGFLOW_ASSIGN_OR_RETURN(
        const int index,
        this->consumers_.Join(Storage::cursor_, core_internal::JoinAt::kCursor,
                              name));
    return core_internal::MakeConsumerHandle(this->consumers_, index);
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
        this->consumers_.Join(Storage::cursor_, core_internal::JoinAt::kOldest,
                              name));
    return core_internal::MakeConsumerHandle(this->consumers_, index);
  }

  const core_internal::ConsumerTable& consumers() const noexcept {
    return this->consumers_;
  }

 private:
  template <typename>
  friend class ShardedRing;  // its shards share one wakeup signal

  template <typename Factory>
  static absl::StatusOr<std::unique_ptr<RingBuffer>> Create(
      const RingOptions& options, Factory factory,
      core_internal::WakeupSignal* shared_signal) {
    RINGFLOW_RETURN_IF_ERROR(ValidateRingOptions(options, sizeof(E)));
    absl::Status allocated;
    auto ring = std::unique_ptr<RingBuffer>(new RingBuffer(
        options, shared_signal,
        [&](RingBuffer& self) { allocated = self.AllocateEvents(factory); }));
    RINGFLOW_RETURN_IF_ERROR(allocated);
    return ring;
  }

  template <typename Allocate>
  RingBuffer(const RingOptions& options,
             core_internal::WakeupSignal* shared_signal, Allocate allocate)
      : Storage(options, shared_signal),
        Base(options, (allocate(*this), Storage::Parts(options))) {}
};

// The contract (ring_concepts.h), checked where it is implemented: a
// missing or mistyped member fails here, not in a user's processor.
static_assert(ProducerRing<RingBuffer<int64_t>>,
              "RingBuffer must be a ProducerRing");
static_assert(ConsumerRing<RingBuffer<int64_t>>,
              "RingBuffer must be a ConsumerRing");

}  // namespace ringflow

#endif  // RINGFLOW_CORE_RING_BUFFER_H_
