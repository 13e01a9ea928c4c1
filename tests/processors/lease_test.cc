// Tests for Lease and LeaseBatch (EventPoller::TryLease / TryLeaseBatch):
// zero-copy access to the ring slot, one lease at a time, move-only
// ownership, and the guarantee that a live lease keeps the producer off
// its slots. Leases across threads: event_poller_concurrent_test.cc.

#include "ringflow/processors/lease.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/event_poller.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::testing::PublishValues;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;

using Ring = RingBuffer<TestEvent>;
using Poller = EventPoller<TestEvent>;

static_assert(!std::is_copy_constructible_v<Lease<TestEvent>> &&
                  !std::is_copy_assignable_v<Lease<TestEvent>>,
              "leases are move-only");
static_assert(std::is_nothrow_move_constructible_v<Lease<TestEvent>>);
static_assert(!std::is_copy_constructible_v<LeaseBatch<TestEvent>> &&
                  !std::is_copy_assignable_v<LeaseBatch<TestEvent>>,
              "lease batches are move-only");
static_assert(std::is_same_v<decltype(*std::declval<Lease<TestEvent>&>()),
                             const TestEvent&>,
              "a lease reads, never writes, the slot");

std::unique_ptr<Ring> MakeRing(
    int64_t capacity, ProducerType producer_type = ProducerType::kSingle) {
  auto ring =
      Ring::Create({.capacity = capacity, .producer_type = producer_type});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

// Claims one slot without waiting and publishes ValueOf(seq) in it.
// Returns the sequence, or empty when the ring is full.
std::optional<int64_t> TryPublishOne(Ring& ring) {
  const std::optional<int64_t> seq = ring.TryNext();
  if (!seq) return std::nullopt;
  ring[*seq].value = ValueOf(*seq);
  ring.Publish(*seq);
  return seq;
}

TEST(LeaseTest, TryLeaseOnAnEmptyRingIsEmpty) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  EXPECT_FALSE(poller->TryLease().has_value());
  EXPECT_FALSE(poller->TryLeaseBatch(4).has_value());
  // Nothing is held: once an event arrives it can be leased.
  ASSERT_TRUE(PublishValues(*ring, 1));
  EXPECT_TRUE(poller->TryLease().has_value());
}

TEST(LeaseTest, LeaseRefersToTheEventInItsRingSlot) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 2));
  std::optional<Lease<TestEvent>> lease = poller->TryLease();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->sequence(), 0);
  EXPECT_EQ(&**lease, &(*ring)[0]);  // no copy: the slot itself
  EXPECT_EQ(lease->operator->(), &(*ring)[0]);
  EXPECT_EQ((*lease)->value, ValueOf(0));
  // Held: the sequence stays before the leased event until release.
  EXPECT_EQ(poller->sequence().LoadAcquire(), -1);
  lease.reset();
  EXPECT_EQ(poller->sequence().LoadAcquire(), 0);

  lease = poller->TryLease();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->sequence(), 1);
  EXPECT_EQ(&**lease, &(*ring)[1]);
  EXPECT_EQ((*lease)->value, ValueOf(1));
}

TEST(LeaseTest, OnlyOneLeaseAtATime) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 3));
  std::optional<Lease<TestEvent>> first = poller->TryLease();
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(poller->TryLease().has_value());
  EXPECT_FALSE(poller->TryLeaseBatch(2).has_value());
  int polled = 0;
  EXPECT_EQ(poller->Poll([&](const TestEvent&, int64_t, bool) { ++polled; }),
            PollState::kGating);
  EXPECT_EQ(polled, 0);
  EXPECT_EQ(poller->sequence().LoadAcquire(), -1);

  first->Release();
  std::optional<Lease<TestEvent>> second = poller->TryLease();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->sequence(), 1);
}

TEST(LeaseTest, MovingALeaseTransfersOwnership) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 2));
  std::optional<Lease<TestEvent>> original = poller->TryLease();
  ASSERT_TRUE(original.has_value());
  Lease<TestEvent> moved = std::move(*original);
  original.reset();  // the moved-from lease releases nothing
  EXPECT_EQ(poller->sequence().LoadAcquire(), -1);
  EXPECT_FALSE(poller->TryLease().has_value());
  EXPECT_EQ(moved.sequence(), 0);
  EXPECT_EQ(&*moved, &(*ring)[0]);
  EXPECT_EQ(moved->value, ValueOf(0));

  moved.Release();
  EXPECT_EQ(poller->sequence().LoadAcquire(), 0);
  std::optional<Lease<TestEvent>> next = poller->TryLease();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->sequence(), 1);
}

TEST(LeaseTest, MoveAssignmentReleasesTheTargetFirst) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto p1, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto p2, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 1));
  std::optional<Lease<TestEvent>> a = p1->TryLease();
  std::optional<Lease<TestEvent>> b = p2->TryLease();
  ASSERT_TRUE(a.has_value() && b.has_value());

  *a = std::move(*b);  // p1's lease ends here; a now holds p2's
  EXPECT_EQ(p1->sequence().LoadAcquire(), 0);
  EXPECT_EQ(p2->sequence().LoadAcquire(), -1);
  b.reset();  // moved from: nothing
  EXPECT_EQ(p2->sequence().LoadAcquire(), -1);
  EXPECT_FALSE(p2->TryLease().has_value());
  a.reset();
  EXPECT_EQ(p2->sequence().LoadAcquire(), 0);

  // Both pollers can lease again.
  ASSERT_TRUE(PublishValues(*ring, 1));
  EXPECT_TRUE(p1->TryLease().has_value());
  EXPECT_TRUE(p2->TryLease().has_value());
}

TEST(LeaseTest, ReleaseIsIdempotentAndNeverEndsALaterLease) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 3));
  std::optional<Lease<TestEvent>> first = poller->TryLease();
  ASSERT_TRUE(first.has_value());
  first->Release();
  first->Release();
  std::optional<Lease<TestEvent>> second = poller->TryLease();
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->sequence(), 1);
  first->Release();
  first.reset();
  // The second lease is still the live one.
  EXPECT_EQ(poller->sequence().LoadAcquire(), 0);
  EXPECT_FALSE(poller->TryLease().has_value());
  second.reset();
  EXPECT_EQ(poller->sequence().LoadAcquire(), 1);
}

class LeaseGatingTest : public ::testing::TestWithParam<ProducerType> {};

INSTANTIATE_TEST_SUITE_P(
    ProducerTypes, LeaseGatingTest,
    ::testing::Values(ProducerType::kSingle, ProducerType::kMulti),
    [](const ::testing::TestParamInfo<ProducerType>& param_info) {
      return param_info.param == ProducerType::kSingle ? "Single" : "Multi";
    });

TEST_P(LeaseGatingTest, LiveLeaseKeepsTheProducerOffItsSlot) {
  auto ring = MakeRing(4, GetParam());
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_EQ(TryPublishOne(*ring), std::optional<int64_t>(0));
  std::optional<Lease<TestEvent>> lease = poller->TryLease();
  ASSERT_TRUE(lease.has_value());
  ASSERT_EQ(lease->sequence(), 0);

  // The rest of the ring fills up...
  EXPECT_EQ(TryPublishOne(*ring), std::optional<int64_t>(1));
  EXPECT_EQ(TryPublishOne(*ring), std::optional<int64_t>(2));
  EXPECT_EQ(TryPublishOne(*ring), std::optional<int64_t>(3));
  // ...but sequence 4, which reuses the leased slot, cannot be claimed.
  EXPECT_FALSE(ring->TryNext().has_value());
  EXPECT_FALSE(
      ring->TryPublishEvent([](TestEvent& e, int64_t) { e.value = -999; }));
  EXPECT_EQ((*ring)[0].value, ValueOf(0));
  EXPECT_EQ((*lease)->value, ValueOf(0));
  EXPECT_EQ(&**lease, &(*ring)[4]);  // the slot sequence 4 would reuse

  lease.reset();
  EXPECT_EQ(TryPublishOne(*ring), std::optional<int64_t>(4));
  EXPECT_EQ((*ring)[0].value, ValueOf(4));
  EXPECT_FALSE(ring->TryNext().has_value());  // 1 is the next gate
}

TEST_P(LeaseGatingTest, LiveLeaseBatchKeepsTheProducerOffAllItsSlots) {
  auto ring = MakeRing(4, GetParam());
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  for (int64_t s = 0; s < 4; ++s) {
    ASSERT_EQ(TryPublishOne(*ring), std::optional<int64_t>(s));
  }
  {
    std::optional<LeaseBatch<TestEvent>> batch = poller->TryLeaseBatch(2);
    ASSERT_TRUE(batch.has_value());
    ASSERT_EQ(batch->size(), 2);
    EXPECT_FALSE(ring->TryNext().has_value());
  }
  // Both leased slots (sequences 0 and 1) come back at once, no more.
  EXPECT_EQ(TryPublishOne(*ring), std::optional<int64_t>(4));
  EXPECT_EQ(TryPublishOne(*ring), std::optional<int64_t>(5));
  EXPECT_FALSE(ring->TryNext().has_value());
}

TEST(LeaseTest, LeaseBatchCoversTheAvailableEventsUpToMax) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 5));
  std::optional<LeaseBatch<TestEvent>> batch = poller->TryLeaseBatch(3);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->size(), 3);
  EXPECT_EQ(batch->first_sequence(), 0);
  EXPECT_EQ(batch->last_sequence(), 2);
  int64_t expected = 0;
  for (auto it = batch->begin(); it != batch->end(); ++it) {
    EXPECT_EQ(it.sequence(), expected);
    EXPECT_EQ(&*it, &(*ring)[expected]);
    EXPECT_EQ(it->value, ValueOf(expected));
    ++expected;
  }
  EXPECT_EQ(expected, 3);
  std::vector<int64_t> values;
  for (const TestEvent& e : *batch) values.push_back(e.value);
  EXPECT_EQ(values, (std::vector<int64_t>{ValueOf(0), ValueOf(1), ValueOf(2)}));
  for (int64_t i = 0; i < batch->size(); ++i) {
    EXPECT_EQ(&(*batch)[i], &(*ring)[i]);
  }
  // Held as one: no other lease, no sequence movement until release.
  EXPECT_FALSE(poller->TryLease().has_value());
  EXPECT_EQ(poller->sequence().LoadAcquire(), -1);
  batch->Release();
  EXPECT_EQ(poller->sequence().LoadAcquire(), 2);

  // Fewer available than asked: the batch is what is there.
  batch = poller->TryLeaseBatch(10);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->first_sequence(), 3);
  EXPECT_EQ(batch->last_sequence(), 4);
  EXPECT_EQ(batch->size(), 2);
  batch.reset();
  EXPECT_EQ(poller->sequence().LoadAcquire(), 4);
  EXPECT_FALSE(poller->TryLeaseBatch(10).has_value());
}

TEST(LeaseTest, LeaseBatchWithMaxBelowOneIsEmptyAndHoldsNothing) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 3));
  EXPECT_FALSE(poller->TryLeaseBatch(0).has_value());
  EXPECT_FALSE(poller->TryLeaseBatch(-1).has_value());
  std::optional<Lease<TestEvent>> lease = poller->TryLease();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->sequence(), 0);
}

// BUG (processors/include/ringflow/processors/event_poller.h, NextRange:
// `next + max - 1`): a large `max` overflows int64_t (undefined behaviour;
// in practice it wraps negative) once the poller is past sequence 1. With
// max = INT64_MAX at next = 2 the batch becomes [2, INT64_MIN]: size() is
// negative, and releasing it stores INT64_MIN as the poller's sequence, so
// the producer is gated forever. BatchEventProcessor clamps the same sum
// (`std::min(max_batch_size - 1, INT64_MAX - next)`); NextRange does not.
TEST(LeaseTest, LeaseBatchWithHugeMaxCoversWhatIsAvailable) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 5));
  ASSERT_EQ(poller->Poll([](const TestEvent&, int64_t seq, bool) {
    return seq < 1;  // consume 0 and 1
  }),
            PollState::kProcessing);
  ASSERT_EQ(poller->sequence().LoadAcquire(), 1);
  {
    std::optional<LeaseBatch<TestEvent>> batch =
        poller->TryLeaseBatch(std::numeric_limits<int64_t>::max());
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(batch->first_sequence(), 2);
    EXPECT_EQ(batch->last_sequence(), 4);
    EXPECT_EQ(batch->size(), 3);
  }
  EXPECT_EQ(poller->sequence().LoadAcquire(), 4);
  EXPECT_TRUE(ring->TryNext().has_value());
}

TEST(LeaseTest, MovingALeaseBatchTransfersOwnership) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 4));
  std::optional<LeaseBatch<TestEvent>> moved;
  {
    std::optional<LeaseBatch<TestEvent>> original = poller->TryLeaseBatch(4);
    ASSERT_TRUE(original.has_value());
    moved.emplace(std::move(*original));
  }  // the moved-from batch releases nothing
  EXPECT_EQ(poller->sequence().LoadAcquire(), -1);
  EXPECT_FALSE(poller->TryLease().has_value());
  EXPECT_EQ(moved->size(), 4);
  EXPECT_EQ((*moved)[3].value, ValueOf(3));
  moved->Release();
  moved->Release();
  EXPECT_EQ(poller->sequence().LoadAcquire(), 3);
}

TEST(LeaseTest, LeaseWaitsForUpstreamPoller) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto upstream, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto downstream,
                       Poller::Create(*ring, {&upstream->sequence()}));
  ASSERT_TRUE(PublishValues(*ring, 3));
  EXPECT_FALSE(downstream->TryLease().has_value());
  EXPECT_FALSE(downstream->TryLeaseBatch(3).has_value());
  {
    std::optional<LeaseBatch<TestEvent>> up = upstream->TryLeaseBatch(2);
    ASSERT_TRUE(up.has_value());
    // Upstream still holds 0 and 1.
    EXPECT_FALSE(downstream->TryLease().has_value());
  }
  std::optional<LeaseBatch<TestEvent>> down = downstream->TryLeaseBatch(3);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->first_sequence(), 0);
  EXPECT_EQ(down->last_sequence(), 1);  // 2 is not past upstream yet
}

TEST(LeaseTest, PollContinuesAfterTheReleasedLease) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 3));
  poller->TryLease().reset();  // taken and released at once
  std::vector<int64_t> seen;
  EXPECT_EQ(poller->Poll(
                [&](const TestEvent&, int64_t s, bool) { seen.push_back(s); }),
            PollState::kProcessing);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2}));
}

}  // namespace
}  // namespace ringflow
