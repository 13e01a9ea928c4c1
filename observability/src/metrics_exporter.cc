#include "ringflow/observability/metrics_exporter.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "ringflow/observability/metric_families.h"

namespace ringflow::observability {

// Reads every source at scrape time. Collect runs on the exposer's HTTP
// threads; the mutex guards only the list of sources, never a ring.
class MetricsExporter::Collector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<std::shared_ptr<const MetricsSource>> sources;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sources = sources_;
    }
    std::vector<RingSnapshot> snapshots;
    snapshots.reserve(sources.size());
    for (const auto& source : sources) source->Collect(snapshots);
    return BuildMetricFamilies(snapshots);
  }

  void Add(std::shared_ptr<const MetricsSource> source) {
    std::lock_guard<std::mutex> lock(mu_);
    sources_.push_back(std::move(source));
  }

  void Remove(const MetricsSource* source) {
    std::lock_guard<std::mutex> lock(mu_);
    sources_.erase(
        std::remove_if(sources_.begin(), sources_.end(),
                       [&](const auto& s) { return s.get() == source; }),
        sources_.end());
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const MetricsSource>> sources_;  // guarded by mu_
};

absl::Status ValidateListenAddress(const std::string& address) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address, "' is malformed: ", std::string(why)));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return bad("expected host:port");
  const std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  int port = 0;
  if (port_text.empty() || !absl::SimpleAtoi(port_text, &port) || port < 0 ||
      port > 65535 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    return bad("port must be a number in [0, 65535]");
  }
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 4 ||
        host.find_first_not_of("[]0123456789abcdefABCDEF:") !=
            std::string::npos) {
      return bad("bad IPv6 literal");
    }
    return absl::OkStatus();
  }
  if (host == "localhost") return absl::OkStatus();
  int parts = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = host.find('.', start);
    const std::string part = host.substr(start, dot - start);
    int value = 0;
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(part, &value) || value > 255) {
      return bad("host must be an IPv4 literal, localhost or [IPv6]");
    }
    ++parts;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts != 4)
    return bad("host must be an IPv4 literal, localhost or [IPv6]");
  return absl::OkStatus();
}

namespace {

// civetweb's options (key, value, key, value...) for validated `options`.
// civetweb's own defaults would let two silent connections hold both of
// prometheus-cpp's two threads for 30 s each (request_timeout_ms 30000).
std::vector<std::string> CivetwebOptions(
    const MetricsExporterOptions& options) {
  return {
      "listening_ports",
      options.listen_address,
      "num_threads",
      absl::StrCat(options.http_threads),
      "request_timeout_ms",
      absl::StrCat(absl::ToInt64Milliseconds(options.request_timeout)),
      "enable_keep_alive",
      "no",
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Create(
    const MetricsExporterOptions& options) {
  if (absl::Status s = ValidateListenAddress(options.listen_address); !s.ok()) {
    return s;
  }
  if (options.http_threads < 1 || options.http_threads > kMaxHttpThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("http_threads ", options.http_threads, " is outside [1, ",
                     kMaxHttpThreads, "]"));
  }
  if (options.request_timeout < kMinRequestTimeout ||
      options.request_timeout > kMaxRequestTimeout) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_timeout ", absl::FormatDuration(options.request_timeout),
        " is outside [", absl::FormatDuration(kMinRequestTimeout), ", ",
        absl::FormatDuration(kMaxRequestTimeout), "]"));
  }
  auto exporter = std::unique_ptr<MetricsExporter>(new MetricsExporter());
  exporter->collector_ = std::make_shared<Collector>();
  try {
    exporter->exposer_ =
        std::make_unique<prometheus::Exposer>(CivetwebOptions(options));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (in use, or not an address of this host): ", e.what()));
  }
  const std::vector<int> ports = exporter->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address));
  }
  exporter->port_ = ports.front();
  const std::string host =
      options.listen_address.substr(0, options.listen_address.rfind(':'));
  exporter->address_ = absl::StrCat(host, ":", exporter->port_);
  exporter->exposer_->RegisterCollectable(exporter->collector_);
  return exporter;
}

MetricsExporter::~MetricsExporter() {
  // Stop serving before the collector goes (the exposer holds a weak_ptr).
  exposer_.reset();
}

void MetricsExporter::Add(std::shared_ptr<const MetricsSource> source) {
  collector_->Add(std::move(source));
}

void MetricsExporter::Remove(const MetricsSource* source) {
  collector_->Remove(source);
}

std::string MetricsExporter::url() const {
  return absl::StrCat("http://", address_, "/metrics");
}

std::vector<prometheus::MetricFamily> MetricsExporter::Collect() const {
  return collector_->Collect();
}

std::string MetricsExporter::ScrapeText() const {
  return SerializeText(Collect());
}

}  // namespace ringflow::observability
