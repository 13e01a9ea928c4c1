// ringflow/observability/ring_metrics_source.h
//
// Provides `RingMetricsSource<E>`: the MetricsSource of an in-process
// RingBuffer (or of a Disruptor's ring). It reads the ring's cursor, its
// consumer slots and its counters block at scrape time.
//
//   exporter->Add(std::make_shared<RingMetricsSource<Tick>>(d->ring()));
//
// The ring must outlive the source, or the source must be removed from the
// exporter before the ring is destroyed.

#ifndef RINGFLOW_OBSERVABILITY_RING_METRICS_SOURCE_H_
#define RINGFLOW_OBSERVABILITY_RING_METRICS_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ringflow/core/ring_buffer.h"
#include "ringflow/observability/metrics_source.h"

namespace ringflow::observability {

template <typename E>
class RingMetricsSource final : public MetricsSource {
 public:
  explicit RingMetricsSource(const RingBuffer<E>& ring) : ring_(ring) {}

  RingSnapshot Snapshot() const {
    RingSnapshot snapshot;
    snapshot.ring = ring_.options().name;
    snapshot.capacity = ring_.capacity();
    ring_.consumers().ForEachActive([&](int index, const Sequence& sequence) {
      // Acquire: pairs with the consumer's release store.
      const int64_t at = sequence.LoadAcquire();
      snapshot.consumers.push_back(
          ConsumerSnapshot{ring_.consumers().name(index), at});
    });
    snapshot.published = ring_.PublishedSequence();
    snapshot.counters = ring_.counters_block();
    return snapshot;
  }

  void Collect(std::vector<RingSnapshot>& out) const override {
    out.push_back(Snapshot());
  }

 private:
  const RingBuffer<E>& ring_;
};

}  // namespace ringflow::observability

#endif  // RINGFLOW_OBSERVABILITY_RING_METRICS_SOURCE_H_
