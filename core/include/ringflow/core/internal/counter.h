// ringflow/core/internal/counter.h
//
// Provides `Counter`: one relaxed 64-bit statistic, 8 bytes, standard
// layout and lock-free, so it may live in heap memory or in a shared-memory
// segment read by another process.
//
// Single-writer counters (one consumer's batches, one producer's waits)
// update with a relaxed load + store: no locked instruction on the hot
// path. Counters with several writers use `Add` (relaxed fetch_add) and must
// sit alone on their cache lines; CountersBlock gives every allocation its
// own 128 bytes, so allocate shared counters separately.
//
// Memory ordering: every access is relaxed. A counter is a statistic; it
// publishes no data, and readers (a scrape, `ringflow stat`) only need each
// value to be a value that was written, which 8-byte aligned atomics
// guarantee (no torn reads).
//
// Counters are switched off per ring at run time (RingOptions::counters):
// there is no build-time switch, since translation units compiled with
// different settings would disagree about this class (an ODR violation).
//
// This header is the leaf of the observability component: core, processors
// and shm write counters through it; the exporter reads them. It depends on
// nothing but the standard library, so the layering stays
// observability(exporter) -> core -> counters.

#ifndef RINGFLOW_CORE_INTERNAL_COUNTER_H_
#define RINGFLOW_CORE_INTERNAL_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace ringflow::core_internal {

class Counter {
 public:
  constexpr Counter() noexcept = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Single writer only. Relaxed load + store: a statistic; no RMW.
  // Wait-free. Never allocates.
  void Increment(uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n,
                 std::memory_order_relaxed);
  }

  // Single writer only: raises the value to `v` if it is larger (max lag).
  // Relaxed: a statistic. Wait-free. Never allocates.
  void StoreMax(uint64_t v) noexcept {
    if (v > value_.load(std::memory_order_relaxed)) {
      value_.store(v, std::memory_order_relaxed);
    }
  }

  // Any number of writers. Relaxed fetch_add: a statistic. Keep such a
  // counter on its own cache line. Lock-free. Never allocates.
  void Add(uint64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }

  // Setup / reset (not concurrent with writers). Relaxed.
  void Set(uint64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }

  // Any thread, any process. Relaxed: a statistic.
  uint64_t Load() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> value_{0};  // written by the counter's writer(s)
};

static_assert(sizeof(Counter) == 8 && alignof(Counter) == 8,
              "value records are packed 8-byte cells");
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "a counter read by another process must not hide a lock");
static_assert(std::is_standard_layout_v<Counter>,
              "counters are placed in shared memory by offset");

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_COUNTER_H_
