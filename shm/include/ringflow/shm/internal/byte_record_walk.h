// ringflow/shm/internal/byte_record_walk.h
//
// Provides `CountCommittedRecords`: how many data records a byte ring holds
// committed between two positions, by walking the record headers of a
// read-only mapping of its records, for tools (`ringflow stat`: each
// reader's lag in records) that cannot see the readers' own counts, which
// live in each reader's process.
//
// The records are untrusted (any process of the owner's uid can write the
// data segment) and move under the walk (producers keep committing; a
// reader that passes them lets them be overwritten): every header is
// checked against the position's lap and the ring's geometry before its
// length is used, and the walk stops at the first header that is not a
// committed one of the expected lap (a claim in flight, a lap that moved
// on, damage). It never reads outside the mapping and takes at most
// capacity / 8 steps.
//
// Thread-safety: reads shared memory with relaxed atomic loads only; a
// value for a display, not a synchronisation point.

#ifndef RINGFLOW_SHM_INTERNAL_BYTE_RECORD_WALK_H_
#define RINGFLOW_SHM_INTERNAL_BYTE_RECORD_WALK_H_

#include <cstddef>
#include <cstdint>

namespace ringflow::shm_internal {

struct RecordCount {
  int64_t records = 0;  // data records committed in [from, reached)
  int64_t reached = 0;  // where the walk stopped (== `to` when complete)
};

// Walks [from, to) of a byte ring of `capacity` bytes (a power of two)
// whose records start at `records` (capacity bytes, 8-aligned).
RecordCount CountCommittedRecords(const std::byte* records, int64_t capacity,
                                  int64_t from, int64_t to) noexcept;

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_BYTE_RECORD_WALK_H_
