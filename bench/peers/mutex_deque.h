// bench/peers/mutex_deque.h
//
// The library-less peer (mutex): the adapter shape is in bench/peers.h,
// the column list in bench/peers.cc.

#ifndef RINGFLOW_BENCH_PEERS_MUTEX_DEQUE_H_
#define RINGFLOW_BENCH_PEERS_MUTEX_DEQUE_H_

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>

namespace ringflow::bench {

// std::mutex + std::deque, bounded by two condition variables: what a
// careful programmer writes without a library. Always blocks (its natural
// form), in every scenario.
class MutexDequePeer {
 public:
  static constexpr std::string_view kName = "mutex";
  static constexpr bool kSpsc = false;
  static constexpr bool kProducerFifo = true;
  static constexpr bool kLockFree = false;  // the lock-based reference

  MutexDequePeer(int64_t capacity, int /*producers*/)
      : capacity_(static_cast<size_t>(capacity)) {}

  struct Producer {
    MutexDequePeer* q;
    void PushBlocking(int64_t v) { q->PushBulk(&v, 1); }
    void PushBulkBlocking(const int64_t* v, size_t n) { q->PushBulk(v, n); }
  };
  struct Consumer {
    MutexDequePeer* q;
    int64_t PopBlocking() {
      int64_t v = 0;
      q->PopBulk(&v, 1);
      return v;
    }
    size_t PopBulkBlocking(int64_t* out, size_t max) {
      return q->PopBulk(out, max);
    }
  };
  Producer MakeProducer() { return {this}; }
  Consumer MakeConsumer() { return {this}; }

 private:
  // Pushes all n, waiting for room as needed.
  void PushBulk(const int64_t* v, size_t n) {
    while (n > 0) {
      size_t taken = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        not_full_.wait(lock, [&] { return items_.size() < capacity_; });
        taken = std::min(n, capacity_ - items_.size());
        items_.insert(items_.end(), v, v + taken);
      }
      not_empty_.notify_all();
      v += taken;
      n -= taken;
    }
  }
  // Pops at least one, at most max.
  size_t PopBulk(int64_t* out, size_t max) {
    size_t taken = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      not_empty_.wait(lock, [&] { return !items_.empty(); });
      taken = std::min(max, items_.size());
      std::copy_n(items_.begin(), taken, out);
      items_.erase(items_.begin(),
                   items_.begin() + static_cast<std::ptrdiff_t>(taken));
    }
    not_full_.notify_all();
    return taken;
  }

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<int64_t> items_;  // guarded by mu_
};

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_MUTEX_DEQUE_H_
