// tests/core/producer_deadline_test.cc
//
// Producer deadline forms (issue 12, "producers cannot wait for space with
// a deadline"): Next(n, timeout), PublishEvent(fill, timeout) and
// PublishEvents(n, fill, timeout) give control back when a slow or stalled
// consumer keeps the ring full, with nothing claimed, on both producer
// types; and under contention no event is lost or duplicated.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "support/core_test_util.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::core_testing::kProducerTypes;
using ::ringflow::core_testing::ProducerTypeParamName;

using Ring = RingBuffer<int64_t>;

class ProducerDeadlineTest : public ::testing::TestWithParam<ProducerType> {
 protected:
  RingOptions Options(int64_t capacity) const {
    return RingOptions{.capacity = capacity,
                       .producer_type = GetParam(),
                       .wait_strategy = WaitStrategyKind::kBusySpin,
                       .max_consumers = 4};
  }
};

TEST_P(ProducerDeadlineTest, AFullRingTimesOutWithNothingClaimed) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t s) { e = s; }));
  }
  const uint64_t waits = ring->full_waits();
  const uint64_t failures = ring->try_next_failures();
  EXPECT_EQ(ring->Next(1, absl::Milliseconds(5)), std::nullopt);
  bool filled = false;
  EXPECT_FALSE(ring->PublishEvent([&](int64_t&, int64_t) { filled = true; },
                                  absl::Milliseconds(5)));
  EXPECT_FALSE(ring->PublishEvents(
      2, [&](int64_t&, int64_t) { filled = true; }, absl::ZeroDuration()));
  EXPECT_FALSE(filled);
  EXPECT_EQ(ring->Cursor(), 7) << "a timed-out claim claimed something";
  EXPECT_EQ(ring->full_waits(), waits + 3) << "one full wait per call";
  EXPECT_EQ(ring->try_next_failures(), failures) << "no failure per retry";
  // Space frees: the same calls claim exactly what they ask for.
  consumer.sequence().StoreRelease(3);
  EXPECT_EQ(ring->Next(2, absl::Seconds(10)), 9);
  ring->Publish(8, 9);
  EXPECT_TRUE(ring->PublishEvents(
      2, [](int64_t& e, int64_t s) { e = s; }, absl::Seconds(10)));
  EXPECT_EQ(ring->Cursor(), 11);
  EXPECT_EQ((*ring)[10], 10);
  EXPECT_EQ((*ring)[11], 11);
}

TEST_P(ProducerDeadlineTest, BadSizesAndAClosedRingFailAtOnce) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(8)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  const absl::Duration kLong = absl::Hours(1);  // never reached
  EXPECT_EQ(ring->Next(0, kLong), std::nullopt);
  EXPECT_EQ(ring->Next(9, kLong), std::nullopt);
  EXPECT_EQ(ring->Next(-1, kLong), std::nullopt);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ring->Next(1, kLong).has_value());
  // Full, then closed while nobody consumes: the hour-long wait ends.
  std::thread closer([&] {
    while (ring->full_waits() == 0) std::this_thread::yield();
    ring->Close();
  });
  EXPECT_EQ(ring->Next(1, kLong), std::nullopt);
  closer.join();
  EXPECT_EQ(ring->Next(1, kLong), std::nullopt);
}

// The producer starts waiting (seen through the full-wait counter), then a
// consumer frees space: the deadline form publishes, with its content.
TEST_P(ProducerDeadlineTest, AWaitingPublishCompletesWhenSpaceFrees) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options(4)));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t s) { e = s; }));
  }
  std::thread freer([&] {
    while (ring->full_waits() == 0) std::this_thread::yield();
    consumer.sequence().StoreRelease(0);
  });
  EXPECT_TRUE(ring->PublishEvent([](int64_t& e, int64_t s) { e = 100 + s; },
                                 absl::Seconds(60)));
  freer.join();
  EXPECT_EQ(ring->Cursor(), 4);
  EXPECT_EQ((*ring)[4], 104);
}

// Several producers publish through the deadline form with a short timeout
// against a slow consumer, retrying when it expires: every event arrives
// exactly once and each producer's events in order.
TEST(ProducerDeadlineConcurrentTest, TimedOutClaimsLoseAndDuplicateNothing) {
  constexpr int kProducers = 3;
  const int64_t kPerProducer = ringflow::testing::Events(30'000);
  ASSERT_OK_AND_ASSIGN(
      auto ring,
      Ring::Create(RingOptions{.capacity = 16,
                               .producer_type = ProducerType::kMulti,
                               .wait_strategy = WaitStrategyKind::kYielding,
                               .max_consumers = 2}));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  std::atomic<int64_t> timeouts{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int64_t i = 0; i < kPerProducer; ++i) {
        while (!ring->PublishEvent(
            [&](int64_t& e, int64_t) { e = p * kPerProducer + i; },
            absl::Microseconds(50))) {
          timeouts.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  std::vector<int64_t> next(kProducers, 0);
  int64_t read = 0, out_of_order = 0;
  int64_t sequence = -1;
  while (read < kProducers * kPerProducer) {
    const int64_t available = ring->PublishedSequence();
    for (int64_t s = sequence + 1; s <= available; ++s) {
      const int64_t value = (*ring)[s];
      const int64_t producer = value / kPerProducer;
      out_of_order += value % kPerProducer != next[producer]++;
      ++read;
      if (read % 64 == 0) std::this_thread::yield();  // a slow consumer
    }
    if (available > sequence) {
      sequence = available;
      consumer.sequence().StoreRelease(sequence);
    }
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(read, kProducers * kPerProducer);
  EXPECT_EQ(out_of_order, 0);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
  EXPECT_EQ(ring->Cursor(), kProducers * kPerProducer - 1);
  std::printf("deadline claims that timed out and were retried: %lld\n",
              static_cast<long long>(timeouts.load()));
}

INSTANTIATE_TEST_SUITE_P(ProducerTypes, ProducerDeadlineTest,
                         ::testing::ValuesIn(kProducerTypes),
                         [](const ::testing::TestParamInfo<ProducerType>& p) {
                           return ProducerTypeParamName(p.param);
                         });

}  // namespace
}  // namespace ringflow
