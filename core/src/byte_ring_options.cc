#include "ringflow/core/byte_ring_options.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow {

absl::Status ValidateByteRingOptions(const ByteRingOptions& options) {
  const int64_t capacity = options.capacity;
  if (capacity < kMinByteRingCapacity) {
    return absl::InvalidArgumentError(
        absl::StrCat("byte ring capacity ", capacity, " is below the minimum ",
                     kMinByteRingCapacity, " bytes"));
  }
  if ((capacity & (capacity - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "byte ring capacity ", capacity, " is not a power of two"));
  }
  if (capacity > kMaxByteRingCapacity) {
    return absl::InvalidArgumentError(
        absl::StrCat("byte ring capacity ", capacity, " exceeds the maximum ",
                     kMaxByteRingCapacity, " bytes"));
  }
  RINGFLOW_RETURN_IF_ERROR(ValidateProducerAndWait(
      options.producer_type, options.wait_strategy, options.wait_timeout));
  if (options.max_readers < 1 || options.max_readers > kMaxConsumers) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_readers ", options.max_readers, " is outside [1, ",
                     kMaxConsumers, "]"));
  }
  RINGFLOW_RETURN_IF_ERROR(ValidateName("byte ring name", options.name));
  return absl::OkStatus();
}

absl::Status ValidateByteRecordLength(int64_t length, int64_t capacity) {
  const int64_t max = MaxByteRecordSize(capacity);
  if (length < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("record length ", length, " is negative"));
  }
  if (length > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record length ", length, " bytes exceeds the maximum ", max,
        " bytes of a ", capacity, "-byte ring (half the ring less the ",
        kByteRecordHeaderSize, "-byte header)"));
  }
  return absl::OkStatus();
}

}  // namespace ringflow
