// End to end with a real Prometheus server: a Disruptor graph publishes N
// events and drains, a MetricsExporter serves its metrics on 127.0.0.1:0,
// and a `prometheus` child process scrapes it every second. The test asks
// Prometheus's HTTP API for ringflow_events_published_total and the
// consumers' counts and checks the exact values. Skipped when
// /usr/bin/prometheus is not installed.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/observability/metrics_exporter.h"
#include "ringflow/observability/ring_metrics_source.h"
#include "ringflow/processors/disruptor.h"
#include "support/obs_process.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"

namespace ringflow::observability {
namespace {

using ::ringflow::testing::ChildProcess;
using ::ringflow::testing::CommandResult;
using ::ringflow::testing::FileIsExecutable;
using ::ringflow::testing::FreeLoopbackPort;
using ::ringflow::testing::LoggedServerOptions;
using ::ringflow::testing::ReadFile;
using ::ringflow::testing::RunCommand;
using ::ringflow::testing::ShellQuote;
using ::ringflow::testing::TempDir;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;
using ::testing::UnorderedElementsAre;

constexpr char kPrometheus[] = "/usr/bin/prometheus";

// One series of an instant-vector query result: its labels (as the raw
// JSON of the metric object) and its value string.
struct Series {
  std::string metric;  // e.g. {"__name__":"x","consumer":"a",...}
  std::string value;   // the sample value, as Prometheus renders it
};

// The series of a /api/v1/query answer with "resultType":"vector"; empty
// when the answer is not a successful vector.
std::vector<Series> ParseVector(std::string_view json) {
  std::vector<Series> out;
  if (json.find("\"status\":\"success\"") == std::string_view::npos ||
      json.find("\"resultType\":\"vector\"") == std::string_view::npos) {
    return out;
  }
  size_t pos = 0;
  while ((pos = json.find("{\"metric\":", pos)) != std::string_view::npos) {
    const size_t metric_begin = pos + 10;
    const size_t metric_end = json.find('}', metric_begin);
    const size_t value = json.find("\"value\":[", metric_end);
    if (metric_end == std::string_view::npos ||
        value == std::string_view::npos) {
      break;
    }
    // "value":[<timestamp>,"<value>"]
    const size_t comma = json.find(',', value);
    const size_t open = json.find('"', comma);
    const size_t close = json.find('"', open + 1);
    if (comma == std::string_view::npos || open == std::string_view::npos ||
        close == std::string_view::npos) {
      break;
    }
    out.push_back(Series{
        std::string(json.substr(metric_begin, metric_end + 1 - metric_begin)),
        std::string(json.substr(open + 1, close - open - 1))});
    pos = close;
  }
  return out;
}

// Asks Prometheus for `query`; the raw JSON answer (empty on failure).
std::string Query(int port, const std::string& query) {
  const CommandResult r = RunCommand(
      "curl -sS --max-time 5 -G --data-urlencode " +
      ShellQuote("query=" + query) + " " +
      ShellQuote("http://127.0.0.1:" + std::to_string(port) + "/api/v1/query") +
      " 2>/dev/null");
  return r.exit_code == 0 ? r.output : std::string();
}

// Counts events; read after Shutdown joined the processor threads.
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

TEST(PrometheusServerTest, ScrapesTheExactCountsFromTheExporter) {
  if (!FileIsExecutable(kPrometheus)) {
    GTEST_SKIP() << kPrometheus << " is not installed";
  }
  TempDir dir;
  ASSERT_TRUE(dir.ok());

  // A graph that publishes N events and drains; its consumers stay
  // registered, so their counters stay exported.
  constexpr int64_t kEvents = 54'321;
  const std::string ring = "promtest";
  DisruptorOptions options;
  options.ring = {
      .capacity = 1024, .producer_type = ProducerType::kSingle, .name = ring};
  ASSERT_OK_AND_ASSIGN(auto d, Disruptor<TestEvent>::Create(options));
  NamedHandler journal("journal"), risk("risk");
  d->HandleEventsWith(journal, risk);
  ASSERT_OK(d->Start());
  for (int64_t i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(d->PublishEvent(
        [](TestEvent& e, int64_t seq) { e.value = ValueOf(seq); }));
  }
  ASSERT_OK(d->Shutdown(absl::Seconds(60)));
  ASSERT_EQ(journal.handled(), kEvents);
  ASSERT_EQ(risk.handled(), kEvents);
  ASSERT_EQ(journal.mismatches() + risk.mismatches(), 0);

  ASSERT_OK_AND_ASSIGN(auto exporter, MetricsExporter::Create(
                                          {.listen_address = "127.0.0.1:0"}));
  exporter->Add(std::make_shared<RingMetricsSource<TestEvent>>(d->ring()));

  const std::filesystem::path config = dir.path() / "prometheus.yml";
  {
    std::ofstream out(config);
    out << "global:\n"
           "  scrape_interval: 1s\n"
           "  evaluation_interval: 1s\n"
           "scrape_configs:\n"
           "  - job_name: ringflow\n"
           "    static_configs:\n"
           "      - targets: ['"
        << exporter->address() << "']\n";
    ASSERT_TRUE(out.good());
  }
  const int web_port = FreeLoopbackPort();
  ASSERT_GT(web_port, 0);
  const std::filesystem::path log = dir.path() / "prometheus.log";
  // Declared after `dir`: the server is stopped (SIGTERM, waitpid) before
  // its data directory is removed, whatever the test's outcome.
  absl::StatusOr<ChildProcess> server = ChildProcess::Spawn(
      {kPrometheus, "--config.file=" + config.string(),
       "--storage.tsdb.path=" + (dir.path() / "data").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(web_port),
       "--log.level=warn"},
      LoggedServerOptions(log.string()));
  ASSERT_TRUE(server.ok()) << server.status();

  // Poll the server (an external process) until its scrape shows up, with
  // a bounded number of attempts. The assertion is on the value below.
  const std::string published_query =
      "ringflow_events_published_total{ring=\"" + ring + "\"}";
  const std::string expected = std::to_string(kEvents);
  std::vector<Series> published;
  for (int attempt = 0; attempt < 400; ++attempt) {  // ~100 s at most
    ASSERT_TRUE(server->Running()) << "prometheus exited early; its log:\n"
                                   << ReadFile(log);
    published = ParseVector(Query(web_port, published_query));
    if (published.size() == 1 && published[0].value == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(published.size(), 1u) << "prometheus log:\n" << ReadFile(log);
  EXPECT_EQ(published[0].value, expected);
  EXPECT_EQ(std::stoll(published[0].value), kEvents);
  EXPECT_NE(published[0].metric.find("\"job\":\"ringflow\""), std::string::npos)
      << published[0].metric;
  EXPECT_NE(
      published[0].metric.find("\"instance\":\"" + exporter->address() + "\""),
      std::string::npos)
      << published[0].metric;

  // The same scrape carries every consumer's counters.
  const std::vector<Series> consumed = ParseVector(
      Query(web_port, "ringflow_consumer_events_total{ring=\"" + ring + "\"}"));
  std::vector<std::pair<std::string, std::string>> by_consumer;
  for (const Series& s : consumed) {
    const size_t at = s.metric.find("\"consumer\":\"");
    const size_t end = s.metric.find('"', at + 12);
    by_consumer.emplace_back(
        at == std::string::npos ? "?" : s.metric.substr(at + 12, end - at - 12),
        s.value);
  }
  EXPECT_THAT(by_consumer,
              UnorderedElementsAre(
                  std::pair<std::string, std::string>("journal", expected),
                  std::pair<std::string, std::string>("risk", expected)));

  // PromQL over the histogram: the batch sizes of both consumers sum to 2N.
  const std::vector<Series> sizes = ParseVector(Query(
      web_port,
      "sum(ringflow_consumer_batch_size_events_sum{ring=\"" + ring + "\"})"));
  ASSERT_EQ(sizes.size(), 1u);
  EXPECT_EQ(sizes[0].value, std::to_string(2 * kEvents));

  const std::vector<Series> up =
      ParseVector(Query(web_port, "up{job=\"ringflow\"}"));
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].value, "1");
}

}  // namespace
}  // namespace ringflow::observability
