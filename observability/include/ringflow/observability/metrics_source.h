// ringflow/observability/metrics_source.h
//
// Provides `MetricsSource`: what the exporter reads at scrape time from one
// ring — its name, capacity, highest published sequence, each consumer's
// sequence, and its counters block. Lag and remaining capacity are computed
// from these cursors at scrape time, never maintained on the hot path.
//
// Implementations: RingMetricsSource (an in-process RingBuffer, in
// ring_metrics_source.h) and the shared-memory ring's source. Snapshot is
// called from the exporter's HTTP threads, concurrently with producers and
// consumers; it only reads atomics (acquire for sequences, relaxed for
// counters) and never blocks them.

#ifndef RINGFLOW_OBSERVABILITY_METRICS_SOURCE_H_
#define RINGFLOW_OBSERVABILITY_METRICS_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ringflow/core/internal/counters_block.h"

namespace ringflow::observability {

struct ConsumerSnapshot {
  std::string name;
  int64_t sequence = -1;  // last sequence the consumer finished
};

struct RingSnapshot {
  std::string ring;  // the `ring` label value
  int64_t capacity = 0;
  int64_t published = -1;  // highest contiguous published sequence
  std::vector<ConsumerSnapshot> consumers;
  const core_internal::CountersBlock* counters =
      nullptr;  // may be null (counters off)
  // Keeps what `counters` points into alive while the snapshot lives (a
  // ShardedRing's shard may be freed once its producer left); may be null.
  std::shared_ptr<const void> keep_alive;
};

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Appends one snapshot per ring this source describes (one for a ring,
  // one per shard for a ShardedRing). Thread-safe; never blocks producers
  // or consumers.
  virtual void Collect(std::vector<RingSnapshot>& out) const = 0;
};

}  // namespace ringflow::observability

#endif  // RINGFLOW_OBSERVABILITY_METRICS_SOURCE_H_
