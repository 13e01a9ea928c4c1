// ringflow/observability/byte_ring_metrics_source.h
//
// Provides `ByteRingMetricsSource`: the MetricsSource of an in-process
// ByteRing (core/byte_ring.h). At scrape time it reads the ring's producer
// statistics (records and payload bytes published, padding and skipped
// bytes, aborted claims, full waits, TryClaim failures), its claimed
// position, and each reader's position, and computes each reader's lag in
// bytes (claimed position minus reader position: record headers, padding
// and claims not yet committed included).
//
//   exporter->Add(std::make_shared<ByteRingMetricsSource>(
//       *ring, std::vector<const ByteReader*>{&(*processor)->reader()}));
//
// A ByteRing does not keep its readers' own statistics (records, payload
// and skipped bytes read live in each ByteReader); pass the readers whose
// statistics should be exported as `readers`. They are matched to the
// ring's reader slots by name.
//
// A ByteRing has records of varying length, not event slots, so the
// snapshot carries capacity kNoEventSlots and every value in its counters
// block (the ringflow_byte_ring_* families, plus the two producer families
// that mean the same for both kinds of ring; docs/metrics.md).
//
// Who calls what: Collect from any thread, concurrently with producers and
// readers; it reads atomics only (relaxed statistics, acquire positions)
// and allocates the snapshot's block. The ring, and every reader passed in,
// must outlive the source (or the source be removed from the exporter
// first); a passed reader must not be moved (a RecordProcessor's reader()
// stays put).
//
// Memory ordering: each reader position is an acquire load of its slot's
// Sequence (pairs with the reader's release store of its position), taken
// before the acquire load of the claimed position, so a lag is never
// negative: positions only grow and a reader never passes the tail.

#ifndef RINGFLOW_OBSERVABILITY_BYTE_RING_METRICS_SOURCE_H_
#define RINGFLOW_OBSERVABILITY_BYTE_RING_METRICS_SOURCE_H_

#include <utility>
#include <vector>

#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/observability/metrics_source.h"

namespace ringflow::observability {

class ByteRingMetricsSource final : public MetricsSource {
 public:
  explicit ByteRingMetricsSource(const ByteRing& ring,
                                 std::vector<const ByteReader*> readers = {})
      : ring_(ring), readers_(std::move(readers)) {}

  // One snapshot: capacity kNoEventSlots, the values in a block it owns.
  // Thread-safe. Allocates.
  RingSnapshot Snapshot() const;

  void Collect(std::vector<RingSnapshot>& out) const override {
    out.push_back(Snapshot());
  }

 private:
  const ByteRing& ring_;
  const std::vector<const ByteReader*> readers_;  // statistics by name
};

}  // namespace ringflow::observability

#endif  // RINGFLOW_OBSERVABILITY_BYTE_RING_METRICS_SOURCE_H_
