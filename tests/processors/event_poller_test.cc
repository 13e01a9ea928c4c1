// Tests for EventPoller::Poll: its three results, handler early stop and
// exceptions, gating by upstream pollers and of the producer. Leases are in
// lease_test.cc; threads in event_poller_concurrent_test.cc.

#include "ringflow/processors/event_poller.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::testing::PublishValues;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

using Ring = RingBuffer<TestEvent>;
using Poller = EventPoller<TestEvent>;

std::unique_ptr<Ring> MakeRing(
    int64_t capacity, ProducerType producer_type = ProducerType::kSingle,
    int max_consumers = 8) {
  auto ring = Ring::Create({.capacity = capacity,
                            .producer_type = producer_type,
                            .max_consumers = max_consumers});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

// One delivery to a poll handler.
struct Delivery {
  int64_t sequence;
  int64_t value;
  bool end_of_batch;
  bool operator==(const Delivery&) const = default;
};

void PrintTo(const Delivery& d, std::ostream* os) {
  *os << "{seq " << d.sequence << ", value " << d.value << ", end "
      << d.end_of_batch << "}";
}

// Deliveries of events [lo, hi] with values ValueOf(seq), the last one
// flagged end_of_batch.
std::vector<Delivery> Expected(int64_t lo, int64_t hi) {
  std::vector<Delivery> out;
  for (int64_t s = lo; s <= hi; ++s) out.push_back({s, ValueOf(s), s == hi});
  return out;
}

// A bool handler that records and stops after `stop_at` (if set).
auto Recorder(std::vector<Delivery>& out,
              std::optional<int64_t> stop_at = std::nullopt) {
  return [&out, stop_at](const TestEvent& e, int64_t seq, bool end) {
    out.push_back({seq, e.value, end});
    return !(stop_at && seq == *stop_at);
  };
}

TEST(EventPollerTest, PollReturnsIdleOnAnEmptyRing) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll(Recorder(seen)), PollState::kIdle);
  EXPECT_THAT(seen, IsEmpty());
  EXPECT_EQ(poller->sequence().LoadAcquire(), -1);
}

TEST(EventPollerTest, PollHandsEveryAvailableEventAndFlagsTheLast) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 5));
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll(Recorder(seen)), PollState::kProcessing);
  EXPECT_EQ(seen, Expected(0, 4));
  EXPECT_EQ(poller->sequence().LoadAcquire(), 4);
  // Nothing new: idle, and the handler is not called.
  seen.clear();
  EXPECT_EQ(poller->Poll(Recorder(seen)), PollState::kIdle);
  EXPECT_THAT(seen, IsEmpty());
}

TEST(EventPollerTest, PollReturnsGatingWhileAnUpstreamPollerIsBehind) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto upstream, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto downstream,
                       Poller::Create(*ring, {&upstream->sequence()}));
  std::vector<Delivery> up;
  std::vector<Delivery> down;
  EXPECT_EQ(downstream->Poll(Recorder(down)), PollState::kIdle);

  ASSERT_TRUE(PublishValues(*ring, 3));
  EXPECT_EQ(downstream->Poll(Recorder(down)), PollState::kGating);
  EXPECT_THAT(down, IsEmpty());

  // Upstream takes only the first event: downstream gets exactly that one.
  EXPECT_EQ(upstream->Poll(Recorder(up, /*stop_at=*/0)),
            PollState::kProcessing);
  EXPECT_EQ(downstream->Poll(Recorder(down)), PollState::kProcessing);
  EXPECT_EQ(down, Expected(0, 0));
  EXPECT_EQ(downstream->Poll(Recorder(down)), PollState::kGating);

  EXPECT_EQ(upstream->Poll(Recorder(up)), PollState::kProcessing);
  down.clear();
  EXPECT_EQ(downstream->Poll(Recorder(down)), PollState::kProcessing);
  EXPECT_EQ(down, Expected(1, 2));
  EXPECT_EQ(downstream->Poll(Recorder(down)), PollState::kIdle);
  EXPECT_EQ(downstream->sequence().LoadAcquire(), 2);
}

TEST(EventPollerTest, HandlerReturningFalseStopsAfterThatEvent) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 5));
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll(Recorder(seen, /*stop_at=*/1)),
            PollState::kProcessing);
  // Stopped at 1, which was not the end of what was available.
  EXPECT_THAT(seen, ElementsAre(Delivery{0, ValueOf(0), false},
                                Delivery{1, ValueOf(1), false}));
  EXPECT_EQ(poller->sequence().LoadAcquire(), 1);
  seen.clear();
  EXPECT_EQ(poller->Poll(Recorder(seen)), PollState::kProcessing);
  EXPECT_EQ(seen, Expected(2, 4));
}

TEST(EventPollerTest, HandlerReturningFalseOnTheFirstEventConsumesIt) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 3));
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll(Recorder(seen, /*stop_at=*/0)),
            PollState::kProcessing);
  EXPECT_THAT(seen, ElementsAre(Delivery{0, ValueOf(0), false}));
  EXPECT_EQ(poller->sequence().LoadAcquire(), 0);
}

TEST(EventPollerTest, VoidHandlerHandlesEveryAvailableEvent) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 6));
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll([&](const TestEvent& e, int64_t seq, bool end) {
    seen.push_back({seq, e.value, end});
  }),
            PollState::kProcessing);
  EXPECT_EQ(seen, Expected(0, 5));
  EXPECT_EQ(poller->sequence().LoadAcquire(), 5);
}

TEST(EventPollerTest, ThrowingHandlerConsumesEarlierEventsAndPropagates) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 5));
  std::vector<int64_t> seen;
  EXPECT_THROW(poller->Poll([&](const TestEvent&, int64_t seq, bool) {
    seen.push_back(seq);
    if (seq == 2) throw std::runtime_error("poll handler failed");
    return true;
  }),
               std::runtime_error);
  EXPECT_THAT(seen, ElementsAre(0, 1, 2));
  EXPECT_EQ(poller->sequence().LoadAcquire(), 1);
  // The throwing event is delivered again by the next Poll.
  std::vector<Delivery> next;
  EXPECT_EQ(poller->Poll(Recorder(next)), PollState::kProcessing);
  EXPECT_EQ(next, Expected(2, 4));
}

TEST(EventPollerTest, ThrowingOnTheFirstEventConsumesNothing) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 2));
  EXPECT_THROW(poller->Poll([](const TestEvent&, int64_t, bool) -> bool {
    throw std::runtime_error("no");
  }),
               std::runtime_error);
  EXPECT_EQ(poller->sequence().LoadAcquire(), -1);
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll(Recorder(seen)), PollState::kProcessing);
  EXPECT_EQ(seen, Expected(0, 1));
}

TEST(EventPollerTest, PollerGatesTheProducer) {
  auto ring = MakeRing(4);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 4));
  EXPECT_FALSE(ring->TryNext().has_value());  // full: the poller is at -1
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll(Recorder(seen, /*stop_at=*/1)),
            PollState::kProcessing);
  // Two slots were given back, no more.
  EXPECT_EQ(ring->TryNext(), std::optional<int64_t>(4));
  EXPECT_EQ(ring->TryNext(), std::optional<int64_t>(5));
  EXPECT_FALSE(ring->TryNext().has_value());
}

TEST(EventPollerTest, DestroyedPollerStopsGatingTheProducer) {
  auto ring = MakeRing(4);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 4));
  EXPECT_FALSE(ring->TryNext().has_value());
  poller.reset();
  EXPECT_TRUE(ring->TryNext().has_value());
}

TEST(EventPollerTest, PollWrapsAroundTheRing) {
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  std::vector<Delivery> seen;
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(PublishValues(*ring, 5));
    ASSERT_EQ(poller->Poll(Recorder(seen)), PollState::kProcessing);
    ASSERT_EQ(poller->Poll(Recorder(seen)), PollState::kIdle);
  }
  ASSERT_EQ(seen.size(), 50u);
  for (int64_t s = 0; s < 50; ++s) {
    EXPECT_EQ(seen[s].sequence, s);
    EXPECT_EQ(seen[s].value, ValueOf(s));
    EXPECT_EQ(seen[s].end_of_batch, s % 5 == 4);
  }
}

TEST(EventPollerTest, MultiProducerPollStopsAtTheFirstUnpublishedSlot) {
  auto ring = MakeRing(8, ProducerType::kMulti);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  const std::optional<int64_t> first = ring->Next();
  const std::optional<int64_t> second = ring->Next();
  ASSERT_EQ(first, std::optional<int64_t>(0));
  ASSERT_EQ(second, std::optional<int64_t>(1));
  (*ring)[1].value = ValueOf(1);
  ring->Publish(1);  // out of order: 0 is still unpublished
  std::vector<Delivery> seen;
  EXPECT_EQ(poller->Poll(Recorder(seen)), PollState::kIdle);
  EXPECT_THAT(seen, IsEmpty());
  (*ring)[0].value = ValueOf(0);
  ring->Publish(0);
  EXPECT_EQ(poller->Poll(Recorder(seen)), PollState::kProcessing);
  EXPECT_EQ(seen, Expected(0, 1));
}

TEST(EventPollerTest, CreateFailsWhenEveryConsumerSlotIsTaken) {
  auto ring = MakeRing(8, ProducerType::kSingle, /*max_consumers=*/1);
  ASSERT_OK_AND_ASSIGN(auto first, Poller::Create(*ring));
  EXPECT_THAT(Poller::Create(*ring),
              StatusIs(absl::StatusCode::kResourceExhausted));
  first.reset();  // frees its slot
  EXPECT_OK(Poller::Create(*ring).status());
}

// ---- PollerOptions ------------------------------------------------------

TEST(EventPollerTest, CreateNamesABadStreamBackoffPauses) {
  auto ring = MakeRing(8);
  for (const int bad : {-1, 1025}) {
    EXPECT_THAT(Poller::Create(*ring, {}, {.stream_backoff_pauses = bad}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::HasSubstr("stream_backoff_pauses " +
                                              std::to_string(bad))));
  }
}

TEST(EventPollerTest, WithoutBackoffEveryPollSeesWhatWasJustPublished) {
  // The default never defers a read: a reader on the producer's own thread
  // sees each event at once, however dense the stream looks.
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  std::vector<Delivery> seen;
  for (int round = 0; round < 200; ++round) {
    ASSERT_TRUE(PublishValues(*ring, 3));
    ASSERT_EQ(poller->Poll(Recorder(seen)), PollState::kProcessing)
        << "round " << round;
  }
  ASSERT_EQ(seen.size(), 600u);
  for (int64_t s = 0; s < 600; ++s) EXPECT_EQ(seen[s].sequence, s);
}

TEST(EventPollerTest, LeaseBatchBeyondWhatTheLastReadFoundReadsAgain) {
  // The first TryLease reads the cursor and finds 0..3; seq 0 is leased.
  // After more are published, a batch asking for more than the remaining
  // 1..3 reads again and takes 1..7.
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  ASSERT_TRUE(PublishValues(*ring, 4));
  {
    auto lease = poller->TryLease();
    ASSERT_TRUE(lease.has_value());
    EXPECT_EQ(lease->sequence(), 0);
  }
  ASSERT_TRUE(PublishValues(*ring, 4));  // seqs 4..7
  auto batch = poller->TryLeaseBatch(10);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->first_sequence(), 1);
  EXPECT_EQ(batch->last_sequence(), 7);
  for (auto it = batch->begin(); it != batch->end(); ++it) {
    EXPECT_EQ(it->value, ValueOf(it.sequence()));
  }
}

TEST(EventPollerTest, ADeferringReaderOnTheProducerThreadMissesNothing) {
  // With the backoff, a read may be deferred (Poll says kIdle while events
  // are published); polling on hands out every event, once, in order.
  auto ring = MakeRing(16);
  ASSERT_OK_AND_ASSIGN(
      auto poller, Poller::Create(*ring, {}, {.stream_backoff_pauses = 1024}));
  std::vector<Delivery> seen;
  for (int round = 0; round < 100; ++round) {
    ASSERT_TRUE(PublishValues(*ring, 5));
    const size_t before = seen.size();
    ASSERT_TRUE(::ringflow::testing::SpinUntil([&] {
      poller->Poll(Recorder(seen));
      return seen.size() == before + 5;
    })) << "round "
        << round;
  }
  ASSERT_EQ(seen.size(), 500u);
  for (int64_t s = 0; s < 500; ++s) {
    EXPECT_EQ(seen[s].sequence, s);
    EXPECT_EQ(seen[s].value, ValueOf(s));
  }
}

}  // namespace
}  // namespace ringflow
