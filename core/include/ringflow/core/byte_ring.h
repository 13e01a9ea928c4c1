// ringflow/core/byte_ring.h
//
// Provides `ByteRing`: a power-of-two ring of bytes carrying records of
// varying length, with single- or multi-producer claims and any number of
// broadcast readers (byte_reader.h), each gating the producers like a
// consumer sequence gates a RingBuffer.
//
//   auto ring = ByteRing::Create({.capacity = 1 << 20, .name = "journal"});
//   if (!ring.ok()) return ring.status();
//   auto reader = (*ring)->RegisterReader("writer");
//   if (std::optional<WriteClaim> claim = (*ring)->TryClaim(n)) {
//     std::memcpy(claim->data().data(), message, n);
//     claim->Commit();
//   }
//
// Records: an 8-byte header (length and a commit marker that encodes the
// record's lap, internal/record_header.h) then the payload, padded to 8
// bytes. A record that would cross the end of the buffer is preceded by a
// padding record; padding, aborted claims and the unused tail of a short
// commit are skip records readers pass silently (counted). A payload may be
// at most MaxRecordSize() = capacity / 2 - 8 bytes; a longer claim fails at
// once (InvalidArgument naming both sizes from the Status forms), never
// waits.
//
// Producer API: TryClaim (never waits for room), Claim (waits for room with the
// producer backoff), Claim with a timeout (a Status: DeadlineExceeded at the
// deadline, nothing claimed), Publish / TryPublish (copy one span, or
// several as one record). Multi-producer claims CAS the tail; records
// become visible in claim order, so a producer that claimed and has not
// committed stalls the readers behind it.
//
// Who calls what:
//   TryClaim, Claim, Publish   producer thread(s): one thread for kSingle,
//                              any number for kMulti
//   WriteClaim                 the thread holding it
//   RegisterReader             setup, any thread
//   ByteReader                 one thread at a time per reader
//   Close, Halt, statistics    any thread
// Readers and claims must be gone before the ring is destroyed.
//
// Memory ordering: the bytes of a record happen before any reader that sees
// it reads them (the commit is one release store of the record's header;
// seq_cst when readers may sleep, then a wake-up only if one sleeps). A
// reader's release of its position happens before producers overwrite those
// bytes. Details: internal/byte_ring_state.h.
//
// With no reader registered, records that no one reads are dropped when
// the space is needed (claims still never lap an uncommitted record).
// Nothing here throws or allocates after Create except RegisterReader.

#ifndef RINGFLOW_CORE_BYTE_RING_H_
#define RINGFLOW_CORE_BYTE_RING_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/byte_ring_counters.h"
#include "ringflow/core/internal/byte_ring_state.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/write_claim.h"

namespace ringflow {

class ByteRing {
 public:
  // InvalidArgument names a bad option (ValidateByteRingOptions).
  static absl::StatusOr<std::unique_ptr<ByteRing>> Create(
      const ByteRingOptions& options);

  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  // ---- producers -----------------------------------------------------------

  // Claims room for a record of `length` payload bytes if there is room
  // now. Empty when there is none, the ring is closed, or `length` is
  // outside [0, MaxRecordSize()]. Producer threads. Never waits for room
  // (kMulti: may spin while another producer finishes its claim step, two
  // stores). Never allocates.
  std::optional<WriteClaim> TryClaim(int64_t length) noexcept {
    core_internal::ClaimLayout layout;
    if (length < 0 || length > state_.max_record_size() ||
        !state_.TryClaim(length, layout)) {
      return std::nullopt;
    }
    return WriteClaim(&state_, layout);
  }

  // As TryClaim, but waits for room (spin, yield, nap). Empty at once when
  // `length` is outside [0, MaxRecordSize()] or the ring is closed, or when
  // it is halted while waiting. Producer threads. Never allocates.
  std::optional<WriteClaim> Claim(int64_t length) noexcept {
    core_internal::ClaimLayout layout;
    if (state_.ClaimUntil(length, core_internal::ByteRingState::kNoDeadline,
                          layout) != core_internal::ClaimStatus::kClaimed) {
      return std::nullopt;
    }
    return WriteClaim(&state_, layout);
  }

  // As Claim, waiting at most `timeout`. InvalidArgument naming both sizes
  // when `length` is above MaxRecordSize() (or negative);
  // FailedPrecondition when the ring is closed or halted; DeadlineExceeded
  // when there was no room by the deadline, with nothing claimed. Producer
  // threads. Allocates only for an error.
  absl::StatusOr<WriteClaim> Claim(int64_t length, absl::Duration timeout);

  // InvalidArgument naming `length` and MaxRecordSize() unless a record of
  // `length` payload bytes can be claimed. Thread-safe.
  absl::Status ValidateRecordLength(int64_t length) const {
    return ValidateByteRecordLength(length, state_.capacity());
  }
  // The longest payload a claim accepts: capacity() / 2 - 8.
  int64_t MaxRecordSize() const noexcept { return state_.max_record_size(); }

  // Copies `bytes` into one record, waiting for room as Claim. False when
  // it is too long, or the ring is closed or halted. Producer threads.
  bool Publish(std::span<const std::byte> bytes) noexcept {
    return CopyIn(Claim(static_cast<int64_t>(bytes.size())), bytes);
  }
  // Copies the concatenation of `pieces` into one record (gather), as
  // Publish.
  bool Publish(std::span<const std::span<const std::byte>> pieces) noexcept {
    const int64_t length = TotalLength(pieces);
    return CopyIn(length < 0 ? std::nullopt : Claim(length), pieces);
  }
  // As Publish, but only if there is room now (TryClaim).
  bool TryPublish(std::span<const std::byte> bytes) noexcept {
    return CopyIn(TryClaim(static_cast<int64_t>(bytes.size())), bytes);
  }
  bool TryPublish(std::span<const std::span<const std::byte>> pieces) noexcept {
    const int64_t length = TotalLength(pieces);
    return CopyIn(length < 0 ? std::nullopt : TryClaim(length), pieces);
  }

  // ---- readers -------------------------------------------------------------

  // A reader that gates the producers from now on (see ReaderStart).
  // `name` labels it (empty: reader slot's default name; a taken name gets
  // #2, #3...). InvalidArgument for a bad name, ResourceExhausted when
  // max_readers readers exist. Thread-safe (setup path).
  absl::StatusOr<ByteReader> RegisterReader(
      std::string_view name = {}, ReaderStart start = ReaderStart::kLatest);

  // ---- life cycle ----------------------------------------------------------

  // New claims fail (Try/Claim empty, Publish false, the timed Claim
  // FailedPrecondition); a claim already waiting for room keeps waiting,
  // and readers keep reading. Thread-safe.
  void Close() noexcept { state_.Close(); }
  // Close, claims waiting for room give up, and readers' Wait returns
  // kAlerted once they have read everything committed. Thread-safe.
  void Halt() noexcept { state_.Halt(); }
  bool IsClosed() const noexcept { return state_.IsClosed(); }
  bool IsHalted() const noexcept { return state_.IsHalted(); }
  // How readers wait (and producers wake them): notifiers, inspection.
  const WaitStrategy& wait_strategy() const noexcept {
    return state_.wait_strategy();
  }

  // ---- observation ---------------------------------------------------------

  int64_t capacity() const noexcept { return state_.capacity(); }
  const ByteRingOptions& options() const noexcept { return state_.options(); }
  // Bytes claimed so far (the tail): every claim ends at or below it.
  int64_t ClaimedPosition() const noexcept { return state_.ClaimedPosition(); }
  // The position producers may not lap: the slowest reader's, or, with no
  // reader, the drain floor. Thread-safe (a scan of the reader slots).
  int64_t GatingPosition() noexcept { return state_.GatingPosition(); }
  const core_internal::ConsumerTable& readers() const noexcept {
    return state_.readers();
  }

  // Statistics, written by the producers (relaxed reads; 0 when counters
  // are off).
  uint64_t records_published() const noexcept {
    return Count(core_internal::ByteRingCounters::kRecords);
  }
  uint64_t payload_bytes_published() const noexcept {
    return Count(core_internal::ByteRingCounters::kPayloadBytes);
  }
  uint64_t padding_bytes() const noexcept {
    return Count(core_internal::ByteRingCounters::kPaddingBytes);
  }
  // Aborted claims and the unused tails of short commits.
  uint64_t skipped_bytes() const noexcept {
    return Count(core_internal::ByteRingCounters::kSkippedBytes);
  }
  uint64_t aborted_records() const noexcept {
    return Count(core_internal::ByteRingCounters::kAbortedRecords);
  }
  uint64_t full_waits() const noexcept {
    return Count(core_internal::ByteRingCounters::kFullWaits);
  }
  uint64_t try_claim_failures() const noexcept {
    return Count(core_internal::ByteRingCounters::kTryClaimFailures);
  }

 private:
  explicit ByteRing(const ByteRingOptions& options) : state_(options) {}

  uint64_t Count(core_internal::ByteRingCounters::Index index) const noexcept {
    return state_.counters().Get(index);
  }

  // Sum of the pieces' sizes, or -1 when it exceeds the largest record.
  int64_t TotalLength(
      std::span<const std::span<const std::byte>> pieces) const noexcept {
    uint64_t total = 0;
    for (const std::span<const std::byte> piece : pieces) {
      total += piece.size();
      if (total > static_cast<uint64_t>(state_.max_record_size())) return -1;
    }
    return static_cast<int64_t>(total);
  }

  static bool CopyIn(std::optional<WriteClaim> claim,
                     std::span<const std::byte> bytes) noexcept {
    if (!claim) return false;
    if (!bytes.empty()) {
      std::memcpy(claim->data().data(), bytes.data(), bytes.size());
    }
    claim->Commit();
    return true;
  }
  static bool CopyIn(
      std::optional<WriteClaim> claim,
      std::span<const std::span<const std::byte>> pieces) noexcept {
    if (!claim) return false;
    std::byte* out = claim->data().data();
    for (const std::span<const std::byte> piece : pieces) {
      if (piece.empty()) continue;
      std::memcpy(out, piece.data(), piece.size());
      out += piece.size();
    }
    claim->Commit();
    return true;
  }

  core_internal::ByteRingState state_;
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_BYTE_RING_H_
