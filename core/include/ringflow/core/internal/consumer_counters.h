// ringflow/core/internal/consumer_counters.h
//
// Provides `ConsumerCounters` and `ProducerCounters`: the statistics a
// consumer and the producer(s) of a ring keep, as views over counters
// allocated in the ring's CountersBlock. Views are null when counters are
// off (RingOptions::counters = false); every update then costs one
// predictable branch.
//
// Per batch a consumer does four single-writer updates (events, batches,
// one histogram bucket, max lag) with relaxed load + store: no locked
// instruction. Events consumed and lag are also derivable from sequences;
// the exporter computes current lag at scrape time.
//
// Who calls what: a ConsumerCounters has exactly one writer, the consumer
// owning the slot. ProducerCounters are written by the producer(s): with a
// multi-producer ring they use relaxed fetch_add (the block gives them
// their own line pair).

#ifndef RINGFLOW_CORE_INTERNAL_CONSUMER_COUNTERS_H_
#define RINGFLOW_CORE_INTERNAL_CONSUMER_COUNTERS_H_

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringflow/core/internal/counter.h"
#include "ringflow/core/internal/counters_block.h"

namespace ringflow::core_internal {

class ConsumerCounters {
 public:
  enum Index : int {
    kEvents = 0,
    kBatches,
    kEmptyPolls,
    kExceptions,
    kMaxLag,
    kBatchSizeSum,
    kFirstBucket,
  };
  // Batch-size histogram: bucket i counts batches of size in
  // (2^(i-1), 2^i]; the last bucket is +Inf.
  static constexpr int kBuckets = 20;
  static constexpr int kCount = kFirstBucket + kBuckets;

  ConsumerCounters() = default;
  explicit ConsumerCounters(Counter* base) noexcept : base_(base) {}

  // The specs to allocate for one consumer. `labels` receives the rendered
  // labels ring="..",consumer=".."; the specs point into it, so keep it
  // alive (and unmoved) until they are allocated.
  static std::vector<CounterSpec> Specs(std::string_view ring,
                                        std::string_view consumer,
                                        std::string& labels);

  // One batch of `size` events handed to a handler, with `queue_depth`
  // events available at its start. Consumer thread. Wait-free.
  void OnBatch(int64_t size, int64_t queue_depth) noexcept {
    if (base_ == nullptr) return;
    base_[kEvents].Increment(static_cast<uint64_t>(size));
    base_[kBatches].Increment();
    base_[kBatchSizeSum].Increment(static_cast<uint64_t>(size));
    base_[kFirstBucket + BucketOf(size)].Increment();
    base_[kMaxLag].StoreMax(static_cast<uint64_t>(queue_depth));
  }
  // A poll (or lease attempt) that found nothing. Consumer thread.
  void OnEmptyPoll() noexcept {
    if (base_ != nullptr) base_[kEmptyPolls].Increment();
  }
  // A handler exception (any policy). Consumer thread.
  void OnException() noexcept {
    if (base_ != nullptr) base_[kExceptions].Increment();
  }

  bool enabled() const noexcept { return base_ != nullptr; }
  uint64_t Get(int index) const noexcept {
    return base_ == nullptr ? 0 : base_[index].Load();
  }

  static int BucketOf(int64_t size) noexcept {
    if (size <= 1) return 0;
    const int b = 64 - std::countl_zero(static_cast<uint64_t>(size - 1));
    return b < kBuckets - 1 ? b : kBuckets - 1;
  }

 private:
  Counter* base_ = nullptr;  // kCount counters, or null
};

class ProducerCounters {
 public:
  enum Index : int { kFullWaits = 0, kTryNextFailures, kCount };

  ProducerCounters() = default;
  ProducerCounters(Counter* base, bool shared) noexcept
      : base_(base), shared_(shared) {}

  // As ConsumerCounters::Specs, labelled ring="..".
  static std::vector<CounterSpec> Specs(std::string_view ring,
                                        std::string& labels);

  // Slow paths only (the ring was full). Producer threads.
  void OnFullWait() noexcept { Bump(kFullWaits); }
  void OnTryNextFailure() noexcept { Bump(kTryNextFailures); }

  uint64_t Get(int index) const noexcept {
    return base_ == nullptr ? 0 : base_[index].Load();
  }

 private:
  void Bump(int index) noexcept {
    if (base_ == nullptr) return;
    if (shared_) {
      base_[index].Add();  // several producers: relaxed fetch_add
    } else {
      base_[index].Increment();  // one producer: load + store
    }
  }

  Counter* base_ = nullptr;
  bool shared_ = false;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_CONSUMER_COUNTERS_H_
