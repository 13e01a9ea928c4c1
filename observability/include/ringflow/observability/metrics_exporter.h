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
#include "absl/time/time.h"
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
  // Connections served at once (civetweb worker threads), in [1, 64]. A
  // client that connects and sends nothing, or trickles its request, holds
  // one thread until `request_timeout`; further connections wait in
  // civetweb's queue. The default leaves room for a handful of such
  // clients beside the scrapers.
  int http_threads = 8;
  // How long a connection may take to deliver its whole request (civetweb's
  // request_timeout_ms; it also bounds each network write), in
  // [100ms, 60s]. A slower or silent client is disconnected and its thread
  // freed. Keep-alive is off: every scrape opens a new connection, so an
  // idle kept-alive connection never holds a thread either.
  absl::Duration request_timeout = absl::Seconds(2);
};

// Bounds of MetricsExporterOptions, checked by Create.
inline constexpr int kMaxHttpThreads = 64;
inline constexpr absl::Duration kMinRequestTimeout = absl::Milliseconds(100);
inline constexpr absl::Duration kMaxRequestTimeout = absl::Seconds(60);

class MetricsExporter {
 public:
  // Binds and starts serving. InvalidArgument names a malformed address or
  // the out-of-range option and its value; Unavailable names an address
  // that cannot be bound (e.g. in use).
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Create(
      const MetricsExporterOptions& options);

  // Stops serving. civetweb's accept loop sees the stop at its next 2 s
  // poll step, so this may block for up to about 2 s.
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
