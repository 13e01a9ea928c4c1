// ringflow/observability/internal/byte_ring_snapshot.h
//
// Provides `ByteRingFigures`, what a byte ring shows at one scrape, and
// `ByteRingSnapshot`, the RingSnapshot of those figures: one counters block
// of the ringflow_byte_ring_* families (docs/metrics.md), owned by the
// snapshot. Both byte-ring sources build on it: ByteRingMetricsSource (an
// in-process ByteRing) and ControlMetricsSource (a byte ring in shared
// memory, from its control segment), so the two export the same families
// with the same names and help.
//
// Thread-safety: plain values and a pure function. Allocates.

#ifndef RINGFLOW_OBSERVABILITY_INTERNAL_BYTE_RING_SNAPSHOT_H_
#define RINGFLOW_OBSERVABILITY_INTERNAL_BYTE_RING_SNAPSHOT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringflow/observability/metrics_source.h"

namespace ringflow::observability_internal {

struct ByteReaderFigures {
  std::string name;
  int64_t position = 0;  // bytes released
  // The reader's own statistics, where the source can see them (an
  // in-process ByteReader passed to ByteRingMetricsSource).
  struct Read {
    uint64_t records = 0;
    uint64_t payload_bytes = 0;
    uint64_t skipped_bytes = 0;
  };
  std::optional<Read> read;
};

struct ByteRingFigures {
  std::string name;
  int64_t capacity = 0;
  int64_t claimed = 0;  // the tail; read after every reader position
  uint64_t records = 0;
  uint64_t payload_bytes = 0;
  uint64_t padding_bytes = 0;
  uint64_t skipped_bytes = 0;
  uint64_t aborted_records = 0;
  uint64_t full_waits = 0;
  uint64_t try_claim_failures = 0;
  // A ring in shared memory: a dead producer's claims skipped on resume.
  std::optional<uint64_t> recovered_records;
  std::optional<uint64_t> recovered_bytes;
  std::vector<ByteReaderFigures> readers;
};

// The snapshot: capacity observability::kNoEventSlots, every value in a
// counters block it keeps alive.
observability::RingSnapshot ByteRingSnapshot(const ByteRingFigures& figures);

}  // namespace ringflow::observability_internal

#endif  // RINGFLOW_OBSERVABILITY_INTERNAL_BYTE_RING_SNAPSHOT_H_
