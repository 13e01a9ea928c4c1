// ringflow/core/internal/record_header.h
//
// Provides `RecordHeader`: the 8-byte word in front of every record of a
// ByteRing, which is also the record's commit marker, and the size
// arithmetic of records.
//
// Layout of the header word (one std::atomic_ref<uint64_t> in the buffer):
//
//    63                32 31   30   29                         0
//   +--------------------+----+----+----------------------------+
//   | lap (32 bits)      |skip|done| length (30 bits)           |
//   +--------------------+----+----+----------------------------+
//
//   lap     position >> log2(capacity), truncated to 32 bits: the lap of
//           the buffer the record was written in.
//   done    1 in every committed header, so a committed word is never 0.
//   skip    0: a data record; `length` is its payload length and the next
//           record starts at position + RecordSize(length).
//           1: a skip record (padding before the end of the buffer, an
//           aborted claim, or the unused tail of a short commit); `length`
//           is its whole size in bytes, header included.
//
// A pending stamp (shared rings only, ByteRingState::Stamp): `done` 0,
// `skip` 0, `lap` the claim's lap and `length` the claim's whole size in
// bytes, stored by the claimer right after it owns the claim; readers see
// it as "not committed" (as 0), and a restarted producer turns a stamp its
// dead predecessor left into a skip record of that size.
//
// A reader at position p accepts a word only when `done` is set and `lap`
// equals the lap of p, so a header left at the same offset by an earlier
// lap reads as "not committed yet". Readers never write the buffer (several
// share it), so nothing is zeroed behind them; instead a claim clears the
// header word just past its own end before it can be committed (see
// ByteRingState), which also keeps stale *payload* bytes, which may hold any
// bits, from being read as a header.
//
// Limits (each checked below or in ValidateByteRingOptions):
//   - lengths and skip sizes are below 2^30: capacity <= 2^30 bytes.
//   - the lap tag repeats every 2^32 laps; a stale word could alias only if
//     it survived 2^32 laps unread at a record boundary, which the clearing
//     above rules out (the tag is the second line of defence).
//   - positions are int64: 2^63 bytes, ~29 years at 10 GB/s.
//
// Thread-safety: stateless; the atomic accesses are in ByteRingState.

#ifndef RINGFLOW_CORE_INTERNAL_RECORD_HEADER_H_
#define RINGFLOW_CORE_INTERNAL_RECORD_HEADER_H_

#include <atomic>
#include <cstdint>

#include "ringflow/core/byte_ring_options.h"

namespace ringflow::core_internal {

class RecordHeader {
 public:
  static constexpr int kLapShift = 32;
  static constexpr uint64_t kSkipBit = uint64_t{1} << 31;
  static constexpr uint64_t kDoneBit = uint64_t{1} << 30;
  static constexpr uint64_t kLengthMask = kDoneBit - 1;

  // A committed data record of `payload_length` bytes written in `lap`.
  static constexpr uint64_t Data(uint32_t lap,
                                 int64_t payload_length) noexcept {
    return (uint64_t{lap} << kLapShift) | kDoneBit |
           static_cast<uint64_t>(payload_length);
  }
  // A committed skip record of `total_size` bytes (header included).
  static constexpr uint64_t Skip(uint32_t lap, int64_t total_size) noexcept {
    return (uint64_t{lap} << kLapShift) | kDoneBit | kSkipBit |
           static_cast<uint64_t>(total_size);
  }

  // A shared ring's claim of `claim_size` bytes (header included), claimed
  // in `lap` and not committed yet. Never 0 (a claim is at least 8 bytes).
  static constexpr uint64_t Pending(uint32_t lap, int64_t claim_size) noexcept {
    return (uint64_t{lap} << kLapShift) | static_cast<uint64_t>(claim_size);
  }
  // Whether `word`, read at a position of lap `lap`, is a pending stamp.
  static constexpr bool IsPendingFor(uint64_t word, uint32_t lap) noexcept {
    return (word & (kDoneBit | kSkipBit)) == 0 && (word & kLengthMask) != 0 &&
           static_cast<uint32_t>(word >> kLapShift) == lap;
  }

  // Whether `word`, read at a position of lap `lap`, is a committed header
  // written in that lap.
  static constexpr bool IsCommittedFor(uint64_t word, uint32_t lap) noexcept {
    return (word & kDoneBit) != 0 &&
           static_cast<uint32_t>(word >> kLapShift) == lap;
  }
  static constexpr bool IsSkip(uint64_t word) noexcept {
    return (word & kSkipBit) != 0;
  }
  // Payload length (data) or total size (skip).
  static constexpr int64_t Length(uint64_t word) noexcept {
    return static_cast<int64_t>(word & kLengthMask);
  }
};

// Bytes a record of `payload_length` bytes takes: header plus payload
// rounded up to the alignment.
constexpr int64_t RecordSize(int64_t payload_length) noexcept {
  return kByteRecordHeaderSize + ((payload_length + kByteRecordAlignment - 1) &
                                  ~(kByteRecordAlignment - 1));
}

static_assert(kByteRecordHeaderSize == kByteRecordAlignment,
              "a header of one alignment unit keeps every payload 8-aligned");
static_assert(kMaxByteRingCapacity - kByteRecordHeaderSize <=
                  static_cast<int64_t>(RecordHeader::kLengthMask),
              "a skip record may cover the whole ring less one header: its "
              "size must fit the 30-bit length field");
static_assert(MaxByteRecordSize(kMaxByteRingCapacity) <=
                  static_cast<int64_t>(RecordHeader::kLengthMask),
              "the longest payload must fit the 30-bit length field");
static_assert(RecordHeader::Data(0, 0) != 0 && RecordHeader::Skip(0, 0) != 0,
              "0 means 'not committed': a committed header is never 0");
static_assert((RecordHeader::kDoneBit | RecordHeader::kSkipBit |
               RecordHeader::kLengthMask) == 0xffffffffULL,
              "flags and length fill the low word; the lap fills the high "
              "word");
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "header words are the commit markers readers spin on");
static_assert(std::atomic_ref<uint64_t>::required_alignment <=
                  kByteRecordAlignment,
              "a header at any record boundary is aligned for atomic_ref");
static_assert(RecordSize(MaxByteRecordSize(kMinByteRingCapacity)) * 2 ==
                  kMinByteRingCapacity,
              "the longest record takes exactly half of the smallest ring");

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_RECORD_HEADER_H_
