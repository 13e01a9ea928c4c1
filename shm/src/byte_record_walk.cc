// shm/src/byte_record_walk.cc — CountCommittedRecords (byte_record_walk.h).

#include "ringflow/shm/internal/byte_record_walk.h"

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/record_header.h"

namespace ringflow::shm_internal {

using core_internal::RecordHeader;

RecordCount CountCommittedRecords(const std::byte* records, int64_t capacity,
                                  int64_t from, int64_t to) noexcept {
  RecordCount count{0, from};
  if (records == nullptr || capacity < kMinByteRingCapacity ||
      !std::has_single_bit(static_cast<uint64_t>(capacity)) || from < 0 ||
      to < from || to - from > capacity || from % kByteRecordAlignment != 0) {
    return count;
  }
  const int64_t mask = capacity - 1;
  const int lap_shift = std::countr_zero(static_cast<uint64_t>(capacity));
  int64_t position = from;
  for (int64_t steps = 0; position < to && steps < capacity / 8; ++steps) {
    // Relaxed: a display value; the lap check below rejects a header of
    // another lap, and a length is bounded before it moves the walk.
    const uint64_t word =
        std::atomic_ref<const uint64_t>(
            *reinterpret_cast<const uint64_t*>(records + (position & mask)))
            .load(std::memory_order_relaxed);
    if (!RecordHeader::IsCommittedFor(
            word, static_cast<uint32_t>(position >> lap_shift))) {
      break;
    }
    const int64_t length = RecordHeader::Length(word);
    const int64_t size =
        RecordHeader::IsSkip(word) ? length : core_internal::RecordSize(length);
    if (size < kByteRecordHeaderSize || size % kByteRecordAlignment != 0 ||
        (position & mask) + size > capacity || position + size > to) {
      break;  // damaged, or not a record this walk can trust
    }
    if (!RecordHeader::IsSkip(word)) ++count.records;
    position += size;
  }
  count.reached = position;
  return count;
}

}  // namespace ringflow::shm_internal
