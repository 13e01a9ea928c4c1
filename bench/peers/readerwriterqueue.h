// bench/peers/readerwriterqueue.h
//
// The moodycamel::ReaderWriterQueue peer (rwq) and its blocking variant:
// the adapter shape is in bench/peers.h, the column list in
// bench/peers.cc.

#ifndef RINGFLOW_BENCH_PEERS_READERWRITERQUEUE_H_
#define RINGFLOW_BENCH_PEERS_READERWRITERQUEUE_H_

#include <sched.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "warnings.h"

RINGFLOW_BENCH_PEER_WARNINGS_OFF
#include "readerwriterqueue/readerwriterqueue.h"
RINGFLOW_BENCH_PEER_WARNINGS_ON

namespace ringflow::bench {

// moodycamel::ReaderWriterQueue: SPSC, bounded by try_enqueue (which
// never allocates once the constructor reserved `capacity`).
class RwqPeer {
 public:
  using Queue = moodycamel::ReaderWriterQueue<int64_t>;
  static constexpr std::string_view kName = "rwq";
  static constexpr bool kSpsc = true;
  static constexpr bool kProducerFifo = true;
  static constexpr bool kLockFree = true;

  RwqPeer(int64_t capacity, int /*producers*/)
      : q_(static_cast<size_t>(capacity)) {}

  struct Producer {
    Queue* q;
    bool TryPush(int64_t v) noexcept { return q->try_enqueue(v); }
  };
  struct Consumer {
    Queue* q;
    bool TryPop(int64_t& v) noexcept { return q->try_dequeue(v); }
  };
  Producer MakeProducer() { return {&q_}; }
  Consumer MakeConsumer() { return {&q_}; }

 private:
  Queue q_;
};

// PingPongBlocking's rwq: the same library's blocking variant (a semaphore
// wakes the consumer). Enqueue never waits: a ping pong holds one value.
class BlockingRwqPeer {
 public:
  using Queue = moodycamel::BlockingReaderWriterQueue<int64_t>;
  static constexpr std::string_view kName = "rwq";
  static constexpr bool kSpsc = true;
  static constexpr bool kProducerFifo = true;
  static constexpr bool kLockFree = true;

  BlockingRwqPeer(int64_t capacity, int /*producers*/)
      : q_(static_cast<size_t>(capacity)) {}

  struct Producer {
    Queue* q;
    void PushBlocking(int64_t v) {
      while (!q->try_enqueue(v)) sched_yield();
    }
  };
  struct Consumer {
    Queue* q;
    int64_t PopBlocking() {
      int64_t v = 0;
      q->wait_dequeue(v);
      return v;
    }
  };
  Producer MakeProducer() { return {&q_}; }
  Consumer MakeConsumer() { return {&q_}; }

 private:
  Queue q_;
};

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_READERWRITERQUEUE_H_
