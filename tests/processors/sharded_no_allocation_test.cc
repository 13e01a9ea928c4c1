// tests/processors/sharded_no_allocation_test.cc
//
// After registration, a ShardedRing's producers and its poller, and a
// ShardedQueue's enqueues and dequeues (single and bulk), make no call to
// operator new or delete per event. One thread: the calls are the ones the
// processor and worker threads make. Its own executable: it replaces the
// global operator new / delete (support/counting_new.h).

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/sharded_poller.h"
#include "ringflow/processors/sharded_queue.h"
#include "support/counting_new.h"  // replaces operator new / delete
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::testing::AllocationCounts;
using ::ringflow::testing::StartCounting;
using ::ringflow::testing::StopCounting;

TEST(ShardedNoAllocationTest, PublishAndPollAllocateNothingPerEvent) {
  ShardedRingOptions options;
  options.shard.capacity = 64;
  options.shard.wait_strategy = WaitStrategyKind::kBlocking;
  ASSERT_OK_AND_ASSIGN(auto ring, ShardedRing<int64_t>::Create(options));
  ASSERT_OK_AND_ASSIGN(auto poller, ShardedPoller<int64_t>::Create(*ring));
  std::vector<ShardProducer<int64_t>> producers;
  for (int p = 0; p < 3; ++p) {
    ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
    producers.push_back(std::move(producer));
  }
  int64_t sum = 0;
  auto add = [&sum](const int64_t& v, int64_t, bool) noexcept { sum += v; };
  // Warm-up: the poller builds its per-shard readers on its first poll.
  for (auto& producer : producers) {
    ASSERT_TRUE(producer->TryPublishEvent([](int64_t& e, int64_t) { e = 0; }));
  }
  while (poller->Poll(add) != PollState::kIdle) {
  }
  StartCounting();
  int64_t expected = 0;
  for (int64_t round = 0; round < 1000; ++round) {
    for (auto& producer : producers) {
      producer->PublishEvents(16, [&](int64_t& e, int64_t s) noexcept {
        e = s;
        expected += s;
      });
    }
    while (poller->Poll(add) == PollState::kProcessing) {
    }
    if (auto lease = poller->TryLease()) sum += **lease;
  }
  const AllocationCounts counts = StopCounting();
  for (int i = 0; i < 40; ++i) poller->Poll(add);
  EXPECT_EQ(sum, expected);
  EXPECT_EQ(counts.allocations, 0);
  EXPECT_EQ(counts.deallocations, 0);
}

TEST(ShardedNoAllocationTest, QueueCallsAllocateNothingPerItem) {
  ASSERT_OK_AND_ASSIGN(auto queue,
                       ShardedQueue<int64_t>::Create({.shard_capacity = 64}));
  ASSERT_OK_AND_ASSIGN(auto producer, queue->RegisterProducer());
  auto consumer = queue->MakeConsumerToken();
  int64_t item = 0;
  ASSERT_TRUE(queue->TryEnqueue(producer, 1));
  ASSERT_TRUE(queue->TryDequeue(consumer, item));  // builds the lane reader
  int64_t in[32];
  int64_t out[32];
  for (int i = 0; i < 32; ++i) in[i] = i;
  int64_t sum = 0;
  StartCounting();
  for (int round = 0; round < 1000; ++round) {
    queue->TryEnqueue(producer, round);
    queue->TryEnqueueBulk(producer, std::span<const int64_t>(in));
    if (queue->TryDequeue(consumer, item)) sum += item;
    const size_t n = queue->TryDequeueBulk(consumer, std::span<int64_t>(out));
    for (size_t i = 0; i < n; ++i) sum += out[i];
    queue->WaitDequeueFor(consumer, item, absl::ZeroDuration());
  }
  const AllocationCounts counts = StopCounting();
  EXPECT_GT(sum, 0);
  EXPECT_EQ(counts.allocations, 0);
  EXPECT_EQ(counts.deallocations, 0);
}

}  // namespace
}  // namespace ringflow
