// ringflow/core/write_claim.h
//
// Provides `WriteClaim`: space claimed in a ByteRing for one record, written
// in place and then committed or aborted.
//
//   if (std::optional<WriteClaim> claim = ring->TryClaim(n)) {
//     std::memcpy(claim->data().data(), bytes, n);
//     claim->Commit();
//   }
//
// A claim is move-only. `Commit(n)` may publish fewer bytes than were
// claimed (the rest becomes a skip record readers pass silently); a claim
// destroyed without Commit or Abort is aborted, so it never leaves a hole
// that would stall the readers. Readers see records in claim order: a
// claimed but uncommitted record stalls every reader behind it, so claim,
// write and commit in one tight sequence (no blocking call in between).
//
// Who calls what: the thread holding the claim (it may be moved to another
// thread, with the usual synchronisation of the hand-over). The claim must
// not outlive its ring.
//
// Memory ordering: the bytes written into data() before Commit happen
// before any reader that sees the record reads them (Commit is a release
// store of the record's header).

#ifndef RINGFLOW_CORE_WRITE_CLAIM_H_
#define RINGFLOW_CORE_WRITE_CLAIM_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "ringflow/core/internal/byte_ring_state.h"

namespace ringflow {

class ByteRing;
namespace core_internal {
struct WriteClaimAccess;
}  // namespace core_internal

class WriteClaim {
 public:
  WriteClaim(WriteClaim&& other) noexcept
      : ring_(std::exchange(other.ring_, nullptr)), layout_(other.layout_) {}
  WriteClaim& operator=(WriteClaim&& other) noexcept {
    if (this != &other) {
      Abort();
      ring_ = std::exchange(other.ring_, nullptr);
      layout_ = other.layout_;
    }
    return *this;
  }
  WriteClaim(const WriteClaim&) = delete;
  WriteClaim& operator=(const WriteClaim&) = delete;
  // Aborts a claim that was neither committed nor aborted.
  ~WriteClaim() { Abort(); }

  // The claimed bytes, in the ring (8-aligned, length() bytes). Valid until
  // Commit or Abort.
  std::span<std::byte> data() const noexcept {
    assert(active());
    return {ring_->PayloadAt(layout_.record),
            static_cast<size_t>(layout_.length)};
  }
  // Payload bytes claimed.
  int64_t length() const noexcept { return layout_.length; }
  // The record's position (what readers see as its position).
  int64_t position() const noexcept { return layout_.record; }
  // False once committed, aborted or moved from.
  bool active() const noexcept { return ring_ != nullptr; }

  // Publishes every claimed byte: one release store of the record's header
  // (seq_cst, and one syscall, only when a blocking reader sleeps).
  // Wait-free. Never allocates.
  void Commit() noexcept { Commit(layout_.length); }

  // Publishes the first `length` bytes (0 <= length <= this->length()); the
  // rest of the claim becomes a skip record. As Commit().
  void Commit(int64_t length) noexcept {
    assert(active() && "Commit on an inactive WriteClaim");
    assert(length >= 0 && length <= layout_.length &&
           "Commit(n) with n outside [0, claimed length]");
    if (ring_ == nullptr) return;
    length =
        length < 0 ? 0 : (length > layout_.length ? layout_.length : length);
    std::exchange(ring_, nullptr)->Commit(layout_, length);
  }

  // Turns the claim into a skip record readers pass silently (counted as
  // aborted). No-op on an inactive claim. As Commit().
  void Abort() noexcept {
    if (ring_ != nullptr) std::exchange(ring_, nullptr)->Abort(layout_);
  }

 private:
  friend class ByteRing;
  friend struct core_internal::WriteClaimAccess;

  WriteClaim(core_internal::ByteRingState* ring,
             const core_internal::ClaimLayout& layout) noexcept
      : ring_(ring), layout_(layout) {}

  core_internal::ByteRingState* ring_;  // null once finished or moved from
  core_internal::ClaimLayout layout_;
};

namespace core_internal {

// How a ring other than ByteRing (shm::SharedByteRing) hands out claims on
// its ByteRingState.
struct WriteClaimAccess {
  static WriteClaim Make(ByteRingState* ring,
                         const ClaimLayout& layout) noexcept {
    return WriteClaim(ring, layout);
  }
};

}  // namespace core_internal
}  // namespace ringflow

#endif  // RINGFLOW_CORE_WRITE_CLAIM_H_
