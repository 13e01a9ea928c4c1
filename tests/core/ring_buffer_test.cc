// Single-threaded tests for RingBuffer, for both producer types: claims and
// publishes across the wrap-around boundaries, full-ring behaviour of the
// Try* calls, bad claim sizes, Halt, the cursor and remaining capacity, the
// barrier's view of what was published, and event object lifetimes.
//
// The test thread plays producer and consumer in turn: it publishes, then
// reads through a SequenceBarrier and releases its consumer sequence.
// Multi-threaded behaviour is in ring_buffer_concurrent_test.cc.

#include "ringflow/core/ring_buffer.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_result.h"
#include "support/core_test_util.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::core_testing::kProducerTypes;
using ::ringflow::core_testing::ProducerTypeParamName;
using ::ringflow::testing::IsOk;

using Ring = RingBuffer<int64_t>;

// What the producer writes for `sequence`: distinct for every sequence, so
// a slot holding another lap's event reads as the wrong value.
constexpr int64_t ValueFor(int64_t sequence) { return sequence * 7 + 3; }

void FillValue(int64_t& event, int64_t sequence) noexcept {
  event = ValueFor(sequence);
}

// Counts every construction and destruction. Single-threaded tests only.
struct Counts {
  int default_constructed = 0;
  int value_constructed = 0;
  int copied = 0;
  int moved = 0;
  int destroyed = 0;
  int Constructed() const {
    return default_constructed + value_constructed + copied + moved;
  }
  int Live() const { return Constructed() - destroyed; }
};

Counts lifetime_counts;

class CountingEvent {
 public:
  CountingEvent() { ++lifetime_counts.default_constructed; }
  explicit CountingEvent(int64_t value) : value_(value) {
    ++lifetime_counts.value_constructed;
  }
  CountingEvent(const CountingEvent& other) : value_(other.value_) {
    ++lifetime_counts.copied;
  }
  CountingEvent(CountingEvent&& other) noexcept : value_(other.value_) {
    ++lifetime_counts.moved;
  }
  CountingEvent& operator=(const CountingEvent&) = default;
  CountingEvent& operator=(CountingEvent&&) = default;
  ~CountingEvent() { ++lifetime_counts.destroyed; }

  int64_t value() const { return value_; }
  void set_value(int64_t value) { value_ = value; }

 private:
  int64_t value_ = -1;
};

class RingBufferTest : public ::testing::TestWithParam<ProducerType> {
 protected:
  void SetUp() override { lifetime_counts = Counts{}; }

  RingOptions Options(int64_t capacity) const {
    return RingOptions{.capacity = capacity,
                       .producer_type = GetParam(),
                       .wait_strategy = WaitStrategyKind::kBusySpin,
                       .max_consumers = 4};
  }
};

// Reads everything published after `consumer`'s sequence through `barrier`,
// checks each value, releases the sequence and returns how many it read.
int64_t Drain(Ring& ring, SequenceBarrier& barrier, Sequence& consumer) {
  const int64_t next = consumer.LoadRelaxed() + 1;
  const int64_t available = barrier.Available(next);
  for (int64_t s = next; s <= available; ++s) {
    EXPECT_EQ(ring[s], ValueFor(s)) << "sequence " << s;
  }
  if (available >= next) consumer.StoreRelease(available);
  return std::max<int64_t>(0, available - next + 1);
}

// Publishes `total` events one at a time with TryPublishEvent, draining the
// ring whenever it is full, and checks that each round fits exactly
// `capacity` events (the last round fewer).
void PublishAndConsume(Ring& ring, SequenceBarrier& barrier, Sequence& consumer,
                       int64_t total) {
  int64_t published = 0;
  int64_t consumed = 0;
  while (published < total) {
    int64_t round = 0;
    while (published < total && ring.TryPublishEvent(FillValue)) {
      ++published;
      ++round;
    }
    if (published < total) {
      ASSERT_EQ(round, ring.capacity()) << "after " << published;
    }
    const int64_t read = Drain(ring, barrier, consumer);
    ASSERT_EQ(read, round) << "after " << published;
    consumed += read;
  }
  EXPECT_EQ(consumed, total);
  EXPECT_EQ(consumer.LoadAcquire(), total - 1);
}

TEST_P(RingBufferTest, WrapsAroundAtCapacityBoundaries) {
  for (const int64_t capacity : {1, 2, 8, 64}) {
    for (const int64_t total :
         {capacity - 1, capacity, capacity + 1, 2 * capacity - 1, 2 * capacity,
          2 * capacity + 1, 37 * capacity + 5}) {
      if (total == 0) continue;
      SCOPED_TRACE(::testing::Message()
                   << "capacity " << capacity << ", events " << total);
      ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(capacity)));
      ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                           ring->RegisterConsumer());
      const auto barrier = ring->NewBarrier();
      ASSERT_NO_FATAL_FAILURE(
          PublishAndConsume(*ring, *barrier, consumer.sequence(), total));
      EXPECT_EQ(ring->Cursor(), total - 1);
    }
  }
}

TEST_P(RingBufferTest, WrapsAroundWithBatchClaims) {
  constexpr int64_t kCapacity = 8;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(kCapacity)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier();

  // Batch sizes that end on, just before and just after the lap boundary,
  // through each of the batch claim APIs.
  int64_t expected_hi = -1;
  for (int round = 0; round < 40; ++round) {
    const int64_t n = 1 + (round * 3) % kCapacity;  // 1..8
    switch (round % 3) {
      case 0: {
        const std::optional<int64_t> hi = ring->Next(n);
        ASSERT_TRUE(hi.has_value());
        for (int64_t s = *hi - n + 1; s <= *hi; ++s) (*ring)[s] = ValueFor(s);
        ring->Publish(*hi - n + 1, *hi);
        break;
      }
      case 1:
        ASSERT_TRUE(ring->PublishEvents(n, FillValue));
        break;
      case 2:
        ASSERT_TRUE(ring->TryPublishEvents(n, FillValue));
        break;
    }
    expected_hi += n;
    EXPECT_EQ(ring->Cursor(), expected_hi);
    EXPECT_EQ(Drain(*ring, *barrier, consumer.sequence()), n);
  }
}

TEST_P(RingBufferTest, ClaimsTheWholeRingInOneBatch) {
  constexpr int64_t kCapacity = 16;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(kCapacity)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier();
  for (int lap = 0; lap < 3; ++lap) {
    ASSERT_TRUE(ring->PublishEvents(kCapacity, FillValue));
    EXPECT_EQ(ring->RemainingCapacity(), 0);
    EXPECT_FALSE(ring->TryNext().has_value());
    EXPECT_EQ(Drain(*ring, *barrier, consumer.sequence()), kCapacity);
    EXPECT_EQ(ring->RemainingCapacity(), kCapacity);
  }
}

TEST_P(RingBufferTest, TryNextOnFullRingReturnsEmptyAtOnce) {
  constexpr int64_t kCapacity = 4;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(kCapacity)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  for (int64_t i = 0; i < kCapacity; ++i) {
    ASSERT_TRUE(ring->TryPublishEvent(FillValue));
  }
  EXPECT_EQ(ring->try_next_failures(), 0u);

  // The consumer never advanced: nothing more fits, and nothing waits.
  EXPECT_EQ(ring->TryNext(), std::nullopt);
  EXPECT_EQ(ring->try_next_failures(), 1u);
  int fills = 0;
  EXPECT_FALSE(ring->TryPublishEvent([&](int64_t&, int64_t) { ++fills; }));
  EXPECT_FALSE(ring->TryPublishEvents(1, [&](int64_t&, int64_t) { ++fills; }));
  EXPECT_EQ(fills, 0);
  EXPECT_EQ(ring->try_next_failures(), 3u);
  EXPECT_EQ(ring->Cursor(), kCapacity - 1);
  EXPECT_EQ(ring->full_waits(), 0u);

  // The consumer is done with sequence 0: exactly one slot frees up.
  consumer.sequence().StoreRelease(0);
  EXPECT_EQ(ring->RemainingCapacity(), 1);
  EXPECT_EQ(ring->TryNext(2), std::nullopt);
  const std::optional<int64_t> claimed = ring->TryNext();
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(*claimed, kCapacity);
  (*ring)[*claimed] = ValueFor(*claimed);
  ring->Publish(*claimed);
  EXPECT_EQ(ring->TryNext(), std::nullopt);
  EXPECT_EQ(ring->try_next_failures(), 5u);

  // The overwritten slot holds the new lap's event.
  EXPECT_EQ((*ring)[0], ValueFor(kCapacity));
}

TEST_P(RingBufferTest, TryNextClaimsOnlyWhenTheWholeBatchFits) {
  constexpr int64_t kCapacity = 8;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(kCapacity)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  ASSERT_TRUE(ring->TryPublishEvents(5, FillValue));
  EXPECT_EQ(ring->RemainingCapacity(), 3);
  EXPECT_EQ(ring->TryNext(4), std::nullopt);
  int fills = 0;
  EXPECT_FALSE(ring->TryPublishEvents(4, [&](int64_t&, int64_t) { ++fills; }));
  EXPECT_EQ(fills, 0);
  const std::optional<int64_t> hi = ring->TryNext(3);
  ASSERT_TRUE(hi.has_value());
  EXPECT_EQ(*hi, 7);
}

TEST_P(RingBufferTest, ClaimsOutsideOneToCapacityFailWithoutWaiting) {
  constexpr int64_t kCapacity = 8;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(kCapacity)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  int fills = 0;
  const auto count_fill = [&](int64_t&, int64_t) { ++fills; };
  for (const int64_t n : {int64_t{0}, int64_t{-1}, kCapacity + 1,
                          int64_t{1} << 40, INT64_MIN, INT64_MAX}) {
    SCOPED_TRACE(n);
    EXPECT_EQ(ring->Next(n), std::nullopt);
    EXPECT_EQ(ring->TryNext(n), std::nullopt);
    EXPECT_FALSE(ring->PublishEvents(n, count_fill));
    EXPECT_FALSE(ring->TryPublishEvents(n, count_fill));
  }
  EXPECT_EQ(fills, 0);
  // Nothing was claimed: the whole ring is still free.
  EXPECT_EQ(ring->Cursor(), kInitialSequence);
  EXPECT_EQ(ring->RemainingCapacity(), kCapacity);
  EXPECT_EQ(ring->Next(kCapacity), kCapacity - 1);
}

TEST_P(RingBufferTest, ClaimLargerThanCapacityFailsEvenWhenRingIsFull) {
  // A too-large claim on a full ring must not wait for space that can never
  // come.
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(4)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  ASSERT_TRUE(ring->PublishEvents(4, FillValue));
  EXPECT_EQ(ring->Next(5), std::nullopt);
  EXPECT_FALSE(ring->PublishEvents(5, FillValue));
  EXPECT_EQ(ring->full_waits(), 0u);
}

TEST_P(RingBufferTest, WithoutConsumersNothingGatesTheProducer) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(4)));
  for (int64_t i = 0; i < 100; ++i) {
    ASSERT_TRUE(ring->TryPublishEvent(FillValue)) << i;
  }
  EXPECT_EQ(ring->Cursor(), 99);
  EXPECT_EQ(ring->RemainingCapacity(), 4);
  EXPECT_EQ(ring->full_waits(), 0u);
  EXPECT_EQ(ring->try_next_failures(), 0u);
}

TEST_P(RingBufferTest, EveryClaimFailsAfterHalt) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  EXPECT_FALSE(ring->IsHalted());
  EXPECT_FALSE(ring->IsClosed());
  ring->Halt();
  EXPECT_TRUE(ring->IsHalted());
  EXPECT_TRUE(ring->IsClosed());
  // The ring has free space, and still nothing is claimed.
  int fills = 0;
  const auto count_fill = [&](int64_t&, int64_t) { ++fills; };
  EXPECT_EQ(ring->Next(), std::nullopt);
  EXPECT_EQ(ring->TryNext(), std::nullopt);
  EXPECT_FALSE(ring->PublishEvent(count_fill));
  EXPECT_FALSE(ring->TryPublishEvent(count_fill));
  EXPECT_FALSE(ring->PublishEvents(2, count_fill));
  EXPECT_FALSE(ring->TryPublishEvents(2, count_fill));
  EXPECT_EQ(fills, 0);
  EXPECT_EQ(ring->Cursor(), kInitialSequence);
}

TEST_P(RingBufferTest, EveryClaimFailsAfterClose) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  ASSERT_TRUE(ring->PublishEvent(FillValue));
  ring->Close();
  EXPECT_TRUE(ring->IsClosed());
  EXPECT_FALSE(ring->IsHalted());
  int fills = 0;
  const auto count_fill = [&](int64_t&, int64_t) { ++fills; };
  EXPECT_EQ(ring->Next(), std::nullopt);
  EXPECT_EQ(ring->TryNext(), std::nullopt);
  EXPECT_FALSE(ring->PublishEvent(count_fill));
  EXPECT_FALSE(ring->TryPublishEvent(count_fill));
  EXPECT_FALSE(ring->PublishEvents(2, count_fill));
  EXPECT_FALSE(ring->TryPublishEvents(2, count_fill));
  EXPECT_EQ(fills, 0);
  // What was published before the close stays readable.
  EXPECT_EQ(ring->Cursor(), 0);
  EXPECT_EQ(ring->NewBarrier()->Available(0), 0);
  EXPECT_EQ((*ring)[0], ValueFor(0));
}

TEST_P(RingBufferTest, HaltAfterCloseHaltsAndCloseNeverReopens) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  ring->Close();
  ring->Halt();
  EXPECT_TRUE(ring->IsHalted());
  ring->Close();
  EXPECT_TRUE(ring->IsHalted());
  EXPECT_TRUE(ring->IsClosed());
  EXPECT_EQ(ring->TryNext(), std::nullopt);
}

TEST_P(RingBufferTest, NextOnFullHaltedRingReturnsEmpty) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(4)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  ASSERT_TRUE(ring->PublishEvents(4, FillValue));
  ring->Halt();
  EXPECT_EQ(ring->Next(), std::nullopt);
  EXPECT_FALSE(ring->PublishEvent(FillValue));
  // The events the consumer has not read are intact.
  for (int64_t s = 0; s < 4; ++s) EXPECT_EQ((*ring)[s], ValueFor(s));
}

TEST_P(RingBufferTest, CursorIsPublishedForSingleAndClaimedForMulti) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  const auto barrier = ring->NewBarrier();
  const std::optional<int64_t> claimed = ring->Next(3);
  ASSERT_EQ(claimed, 2);
  if (GetParam() == ProducerType::kSingle) {
    EXPECT_EQ(ring->Cursor(), kInitialSequence);
  } else {
    EXPECT_EQ(ring->Cursor(), 2);
  }
  // Either way nothing is readable before the publish.
  EXPECT_EQ(barrier->Available(0), kInitialSequence);
  for (int64_t s = 0; s <= 2; ++s) (*ring)[s] = ValueFor(s);
  ring->Publish(0, 2);
  EXPECT_EQ(ring->Cursor(), 2);
  EXPECT_EQ(barrier->Available(0), 2);
}

TEST_P(RingBufferTest, RemainingCapacityFollowsTheSlowestConsumer) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle fast,
                       ring->RegisterConsumer());
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle slow,
                       ring->RegisterConsumer());
  EXPECT_EQ(ring->RemainingCapacity(), 8);
  ASSERT_TRUE(ring->PublishEvents(6, FillValue));
  EXPECT_EQ(ring->RemainingCapacity(), 2);
  fast.sequence().StoreRelease(5);
  EXPECT_EQ(ring->RemainingCapacity(), 2);
  slow.sequence().StoreRelease(1);
  EXPECT_EQ(ring->RemainingCapacity(), 4);
}

TEST_P(RingBufferTest, OutOfOrderPublishExposesOnlyContiguousSequences) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  const auto barrier = ring->NewBarrier();
  for (int64_t s = 0; s < 4; ++s) {
    ASSERT_EQ(ring->Next(), s);
    (*ring)[s] = ValueFor(s);
  }
  ring->Publish(0);
  ring->Publish(1);
  ring->Publish(3);
  if (GetParam() == ProducerType::kSingle) {
    // The one producer publishes in claim order: publishing 3 publishes
    // everything up to 3.
    EXPECT_EQ(barrier->Available(0), 3);
    EXPECT_TRUE(ring->published_cursor().IsPublished(2));
    return;
  }
  // Sequence 2 is claimed but not published: the barrier stops before it,
  // whatever sequence it starts scanning from.
  EXPECT_EQ(barrier->Available(0), 1);
  EXPECT_EQ(barrier->Published(0), 1);
  EXPECT_EQ(barrier->Available(2), 1);
  EXPECT_TRUE(ring->published_cursor().IsPublished(3));
  EXPECT_FALSE(ring->published_cursor().IsPublished(2));
  ring->Publish(2);
  EXPECT_EQ(barrier->Available(0), 3);
  EXPECT_EQ(barrier->WaitFor(2).available, 3);
}

TEST_P(RingBufferTest, WaitForReturnsHighestAvailableSequence) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(16)));
  const auto barrier = ring->NewBarrier();
  ASSERT_TRUE(ring->PublishEvents(10, FillValue));
  const WaitResult result = barrier->WaitFor(3);
  EXPECT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_TRUE(result.ok());
  // The batch: everything published, more than was asked for.
  EXPECT_EQ(result.available, 9);
  EXPECT_EQ(barrier->WaitFor(9).available, 9);
  // Nothing new past the end.
  EXPECT_EQ(barrier->Available(10), 9);
}

TEST_P(RingBufferTest, DependentBarrierDoesNotPassUpstreamSequence) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(16)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle upstream,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier({&upstream.sequence()});
  ASSERT_EQ(barrier->dependents().size(), 1u);
  ASSERT_TRUE(ring->PublishEvents(10, FillValue));

  // Published up to 9, but upstream has done nothing yet.
  EXPECT_EQ(barrier->Published(0), 9);
  EXPECT_EQ(barrier->Available(0), kInitialSequence);

  upstream.sequence().StoreRelease(4);
  EXPECT_EQ(barrier->WaitFor(2).available, 4);
  EXPECT_EQ(barrier->Available(5), 4);

  upstream.sequence().StoreRelease(9);
  EXPECT_EQ(barrier->WaitFor(5).available, 9);
}

TEST_P(RingBufferTest, BarrierGatesOnEveryDependent) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(16)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle a,
                       ring->RegisterConsumer());
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle b,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier({&a.sequence(), &b.sequence()});
  ASSERT_TRUE(ring->PublishEvents(10, FillValue));
  a.sequence().StoreRelease(8);
  b.sequence().StoreRelease(3);
  EXPECT_EQ(barrier->WaitFor(0).available, 3);
  b.sequence().StoreRelease(9);
  EXPECT_EQ(barrier->WaitFor(4).available, 8);
}

TEST_P(RingBufferTest, AlertedBarrierReturnsAlertedUntilCleared) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  const auto barrier = ring->NewBarrier();
  ASSERT_TRUE(ring->PublishEvent(FillValue));
  barrier->Alert();
  EXPECT_TRUE(barrier->IsAlerted());
  // Alerted even though the sequence is available: halt wins.
  EXPECT_EQ(barrier->WaitFor(0).status, WaitStatus::kAlerted);
  EXPECT_FALSE(barrier->WaitFor(0).ok());
  barrier->ClearAlert();
  EXPECT_FALSE(barrier->IsAlerted());
  const WaitResult result = barrier->WaitFor(0);
  EXPECT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_EQ(result.available, 0);
}

TEST_P(RingBufferTest, SlotsViewMapsSequencesOntoTheSameEvents) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(4)));
  ASSERT_TRUE(ring->PublishEvents(4, FillValue));
  const RingSlots<int64_t> slots = ring->slots();
  const RingSlots<const int64_t> read_only = slots;
  EXPECT_EQ(slots.capacity(), 4);
  for (int64_t s = 0; s < 12; ++s) {
    EXPECT_EQ(&slots[s], &(*ring)[s]);
    EXPECT_EQ(&read_only[s], &(*ring)[s % 4]);
  }
  EXPECT_EQ(read_only[6], ValueFor(2));
}

TEST_P(RingBufferTest, PublishEventPublishesTheSlotWhenFillThrows) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  const auto barrier = ring->NewBarrier();
  EXPECT_THROW(ring->PublishEvent([](int64_t& event, int64_t) {
    event = 99;
    throw std::runtime_error("fill failed");
  }),
               std::runtime_error);
  // The claimed slot was published anyway, so consumers do not stall on it.
  EXPECT_EQ(barrier->Available(0), 0);
  EXPECT_EQ((*ring)[0], 99);
  ASSERT_TRUE(ring->PublishEvent(FillValue));
  EXPECT_EQ(barrier->Available(0), 1);

  // A batch is published whole even when a fill in its middle throws.
  int calls = 0;
  EXPECT_THROW(ring->PublishEvents(3,
                                   [&](int64_t&, int64_t) {
                                     if (++calls == 2) {
                                       throw std::runtime_error("second");
                                     }
                                   }),
               std::runtime_error);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(barrier->Available(0), 4);
}

// ---- object lifetimes
// --------------------------------------------------------

TEST_P(RingBufferTest, CreateDefaultConstructsExactlyCapacityEvents) {
  {
    ASSERT_OK_AND_ASSIGN(auto ring,
                         RingBuffer<CountingEvent>::Create(Options(16)));
    EXPECT_EQ(lifetime_counts.default_constructed, 16);
    EXPECT_EQ(lifetime_counts.Constructed(), 16);
    EXPECT_EQ(lifetime_counts.destroyed, 0);

    // Publishing reuses the events in place: no construction, no copy.
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(ring->PublishEvent(
          [](CountingEvent& event, int64_t s) { event.set_value(s); }));
    }
    EXPECT_EQ(lifetime_counts.Constructed(), 16);
    EXPECT_EQ(lifetime_counts.destroyed, 0);
    EXPECT_EQ((*ring)[39].value(), 39);
  }
  EXPECT_EQ(lifetime_counts.destroyed, 16);
  EXPECT_EQ(lifetime_counts.Live(), 0);
}

TEST_P(RingBufferTest, CreateWithFactoryCallsItOncePerSlot) {
  int factory_calls = 0;
  {
    ASSERT_OK_AND_ASSIGN(
        auto ring,
        RingBuffer<CountingEvent>::Create(Options(8), [&factory_calls] {
          return CountingEvent(100 + factory_calls++);
        }));
    EXPECT_EQ(factory_calls, 8);
    EXPECT_EQ(lifetime_counts.value_constructed, 8);
    EXPECT_EQ(lifetime_counts.Constructed(), 8);
    EXPECT_EQ(lifetime_counts.destroyed, 0);
    for (int64_t s = 0; s < 8; ++s) EXPECT_EQ((*ring)[s].value(), 100 + s);
  }
  EXPECT_EQ(lifetime_counts.destroyed, 8);
  EXPECT_EQ(lifetime_counts.Live(), 0);
}

TEST_P(RingBufferTest, FailedCreateConstructsNothing) {
  int factory_calls = 0;
  const auto ring =
      RingBuffer<CountingEvent>::Create(Options(6), [&factory_calls] {
        ++factory_calls;
        return CountingEvent();
      });
  EXPECT_FALSE(ring.ok());
  EXPECT_EQ(factory_calls, 0);
  EXPECT_EQ(lifetime_counts.Constructed(), 0);
  EXPECT_EQ(lifetime_counts.destroyed, 0);
}

// Regression for a fixed library bug, as it was: RingBuffer::Create
// (ring_buffer.h) constructs the events in AllocateEvents after the ring object
// exists; when the factory (or E's constructor) throws at slot k, the
// unique_ptr destroys the ring and ~RingBuffer runs ~E on all `capacity` slots,
// k of which were never constructed (undefined behaviour: here 8 destructions
// for 2 constructions). A throwing factory is a setup error: Create returns
// Internal naming the slot, and only the events already built are destroyed.
TEST_P(RingBufferTest, ThrowingFactoryDestroysOnlyConstructedEvents) {
  int factory_calls = 0;
  {
    const auto ring =
        RingBuffer<CountingEvent>::Create(Options(8), [&factory_calls] {
          if (++factory_calls == 3) throw std::runtime_error("no more events");
          return CountingEvent(1);
        });
    EXPECT_THAT(ring,
                ::ringflow::testing::StatusIs(
                    absl::StatusCode::kInternal,
                    ::testing::AllOf(::testing::HasSubstr("slot 2"),
                                     ::testing::HasSubstr("no more events"))));
  }
  EXPECT_EQ(lifetime_counts.Constructed(), 2);
  EXPECT_EQ(lifetime_counts.destroyed, 2);
}

INSTANTIATE_TEST_SUITE_P(ProducerTypes, RingBufferTest,
                         ::testing::ValuesIn(kProducerTypes),
                         [](const ::testing::TestParamInfo<ProducerType>& p) {
                           return ProducerTypeParamName(p.param);
                         });

}  // namespace
}  // namespace ringflow
