// ringflow/core/internal/consumer_table.h
//
// Provides `ConsumerTable`, the in-process gating view: a fixed table of
// consumer slots, each a Sequence, a state word, a name and (when counters
// are on) a group of counters in the ring's CountersBlock. Every processor,
// poller, lease reader and worker of a ring owns one slot; the producer
// never laps the lowest active slot. A slot is released when its owner goes
// away, so a destroyed poller stops gating the producer at once.
//
// The slots live inside the ring, so a Sequence pointer handed to a
// downstream barrier never dangles while the ring exists.
//
// Who calls what:
//   Register/Join/Unregister setup threads (serialised by an internal mutex)
//   MinimumSequence       producer threads; lock-free, never allocates
//   slot sequence writes  the slot's owner only
//   name, ForEachActive   any thread (observability)
//
// Memory ordering: a slot becomes visible to the producer through a seq_cst
// store of its state after its sequence was initialised; the producer reads
// the state and then the sequence (both seq_cst). The sequence load
// acquires a consumer's StoreRelease, which says "I am done reading those
// slots": the producer must not overwrite them before that. Join's two
// protocols (cursor, oldest) are explained in consumer_table.cc.

#ifndef RINGFLOW_CORE_INTERNAL_CONSUMER_TABLE_H_
#define RINGFLOW_CORE_INTERNAL_CONSUMER_TABLE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/counters_block.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"

namespace ringflow::core_internal {

// Where a consumer joining a running ring starts (ConsumerTable::Join).
enum class JoinAt : uint8_t {
  kCursor,  // after the producer's cursor: events published from now on
  kOldest,  // after the lowest sequence another consumer still protects
};

class ConsumerTable {
 public:
  enum State : uint32_t { kFree = 0, kActive = 1 };

  // `counters` (may be null: counters off) receives one group of
  // ConsumerCounters per acquired slot, labelled with `ring_name`.
  explicit ConsumerTable(int max_consumers, std::string ring_name = "ring",
                         CountersBlock* counters = nullptr)
      : capacity_(max_consumers),
        ring_name_(std::move(ring_name)),
        counters_(counters),
        slots_(std::make_unique<Slot[]>(static_cast<size_t>(max_consumers))) {}

  ConsumerTable(const ConsumerTable&) = delete;
  ConsumerTable& operator=(const ConsumerTable&) = delete;

  // Takes a free slot with its sequence at `initial`, named `name` (empty:
  // "consumer-<slot>"; a taken name gets "#2", "#3", ...). InvalidArgument
  // for a bad name, ResourceExhausted when all max_consumers slots are
  // taken. Thread-safe (setup path).
  absl::StatusOr<int> Register(int64_t initial, std::string_view name = {});

  // Takes a free slot, as Register, for a consumer joining while `cursor`'s
  // producer runs, and sets its sequence with the late-joiner handshake so
  // the producer never laps an event the consumer has not read: kCursor
  // starts it at the cursor, kOldest at the lowest sequence another active
  // consumer holds (the cursor when there is none). Thread-safe (setup
  // path; joins are serialised with each other and with Unregister).
  absl::StatusOr<int> Join(const Sequence& cursor, JoinAt at,
                           std::string_view name = {});

  // Frees a slot taken by Register. Thread-safe (setup path).
  void Unregister(int index);

  Sequence& sequence(int index) noexcept { return slots_[index].sequence; }
  const Sequence& sequence(int index) const noexcept {
    return slots_[index].sequence;
  }
  ConsumerCounters counters(int index) const noexcept {
    return slots_[index].counters;
  }
  // The slot's name. Stable while the slot is active.
  std::string name(int index) const;

  // Lowest sequence over the active slots, or `default_value` when there
  // are none. Producer threads. Lock-free. Never allocates.
  //
  // Stable scan: when a consumer joined while we read (joins_ moved), read
  // again, so a result that leaves a joiner out was computed entirely
  // before the join (Join at kOldest relies on it). Joins are rare.
  int64_t MinimumSequence(int64_t default_value) const noexcept {
    for (;;) {
      // Seq_cst: pairs with the seq_cst increment in Join; with the
      // re-read below it brackets every load of the scan.
      const uint64_t joins = joins_.load(std::memory_order_seq_cst);
      // Seq_cst: pairs with the seq_cst store of high_water_ in Register,
      // so the slots below it are initialised, and takes part in the
      // late-joiner handshake like the state loads below.
      const int n = high_water_.load(std::memory_order_seq_cst);
      int64_t minimum = default_value;
      for (int i = 0; i < n; ++i) {
        const Slot& slot = slots_[i];
        // Seq_cst (a plain load on x86): pairs with the seq_cst state store
        // in Register/Join, ordering the sequence initialisation before the
        // slot turns active, and is the load half of the late-joiner
        // handshake (see SingleProducerSequencer::FenceBeforeGatingRead).
        if (slot.state.load(std::memory_order_seq_cst) == kActive) {
          // Seq_cst (a plain load on x86): acquires the consumer's
          // StoreRelease after it finished reading the events up to that
          // sequence, and is ordered before the joins_ re-read, which a
          // kOldest joiner's own seq_cst loads of this sequence follow.
          minimum = std::min(minimum, slot.sequence.LoadSeqCst());
        }
      }
      // Seq_cst: see the first load of joins_.
      if (joins_.load(std::memory_order_seq_cst) == joins) return minimum;
    }
  }

  // Number of active slots (statistic; relaxed reads).
  int ActiveCount() const noexcept;

  // Calls fn(index, const Sequence&) for each active slot (observability,
  // shutdown checks). Not for the hot path.
  template <typename Fn>
  void ForEachActive(Fn&& fn) const {
    const int n = high_water_.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i) {
      if (slots_[i].state.load(std::memory_order_acquire) == kActive) {
        fn(i, slots_[i].sequence);
      }
    }
  }

  int capacity() const noexcept { return capacity_; }

 private:
  struct alignas(kFalseSharingRange) Slot {
    Sequence sequence;                   // written by the slot's consumer
    std::atomic<uint32_t> state{kFree};  // written by Register/Unregister
    // Below: written under mu_ while the slot is free, read-only while
    // active (state's seq_cst store publishes them).
    int counters_index = -1;
    ConsumerCounters counters;
    char name[kMaxNameLength + 1] = {};
  };
  static_assert(sizeof(Slot) == 2 * kFalseSharingRange,
                "the slot's cold fields sit beside, not inside, the hot "
                "sequence");

  bool NameTaken(std::string_view name) const;
  // Validates the requested name, finds a free slot and fills its name and
  // counters; the caller holds mu_ and then activates it (Register and
  // Join share this). InvalidArgument naming a bad name; ResourceExhausted
  // when no slot is free.
  absl::StatusOr<int> ClaimLocked(std::string_view name);
  // Turns a claimed slot active (its sequence already set). Caller holds mu_.
  void ActivateLocked(int index);
  // Lowest sequence over the active slots other than `self`, or
  // `default_value`. Seq_cst loads (Join). Caller holds mu_.
  int64_t OthersMinimumLocked(int self, int64_t default_value) const noexcept;

  const int capacity_;
  const std::string ring_name_;
  CountersBlock* const counters_;  // may be null
  std::unique_ptr<Slot[]> slots_;
  std::atomic<int> high_water_{0};  // written under mu_, read by producers
  std::atomic<uint64_t> joins_{0};  // written under mu_, read by producers
  mutable std::mutex mu_;           // serialises Register/Unregister/name
};

// Owns one consumer slot (of a ConsumerTable, or of a shared-memory ring's
// slot table) and frees it on destruction. Processors, pollers and workers
// hold one; it gives them their gating Sequence and their counters.
// Move-only. The release callback runs once, on the setup path.
class ConsumerHandle {
 public:
  // `tag` is the owner's own token (e.g. a slot generation).
  using ReleaseFn = void (*)(void* owner, int index, uint32_t tag) noexcept;

  ConsumerHandle() = default;
  ConsumerHandle(void* owner, ReleaseFn release, int index, Sequence* sequence,
                 ConsumerCounters counters, std::string name,
                 uint32_t tag = 0) noexcept
      : owner_(owner),
        release_(release),
        index_(index),
        tag_(tag),
        sequence_(sequence),
        counters_(counters),
        name_(std::move(name)) {}
  ConsumerHandle(ConsumerHandle&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)),
        release_(other.release_),
        index_(other.index_),
        tag_(other.tag_),
        sequence_(other.sequence_),
        counters_(other.counters_),
        name_(std::move(other.name_)) {}
  ConsumerHandle& operator=(ConsumerHandle&& other) noexcept {
    if (this != &other) {
      Reset();
      owner_ = std::exchange(other.owner_, nullptr);
      release_ = other.release_;
      index_ = other.index_;
      tag_ = other.tag_;
      sequence_ = other.sequence_;
      counters_ = other.counters_;
      name_ = std::move(other.name_);
    }
    return *this;
  }
  ConsumerHandle(const ConsumerHandle&) = delete;
  ConsumerHandle& operator=(const ConsumerHandle&) = delete;
  ~ConsumerHandle() { Reset(); }

  bool valid() const noexcept { return owner_ != nullptr; }
  int index() const noexcept { return index_; }
  Sequence& sequence() const noexcept { return *sequence_; }
  // This consumer's statistics (null view when counters are off).
  ConsumerCounters counters() const noexcept { return counters_; }
  const std::string& name() const noexcept { return name_; }

  void Reset() noexcept {
    if (owner_ != nullptr) {
      release_(std::exchange(owner_, nullptr), index_, tag_);
    }
  }

 private:
  void* owner_ = nullptr;  // null once released or moved from
  ReleaseFn release_ = nullptr;
  int index_ = -1;
  uint32_t tag_ = 0;
  Sequence* sequence_ = nullptr;
  ConsumerCounters counters_;
  std::string name_;
};

// A handle for slot `index` of `table` (after Register).
ConsumerHandle MakeConsumerHandle(ConsumerTable& table, int index);

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_CONSUMER_TABLE_H_
