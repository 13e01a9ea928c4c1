// bench/bounds.h
//
// The hardware bounds every topology row is compared with, measured in the
// same process run as the rows themselves:
//
//   ceiling  RawRingThroughput: a single-producer ring with no features at
//            all (no claim API, no gating table, no wait strategy, no
//            counters) that publishes its cursor once per k events; the
//            consumer sums what it sees and stores its position once per
//            batch. Nothing that moves int64_t events from one thread to
//            another through a ring of the same capacity, with a consumer
//            that reads the cursor again at once, can be much faster on
//            this machine. At k = 1 that eager consumer is what limits it
//            (see core/internal/stream_backoff.h), so OneToOne also runs
//            the raw ring with ringflow's stream backoff, as a second
//            reference.
//   floor    AtomicPingPongRtt: two threads bouncing one value through two
//            padded atomics. A round trip between two threads cannot take
//            less than the two cache-line transfers this costs.
//
// Both verify what they moved, as the scenarios do.

#ifndef RINGFLOW_BENCH_BOUNDS_H_
#define RINGFLOW_BENCH_BOUNDS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "harness.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/stream_backoff.h"
#include "topology.h"

namespace ringflow::bench {

// One atomic alone on its 128 bytes (the pair of lines the prefetcher
// pulls together).
struct alignas(kFalseSharingRange) PaddedAtomic {
  std::atomic<int64_t> value{0};
};
static_assert(sizeof(PaddedAtomic) == kFalseSharingRange,
              "one bound atomic per 128-byte pair of lines");

struct RawRingResult {
  int64_t elapsed_ns = 0;
  int64_t sum = 0;
};

// Moves values 0..ctx.events-1 through a raw ring of ctx.capacity (a power
// of two), publishing the cursor once per `k` events (and at the end).
// Producer on pinned slot 0, consumer on slot 1. `backoff_pauses` > 0 gives
// the consumer ringflow's StreamBackoff (0: the ceiling as defined).
inline RawRingResult RawRingThroughput(const RunContext& ctx, int64_t k,
                                       int backoff_pauses = 0) {
  // Scalars are copied into each thread's lambda so they stay in registers
  // (a store through `slots` could otherwise alias them).
  const int64_t n = ctx.events;
  const int64_t capacity = ctx.capacity;
  const int64_t mask = capacity - 1;
  // Padded by a false-sharing range on each side, as ringflow's ring is.
  const size_t pad = kFalseSharingRange / sizeof(int64_t);
  std::vector<int64_t> storage(static_cast<size_t>(capacity) + 2 * pad);
  int64_t* const slots = storage.data() + pad;
  PaddedAtomic published;  // events published: written by the producer only
  PaddedAtomic consumed;   // events consumed: written by the consumer only
  RunClock clock(2, 1);
  RawRingResult result;

  std::thread consumer([n, mask, slots, backoff_pauses, &published, &consumed,
                        &clock, &result] {
    Pinning::Get().PinSelf(1, 2);
    clock.Ready();
    core_internal::StreamBackoff backoff(backoff_pauses);
    bool waited = false;
    int64_t next = 0;
    int64_t sum = 0;
    while (next < n) {
      // Acquire: pairs with the producer's release store of `published`,
      // so the slots below it are written.
      const int64_t available = published.value.load(std::memory_order_acquire);
      if (available == next) {
        waited = true;
        CpuRelax();
        continue;
      }
      const int64_t first = next;
      for (; next < available; ++next) sum += slots[next & mask];
      // Release: our reads of those slots happen before the producer
      // overwrites them. Pairs with the producer's acquire load.
      consumed.value.store(next, std::memory_order_release);
      backoff.AfterBatch(next - first, waited);
      waited = false;
    }
    result.sum = sum;
    clock.Finish();
  });
  std::thread producer(
      [n, k, capacity, mask, slots, &published, &consumed, &clock] {
        Pinning::Get().PinSelf(0, 2);
        clock.Ready();
        clock.WaitGo();
        int64_t cached_consumed = 0;  // last value of `consumed` seen
        int64_t pending = 0;          // written but not yet published
        for (int64_t i = 0; i < n;) {
          if (i - cached_consumed >= capacity) {
            // Acquire: pairs with the consumer's release store.
            while (i - (cached_consumed =
                            consumed.value.load(std::memory_order_acquire)) >=
                   capacity) {
              CpuRelax();
            }
          }
          slots[i & mask] = i;
          ++i;
          if (++pending == k || i == n) {
            // Release: makes the slot writes above visible to the consumer.
            // Pairs with the consumer's acquire load.
            published.value.store(i, std::memory_order_release);
            pending = 0;
          }
        }
      });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  consumer.join();
  producer.join();
  result.elapsed_ns = clock.elapsed_ns();
  return result;
}

struct RttResult {
  LatencyHistogram histogram;
  int64_t round_trips = 0;
};

// Up to ctx.events round trips (or ctx.budget_ns) of one value through two
// padded atomics, each timed. A ping of -1 tells the ponger to stop.
inline RttResult AtomicPingPongRtt(const RunContext& ctx) {
  const int64_t n = ctx.events;
  PaddedAtomic ping;  // written by the pinger only
  PaddedAtomic pong;  // written by the ponger only
  RunClock clock(2, 1);
  RttResult result;

  std::thread pinger([&] {
    Pinning::Get().PinSelf(0, 2);
    clock.Ready();
    clock.WaitGo();
    const int64_t start = NowNs();
    int64_t sent = start;
    int64_t i = 1;
    for (; i <= n; ++i) {
      // Release/acquire: the value is the message; nothing else to order,
      // but a real hand-off needs these orders, so the floor pays them.
      ping.value.store(i, std::memory_order_release);
      while (pong.value.load(std::memory_order_acquire) != i) CpuRelax();
      const int64_t now = NowNs();
      result.histogram.Record(now - sent);
      sent = now;
      if (ctx.OverBudget(start, now)) break;
    }
    result.round_trips = std::min(i, n);
    ping.value.store(-1, std::memory_order_release);
    clock.Finish();
  });
  std::thread ponger([&] {
    Pinning::Get().PinSelf(1, 2);
    clock.Ready();
    for (int64_t i = 1;; ++i) {
      int64_t v = 0;
      while ((v = ping.value.load(std::memory_order_acquire)) != i) {
        if (v < 0) return;
        CpuRelax();
      }
      pong.value.store(i, std::memory_order_release);
    }
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  pinger.join();
  ponger.join();
  return result;
}

// The bound column's runs (bounds.cc): the ceiling for a batch of k, with
// the consumer's stream backoff (0: none), and the floor; {M events/s} and
// {p50, p99, p99.9} ns, each verified.
Metrics Ceiling(const RunContext& ctx, int64_t k, int backoff_pauses);
Metrics Floor(const RunContext& ctx);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_BOUNDS_H_
