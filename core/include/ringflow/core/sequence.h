// ringflow/core/sequence.h
//
// Provides `Sequence`: one 64-bit position (a producer cursor or a consumer's
// last processed sequence) alone on its own 128 bytes.
//
// A Sequence has exactly one writer (the producer for a cursor, the consumer
// for its own sequence) and any number of readers. Accessors carry the memory
// order in their name, so every call site shows the order it relies on.
//
// Memory ordering: a writer that fills event slots and then calls
// `StoreRelease(s)` makes those slot writes visible to any reader that sees
// `s` through `LoadAcquire()`. Relaxed accessors are for statistics and for a
// writer re-reading its own value; they publish nothing.
//
// The type is standard layout and holds only a lock-free atomic, so it may be
// placed in shared memory and used by several processes.

#ifndef RINGFLOW_CORE_SEQUENCE_H_
#define RINGFLOW_CORE_SEQUENCE_H_

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "ringflow/core/config.h"

namespace ringflow {

// The value of a Sequence before anything was published or consumed.
inline constexpr int64_t kInitialSequence = -1;

class alignas(kFalseSharingRange) Sequence {
 public:
  constexpr Sequence() noexcept : value_(kInitialSequence) {}
  constexpr explicit Sequence(int64_t initial) noexcept : value_(initial) {}

  Sequence(const Sequence&) = delete;
  Sequence& operator=(const Sequence&) = delete;

  // Pairs with a StoreRelease/StoreSeqCst by the writer: everything the
  // writer did before that store is visible after this load returns its value.
  // Thread-safe. Wait-free. Never allocates.
  int64_t LoadAcquire() const noexcept {
    return value_.load(std::memory_order_acquire);
  }

  // For the blocking wait strategies' Dekker handshake (a waiter registers,
  // then re-reads the sequence; the publisher stores, then reads the waiter
  // count): both sides must be seq_cst so that at least one sees the other.
  // Thread-safe. Wait-free. Never allocates.
  int64_t LoadSeqCst() const noexcept {
    return value_.load(std::memory_order_seq_cst);
  }

  // Relaxed: for the single writer re-reading its own value and for
  // statistics (lag, metrics). Publishes and observes no other data.
  // Thread-safe. Wait-free. Never allocates.
  int64_t LoadRelaxed() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

  // Release: makes the writer's prior writes (event slots, or the fact that
  // a consumer is done reading them) visible to LoadAcquire readers.
  // Single writer only. Wait-free. Never allocates.
  void StoreRelease(int64_t value) noexcept {
    value_.store(value, std::memory_order_release);
  }

  // Seq_cst store: release plus a store->load barrier, for the blocking
  // strategies' handshake (see LoadSeqCst) and for adding a late consumer.
  // Single writer only. Wait-free. Never allocates.
  void StoreSeqCst(int64_t value) noexcept {
    value_.store(value, std::memory_order_seq_cst);
  }

  // Relaxed store: only for initialisation before the Sequence is shared
  // (publication then happens through a later release elsewhere).
  // Single writer only. Wait-free. Never allocates.
  void StoreRelaxed(int64_t value) noexcept {
    value_.store(value, std::memory_order_relaxed);
  }

  // Seq_cst RMW for the multi-producer claim counter: it is a read-modify-
  // write so concurrent producers get disjoint ranges, and seq_cst so a
  // blocking consumer's seq_cst re-read of the counter is ordered against it
  // (see WakeupSignal). On x86 it is the same LOCK XADD as acq_rel.
  // Thread-safe. Wait-free. Never allocates.
  int64_t FetchAddSeqCst(int64_t delta) noexcept {
    return value_.fetch_add(delta, std::memory_order_seq_cst);
  }

  // Reads with the order a generic caller asks for (acquire or seq_cst).
  int64_t Load(std::memory_order order) const noexcept {
    return value_.load(order);
  }

  // Acq_rel CAS for the worker pool's shared work sequence, the only
  // Sequence with several writers. Success releases the claim to other
  // workers and acquires the previous claimer's view.
  // Thread-safe. Lock-free. Never allocates.
  bool CompareExchange(int64_t& expected, int64_t desired) noexcept {
    return value_.compare_exchange_weak(expected, desired,
                                        std::memory_order_acq_rel,
                                        std::memory_order_acquire);
  }

 private:
  std::atomic<int64_t> value_;
};

static_assert(sizeof(Sequence) == kFalseSharingRange,
              "one sequence per 128-byte pair of lines");
static_assert(alignof(Sequence) == kFalseSharingRange,
              "sequences in arrays must not share a line pair");
static_assert(std::atomic<int64_t>::is_always_lock_free,
              "a Sequence in shared memory must not hide a lock");
static_assert(std::is_standard_layout_v<Sequence>,
              "a Sequence is placed in shared memory by offset");

}  // namespace ringflow

#endif  // RINGFLOW_CORE_SEQUENCE_H_
