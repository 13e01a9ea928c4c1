// ringflow/core/sharded_ring.h
//
// Provides `ShardedRing<E>`: many producers without a shared cursor. Each
// producer registers and gets a `ShardProducer<E>`, which owns one shard:
// a single-producer RingBuffer<E> (the single-producer fast path: no atomic
// read-modify-write per claim, the producer's cursor on its own lines).
// Consumers read every shard, each with its own sequence in each shard
// (processors/sharded_poller.h, sharded_event_processor.h and
// sharded_queue.h build on the hooks below).
//
//   auto ring = ShardedRing<Tick>::Create({.shard = {.capacity = 4096}});
//   // on each producer thread:
//   auto producer = (*ring)->RegisterProducer();
//   if (!producer.ok()) return producer.status();
//   (*producer)->PublishEvent([](Tick& t, int64_t) { t.value = 1; });
//
// What is ordered: the events of one producer, in the order it published
// them, for every consumer. Nothing orders events of different producers
// (pick ProducerType::kMulti on a RingBuffer when one total order across
// producers is required; README "Performance" has the price of each).
//
// Shard life: RegisterProducer allocates and constructs the shard's events
// on the calling thread (their pages are first touched there). Dropping the
// handle marks the shard draining; it is freed, and its index reused, once
// every consumer registered on it has read all its events (consumers that
// were never registered on it do not hold it). A consumer registered after
// a producer joins that shard at its cursor, as RingBuffer::RegisterConsumer.
//
// Lifetime: the ring must outlive every ShardProducer and consumer; its
// destructor aborts, naming the one left, rather than let it write freed
// memory later.
//
// Who calls what:
//   RegisterProducer      any thread (setup path: allocates); the handle's
//                         claim calls from one thread at a time
//   RegisterConsumer,     setup path, any thread (processors call them)
//   TakeAssigned,         the consumer that owns `consumer` (hot-path safe:
//   ReleaseShard          no lock unless the shard is freed)
//   Close/Reopen/Halt     any thread
//
// Memory ordering: see each member; the shard's own ring is RingBuffer's
// (publish is a release, or seq_cst for the blocking kinds, whose producers
// wake this ring's one shared WakeupSignal).

#ifndef RINGFLOW_CORE_SHARDED_RING_H_
#define RINGFLOW_CORE_SHARDED_RING_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow {

// Most shards (producers at once) a ShardedRing may have.
inline constexpr int kMaxShards = 256;

struct ShardedRingOptions {
  // Each shard's options: capacity (per shard), wait strategy, consumer
  // table size (max_consumers: consumers of the whole ring), counters, and
  // the name (shard i is labelled "<name>.<i>"; at most kMaxNameLength - 4
  // characters). producer_type is ignored: a shard has one producer.
  RingOptions shard;
  // Shards that may exist at once, in [1, kMaxShards].
  int max_producers = 16;
};

// InvalidArgument naming the first bad field and its value, or OK.
absl::Status ValidateShardedRingOptions(const ShardedRingOptions& options,
                                        std::size_t event_size);

template <typename E>
class ShardedRing;

// One producer's shard: move-only, derefs to the shard's single-producer
// RingBuffer<E> (the whole ProducerRing contract: Next, PublishEvent, the
// Try and deadline forms...). Dropping it (or Reset) unregisters the
// producer; its events are still delivered.
template <typename E>
class ShardProducer {
 public:
  ShardProducer() = default;
  ShardProducer(ShardProducer&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)),
        shard_(std::exchange(other.shard_, nullptr)),
        ring_(std::exchange(other.ring_, nullptr)) {}
  ShardProducer& operator=(ShardProducer&& other) noexcept {
    if (this != &other) {
      Reset();
      owner_ = std::exchange(other.owner_, nullptr);
      shard_ = std::exchange(other.shard_, nullptr);
      ring_ = std::exchange(other.ring_, nullptr);
    }
    return *this;
  }
  ShardProducer(const ShardProducer&) = delete;
  ShardProducer& operator=(const ShardProducer&) = delete;
  ~ShardProducer() { Reset(); }

  RingBuffer<E>* operator->() const noexcept { return ring_; }
  RingBuffer<E>& operator*() const noexcept { return *ring_; }
  bool valid() const noexcept { return ring_ != nullptr; }
  // The shard's index in its ring (the `.<i>` of its metrics label).
  int index() const noexcept;

  // Unregisters now (what the destructor does). Call it on the thread
  // that published last, or after synchronizing with it.
  void Reset() noexcept;

 private:
  friend class ShardedRing<E>;
  using Shard = typename ShardedRing<E>::Shard;
  ShardProducer(ShardedRing<E>* owner, Shard* shard) noexcept
      : owner_(owner), shard_(shard), ring_(shard->ring.get()) {}

  ShardedRing<E>* owner_ = nullptr;
  Shard* shard_ = nullptr;
  RingBuffer<E>* ring_ = nullptr;  // cached: one load per call, not two
};

// A consumer's registration on a ShardedRing (one slot in every shard).
// Move-only; dropping it unregisters the consumer from every shard it has
// not taken (a consumer releases the shards it took with ReleaseShard
// first).
template <typename E>
class ShardedConsumer {
 public:
  ShardedConsumer() = default;
  ShardedConsumer(ShardedConsumer&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}
  ShardedConsumer& operator=(ShardedConsumer&& other) noexcept {
    if (this != &other) {
      Reset();
      owner_ = std::exchange(other.owner_, nullptr);
      id_ = other.id_;
    }
    return *this;
  }
  ShardedConsumer(const ShardedConsumer&) = delete;
  ShardedConsumer& operator=(const ShardedConsumer&) = delete;
  ~ShardedConsumer() { Reset(); }

  int id() const noexcept { return id_; }
  bool valid() const noexcept { return owner_ != nullptr; }
  void Reset() noexcept {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->Unregister(id_);
  }

 private:
  friend class ShardedRing<E>;
  ShardedConsumer(ShardedRing<E>* owner, int id) noexcept
      : owner_(owner), id_(id) {}
  ShardedRing<E>* owner_ = nullptr;
  int id_ = -1;
};

template <typename E>
class ShardedRing {
 public:
  using EventType = E;

  // One shard: its ring, and the consumers registered on it.
  struct Shard {
    int index = -1;
    std::unique_ptr<RingBuffer<E>> ring;  // destroyed after the handles
    // Set (release, under the ring's mutex) after the producer's last
    // publish: a consumer that reads it (acquire) reads the final cursor.
    std::atomic<bool> draining{false};
    // The producer while registered, plus each consumer registered on the
    // shard that has not released it; the shard is freed at zero.
    std::atomic<int> refs{0};
    // By consumer id: the consumer's slot, until the consumer takes it.
    std::vector<core_internal::ConsumerHandle> handles;
    // By consumer id: the consumer's sequence in this shard (null: not
    // registered). Stable while the shard lives (a downstream consumer's
    // barrier reads its upstream's).
    std::vector<const Sequence*> sequences;
  };

  static absl::StatusOr<std::unique_ptr<ShardedRing>> Create(
      const ShardedRingOptions& options) requires
      std::is_default_constructible_v<E> {
    return Create(options, [] { return E(); });
  }

  // Each shard's events are built from `factory()` on the thread that
  // registers its producer (capacity calls per shard).
  template <typename Factory>
  requires std::is_invocable_r_v<E, Factory&>
  static absl::StatusOr<std::unique_ptr<ShardedRing>> Create(
      const ShardedRingOptions& options, Factory factory) {
    RINGFLOW_RETURN_IF_ERROR(ValidateShardedRingOptions(options, sizeof(E)));
    return std::unique_ptr<ShardedRing>(
        new ShardedRing(options, std::function<E()>(std::move(factory))));
  }

  // Every ShardProducer and consumer must be gone: one still registered
  // would touch freed memory later, so this aborts with a message naming
  // it instead.
  ~ShardedRing() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int c = 0; c < options_.shard.max_consumers; ++c) {
      if (consumers_[c].used) {
        Abandoned("consumer", c);
      }
    }
    for (const auto& owner : owners_) {
      // Relaxed: written under mu_, which we hold.
      if (owner != nullptr &&
          !owner->draining.load(std::memory_order_relaxed)) {
        Abandoned("ShardProducer of shard", owner->index);
      }
    }
  }

  ShardedRing(const ShardedRing&) = delete;
  ShardedRing& operator=(const ShardedRing&) = delete;

  // A shard for the calling thread, built here (allocation and first touch
  // of its events on this thread). Every registered consumer is registered
  // on it before it is returned, so they see all its events.
  // FailedPrecondition when the ring is closed, ResourceExhausted when
  // max_producers shards exist. Thread-safe.
  absl::StatusOr<ShardProducer<E>> RegisterProducer() {
    int index = -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      RINGFLOW_RETURN_IF_ERROR(CheckOpenLocked());
      for (int i = 0; i < options_.max_producers; ++i) {
        if (owners_[i] == nullptr && !reserved_[i]) {
          index = i;
          break;
        }
      }
      if (index < 0) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "ring '", options_.shard.name, "' has all ", options_.max_producers,
            " shards in use (max_producers)"));
      }
      reserved_[index] = true;  // ours while the shard is built unlocked
    }
    // The index stays reserved until the shard is published in owners_
    // (under the same lock); if the build fails instead (an error, or an
    // allocation that throws), it goes back to the pool. Declared before
    // the lock below, so it is destroyed after the lock is released.
    struct Unreserve {
      ShardedRing* ring;
      int index;  // -1 once the shard is published
      ~Unreserve() {
        if (index < 0) return;
        std::lock_guard<std::mutex> lock(ring->mu_);
        ring->reserved_[index] = false;
      }
    } unreserve{this, index};
    auto shard = std::make_shared<Shard>();
    shard->index = index;
    RingOptions ring_options = options_.shard;
    ring_options.producer_type = ProducerType::kSingle;
    ring_options.name = absl::StrCat(options_.shard.name, ".", index);
    auto ring = RingBuffer<E>::Create(
        ring_options, [this] { return factory_(); }, &signal_);
    std::lock_guard<std::mutex> lock(mu_);
    RINGFLOW_RETURN_IF_ERROR(ring.status());
    RINGFLOW_RETURN_IF_ERROR(CheckOpenLocked());  // Close raced the build
    shard->ring = std::move(ring).value();
    const int max_consumers = options_.shard.max_consumers;
    shard->handles.resize(static_cast<size_t>(max_consumers));
    shard->sequences.assign(static_cast<size_t>(max_consumers), nullptr);
    int refs = 1;
    for (int c = 0; c < max_consumers; ++c) {
      if (!consumers_[c].used) continue;
      RINGFLOW_RETURN_IF_ERROR(JoinLocked(*shard, c));
      ++refs;
    }
    // Relaxed: published with the shard by the release stores below.
    shard->refs.store(refs, std::memory_order_relaxed);
    owners_[index] = shard;
    reserved_[index] = false;  // owners_ holds the index from here on
    unreserve.index = -1;
    for (int c = 0; c < max_consumers; ++c) {
      if (shard->sequences[c] == nullptr) continue;
      // Release: the consumer's TakeAssigned (acquire) sees the shard,
      // its ring and its slot built.
      Assigned(index, c).store(shard.get(), std::memory_order_release);
    }
    // Relaxed load: high_water_ is written only under mu_, which we hold.
    if (index >= high_water_.load(std::memory_order_relaxed)) {
      // Release: pairs with the acquire in high_water().
      high_water_.store(index + 1, std::memory_order_release);
    }
    BumpGeneration();
    return ShardProducer<E>(this, shard.get());
  }

  // ---- consumer hooks (processors/sharded_*.h) ------------------------

  // Registers a consumer on every shard, now and to come; it reads each
  // shard from that shard's cursor (everything, for shards created after).
  // `after`: ids of upstream consumers, checked here; the consumer's
  // barrier in each shard reads their sequences there (shard->sequences),
  // which makes it a pipeline stage after the merge. InvalidArgument for a bad
  // name or an unknown upstream id, ResourceExhausted when max_consumers
  // consumers exist. Thread-safe (setup path).
  absl::StatusOr<ShardedConsumer<E>> RegisterConsumer(
      std::string_view name, const std::vector<int>& after = {}) {
    if (!name.empty()) {
      RINGFLOW_RETURN_IF_ERROR(ValidateName("consumer name", name));
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (int upstream : after) {
      if (upstream < 0 || upstream >= options_.shard.max_consumers ||
          !consumers_[upstream].used) {
        return absl::InvalidArgumentError(
            absl::StrCat("upstream consumer id ", upstream, " of ring '",
                         options_.shard.name, "' is not registered"));
      }
    }
    int id = -1;
    for (int c = 0; c < options_.shard.max_consumers; ++c) {
      if (!consumers_[c].used) {
        id = c;
        break;
      }
    }
    if (id < 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("ring '", options_.shard.name, "' has all ",
                       options_.shard.max_consumers,
                       " consumers registered (max_consumers)"));
    }
    consumers_[id].name = std::string(name);
    for (int i = 0; i < options_.max_producers; ++i) {
      Shard* shard = owners_[i].get();
      // A draining shard gets no new consumer: one joining at its cursor
      // would have nothing to read.
      if (shard == nullptr || shard->draining.load(std::memory_order_relaxed)) {
        continue;
      }
      absl::Status joined = JoinLocked(*shard, id);
      if (!joined.ok()) {
        UnregisterLocked(id);
        return joined;
      }
      shard->refs.fetch_add(1, std::memory_order_relaxed);  // under mu_
      // Release: see RegisterProducer.
      Assigned(i, id).store(shard, std::memory_order_release);
    }
    consumers_[id].used = true;
    BumpGeneration();
    return ShardedConsumer<E>(this, id);
  }

  // Shard `index` if `consumer` is registered on it and has not taken it
  // yet, else null. The caller then owns the shard's handles[consumer] and
  // one reference, until ReleaseShard. The consumer's thread only.
  Shard* TakeAssigned(int index, int consumer) noexcept {
    std::atomic<Shard*>& slot = Assigned(index, consumer);
    // Acquire: pairs with the release in RegisterProducer/RegisterConsumer.
    Shard* shard = slot.load(std::memory_order_acquire);
    // Relaxed: only this consumer clears the word, and nobody sets it again
    // before the shard is freed, which needs this consumer's release.
    if (shard != nullptr) slot.store(nullptr, std::memory_order_relaxed);
    return shard;
  }

  // The consumer is done with a shard it took: its slot handle must be gone
  // (released into the shard's table) before this call. Frees the shard
  // when it was the last reference. Any thread.
  void ReleaseShard(Shard* shard) noexcept {
    // Acq_rel: the last one to drop a reference sees every other's reads
    // of the shard finished before it frees it.
    if (shard->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      owners_[shard->index].reset();
    }
  }

  // Bumped whenever a shard is added or starts draining: a consumer that
  // sees a new value rescans. Acquire: pairs with the release bump.
  uint64_t generation() const noexcept {
    return generation_.load(std::memory_order_acquire);
  }

  // One past the highest shard index ever used (consumers scan below it).
  int high_water() const noexcept {
    return high_water_.load(std::memory_order_acquire);
  }

  // What consumers of every shard wait with (all shards wake one signal).
  const WaitStrategy& wait_strategy() const noexcept { return wait_; }
  core_internal::WakeupSignal& signal() noexcept { return signal_; }

  // ---- lifecycle -------------------------------------------------------

  // Refuses new producers and new claims on every shard; claims already
  // waiting for space still complete (RingBuffer::Close). Thread-safe.
  void Close() noexcept { SetGate(kClose); }
  // Undoes Close (not Halt). Thread-safe.
  void Reopen() noexcept { SetGate(kReopen); }
  // Close, and claims waiting for space give up. Thread-safe.
  void Halt() noexcept { SetGate(kHalt); }
  // Acquire: pairs with SetGate's release store.
  bool IsClosed() const noexcept {
    return gate_.load(std::memory_order_acquire) != kOpen;
  }
  // Acquire: pairs with SetGate's release store, as IsClosed.
  bool IsHalted() const noexcept {
    return gate_.load(std::memory_order_acquire) == kHalted;
  }

  const ShardedRingOptions& options() const noexcept { return options_; }
  int max_producers() const noexcept { return options_.max_producers; }
  int64_t shard_capacity() const noexcept { return options_.shard.capacity; }

  // Shards alive (registered or draining). Thread-safe; a snapshot.
  int ShardCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& owner : owners_) n += owner != nullptr;
    return n;
  }

  // Calls fn(std::shared_ptr<const Shard>) for each live shard, under the
  // ring's mutex (observability; the pointer keeps the shard alive after).
  template <typename Fn>
  void ForEachShard(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& owner : owners_) {
      if (owner != nullptr) fn(std::shared_ptr<const Shard>(owner));
    }
  }

 private:
  friend class ShardProducer<E>;
  friend class ShardedConsumer<E>;

  enum GateState : int { kOpen = 0, kClosed = 1, kHalted = 2 };
  enum GateChange { kClose, kReopen, kHalt };

  struct ConsumerEntry {
    bool used = false;
    std::string name;
  };

  ShardedRing(const ShardedRingOptions& options, std::function<E()> factory)
      : options_(options),
        factory_(std::move(factory)),
        wait_(options.shard.wait_strategy, &signal_,
              options.shard.wait_strategy == WaitStrategyKind::kTimeoutBlocking
                  ? absl::ToInt64Nanoseconds(options.shard.wait_timeout)
                  : -1),
        owners_(static_cast<size_t>(options.max_producers)),
        reserved_(static_cast<size_t>(options.max_producers), false),
        consumers_(static_cast<size_t>(options.shard.max_consumers)),
        assigned_(std::make_unique<std::atomic<Shard*>[]>(
            static_cast<size_t>(options.max_producers) *
            static_cast<size_t>(options.shard.max_consumers))) {}

  [[noreturn]] void Abandoned(const char* what, int id) const noexcept {
    std::fprintf(stderr,
                 "ringflow: ShardedRing '%s' destroyed while its %s %d is "
                 "still registered; drop producers and consumers first\n",
                 options_.shard.name.c_str(), what, id);
    std::abort();
  }

  std::atomic<Shard*>& Assigned(int index, int consumer) noexcept {
    return assigned_[static_cast<size_t>(index) *
                         static_cast<size_t>(options_.shard.max_consumers) +
                     static_cast<size_t>(consumer)];
  }

  absl::Status CheckOpenLocked() const {
    // Relaxed: the gate is written under mu_, which we hold.
    if (gate_.load(std::memory_order_relaxed) != kOpen) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ring '", options_.shard.name, "' is closed: no new producers"));
    }
    return absl::OkStatus();
  }

  // Registers consumer `c` on `shard` (at its cursor). Under mu_.
  absl::Status JoinLocked(Shard& shard, int c) {
    RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle handle,
                              shard.ring->RegisterConsumer(consumers_[c].name));
    shard.sequences[c] = &handle.sequence();
    shard.handles[c] = std::move(handle);
    return absl::OkStatus();
  }

  void BumpGeneration() noexcept {
    // Release: a consumer that reads the new value (acquire) sees the
    // assignments and draining flags stored before it.
    generation_.fetch_add(1, std::memory_order_release);
    // A blocking consumer asleep rescans (its wait checks the generation).
    signal_.WakeAll();
  }

  // The producer's handle is gone: the shard drains. Producer thread.
  void ReleaseProducer(Shard* shard) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    // Release: after the producer's last publish (sequenced before, on
    // this thread); pairs with the consumers' acquire load.
    shard->draining.store(true, std::memory_order_release);
    if (shard->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      owners_[shard->index].reset();
    }
    BumpGeneration();
  }

  void Unregister(int id) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    UnregisterLocked(id);
    BumpGeneration();
  }

  // Drops consumer `id` from every shard it has not taken. Under mu_.
  void UnregisterLocked(int id) noexcept {
    consumers_[id].used = false;
    for (int i = 0; i < options_.max_producers; ++i) {
      // Acq_rel: takes a shard the consumer never took (its thread is done
      // with the ring: the consumer is being destroyed); pairs with the
      // release that assigned it. Its reference is dropped as in
      // ReleaseShard.
      Shard* shard =
          Assigned(i, id).exchange(nullptr, std::memory_order_acq_rel);
      if (shard == nullptr) continue;
      shard->handles[id].Reset();
      // Acq_rel: the last reference's owner sees every other holder's
      // accesses before it frees the shard (ReleaseShard's partner).
      if (shard->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        owners_[i].reset();
      }
    }
  }

  void SetGate(GateChange change) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    // Relaxed: only written under mu_, which we hold.
    int state = gate_.load(std::memory_order_relaxed);
    if (change == kClose && state == kOpen) state = kClosed;
    if (change == kReopen && state == kClosed) state = kOpen;
    if (change == kHalt) state = kHalted;
    // Release: pairs with IsClosed's acquire.
    gate_.store(state, std::memory_order_release);
    for (const auto& owner : owners_) {
      if (owner == nullptr) continue;
      if (change == kClose) owner->ring->Close();
      if (change == kReopen && state == kOpen) owner->ring->Reopen();
      if (change == kHalt) owner->ring->Halt();
    }
    signal_.WakeAll();
  }

  const ShardedRingOptions options_;
  const std::function<E()> factory_;
  core_internal::WakeupSignal signal_;  // every shard's producer wakes it
  const WaitStrategy wait_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Shard>> owners_;  // guarded by mu_
  std::vector<bool> reserved_;                  // guarded by mu_
  std::vector<ConsumerEntry> consumers_;        // guarded by mu_
  // [index * max_consumers + consumer]: a shard `consumer` is registered on
  // and has not taken yet. Set under mu_, taken by the consumer.
  std::unique_ptr<std::atomic<Shard*>[]> assigned_;
  std::atomic<int> gate_{kOpen};  // written under mu_
  alignas(kFalseSharingRange) std::atomic<uint64_t> generation_{0};
  std::atomic<int> high_water_{0};
};

template <typename E>
int ShardProducer<E>::index() const noexcept {
  return shard_ != nullptr ? shard_->index : -1;
}

template <typename E>
void ShardProducer<E>::Reset() noexcept {
  if (owner_ != nullptr) {
    ring_ = nullptr;
    std::exchange(owner_, nullptr)
        ->ReleaseProducer(std::exchange(shard_, nullptr));
  }
}

// A shard is a RingBuffer: both halves of the contract (ring_concepts.h).
static_assert(ProducerRing<RingBuffer<int64_t>> &&
                  ConsumerRing<RingBuffer<int64_t>>,
              "a ShardedRing's shard must be a ProducerRing and ConsumerRing");

}  // namespace ringflow

#endif  // RINGFLOW_CORE_SHARDED_RING_H_
