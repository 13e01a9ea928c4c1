#include "ringflow/core/byte_ring.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow {

absl::StatusOr<std::unique_ptr<ByteRing>> ByteRing::Create(
    const ByteRingOptions& options) {
  RINGFLOW_RETURN_IF_ERROR(ValidateByteRingOptions(options));
  return std::unique_ptr<ByteRing>(new ByteRing(options));
}

absl::StatusOr<WriteClaim> ByteRing::Claim(int64_t length,
                                           absl::Duration timeout) {
  RINGFLOW_RETURN_IF_ERROR(ValidateRecordLength(length));
  core_internal::ClaimLayout layout;
  const core_internal::ClaimStatus status =
      state_.ClaimWithin(length, timeout, layout);
  if (status == core_internal::ClaimStatus::kClaimed) {
    return WriteClaim(&state_, layout);
  }
  return core_internal::ClaimFailure(status, state_.options().name, length,
                                     timeout, state_.capacity());
}

namespace core_internal {

absl::Status ClaimFailure(ClaimStatus status, std::string_view ring_name,
                          int64_t length, absl::Duration timeout,
                          int64_t capacity) {
  const std::string name(ring_name);
  switch (status) {
    case ClaimStatus::kClaimed:
      return absl::OkStatus();
    case ClaimStatus::kBadLength:
      break;
    case ClaimStatus::kClosed:
      return absl::FailedPreconditionError(
          absl::StrCat("byte ring '", name, "' is closed"));
    case ClaimStatus::kHalted:
      return absl::FailedPreconditionError(
          absl::StrCat("byte ring '", name, "' was halted while waiting"));
    case ClaimStatus::kTimedOut:
      return absl::DeadlineExceededError(absl::StrCat(
          "no room for a ", length, "-byte record in byte ring '", name,
          "' within ", absl::FormatDuration(timeout), "; nothing was claimed"));
  }
  return ValidateByteRecordLength(length, capacity);
}

}  // namespace core_internal

absl::StatusOr<ByteReader> ByteRing::RegisterReader(std::string_view name,
                                                    ReaderStart start) {
  RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle handle,
                            state_.JoinReader(name));
  // Relaxed: stored by Join on this thread; we are its writer from now on.
  const int64_t position = handle.sequence().LoadRelaxed();
  int64_t discard_below = INT64_MIN;
  if (start == ReaderStart::kLatest) {
    // Claims are contiguous and the tail only grows: every claim that this
    // load (acquire, ClaimedPosition) does not include starts at or above
    // the value read, so it is delivered; the ones it includes are not.
    discard_below = state_.ClaimedPosition();
  }
  return ByteReader(&state_, std::move(handle), position, discard_below);
}

}  // namespace ringflow
