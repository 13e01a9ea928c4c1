// A ShardedRing's metrics through ShardedRingMetricsSource, as a scrape
// reads them: one ring per live shard ("<name>.<index>") with its own
// published count, producer counters (TryNext failures, full waits) and
// consumer counters; a freed shard drops out; a snapshot taken before a
// shard was freed stays readable (it keeps the shard alive).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/observability/metric_families.h"
#include "ringflow/observability/sharded_ring_metrics_source.h"
#include "ringflow/processors/sharded_poller.h"
#include "support/obs_exposition.h"
#include "support/status_matchers.h"
#include "support/topo_spin.h"

namespace ringflow {
namespace {

using ::prometheus::MetricFamily;
using ::ringflow::observability::BuildMetricFamilies;
using ::ringflow::observability::RingSnapshot;
using ::ringflow::observability::ShardedRingMetricsSource;
using ::ringflow::testing::MetricLabels;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::Value;
using ::testing::Optional;

using Ring = ShardedRing<int64_t>;

std::unique_ptr<Ring> MakeRing() {
  ShardedRingOptions options;
  options.shard.capacity = 8;
  options.shard.wait_strategy = WaitStrategyKind::kBusySpin;
  options.shard.name = "orders";
  options.max_producers = 4;
  auto ring = Ring::Create(options);
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

std::vector<RingSnapshot> Collect(const Ring& ring) {
  std::vector<RingSnapshot> snapshots;
  ShardedRingMetricsSource<int64_t>(ring).Collect(snapshots);
  return snapshots;
}

std::vector<MetricFamily> Scrape(const Ring& ring) {
  const std::vector<RingSnapshot> snapshots = Collect(ring);
  return BuildMetricFamilies(std::span<const RingSnapshot>(snapshots));
}

MetricLabels Shard(const std::string& name) { return {{"ring", name}}; }
MetricLabels Consumer(const std::string& ring) {
  return {{"ring", ring}, {"consumer", "reader"}};
}

void Publish(ShardProducer<int64_t>& producer, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(
        producer->TryPublishEvent([](int64_t& e, int64_t s) { e = s; }));
  }
}

void PollAll(ShardedPoller<int64_t>& poller) {
  for (int i = 0; i < 40; ++i) {
    poller.Poll([](const int64_t&, int64_t, bool) {});
  }
}

TEST(ShardedMetricsTest, EachShardIsARingWithItsOwnCounters) {
  auto ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(auto poller,
                       ShardedPoller<int64_t>::Create(*ring, {}, {"reader"}));
  ASSERT_OK_AND_ASSIGN(auto a, ring->RegisterProducer());
  ASSERT_OK_AND_ASSIGN(auto b, ring->RegisterProducer());
  Publish(a, 5);
  Publish(b, 8);  // full: the next try is refused
  EXPECT_FALSE(b->TryPublishEvent([](int64_t&, int64_t) {}));
  auto families = Scrape(*ring);
  EXPECT_THAT(
      Value(families, "ringflow_events_published_total", Shard("orders.0")),
      Optional(5.0));
  EXPECT_THAT(
      Value(families, "ringflow_events_published_total", Shard("orders.1")),
      Optional(8.0));
  EXPECT_THAT(Value(families, "ringflow_producer_try_next_failures_total",
                    Shard("orders.0")),
              Optional(0.0));
  EXPECT_THAT(Value(families, "ringflow_producer_try_next_failures_total",
                    Shard("orders.1")),
              Optional(1.0));
  EXPECT_THAT(
      Value(families, "ringflow_ring_capacity_events", Shard("orders.1")),
      Optional(8.0));
  PollAll(*poller);
  families = Scrape(*ring);
  EXPECT_THAT(
      Value(families, "ringflow_consumer_events_total", Consumer("orders.0")),
      Optional(5.0));
  EXPECT_THAT(
      Value(families, "ringflow_consumer_events_total", Consumer("orders.1")),
      Optional(8.0));
  EXPECT_THAT(
      Value(families, "ringflow_consumer_lag_events", Consumer("orders.1")),
      Optional(0.0));
}

TEST(ShardedMetricsTest, AFreedShardDropsOutAndAnOldSnapshotStaysReadable) {
  auto ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(auto poller,
                       ShardedPoller<int64_t>::Create(*ring, {}, {"reader"}));
  ASSERT_OK_AND_ASSIGN(auto a, ring->RegisterProducer());
  Publish(a, 3);
  const std::vector<RingSnapshot> before = Collect(*ring);
  ASSERT_EQ(before.size(), 1u);
  a.Reset();
  PollAll(*poller);  // drains the shard, which is then freed
  EXPECT_EQ(ring->ShardCount(), 0);
  EXPECT_FALSE(
      Value(Scrape(*ring), "ringflow_events_published_total", Shard("orders.0"))
          .has_value());
  // The old snapshot's counters are still there (it holds the shard).
  const auto families =
      BuildMetricFamilies(std::span<const RingSnapshot>(before));
  EXPECT_THAT(
      Value(families, "ringflow_events_published_total", Shard("orders.0")),
      Optional(3.0));
}

TEST(ShardedMetricsTest, AProducerWaitingOnAFullShardCountsAFullWait) {
  auto ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(auto poller,
                       ShardedPoller<int64_t>::Create(*ring, {}, {"reader"}));
  std::atomic<bool> registered{false};
  std::thread producer([&] {
    auto p = ring->RegisterProducer();
    ASSERT_OK(p.status());
    Publish(*p, 8);
    registered.store(true);
    // Full: waits until the poller below frees a slot.
    EXPECT_TRUE((*p)->PublishEvent([](int64_t& e, int64_t) { e = 9; }));
  });
  ASSERT_TRUE(SpinUntil([&] {
    return registered.load() &&
           Value(Scrape(*ring), "ringflow_producer_full_waits_total",
                 Shard("orders.0")) == 1.0;
  }));
  PollAll(*poller);
  producer.join();
  PollAll(*poller);
  EXPECT_THAT(Value(Scrape(*ring), "ringflow_consumer_events_total",
                    Consumer("orders.0")),
              std::nullopt);  // the shard was freed once drained
}

TEST(ShardedMetricsTest, AnIdleShardIsVisitedLessOftenUntilAWaitFindsItsEvent) {
  auto ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(auto poller,
                       ShardedPoller<int64_t>::Create(*ring, {}, {"reader"}));
  ASSERT_OK_AND_ASSIGN(auto busy, ring->RegisterProducer());
  ASSERT_OK_AND_ASSIGN(auto idle, ring->RegisterProducer());
  constexpr int kPolls = 100;
  for (int i = 0; i < kPolls; ++i) {
    Publish(busy, 1);
    poller->Poll([](const int64_t&, int64_t, bool) {});
  }
  // Each visit of the idle shard is one empty poll of its reader: after
  // two empty visits it is visited every 2nd, 4th, 8th, then 16th Poll.
  auto families = Scrape(*ring);
  const auto idle_visits = Value(
      families, "ringflow_consumer_empty_polls_total", Consumer("orders.1"));
  ASSERT_TRUE(idle_visits.has_value());
  EXPECT_GE(*idle_visits, 5.0);
  EXPECT_LE(*idle_visits, 15.0);
  EXPECT_THAT(
      Value(families, "ringflow_consumer_events_total", Consumer("orders.0")),
      Optional(static_cast<double>(kPolls)));
  // An event on the idle shard: Wait finds it (it looks at every shard) and
  // the next Poll visits the shard at once.
  Publish(idle, 1);
  ASSERT_TRUE(poller->Wait().ok());
  int64_t seen = 0;
  poller->Poll([&](const int64_t&, int64_t, bool) { ++seen; });
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace ringflow
