// Tests for ShardedQueue on one thread: options, tokens, bulk calls across
// a shard's wrap and across shards, full shards, timeouts, Close, sizes,
// and a dropped producer token whose items are all dequeued before its
// shard is freed. Threads are in sharded_concurrent_test.cc.

#include "ringflow/processors/sharded_queue.h"

#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

using Queue = ShardedQueue<int64_t>;

std::unique_ptr<Queue> MakeQueue(int64_t shard_capacity = 8,
                                 int max_producers = 4) {
  auto queue = Queue::Create(
      {.shard_capacity = shard_capacity, .max_producers = max_producers});
  EXPECT_OK(queue.status());
  return std::move(queue).value();
}

std::vector<int64_t> DequeueAll(Queue& queue, Queue::ConsumerToken& token) {
  std::vector<int64_t> out;
  int64_t item;
  while (queue.TryDequeue(token, item)) out.push_back(item);
  return out;
}

TEST(ShardedQueueTest, BadOptionsAreNamed) {
  EXPECT_THAT(Queue::Create({.shard_capacity = 100}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("capacity 100 is not a power of two")));
  EXPECT_THAT(Queue::Create({.max_producers = 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_producers 0")));
  EXPECT_THAT(Queue::Create({.stream_backoff_pauses = 2000}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2000")));
  EXPECT_THAT(
      Queue::Create({.name = "bad name"}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad name")));
  EXPECT_THAT(
      Queue::Create({.wait_strategy = WaitStrategyKind::kTimeoutBlocking})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("kTimeoutBlocking")));
}

TEST(ShardedQueueTest, ItemsComeOutInEachProducersOrder) {
  auto queue = MakeQueue();
  ASSERT_OK_AND_ASSIGN(auto a, queue->RegisterProducer());
  ASSERT_OK_AND_ASSIGN(auto b, queue->RegisterProducer());
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(queue->TryEnqueue(a, 100 + i));
    ASSERT_TRUE(queue->TryEnqueue(b, 200 + i));
  }
  EXPECT_EQ(queue->SizeApprox(), 6);
  auto token = queue->MakeConsumerToken();
  std::vector<int64_t> from_a, from_b;
  for (int64_t item : DequeueAll(*queue, token)) {
    (item < 200 ? from_a : from_b).push_back(item);
  }
  EXPECT_THAT(from_a, ElementsAre(100, 101, 102));
  EXPECT_THAT(from_b, ElementsAre(200, 201, 202));
  EXPECT_TRUE(queue->IsEmptyApprox());
}

TEST(ShardedQueueTest, AFullShardRefusesAndBulkEnqueuesWhatFits) {
  auto queue = MakeQueue(8);
  ASSERT_OK_AND_ASSIGN(auto token, queue->RegisterProducer());
  std::vector<int64_t> items(11);
  std::iota(items.begin(), items.end(), 0);
  EXPECT_EQ(queue->TryEnqueueBulk(token, std::span<const int64_t>(items)), 8);
  EXPECT_FALSE(queue->TryEnqueue(token, 99));
  EXPECT_FALSE(queue->WaitEnqueueFor(token, 99, absl::Milliseconds(1)));
  auto consumer = queue->MakeConsumerToken();
  std::vector<int64_t> out(5);
  EXPECT_EQ(queue->TryDequeueBulk(consumer, std::span<int64_t>(out)), 5);
  EXPECT_THAT(out, ElementsAre(0, 1, 2, 3, 4));
  // The next bulk enqueue wraps the shard's storage: 3 items are still in
  // slots 5..7, the 5 new ones go to 0..4.
  EXPECT_EQ(
      queue->TryEnqueueBulk(token, std::span<const int64_t>(items).subspan(8)),
      3);
  std::vector<int64_t> more = {11, 12};
  EXPECT_EQ(queue->TryEnqueueBulk(token, std::span<const int64_t>(more)), 2);
  std::vector<int64_t> all(16);
  EXPECT_EQ(queue->TryDequeueBulk(consumer, std::span<int64_t>(all)), 8);
  all.resize(8);
  EXPECT_THAT(all, ElementsAre(5, 6, 7, 8, 9, 10, 11, 12));
}

TEST(ShardedQueueTest, BulkDequeueTakesOneShardAtATime) {
  auto queue = MakeQueue(8);
  ASSERT_OK_AND_ASSIGN(auto a, queue->RegisterProducer());
  ASSERT_OK_AND_ASSIGN(auto b, queue->RegisterProducer());
  ASSERT_TRUE(queue->TryEnqueue(a, 1));
  ASSERT_TRUE(queue->TryEnqueue(a, 2));
  ASSERT_TRUE(queue->TryEnqueue(b, 3));
  auto consumer = queue->MakeConsumerToken();
  std::vector<int64_t> out(8);
  EXPECT_EQ(queue->TryDequeueBulk(consumer, std::span<int64_t>(out)), 2);
  EXPECT_EQ(queue->TryDequeueBulk(consumer, std::span<int64_t>(out)), 1);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(queue->TryDequeueBulk(consumer, std::span<int64_t>(out)), 0);
}

TEST(ShardedQueueTest, WaitDequeueForTimesOutOnAnEmptyQueue) {
  auto queue = MakeQueue();
  auto consumer = queue->MakeConsumerToken();
  int64_t out = -1;
  EXPECT_FALSE(queue->WaitDequeueFor(consumer, out, absl::Milliseconds(2)));
  EXPECT_FALSE(queue->WaitDequeueFor(consumer, out, absl::ZeroDuration()));
  EXPECT_EQ(out, -1);
}

TEST(ShardedQueueTest, ADroppedTokensItemsAreDequeuedBeforeItsShardIsFreed) {
  auto queue = MakeQueue(8, 1);
  {
    ASSERT_OK_AND_ASSIGN(auto token, queue->RegisterProducer());
    for (int64_t i = 0; i < 5; ++i) ASSERT_TRUE(queue->TryEnqueue(token, i));
  }
  EXPECT_EQ(queue->ring().ShardCount(), 1);
  // The only shard is still held: no room for another producer.
  EXPECT_THAT(queue->RegisterProducer().status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  auto consumer = queue->MakeConsumerToken();
  EXPECT_THAT(DequeueAll(*queue, consumer), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_EQ(queue->ring().ShardCount(), 0);
  ASSERT_OK_AND_ASSIGN(auto next, queue->RegisterProducer());
  ASSERT_TRUE(queue->TryEnqueue(next, 9));
  EXPECT_THAT(DequeueAll(*queue, consumer), ElementsAre(9));
}

TEST(ShardedQueueTest, CloseRefusesEnqueuesAndLetsConsumersDrain) {
  auto queue = MakeQueue();
  ASSERT_OK_AND_ASSIGN(auto token, queue->RegisterProducer());
  ASSERT_TRUE(queue->TryEnqueue(token, 7));
  queue->Close();
  EXPECT_TRUE(queue->IsClosed());
  EXPECT_FALSE(queue->TryEnqueue(token, 8));
  EXPECT_FALSE(queue->WaitEnqueue(token, 8));
  EXPECT_THAT(queue->RegisterProducer().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  auto consumer = queue->MakeConsumerToken();
  int64_t out = 0;
  EXPECT_TRUE(queue->WaitDequeue(consumer, out));
  EXPECT_EQ(out, 7);
  EXPECT_FALSE(queue->WaitDequeue(consumer, out));  // closed and empty
}

TEST(ShardedQueueTest, CapacityIsShardCapacityTimesProducers) {
  auto queue = MakeQueue(16, 3);
  EXPECT_EQ(queue->shard_capacity(), 16);
  EXPECT_EQ(queue->capacity(), 48);
}

}  // namespace
}  // namespace ringflow
