// Concurrency tests of a ring's instrumentation: a Disruptor graph of named
// handlers counts every event, batch and histogram sample exactly (and a
// scraper thread reading concurrently sees monotonic values); exception
// policies count every exception; duplicate handler names get suffixes;
// producers that wait on a full ring or are refused by TryNext are counted
// exactly; worker pools count per worker.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/observability/metric_families.h"
#include "ringflow/observability/ring_metrics_source.h"
#include "ringflow/processors/disruptor.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/exception_policy.h"
#include "support/obs_exposition.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::ringflow::observability::BuildMetricFamilies;
using ::ringflow::observability::RingMetricsSource;
using ::ringflow::observability::RingSnapshot;
using ::ringflow::testing::Events;
using ::ringflow::testing::FindMetric;
using ::ringflow::testing::MetricLabels;
using ::ringflow::testing::PublishValues;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::Value;
using ::ringflow::testing::ValueOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

using D = Disruptor<TestEvent>;
using Ring = RingBuffer<TestEvent>;

constexpr absl::Duration kDrainTimeout = absl::Seconds(120);

std::vector<MetricFamily> Scrape(const Ring& ring) {
  const RingSnapshot snapshot = RingMetricsSource<TestEvent>(ring).Snapshot();
  return BuildMetricFamilies(std::span<const RingSnapshot>(&snapshot, 1));
}

MetricLabels RingLabel(const std::string& ring) { return {{"ring", ring}}; }
MetricLabels ConsumerLabels(const std::string& ring,
                            const std::string& consumer) {
  return {{"ring", ring}, {"consumer", consumer}};
}

std::optional<double> ConsumerValue(const std::vector<MetricFamily>& families,
                                    std::string_view name,
                                    const std::string& ring,
                                    const std::string& consumer) {
  return Value(families, name, ConsumerLabels(ring, consumer));
}

// The batch-size histogram of one consumer: non-cumulative bucket counts,
// count and sum.
struct Histogram {
  std::map<double, uint64_t> buckets;  // only non-empty buckets
  uint64_t bucket_total = 0;
  uint64_t count = 0;
  double sum = 0;
  bool found = false;
};

Histogram HistogramOf(const std::vector<MetricFamily>& families,
                      const std::string& ring, const std::string& consumer) {
  Histogram h;
  const ClientMetric* m =
      FindMetric(families, "ringflow_consumer_batch_size_events",
                 ConsumerLabels(ring, consumer));
  if (m == nullptr) return h;
  h.found = true;
  uint64_t previous = 0;
  for (const ClientMetric::Bucket& b : m->histogram.bucket) {
    if (b.cumulative_count < previous) return Histogram{};  // not cumulative
    if (b.cumulative_count != previous) {
      h.buckets[b.upper_bound] = b.cumulative_count - previous;
    }
    h.bucket_total += b.cumulative_count - previous;
    previous = b.cumulative_count;
  }
  h.count = m->histogram.sample_count;
  h.sum = m->histogram.sample_sum;
  return h;
}

// Counts events and checks their values. Read after Shutdown/Halt joined
// the processor threads.
class NamedHandler {
 public:
  explicit NamedHandler(std::string name) : name_(std::move(name)) {}
  std::string_view Name() const { return name_; }
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value != ValueOf(sequence)) ++mismatches_;
    ++handled_;
  }
  int64_t handled() const { return handled_; }
  int64_t mismatches() const { return mismatches_; }

 private:
  std::string name_;
  int64_t handled_ = 0;
  int64_t mismatches_ = 0;
};

// Throws on every sequence for which `throws(sequence)` holds.
class ThrowingHandler {
 public:
  ThrowingHandler(std::string name, std::function<bool(int64_t)> throws)
      : name_(std::move(name)), throws_(std::move(throws)) {}
  std::string_view Name() const { return name_; }
  void OnEvent(TestEvent& /*event*/, int64_t sequence, bool /*end*/) {
    ++calls_;
    if (throws_(sequence)) throw std::runtime_error("injected failure");
    ++handled_;
  }
  int64_t handled() const { return handled_; }
  int64_t calls() const { return calls_; }

 private:
  std::string name_;
  std::function<bool(int64_t)> throws_;
  int64_t handled_ = 0;
  int64_t calls_ = 0;
};

bool PublishN(D& d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!d.PublishEvent(
            [](TestEvent& e, int64_t seq) { e.value = ValueOf(seq); })) {
      return false;
    }
  }
  return true;
}

// ---- a graph of named handlers --------------------------------------------

struct GraphCase {
  ProducerType producer_type;
  int producers;
  int64_t max_batch_size;
};

class DisruptorMetricsTest : public ::testing::TestWithParam<GraphCase> {};

// Diamond a, b -> c on a small ring; producers publish N in total while a
// scraper thread reads the metrics continuously. Afterwards every count is
// exact.
TEST_P(DisruptorMetricsTest, EveryHandlerCountsEveryEventAndBatch) {
  const GraphCase param = GetParam();
  const int64_t n = Events(100'000) / param.producers * param.producers;
  const int64_t capacity = 256;
  const std::string ring_name = "diamond";
  DisruptorOptions options;
  options.ring = {.capacity = capacity,
                  .producer_type = param.producer_type,
                  .wait_strategy = WaitStrategyKind::kYielding,
                  .name = ring_name};
  options.max_batch_size = param.max_batch_size;
  ASSERT_OK_AND_ASSIGN(auto d, D::Create(options));
  NamedHandler a("a"), b("b"), c("c");
  d->HandleEventsWith(a, b).Then(c);
  ASSERT_OK(d->Start());

  // The scraper: values never go down; lag and free space stay in range.
  std::atomic<bool> stop{false};
  int64_t scrapes = 0;
  int64_t regressions = 0;
  std::string first_regression;
  int64_t out_of_range = 0;
  std::thread scraper([&] {
    std::map<std::string, double> last;
    auto check = [&](const std::string& key, std::optional<double> v) {
      if (!v) return;  // consumer not registered yet: never the case here
      auto [it, inserted] = last.try_emplace(key, *v);
      if (!inserted) {
        if (*v < it->second && ++regressions == 1) {
          first_regression = key + " went from " + std::to_string(it->second) +
                             " to " + std::to_string(*v);
        }
        it->second = *v;
      }
    };
    // Acquire: pairs with the release store after the producers joined.
    while (!stop.load(std::memory_order_acquire)) {
      const auto families = Scrape(d->ring());
      // Monotonic for both producer types (regression:
      // PublishedSequenceNeverGoesBackWithManyProducers).
      check("published", Value(families, "ringflow_events_published_total",
                               RingLabel(ring_name)));
      for (const std::string consumer : {"a", "b", "c"}) {
        for (const char* metric :
             {"ringflow_consumer_events_total",
              "ringflow_consumer_batches_total", "ringflow_consumer_sequence",
              "ringflow_consumer_max_lag_events"}) {
          check(consumer + metric,
                ConsumerValue(families, metric, ring_name, consumer));
        }
        const auto lag = ConsumerValue(families, "ringflow_consumer_lag_events",
                                       ring_name, consumer);
        if (!lag || *lag < 0) ++out_of_range;
      }
      const auto remaining =
          Value(families, "ringflow_ring_remaining_capacity_events",
                RingLabel(ring_name));
      if (!remaining || *remaining < 0 || *remaining > capacity) {
        ++out_of_range;
      }
      ++scrapes;
    }
  });

  std::vector<std::thread> producers;
  std::atomic<int64_t> refused{0};
  for (int p = 0; p < param.producers; ++p) {
    producers.emplace_back([&] {
      if (!PublishN(*d, n / param.producers)) refused.fetch_add(1);
    });
  }
  for (auto& t : producers) t.join();
  EXPECT_OK(d->Shutdown(kDrainTimeout));
  // Release: pairs with the scraper's acquire load.
  stop.store(true, std::memory_order_release);
  scraper.join();

  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(regressions, 0) << "first: " << first_regression;
  EXPECT_EQ(out_of_range, 0);
  EXPECT_GE(scrapes, 1);

  const auto families = Scrape(d->ring());
  EXPECT_THAT(
      Value(families, "ringflow_events_published_total", RingLabel(ring_name)),
      Optional(static_cast<double>(n)));
  EXPECT_THAT(Value(families, "ringflow_ring_remaining_capacity_events",
                    RingLabel(ring_name)),
              Optional(static_cast<double>(capacity)));
  EXPECT_THAT(Value(families, "ringflow_producer_full_waits_total",
                    RingLabel(ring_name)),
              Optional(static_cast<double>(d->ring().full_waits())));
  EXPECT_THAT(Value(families, "ringflow_producer_try_next_failures_total",
                    RingLabel(ring_name)),
              Optional(0.0));
  for (const NamedHandler* h : {&a, &b, &c}) {
    const std::string name(h->Name());
    SCOPED_TRACE("handler " + name);
    EXPECT_EQ(h->handled(), n);
    EXPECT_EQ(h->mismatches(), 0);
    EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_events_total",
                              ring_name, name),
                Optional(static_cast<double>(n)));
    EXPECT_THAT(
        ConsumerValue(families, "ringflow_consumer_sequence", ring_name, name),
        Optional(static_cast<double>(n - 1)));
    EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_lag_events",
                              ring_name, name),
                Optional(0.0));
    EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_empty_polls_total",
                              ring_name, name),
                Optional(0.0));
    EXPECT_THAT(
        ConsumerValue(families, "ringflow_consumer_handler_exceptions_total",
                      ring_name, name),
        Optional(0.0));
    const std::optional<double> batches = ConsumerValue(
        families, "ringflow_consumer_batches_total", ring_name, name);
    ASSERT_TRUE(batches.has_value());
    const Histogram hist = HistogramOf(families, ring_name, name);
    ASSERT_TRUE(hist.found);
    EXPECT_EQ(static_cast<double>(hist.bucket_total), *batches);
    EXPECT_EQ(static_cast<double>(hist.count), *batches);
    EXPECT_EQ(hist.sum, static_cast<double>(n));
    // A batch never exceeds the ring, nor max_batch_size.
    const double largest =
        static_cast<double>(std::min(capacity, param.max_batch_size));
    for (const auto& [le, count] : hist.buckets) {
      EXPECT_LT(le / 2, largest) << count << " batches in bucket le=" << le;
    }
    EXPECT_GE(*batches, static_cast<double>(n) / largest);
    EXPECT_LE(*batches, static_cast<double>(n));
    const std::optional<double> max_lag = ConsumerValue(
        families, "ringflow_consumer_max_lag_events", ring_name, name);
    ASSERT_TRUE(max_lag.has_value());
    EXPECT_GE(*max_lag, 1.0);
    EXPECT_LE(*max_lag, static_cast<double>(capacity));
    if (param.max_batch_size == 1) {
      EXPECT_EQ(hist.buckets,
                (std::map<double, uint64_t>{{1, static_cast<uint64_t>(n)}}));
      EXPECT_EQ(*batches, static_cast<double>(n));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Graphs, DisruptorMetricsTest,
    ::testing::Values(GraphCase{ProducerType::kSingle, 1,
                                std::numeric_limits<int64_t>::max()},
                      GraphCase{ProducerType::kMulti, 3,
                                std::numeric_limits<int64_t>::max()},
                      GraphCase{ProducerType::kSingle, 1, 1},
                      GraphCase{ProducerType::kMulti, 2, 4}),
    [](const ::testing::TestParamInfo<GraphCase>& p) {
      return std::string(ProducerTypeName(p.param.producer_type)) + "_" +
             std::to_string(p.param.producers) + "producers_" +
             (p.param.max_batch_size == std::numeric_limits<int64_t>::max()
                  ? std::string("unbounded")
                  : "max" + std::to_string(p.param.max_batch_size));
    });

// BUG (core/include/ringflow/core/ring_buffer.h, RingBuffer::
// PublishedSequence, with core/include/ringflow/core/published_cursor.h,
// PublishedCursor::Published): for ProducerType::kMulti the scan starts at
// max(cursor - capacity + 1, slowest consumer + 1) computed from one cursor
// load, then Published() reloads the cursor and stops at the first slot
// whose availability entry is != its sequence. If producers and consumers
// move on while the reader scans (or is preempted), that slot already
// holds a *later lap* (entry == s + capacity), and the result is s - 1:
// lower than a value returned before. So ringflow_events_published_total,
// a counter, goes backwards on scrapes of a busy multi-producer ring
// (observed drops of 76 to 173 events on a 256-slot ring; Prometheus reads
// that as a counter reset). Treating an entry >= s as published (as
// IsPublished does) would keep the result monotonic.
TEST(RingMetricsConcurrentTest,
     PublishedSequenceNeverGoesBackWithManyProducers) {
  constexpr int kProducers = 3;
  const int64_t per_producer = Events(100'000);
  DisruptorOptions options;
  options.ring = {.capacity = 256,
                  .producer_type = ProducerType::kMulti,
                  .wait_strategy = WaitStrategyKind::kYielding,
                  .name = "mono"};
  ASSERT_OK_AND_ASSIGN(auto d, D::Create(options));
  NamedHandler a("a");
  d->HandleEventsWith(a);
  ASSERT_OK(d->Start());

  std::atomic<bool> stop{false};
  int64_t regressions = 0;
  std::string first_regression;
  std::thread reader([&] {
    int64_t last = -1;
    // Acquire: pairs with the release store after the producers joined.
    while (!stop.load(std::memory_order_acquire)) {
      const int64_t now = d->ring().PublishedSequence();
      if (now < last && ++regressions == 1) {
        first_regression =
            std::to_string(last) + " then " + std::to_string(now);
      }
      last = std::max(last, now);
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&] { PublishN(*d, per_producer); });
  }
  for (auto& t : producers) t.join();
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  // Release: pairs with the reader's acquire load.
  stop.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(regressions, 0) << "first: " << first_regression;
  EXPECT_EQ(d->ring().PublishedSequence(), kProducers * per_producer - 1);
}

// ---- exceptions -----------------------------------------------------------

TEST(RingMetricsConcurrentTest, LogAndContinueCountsEveryException) {
  const int64_t n = 2'000;
  DisruptorOptions options;
  options.ring = {.capacity = 64, .name = "lac"};
  options.exception_policy = ExceptionPolicy::LogAndContinue();
  ASSERT_OK_AND_ASSIGN(auto d, D::Create(options));
  ThrowingHandler thrower("thrower",
                          [](int64_t seq) { return seq % 97 == 13; });
  NamedHandler after("after");
  d->HandleEventsWith(thrower).Then(after);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishN(*d, n));
  ASSERT_OK(d->Shutdown(kDrainTimeout));

  int64_t expected = 0;
  for (int64_t s = 0; s < n; ++s) expected += s % 97 == 13 ? 1 : 0;
  ASSERT_EQ(expected, 21);
  const auto families = Scrape(d->ring());
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_handler_exceptions_total",
                    "lac", "thrower"),
      Optional(static_cast<double>(expected)));
  EXPECT_EQ(thrower.handled(), n - expected);
  // Every event was handed to the handler, throwing or not.
  EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_events_total", "lac",
                            "thrower"),
              Optional(static_cast<double>(n)));
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_handler_exceptions_total",
                    "lac", "after"),
      Optional(0.0));
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_events_total", "lac", "after"),
      Optional(static_cast<double>(n)));
}

TEST(RingMetricsConcurrentTest, RewindCountsEveryAttempt) {
  DisruptorOptions options;
  options.ring = {.capacity = 64, .name = "rewind"};
  options.exception_policy = ExceptionPolicy::Rewind(2);
  ASSERT_OK_AND_ASSIGN(auto d, D::Create(options));
  ThrowingHandler thrower("thrower", [](int64_t seq) { return seq == 5; });
  d->HandleEventsWith(thrower);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishN(*d, 10));
  EXPECT_THAT(d->Shutdown(kDrainTimeout),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("thrower")));
  // Two rewinds, then the third failure halts.
  EXPECT_THAT(ConsumerValue(Scrape(d->ring()),
                            "ringflow_consumer_handler_exceptions_total",
                            "rewind", "thrower"),
              Optional(3.0));
}

class ThrowsOnStart {
 public:
  std::string_view Name() const { return "starter"; }
  void OnStart() { throw std::runtime_error("cannot start"); }
  void OnEvent(TestEvent& /*event*/, int64_t /*sequence*/, bool /*end*/) {}
};

TEST(RingMetricsConcurrentTest, LifecycleExceptionsAreCounted) {
  ASSERT_OK_AND_ASSIGN(auto d,
                       D::Create({.ring = {.capacity = 16, .name = "life"}}));
  ThrowsOnStart handler;
  d->HandleEventsWith(handler);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishN(*d, 3));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  const auto families = Scrape(d->ring());
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_handler_exceptions_total",
                    "life", "starter"),
      Optional(1.0));
  EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_events_total", "life",
                            "starter"),
              Optional(3.0));
}

// BUG (processors/include/ringflow/processors/batch_event_processor.h,
// Loop): counters_.OnBatch(end - next + 1, ...) counts the whole batch
// before ProcessBatch runs. When ExceptionPolicy::Halt stops the
// processor in the middle of the batch, the events after the failing one
// were never handed to the handler, yet ringflow_consumer_events_total
// (docs/metrics.md: "events handed to the consumer's handler") and the
// batch-size sum include them; they also disagree with the consumer's own
// sequence (halted at failed - 1). Here all 20 events are published before
// Start, so the first batch is exactly [0, 19]; the handler throws at 10
// and is handed events 0..10, but the counter says 20. (EventPoller::Poll
// counts only the events handled before a throw, as documented.)
TEST(RingMetricsConcurrentTest, HaltCountsOnlyTheEventsHandedOver) {
  DisruptorOptions options;
  options.ring = {.capacity = 64, .name = "halt"};
  ASSERT_OK_AND_ASSIGN(auto d, D::Create(options));
  ThrowingHandler thrower("thrower", [](int64_t seq) { return seq == 10; });
  d->HandleEventsWith(thrower);
  ASSERT_TRUE(PublishN(*d, 20));  // before Start: one batch of 20
  ASSERT_OK(d->Start());
  EXPECT_THAT(d->Shutdown(kDrainTimeout),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("thrower")));
  ASSERT_EQ(thrower.calls(), 11);
  const auto families = Scrape(d->ring());
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_handler_exceptions_total",
                    "halt", "thrower"),
      Optional(1.0));
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_sequence", "halt", "thrower"),
      Optional(9.0));
  EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_events_total", "halt",
                            "thrower"),
              Optional(11.0));
}

TEST(RingMetricsConcurrentTest, HaltCountsTheOneException) {
  DisruptorOptions options;
  options.ring = {.capacity = 64, .name = "halt1"};
  ASSERT_OK_AND_ASSIGN(auto d, D::Create(options));
  ThrowingHandler thrower("thrower", [](int64_t seq) { return seq == 10; });
  d->HandleEventsWith(thrower);
  ASSERT_TRUE(PublishN(*d, 20));
  ASSERT_OK(d->Start());
  EXPECT_THAT(d->Shutdown(kDrainTimeout),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("thrower")));
  const auto families = Scrape(d->ring());
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_handler_exceptions_total",
                    "halt1", "thrower"),
      Optional(1.0));
  EXPECT_THAT(
      ConsumerValue(families, "ringflow_consumer_sequence", "halt1", "thrower"),
      Optional(9.0));
  EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_lag_events", "halt1",
                            "thrower"),
              Optional(10.0));
}

// ---- names ----------------------------------------------------------------

TEST(RingMetricsConcurrentTest, DuplicateHandlerNamesGetSuffixes) {
  const int64_t n = Events(20'000);
  ASSERT_OK_AND_ASSIGN(auto d,
                       D::Create({.ring = {.capacity = 128, .name = "dups"}}));
  NamedHandler x1("x"), x2("x"), x3("x");
  d->HandleEventsWith(x1, x2).Then(x3);
  std::vector<std::string> names;
  d->ForEachProcessor(
      [&](const std::string& name, const Sequence&) { names.push_back(name); });
  EXPECT_THAT(names, ElementsAre("x", "x#2", "x#3"));
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishN(*d, n));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  const auto families = Scrape(d->ring());
  for (const std::string name : {"x", "x#2", "x#3"}) {
    EXPECT_THAT(
        ConsumerValue(families, "ringflow_consumer_events_total", "dups", name),
        Optional(static_cast<double>(n)))
        << name;
  }
}

class BadlyNamed {
 public:
  std::string_view Name() const { return "bad name!"; }
  void OnEvent(TestEvent& /*event*/, int64_t /*sequence*/, bool /*end*/) {}
};

TEST(RingMetricsConcurrentTest, AnInvalidHandlerNameFailsStartByName) {
  ASSERT_OK_AND_ASSIGN(auto d, D::Create({.ring = {.capacity = 16}}));
  BadlyNamed handler;
  d->HandleEventsWith(handler);
  EXPECT_THAT(d->Start(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("'bad name!'")));
}

TEST(RingMetricsConcurrentTest, AnInvalidRingNameFailsCreateByName) {
  EXPECT_THAT(
      D::Create({.ring = {.capacity = 16, .name = "bad name!"}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'bad name!'")));
}

// ---- producer counters ----------------------------------------------------
class FullWaitTest : public ::testing::TestWithParam<ProducerType> {};

// Producers block on a full ring; the test waits until the counter shows
// each wait (the wait is counted when it begins), then frees the ring.
TEST_P(FullWaitTest, EveryWaitOnAFullRingIsCounted) {
  const int producers = GetParam() == ProducerType::kSingle ? 1 : 3;
  ASSERT_OK_AND_ASSIGN(
      auto ring,
      Ring::Create({.capacity = 4, .producer_type = GetParam(), .name = "w"}));
  ASSERT_OK_AND_ASSIGN(
      auto poller, EventPoller<TestEvent>::Create(*ring, {}, {.name = "gate"}));
  ASSERT_TRUE(PublishValues(*ring, 4));
  EXPECT_EQ(ring->full_waits(), 0u);

  std::vector<std::thread> threads;
  std::atomic<int> published{0};
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&] {
      const bool ok = ring->PublishEvent(
          [](TestEvent& e, int64_t s) { e.value = ValueOf(s); });
      if (ok) published.fetch_add(1);
    });
  }
  const bool all_waiting = SpinUntil(
      [&] { return ring->full_waits() == static_cast<uint64_t>(producers); });
  // Free the ring: drain until every producer has published and every
  // event was consumed.
  int64_t consumed = 0;
  const bool drained = all_waiting && SpinUntil([&] {
                         poller->Poll([&](const TestEvent& e, int64_t s, bool) {
                           if (e.value == ValueOf(s)) ++consumed;
                         });
                         return consumed == 4 + producers;
                       });
  if (!drained) ring->Halt();  // never leave a producer blocked
  for (auto& t : threads) t.join();
  ASSERT_TRUE(all_waiting) << "full_waits() is " << ring->full_waits();
  ASSERT_TRUE(drained) << consumed << " events consumed";
  EXPECT_EQ(published.load(), producers);
  EXPECT_EQ(consumed, 4 + producers);
  EXPECT_EQ(ring->full_waits(), static_cast<uint64_t>(producers));
  EXPECT_EQ(ring->try_next_failures(), 0u);
  EXPECT_THAT(Value(Scrape(*ring), "ringflow_producer_full_waits_total",
                    RingLabel("w")),
              Optional(static_cast<double>(producers)));
}

TEST_P(FullWaitTest, AWaitEndedByHaltIsCounted) {
  ASSERT_OK_AND_ASSIGN(
      auto ring,
      Ring::Create({.capacity = 4, .producer_type = GetParam(), .name = "h"}));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle gate,
                       ring->RegisterConsumer("gate"));
  ASSERT_TRUE(PublishValues(*ring, 4));
  std::optional<int64_t> claimed = 0;
  std::thread producer([&] { claimed = ring->Next(); });
  const bool waiting = SpinUntil([&] { return ring->full_waits() == 1; });
  ring->Halt();
  producer.join();
  ASSERT_TRUE(waiting);
  EXPECT_EQ(claimed, std::nullopt);
  EXPECT_EQ(ring->full_waits(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Producers, FullWaitTest,
                         ::testing::Values(ProducerType::kSingle,
                                           ProducerType::kMulti),
                         [](const ::testing::TestParamInfo<ProducerType>& p) {
                           return std::string(ProducerTypeName(p.param));
                         });

// Several producers hammer TryPublishEvent on a ring nobody consumes:
// exactly `capacity` succeed and every other call is a counted failure.
TEST(RingMetricsConcurrentTest, TryNextFailuresFromManyProducersAreExact) {
  constexpr int kProducers = 4;
  const int64_t attempts = Events(20'000);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create({.capacity = 8,
                                     .producer_type = ProducerType::kMulti,
                                     .name = "try"}));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle gate,
                       ring->RegisterConsumer("gate"));
  std::atomic<int64_t> succeeded{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&] {
      for (int64_t i = 0; i < attempts; ++i) {
        if (ring->TryPublishEvent([](TestEvent&, int64_t) {})) {
          succeeded.fetch_add(1);
        } else {
          failed.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 8);
  EXPECT_EQ(failed.load(), kProducers * attempts - 8);
  EXPECT_EQ(ring->try_next_failures(), static_cast<uint64_t>(failed.load()));
  EXPECT_THAT(Value(Scrape(*ring), "ringflow_producer_try_next_failures_total",
                    RingLabel("try")),
              Optional(static_cast<double>(failed.load())));
}

// ---- worker pools ---------------------------------------------------------
class PoolWorker {
 public:
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end*/) {
    if (event.value != ValueOf(sequence)) ++mismatches_;
    ++handled_;
  }
  int64_t handled() const { return handled_; }
  int64_t mismatches() const { return mismatches_; }

 private:
  int64_t handled_ = 0;
  int64_t mismatches_ = 0;
};

TEST(RingMetricsConcurrentTest, WorkerPoolCountsEachWorkersEvents) {
  const int64_t n = Events(50'000);
  ASSERT_OK_AND_ASSIGN(auto d,
                       D::Create({.ring = {.capacity = 256, .name = "pool"}}));
  std::vector<PoolWorker> workers(3);
  d->HandleEventsWithWorkerPool(std::span<PoolWorker>(workers));
  std::vector<std::string> names;
  d->ForEachProcessor(
      [&](const std::string& name, const Sequence&) { names.push_back(name); });
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishN(*d, n));
  ASSERT_OK(d->Shutdown(kDrainTimeout));

  EXPECT_THAT(names, ElementsAre("PoolWorker", "PoolWorker#2", "PoolWorker#3"));
  const auto families = Scrape(d->ring());
  double total = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    SCOPED_TRACE(names.at(i));
    EXPECT_EQ(workers[i].mismatches(), 0);
    const auto events = ConsumerValue(
        families, "ringflow_consumer_events_total", "pool", names.at(i));
    ASSERT_TRUE(events.has_value());
    EXPECT_EQ(*events, static_cast<double>(workers[i].handled()));
    total += *events;
    // A worker takes one event at a time.
    EXPECT_THAT(ConsumerValue(families, "ringflow_consumer_batches_total",
                              "pool", names.at(i)),
                Optional(*events));
    const Histogram hist = HistogramOf(families, "pool", names.at(i));
    EXPECT_EQ(hist.sum, *events);
    if (*events > 0) {
      EXPECT_EQ(
          hist.buckets,
          (std::map<double, uint64_t>{{1, static_cast<uint64_t>(*events)}}));
    }
  }
  EXPECT_EQ(total, static_cast<double>(n));
}

}  // namespace
}  // namespace ringflow
