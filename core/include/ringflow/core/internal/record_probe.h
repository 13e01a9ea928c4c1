// ringflow/core/internal/record_probe.h
//
// Provides `RecordProbe`: how a wait strategy (WaitProbe concept) sees a
// ByteRing reader's next record. The "sequence" a reader waits for is its
// byte position; it is published once the header word at that position is
// committed for the position's lap (RecordHeader::IsCommittedFor).
//
// Memory ordering: Published loads the header word with the order the
// strategy asks for: acquire pairs with the commit's release store
// (ByteRingState::StoreCommit); seq_cst is the re-read half of the blocking
// strategies' wake-up handshake, paired with the commit's seq_cst store of
// that same word followed by WakeupSignal::WakeIfWaiters. With several
// producers every commit wakes sleepers, and the sleeper re-reads only the
// word at its own position: the commit of *that* record is the store its
// handshake pairs with; other commits wake it spuriously at worst.

#ifndef RINGFLOW_CORE_INTERNAL_RECORD_PROBE_H_
#define RINGFLOW_CORE_INTERNAL_RECORD_PROBE_H_

#include <atomic>
#include <cstdint>

#include "ringflow/core/internal/record_header.h"
#include "ringflow/core/internal/wait_probe.h"

namespace ringflow::core_internal {

// `Ring` provides HeaderAt(position) -> std::atomic_ref<uint64_t> and
// LapOf(position) (ByteRingState).
template <typename Ring>
class RecordProbe {
 public:
  // `reader_alert`: the reader's own alert (ByteReader::Alert), or null.
  explicit RecordProbe(const Ring* ring,
                       const AlertFlag* reader_alert = nullptr) noexcept
      : ring_(ring), reader_alert_(reader_alert) {}

  // `position` when a record (data or skip) is committed there, or the
  // reader was alerted (the wait ends; the reader sees the flag), else
  // position - 1. Reader thread. Wait-free.
  int64_t Published(int64_t position, std::memory_order order) const noexcept {
    // Seq_cst (IsSet): the re-read of the alert after a sleeper registered;
    // pairs with ByteReader::Alert's Set followed by WakeAll.
    if (reader_alert_ != nullptr && reader_alert_->IsSet()) return position;
    // Acquire / seq_cst as the strategy asks: see the header comment.
    const uint64_t word = ring_->HeaderAt(position).load(order);
    return RecordHeader::IsCommittedFor(word, ring_->LapOf(position))
               ? position
               : position - 1;
  }
  // Readers of a byte ring have no upstream readers.
  int64_t Gate(int64_t published) const noexcept { return published; }
  bool HasDependents() const noexcept { return false; }
  void Touch() const noexcept {}

 private:
  const Ring* ring_;
  const AlertFlag* reader_alert_;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_RECORD_PROBE_H_
