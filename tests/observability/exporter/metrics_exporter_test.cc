// Tests for MetricsExporter over HTTP: listen-address validation (every
// malformed address named, never a crash), port 0 and the loopback
// default, an address in use, and real scrapes with curl while a Disruptor
// graph runs and after it drains: exact published and consumed counts,
// values that never go down, Prometheus naming conventions, the documented
// family set, and `promtool check metrics` clean. Also option validation,
// and raw-socket scrapes answered while idle and trickling clients hold
// connections open.

#include "ringflow/observability/metrics_exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/observability/metric_families.h"
#include "ringflow/observability/ring_metrics_source.h"
#include "ringflow/processors/disruptor.h"
#include "support/obs_exposition.h"
#include "support/obs_process.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow::observability {
namespace {

using ::ringflow::testing::CommandResult;
using ::ringflow::testing::Events;
using ::ringflow::testing::Exposition;
using ::ringflow::testing::ListeningAddresses;
using ::ringflow::testing::MetricLabels;
using ::ringflow::testing::ParseExposition;
using ::ringflow::testing::ReadFile;
using ::ringflow::testing::RunCommand;
using ::ringflow::testing::ShellQuote;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TempDir;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::StartsWith;

using D = Disruptor<TestEvent>;

constexpr absl::Duration kDrainTimeout = absl::Seconds(120);
constexpr char kLoopbackHex[] = "0100007F";  // 127.0.0.1 in /proc/net/tcp

std::unique_ptr<MetricsExporter> MakeExporter(
    const std::string& address = "127.0.0.1:0") {
  auto exporter = MetricsExporter::Create({.listen_address = address});
  EXPECT_OK(exporter.status());
  return exporter.ok() ? std::move(exporter).value() : nullptr;
}

// GETs `url` with curl into `file`; the body, or empty when curl failed or
// the status was not 200 (`why` says which).
std::optional<std::string> Curl(const std::string& url,
                                const std::filesystem::path& file,
                                std::string* why) {
  const CommandResult r =
      RunCommand("curl -sS --max-time 30 -o " + ShellQuote(file.string()) +
                 " -w '%{http_code}' " + ShellQuote(url) + " 2>&1");
  if (r.exit_code != 0 || r.output != "200") {
    *why = "curl exit " + std::to_string(r.exit_code) + ": " + r.output;
    return std::nullopt;
  }
  return ReadFile(file);
}

// Runs `promtool check metrics` on a saved scrape.
CommandResult Promtool(const std::filesystem::path& file) {
  return RunCommand("promtool check metrics < " + ShellQuote(file.string()) +
                    " 2>&1");
}

bool HavePromtool() {
  return RunCommand("command -v promtool >/dev/null 2>&1").exit_code == 0;
}

bool IsRingflow(std::string_view name) {
  return name.rfind("ringflow_", 0) == 0;
}

// The ringflow_ part of a scrape. prometheus-cpp's Exposer adds its own
// exposer_* families to every scrape (see
// EveryServedMetricIsRingflowsOrTheExposersOwn).
Exposition RingflowOnly(const Exposition& e) {
  Exposition out;
  out.errors = e.errors;
  for (const auto& s : e.samples) {
    if (IsRingflow(s.name)) out.samples.push_back(s);
  }
  for (const auto& [name, type] : e.types) {
    if (IsRingflow(name)) out.types[name] = type;
  }
  for (const auto& [name, help] : e.helps) {
    if (IsRingflow(name)) out.helps[name] = help;
  }
  return out;
}

// The samples of an exposition as comparable tuples.
std::vector<std::tuple<std::string, MetricLabels, double>> SampleTuples(
    const Exposition& e) {
  std::vector<std::tuple<std::string, MetricLabels, double>> out;
  for (const auto& s : e.samples) out.emplace_back(s.name, s.labels, s.value);
  return out;
}

// ---- options and addresses ------------------------------------------------

TEST(MetricsExporterOptionsTest, DefaultsToLoopbackPort9464) {
  const MetricsExporterOptions options;
  EXPECT_EQ(options.listen_address, "127.0.0.1:9464");
  EXPECT_EQ(options.http_threads, 8);
  EXPECT_EQ(options.request_timeout, absl::Seconds(2));
  EXPECT_OK(ValidateListenAddress(options.listen_address));
}

TEST(ValidateListenAddressTest, AcceptsHostAndPort) {
  for (const std::string address :
       {"127.0.0.1:0", "127.0.0.1:9464", "0.0.0.0:80", "255.255.255.255:65535",
        "localhost:9464", "[::1]:9464", "[::]:0", "10.0.0.1:1"}) {
    EXPECT_OK(ValidateListenAddress(address)) << address;
  }
}

TEST(ValidateListenAddressTest, RejectsMalformedAddressesByName) {
  for (const std::string address :
       {"127.0.0.1", "host:99999", "1.2.3:80", "[zz]:1", ":80", "",
        "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1:65536", "127.0.0.1:8o",
        "127.0.0.1:+80", "256.0.0.1:80", "1.2.3.4.5:80", "1..2.3:80",
        "example.com:80", "[::1:80", "127.0.0.1:80 ", " 127.0.0.1:80"}) {
    EXPECT_THAT(ValidateListenAddress(address),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("'" + address + "'")))
        << "'" << address << "'";
  }
}

TEST(MetricsExporterTest, CreateRejectsMalformedAddressesByName) {
  for (const std::string address :
       {"127.0.0.1", "host:99999", "1.2.3:80", "[zz]:1", ":80"}) {
    EXPECT_THAT(MetricsExporter::Create({.listen_address = address}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("'" + address + "'")))
        << "'" << address << "'";
  }
}

TEST(MetricsExporterTest, CreateRejectsBadThreadCounts) {
  for (int threads : {0, -1, 65}) {
    EXPECT_THAT(MetricsExporter::Create(
                    {.listen_address = "127.0.0.1:0", .http_threads = threads}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("http_threads " + std::to_string(threads))));
  }
}

TEST(MetricsExporterTest, CreateRejectsBadRequestTimeoutsByValue) {
  for (const absl::Duration timeout :
       {absl::ZeroDuration(), absl::Milliseconds(99), -absl::Seconds(1),
        absl::Seconds(61), absl::InfiniteDuration()}) {
    EXPECT_THAT(MetricsExporter::Create({.listen_address = "127.0.0.1:0",
                                         .request_timeout = timeout}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("request_timeout " +
                                         absl::FormatDuration(timeout) + " "),
                               HasSubstr("[100ms, 1m]"))))
        << timeout;
  }
}

TEST(MetricsExporterTest, CreateAcceptsTheBoundsOfItsOptions) {
  for (const MetricsExporterOptions& options :
       {MetricsExporterOptions{.listen_address = "127.0.0.1:0",
       .http_threads = 1,
       .request_timeout = kMinRequestTimeout},
        MetricsExporterOptions{.listen_address = "127.0.0.1:0",
        .http_threads = kMaxHttpThreads,
        .request_timeout = kMaxRequestTimeout}}) {
    auto exporter = MetricsExporter::Create(options);
    EXPECT_OK(exporter.status()) << options.http_threads;
    if (exporter.ok()) {
      EXPECT_GT((*exporter)->port(), 0);
    }
  }
}

// ---- binding --------------------------------------------------------------

TEST(MetricsExporterTest, PortZeroTakesAFreeLoopbackPort) {
  auto exporter = MakeExporter();
  ASSERT_NE(exporter, nullptr);
  const int port = exporter->port();
  EXPECT_GT(port, 0);
  EXPECT_LE(port, 65535);
  EXPECT_EQ(exporter->address(), "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(exporter->url(),
            "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  // Bound to loopback only, never every interface.
  EXPECT_THAT(ListeningAddresses(port), ElementsAre(kLoopbackHex));
}

TEST(MetricsExporterTest, DefaultOptionsBindLoopbackPort9464) {
  if (!::ringflow::testing::LoopbackPortIsFree(9464)) {
    GTEST_SKIP() << "127.0.0.1:9464 is in use on this machine";
  }
  auto created = MetricsExporter::Create({});
  if (!created.ok() &&
      created.status().code() == absl::StatusCode::kUnavailable &&
      !::ringflow::testing::LoopbackPortIsFree(9464)) {
    // Another process took the port between the check and Create.
    GTEST_SKIP() << "127.0.0.1:9464 was taken meanwhile: " << created.status();
  }
  ASSERT_OK_AND_ASSIGN(auto exporter, std::move(created));
  EXPECT_EQ(exporter->port(), 9464);
  EXPECT_THAT(exporter->address(), StartsWith("127.0.0.1:"));
  EXPECT_EQ(exporter->address(), "127.0.0.1:9464");
  EXPECT_THAT(ListeningAddresses(9464), ElementsAre(kLoopbackHex));
}

TEST(MetricsExporterTest, AnAddressInUseIsUnavailableAndNamed) {
  auto first = MakeExporter();
  ASSERT_NE(first, nullptr);
  const std::string address = first->address();
  EXPECT_THAT(MetricsExporter::Create({.listen_address = address}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(address)));
  // The first one still serves.
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string why;
  EXPECT_TRUE(Curl(first->url(), dir.path() / "scrape.txt", &why).has_value())
      << why;
}

TEST(MetricsExporterTest, AnAddressHeldByAnotherSocketIsUnavailable) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string address =
      "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  EXPECT_THAT(MetricsExporter::Create({.listen_address = address}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(address)));
  ::close(fd);
}

TEST(MetricsExporterTest, AnAddressOfAnotherHostIsUnavailable) {
  // 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
  EXPECT_THAT(
      MetricsExporter::Create({.listen_address = "192.0.2.1:0"}),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("192.0.2.1:0")));
}

// ---- scraping -------------------------------------------------------------
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

TEST(MetricsExporterTest, AnExporterWithoutSourcesServesNoRingSeries) {
  auto exporter = MakeExporter();
  ASSERT_NE(exporter, nullptr);
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string why;
  const auto body = Curl(exporter->url(), dir.path() / "scrape.txt", &why);
  ASSERT_TRUE(body.has_value()) << why;
  const Exposition e = ParseExposition(*body);
  EXPECT_THAT(e.errors, IsEmpty());
  EXPECT_THAT(RingflowOnly(e).samples, IsEmpty()) << *body;
  EXPECT_EQ(exporter->ScrapeText(), "");
}

// The families and types of docs/metrics.md, exactly.
const std::map<std::string, std::string>& DocumentedFamilies() {
  static const auto* families = new std::map<std::string, std::string>{
      {"ringflow_events_published_total", "counter"},
      {"ringflow_ring_capacity_events", "gauge"},
      {"ringflow_ring_remaining_capacity_events", "gauge"},
      {"ringflow_producer_full_waits_total", "counter"},
      {"ringflow_producer_try_next_failures_total", "counter"},
      {"ringflow_consumer_sequence", "gauge"},
      {"ringflow_consumer_lag_events", "gauge"},
      {"ringflow_consumer_max_lag_events", "gauge"},
      {"ringflow_consumer_events_total", "counter"},
      {"ringflow_consumer_batches_total", "counter"},
      {"ringflow_consumer_empty_polls_total", "counter"},
      {"ringflow_consumer_handler_exceptions_total", "counter"},
      {"ringflow_consumer_batch_size_events", "histogram"},
  };
  return *families;
}

// Naming conventions: ringflow_ prefix, _total on counters, histogram
// samples only as _bucket/_sum/_count, every sample of a declared family.
void ExpectPrometheusNaming(const Exposition& e) {
  for (const auto& [family, type] : e.types) {
    EXPECT_THAT(family, StartsWith("ringflow_"));
    if (type == "counter") {
      EXPECT_THAT(family, ::testing::EndsWith("_total"));
    }
    EXPECT_TRUE(e.helps.count(family)) << family << " has no HELP";
  }
  for (const auto& s : e.samples) {
    EXPECT_THAT(s.name, StartsWith("ringflow_"));
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string_view sv(suffix);
      if (!e.types.count(family) && family.size() > sv.size() &&
          family.compare(family.size() - sv.size(), sv.size(), sv) == 0) {
        family.resize(family.size() - sv.size());
      }
    }
    ASSERT_TRUE(e.types.count(family)) << s.name << " has no TYPE";
    if (e.types.at(family) == "histogram") {
      EXPECT_NE(s.name, family) << "a histogram sample without a suffix";
    }
    EXPECT_TRUE(s.labels.count("ring")) << s.name;
  }
}

// A graph runs while curl scrapes the exporter; then it drains and a last
// scrape reports exactly what was published and consumed.
TEST(MetricsExporterTest, ScrapesWhileAGraphRunsAndAfterItDrains) {
  const bool have_promtool = HavePromtool();
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string ring = "exported";
  DisruptorOptions options;
  options.ring = {
      .capacity = 1024, .producer_type = ProducerType::kSingle, .name = ring};
  ASSERT_OK_AND_ASSIGN(auto d, D::Create(options));
  NamedHandler journal("journal"), risk("risk");
  d->HandleEventsWith(journal, risk);
  ASSERT_OK(d->Start());
  auto exporter = MakeExporter();  // destroyed before the Disruptor
  ASSERT_NE(exporter, nullptr);
  exporter->Add(std::make_shared<RingMetricsSource<TestEvent>>(d->ring()));

  // The producer publishes until the test has scraped enough (bounded).
  const int64_t limit = Events(20'000'000);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> published{0};
  std::thread producer([&] {
    int64_t n = 0;
    // Acquire: pairs with the test's release store.
    while (n < limit && !stop.load(std::memory_order_acquire)) {
      if (!d->PublishEvent(
              [](TestEvent& e, int64_t seq) { e.value = ValueOf(seq); })) {
        break;
      }
      ++n;
    }
    // Release: pairs with the test's acquire load after join.
    published.store(n, std::memory_order_release);
  });

  std::map<std::string, double> last;
  int64_t regressions = 0;
  auto check_monotonic = [&](const std::string& key, std::optional<double> v) {
    ASSERT_TRUE(v.has_value()) << key;
    auto [it, inserted] = last.try_emplace(key, *v);
    if (!inserted) {
      if (*v < it->second) ++regressions;
      it->second = *v;
    }
  };
  const MetricLabels ring_label{{"ring", ring}};
  constexpr int kScrapes = 5;
  for (int i = 0; i < kScrapes; ++i) {
    const std::filesystem::path file =
        dir.path() / ("scrape-" + std::to_string(i) + ".txt");
    std::string why;
    const auto body = Curl(exporter->url(), file, &why);
    if (!body) {
      stop.store(true, std::memory_order_release);
      producer.join();
      FAIL() << why;
    }
    const Exposition e = ParseExposition(*body);
    EXPECT_THAT(e.errors, IsEmpty()) << "scrape " << i;
    check_monotonic("published",
                    e.Value("ringflow_events_published_total", ring_label));
    for (const std::string consumer : {"journal", "risk"}) {
      const MetricLabels labels{{"ring", ring}, {"consumer", consumer}};
      check_monotonic(consumer + " events",
                      e.Value("ringflow_consumer_events_total", labels));
      check_monotonic(consumer + " batches",
                      e.Value("ringflow_consumer_batches_total", labels));
      check_monotonic(consumer + " sequence",
                      e.Value("ringflow_consumer_sequence", labels));
    }
    if (i == kScrapes / 2 && have_promtool) {
      const CommandResult lint = Promtool(file);
      EXPECT_EQ(lint.exit_code, 0) << lint.output;
    }
  }
  // Release: pairs with the producer's acquire load.
  stop.store(true, std::memory_order_release);
  producer.join();
  const int64_t n = published.load(std::memory_order_acquire);
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(regressions, 0);

  const std::filesystem::path file = dir.path() / "final.txt";
  std::string why;
  const auto body = Curl(exporter->url(), file, &why);
  ASSERT_TRUE(body.has_value()) << why;
  const Exposition e = ParseExposition(*body);
  EXPECT_THAT(e.errors, IsEmpty());
  EXPECT_THAT(e.Value("ringflow_events_published_total", ring_label),
              Optional(static_cast<double>(n)));
  EXPECT_GE(e.Value("ringflow_events_published_total", ring_label).value_or(0),
            last["published"]);
  for (const NamedHandler* h : {&journal, &risk}) {
    const std::string name(h->Name());
    const MetricLabels labels{{"ring", ring}, {"consumer", name}};
    EXPECT_EQ(h->handled(), n) << name;
    EXPECT_EQ(h->mismatches(), 0) << name;
    EXPECT_THAT(e.Value("ringflow_consumer_events_total", labels),
                Optional(static_cast<double>(n)))
        << name;
    EXPECT_THAT(e.Value("ringflow_consumer_lag_events", labels), Optional(0.0))
        << name;
    EXPECT_THAT(e.Value("ringflow_consumer_sequence", labels),
                Optional(static_cast<double>(n - 1)))
        << name;
    EXPECT_THAT(e.Value("ringflow_consumer_batch_size_events_sum", labels),
                Optional(static_cast<double>(n)))
        << name;
    EXPECT_EQ(e.Value("ringflow_consumer_batch_size_events_count", labels),
              e.Value("ringflow_consumer_batches_total", labels))
        << name;
  }
  EXPECT_THAT(e.Value("ringflow_ring_remaining_capacity_events", ring_label),
              Optional(1024.0));
  // The documented families, exactly, with their types.
  const Exposition ours = RingflowOnly(e);
  EXPECT_EQ(ours.types, DocumentedFamilies());
  ExpectPrometheusNaming(ours);
  // The HTTP body serves what ScrapeText renders (the graph has drained:
  // nothing changes between the two).
  const Exposition text = ParseExposition(exporter->ScrapeText());
  EXPECT_THAT(text.errors, IsEmpty());
  EXPECT_EQ(SampleTuples(ours), SampleTuples(text));

  if (!have_promtool) GTEST_SKIP() << "promtool not installed";
  const CommandResult lint = Promtool(file);
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
}

TEST(MetricsExporterTest, ServesSeveralRingsAndForgetsRemovedOnes) {
  ASSERT_OK_AND_ASSIGN(
      auto a, RingBuffer<TestEvent>::Create({.capacity = 8, .name = "ring-a"}));
  ASSERT_OK_AND_ASSIGN(auto b, RingBuffer<TestEvent>::Create(
                                   {.capacity = 16, .name = "ring-b"}));
  ASSERT_TRUE(::ringflow::testing::PublishValues(*a, 3));
  ASSERT_TRUE(::ringflow::testing::PublishValues(*b, 5));
  auto exporter = MakeExporter();
  ASSERT_NE(exporter, nullptr);
  auto source_a = std::make_shared<RingMetricsSource<TestEvent>>(*a);
  auto source_b = std::make_shared<RingMetricsSource<TestEvent>>(*b);
  exporter->Add(source_a);
  exporter->Add(source_b);
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string why;
  auto body = Curl(exporter->url(), dir.path() / "both.txt", &why);
  ASSERT_TRUE(body.has_value()) << why;
  Exposition e = ParseExposition(*body);
  EXPECT_THAT(e.Value("ringflow_events_published_total", {{"ring", "ring-a"}}),
              Optional(3.0));
  EXPECT_THAT(e.Value("ringflow_events_published_total", {{"ring", "ring-b"}}),
              Optional(5.0));
  EXPECT_EQ(e.Count("ringflow_events_published_total"), 2u);

  exporter->Remove(source_a.get());
  body = Curl(exporter->url(), dir.path() / "one.txt", &why);
  ASSERT_TRUE(body.has_value()) << why;
  e = ParseExposition(*body);
  EXPECT_EQ(e.Value("ringflow_events_published_total", {{"ring", "ring-a"}}),
            std::nullopt);
  EXPECT_THAT(e.Value("ringflow_events_published_total", {{"ring", "ring-b"}}),
              Optional(5.0));
  for (const auto& s : RingflowOnly(e).samples) {
    ASSERT_TRUE(s.labels.count("ring")) << s.name;
    EXPECT_EQ(s.labels.at("ring"), "ring-b") << s.name;
  }
}

TEST(MetricsExporterTest, CollectMatchesBuildMetricFamilies) {
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TestEvent>::Create(
                                      {.capacity = 8, .name = "direct"}));
  ASSERT_TRUE(::ringflow::testing::PublishValues(*ring, 6));
  auto exporter = MakeExporter();
  ASSERT_NE(exporter, nullptr);
  auto source = std::make_shared<RingMetricsSource<TestEvent>>(*ring);
  exporter->Add(source);
  const RingSnapshot snapshot = source->Snapshot();
  EXPECT_EQ(SerializeText(exporter->Collect()),
            SerializeText(BuildMetricFamilies(
                std::span<const RingSnapshot>(&snapshot, 1))));
  EXPECT_THAT(::ringflow::testing::Value(exporter->Collect(),
                                         "ringflow_events_published_total",
                                         {{"ring", "direct"}}),
              Optional(6.0));
}

// prometheus-cpp's Exposer serves three metrics of its own on every
// endpoint (exposer_transferred_bytes_total, exposer_scrapes_total,
// exposer_request_latencies) and 1.0.1 cannot switch them off; docs/metrics.md
// lists them as the one exception. Everything else is ringflow_ with a ring
// label.
TEST(MetricsExporterTest, EveryServedMetricIsRingflowsOrTheExposersOwn) {
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TestEvent>::Create(
                                      {.capacity = 8, .name = "prefix"}));
  auto exporter = MakeExporter();
  ASSERT_NE(exporter, nullptr);
  exporter->Add(std::make_shared<RingMetricsSource<TestEvent>>(*ring));
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string why;
  const auto body = Curl(exporter->url(), dir.path() / "scrape.txt", &why);
  ASSERT_TRUE(body.has_value()) << why;
  const Exposition e = ParseExposition(*body);
  const auto exposer_own = [](const std::string& name) {
    return name.rfind("exposer_transferred_bytes_total", 0) == 0 ||
           name.rfind("exposer_scrapes_total", 0) == 0 ||
           name.rfind("exposer_request_latencies", 0) == 0;
  };
  int ringflow_families = 0;
  for (const auto& [family, type] : e.types) {
    if (exposer_own(family)) continue;
    EXPECT_TRUE(IsRingflow(family)) << family << " (" << type << ")";
    ++ringflow_families;
  }
  EXPECT_GT(ringflow_families, 0);
  for (const auto& sample : e.samples) {
    if (exposer_own(sample.name)) continue;
    EXPECT_TRUE(IsRingflow(sample.name)) << sample.name;
    EXPECT_TRUE(sample.labels.count("ring")) << sample.name;
  }
}

// ---- slow clients ---------------------------------------------------------
// Idle connections (connected, nothing sent) and clients that trickle a
// request line that never ends must not keep a scrape from being answered.
// The scrape's deadline is a hang guard, not a timing assertion: far above
// the request timeout and the time the scrape normally takes, far below
// civetweb's own 30 s default, so a server that lets slow clients hold its
// threads fails the test instead of passing late.
constexpr absl::Duration kScrapeDeadline = absl::Seconds(10);
// How often a trickling client sends one more byte: more often than any
// request timeout, so a timeout that restarts with every byte never fires.
constexpr absl::Duration kTrickleInterval = absl::Milliseconds(200);

// A TCP connection to 127.0.0.1:port, closed on destruction (also when an
// assertion fails part way).
class LoopbackClient {
 public:
  explicit LoopbackClient(int port)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr),
                  sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~LoopbackClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Sends all of `data`. False when the peer closed or reset the connection
  // (MSG_NOSIGNAL: no SIGPIPE).
  bool Send(std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int fd_ = -1;
};

// Clients that never finish a request: `idle` connect and send nothing;
// `trickling` send the start of a request line and then one more byte of
// its path on each Trickle(), never a line end.
class SlowClients {
 public:
  SlowClients(int port, int idle, int trickling) {
    for (int i = 0; i < idle; ++i) {
      idle_.push_back(std::make_unique<LoopbackClient>(port));
    }
    for (int i = 0; i < trickling; ++i) {
      auto client = std::make_unique<LoopbackClient>(port);
      if (client->connected() && client->Send("GET /metr")) {
        trickling_.push_back(std::move(client));
      } else {
        ok_ = false;
      }
    }
    for (const auto& client : idle_) ok_ = ok_ && client->connected();
  }

  // Every client connected (and the trickling ones sent their first bytes).
  bool ok() const { return ok_; }

  // One more byte on each trickling connection the server has not closed.
  void Trickle() {
    for (auto& client : trickling_) {
      if (client != nullptr && !client->Send("e")) client.reset();
    }
  }

 private:
  bool ok_ = true;
  std::vector<std::unique_ptr<LoopbackClient>> idle_;
  std::vector<std::unique_ptr<LoopbackClient>> trickling_;  // null: closed
};

struct HttpResponse {
  std::string status_line;  // "HTTP/1.1 200 OK"
  std::string headers;      // the header lines after it, each with its CRLF
  std::string body;
};

// GETs /metrics from 127.0.0.1:port on a new connection and reads the
// whole response (the request asks the server to close). While waiting,
// calls `tick` every kTrickleInterval. nullopt, with `why`, when the
// response is not complete within kScrapeDeadline or is malformed.
template <typename Tick>
std::optional<HttpResponse> RawScrape(int port, Tick&& tick, std::string* why) {
  LoopbackClient client(port);
  if (!client.connected()) {
    *why = "cannot connect to the exporter";
    return std::nullopt;
  }
  if (!client.Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Connection: close\r\n\r\n")) {
    *why = "cannot send the request";
    return std::nullopt;
  }
  const absl::Time deadline = absl::Now() + kScrapeDeadline;
  absl::Time next_tick = absl::Now() + kTrickleInterval;
  std::string raw;
  for (;;) {
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      *why = absl::StrCat("no complete response within ",
                          absl::FormatDuration(kScrapeDeadline), " (got ",
                          raw.size(), " bytes)");
      return std::nullopt;
    }
    if (now >= next_tick) {
      tick();
      next_tick = now + kTrickleInterval;
    }
    pollfd pfd{.fd = client.fd(), .events = POLLIN, .revents = 0};
    const int wait_ms = static_cast<int>(
        absl::ToInt64Milliseconds(std::min(deadline, next_tick) - now) + 1);
    const int ready = ::poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno != EINTR) {
      *why = absl::StrCat("poll failed: errno ", errno);
      return std::nullopt;
    }
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(client.fd(), buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      *why = absl::StrCat("recv failed: errno ", errno, " after ", raw.size(),
                          " bytes");
      return std::nullopt;
    }
    if (n == 0) break;  // the server closed: the response is complete
    raw.append(buffer, static_cast<size_t>(n));
  }
  const size_t status_end = raw.find("\r\n");
  const size_t headers_end = raw.find("\r\n\r\n");
  if (status_end == std::string::npos || headers_end == std::string::npos) {
    *why = "no HTTP header in: " + raw;
    return std::nullopt;
  }
  HttpResponse response;
  response.status_line = raw.substr(0, status_end);
  response.headers = raw.substr(status_end + 2, headers_end - status_end);
  response.body = raw.substr(headers_end + 4);
  return response;
}

// Scrapes with `slow` connected (trickling while it waits) and checks the
// response: 200, the declared length, and `ring`'s published count.
void ExpectScrapeServedDespite(SlowClients& slow, int port,
                               const std::string& ring, int64_t published) {
  std::string why;
  const std::optional<HttpResponse> response = RawScrape(
      port, [&] { slow.Trickle(); }, &why);
  ASSERT_TRUE(response.has_value()) << why;
  EXPECT_EQ(response->status_line, "HTTP/1.1 200 OK");
  EXPECT_THAT(response->headers,
              HasSubstr(absl::StrCat("Content-Length: ", response->body.size(),
                                     "\r\n")));
  const Exposition e = ParseExposition(response->body);
  EXPECT_THAT(e.errors, IsEmpty());
  EXPECT_THAT(e.Value("ringflow_events_published_total", {{"ring", ring}}),
              Optional(static_cast<double>(published)))
      << response->body;
  EXPECT_THAT(e.Value("ringflow_ring_capacity_events", {{"ring", ring}}),
              Optional(8.0));
}

// Debian's civetweb 1.15 dates its error replies with gmtime(), which is
// not thread-safe: two trickling clients dropped by two worker threads at
// once race there (ThreadSanitizer sees it). So at most one worker thread
// per test ever drops a trickling client: one trickler beside many
// threads, or several on a single thread.

// One thread and a 1 s request timeout: the scrape, queued behind an idle
// client and two trickling ones, is answered only once all three were
// dropped, the trickling ones too (civetweb counts the timeout from the
// connection's start, not from its last byte). About 3 s, well inside
// kScrapeDeadline; without the timeout the scrape is not answered in it.
TEST(MetricsExporterSlowClientTest,
     RequestTimeoutFreesTheThreadHeldBySlowClients) {
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TestEvent>::Create(
                                      {.capacity = 8, .name = "busy"}));
  ASSERT_TRUE(::ringflow::testing::PublishValues(*ring, 7));
  ASSERT_OK_AND_ASSIGN(
      auto exporter,
      MetricsExporter::Create({.listen_address = "127.0.0.1:0",
                               .http_threads = 1,
                               .request_timeout = absl::Seconds(1)}));
  exporter->Add(std::make_shared<RingMetricsSource<TestEvent>>(*ring));
  SlowClients slow(exporter->port(), /*idle=*/1, /*trickling=*/2);
  ASSERT_TRUE(slow.ok());
  ExpectScrapeServedDespite(slow, exporter->port(), "busy", 7);
}

// With the default options, a handful of idle and trickling clients leave
// threads free: the scrape is answered at once. (The old setup, 2 threads
// and civetweb's 30 s request timeout, left it waiting past the deadline.)
TEST(MetricsExporterSlowClientTest, DefaultsServeAScrapeBesideIdleClients) {
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TestEvent>::Create(
                                      {.capacity = 8, .name = "busy"}));
  ASSERT_TRUE(::ringflow::testing::PublishValues(*ring, 5));
  auto exporter = MakeExporter();
  ASSERT_NE(exporter, nullptr);
  exporter->Add(std::make_shared<RingMetricsSource<TestEvent>>(*ring));
  SlowClients slow(exporter->port(), /*idle=*/4, /*trickling=*/1);
  ASSERT_TRUE(slow.ok());
  ExpectScrapeServedDespite(slow, exporter->port(), "busy", 5);
}

}  // namespace
}  // namespace ringflow::observability
