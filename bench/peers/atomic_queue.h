// bench/peers/atomic_queue.h
//
// The atomic_queue peers (aq-spsc, aq-mpmc): the adapter shape is in
// bench/peers.h, the column list in bench/peers.cc.

#ifndef RINGFLOW_BENCH_PEERS_ATOMIC_QUEUE_H_
#define RINGFLOW_BENCH_PEERS_ATOMIC_QUEUE_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "warnings.h"

RINGFLOW_BENCH_PEER_WARNINGS_OFF
#include "atomic_queue/atomic_queue.h"
RINGFLOW_BENCH_PEER_WARNINGS_ON

namespace ringflow::bench {

// atomic_queue::AtomicQueueB2 (run-time capacity, any T) in SPSC mode.
// PushSpin/PopSpin are its "optimist" push()/pop(), which spin inside the
// queue; TryPush/TryPop are the "pessimist" try_push()/try_pop().
template <bool kSpscMode>
class AtomicQueuePeer {
 public:
  using Queue = atomic_queue::AtomicQueueB2<int64_t, std::allocator<int64_t>,
                                            /*MAXIMIZE_THROUGHPUT=*/true,
                                            /*TOTAL_ORDER=*/false, kSpscMode>;
  static constexpr std::string_view kName = kSpscMode ? "aq-spsc" : "aq-mpmc";
  static constexpr bool kSpsc = kSpscMode;
  // MPMC mode: no. A producer preempted between claiming a slot (CAS on
  // head) and filling it can be overtaken by a producer that claimed the
  // same slot one lap later ("This loop is not FIFO" in the header); the
  // ThreeToOne check caught it here. One producer keeps its order.
  static constexpr bool kProducerFifo = kSpscMode;
  static constexpr bool kLockFree = true;

  AtomicQueuePeer(int64_t capacity, int /*producers*/)
      : q_(static_cast<unsigned>(capacity)) {}

  struct Producer {
    Queue* q;
    bool TryPush(int64_t v) noexcept { return q->try_push(v); }
    void PushSpin(int64_t v) noexcept { q->push(v); }
  };
  struct Consumer {
    Queue* q;
    bool TryPop(int64_t& v) noexcept { return q->try_pop(v); }
    int64_t PopSpin() noexcept { return q->pop(); }
  };
  Producer MakeProducer() { return {&q_}; }
  Consumer MakeConsumer() { return {&q_}; }

 private:
  Queue q_;
};
using AqSpsc = AtomicQueuePeer<true>;
using AqMpmc = AtomicQueuePeer<false>;

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_ATOMIC_QUEUE_H_
