// Tests for ShardedRing and ShardedPoller on one thread: option errors,
// producer registration and its limits, per-producer order, shards drained
// and freed after their producer left (and their index reused), late
// consumers, pipelines after the merge, leases, Close. Threads are in
// sharded_concurrent_test.cc.

#include "ringflow/core/sharded_ring.h"

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/processors/sharded_poller.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What producer `p` publishes as its n-th event.
struct Tagged {
  int64_t producer = -1;
  int64_t n = -1;
};

using Ring = ShardedRing<Tagged>;
using Poller = ShardedPoller<Tagged>;

static_assert(ProducerRing<RingBuffer<Tagged>>,
              "what a ShardProducer derefs to is a ProducerRing");

std::unique_ptr<Ring> MakeRing(int64_t capacity = 8, int max_producers = 4,
                               int max_consumers = 4) {
  ShardedRingOptions options;
  options.shard.capacity = capacity;
  options.shard.max_consumers = max_consumers;
  options.shard.wait_strategy = WaitStrategyKind::kBusySpin;
  options.shard.name = "orders";
  options.max_producers = max_producers;
  auto ring = Ring::Create(options);
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

void Publish(ShardProducer<Tagged>& producer, int64_t id, int64_t from,
             int64_t count) {
  for (int64_t n = from; n < from + count; ++n) {
    ASSERT_TRUE(producer->TryPublishEvent([&](Tagged& t, int64_t) {
      t.producer = id;
      t.n = n;
    }));
  }
}

// Polls until idle; returns each producer's events in arrival order.
std::map<int64_t, std::vector<int64_t>> Drain(Poller& poller) {
  std::map<int64_t, std::vector<int64_t>> seen;
  while (poller.Poll([&](const Tagged& t, int64_t, bool) {
    seen[t.producer].push_back(t.n);
  }) != PollState::kIdle) {
  }
  // Idle shards are skipped for a few polls: keep polling past them.
  for (int i = 0; i < 40; ++i) {
    poller.Poll([&](const Tagged& t, int64_t, bool) {
      seen[t.producer].push_back(t.n);
    });
  }
  return seen;
}

TEST(ShardedRingOptionsTest, BadValuesAreNamed) {
  ShardedRingOptions options;
  options.max_producers = 0;
  EXPECT_THAT(Ring::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_producers 0")));
  options.max_producers = kMaxShards + 1;
  EXPECT_THAT(Ring::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_producers 257")));
  options.max_producers = 4;
  options.shard.capacity = 12;
  EXPECT_THAT(Ring::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("capacity 12 is not a power of two")));
  options.shard.capacity = 8;
  options.shard.name = std::string(30, 'n');
  EXPECT_THAT(Ring::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has 30 characters")));
  options.shard.name = "bad name";
  EXPECT_THAT(
      Ring::Create(options).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad name")));
}

TEST(ShardedRingTest, EachProducerOwnsASingleProducerShard) {
  auto ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(auto a, ring->RegisterProducer());
  ASSERT_OK_AND_ASSIGN(auto b, ring->RegisterProducer());
  EXPECT_EQ(a.index(), 0);
  EXPECT_EQ(b.index(), 1);
  EXPECT_EQ(a->options().producer_type, ProducerType::kSingle);
  EXPECT_EQ(a->options().name, "orders.0");
  EXPECT_EQ(b->options().name, "orders.1");
  EXPECT_EQ(a->capacity(), 8);
  EXPECT_EQ(ring->ShardCount(), 2);
}

TEST(ShardedRingTest, TooManyProducersIsResourceExhausted) {
  auto ring = MakeRing(8, 2);
  ASSERT_OK_AND_ASSIGN(auto a, ring->RegisterProducer());
  ASSERT_OK_AND_ASSIGN(auto b, ring->RegisterProducer());
  EXPECT_THAT(ring->RegisterProducer().status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("all 2 shards in use")));
  // No consumer holds a's shard: dropping it frees it at once.
  a.Reset();
  EXPECT_EQ(ring->ShardCount(), 1);
  ASSERT_OK_AND_ASSIGN(auto c, ring->RegisterProducer());
  EXPECT_EQ(c.index(), 0);
}

TEST(ShardedRingTest, AThrowingEventFactoryLeavesTheIndexFree) {
  ShardedRingOptions options;
  options.shard.capacity = 4;
  options.max_producers = 1;
  int calls = 0;
  auto ring = Ring::Create(options, [&calls] {
    if (++calls == 3) throw std::runtime_error("no memory");
    return Tagged{};
  });
  ASSERT_OK(ring.status());
  EXPECT_THAT((*ring)->RegisterProducer().status(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("event factory threw at slot 2")));
  // The only index is free again: the next registration gets it.
  ASSERT_OK_AND_ASSIGN(auto producer, (*ring)->RegisterProducer());
  EXPECT_EQ(producer.index(), 0);
}

TEST(ShardedRingDeathTest, DestroyingTheRingUnderALiveProducerAbortsNamingIt) {
  EXPECT_DEATH(
      {
        auto ring = MakeRing();
        auto producer = ring->RegisterProducer();
        ring.reset();
      },
      "ShardedRing 'orders' destroyed while its ShardProducer of shard 0 is "
      "still registered");
  EXPECT_DEATH(
      {
        auto ring = MakeRing();
        auto poller = Poller::Create(*ring);
        ring.reset();
      },
      "its consumer 0 is still registered");
}

TEST(ShardedRingTest, PollerSeesEveryProducerInItsOrder) {
  auto ring = MakeRing(8, 4);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  std::vector<ShardProducer<Tagged>> producers;
  for (int p = 0; p < 3; ++p) {
    ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
    producers.push_back(std::move(producer));
  }
  // Interleaved: 0 gets 5, 1 gets 2, 2 gets 7 (within capacity 8).
  Publish(producers[0], 0, 0, 5);
  Publish(producers[1], 1, 0, 2);
  Publish(producers[2], 2, 0, 7);
  auto seen = Drain(*poller);
  EXPECT_THAT(seen[0], ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(seen[1], ElementsAre(0, 1));
  EXPECT_THAT(seen[2], ElementsAre(0, 1, 2, 3, 4, 5, 6));
  // A shard laps: the poller's sequence gates its producer.
  Publish(producers[1], 1, 2, 8);
  EXPECT_FALSE(producers[1]->TryPublishEvent([](Tagged&, int64_t) {}));
  seen = Drain(*poller);
  EXPECT_THAT(seen[1], ElementsAre(2, 3, 4, 5, 6, 7, 8, 9));
  Publish(producers[1], 1, 10, 8);  // room again after the poll
}

TEST(ShardedRingTest, ADroppedProducersEventsAreDeliveredThenTheShardIsFreed) {
  auto ring = MakeRing(8, 2);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  {
    ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
    Publish(producer, 7, 0, 6);
  }                                  // dropped with 6 events unread
  EXPECT_EQ(ring->ShardCount(), 1);  // held: the poller has not read them
  auto seen = Drain(*poller);
  EXPECT_THAT(seen[7], ElementsAre(0, 1, 2, 3, 4, 5));
  EXPECT_EQ(ring->ShardCount(), 0);  // drained: freed
  EXPECT_EQ(poller->ShardCount(), 0);
  // The index is reused by the next producer, whose events all arrive.
  ASSERT_OK_AND_ASSIGN(auto next, ring->RegisterProducer());
  EXPECT_EQ(next.index(), 0);
  Publish(next, 8, 0, 3);
  seen = Drain(*poller);
  EXPECT_THAT(seen[8], ElementsAre(0, 1, 2));
  EXPECT_FALSE(seen.contains(7));
}

TEST(ShardedRingTest, ALateConsumerJoinsEachShardAtItsCursor) {
  auto ring = MakeRing(8, 2);
  ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
  Publish(producer, 1, 0, 3);  // no consumer yet: nobody reads these
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  Publish(producer, 1, 3, 2);
  auto seen = Drain(*poller);
  EXPECT_THAT(seen[1], ElementsAre(3, 4));
}

TEST(ShardedRingTest, APipelineStageSeesOnlyWhatItsUpstreamHandled) {
  auto ring = MakeRing(8, 2);
  ASSERT_OK_AND_ASSIGN(auto first, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto second, Poller::Create(*ring, {first.get()}));
  ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
  Publish(producer, 0, 0, 4);
  // The downstream stage is gated until `first` handled the events.
  EXPECT_EQ(second->Poll([](const Tagged&, int64_t, bool) {}),
            PollState::kGating);
  int64_t handled = 0;
  first->Poll([&](const Tagged& t, int64_t, bool) {
    ++handled;
    return t.n < 1;  // stop after n == 1: two handled
  });
  EXPECT_EQ(handled, 2);
  std::vector<int64_t> seen;
  second->Poll([&](const Tagged& t, int64_t, bool) { seen.push_back(t.n); });
  EXPECT_THAT(seen, ElementsAre(0, 1));
}

TEST(ShardedRingTest, UpstreamOfAnotherRingIsRefused) {
  auto ring = MakeRing();
  auto other = MakeRing();
  ASSERT_OK_AND_ASSIGN(auto stage, Poller::Create(*other));
  EXPECT_THAT(
      Poller::Create(*ring, {stage.get()}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("another ring")));
}

TEST(ShardedRingTest, TooManyConsumersIsResourceExhausted) {
  auto ring = MakeRing(8, 2, 1);
  ASSERT_OK_AND_ASSIGN(auto only, Poller::Create(*ring));
  EXPECT_THAT(Poller::Create(*ring).status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("1 consumers registered")));
}

TEST(ShardedRingTest, LeasesComeFromEachShardInOrder) {
  auto ring = MakeRing(8, 2);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto a, ring->RegisterProducer());
  ASSERT_OK_AND_ASSIGN(auto b, ring->RegisterProducer());
  Publish(a, 0, 0, 2);
  Publish(b, 1, 0, 2);
  std::map<int64_t, std::vector<int64_t>> seen;
  for (int i = 0; i < 4; ++i) {
    auto lease = poller->TryLease();
    ASSERT_TRUE(lease.has_value()) << i;
    seen[(*lease)->producer].push_back((*lease)->n);
  }
  EXPECT_FALSE(poller->TryLease().has_value());
  EXPECT_THAT(seen[0], ElementsAre(0, 1));
  EXPECT_THAT(seen[1], ElementsAre(0, 1));
  // A batch lease takes one shard's run.
  Publish(a, 0, 2, 3);
  auto batch = poller->TryLeaseBatch(8);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->size(), 3);
}

TEST(ShardedRingTest, CloseRefusesProducersAndClaimsReopenAcceptsThem) {
  auto ring = MakeRing(8, 2);
  ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
  ring->Close();
  EXPECT_TRUE(ring->IsClosed());
  EXPECT_FALSE(producer->TryPublishEvent([](Tagged&, int64_t) {}));
  EXPECT_THAT(ring->RegisterProducer().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("'orders' is closed")));
  ring->Reopen();
  EXPECT_TRUE(producer->TryPublishEvent([](Tagged&, int64_t) {}));
  ASSERT_OK(ring->RegisterProducer().status());
  ring->Halt();
  EXPECT_TRUE(ring->IsHalted());
  ring->Reopen();  // never after Halt
  EXPECT_TRUE(ring->IsClosed());
  EXPECT_FALSE(producer->TryPublishEvent([](Tagged&, int64_t) {}));
}

TEST(ShardedRingTest, WaitReturnsWhenAShardHasEventsAndOnAlert) {
  auto ring = MakeRing(8, 2);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
  Publish(producer, 0, 0, 1);
  EXPECT_TRUE(poller->Wait().ok());
  EXPECT_EQ(poller->Poll([](const Tagged&, int64_t, bool) {}),
            PollState::kProcessing);
  poller->Alert();
  EXPECT_EQ(poller->Wait().status, WaitStatus::kAlerted);
  poller->ClearAlert();
}

}  // namespace
}  // namespace ringflow
