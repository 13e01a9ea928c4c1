#include "ringflow/observability/metric_families.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"
#include "prometheus/text_serializer.h"

namespace ringflow::observability {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// Collects families by name, keeping first-seen help and type.
class FamilySet {
 public:
  MetricFamily& Get(const std::string& name, const std::string& help,
                    MetricType type) {
    auto it = index_.find(name);
    if (it != index_.end()) return families_[it->second];
    index_.emplace(name, families_.size());
    families_.push_back(MetricFamily{name, help, type, {}});
    return families_.back();
  }

  void AddGauge(const std::string& name, const std::string& help, Labels labels,
                double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    Get(name, help, MetricType::Gauge).metric.push_back(std::move(m));
  }

  void AddCounter(const std::string& name, const std::string& help,
                  Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    Get(name, help, MetricType::Counter).metric.push_back(std::move(m));
  }

  std::vector<MetricFamily> Take() {
    std::sort(families_.begin(), families_.end(),
              [](const MetricFamily& a, const MetricFamily& b) {
                return a.name < b.name;
              });
    return std::move(families_);
  }

 private:
  std::vector<MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

Labels ToLabels(std::string_view rendered) {
  Labels labels;
  for (auto& [k, v] : ParseLabels(rendered)) {
    labels.push_back(ClientMetric::Label{std::move(k), std::move(v)});
  }
  return labels;
}

// Histogram state gathered from bucket / sum records with the same name and
// labels.
struct HistogramParts {
  std::string help;
  Labels labels;
  std::vector<std::pair<uint64_t, uint64_t>> buckets;  // (le, count)
  uint64_t sum = 0;
};

void AddBlockCounters(const core_internal::CountersBlock& block,
                      FamilySet& families) {
  std::map<std::pair<std::string, std::string>, HistogramParts> histograms;
  block.ForEach([&](const core_internal::CounterView& c) {
    const std::string name(c.name);
    switch (c.type) {
      case core_internal::CounterType::kCounter:
        families.AddCounter(name, std::string(c.help), ToLabels(c.labels),
                            static_cast<double>(c.value));
        break;
      case core_internal::CounterType::kGauge:
        families.AddGauge(name, std::string(c.help), ToLabels(c.labels),
                          static_cast<double>(c.value));
        break;
      case core_internal::CounterType::kHistogramBucket: {
        HistogramParts& h = histograms[{name, std::string(c.labels)}];
        if (h.help.empty()) h.help = std::string(c.help);
        h.buckets.emplace_back(c.le, c.value);
        break;
      }
      case core_internal::CounterType::kHistogramSum:
        histograms[{name, std::string(c.labels)}].sum = c.value;
        break;
      case core_internal::CounterType::kHistogramCount:
        break;  // the count is the sum of the buckets
    }
  });
  for (auto& [key, parts] : histograms) {
    std::sort(parts.buckets.begin(), parts.buckets.end());
    ClientMetric m;
    m.label = ToLabels(key.second);
    uint64_t cumulative = 0;
    for (const auto& [le, count] : parts.buckets) {
      cumulative += count;
      m.histogram.bucket.push_back(ClientMetric::Bucket{
          cumulative, le == std::numeric_limits<uint64_t>::max()
                          ? std::numeric_limits<double>::infinity()
                          : static_cast<double>(le)});
    }
    if (m.histogram.bucket.empty() ||
        !std::isinf(m.histogram.bucket.back().upper_bound)) {
      m.histogram.bucket.push_back(ClientMetric::Bucket{
          cumulative, std::numeric_limits<double>::infinity()});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = static_cast<double>(parts.sum);
    families.Get(key.first, parts.help, MetricType::Histogram)
        .metric.push_back(std::move(m));
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseLabels(
    std::string_view rendered) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < rendered.size()) {
    const size_t eq = rendered.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= rendered.size() ||
        rendered[eq + 1] != '"') {
      break;
    }
    const size_t close = rendered.find('"', eq + 2);
    if (close == std::string_view::npos) break;
    out.emplace_back(std::string(rendered.substr(i, eq - i)),
                     std::string(rendered.substr(eq + 2, close - eq - 2)));
    i = close + 1;
    if (i < rendered.size() && rendered[i] == ',') ++i;
  }
  return out;
}

std::vector<MetricFamily> BuildMetricFamilies(
    std::span<const RingSnapshot> rings) {
  FamilySet families;
  for (const RingSnapshot& ring : rings) {
    if (ring.capacity == kNoEventSlots) {  // a byte ring: its block only
      if (ring.counters != nullptr) AddBlockCounters(*ring.counters, families);
      continue;
    }
    const Labels ring_label{{"ring", ring.ring}};
    families.AddGauge("ringflow_ring_capacity_events", "Slots in the ring.",
                      ring_label, static_cast<double>(ring.capacity));
    families.AddCounter("ringflow_events_published_total",
                        "Events published into the ring (from the cursor).",
                        ring_label, static_cast<double>(ring.published + 1));
    int64_t slowest = ring.published;
    for (const ConsumerSnapshot& c : ring.consumers) {
      slowest = std::min(slowest, c.sequence);
      const Labels labels{{"ring", ring.ring}, {"consumer", c.name}};
      families.AddGauge("ringflow_consumer_sequence",
                        "Last sequence the consumer finished.", labels,
                        static_cast<double>(c.sequence));
      families.AddGauge("ringflow_consumer_lag_events",
                        "Published events the consumer has not finished yet.",
                        labels,
                        static_cast<double>(
                            std::max<int64_t>(0, ring.published - c.sequence)));
    }
    families.AddGauge(
        "ringflow_ring_remaining_capacity_events",
        "Slots the producer can claim without waiting.", ring_label,
        static_cast<double>(
            ring.capacity -
            std::clamp<int64_t>(ring.published - slowest, 0, ring.capacity)));
    if (ring.counters != nullptr) AddBlockCounters(*ring.counters, families);
  }
  return families.Take();
}

std::string SerializeText(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace ringflow::observability
