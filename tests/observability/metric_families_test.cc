// Tests for BuildMetricFamilies, ParseLabels and SerializeText over
// hand-made snapshots: cursor-derived series (published, lag, remaining
// capacity with their clamps), counters, gauges and histograms from a
// CountersBlock (cumulative buckets, +Inf, sum and count), merging of rings
// into one family per name, and the text exposition.

#include "ringflow/observability/metric_families.h"

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"
#include "ringflow/core/internal/counters_block.h"
#include "ringflow/observability/metrics_source.h"
#include "support/obs_exposition.h"

namespace ringflow::observability {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::prometheus::MetricType;
using ::ringflow::testing::AlignedBytes;
using ::ringflow::testing::Exposition;
using ::ringflow::testing::FamilyNames;
using ::ringflow::testing::FindFamily;
using ::ringflow::testing::FindMetric;
using ::ringflow::testing::MetricLabels;
using ::ringflow::testing::ParseExposition;
using ::ringflow::testing::Value;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint64_t kInfLe = std::numeric_limits<uint64_t>::max();

class Block {
 public:
  explicit Block(int capacity)
      : memory_(core_internal::CountersBlock::BytesFor(capacity)),
        block_(core_internal::CountersBlock::Initialize(
            memory_.data(), memory_.size(), capacity, 0, nullptr)) {}
  core_internal::CountersBlock& operator*() { return block_; }
  core_internal::CountersBlock* operator->() { return &block_; }
  const core_internal::CountersBlock* get() const { return &block_; }

 private:
  AlignedBytes memory_;
  core_internal::CountersBlock block_;
};

std::vector<MetricFamily> Build(const std::vector<RingSnapshot>& rings) {
  return BuildMetricFamilies(rings);
}

MetricLabels R(const std::string& ring) { return {{"ring", ring}}; }
MetricLabels RC(const std::string& ring, const std::string& consumer) {
  return {{"ring", ring}, {"consumer", consumer}};
}

std::vector<std::pair<double, uint64_t>> Buckets(const ClientMetric& m) {
  std::vector<std::pair<double, uint64_t>> out;
  for (const auto& b : m.histogram.bucket) {
    out.emplace_back(b.upper_bound, b.cumulative_count);
  }
  return out;
}

// ---- ParseLabels ----------------------------------------------------------
TEST(ParseLabelsTest, ParsesRenderedPairsInOrder) {
  EXPECT_THAT(ParseLabels("ring=\"a\",consumer=\"b#2\""),
              ElementsAre(Pair("ring", "a"), Pair("consumer", "b#2")));
}

TEST(ParseLabelsTest, EmptyGivesNothing) {
  EXPECT_THAT(ParseLabels(""), IsEmpty());
}

TEST(ParseLabelsTest, KeepsEqualsSignsAndEmptyValues) {
  EXPECT_THAT(ParseLabels("a=\"x=y\",b=\"\""),
              ElementsAre(Pair("a", "x=y"), Pair("b", "")));
}

TEST(ParseLabelsTest, StopsAtMalformedInput) {
  EXPECT_THAT(ParseLabels("ring=a"), IsEmpty());
  EXPECT_THAT(ParseLabels("ring=\"a\",consumer=\"unterminated"),
              ElementsAre(Pair("ring", "a")));
  EXPECT_THAT(ParseLabels("ring"), IsEmpty());
  EXPECT_THAT(ParseLabels("ring="), IsEmpty());
}

// ---- cursor-derived series ------------------------------------------------
TEST(MetricFamiliesTest, NoRingsGiveNoFamilies) {
  EXPECT_THAT(Build({}), IsEmpty());
}

TEST(MetricFamiliesTest, ARingWithoutConsumersHasFreeCapacity) {
  const auto families = Build({{.ring = "r", .capacity = 64, .published = 9}});
  EXPECT_THAT(FamilyNames(families),
              ElementsAre("ringflow_events_published_total",
                          "ringflow_ring_capacity_events",
                          "ringflow_ring_remaining_capacity_events"));
  EXPECT_THAT(Value(families, "ringflow_events_published_total", R("r")),
              Optional(10.0));
  EXPECT_THAT(Value(families, "ringflow_ring_capacity_events", R("r")),
              Optional(64.0));
  EXPECT_THAT(
      Value(families, "ringflow_ring_remaining_capacity_events", R("r")),
      Optional(64.0));
  const MetricFamily* published =
      FindFamily(families, "ringflow_events_published_total");
  const MetricFamily* capacity =
      FindFamily(families, "ringflow_ring_capacity_events");
  ASSERT_NE(published, nullptr);
  ASSERT_NE(capacity, nullptr);
  EXPECT_EQ(published->type, MetricType::Counter);
  EXPECT_EQ(capacity->type, MetricType::Gauge);
}

TEST(MetricFamiliesTest, NothingPublishedIsZero) {
  const auto families = Build({{.ring = "r", .capacity = 8, .published = -1}});
  EXPECT_THAT(Value(families, "ringflow_events_published_total", R("r")),
              Optional(0.0));
}

TEST(MetricFamiliesTest, LagAndRemainingComeFromTheSlowestConsumer) {
  const auto families =
      Build({{.ring = "r",
              .capacity = 128,
              .published = 99,
              .consumers = {{"fast", 99}, {"mid", 90}, {"slow", 49}}}});
  EXPECT_THAT(Value(families, "ringflow_consumer_lag_events", RC("r", "fast")),
              Optional(0.0));
  EXPECT_THAT(Value(families, "ringflow_consumer_lag_events", RC("r", "mid")),
              Optional(9.0));
  EXPECT_THAT(Value(families, "ringflow_consumer_lag_events", RC("r", "slow")),
              Optional(50.0));
  EXPECT_THAT(Value(families, "ringflow_consumer_sequence", RC("r", "slow")),
              Optional(49.0));
  EXPECT_THAT(
      Value(families, "ringflow_ring_remaining_capacity_events", R("r")),
      Optional(78.0));
}

TEST(MetricFamiliesTest, LagAndRemainingAreClamped) {
  // A consumer read after a newer cursor than `published` (snapshots are not
  // atomic): lag never goes below 0 nor remaining above capacity.
  auto families = Build({{.ring = "r",
                          .capacity = 16,
                          .published = 5,
                          .consumers = {{"ahead", 10}}}});
  EXPECT_THAT(Value(families, "ringflow_consumer_lag_events", RC("r", "ahead")),
              Optional(0.0));
  EXPECT_THAT(
      Value(families, "ringflow_ring_remaining_capacity_events", R("r")),
      Optional(16.0));
  // And a consumer more than a lap behind (a torn snapshot) gives 0 room.
  families = Build({{.ring = "r",
                     .capacity = 16,
                     .published = 100,
                     .consumers = {{"behind", 10}}}});
  EXPECT_THAT(
      Value(families, "ringflow_ring_remaining_capacity_events", R("r")),
      Optional(0.0));
  EXPECT_THAT(
      Value(families, "ringflow_consumer_lag_events", RC("r", "behind")),
      Optional(90.0));
}

TEST(MetricFamiliesTest, RingsAreMergedIntoFamiliesSortedByName) {
  const auto families = Build(
      {{.ring = "b", .capacity = 8, .published = 1, .consumers = {{"c", 0}}},
       {.ring = "a", .capacity = 4, .published = 3, .consumers = {}}});
  const std::vector<std::string> names = FamilyNames(families);
  EXPECT_THAT(names, ElementsAre("ringflow_consumer_lag_events",
                                 "ringflow_consumer_sequence",
                                 "ringflow_events_published_total",
                                 "ringflow_ring_capacity_events",
                                 "ringflow_ring_remaining_capacity_events"));
  const MetricFamily* published =
      FindFamily(families, "ringflow_events_published_total");
  ASSERT_NE(published, nullptr);
  ASSERT_EQ(published->metric.size(), 2u);
  EXPECT_THAT(Value(families, "ringflow_events_published_total", R("a")),
              Optional(4.0));
  EXPECT_THAT(Value(families, "ringflow_events_published_total", R("b")),
              Optional(2.0));
}

// ---- counters block records -----------------------------------------------
TEST(MetricFamiliesTest, BlockCountersAndGaugesAreExportedWithTheirLabels) {
  Block block(32);
  const core_internal::CounterSpec specs[] = {
      {"ringflow_x_total", "X help.", "ring=\"r\",consumer=\"c\"",
       core_internal::CounterType::kCounter},
      {"ringflow_y_events", "Y help.", "ring=\"r\"",
       core_internal::CounterType::kGauge}};
  ASSERT_EQ(block->Allocate(specs, nullptr), 0);
  block->value(0).Increment(12);
  block->value(1).Set(7);
  const auto families = Build(
      {{.ring = "r", .capacity = 8, .published = -1, .counters = block.get()}});
  const MetricFamily* x = FindFamily(families, "ringflow_x_total");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->type, MetricType::Counter);
  EXPECT_EQ(x->help, "X help.");
  EXPECT_THAT(Value(families, "ringflow_x_total", RC("r", "c")),
              Optional(12.0));
  const MetricFamily* y = FindFamily(families, "ringflow_y_events");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->type, MetricType::Gauge);
  EXPECT_THAT(Value(families, "ringflow_y_events", R("r")), Optional(7.0));
}

TEST(MetricFamiliesTest, HistogramBucketsBecomeCumulative) {
  Block block(32);
  const std::string labels = "ring=\"r\",consumer=\"c\"";
  // Buckets out of order, the count record ignored (buckets give it).
  const core_internal::CounterSpec specs[] = {
      {"ringflow_h", "H.", labels, core_internal::CounterType::kHistogramBucket,
       4},
      {"ringflow_h", "H.", labels, core_internal::CounterType::kHistogramSum},
      {"ringflow_h", "H.", labels, core_internal::CounterType::kHistogramBucket,
       1},
      {"ringflow_h", "H.", labels, core_internal::CounterType::kHistogramBucket,
       kInfLe},
      {"ringflow_h", "H.", labels, core_internal::CounterType::kHistogramBucket,
       2},
      {"ringflow_h", "H.", labels, core_internal::CounterType::kHistogramCount},
  };
  ASSERT_EQ(block->Allocate(specs, nullptr), 0);
  block->value(0).Set(3);    // le 4
  block->value(1).Set(123);  // sum
  block->value(2).Set(5);    // le 1
  block->value(3).Set(1);    // +Inf
  block->value(4).Set(0);    // le 2
  block->value(5).Set(999);  // count record: not used
  const auto families = Build(
      {{.ring = "r", .capacity = 8, .published = -1, .counters = block.get()}});
  const MetricFamily* h = FindFamily(families, "ringflow_h");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->type, MetricType::Histogram);
  EXPECT_EQ(h->help, "H.");
  const ClientMetric* m = FindMetric(families, "ringflow_h", RC("r", "c"));
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(Buckets(*m), ElementsAre(Pair(1.0, 5u), Pair(2.0, 5u),
                                       Pair(4.0, 8u), Pair(kInf, 9u)));
  EXPECT_EQ(m->histogram.sample_count, 9u);
  EXPECT_EQ(m->histogram.sample_sum, 123.0);
}

TEST(MetricFamiliesTest, AHistogramWithoutInfGetsOne) {
  Block block(16);
  const core_internal::CounterSpec specs[] = {
      {"ringflow_h", "H.", "ring=\"r\"",
       core_internal::CounterType::kHistogramBucket, 1},
      {"ringflow_h", "H.", "ring=\"r\"",
       core_internal::CounterType::kHistogramBucket, 8},
      {"ringflow_h", "H.", "ring=\"r\"",
       core_internal::CounterType::kHistogramSum}};
  ASSERT_EQ(block->Allocate(specs, nullptr), 0);
  block->value(0).Set(2);
  block->value(1).Set(3);
  block->value(2).Set(20);
  const auto families = Build(
      {{.ring = "r", .capacity = 8, .published = -1, .counters = block.get()}});
  const ClientMetric* m = FindMetric(families, "ringflow_h", R("r"));
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(Buckets(*m),
              ElementsAre(Pair(1.0, 2u), Pair(8.0, 5u), Pair(kInf, 5u)));
  EXPECT_EQ(m->histogram.sample_count, 5u);
}

TEST(MetricFamiliesTest, HistogramsWithDifferentLabelsStayApart) {
  Block block(32);
  const core_internal::CounterSpec a[] = {
      {"ringflow_h", "H.", "ring=\"r\",consumer=\"a\"",
       core_internal::CounterType::kHistogramBucket, 1},
      {"ringflow_h", "H.", "ring=\"r\",consumer=\"a\"",
       core_internal::CounterType::kHistogramSum}};
  const core_internal::CounterSpec b[] = {
      {"ringflow_h", "H.", "ring=\"r\",consumer=\"b\"",
       core_internal::CounterType::kHistogramBucket, 1},
      {"ringflow_h", "H.", "ring=\"r\",consumer=\"b\"",
       core_internal::CounterType::kHistogramSum}};
  ASSERT_EQ(block->Allocate(a, nullptr), 0);
  ASSERT_EQ(block->Allocate(b, nullptr), 16);
  block->value(0).Set(1);
  block->value(1).Set(1);
  block->value(16).Set(4);
  block->value(17).Set(4);
  const auto families = Build(
      {{.ring = "r", .capacity = 8, .published = -1, .counters = block.get()}});
  const MetricFamily* h = FindFamily(families, "ringflow_h");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->metric.size(), 2u);
  const ClientMetric* ma = FindMetric(families, "ringflow_h", RC("r", "a"));
  const ClientMetric* mb = FindMetric(families, "ringflow_h", RC("r", "b"));
  ASSERT_NE(ma, nullptr);
  ASSERT_NE(mb, nullptr);
  EXPECT_EQ(ma->histogram.sample_count, 1u);
  EXPECT_EQ(mb->histogram.sample_count, 4u);
  EXPECT_EQ(mb->histogram.sample_sum, 4.0);
}

TEST(MetricFamiliesTest, FreedRecordsAreNotExported) {
  Block block(32);
  const core_internal::CounterSpec spec[] = {
      {"ringflow_gone_total", "", "ring=\"r\"",
       core_internal::CounterType::kCounter}};
  ASSERT_EQ(block->Allocate(spec, nullptr), 0);
  block->Free(0, 1);
  const auto families = Build(
      {{.ring = "r", .capacity = 8, .published = -1, .counters = block.get()}});
  EXPECT_EQ(FindFamily(families, "ringflow_gone_total"), nullptr);
}

// ---- text exposition ------------------------------------------------------
TEST(MetricFamiliesTest, SerializeTextRendersEveryFamily) {
  Block block(32);
  const std::string labels = "ring=\"r\",consumer=\"c\"";
  const core_internal::CounterSpec specs[] = {
      {"ringflow_consumer_events_total", "Events.", labels,
       core_internal::CounterType::kCounter},
      {"ringflow_consumer_batch_size_events", "Sizes.", labels,
       core_internal::CounterType::kHistogramBucket, 1},
      {"ringflow_consumer_batch_size_events", "Sizes.", labels,
       core_internal::CounterType::kHistogramBucket, kInfLe},
      {"ringflow_consumer_batch_size_events", "Sizes.", labels,
       core_internal::CounterType::kHistogramSum}};
  ASSERT_EQ(block->Allocate(specs, nullptr), 0);
  block->value(0).Set(1'000'003);
  block->value(1).Set(2);
  block->value(2).Set(1);
  block->value(3).Set(1'000'003);
  const std::string text = SerializeText(Build({{.ring = "r",
                                                 .capacity = 1 << 20,
                                                 .published = 1'000'002,
                                                 .consumers = {{"c", 999'999}},
                                                 .counters = block.get()}}));
  const Exposition e = ParseExposition(text);
  EXPECT_THAT(e.errors, IsEmpty()) << text;
  EXPECT_EQ(e.types.at("ringflow_consumer_events_total"), "counter");
  EXPECT_EQ(e.types.at("ringflow_consumer_batch_size_events"), "histogram");
  EXPECT_EQ(e.types.at("ringflow_consumer_lag_events"), "gauge");
  EXPECT_EQ(e.helps.at("ringflow_consumer_events_total"), "Events.");
  EXPECT_THAT(e.Value("ringflow_events_published_total", R("r")),
              Optional(1'000'003.0));
  EXPECT_THAT(e.Value("ringflow_consumer_events_total", RC("r", "c")),
              Optional(1'000'003.0));
  EXPECT_THAT(e.Value("ringflow_consumer_lag_events", RC("r", "c")),
              Optional(1'000'002.0 - 999'999.0));
  MetricLabels le1 = RC("r", "c");
  le1["le"] = "1";
  MetricLabels le_inf = RC("r", "c");
  le_inf["le"] = "+Inf";
  EXPECT_THAT(e.Value("ringflow_consumer_batch_size_events_bucket", le1),
              Optional(2.0));
  EXPECT_THAT(e.Value("ringflow_consumer_batch_size_events_bucket", le_inf),
              Optional(3.0));
  EXPECT_THAT(
      e.Value("ringflow_consumer_batch_size_events_count", RC("r", "c")),
      Optional(3.0));
  EXPECT_THAT(e.Value("ringflow_consumer_batch_size_events_sum", RC("r", "c")),
              Optional(1'000'003.0));
}

}  // namespace
}  // namespace ringflow::observability
