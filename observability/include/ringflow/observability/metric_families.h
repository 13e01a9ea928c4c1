// ringflow/observability/metric_families.h
//
// Turns ring snapshots into Prometheus metric families (the exposition a
// scrape returns). Separate from the HTTP exporter so it can be tested and
// reused by `ringflow serve-metrics` and `ringflow stat`.
//
// Every metric has the `ringflow_` prefix and a `ring` label; per-consumer
// metrics add `consumer`. See docs/metrics.md for the table.
//
// A snapshot whose capacity is kNoEventSlots (a ByteRing's, from
// ByteRingMetricsSource) has no event cursor: it contributes only the
// families in its counters block (ringflow_byte_ring_* and the producer
// families), never the event-slot ones (ringflow_ring_capacity_events,
// ringflow_events_published_total, ringflow_consumer_lag_events...).

#ifndef RINGFLOW_OBSERVABILITY_METRIC_FAMILIES_H_
#define RINGFLOW_OBSERVABILITY_METRIC_FAMILIES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"
#include "ringflow/observability/metrics_source.h"

namespace ringflow::observability {

// RingSnapshot::capacity of a ring without event slots (a ByteRing).
inline constexpr int64_t kNoEventSlots = -1;

// The families for these snapshots, sorted by name; families with the same
// name from different rings are merged.
std::vector<prometheus::MetricFamily> BuildMetricFamilies(
    std::span<const RingSnapshot> rings);

// Parses a rendered label string `a="x",b="y"` into pairs. Values must not
// contain quotes (CountersBlock users render them from validated names).
std::vector<std::pair<std::string, std::string>> ParseLabels(
    std::string_view rendered);

// The text exposition format of `families`.
std::string SerializeText(
    const std::vector<prometheus::MetricFamily>& families);

}  // namespace ringflow::observability

#endif  // RINGFLOW_OBSERVABILITY_METRIC_FAMILIES_H_
