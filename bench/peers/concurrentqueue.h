// bench/peers/concurrentqueue.h
//
// The moodycamel::ConcurrentQueue peer (mc-cq) and its blocking variant:
// the adapter shape is in bench/peers.h, the column list in
// bench/peers.cc.

#ifndef RINGFLOW_BENCH_PEERS_CONCURRENTQUEUE_H_
#define RINGFLOW_BENCH_PEERS_CONCURRENTQUEUE_H_

#include <sched.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "warnings.h"

RINGFLOW_BENCH_PEER_WARNINGS_OFF
#include "concurrentqueue/blockingconcurrentqueue.h"
#include "concurrentqueue/concurrentqueue.h"
RINGFLOW_BENCH_PEER_WARNINGS_ON

namespace ringflow::bench {

// moodycamel::ConcurrentQueue: MPMC with per-thread tokens (each producer token
// owns its blocks, so per-producer order holds), pre-sized for `capacity` per
// producer. Its try_enqueue() is no bound: once blocks are spread over several
// producers it can fail forever on an empty queue (cameron314/concurrentqueue
// #193, #292; it hung ThreeToOne here), and the maintainer's advice is
// enqueue() plus your own limit. Ours is soft and cheap: every kCheckEvery
// pushes a producer reads size_approx() and waits while the queue holds
// `capacity` or more, so it holds at most about capacity + producers *
// kCheckEvery values.
// Its code, inlined here, warns as the includes above do: silenced too.
RINGFLOW_BENCH_PEER_WARNINGS_OFF
class McCqPeer {
 public:
  using Queue = moodycamel::ConcurrentQueue<int64_t>;
  static constexpr std::string_view kName = "mc-cq";
  static constexpr bool kSpsc = false;
  static constexpr bool kProducerFifo = true;
  static constexpr bool kLockFree = true;
  static constexpr int64_t kCheckEvery = 1024;

  McCqPeer(int64_t capacity, int producers)
      : capacity_(static_cast<size_t>(capacity)),
        q_(static_cast<size_t>(capacity), static_cast<size_t>(producers), 0) {}

  struct Producer {
    Queue* q;
    size_t capacity;
    moodycamel::ProducerToken token;
    int64_t unchecked = 0;  // pushes since the last size check

    // False when the queue is at its bound (or allocation failed).
    bool TryPush(int64_t v) { return Room(1) && q->enqueue(token, v); }
    size_t TryPushBulk(const int64_t* v, size_t n) {
      return Room(static_cast<int64_t>(n)) && q->enqueue_bulk(token, v, n) ? n
                                                                           : 0;
    }

   private:
    bool Room(int64_t n) {
      if (unchecked + n < kCheckEvery) {
        unchecked += n;
        return true;
      }
      if (q->size_approx() >= capacity) return false;
      unchecked = 0;
      return true;
    }
  };
  struct Consumer {
    Queue* q;
    moodycamel::ConsumerToken token;
    bool TryPop(int64_t& v) noexcept { return q->try_dequeue(token, v); }
    size_t TryPopBulk(int64_t* out, size_t max) noexcept {
      return q->try_dequeue_bulk(token, out, max);
    }
  };
  Producer MakeProducer() {
    return {&q_, capacity_, moodycamel::ProducerToken(q_)};
  }
  Consumer MakeConsumer() { return {&q_, moodycamel::ConsumerToken(q_)}; }

 private:
  const size_t capacity_;
  Queue q_;
};

RINGFLOW_BENCH_PEER_WARNINGS_ON

// PingPongBlocking's mc-cq: the same library's blocking variant (a
// semaphore wakes the consumer). Enqueue never waits: a ping pong holds
// one value.
class BlockingMcCqPeer {
 public:
  using Queue = moodycamel::BlockingConcurrentQueue<int64_t>;
  static constexpr std::string_view kName = "mc-cq";
  static constexpr bool kSpsc = false;
  static constexpr bool kProducerFifo = true;
  static constexpr bool kLockFree = true;

  BlockingMcCqPeer(int64_t capacity, int producers)
      : q_(static_cast<size_t>(capacity), static_cast<size_t>(producers), 0) {}

  struct Producer {
    Queue* q;
    moodycamel::ProducerToken token;
    void PushBlocking(int64_t v) {
      while (!q->enqueue(token, v)) sched_yield();  // see McCqPeer
    }
  };
  struct Consumer {
    Queue* q;
    moodycamel::ConsumerToken token;
    int64_t PopBlocking() {
      int64_t v = 0;
      q->wait_dequeue(token, v);
      return v;
    }
  };
  Producer MakeProducer() { return {&q_, moodycamel::ProducerToken(q_)}; }
  Consumer MakeConsumer() { return {&q_, moodycamel::ConsumerToken(q_)}; }

 private:
  Queue q_;
};

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_CONCURRENTQUEUE_H_
