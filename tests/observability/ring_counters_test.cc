// Single-threaded tests of a ring's instrumentation, read back through
// RingMetricsSource + BuildMetricFamilies as a scrape would: events
// published from the cursor, lag and remaining capacity, an EventPoller's
// empty polls, batches and batch-size histogram, lease batches, TryNext
// failures, rings without counters, and ring / consumer names. Threads
// (Disruptor, producers waiting on a full ring) are in
// ring_metrics_concurrent_test.cc.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/observability/metric_families.h"
#include "ringflow/observability/ring_metrics_source.h"
#include "ringflow/processors/event_poller.h"
#include "support/obs_exposition.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::ringflow::observability::BuildMetricFamilies;
using ::ringflow::observability::RingMetricsSource;
using ::ringflow::observability::RingSnapshot;
using ::ringflow::testing::FamilyNames;
using ::ringflow::testing::FindMetric;
using ::ringflow::testing::MetricLabels;
using ::ringflow::testing::PublishValues;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::Value;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::UnorderedElementsAre;

using Ring = RingBuffer<TestEvent>;
using Poller = EventPoller<TestEvent>;

std::unique_ptr<Ring> MakeRing(RingOptions options) {
  auto ring = Ring::Create(options);
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

std::vector<MetricFamily> Scrape(const Ring& ring) {
  const RingSnapshot snapshot = RingMetricsSource<TestEvent>(ring).Snapshot();
  return BuildMetricFamilies(std::span<const RingSnapshot>(&snapshot, 1));
}

MetricLabels RingLabel(const std::string& ring) { return {{"ring", ring}}; }
MetricLabels ConsumerLabels(const std::string& ring,
                            const std::string& consumer) {
  return {{"ring", ring}, {"consumer", consumer}};
}

// A consumer's counters and histogram as a scrape reports them.
struct ConsumerStats {
  std::optional<double> events, batches, empty_polls, exceptions, max_lag;
  std::optional<double> sequence, lag;
  // Non-cumulative bucket counts by upper bound (+Inf as infinity).
  std::map<double, uint64_t> buckets;
  uint64_t histogram_count = 0;
  double histogram_sum = 0;
  bool has_histogram = false;
};

ConsumerStats StatsOf(const std::vector<MetricFamily>& families,
                      const std::string& ring, const std::string& consumer) {
  const MetricLabels labels = ConsumerLabels(ring, consumer);
  ConsumerStats s;
  s.events = Value(families, "ringflow_consumer_events_total", labels);
  s.batches = Value(families, "ringflow_consumer_batches_total", labels);
  s.empty_polls =
      Value(families, "ringflow_consumer_empty_polls_total", labels);
  s.exceptions =
      Value(families, "ringflow_consumer_handler_exceptions_total", labels);
  s.max_lag = Value(families, "ringflow_consumer_max_lag_events", labels);
  s.sequence = Value(families, "ringflow_consumer_sequence", labels);
  s.lag = Value(families, "ringflow_consumer_lag_events", labels);
  if (const ClientMetric* h =
          FindMetric(families, "ringflow_consumer_batch_size_events", labels)) {
    s.has_histogram = true;
    uint64_t previous = 0;
    for (const ClientMetric::Bucket& b : h->histogram.bucket) {
      if (b.cumulative_count != previous) {
        s.buckets[b.upper_bound] = b.cumulative_count - previous;
      }
      previous = b.cumulative_count;
    }
    s.histogram_count = h->histogram.sample_count;
    s.histogram_sum = h->histogram.sample_sum;
  }
  return s;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// Publishes `n` events with the helpers' values.
void Publish(Ring& ring, int64_t n) { ASSERT_TRUE(PublishValues(ring, n)); }

// Polls once, handling everything available; returns the events handled.
int64_t PollAll(Poller& poller) {
  int64_t handled = 0;
  poller.Poll([&](const TestEvent&, int64_t, bool) { ++handled; });
  return handled;
}

// ---- events published, lag, remaining capacity ----------------------------

std::string ProducerName(const ::testing::TestParamInfo<ProducerType>& p) {
  return std::string(ProducerTypeName(p.param));
}

class PublishedTest : public ::testing::TestWithParam<ProducerType> {};

TEST_P(PublishedTest, PublishedTotalComesFromTheCursor) {
  auto ring = MakeRing(
      {.capacity = 16, .producer_type = GetParam(), .name = "published"});
  EXPECT_THAT(Value(Scrape(*ring), "ringflow_events_published_total",
                    RingLabel("published")),
              Optional(0.0));
  Publish(*ring, 5);
  EXPECT_THAT(Value(Scrape(*ring), "ringflow_events_published_total",
                    RingLabel("published")),
              Optional(5.0));
  // No consumer gates the ring: it can go round many times.
  Publish(*ring, 100);
  const auto families = Scrape(*ring);
  EXPECT_THAT(Value(families, "ringflow_events_published_total",
                    RingLabel("published")),
              Optional(105.0));
  EXPECT_THAT(
      Value(families, "ringflow_ring_capacity_events", RingLabel("published")),
      Optional(16.0));
}

INSTANTIATE_TEST_SUITE_P(Producers, PublishedTest,
                         ::testing::Values(ProducerType::kSingle,
                                           ProducerType::kMulti),
                         ProducerName);

TEST(RingCountersTest, LagAndRemainingCapacityComeFromTheCursors) {
  auto ring = MakeRing({.capacity = 16, .name = "lag"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  auto families = Scrape(*ring);
  EXPECT_THAT(StatsOf(families, "lag", "p").lag, Optional(0.0));
  EXPECT_THAT(StatsOf(families, "lag", "p").sequence, Optional(-1.0));
  EXPECT_THAT(Value(families, "ringflow_ring_remaining_capacity_events",
                    RingLabel("lag")),
              Optional(16.0));

  Publish(*ring, 5);
  families = Scrape(*ring);
  EXPECT_THAT(StatsOf(families, "lag", "p").lag, Optional(5.0));
  EXPECT_THAT(StatsOf(families, "lag", "p").sequence, Optional(-1.0));
  EXPECT_THAT(Value(families, "ringflow_ring_remaining_capacity_events",
                    RingLabel("lag")),
              Optional(11.0));

  EXPECT_EQ(PollAll(*poller), 5);
  families = Scrape(*ring);
  EXPECT_THAT(StatsOf(families, "lag", "p").lag, Optional(0.0));
  EXPECT_THAT(StatsOf(families, "lag", "p").sequence, Optional(4.0));
  EXPECT_THAT(Value(families, "ringflow_ring_remaining_capacity_events",
                    RingLabel("lag")),
              Optional(16.0));

  Publish(*ring, 16);  // full
  families = Scrape(*ring);
  EXPECT_THAT(StatsOf(families, "lag", "p").lag, Optional(16.0));
  EXPECT_THAT(Value(families, "ringflow_ring_remaining_capacity_events",
                    RingLabel("lag")),
              Optional(0.0));
}

TEST(RingCountersTest, RemainingCapacityFollowsTheSlowestConsumer) {
  auto ring = MakeRing({.capacity = 16, .name = "slowest"});
  ASSERT_OK_AND_ASSIGN(auto fast, Poller::Create(*ring, {}, {.name = "fast"}));
  ASSERT_OK_AND_ASSIGN(auto slow, Poller::Create(*ring, {}, {.name = "slow"}));
  Publish(*ring, 6);
  EXPECT_EQ(PollAll(*fast), 6);
  const auto families = Scrape(*ring);
  EXPECT_THAT(StatsOf(families, "slowest", "fast").lag, Optional(0.0));
  EXPECT_THAT(StatsOf(families, "slowest", "slow").lag, Optional(6.0));
  EXPECT_THAT(Value(families, "ringflow_ring_remaining_capacity_events",
                    RingLabel("slowest")),
              Optional(10.0));
}

// ---- empty polls, batches, histogram --------------------------------------

TEST(RingCountersTest, EmptyPollsAreCountedExactly) {
  auto ring = MakeRing({.capacity = 16, .name = "polls"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  for (int i = 0; i < 7; ++i) ASSERT_EQ(PollAll(*poller), 0);
  EXPECT_THAT(StatsOf(Scrape(*ring), "polls", "p").empty_polls, Optional(7.0));

  Publish(*ring, 3);
  EXPECT_EQ(PollAll(*poller), 3);  // not empty: not counted
  EXPECT_EQ(PollAll(*poller), 0);
  const ConsumerStats s = StatsOf(Scrape(*ring), "polls", "p");
  EXPECT_THAT(s.empty_polls, Optional(8.0));
  EXPECT_THAT(s.events, Optional(3.0));
  EXPECT_THAT(s.batches, Optional(1.0));
}

TEST(RingCountersTest, EmptyPollsBehindAnUpstreamPollerAreCounted) {
  auto ring = MakeRing({.capacity = 16, .name = "gated"});
  ASSERT_OK_AND_ASSIGN(auto upstream,
                       Poller::Create(*ring, {}, {.name = "up"}));
  ASSERT_OK_AND_ASSIGN(
      auto downstream,
      Poller::Create(*ring, {&upstream->sequence()}, {.name = "down"}));
  Publish(*ring, 4);
  EXPECT_EQ(downstream->Poll([](const TestEvent&, int64_t, bool) {}),
            PollState::kGating);
  EXPECT_EQ(downstream->Poll([](const TestEvent&, int64_t, bool) {}),
            PollState::kGating);
  EXPECT_EQ(PollAll(*upstream), 4);
  EXPECT_EQ(PollAll(*downstream), 4);
  const auto families = Scrape(*ring);
  EXPECT_THAT(StatsOf(families, "gated", "down").empty_polls, Optional(2.0));
  EXPECT_THAT(StatsOf(families, "gated", "down").events, Optional(4.0));
  EXPECT_THAT(StatsOf(families, "gated", "up").empty_polls, Optional(0.0));
}

TEST(RingCountersTest, TryLeaseOnAnEmptyRingCountsAsAnEmptyPoll) {
  auto ring = MakeRing({.capacity = 16, .name = "lease"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(poller->TryLease().has_value());
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(poller->TryLeaseBatch(4).has_value());
  }
  const ConsumerStats s = StatsOf(Scrape(*ring), "lease", "p");
  EXPECT_THAT(s.empty_polls, Optional(5.0));
  EXPECT_THAT(s.events, Optional(0.0));
  EXPECT_THAT(s.batches, Optional(0.0));
}

TEST(RingCountersTest, PollBatchesFillTheHistogramBuckets) {
  auto ring = MakeRing({.capacity = 1024, .name = "hist"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  int64_t total = 0;
  for (int64_t size : {1, 2, 3, 4, 5, 8, 9, 1000}) {
    Publish(*ring, size);
    ASSERT_EQ(PollAll(*poller), size);
    total += size;
  }
  const ConsumerStats s = StatsOf(Scrape(*ring), "hist", "p");
  EXPECT_THAT(s.events, Optional(static_cast<double>(total)));
  EXPECT_THAT(s.batches, Optional(8.0));
  EXPECT_THAT(s.max_lag, Optional(1000.0));
  ASSERT_TRUE(s.has_histogram);
  // (0,1]: 1; (1,2]: 2; (2,4]: 3, 4; (4,8]: 5, 8; (8,16]: 9; (512,1024]: 1000.
  EXPECT_EQ(s.buckets,
            (std::map<double, uint64_t>{
                {1, 1}, {2, 1}, {4, 2}, {8, 2}, {16, 1}, {1024, 1}}));
  EXPECT_EQ(s.histogram_count, 8u);
  EXPECT_EQ(s.histogram_sum, static_cast<double>(total));
}

TEST(RingCountersTest, HistogramHasEveryPowerOfTwoBucketAndInf) {
  auto ring = MakeRing({.capacity = 16, .name = "buckets"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  const auto families = Scrape(*ring);
  const ClientMetric* metric =
      FindMetric(families, "ringflow_consumer_batch_size_events",
                 ConsumerLabels("buckets", "p"));
  ASSERT_NE(metric, nullptr);
  std::vector<double> bounds;
  for (const auto& b : metric->histogram.bucket)
    bounds.push_back(b.upper_bound);
  std::vector<double> expected;
  for (int i = 0; i <= 18; ++i) expected.push_back(double(int64_t{1} << i));
  expected.push_back(kInf);
  EXPECT_EQ(bounds, expected);
}

TEST(RingCountersTest, BatchLargerThan2To18GoesToTheInfBucket) {
  const int64_t capacity = int64_t{1} << 19;
  auto ring = MakeRing({.capacity = capacity, .name = "huge"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  Publish(*ring, (int64_t{1} << 18) + 1);
  ASSERT_EQ(PollAll(*poller), (int64_t{1} << 18) + 1);
  const ConsumerStats s = StatsOf(Scrape(*ring), "huge", "p");
  EXPECT_EQ(s.buckets, (std::map<double, uint64_t>{{kInf, 1}}));
  EXPECT_EQ(s.histogram_sum, double((int64_t{1} << 18) + 1));
}

TEST(RingCountersTest, AnEarlyStopCountsOnlyTheHandledEvents) {
  auto ring = MakeRing({.capacity = 16, .name = "stop"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  Publish(*ring, 5);
  int64_t handled = 0;
  poller->Poll([&](const TestEvent&, int64_t, bool) { return ++handled < 2; });
  ASSERT_EQ(handled, 2);
  ConsumerStats s = StatsOf(Scrape(*ring), "stop", "p");
  EXPECT_THAT(s.events, Optional(2.0));
  EXPECT_THAT(s.batches, Optional(1.0));
  EXPECT_THAT(s.max_lag, Optional(5.0));
  EXPECT_THAT(s.lag, Optional(3.0));
  EXPECT_EQ(PollAll(*poller), 3);
  s = StatsOf(Scrape(*ring), "stop", "p");
  EXPECT_THAT(s.events, Optional(5.0));
  EXPECT_THAT(s.batches, Optional(2.0));
  EXPECT_EQ(s.buckets, (std::map<double, uint64_t>{{2, 1}, {4, 1}}));
  EXPECT_EQ(s.histogram_sum, 5.0);
}

TEST(RingCountersTest, AThrowingPollHandlerCountsTheEventsBeforeIt) {
  auto ring = MakeRing({.capacity = 16, .name = "throw"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  Publish(*ring, 5);
  EXPECT_THROW(poller->Poll([](const TestEvent&, int64_t seq, bool) {
    if (seq == 2) throw std::runtime_error("boom");
  }),
               std::runtime_error);
  const ConsumerStats s = StatsOf(Scrape(*ring), "throw", "p");
  EXPECT_THAT(s.events, Optional(2.0));
  EXPECT_THAT(s.sequence, Optional(1.0));
  EXPECT_EQ(s.histogram_sum, 2.0);
}

TEST(RingCountersTest, LeaseBatchesAreCountedWhenTaken) {
  auto ring = MakeRing({.capacity = 16, .name = "leases"});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  Publish(*ring, 10);
  {
    auto batch = poller->TryLeaseBatch(3);
    ASSERT_TRUE(batch.has_value());
  }
  {
    auto lease = poller->TryLease();
    ASSERT_TRUE(lease.has_value());
  }
  {
    auto batch = poller->TryLeaseBatch(100);
    ASSERT_TRUE(batch.has_value());
  }
  const ConsumerStats s = StatsOf(Scrape(*ring), "leases", "p");
  EXPECT_THAT(s.events, Optional(10.0));
  EXPECT_THAT(s.batches, Optional(3.0));
  EXPECT_THAT(s.max_lag, Optional(10.0));
  EXPECT_THAT(s.empty_polls, Optional(0.0));
  EXPECT_EQ(s.buckets, (std::map<double, uint64_t>{{1, 1}, {4, 1}, {8, 1}}));
  EXPECT_THAT(s.lag, Optional(0.0));
}

// ---- producer counters ----------------------------------------------------
class ProducerCountersRingTest : public ::testing::TestWithParam<ProducerType> {
};

TEST_P(ProducerCountersRingTest, TryNextFailuresAreCountedExactly) {
  auto ring =
      MakeRing({.capacity = 4, .producer_type = GetParam(), .name = "full"});
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle gate,
                       ring->RegisterConsumer("gate"));
  for (int i = 0; i < 4; ++i) {
    const auto s = ring->TryNext();
    ASSERT_TRUE(s.has_value());
    ring->Publish(*s);
  }
  int refused = 0;
  for (int i = 0; i < 3; ++i) refused += ring->TryNext() ? 0 : 1;
  for (int i = 0; i < 2; ++i) {
    refused += ring->TryPublishEvent([](TestEvent&, int64_t) {}) ? 0 : 1;
  }
  refused += ring->TryPublishEvents(2, [](TestEvent&, int64_t) {}) ? 0 : 1;
  ASSERT_EQ(refused, 6);
  EXPECT_EQ(ring->try_next_failures(), 6u);
  EXPECT_EQ(ring->full_waits(), 0u);

  // Room for one: TryNext(2) is refused, TryNext(1) is not.
  gate.sequence().StoreRelease(0);
  EXPECT_FALSE(ring->TryNext(2).has_value());
  const auto one = ring->TryNext(1);
  ASSERT_TRUE(one.has_value());
  ring->Publish(*one);
  EXPECT_EQ(ring->try_next_failures(), 7u);

  const auto families = Scrape(*ring);
  EXPECT_THAT(Value(families, "ringflow_producer_try_next_failures_total",
                    RingLabel("full")),
              Optional(7.0));
  EXPECT_THAT(
      Value(families, "ringflow_producer_full_waits_total", RingLabel("full")),
      Optional(0.0));
}

TEST_P(ProducerCountersRingTest, RefusalsOfAClosedRingOrABadSizeAreNotCounted) {
  auto ring =
      MakeRing({.capacity = 4, .producer_type = GetParam(), .name = "closed"});
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle gate,
                       ring->RegisterConsumer("gate"));
  EXPECT_FALSE(ring->TryNext(0).has_value());
  EXPECT_FALSE(ring->TryNext(5).has_value());
  ring->Close();
  EXPECT_FALSE(ring->TryNext().has_value());
  EXPECT_FALSE(ring->TryPublishEvent([](TestEvent&, int64_t) {}));
  EXPECT_FALSE(ring->Next().has_value());
  EXPECT_EQ(ring->try_next_failures(), 0u);
  EXPECT_EQ(ring->full_waits(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Producers, ProducerCountersRingTest,
                         ::testing::Values(ProducerType::kSingle,
                                           ProducerType::kMulti),
                         ProducerName);

// ---- counters off ---------------------------------------------------------
TEST(RingCountersTest, CountersOffLeavesOnlyCursorMetrics) {
  auto ring = MakeRing({.capacity = 4,
                        .producer_type = ProducerType::kSingle,
                        .name = "plain",
                        .counters = false});
  EXPECT_EQ(ring->counters_block(), nullptr);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  EXPECT_EQ(PollAll(*poller), 0);
  Publish(*ring, 4);
  EXPECT_FALSE(ring->TryNext().has_value());
  EXPECT_EQ(ring->try_next_failures(), 0u);
  EXPECT_EQ(PollAll(*poller), 4);

  const auto families = Scrape(*ring);
  EXPECT_THAT(
      FamilyNames(families),
      ElementsAre("ringflow_consumer_lag_events", "ringflow_consumer_sequence",
                  "ringflow_events_published_total",
                  "ringflow_ring_capacity_events",
                  "ringflow_ring_remaining_capacity_events"));
  EXPECT_THAT(
      Value(families, "ringflow_events_published_total", RingLabel("plain")),
      Optional(4.0));
  EXPECT_THAT(StatsOf(families, "plain", "p").sequence, Optional(3.0));
  const RingSnapshot snapshot = RingMetricsSource<TestEvent>(*ring).Snapshot();
  EXPECT_EQ(snapshot.counters, nullptr);
}

TEST(RingCountersTest, CountersOnHaveOneBlockWithProducerAndConsumerGroups) {
  auto ring = MakeRing({.capacity = 8, .name = "on"});
  const core_internal::CountersBlock* block = ring->counters_block();
  ASSERT_NE(block, nullptr);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  std::map<std::string, int> by_labels;
  std::map<int, std::string> by_index;
  block->ForEach([&](const core_internal::CounterView& c) {
    ++by_labels[std::string(c.labels)];
    by_index[c.index] = std::string(c.name);
  });
  EXPECT_EQ(by_labels,
            (std::map<std::string, int>{
                {"ring=\"on\"", core_internal::ProducerCounters::kCount},
                {"ring=\"on\",consumer=\"p\"",
                 core_internal::ConsumerCounters::kCount}}));
  // Each allocation starts a group of its own.
  EXPECT_EQ(by_index[0], "ringflow_producer_full_waits_total");
  EXPECT_EQ(by_index[16], "ringflow_consumer_events_total");
}

// ---- names ----------------------------------------------------------------
TEST(RingCountersTest, TheRingNameLabelsEverySeries) {
  const std::string name = "orders.v2-eu#1";
  auto ring = MakeRing({.capacity = 8, .name = name});
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring, {}, {.name = "p"}));
  const auto families = Scrape(*ring);
  ASSERT_FALSE(families.empty());
  for (const MetricFamily& f : families) {
    ASSERT_FALSE(f.metric.empty()) << f.name;
    for (const ClientMetric& m : f.metric) {
      const MetricLabels labels = ::ringflow::testing::LabelsOf(m);
      ASSERT_TRUE(labels.count("ring")) << f.name;
      EXPECT_EQ(labels.at("ring"), name) << f.name;
    }
  }
}

TEST(RingCountersTest, BadRingNamesAreRejectedByName) {
  for (const std::string& bad :
       {std::string("bad name!"), std::string(""), std::string(33, 'r'),
        std::string("quote\"d"), std::string("a/b")}) {
    EXPECT_THAT(Ring::Create({.capacity = 8, .name = bad}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("ring name '" + bad + "'")))
        << "'" << bad << "'";
  }
  EXPECT_OK(Ring::Create({.capacity = 8, .name = std::string(32, 'r')}));
  EXPECT_OK(Ring::Create({.capacity = 8, .name = "a.b-c_d#1"}));
}

TEST(RingCountersTest, ConsumerNamesAreMadeUnique) {
  auto ring = MakeRing({.capacity = 8, .name = "names"});
  ASSERT_OK_AND_ASSIGN(auto a, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto b, Poller::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto x1, Poller::Create(*ring, {}, {.name = "x"}));
  ASSERT_OK_AND_ASSIGN(auto x2, Poller::Create(*ring, {}, {.name = "x"}));
  ASSERT_OK_AND_ASSIGN(auto x3, Poller::Create(*ring, {}, {.name = "x"}));
  const std::string long_name(32, 'n');
  ASSERT_OK_AND_ASSIGN(auto l1, Poller::Create(*ring, {}, {.name = long_name}));
  ASSERT_OK_AND_ASSIGN(auto l2, Poller::Create(*ring, {}, {.name = long_name}));

  const RingSnapshot snapshot = RingMetricsSource<TestEvent>(*ring).Snapshot();
  std::vector<std::string> names;
  for (const auto& c : snapshot.consumers) names.push_back(c.name);
  EXPECT_THAT(names, ElementsAre("consumer-0", "consumer-1", "x", "x#2", "x#3",
                                 long_name, std::string(30, 'n') + "#2"));
  // Each name has its own counters.
  const auto families = Scrape(*ring);
  for (const std::string& name : names) {
    EXPECT_THAT(StatsOf(families, "names", name).events, Optional(0.0)) << name;
  }
}

TEST(RingCountersTest, AReleasedNameCanBeTakenAgain) {
  auto ring = MakeRing({.capacity = 8, .name = "again"});
  ASSERT_OK_AND_ASSIGN(auto x1, Poller::Create(*ring, {}, {.name = "x"}));
  ASSERT_OK_AND_ASSIGN(auto x2, Poller::Create(*ring, {}, {.name = "x"}));
  x1.reset();
  ASSERT_OK_AND_ASSIGN(auto x3, Poller::Create(*ring, {}, {.name = "x"}));
  const RingSnapshot snapshot = RingMetricsSource<TestEvent>(*ring).Snapshot();
  std::vector<std::string> names;
  for (const auto& c : snapshot.consumers) names.push_back(c.name);
  EXPECT_THAT(names, UnorderedElementsAre("x", "x#2"));
}

TEST(RingCountersTest, BadConsumerNamesAreRejectedByName) {
  auto ring = MakeRing({.capacity = 8, .name = "badnames"});
  for (const std::string& bad :
       {std::string("a b"), std::string(33, 'c'), std::string("x=\"y\"")}) {
    EXPECT_THAT(Poller::Create(*ring, {}, {.name = std::string(bad)}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("consumer name '" + bad + "'")));
    EXPECT_THAT(ring->RegisterConsumer(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad)));
  }
  EXPECT_THAT(RingMetricsSource<TestEvent>(*ring).Snapshot().consumers,
              IsEmpty());
}

TEST(RingCountersTest, AReleasedConsumerLeavesTheMetrics) {
  auto ring = MakeRing({.capacity = 8, .name = "gone"});
  ASSERT_OK_AND_ASSIGN(auto stays,
                       Poller::Create(*ring, {}, {.name = "stays"}));
  ASSERT_OK_AND_ASSIGN(auto goes, Poller::Create(*ring, {}, {.name = "goes"}));
  Publish(*ring, 2);
  EXPECT_EQ(PollAll(*goes), 2);
  EXPECT_THAT(StatsOf(Scrape(*ring), "gone", "goes").events, Optional(2.0));
  goes.reset();
  const auto families = Scrape(*ring);
  const ConsumerStats gone = StatsOf(families, "gone", "goes");
  EXPECT_EQ(gone.events, std::nullopt);
  EXPECT_EQ(gone.sequence, std::nullopt);
  EXPECT_EQ(gone.lag, std::nullopt);
  EXPECT_FALSE(gone.has_histogram);
  EXPECT_THAT(StatsOf(families, "gone", "stays").lag, Optional(2.0));
}

TEST(RingCountersTest, RingsAreMergedIntoOneFamilyPerName) {
  auto a = MakeRing({.capacity = 8, .name = "ring-a"});
  auto b = MakeRing({.capacity = 16, .name = "ring-b"});
  Publish(*a, 3);
  Publish(*b, 5);
  const std::vector<RingSnapshot> snapshots = {
      RingMetricsSource<TestEvent>(*a).Snapshot(),
      RingMetricsSource<TestEvent>(*b).Snapshot()};
  const auto families = BuildMetricFamilies(snapshots);
  std::vector<std::string> names = FamilyNames(families);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end())
      << "a family name appears twice";
  EXPECT_THAT(
      Value(families, "ringflow_events_published_total", RingLabel("ring-a")),
      Optional(3.0));
  EXPECT_THAT(
      Value(families, "ringflow_events_published_total", RingLabel("ring-b")),
      Optional(5.0));
  EXPECT_THAT(
      Value(families, "ringflow_ring_capacity_events", RingLabel("ring-b")),
      Optional(16.0));
  const auto* full_waits = ::ringflow::testing::FindFamily(
      families, "ringflow_producer_full_waits_total");
  ASSERT_NE(full_waits, nullptr);
  EXPECT_EQ(full_waits->metric.size(), 2u);
}

}  // namespace
}  // namespace ringflow
