// ringflow/processors/lease.h
//
// Provides `Lease<E>` and `LeaseBatch<E>`: zero-copy reads that hold their
// ring slots until released. A lease derefs to `const E&` *in the ring
// slot*; while it lives, the reader's sequence stays below the leased
// sequence, so the producer cannot overwrite the slot. Destroying (or
// Release()-ing) the lease publishes the reader's sequence with release.
//
// Leases come from EventPoller::TryLease / TryLeaseBatch (and the shared-
// memory consumer). Move-only; a moved-from lease releases nothing. A lease
// may be released on another thread than the one that took it.
//
// Memory ordering: releasing stores the reader's sequence with release
// (pairs with the producer's acquire gating read: our reads of the slot
// happen before it is overwritten), then clears the reader's "lease
// outstanding" flag with release (pairs with the acquire check in
// TryLease, so the next lease starts after this one ended).

#ifndef RINGFLOW_PROCESSORS_LEASE_H_
#define RINGFLOW_PROCESSORS_LEASE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>

#include "ringflow/core/internal/notifier_table.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"

namespace ringflow {

// The reader state a lease writes back when released: the reader's
// sequence and its "lease outstanding" flag. No virtual call.
struct LeaseOwner {
  Sequence* sequence;              // the reader's gating sequence
  std::atomic<bool>* outstanding;  // true while a lease is alive
  const void* ring;                // the ring's slots (SpaceNotifier key)

  // Marks everything up to `last` consumed and lets the reader lease again.
  // Any thread (the lease may have moved). Wait-free. Never allocates.
  void ReleaseLease(int64_t last) const noexcept {
    // Release: our reads of the leased slots happen before the producer may
    // overwrite them. Pairs with the acquire gating read.
    sequence->StoreRelease(last);
    core_internal::AfterConsumerAdvance(ring);  // SpaceNotifier
    // Release: pairs with the acquire load in the reader's TryLease.
    outstanding->store(false, std::memory_order_release);
  }
};

template <typename E>
class Lease {
 public:
  Lease(const LeaseOwner* owner, const E* event, int64_t sequence) noexcept
      : owner_(owner), event_(event), sequence_(sequence) {}
  Lease(Lease&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)),
        event_(other.event_),
        sequence_(other.sequence_) {}
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      Release();
      owner_ = std::exchange(other.owner_, nullptr);
      event_ = other.event_;
      sequence_ = other.sequence_;
    }
    return *this;
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { Release(); }

  const E& operator*() const noexcept { return *event_; }
  const E* operator->() const noexcept { return event_; }
  int64_t sequence() const noexcept { return sequence_; }

  // Gives the slot back now. Idempotent. Never allocates.
  void Release() noexcept {
    if (owner_ != nullptr)
      std::exchange(owner_, nullptr)->ReleaseLease(sequence_);
  }

 private:
  const LeaseOwner* owner_;  // null once released or moved from
  const E* event_;
  int64_t sequence_;
};

// Contiguous leased slots [first_sequence(), last_sequence()], released as
// one. Iterates as `const E&`.
template <typename E>
class LeaseBatch {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = E;
    using difference_type = std::ptrdiff_t;
    using pointer = const E*;
    using reference = const E&;

    Iterator() = default;
    Iterator(RingSlots<const E> slots, int64_t sequence) noexcept
        : slots_(slots), sequence_(sequence) {}
    const E& operator*() const noexcept { return slots_[sequence_]; }
    const E* operator->() const noexcept { return &slots_[sequence_]; }
    Iterator& operator++() noexcept {
      ++sequence_;
      return *this;
    }
    Iterator operator++(int) noexcept {
      Iterator copy = *this;
      ++sequence_;
      return copy;
    }
    bool operator==(const Iterator& other) const noexcept {
      return sequence_ == other.sequence_;
    }
    int64_t sequence() const noexcept { return sequence_; }

   private:
    RingSlots<const E> slots_;
    int64_t sequence_ = 0;
  };

  LeaseBatch(const LeaseOwner* owner, RingSlots<const E> slots, int64_t first,
             int64_t last) noexcept
      : owner_(owner), slots_(slots), first_(first), last_(last) {}
  LeaseBatch(LeaseBatch&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)),
        slots_(other.slots_),
        first_(other.first_),
        last_(other.last_) {}
  LeaseBatch& operator=(LeaseBatch&& other) noexcept {
    if (this != &other) {
      Release();
      owner_ = std::exchange(other.owner_, nullptr);
      slots_ = other.slots_;
      first_ = other.first_;
      last_ = other.last_;
    }
    return *this;
  }
  LeaseBatch(const LeaseBatch&) = delete;
  LeaseBatch& operator=(const LeaseBatch&) = delete;
  ~LeaseBatch() { Release(); }

  Iterator begin() const noexcept { return Iterator(slots_, first_); }
  Iterator end() const noexcept { return Iterator(slots_, last_ + 1); }
  int64_t size() const noexcept { return last_ - first_ + 1; }
  int64_t first_sequence() const noexcept { return first_; }
  int64_t last_sequence() const noexcept { return last_; }
  // The i-th leased event, 0 <= i < size().
  const E& operator[](int64_t i) const noexcept { return slots_[first_ + i]; }

  // Gives every slot back now. Idempotent. Never allocates.
  void Release() noexcept {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->ReleaseLease(last_);
  }

  // Gives the first `count` slots back now (0 < count < size()); the rest
  // stay leased and are renumbered from 0. Never allocates.
  void ReleaseFront(int64_t count) noexcept {
    first_ += count;
    // Release: as ReleaseLease, our reads of those slots happen before the
    // producer may overwrite them; the lease stays outstanding.
    owner_->sequence->StoreRelease(first_ - 1);
    core_internal::AfterConsumerAdvance(owner_->ring);  // SpaceNotifier
  }

 private:
  const LeaseOwner* owner_;  // null once released or moved from
  RingSlots<const E> slots_;
  int64_t first_;
  int64_t last_;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_LEASE_H_
