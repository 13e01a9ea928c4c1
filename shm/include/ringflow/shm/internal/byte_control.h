// ringflow/shm/internal/byte_control.h
//
// Provides what a byte ring in shared memory (shm::SharedByteRing,
// shm::SharedByteReader) adds to Control: the ByteRingParts and options
// its core_internal::ByteRingState runs on, the reader join and exit with
// the drain-lock protocol across processes, and the gating view over the
// shared slot table.
//
// The record format, claims, commits and recovery are core's
// (core/internal/byte_ring_state.h); this file only places them in the
// control and data segments (layout.h: the byte ring's region at 896, the
// records after the data header).
//
// Drain lock across processes: the lock word holds its holder's pid, so a
// lock left by a process that died holding it (a reader killed inside its
// join, a producer inside a drain) is freed by the producer's housekeeping
// and by a restarted producer (ReleaseStaleByteDrainLock). A pid reused by
// an unrelated process keeps such a lock until that process exits; the
// window is the few microseconds a join or drain holds the lock.
//
// Who calls what: setup paths (JoinByteReader, ByteOptionsFor), the
// producer's housekeeping (ReleaseStaleByteDrainLock) and a leaving
// reader's thread (its handle's release). Never on a hot path.

#ifndef RINGFLOW_SHM_INTERNAL_BYTE_CONTROL_H_
#define RINGFLOW_SHM_INTERNAL_BYTE_CONTROL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/byte_ring_state.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/shared_gating.h"

namespace ringflow::shm_internal {

// The parts of the byte ring that `control` maps (its data segment is the
// buffer: read-only in a consumer process, which never writes it),
// gated by `readers`. The drain lock tag is this process's pid.
core_internal::ByteRingParts ByteRingPartsFor(
    Control& control, const core_internal::ExternalReaders* readers);

// The ByteRingOptions a consumer process's view of `control`'s ring runs
// with: the ring's geometry, waiting with `wait_strategy` (kBlocking
// becomes kTimeoutBlocking: a wait wakes every `wait_timeout_ns`).
ByteRingOptions ByteOptionsFor(const Control& control,
                               WaitStrategyKind wait_strategy,
                               int64_t wait_timeout_ns);

// The ExternalReaders view of a SharedGating (the slot table's minimum,
// and its stall report to the producer's housekeeping).
core_internal::ExternalReaders ExternalReadersFor(const SharedGating* gating);

// A new reader's slot and where it starts (ByteRing::RegisterReader's
// protocol, in the shared slot table).
struct ByteReaderJoin {
  core_internal::ConsumerHandle handle;  // releasing it is the reader's exit
  int64_t start = 0;                     // the slot's first position
  int64_t discard_below = INT64_MIN;     // kLatest: not delivered below
};

// Takes a slot of `control`'s byte ring for a reader named `name`, under
// the drain lock, starting at the oldest record still protected (the
// kOldest late-joiner handshake, Control::JoinAtOldest: the other readers'
// minimum, or the floor when no other reader is active); `start` decides
// what is delivered. The handle's release
// raises the floor to the reader's position (when the reader was not
// evicted) and frees the slot. Unavailable when the drain lock stays
// taken for 2 s; as Control::RegisterConsumer otherwise.
absl::StatusOr<ByteReaderJoin> JoinByteReader(Control& control,
                                              std::string_view name,
                                              ReaderStart start);

// The drain lock, held by this process (its pid). Lock gives up after
// `timeout_ns` (false), freeing a lock whose holder is gone meanwhile.
bool LockByteDrain(Control& control, int64_t timeout_ns) noexcept;
void UnlockByteDrain(Control& control) noexcept;
// Frees the drain lock when the process holding it is gone. True if it
// did.
bool ReleaseStaleByteDrainLock(Control& control) noexcept;
// Raises the floor to `position` (never lowers it), under the drain lock:
// a reader that left (or was evicted) at `position` stops holding the
// records below it, and with no reader left the producers drain from
// there. `position` must be a record boundary below which every record
// is committed (a reader's released position).
void RaiseByteFloor(Control& control, int64_t position) noexcept;

// ---- for tools and metrics -------------------------------------------------

// One reader slot of a byte ring, as a tool sees it.
struct ByteReaderStat {
  int slot = -1;
  std::string name;
  int32_t pid = 0;
  ConsumerSlot::State state = ConsumerSlot::kFree;  // kActive or kEvicted
  int64_t position = 0;                             // bytes released
  int64_t lag_bytes = 0;  // tail - position (claimed, not yet released)
  uint64_t evictions = 0;
};

// A byte ring read from outside (`ringflow list/stat`, the Prometheus
// source): the geometry, the tail and floor, the producers' counters and
// every attached or evicted reader. Relaxed reads of values other
// processes keep writing: each is a recent value, not a snapshot of one
// instant.
struct ByteRingStat {
  int64_t capacity = 0;  // bytes
  ProducerType producer_type = ProducerType::kSingle;
  int64_t tail = 0;            // claimed frontier (bytes claimed so far)
  int64_t floor = 0;           // where producers drain from with no reader
  int64_t gating = 0;          // lowest active reader's position, or the floor
  uint64_t records = 0;        // data records committed
  uint64_t payload_bytes = 0;  // their payload bytes
  uint64_t padding_bytes = 0;  // padding before the buffer's end
  uint64_t skipped_bytes = 0;  // aborted claims and short-commit tails
  uint64_t aborted_records = 0;
  uint64_t full_waits = 0;
  uint64_t try_claim_failures = 0;
  uint64_t recovered_records = 0;  // dead producers' claims skipped
  uint64_t recovered_bytes = 0;
  std::vector<ByteReaderStat> readers;
};

// Reads `control`'s byte ring (from Control::Inspect, Attach or the
// producer's own). FailedPrecondition when it is an event ring. Call
// Control::CheckIntact first on an inspected ring. Allocates.
absl::StatusOr<ByteRingStat> ReadByteRingStat(const Control& control);

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_BYTE_CONTROL_H_
