// ringflow/core/byte_ring_options.h
//
// Provides `ByteRingOptions`, the setup parameters of a ByteRing (a ring of
// variable-length records, byte_ring.h), its limits, and
// `ValidateByteRingOptions`, which names the first bad value it finds.
//
// Thread-safety: plain value types and pure functions.

#ifndef RINGFLOW_CORE_BYTE_RING_OPTIONS_H_
#define RINGFLOW_CORE_BYTE_RING_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ringflow/core/ring_options.h"

namespace ringflow {

// Capacity bounds, in bytes. The minimum holds one header and a record of
// 24 payload bytes; the maximum keeps every length and skip size inside the
// 30-bit length field of a record header (internal/record_header.h).
inline constexpr int64_t kMinByteRingCapacity = 64;
inline constexpr int64_t kMaxByteRingCapacity = int64_t{1} << 30;

// Every record starts with an 8-byte header; payloads are padded to 8.
inline constexpr int64_t kByteRecordAlignment = 8;
inline constexpr int64_t kByteRecordHeaderSize = 8;

// The longest payload a ring of `capacity` bytes accepts: header plus
// padded payload may take at most half the ring, so a record that does not
// fit before the end of the buffer (and is preceded by a padding record)
// still fits in an empty ring. Longer claims are InvalidArgument, never a
// wait that cannot end.
constexpr int64_t MaxByteRecordSize(int64_t capacity) {
  return capacity / 2 - kByteRecordHeaderSize;
}

struct ByteRingOptions {
  // Bytes of record storage; a power of two in [kMinByteRingCapacity,
  // kMaxByteRingCapacity].
  int64_t capacity = 64 * 1024;
  // kSingle: exactly one thread claims (no atomic read-modify-write on the
  // claim); kMulti: any number of threads claim with a CAS on the tail.
  ProducerType producer_type = ProducerType::kMulti;
  // How readers wait for the next record (ByteReader::Wait).
  WaitStrategyKind wait_strategy = WaitStrategyKind::kBlocking;
  // kTimeoutBlocking only: how long ByteReader::Wait waits before kTimeout.
  absl::Duration wait_timeout = absl::Milliseconds(100);
  // Size of the reader slot table. In [1, kMaxConsumers].
  int max_readers = 32;
  // The ring's name (metric label): 1 to kMaxNameLength characters from
  // [A-Za-z0-9_.#-].
  std::string name = "byte-ring";
  // Keep relaxed-atomic statistics. Off: every update is one predictable
  // branch.
  bool counters = true;
};

// Returns InvalidArgument naming the first bad field and its value, or OK.
absl::Status ValidateByteRingOptions(const ByteRingOptions& options);

// InvalidArgument naming `length` and the ring's maximum when a record of
// `length` payload bytes cannot be claimed from a ring of `capacity` bytes
// (negative, or above MaxByteRecordSize(capacity)); OK otherwise.
absl::Status ValidateByteRecordLength(int64_t length, int64_t capacity);

}  // namespace ringflow

#endif  // RINGFLOW_CORE_BYTE_RING_OPTIONS_H_
