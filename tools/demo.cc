// tools/demo.cc — `ringflow demo`, the main job.
//
// A producer publishes ticks into a ring; an in-process handler graph
// (journal ∥ risk → matcher) processes them; a progress line prints each
// second and a summary table ends the run. Every reader verifies every
// event: sequence continuity (0 lost, 0 duplicated), payload (the slot holds
// the tick published for its sequence), pipeline annotations (the matcher
// sees the journal's and risk's writes) and an order-independent checksum
// against the producer's.

#include "tools/demo.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringflow/observability/metrics_exporter.h"
#include "ringflow/observability/ring_metrics_source.h"
#include "ringflow/ringflow.h"
#include "tools/command_line.h"
#include "tools/http_get.h"
#include "tools/latency_histogram.h"
#include "tools/tick.h"

ABSL_FLAG(int64_t, events, 0,
          "ticks to publish; 0 publishes for --seconds instead");
ABSL_FLAG(double, seconds, 3.0, "how long to publish when --events=0");
ABSL_FLAG(int64_t, capacity, 65'536, "ring capacity (a power of two)");
ABSL_FLAG(std::string, wait_strategy, "blocking",
          "busy-spin | yielding | sleeping | blocking");
ABSL_FLAG(std::string, producer, "single", "single | multi");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "where to serve /metrics (host:port; port 0 picks a free one)");

namespace ringflow::tools {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Journal {
 public:
  void OnEvent(Tick& tick, int64_t sequence, bool) {
    verifier_.Observe(tick, sequence);
    tick.journaled = sequence;
  }
  std::string_view Name() const { return "journal"; }
  const StreamVerifier& verifier() const { return verifier_; }

 private:
  StreamVerifier verifier_;
};

class Risk {
 public:
  void OnEvent(Tick& tick, int64_t sequence, bool) {
    verifier_.Observe(tick, sequence);
    tick.notional = tick.price * tick.quantity;
    tick.risk_checked = sequence;
  }
  std::string_view Name() const { return "risk"; }
  const StreamVerifier& verifier() const { return verifier_; }

 private:
  StreamVerifier verifier_;
};

class Matcher {
 public:
  void OnEvent(Tick& tick, int64_t sequence, bool) {
    const int64_t now = NowNanos();
    verifier_.Observe(tick, sequence);
    // The diamond's guarantee: both upstream stages wrote this slot first.
    if (tick.journaled != sequence || tick.risk_checked != sequence ||
        tick.notional != tick.price * tick.quantity) {
      ++missing_upstream_;
    }
    volume_[tick.instrument] += tick.quantity;
    latency_.Record(now - tick.publish_ns);
  }
  std::string_view Name() const { return "matcher"; }
  const StreamVerifier& verifier() const { return verifier_; }
  int64_t missing_upstream() const { return missing_upstream_; }
  const LatencyHistogram& latency() const { return latency_; }

 private:
  StreamVerifier verifier_;
  int64_t missing_upstream_ = 0;
  int64_t volume_[kInstruments] = {};
  LatencyHistogram latency_;
};

absl::Status RunDemo(const DemoOptions& options) {
  DisruptorOptions disruptor_options;
  disruptor_options.ring = options.ring;
  disruptor_options.ring.name = "demo";
  auto disruptor = Disruptor<Tick>::Create(disruptor_options);
  if (!disruptor.ok()) return disruptor.status();
  Disruptor<Tick>& d = **disruptor;

  Journal journal;
  Risk risk;
  Matcher matcher;
  d.HandleEventsWith(journal, risk).Then(matcher);
  RINGFLOW_RETURN_IF_ERROR(d.Start());

  // The metrics endpoint; if the address is taken (another demo running),
  // fall back to any free loopback port rather than fail.
  auto exporter = observability::MetricsExporter::Create(
      {.listen_address = options.metrics_address});
  if (!exporter.ok() && absl::IsUnavailable(exporter.status())) {
    std::printf("  note: %s; using a free port instead\n",
                std::string(exporter.status().message()).c_str());
    exporter = observability::MetricsExporter::Create(
        {.listen_address = "127.0.0.1:0"});
  }
  if (!exporter.ok()) return exporter.status();
  (*exporter)->Add(
      std::make_shared<observability::RingMetricsSource<Tick>>(d.ring()));

  if (options.events > 0) {
    std::printf("ringflow demo: %s ticks through journal | risk -> matcher\n",
                WithSeparators(options.events).c_str());
  } else {
    std::printf(
        "ringflow demo: %.1f s of ticks through journal | risk -> "
        "matcher\n",
        options.seconds);
  }
  std::printf("  metrics: %s\n", (*exporter)->url().c_str());
  std::printf(
      "  ring: capacity %s, %s producer, %s wait strategy\n",
      WithSeparators(options.ring.capacity).c_str(),
      std::string(ProducerTypeName(options.ring.producer_type)).c_str(),
      std::string(WaitStrategyName(options.ring.wait_strategy)).c_str());

  std::atomic<bool> producer_done{false};
  uint64_t published_checksum = 0;
  int64_t published = 0;
  const int64_t start_ns = NowNanos();
  const int64_t stop_ns =
      start_ns + static_cast<int64_t>(options.seconds * 1e9);
  std::thread producer([&] {
    const auto publish_one = [&] {
      d.PublishEvent([&](Tick& tick, int64_t sequence) {
        FillTick(tick, sequence);
        published_checksum += Checksum(tick);
        tick.publish_ns = NowNanos();
      });
      ++published;
    };
    if (options.events > 0) {
      while (published < options.events) publish_one();
    } else {
      while ((published & 1023) != 0 || NowNanos() < stop_ns) publish_one();
    }
    // Release: pairs with the acquire load below; published_checksum is
    // read after the join anyway.
    producer_done.store(true, std::memory_order_release);
  });

  // Progress: one line per second until the producer is done.
  int64_t last_report = start_ns;
  int64_t last_matched = -1;
  while (!producer_done.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t now = NowNanos();
    if (now - last_report < 1'000'000'000) continue;
    const int64_t cursor = d.ring().Cursor();
    int64_t slowest = cursor;
    d.ForEachProcessor([&](const std::string&, const Sequence& s) {
      slowest = std::min(slowest, s.LoadAcquire());
    });
    const double seconds = static_cast<double>(now - last_report) / 1e9;
    std::printf(
        "[%5.1fs] published %s  processed %s  lag %s  %.2f M events/s\n",
        static_cast<double>(now - start_ns) / 1e9,
        WithSeparators(cursor + 1).c_str(), WithSeparators(slowest + 1).c_str(),
        WithSeparators(cursor - slowest).c_str(),
        static_cast<double>(slowest - last_matched) / seconds / 1e6);
    std::fflush(stdout);
    last_report = now;
    last_matched = slowest;
  }
  producer.join();
  RINGFLOW_RETURN_IF_ERROR(d.Shutdown(absl::Seconds(30)));
  const int64_t events = published;
  const int64_t elapsed_ns = NowNanos() - start_ns;

  struct Row {
    const char* name;
    const StreamVerifier* v;
  };
  const Row rows[] = {{"journal", &journal.verifier()},
                      {"risk", &risk.verifier()},
                      {"matcher", &matcher.verifier()}};
  std::printf("\n%-10s %14s %8s %11s %8s %9s\n", "stage", "events", "lost",
              "duplicated", "corrupt", "checksum");
  bool ok = matcher.missing_upstream() == 0;
  int64_t lost = 0;
  int64_t duplicated = 0;
  for (const Row& row : rows) {
    const bool checksum_ok = row.v->checksum() == published_checksum;
    const int64_t row_lost = row.v->lost() + (events - row.v->next_expected());
    lost += row_lost;
    duplicated += row.v->duplicated();
    ok = ok && checksum_ok && row_lost == 0 && row.v->duplicated() == 0 &&
         row.v->corrupt() == 0 && row.v->count() == events;
    std::printf("%-10s %14s %8lld %11lld %8lld %9s\n", row.name,
                WithSeparators(row.v->count()).c_str(),
                static_cast<long long>(row_lost),
                static_cast<long long>(row.v->duplicated()),
                static_cast<long long>(row.v->corrupt()),
                checksum_ok ? "ok" : "MISMATCH");
  }
  const LatencyHistogram& lat = matcher.latency();
  std::printf("\nthroughput  %.2f M events/s (%s events in %.2f s)\n",
              static_cast<double>(events) /
                  (static_cast<double>(elapsed_ns) / 1e9) / 1e6,
              WithSeparators(events).c_str(),
              static_cast<double>(elapsed_ns) / 1e9);
  std::printf(
      "latency     publish -> matcher: p50 %s  p99 %s  p99.9 %s  max %s\n",
      FormatNanos(lat.Percentile(0.50)).c_str(),
      FormatNanos(lat.Percentile(0.99)).c_str(),
      FormatNanos(lat.Percentile(0.999)).c_str(),
      FormatNanos(lat.max()).c_str());
  std::printf(
      "upstream    matcher saw journal+risk writes on every event: %s\n",
      matcher.missing_upstream() == 0 ? "yes" : "NO");
  // Read the final counters back through the endpoint, as Prometheus would.
  const std::string host =
      (*exporter)->address().substr(0, (*exporter)->address().rfind(':'));
  absl::StatusOr<std::string> scrape =
      HttpGet(host, (*exporter)->port(), "/metrics");
  if (!scrape.ok()) return scrape.status();
  const std::map<std::string, double> metrics = ParseExposition(*scrape);
  const auto metric = [&](const std::string& key) {
    auto it = metrics.find(key);
    return it == metrics.end() ? -1.0 : it->second;
  };
  const double published_metric =
      metric("ringflow_events_published_total{ring=\"demo\"}");
  std::printf("\nmetrics     read back from %s\n", (*exporter)->url().c_str());
  std::printf("  %-64s %12.0f\n",
              "ringflow_events_published_total{ring=\"demo\"}",
              published_metric);
  ok = ok && published_metric == static_cast<double>(events);
  for (const char* consumer : {"journal", "risk", "matcher"}) {
    const std::string key =
        absl::StrCat("ringflow_consumer_events_total{ring=\"demo\",consumer=\"",
                     consumer, "\"}");
    const double value = metric(key);
    ok = ok && value == static_cast<double>(events);
    std::printf("  %-64s %12.0f\n", key.c_str(), value);
  }
  for (const char* name :
       {"ringflow_producer_full_waits_total{ring=\"demo\"}",
        "ringflow_consumer_batches_total{ring=\"demo\",consumer=\"matcher\"}",
        "ringflow_consumer_max_lag_events{ring=\"demo\",consumer="
        "\"matcher\"}"}) {
    std::printf("  %-64s %12.0f\n", name, metric(name));
  }

  std::printf("verified: %s events, %lld lost, %lld duplicated\n",
              WithSeparators(matcher.verifier().count()).c_str(),
              static_cast<long long>(lost), static_cast<long long>(duplicated));
  if (!ok) {
    return absl::DataLossError("verification failed: see the table above");
  }
  return absl::OkStatus();
}

}  // namespace

int DemoCommand(int argc, char** argv) {
  ParseCommandFlags(argc, argv,
                    "ringflow demo [--seconds=S | --events=N] [--capacity=N] "
                    "[--wait_strategy=S] [--producer=single|multi] "
                    "[--metrics_address=HOST:PORT]");
  DemoOptions options;
  options.events = absl::GetFlag(FLAGS_events);
  options.seconds = absl::GetFlag(FLAGS_seconds);
  options.ring.capacity = absl::GetFlag(FLAGS_capacity);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  auto wait = ParseWaitStrategy(absl::GetFlag(FLAGS_wait_strategy));
  auto producer = ParseProducerType(absl::GetFlag(FLAGS_producer));
  absl::Status status = !wait.ok() ? wait.status() : producer.status();
  if (status.ok() && options.events < 0) {
    status = absl::InvalidArgumentError(
        absl::StrCat("--events=", options.events, " must not be negative"));
  }
  if (status.ok() && options.events == 0 &&
      !(options.seconds > 0 && options.seconds <= 3600)) {
    status = absl::InvalidArgumentError(
        absl::StrCat("--seconds=", options.seconds, " must be in (0, 3600]"));
  }
  if (status.ok()) {
    options.ring.wait_strategy = *wait;
    options.ring.producer_type = *producer;
    status = RunDemo(options);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "ringflow demo: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace ringflow::tools
