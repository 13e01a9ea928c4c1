// Tests for ConsumerTable (slot acquisition, release, reuse, the gating
// minimum) and ConsumerHandle (move-only ownership of one slot), on their
// own and through RingBuffer::RegisterConsumer, where a consumer that goes
// away must stop gating the producer.

#include "ringflow/core/internal/consumer_table.h"

#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/gating_view.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "support/core_test_util.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::core_testing::kProducerTypes;
using ::ringflow::testing::IsOk;
using ::ringflow::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

static_assert(core_internal::GatingView<core_internal::ConsumerTable>);
static_assert(!std::is_copy_constructible_v<core_internal::ConsumerHandle>);
static_assert(!std::is_copy_assignable_v<core_internal::ConsumerHandle>);
static_assert(
    std::is_nothrow_move_constructible_v<core_internal::ConsumerHandle>);
static_assert(std::is_nothrow_move_assignable_v<core_internal::ConsumerHandle>);

constexpr int64_t kNoConsumers = std::numeric_limits<int64_t>::max();

TEST(ConsumerTableTest, AcquiresSlotsUpToCapacityThenRefuses) {
  core_internal::ConsumerTable table(3);
  EXPECT_EQ(table.capacity(), 3);
  EXPECT_EQ(table.ActiveCount(), 0);
  for (int expected = 0; expected < 3; ++expected) {
    ASSERT_OK_AND_ASSIGN(const int index, table.Register(10 + expected));
    EXPECT_EQ(index, expected);
  }
  EXPECT_EQ(table.ActiveCount(), 3);
  EXPECT_THAT(table.Register(0),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("3"), HasSubstr("max_consumers"))));
  EXPECT_EQ(table.ActiveCount(), 3);
}

TEST(ConsumerTableTest, AcquireStartsTheSlotAtTheGivenSequence) {
  core_internal::ConsumerTable table(2);
  ASSERT_OK_AND_ASSIGN(const int index, table.Register(41));
  EXPECT_EQ(table.sequence(index).LoadAcquire(), 41);
}

TEST(ConsumerTableTest, ReleaseFreesTheSlotForReuse) {
  core_internal::ConsumerTable table(3);
  ASSERT_OK_AND_ASSIGN(const int a, table.Register(0));
  ASSERT_OK_AND_ASSIGN(const int b, table.Register(0));
  ASSERT_OK_AND_ASSIGN(const int c, table.Register(0));
  table.sequence(b).StoreRelease(99);
  table.Unregister(b);
  EXPECT_EQ(table.ActiveCount(), 2);

  // The freed slot is the one handed out again, re-initialised.
  ASSERT_OK_AND_ASSIGN(const int reused, table.Register(5));
  EXPECT_EQ(reused, b);
  EXPECT_EQ(table.sequence(reused).LoadAcquire(), 5);
  EXPECT_EQ(table.ActiveCount(), 3);
  EXPECT_THAT(table.Register(0),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_NE(a, c);
}

TEST(ConsumerTableTest, MinimumSequenceIsDefaultWithoutActiveSlots) {
  core_internal::ConsumerTable table(4);
  EXPECT_EQ(table.MinimumSequence(77), 77);
  ASSERT_OK_AND_ASSIGN(const int index, table.Register(3));
  EXPECT_EQ(table.MinimumSequence(kNoConsumers), 3);
  table.Unregister(index);
  EXPECT_EQ(table.MinimumSequence(77), 77);
}

TEST(ConsumerTableTest, MinimumSequenceIsTheLowestActiveSlot) {
  core_internal::ConsumerTable table(4);
  ASSERT_OK_AND_ASSIGN(const int a, table.Register(10));
  ASSERT_OK_AND_ASSIGN(const int b, table.Register(3));
  ASSERT_OK_AND_ASSIGN(const int c, table.Register(7));
  EXPECT_EQ(table.MinimumSequence(kNoConsumers), 3);

  table.sequence(b).StoreRelease(12);
  EXPECT_EQ(table.MinimumSequence(kNoConsumers), 7);

  // A released slot no longer counts, whatever its sequence.
  table.sequence(a).StoreRelease(-5);
  table.Unregister(a);
  EXPECT_EQ(table.MinimumSequence(kNoConsumers), 7);
  table.Unregister(c);
  EXPECT_EQ(table.MinimumSequence(kNoConsumers), 12);
  table.Unregister(b);
  EXPECT_EQ(table.MinimumSequence(kNoConsumers), kNoConsumers);
}

TEST(ConsumerTableTest, ForEachActiveVisitsOnlyActiveSlots) {
  core_internal::ConsumerTable table(4);
  ASSERT_OK_AND_ASSIGN(const int a, table.Register(1));
  ASSERT_OK_AND_ASSIGN(const int b, table.Register(2));
  ASSERT_OK_AND_ASSIGN(const int c, table.Register(3));
  table.Unregister(b);
  std::vector<std::pair<int, int64_t>> visited;
  table.ForEachActive([&](int index, const Sequence& sequence) {
    visited.emplace_back(index, sequence.LoadAcquire());
  });
  EXPECT_THAT(visited, ElementsAre(Pair(a, 1), Pair(c, 3)));
}

TEST(ConsumerTableTest, HandleReleasesItsSlotOnDestruction) {
  core_internal::ConsumerTable table(2);
  {
    ASSERT_OK_AND_ASSIGN(const int index, table.Register(4));
    const core_internal::ConsumerHandle handle =
        core_internal::MakeConsumerHandle(table, index);
    EXPECT_TRUE(handle.valid());
    EXPECT_EQ(handle.index(), index);
    EXPECT_EQ(&handle.sequence(), &table.sequence(index));
    EXPECT_EQ(table.ActiveCount(), 1);
  }
  EXPECT_EQ(table.ActiveCount(), 0);
}

TEST(ConsumerTableTest, MovedHandleOwnsTheSlotAlone) {
  core_internal::ConsumerTable table(2);
  ASSERT_OK_AND_ASSIGN(const int index, table.Register(4));
  core_internal::ConsumerHandle original =
      core_internal::MakeConsumerHandle(table, index);
  {
    core_internal::ConsumerHandle moved(std::move(original));
    EXPECT_FALSE(original.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(moved.valid());
    EXPECT_EQ(moved.index(), index);
    // Resetting the moved-from handle frees nothing.
    original.Reset();
    EXPECT_EQ(table.ActiveCount(), 1);
  }
  // The one owner went away: the slot is free.
  EXPECT_EQ(table.ActiveCount(), 0);
}

TEST(ConsumerTableTest, MoveAssignmentReleasesTheOverwrittenSlot) {
  core_internal::ConsumerTable table(2);
  ASSERT_OK_AND_ASSIGN(const int first, table.Register(1));
  ASSERT_OK_AND_ASSIGN(const int second, table.Register(2));
  core_internal::ConsumerHandle a =
      core_internal::MakeConsumerHandle(table, first);
  core_internal::ConsumerHandle b =
      core_internal::MakeConsumerHandle(table, second);
  a = std::move(b);
  EXPECT_EQ(table.ActiveCount(), 1);
  EXPECT_EQ(a.index(), second);
  EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(table.MinimumSequence(kNoConsumers), 2);

  // Self-move leaves the handle and its slot alone.
  core_internal::ConsumerHandle& self = a;
  a = std::move(self);
  EXPECT_TRUE(a.valid());
  EXPECT_EQ(table.ActiveCount(), 1);

  a.Reset();
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(table.ActiveCount(), 0);
  const core_internal::ConsumerHandle empty;
  EXPECT_FALSE(empty.valid());
}

// ---- through RingBuffer
// ------------------------------------------------------

RingOptions Options(ProducerType type, int max_consumers) {
  return RingOptions{.capacity = 4,
                     .producer_type = type,
                     .wait_strategy = WaitStrategyKind::kBusySpin,
                     .max_consumers = max_consumers};
}

TEST(ConsumerTableTest, RingRefusesConsumersBeyondMaxConsumers) {
  ASSERT_OK_AND_ASSIGN(auto ring,
                       RingBuffer<int64_t>::Create(
                           Options(ProducerType::kMulti, /*max_consumers=*/2)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle a,
                       ring->RegisterConsumer());
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle b,
                       ring->RegisterConsumer());
  EXPECT_THAT(ring->RegisterConsumer(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("all 2 consumer slots")));
  b.Reset();
  EXPECT_THAT(ring->RegisterConsumer(), IsOk());
}

TEST(ConsumerTableTest, RegisteredConsumerStartsAtTheCursor) {
  for (const ProducerType type : kProducerTypes) {
    SCOPED_TRACE(ProducerTypeName(type));
    ASSERT_OK_AND_ASSIGN(auto ring,
                         RingBuffer<int64_t>::Create(Options(type, 4)));
    ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle early,
                         ring->RegisterConsumer());
    EXPECT_EQ(early.sequence().LoadAcquire(), kInitialSequence);
    ASSERT_TRUE(ring->PublishEvents(3, [](int64_t& e, int64_t s) { e = s; }));
    ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle late,
                         ring->RegisterConsumer());
    EXPECT_EQ(late.sequence().LoadAcquire(), 2);
    EXPECT_EQ(ring->consumers().ActiveCount(), 2);
  }
}

TEST(ConsumerTableTest, DestroyedConsumerStopsGatingTheProducer) {
  for (const ProducerType type : kProducerTypes) {
    SCOPED_TRACE(ProducerTypeName(type));
    ASSERT_OK_AND_ASSIGN(auto ring,
                         RingBuffer<int64_t>::Create(Options(type, 4)));
    const auto fill = [](int64_t& e, int64_t s) { e = s; };
    {
      ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle stalled,
                           ring->RegisterConsumer());
      ASSERT_TRUE(ring->PublishEvents(4, fill));
      // Full: the stalled consumer has read nothing.
      EXPECT_FALSE(ring->TryPublishEvent(fill));
      EXPECT_EQ(ring->RemainingCapacity(), 0);
    }
    // Gone: the producer may claim past it.
    EXPECT_EQ(ring->consumers().ActiveCount(), 0);
    EXPECT_EQ(ring->RemainingCapacity(), 4);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring->TryPublishEvent(fill));
    EXPECT_EQ(ring->Cursor(), 7);
  }
}

TEST(ConsumerTableTest, ResetConsumerStopsGatingWhileOthersStillGate) {
  for (const ProducerType type : kProducerTypes) {
    SCOPED_TRACE(ProducerTypeName(type));
    ASSERT_OK_AND_ASSIGN(auto ring,
                         RingBuffer<int64_t>::Create(Options(type, 4)));
    const auto fill = [](int64_t& e, int64_t s) { e = s; };
    ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle stalled,
                         ring->RegisterConsumer());
    ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle reader,
                         ring->RegisterConsumer());
    ASSERT_TRUE(ring->PublishEvents(4, fill));
    reader.sequence().StoreRelease(1);
    EXPECT_FALSE(ring->TryPublishEvent(fill));

    stalled.Reset();
    // Now only the reader gates: two slots are free, not four.
    EXPECT_EQ(ring->RemainingCapacity(), 2);
    EXPECT_TRUE(ring->TryPublishEvent(fill));
    EXPECT_TRUE(ring->TryPublishEvent(fill));
    EXPECT_FALSE(ring->TryPublishEvent(fill));
  }
}

}  // namespace
}  // namespace ringflow
