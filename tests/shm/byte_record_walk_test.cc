// Tests for CountCommittedRecords (shm/internal/byte_record_walk.h): the
// walk a tool runs over a byte ring's untrusted records to count a
// reader's lag in records. Hand-built headers: committed data and skip
// records, a pending claim, a header of another lap, lengths that overrun
// the buffer or the end position, and bad arguments.

#include "ringflow/shm/internal/byte_record_walk.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "ringflow/core/internal/record_header.h"

namespace ringflow::shm_internal {
namespace {

using core_internal::RecordHeader;

constexpr int64_t kCapacity = 256;  // lap = position >> 8

class Records {
 public:
  Records() : words_(kCapacity / 8, 0) {}
  void Put(int64_t position, uint64_t word) {
    words_[static_cast<size_t>((position % kCapacity) / 8)] = word;
  }
  const std::byte* data() const {
    return reinterpret_cast<const std::byte*>(words_.data());
  }

 private:
  std::vector<uint64_t> words_;
};

TEST(ByteRecordWalkTest, CountsDataRecordsAndPassesSkipRecords) {
  Records r;
  r.Put(0, RecordHeader::Data(0, 10));    // [0, 24)
  r.Put(24, RecordHeader::Skip(0, 16));   // [24, 40)
  r.Put(40, RecordHeader::Data(0, 0));    // [40, 48)
  r.Put(48, RecordHeader::Data(0, 200));  // [48, 256): ends at the end
  const RecordCount all = CountCommittedRecords(r.data(), kCapacity, 0, 256);
  EXPECT_EQ(all.records, 3);
  EXPECT_EQ(all.reached, 256);
  const RecordCount part = CountCommittedRecords(r.data(), kCapacity, 24, 48);
  EXPECT_EQ(part.records, 1);
  EXPECT_EQ(part.reached, 48);
}

TEST(ByteRecordWalkTest, StopsAtAPendingClaimAndAHeaderOfAnotherLap) {
  Records r;
  r.Put(256, RecordHeader::Data(1, 8));      // lap 1: [256, 272)
  r.Put(272, RecordHeader::Pending(1, 32));  // a claim in flight
  r.Put(304, RecordHeader::Data(1, 8));
  RecordCount c = CountCommittedRecords(r.data(), kCapacity, 256, 320);
  EXPECT_EQ(c.records, 1);
  EXPECT_EQ(c.reached, 272);
  r.Put(272, RecordHeader::Data(0, 24));  // left from lap 0: stale
  c = CountCommittedRecords(r.data(), kCapacity, 256, 320);
  EXPECT_EQ(c.records, 1);
  EXPECT_EQ(c.reached, 272);
}

TEST(ByteRecordWalkTest, NeverTrustsALengthThatOverrunsTheBufferOrTheEnd) {
  Records r;
  r.Put(200, RecordHeader::Data(0, 100));  // would cross the buffer's end
  EXPECT_EQ(CountCommittedRecords(r.data(), kCapacity, 200, 256).reached, 200);
  r.Put(0, RecordHeader::Data(0, 100));  // [0, 112), past `to` = 64
  EXPECT_EQ(CountCommittedRecords(r.data(), kCapacity, 0, 64).records, 0);
  r.Put(0, RecordHeader::Skip(0, 4));  // a skip shorter than a header
  EXPECT_EQ(CountCommittedRecords(r.data(), kCapacity, 0, 64).reached, 0);
  r.Put(0, RecordHeader::Skip(0, 12));  // not a multiple of 8
  EXPECT_EQ(CountCommittedRecords(r.data(), kCapacity, 0, 64).reached, 0);
}

TEST(ByteRecordWalkTest, RefusesBadArgumentsWithoutReading) {
  Records r;
  r.Put(0, RecordHeader::Data(0, 8));
  EXPECT_EQ(CountCommittedRecords(nullptr, kCapacity, 0, 16).records, 0);
  EXPECT_EQ(CountCommittedRecords(r.data(), 100, 0, 16).records, 0);
  EXPECT_EQ(CountCommittedRecords(r.data(), kCapacity, 16, 0).records, 0);
  EXPECT_EQ(CountCommittedRecords(r.data(), kCapacity, 4, 16).records, 0);
  EXPECT_EQ(
      CountCommittedRecords(r.data(), kCapacity, 0, 2 * kCapacity).records, 0);
  EXPECT_EQ(CountCommittedRecords(r.data(), kCapacity, 0, 16).records, 1);
}

}  // namespace
}  // namespace ringflow::shm_internal
