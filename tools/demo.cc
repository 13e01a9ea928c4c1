// tools/demo.cc — `ringflow demo`, the main job.
//
// A producer publishes ticks into a ring in shared memory; an in-process
// handler graph (journal ∥ risk → matcher) runs on that ring; two consumer
// processes (`ringflow consume`) attach to it by name; the metrics endpoint
// serves the ring's counters. A progress line prints each second and a
// summary table ends the run. Every reader verifies every event: sequence
// continuity (0 lost, 0 duplicated), payload (the slot holds the tick
// published for its sequence), pipeline annotations (the matcher sees the
// journal's and risk's writes) and an order-independent checksum against
// the producer's. The last tick is an end-of-stream marker for the consumer
// processes.

#include "tools/demo.h"

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "ringflow/observability/control_metrics_source.h"
#include "ringflow/observability/metrics_exporter.h"
#include "ringflow/ringflow.h"
#include "tools/byte_demo.h"
#include "tools/command_line.h"
#include "tools/http_get.h"
#include "tools/internal/child_process.h"
#include "tools/latency_histogram.h"
#include "tools/tick.h"

ABSL_FLAG(int64_t, events, 0,
          "ticks to publish, 0 to 10^12; 0 publishes for --seconds instead");
ABSL_FLAG(double, seconds, 3.0,
          "how long to publish when --events=0, 0.001 to 3600");
ABSL_FLAG(int64_t, capacity, 65'536,
          "ring capacity, a power of two from 1 to 16777216");
ABSL_FLAG(std::string, wait_strategy, "blocking",
          "busy-spin | yielding | sleeping | blocking");
ABSL_FLAG(std::string, producer, "single", "single | multi");
ABSL_FLAG(std::string, ring, "ringflow-demo", "name of the shared ring");
ABSL_FLAG(int, consumer_processes, 2,
          "consumer processes attaching to the ring (0 to 8)");
ABSL_FLAG(bool, keep, false, "keep the ring's segments after the run");
ABSL_FLAG(bool, bytes, false,
          "the second mode: variable-length records through a byte ring "
          "(--events counts records, --capacity is in bytes, "
          "--producer=multi runs two producer threads; the readers are "
          "`ringflow tail --verify` processes; no in-process graph or "
          "metrics endpoint)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "where to serve /metrics (host:port; port 0 picks a free one)");

namespace ringflow::tools {
namespace {

using tools_internal::ChildProcess;
using tools_internal::DescribeWaitStatus;
using tools_internal::SpawnOptions;

constexpr int64_t kMaxEvents = 1'000'000'000'000;
constexpr double kMinSeconds = 0.001;
constexpr double kMaxSeconds = 3600;
// 2^24 ticks are 1 GiB of /dev/shm: the demo must not fill a machine's RAM.
constexpr int64_t kMaxDemoCapacity = int64_t{1} << 24;
constexpr int kMaxConsumerProcesses = 8;

constexpr absl::string_view kDemoFlags[] = {
    "events",          "seconds", "capacity",           "wait_strategy",
    "producer",        "ring",    "consumer_processes", "keep",
    "metrics_address", "bytes"};
constexpr CommandSpec kDemoSpec{
    "demo",
    "ringflow demo [--seconds=S | --events=N] [--capacity=N] "
    "[--wait_strategy=S] [--producer=single|multi] "
    "[--metrics_address=HOST:PORT] [--ring=NAME] [--consumer_processes=N] "
    "[--keep] [--bytes]",
    kDemoFlags};

// Every numeric flag in range, before anything is created.
absl::Status ValidateDemoOptions(const DemoOptions& options) {
  RINGFLOW_RETURN_IF_ERROR(
      CheckFlagRange("events", options.events, 0, kMaxEvents));
  RINGFLOW_RETURN_IF_ERROR(
      CheckFlagRange("seconds", options.seconds, kMinSeconds, kMaxSeconds));
  const int64_t capacity = options.ring.capacity;
  if (capacity < 1 || capacity > kMaxDemoCapacity ||
      (capacity & (capacity - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--capacity: capacity ", capacity,
                     " is not a power of two in [1, ", kMaxDemoCapacity, "]"));
  }
  return CheckFlagRange("consumer_processes",
                        int64_t{options.consumer_processes}, 0,
                        kMaxConsumerProcesses);
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Journal {
 public:
  void OnEvent(Tick& tick, int64_t sequence, bool) {
    if (IsEndOfStream(tick)) return;
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
    if (IsEndOfStream(tick)) return;
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
    if (IsEndOfStream(tick)) return;
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

// What a consumer process reported in its last line.
struct ConsumerReport {
  std::string name;
  int64_t events = -1;
  int64_t lost = -1;
  int64_t duplicated = -1;
  int64_t corrupt = -1;
  uint64_t checksum = 0;
  bool done = false;
};

ConsumerReport ParseConsumerReport(const std::string& output) {
  ConsumerReport r;
  const size_t at = output.rfind("consumer ");
  if (at == std::string::npos) return r;
  std::string line = output.substr(at);
  line.erase(std::remove(line.begin(), line.end(), ','), line.end());
  char name[64] = {};
  long long events = 0, lost = 0, dup = 0, corrupt = 0;
  unsigned long long checksum = 0;
  char stopped[32] = {};
  if (std::sscanf(line.c_str(),
                  "consumer %63[^:]: %lld events %lld lost %lld duplicated "
                  "%lld corrupt checksum %llx stopped: %31s",
                  name, &events, &lost, &dup, &corrupt, &checksum,
                  stopped) == 7) {
    r = {name,
         events,
         lost,
         dup,
         corrupt,
         checksum,
         std::string(stopped) == "done"};
  }
  return r;
}

absl::Status RunDemo(const DemoOptions& options) {
  shm::SharedRingOptions ring_options;
  ring_options.ring.name = options.ring_name;
  ring_options.ring.capacity = options.ring.capacity;
  ring_options.ring.producer_type = options.ring.producer_type;
  ring_options.ring.wait_strategy = options.ring.wait_strategy;
  // A ring left by a demo that died is discarded, not resumed: the demo
  // verifies a stream from sequence 0. Remove refuses a ring in use, and a
  // live owner then makes Create fail with its pid.
  (void)shm_internal::Control::Remove(options.ring_name);
  auto ring = shm::SharedRing<Tick>::Create(ring_options, kTickTypeTag);
  if (!ring.ok()) return ring.status();
  struct Remover {
    std::string name;
    bool keep;
    ~Remover() {
      if (!keep) (void)shm_internal::Control::Remove(name);
    }
  } remover{options.ring_name, options.keep};
  auto disruptor =
      Disruptor<Tick, shm::SharedRing<Tick>>::Wrap(std::move(*ring));
  if (!disruptor.ok()) return disruptor.status();
  Disruptor<Tick, shm::SharedRing<Tick>>& d = **disruptor;

  Journal journal;
  Risk risk;
  Matcher matcher;
  d.HandleEventsWith(journal, risk).Then(matcher);
  RINGFLOW_RETURN_IF_ERROR(d.Start());

  // Consumer processes attach before the first tick, so they see them all.
  RINGFLOW_ASSIGN_OR_RETURN(
      std::vector<ChildProcess> children,
      StartVerifyingProcesses("consume", options.ring_name,
                              options.consumer_processes));

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
  (*exporter)->Add(std::make_shared<observability::ControlMetricsSource>(
      d.ring().control()));

  if (options.events > 0) {
    std::printf("ringflow demo: %s ticks through journal | risk -> matcher\n",
                WithSeparators(options.events).c_str());
  } else {
    std::printf(
        "ringflow demo: %.1f s of ticks through journal | risk -> "
        "matcher\n",
        options.seconds);
  }
  std::printf(
      "  shared ring: /dev/shm/%s (+ :data), %d consumer process(es) "
      "attached\n",
      options.ring_name.c_str(), options.consumer_processes);
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
    const int64_t cursor = d.ring().PublishedSequence();
    const int64_t slowest = d.ring().control().MinimumSequence(cursor);
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
  d.PublishEvent(
      [](Tick& tick, int64_t sequence) { FillEndOfStream(tick, sequence); });
  RINGFLOW_RETURN_IF_ERROR(d.Shutdown(absl::Seconds(30)));
  const int64_t events = published;
  std::vector<ConsumerReport> reports;
  for (ChildProcess& child : children) {
    RINGFLOW_ASSIGN_OR_RETURN(const VerifierExit exit,
                              AwaitVerifyingProcess(child));
    ConsumerReport report = ParseConsumerReport(exit.output);
    if (!exit.exited_zero || report.events < 0) report.done = false;
    reports.push_back(report);
  }
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
  for (size_t i = 0; i < reports.size(); ++i) {
    const ConsumerReport& r = reports[i];
    const bool checksum_ok = r.checksum == published_checksum;
    ok = ok && r.done && checksum_ok && r.lost == 0 && r.duplicated == 0 &&
         r.corrupt == 0 && r.events == events;
    lost += std::max<int64_t>(0, events - r.events);
    duplicated += std::max<int64_t>(0, r.duplicated);
    const std::string name =
        r.name.empty() ? absl::StrCat("audit-", i + 1) : r.name;
    std::printf("%-10s %14s %8lld %11lld %8lld %9s  (process)\n", name.c_str(),
                WithSeparators(std::max<int64_t>(0, r.events)).c_str(),
                static_cast<long long>(std::max<int64_t>(0, events - r.events)),
                static_cast<long long>(r.duplicated),
                static_cast<long long>(r.corrupt),
                checksum_ok && r.done ? "ok" : "MISMATCH");
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
  const std::string ring_label =
      absl::StrCat("ring=\"", options.ring_name, "\"");
  std::printf("\nmetrics     read back from %s\n", (*exporter)->url().c_str());
  // Every count includes the end-of-stream tick: it is published and
  // consumed like any other.
  const std::string published_key =
      absl::StrCat("ringflow_events_published_total{", ring_label, "}");
  const double published_metric = metric(published_key);
  ok = ok && published_metric == static_cast<double>(events + 1);
  std::printf("  %-74s %10.0f\n", published_key.c_str(), published_metric);
  std::vector<std::string> consumers = {"journal", "risk", "matcher"};
  for (int i = 1; i <= options.consumer_processes; ++i) {
    consumers.push_back(absl::StrCat("audit-", i));
  }
  for (const std::string& consumer : consumers) {
    const std::string key =
        absl::StrCat("ringflow_consumer_events_total{", ring_label,
                     ",consumer=\"", consumer, "\"}");
    const double value = metric(key);
    ok = ok && value == static_cast<double>(events + 1);
    std::printf("  %-74s %10.0f\n", key.c_str(), value);
  }
  for (const std::string& key :
       {absl::StrCat("ringflow_producer_full_waits_total{", ring_label, "}"),
        absl::StrCat("ringflow_consumer_max_lag_events{", ring_label,
                     ",consumer=\"matcher\"}")}) {
    std::printf("  %-74s %10.0f\n", key.c_str(), metric(key));
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

absl::StatusOr<std::vector<tools_internal::ChildProcess>>
StartVerifyingProcesses(std::string_view command, const std::string& ring,
                        int count) {
  std::vector<ChildProcess> children;
  for (int i = 1; i <= count; ++i) {
    // stdin stays the demo's; stdout is the pipe the report comes back on.
    RINGFLOW_ASSIGN_OR_RETURN(
        ChildProcess child,
        ChildProcess::SpawnSelf({"ringflow", std::string(command), ring,
                                 absl::StrCat("--name=audit-", i), "--verify"},
                                {.stdin_from = SpawnOptions::Input::kInherit}));
    const std::optional<std::string> ready =
        child.ReadLine(absl::InfiniteDuration());
    if (!ready) {
      return absl::UnavailableError(
          absl::StrCat("`ringflow ", std::string(command), "` process audit-",
                       i, " closed its output"));
    }
    if (ready->find("attached") == std::string::npos) {
      return absl::InternalError(
          absl::StrCat("`ringflow ", std::string(command), "` process audit-",
                       i, " said: ", *ready));
    }
    children.push_back(std::move(child));
  }
  return children;
}

absl::StatusOr<VerifierExit> AwaitVerifyingProcess(ChildProcess& child) {
  VerifierExit exit;
  exit.output = child.ReadToEnd(absl::InfiniteDuration()).value_or("");
  const std::optional<int> status = child.Wait(absl::InfiniteDuration());
  if (!status) return absl::InternalError("waitpid: a verifying process");
  if (WIFSIGNALED(*status)) {
    return absl::AbortedError(
        absl::StrCat("a verifying process ", DescribeWaitStatus(*status)));
  }
  exit.exited_zero = WEXITSTATUS(*status) == 0;
  return exit;
}

int DemoCommand(int argc, char** argv) {
  const std::vector<std::string> args = ParseCommand(argc, argv, kDemoSpec);
  DemoOptions options;
  options.events = absl::GetFlag(FLAGS_events);
  options.seconds = absl::GetFlag(FLAGS_seconds);
  options.ring.capacity = absl::GetFlag(FLAGS_capacity);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.ring_name = absl::GetFlag(FLAGS_ring);
  options.consumer_processes = absl::GetFlag(FLAGS_consumer_processes);
  options.keep = absl::GetFlag(FLAGS_keep);
  auto wait = ParseWaitStrategy(absl::GetFlag(FLAGS_wait_strategy));
  auto producer = ParseProducerType(absl::GetFlag(FLAGS_producer));
  absl::Status status = !args.empty()
                            ? absl::InvalidArgumentError(absl::StrCat(
                                  "unexpected argument '", args[0], "'"))
                        : !wait.ok() ? wait.status()
                                     : producer.status();
  if (status.ok()) status = ValidateDemoOptions(options);
  if (status.ok()) {
    options.ring.wait_strategy = *wait;
    options.ring.producer_type = *producer;
    status =
        absl::GetFlag(FLAGS_bytes) ? RunByteDemo(options) : RunDemo(options);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "ringflow demo: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace ringflow::tools
