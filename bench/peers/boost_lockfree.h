// bench/peers/boost_lockfree.h
//
// The Boost.Lockfree peers (boost-spsc, boost-q): the adapter shape is in
// bench/peers.h, the column list in bench/peers.cc.

#ifndef RINGFLOW_BENCH_PEERS_BOOST_LOCKFREE_H_
#define RINGFLOW_BENCH_PEERS_BOOST_LOCKFREE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "warnings.h"

RINGFLOW_BENCH_PEER_WARNINGS_OFF
#include "boost/lockfree/queue.hpp"
#include "boost/lockfree/spsc_queue.hpp"
RINGFLOW_BENCH_PEER_WARNINGS_ON

namespace ringflow::bench {

// boost::lockfree::spsc_queue with a run-time capacity.
class BoostSpscPeer {
 public:
  using Queue = boost::lockfree::spsc_queue<int64_t>;
  static constexpr std::string_view kName = "boost-spsc";
  static constexpr bool kSpsc = true;
  static constexpr bool kProducerFifo = true;
  static constexpr bool kLockFree = true;

  BoostSpscPeer(int64_t capacity, int /*producers*/)
      : q_(static_cast<size_t>(capacity)) {}

  struct Producer {
    Queue* q;
    bool TryPush(int64_t v) noexcept { return q->push(v); }
    size_t TryPushBulk(const int64_t* v, size_t n) noexcept {
      return q->push(v, n);
    }
  };
  struct Consumer {
    Queue* q;
    bool TryPop(int64_t& v) noexcept { return q->pop(v); }
    size_t TryPopBulk(int64_t* out, size_t max) noexcept {
      return q->pop(out, max);
    }
  };
  Producer MakeProducer() { return {&q_}; }
  Consumer MakeConsumer() { return {&q_}; }

 private:
  Queue q_;
};

// boost::lockfree::queue (MPMC, node based): `capacity` nodes reserved,
// bounded_push never allocates.
class BoostQueuePeer {
 public:
  using Queue = boost::lockfree::queue<int64_t>;
  static constexpr std::string_view kName = "boost-q";
  static constexpr bool kSpsc = false;
  static constexpr bool kProducerFifo = true;
  static constexpr bool kLockFree = true;

  BoostQueuePeer(int64_t capacity, int /*producers*/)
      : q_(static_cast<size_t>(capacity)) {}

  struct Producer {
    Queue* q;
    bool TryPush(int64_t v) noexcept { return q->bounded_push(v); }
  };
  struct Consumer {
    Queue* q;
    bool TryPop(int64_t& v) noexcept { return q->pop(v); }
  };
  Producer MakeProducer() { return {&q_}; }
  Consumer MakeConsumer() { return {&q_}; }

 private:
  Queue q_;
};

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_BOOST_LOCKFREE_H_
