// ringflow/observability/metrics_exporter.h
//
// Provides `MetricsExporter`: an HTTP endpoint (prometheus-cpp's Exposer,
// pull model) serving `/metrics` for any number of rings. A custom
// Collectable reads each MetricsSource at scrape time; nothing on the hot
// path talks to prometheus-cpp (its own Counter is a seq_cst atomic double).
//
//   auto exporter = MetricsExporter::Create({});   // 127.0.0.1:9464
//   (*exporter)->Add(std::make_shared<RingMetricsSource<Tick>>(ring));
//   std::cout << (*exporter)->url();
//
// The default listen address is loopback only; all interfaces only when
// asked ("0.0.0.0:9464"). Port 0 picks a free port; port() reports it.
//
// Who calls what: every member is thread-safe. Sources are held by
// shared_ptr; a source must keep its ring alive (or be removed first).

#ifndef RINGFLOW_OBSERVABILITY_METRICS_EXPORTER_H_
#define RINGFLOW_OBSERVABILITY_METRICS_EXPORTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/metric_family.h"
#include "ringflow/observability/metrics_source.h"

namespace prometheus {
class Exposer;
}

namespace ringflow::observability {

struct MetricsExporterOptions {
  // host:port. host is an IPv4 literal, "localhost" or "[::1]"-style IPv6
  // literal; port in [0, 65535] (0: any free port).
  std::string listen_address = "127.0.0.1:9464";
  int http_threads = 2;
};

class MetricsExporter {
 public:
  // Binds and starts serving. InvalidArgument names a malformed address;
  // Unavailable names an address that cannot be bound (e.g. in use).
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Create(
      const MetricsExporterOptions& options);

  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  void Add(std::shared_ptr<const MetricsSource> source);
  void Remove(const MetricsSource* source);

  int port() const { return port_; }
  // "127.0.0.1:41234" (the bound port, not 0).
  const std::string& address() const { return address_; }
  // "http://127.0.0.1:41234/metrics".
  std::string url() const;

  // What a scrape returns now (without HTTP).
  std::vector<prometheus::MetricFamily> Collect() const;
  std::string ScrapeText() const;

 private:
  class Collector;
  MetricsExporter() = default;

  std::shared_ptr<Collector> collector_;  // owned: Exposer keeps a weak_ptr
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  std::string address_;
};

// InvalidArgument naming `address` unless it is host:port as above.
absl::Status ValidateListenAddress(const std::string& address);

}  // namespace ringflow::observability

#endif  // RINGFLOW_OBSERVABILITY_METRICS_EXPORTER_H_
