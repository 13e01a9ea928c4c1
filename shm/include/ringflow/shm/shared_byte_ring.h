// ringflow/shm/shared_byte_ring.h
//
// Provides `SharedByteRing`: the producer side of a byte ring (variable-
// length records, core/byte_ring.h) in shared memory. Same producer API as
// ByteRing (TryClaim/Claim/Publish/TryPublish/Close/Halt, the counters);
// readers in this process register with RegisterReader (ByteReader), and
// readers in other processes attach by name with SharedByteReader. Every
// reader has a slot in the ring's shared slot table, where `ringflow stat`
// sees it, and gates the producers with its byte position.
//
//   auto ring = shm::SharedByteRing::Create(
//       {.ring = {.capacity = 1 << 20, .name = "journal"}});
//   (*ring)->Publish(std::as_bytes(std::span(message)));
//
// The ring is a control segment ("/<name>", header, tail, floor, slots,
// counters) and a data segment ("/<name>:data", the records) in /dev/shm,
// with the event ring's format and checks (shm/internal/layout.h, ring kind
// "byte ring"): name validation, ownership, permissions, header validation,
// read-only data mapping for attached readers, the data segment's creation
// id. An event ring's consumer cannot attach to it, nor a byte reader to an
// event ring (FailedPrecondition naming both kinds).
//
// Liveness (as SharedRing): a housekeeping thread beats the producer
// heartbeat and evicts readers whose process is gone or whose heartbeat is
// older than consumer_timeout (and, with SlowConsumerPolicy::kEvict, those
// that held a waiting producer back for longer than max_stall); a producer
// waiting for room wakes it at once. An evicted reader's position becomes
// the floor, so a ring left without readers drains from there.
//
// Crash safety: each claim stamps its first header word (claimed, not
// committed, its size) before the claim is visible. Creating a ring whose
// producer died resumes it (resumed() is true): the dead producer's
// unfinished claims become skip records readers pass (counted in
// recovered_records()/recovered_bytes()), then new records follow. Readers
// waiting at such a claim meanwhile see kProducerGone and go on once the
// new producer recovered it.
//
// Who calls what: as ByteRing (producer threads: one for kSingle, any
// number for kMulti; WriteClaim: its holder; RegisterReader: setup; Close,
// Halt, statistics: any thread). Readers and claims of this process must be
// gone before the ring is destroyed.
//
// Memory ordering: as ByteRing; the tail, floor, slots and counters simply
// live in the control segment and the records in the data segment.

#ifndef RINGFLOW_SHM_SHARED_BYTE_RING_H_
#define RINGFLOW_SHM_SHARED_BYTE_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/byte_ring_counters.h"
#include "ringflow/core/internal/byte_ring_state.h"
#include "ringflow/core/write_claim.h"
#include "ringflow/shm/internal/byte_control.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/shared_gating.h"
#include "ringflow/shm/shared_byte_ring_options.h"

namespace ringflow::shm {

class SharedByteRing {
 public:
  // Creates the ring, or resumes this euid's ring of the same shape whose
  // producer died (Control::CreateOrResume's rules). InvalidArgument names
  // a bad option; AlreadyExists, PermissionDenied, ResourceExhausted as for
  // SharedRing::Create (an event ring of that name is AlreadyExists naming
  // both kinds).
  static absl::StatusOr<std::unique_ptr<SharedByteRing>> Create(
      const SharedByteRingOptions& options);

  ~SharedByteRing();
  SharedByteRing(const SharedByteRing&) = delete;
  SharedByteRing& operator=(const SharedByteRing&) = delete;

  // ---- producers (as ByteRing)
  // -----------------------------------------------

  // Room for a record of `length` payload bytes if there is room now; empty
  // when there is none, the ring is closed, or `length` is outside
  // [0, MaxRecordSize()]. Producer threads. Never waits for room. Never
  // allocates.
  std::optional<WriteClaim> TryClaim(int64_t length) noexcept {
    core_internal::ClaimLayout layout;
    if (length < 0 || length > state_.max_record_size() ||
        !state_.TryClaim(length, layout)) {
      return std::nullopt;
    }
    return core_internal::WriteClaimAccess::Make(&state_, layout);
  }
  // As TryClaim, waiting for room (spin, yield, nap; dead readers are
  // evicted meanwhile). Empty for a bad length, a closed ring, or a halt
  // while waiting. Producer threads. Never allocates.
  std::optional<WriteClaim> Claim(int64_t length) noexcept {
    core_internal::ClaimLayout layout;
    if (state_.ClaimUntil(length, core_internal::ByteRingState::kNoDeadline,
                          layout) != core_internal::ClaimStatus::kClaimed) {
      return std::nullopt;
    }
    return core_internal::WriteClaimAccess::Make(&state_, layout);
  }
  // As Claim, waiting at most `timeout`: InvalidArgument naming both sizes,
  // FailedPrecondition (closed, halted), DeadlineExceeded (nothing
  // claimed). Producer threads. Allocates only for an error.
  absl::StatusOr<WriteClaim> Claim(int64_t length, absl::Duration timeout);

  // Copies `bytes` into one record (Claim, then Commit). False when it is
  // too long, or the ring is closed or halted. Producer threads.
  bool Publish(std::span<const std::byte> bytes) noexcept {
    return CopyIn(Claim(static_cast<int64_t>(bytes.size())), bytes);
  }
  // As Publish, only if there is room now.
  bool TryPublish(std::span<const std::byte> bytes) noexcept {
    return CopyIn(TryClaim(static_cast<int64_t>(bytes.size())), bytes);
  }
  // The concatenation of `pieces` as one record (gather), as Publish /
  // TryPublish.
  bool Publish(std::span<const std::span<const std::byte>> pieces) noexcept {
    const int64_t length = TotalLength(pieces);
    return CopyIn(length < 0 ? std::nullopt : Claim(length), pieces);
  }
  bool TryPublish(std::span<const std::span<const std::byte>> pieces) noexcept {
    const int64_t length = TotalLength(pieces);
    return CopyIn(length < 0 ? std::nullopt : TryClaim(length), pieces);
  }

  absl::Status ValidateRecordLength(int64_t length) const {
    return ValidateByteRecordLength(length, state_.capacity());
  }
  int64_t MaxRecordSize() const noexcept { return state_.max_record_size(); }

  // ---- readers in this process
  // -----------------------------------------------

  // A reader in this process, with a slot in the shared table (see
  // ByteRing::RegisterReader). Thread-safe (setup path).
  absl::StatusOr<ByteReader> RegisterReader(
      std::string_view name = {}, ReaderStart start = ReaderStart::kLatest);

  // ---- life cycle
  // ------------------------------------------------------------

  // As ByteRing. The gate is shared: Close/Halt are seen by every process.
  void Close() noexcept { state_.Close(); }
  void Halt() noexcept { state_.Halt(); }
  bool IsClosed() const noexcept { return state_.IsClosed(); }
  bool IsHalted() const noexcept { return state_.IsHalted(); }
  const WaitStrategy& wait_strategy() const noexcept {
    return state_.wait_strategy();
  }

  // True when Create resumed a ring whose previous producer died.
  bool resumed() const noexcept { return resumed_; }

  // ---- observation
  // -----------------------------------------------------------

  int64_t capacity() const noexcept { return state_.capacity(); }
  int64_t ClaimedPosition() const noexcept { return state_.ClaimedPosition(); }
  int64_t GatingPosition() noexcept { return state_.GatingPosition(); }

  // Statistics (relaxed reads of the shared counters; 0 when off).
  uint64_t records_published() const noexcept {
    return Count(Counters::kRecords);
  }
  uint64_t payload_bytes_published() const noexcept {
    return Count(Counters::kPayloadBytes);
  }
  uint64_t padding_bytes() const noexcept {
    return Count(Counters::kPaddingBytes);
  }
  uint64_t skipped_bytes() const noexcept {
    return Count(Counters::kSkippedBytes);
  }
  uint64_t aborted_records() const noexcept {
    return Count(Counters::kAbortedRecords);
  }
  uint64_t full_waits() const noexcept { return Count(Counters::kFullWaits); }
  uint64_t try_claim_failures() const noexcept {
    return Count(Counters::kTryClaimFailures);
  }
  // Unfinished claims of dead producers turned into skip records (by this
  // or an earlier resumption), and their bytes.
  uint64_t recovered_records() const noexcept {
    return Count(Counters::kRecoveredRecords);
  }
  uint64_t recovered_bytes() const noexcept {
    return Count(Counters::kRecoveredBytes);
  }

  shm_internal::Control& control() noexcept { return *control_; }
  const shm_internal::Control& control() const noexcept { return *control_; }

 private:
  using Counters = core_internal::ByteRingCounters;

  SharedByteRing(const SharedByteRingOptions& options,
                 std::unique_ptr<shm_internal::Control> control, bool resumed);

  uint64_t Count(Counters::Index index) const noexcept {
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
  static bool CopyIn(std::optional<WriteClaim> claim,
                     std::span<const std::byte> bytes) noexcept {
    if (!claim) return false;
    if (!bytes.empty()) {
      std::memcpy(claim->data().data(), bytes.data(), bytes.size());
    }
    claim->Commit();
    return true;
  }
  // Heartbeat and eviction every 100 ms, or at once when a waiting
  // producer reports a stall (SharedGating::OnStall) or on shutdown.
  void Housekeeping() noexcept;
  static constexpr int64_t kHousekeepingPeriodNs = 100'000'000;

  std::unique_ptr<shm_internal::Control> control_;
  const bool resumed_;
  shm_internal::StallReport stall_;
  shm_internal::SharedGating gating_;
  const core_internal::ExternalReaders readers_;
  core_internal::ByteRingState state_;
  std::atomic<bool> stopping_{false};  // set by the destructor
  std::thread housekeeping_;           // started after recovery
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_BYTE_RING_H_
