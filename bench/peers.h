// bench/peers.h
//
// The queues a user might pick instead of ringflow, behind one small
// adapter shape so the topology benchmarks drive every one of them with
// the same code, the same event type (int64_t) and the same capacity.
// Each peer library's adapters are in their own header under bench/peers/
// (atomic_queue.h, readerwriterqueue.h, concurrentqueue.h,
// boost_lockfree.h, mutex_deque.h); bench/peers.cc lists them once, in
// column order. This header holds what they share: the shape below and
// the free functions that drive it.
//
// Each peer P provides
//   static constexpr std::string_view kName;   // its table column
//   static constexpr bool kSpsc;               // one producer, one consumer
//   static constexpr bool kProducerFifo;       // each producer's values
//                                              // come out in its order
//   static constexpr bool kLockFree;           // false: the lock-based
//                                              // reference (mutex)
//   P(int64_t capacity, int producers);
//   P::Producer MakeProducer();  P::Consumer MakeConsumer();
// A Producer has TryPush(v) (false when full) and, where the library has
// them, PushSpin(v) (its own spinning push), TryPushBulk(p, n) (how many
// it took) or PushBlocking(v) / PushBulkBlocking(p, n) (it waits on its own
// condition variable). A Consumer mirrors that with TryPop(v&), PopSpin(),
// TryPopBulk(out, max), PopBlocking(), PopBulkBlocking(out, max). The
// free functions below (Push, Pop, PushBulk, PopBulk) pick the library's
// natural call for a WaitMode.
//
// Who calls what: a Producer on one producer thread, a Consumer on one
// consumer thread (an SPSC peer has exactly one of each).

#ifndef RINGFLOW_BENCH_PEERS_H_
#define RINGFLOW_BENCH_PEERS_H_

#include <cstddef>
#include <cstdint>

#include "harness.h"

namespace ringflow::bench {

// ---- the natural call for a wait mode --------------------------------------

// Pushes one value, waiting as the library does (blocking peers), or with
// the library's own spinning push when busy-spinning, or try + Backoff.
template <typename P>
void Push(P& p, int64_t v, WaitMode mode) {
  if constexpr (requires { p.PushBlocking(v); }) {
    p.PushBlocking(v);
  } else {
    if constexpr (requires { p.PushSpin(v); }) {
      if (mode == WaitMode::kBusySpin) {
        p.PushSpin(v);
        return;
      }
    }
    Backoff backoff(mode);
    while (!p.TryPush(v)) backoff.Pause();
  }
}

template <typename C>
int64_t Pop(C& c, WaitMode mode) {
  if constexpr (requires { c.PopBlocking(); }) {
    return c.PopBlocking();
  } else {
    if constexpr (requires { c.PopSpin(); }) {
      if (mode == WaitMode::kBusySpin) return c.PopSpin();
    }
    int64_t v = 0;
    Backoff backoff(mode);
    while (!c.TryPop(v)) backoff.Pause();
    return v;
  }
}

template <typename P>
concept HasBulk = requires(typename P::Producer& pr, typename P::Consumer& c,
                           const int64_t* in, int64_t* out) {
  pr.TryPushBulk(in, size_t{1});
  c.TryPopBulk(out, size_t{1});
}
|| requires(typename P::Producer& pr, typename P::Consumer& c,
            const int64_t* in, int64_t* out) {
  pr.PushBulkBlocking(in, size_t{1});
  c.PopBulkBlocking(out, size_t{1});
};

// Pushes all n values through the bulk API.
template <typename P>
void PushBulk(P& p, const int64_t* v, size_t n, WaitMode mode) {
  if constexpr (requires { p.PushBulkBlocking(v, n); }) {
    p.PushBulkBlocking(v, n);
  } else {
    Backoff backoff(mode);
    while (n > 0) {
      const size_t taken = p.TryPushBulk(v, n);
      if (taken == 0) {
        backoff.Pause();
        continue;
      }
      backoff.Reset();
      v += taken;
      n -= taken;
    }
  }
}

// Pops between 1 and max values through the bulk API.
template <typename C>
size_t PopBulk(C& c, int64_t* out, size_t max, WaitMode mode) {
  if constexpr (requires { c.PopBulkBlocking(out, max); }) {
    return c.PopBulkBlocking(out, max);
  } else {
    Backoff backoff(mode);
    for (;;) {
      const size_t taken = c.TryPopBulk(out, max);
      if (taken > 0) return taken;
      backoff.Pause();
    }
  }
}

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_H_
