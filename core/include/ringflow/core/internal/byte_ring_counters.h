// ringflow/core/internal/byte_ring_counters.h
//
// Provides the statistics of a ByteRing: `ByteRingCounters`, written by the
// producer(s) as they commit, abort and pad records, and
// `ByteReaderCounters`, written by one reader as it reads and skips them.
//
// Who calls what: ByteRingCounters are updated by producer threads (with a
// multi-producer ring they use relaxed fetch_add: the block sits on its own
// 128 bytes); ByteReaderCounters by their reader only (relaxed load +
// store, no locked instruction). Any thread may read either.
//
// Memory ordering: every access is relaxed (see Counter): statistics
// publish no data.

#ifndef RINGFLOW_CORE_INTERNAL_BYTE_RING_COUNTERS_H_
#define RINGFLOW_CORE_INTERNAL_BYTE_RING_COUNTERS_H_

#include <cstdint>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/counter.h"

namespace ringflow::core_internal {

class alignas(kFalseSharingRange) ByteRingCounters {
 public:
  enum Index : int {
    kRecords = 0,       // data records committed
    kPayloadBytes,      // their payload bytes
    kPaddingBytes,      // bytes of padding records before the buffer's end
    kSkippedBytes,      // bytes of aborted claims and short-commit tails
    kAbortedRecords,    // claims aborted (explicitly or by destruction)
    kFullWaits,         // Claim calls that found the ring full
    kTryClaimFailures,  // TryClaim calls that found the ring full
    // Shared rings: claims a dead producer left unfinished, turned into
    // skip records by the producer that resumed the ring, and their bytes.
    kRecoveredRecords,
    kRecoveredBytes,
    kCount,
  };

  // `shared`: several producers update the counters (relaxed fetch_add).
  ByteRingCounters(bool enabled, bool shared) noexcept
      : enabled_(enabled), shared_(shared) {}
  ByteRingCounters(const ByteRingCounters&) = delete;
  ByteRingCounters& operator=(const ByteRingCounters&) = delete;

  // A data record of `payload` bytes committed; `unused` bytes of its claim
  // became a skip record (a short commit). Producer threads. Wait-free.
  void OnCommit(int64_t payload, int64_t unused) noexcept {
    if (!enabled_) return;
    Bump(kRecords, 1);
    Bump(kPayloadBytes, static_cast<uint64_t>(payload));
    if (unused > 0) Bump(kSkippedBytes, static_cast<uint64_t>(unused));
  }
  // A claim of `bytes` bytes (header included) aborted.
  void OnAbort(int64_t bytes) noexcept {
    if (!enabled_) return;
    Bump(kAbortedRecords, 1);
    Bump(kSkippedBytes, static_cast<uint64_t>(bytes));
  }
  void OnPadding(int64_t bytes) noexcept {
    if (enabled_) Bump(kPaddingBytes, static_cast<uint64_t>(bytes));
  }
  void OnFullWait() noexcept {
    if (enabled_) Bump(kFullWaits, 1);
  }
  void OnTryClaimFailure() noexcept {
    if (enabled_) Bump(kTryClaimFailures, 1);
  }
  // A restarted producer's recovery (ByteRingState::RecoverClaims).
  void OnRecovered(int64_t records, int64_t bytes) noexcept {
    if (!enabled_ || records == 0) return;
    Bump(kRecoveredRecords, static_cast<uint64_t>(records));
    Bump(kRecoveredBytes, static_cast<uint64_t>(bytes));
  }

  // Any thread. Relaxed: a statistic.
  uint64_t Get(Index index) const noexcept { return values_[index].Load(); }

 private:
  void Bump(Index index, uint64_t n) noexcept {
    if (shared_) {
      values_[index].Add(n);  // several producers: relaxed fetch_add
    } else {
      values_[index].Increment(n);  // one producer: load + store
    }
  }

  Counter values_[kCount];  // written by the producer(s)
  const bool enabled_;
  const bool shared_;
};

static_assert(sizeof(ByteRingCounters) == kFalseSharingRange,
              "producers bump these on every commit: keep them on their own "
              "128 bytes");

// One reader's statistics. Single writer: the reader's thread.
class ByteReaderCounters {
 public:
  ByteReaderCounters() = default;
  ByteReaderCounters(const ByteReaderCounters&) = delete;
  ByteReaderCounters& operator=(const ByteReaderCounters&) = delete;

  // `records` data records of `bytes` payload bytes read, `skipped` bytes
  // of skip records passed. Reader thread. Wait-free.
  void OnRelease(int64_t records, int64_t bytes, int64_t skipped) noexcept {
    if (records > 0) {
      records_.Increment(static_cast<uint64_t>(records));
      bytes_.Increment(static_cast<uint64_t>(bytes));
    }
    if (skipped > 0) skipped_bytes_.Increment(static_cast<uint64_t>(skipped));
  }

  // Any thread. Relaxed: statistics.
  uint64_t records() const noexcept { return records_.Load(); }
  uint64_t bytes() const noexcept { return bytes_.Load(); }
  uint64_t skipped_bytes() const noexcept { return skipped_bytes_.Load(); }

 private:
  Counter records_;        // written by the reader
  Counter bytes_;          // written by the reader
  Counter skipped_bytes_;  // written by the reader
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_BYTE_RING_COUNTERS_H_
