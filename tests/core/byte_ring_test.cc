// Single-threaded tests for ByteRing, mostly for both producer types:
// option validation, records too long for the ring, padding at the end of
// the buffer at every alignment (exact positions), aborted, destroyed and
// short-committed claims, records from earlier laps (including payload
// bytes forged to look like a future header), broadcast readers and the
// slowest one gating the producer, timed claims, Close and Halt, batch and
// zero-copy reads, reader registration and a ring without readers.
//
// The test thread plays producer and readers in turn. Multi-threaded
// behaviour is in byte_ring_concurrent_test.cc.

#include "ringflow/core/byte_ring.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/record_header.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/core/write_claim.h"
#include "support/core_test_util.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::core_internal::RecordHeader;
using ::ringflow::core_internal::RecordSize;
using ::ringflow::core_testing::kProducerTypes;
using ::ringflow::core_testing::kWaitStrategyKinds;
using ::ringflow::core_testing::ProducerTypeParamName;
using ::ringflow::core_testing::WaitStrategyParamName;
using ::ringflow::testing::IsOk;
using ::ringflow::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The bytes of record `index`, `length` long: the index (little endian, as
// many bytes as fit), then a pattern derived from index and offset. A
// record from another lap or a torn one reads as the wrong index or bytes.
std::vector<std::byte> RecordBytes(uint64_t index, int64_t length) {
  std::vector<std::byte> bytes(static_cast<size_t>(length));
  for (int64_t k = 0; k < length; ++k) {
    bytes[k] = k < 8 ? static_cast<std::byte>(index >> (8 * k))
                     : static_cast<std::byte>(index * 131 + k * 7 + 1);
  }
  return bytes;
}

std::vector<std::byte> ToVector(std::span<const std::byte> span) {
  return {span.begin(), span.end()};
}

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string ToString(std::span<const std::byte> span) {
  return std::string(reinterpret_cast<const char*>(span.data()), span.size());
}

ByteRingOptions Options(int64_t capacity, ProducerType type) {
  ByteRingOptions options;
  options.capacity = capacity;
  options.producer_type = type;
  options.wait_strategy = WaitStrategyKind::kBusySpin;
  return options;
}

std::unique_ptr<ByteRing> MakeRing(const ByteRingOptions& options) {
  absl::StatusOr<std::unique_ptr<ByteRing>> ring = ByteRing::Create(options);
  EXPECT_THAT(ring, IsOk());
  return ring.ok() ? std::move(*ring) : nullptr;
}

ByteReader MakeReader(ByteRing& ring, ReaderStart start = ReaderStart::kLatest,
                      std::string_view name = {}) {
  absl::StatusOr<ByteReader> reader = ring.RegisterReader(name, start);
  EXPECT_THAT(reader, IsOk());
  return std::move(reader).value();
}

// Publishes record `index` of `length` bytes; returns its position.
int64_t PublishRecord(ByteRing& ring, uint64_t index, int64_t length) {
  std::optional<WriteClaim> claim = ring.TryClaim(length);
  EXPECT_TRUE(claim.has_value()) << "no room for record " << index;
  if (!claim) return -1;
  const std::vector<std::byte> bytes = RecordBytes(index, length);
  if (length > 0) std::memcpy(claim->data().data(), bytes.data(), bytes.size());
  const int64_t position = claim->position();
  claim->Commit();
  return position;
}

// Reads one record and checks it is record `index` of `length` bytes;
// returns its position (-1 when none was there).
int64_t ReadRecord(ByteReader& reader, uint64_t index, int64_t length);

// Publishes and reads filler records (never padded) until the tail is at
// buffer offset `offset`. `index` numbers the fillers.
void MoveTailTo(ByteRing& ring, ByteReader& reader, int64_t offset,
                uint64_t& index) {
  const int64_t capacity = ring.capacity();
  for (;;) {
    const int64_t at = ring.ClaimedPosition() & (capacity - 1);
    if (at == offset) return;
    const int64_t gap = (offset - at + capacity) % capacity;
    const int64_t filler = std::min({gap, capacity - at, int64_t{48}});
    PublishRecord(ring, index, filler - 8);
    ReadRecord(reader, index++, filler - 8);
  }
}

// Reads one record and checks it is record `index` of `length` bytes;
// returns its position (-1 when none was there).
int64_t ReadRecord(ByteReader& reader, uint64_t index, int64_t length) {
  std::optional<ReadClaim> claim = reader.TryRead();
  EXPECT_TRUE(claim.has_value()) << "record " << index << " not readable";
  if (!claim) return -1;
  EXPECT_EQ(ToVector(**claim), RecordBytes(index, length))
      << "record " << index;
  return claim->position();
}

// ---- options ----------------------------------------------------------------

TEST(ByteRingTest, AcceptsDefaultOptions) {
  EXPECT_THAT(ByteRing::Create(ByteRingOptions()), IsOk());
}

TEST(ByteRingTest, RejectsCapacityBelowMinimum) {
  ByteRingOptions options;
  options.capacity = 32;
  EXPECT_THAT(ByteRing::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("capacity 32"), HasSubstr("64"))));
}

TEST(ByteRingTest, RejectsNonPowerOfTwoCapacity) {
  ByteRingOptions options;
  options.capacity = 1000;
  EXPECT_THAT(ByteRing::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("capacity 1000"),
                             HasSubstr("not a power of two"))));
}

TEST(ByteRingTest, RejectsCapacityAboveMaximum) {
  ByteRingOptions options;
  options.capacity = int64_t{1} << 31;
  EXPECT_THAT(ByteRing::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("capacity 2147483648"),
                             HasSubstr("1073741824"))));
}

TEST(ByteRingTest, RejectsMaxReadersOutsideRange) {
  ByteRingOptions options;
  options.max_readers = 0;
  EXPECT_THAT(
      ByteRing::Create(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_readers 0")));
  options.max_readers = kMaxConsumers + 1;
  EXPECT_THAT(ByteRing::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_readers 257")));
}

TEST(ByteRingTest, RejectsBadName) {
  ByteRingOptions options;
  options.name = "bad name";
  EXPECT_THAT(
      ByteRing::Create(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'bad name'")));
}

TEST(ByteRingTest, RejectsUnknownEnumValues) {
  ByteRingOptions options;
  options.producer_type = static_cast<ProducerType>(7);
  EXPECT_THAT(ByteRing::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("producer_type 7")));
  options = ByteRingOptions();
  options.wait_strategy = static_cast<WaitStrategyKind>(9);
  EXPECT_THAT(ByteRing::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_strategy 9")));
}

TEST(ByteRingTest, RejectsNonPositiveTimeoutForTimeoutBlocking) {
  ByteRingOptions options;
  options.wait_strategy = WaitStrategyKind::kTimeoutBlocking;
  options.wait_timeout = absl::ZeroDuration();
  EXPECT_THAT(ByteRing::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_timeout 0")));
}

// ---- producer type parameterised
// ---------------------------------------------

class ByteRingProducerTest : public ::testing::TestWithParam<ProducerType> {};

INSTANTIATE_TEST_SUITE_P(ProducerTypes, ByteRingProducerTest,
                         ::testing::ValuesIn(kProducerTypes),
                         [](const ::testing::TestParamInfo<ProducerType>& p) {
                           return ProducerTypeParamName(p.param);
                         });

TEST_P(ByteRingProducerTest, RejectsRecordLongerThanTheRingAllows) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  EXPECT_EQ(ring->MaxRecordSize(), 504);
  EXPECT_THAT(ring->Claim(505, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("record length 505"),
                             HasSubstr("maximum 504"))));
  EXPECT_THAT(ring->ValidateRecordLength(505),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("505"), HasSubstr("504"))));
  EXPECT_THAT(ring->ValidateRecordLength(-1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-1")));
  EXPECT_THAT(ring->ValidateRecordLength(504), IsOk());
  // The hot and waiting forms refuse at once instead of waiting.
  EXPECT_FALSE(ring->TryClaim(505).has_value());
  EXPECT_FALSE(ring->Claim(505).has_value());
  EXPECT_FALSE(ring->TryClaim(-1).has_value());
  const std::vector<std::byte> big(505);
  EXPECT_FALSE(ring->Publish(big));
  const std::span<const std::byte> pieces[] = {
      std::span<const std::byte>(big).first(300),
      std::span<const std::byte>(big).first(300)};
  EXPECT_FALSE(ring->Publish(pieces));
  EXPECT_EQ(ring->ClaimedPosition(), 0);
}

// The longest record fits an empty ring wherever the tail is, padding
// included: a claim can never wait for room that cannot exist.
TEST_P(ByteRingProducerTest, LongestRecordFitsAtEveryOffset) {
  constexpr int64_t kCapacity = 256;
  std::unique_ptr<ByteRing> ring = MakeRing(Options(kCapacity, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  const int64_t longest = ring->MaxRecordSize();
  uint64_t index = 0;
  for (int64_t offset = 0; offset < kCapacity; offset += 8) {
    MoveTailTo(*ring, reader, offset, index);
    ASSERT_EQ(ring->ClaimedPosition() & (kCapacity - 1), offset);
    const int64_t tail = ring->ClaimedPosition();
    const int64_t expected = offset + RecordSize(longest) <= kCapacity
                                 ? tail
                                 : tail + kCapacity - offset;
    EXPECT_EQ(PublishRecord(*ring, index, longest), expected)
        << "offset " << offset;
    EXPECT_EQ(ReadRecord(reader, index++, longest), expected);
  }
}

TEST_P(ByteRingProducerTest, PublishesAndReadsRecordsInOrder) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  ASSERT_TRUE(ring->Publish(Bytes("a")));
  ASSERT_TRUE(ring->Publish(Bytes("hello, ring")));
  ASSERT_TRUE(ring->TryPublish(Bytes("")));
  ASSERT_TRUE(ring->Publish(Bytes("12345678")));
  std::vector<std::pair<int64_t, std::string>> seen;
  while (std::optional<ReadClaim> claim = reader.TryRead()) {
    seen.emplace_back(claim->position(), ToString(**claim));
  }
  EXPECT_THAT(seen,
              ElementsAre(std::pair<int64_t, std::string>(0, "a"),
                          std::pair<int64_t, std::string>(16, "hello, ring"),
                          std::pair<int64_t, std::string>(40, ""),
                          std::pair<int64_t, std::string>(48, "12345678")));
  EXPECT_EQ(reader.position(), 64);
  EXPECT_EQ(ring->ClaimedPosition(), 64);
  EXPECT_EQ(ring->records_published(), 4u);
  EXPECT_EQ(ring->payload_bytes_published(), 1u + 11u + 0u + 8u);
  EXPECT_EQ(reader.records_read(), 4u);
  EXPECT_EQ(reader.bytes_read(), 20u);
  EXPECT_EQ(ring->padding_bytes(), 0u);
}

TEST_P(ByteRingProducerTest, PadsRecordThatWouldCrossTheEnd) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(64, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  EXPECT_EQ(PublishRecord(*ring, 0, 20), 0);  // 32 bytes: [0, 32)
  EXPECT_EQ(ReadRecord(reader, 0, 20), 0);
  EXPECT_EQ(PublishRecord(*ring, 1, 8), 32);  // 16 bytes: [32, 48)
  EXPECT_EQ(ReadRecord(reader, 1, 8), 32);
  // 24 bytes do not fit in [48, 64): padding [48, 64), record at 64.
  EXPECT_EQ(PublishRecord(*ring, 2, 16), 64);
  EXPECT_EQ(ring->ClaimedPosition(), 88);
  EXPECT_EQ(ReadRecord(reader, 2, 16), 64);
  EXPECT_EQ(reader.position(), 88);
  EXPECT_EQ(ring->padding_bytes(), 16u);
  EXPECT_EQ(reader.skipped_bytes(), 16u);
  EXPECT_EQ(reader.records_read(), 3u);
  // A record that ends exactly at the end of the buffer needs no padding.
  EXPECT_EQ(PublishRecord(*ring, 3, 24), 88);  // 32 bytes: [88, 120)
  EXPECT_EQ(ReadRecord(reader, 3, 24), 88);
  EXPECT_EQ(PublishRecord(*ring, 4, 0), 120);  // 8 bytes: [120, 128)
  EXPECT_EQ(ReadRecord(reader, 4, 0), 120);
  EXPECT_EQ(PublishRecord(*ring, 5, 1), 128);
  EXPECT_EQ(ReadRecord(reader, 5, 1), 128);
  EXPECT_EQ(ring->padding_bytes(), 16u);
}

// Every record size from 1 to 3x the alignment, from every 8-byte offset of
// the last half of the buffer: exact position, content and padding.
TEST_P(ByteRingProducerTest, PadsAtEveryAlignmentAroundTheEnd) {
  constexpr int64_t kCapacity = 128;
  std::unique_ptr<ByteRing> ring = MakeRing(Options(kCapacity, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  uint64_t index = 0;
  uint64_t padding = 0;
  for (int64_t offset = kCapacity / 2; offset < kCapacity; offset += 8) {
    for (int64_t length = 1; length <= 3 * kByteRecordAlignment; ++length) {
      MoveTailTo(*ring, reader, offset, index);
      const int64_t tail = ring->ClaimedPosition();
      ASSERT_EQ(tail & (kCapacity - 1), offset);
      const bool pads = offset + RecordSize(length) > kCapacity;
      const int64_t expected = pads ? tail + kCapacity - offset : tail;
      if (pads) padding += static_cast<uint64_t>(kCapacity - offset);
      EXPECT_EQ(PublishRecord(*ring, index, length), expected)
          << "offset " << offset << " length " << length;
      EXPECT_EQ(ReadRecord(reader, index++, length), expected)
          << "offset " << offset << " length " << length;
      EXPECT_EQ(ring->ClaimedPosition(), expected + RecordSize(length));
      EXPECT_EQ(ring->padding_bytes(), padding);
    }
  }
  EXPECT_EQ(reader.skipped_bytes(), padding);
  EXPECT_EQ(reader.records_read(), index);
}

TEST_P(ByteRingProducerTest, AbortedClaimIsSkippedAndCounted) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  std::optional<WriteClaim> claim = ring->TryClaim(10);
  ASSERT_TRUE(claim.has_value());
  std::memset(claim->data().data(), 0xab, 10);
  claim->Abort();
  EXPECT_FALSE(claim->active());
  claim->Abort();  // no-op
  ASSERT_TRUE(ring->Publish(Bytes("after")));
  std::optional<ReadClaim> read = reader.TryRead();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(ToString(**read), "after");
  EXPECT_EQ(read->position(), 24);
  read.reset();
  EXPECT_FALSE(reader.TryRead().has_value());
  EXPECT_EQ(ring->aborted_records(), 1u);
  EXPECT_EQ(ring->skipped_bytes(), 24u);
  EXPECT_EQ(ring->records_published(), 1u);
  EXPECT_EQ(reader.skipped_bytes(), 24u);
  EXPECT_EQ(reader.records_read(), 1u);
}

TEST_P(ByteRingProducerTest, DestroyedClaimIsAborted) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  {
    std::optional<WriteClaim> claim = ring->TryClaim(17);
    ASSERT_TRUE(claim.has_value());
    std::memset(claim->data().data(), 0xcd, 17);
  }
  {
    // Move-assigning over an active claim aborts the one overwritten.
    std::optional<WriteClaim> first = ring->TryClaim(1);
    std::optional<WriteClaim> second = ring->TryClaim(2);
    ASSERT_TRUE(first.has_value() && second.has_value());
    *first = std::move(*second);
    EXPECT_FALSE(second->active());
    EXPECT_EQ(first->length(), 2);
    std::memcpy(first->data().data(), "ok", 2);
    first->Commit();
  }
  std::vector<std::string> seen;
  while (std::optional<ReadClaim> read = reader.TryRead()) {
    seen.push_back(ToString(**read));
  }
  EXPECT_THAT(seen, ElementsAre("ok"));
  EXPECT_EQ(ring->aborted_records(), 2u);
  EXPECT_EQ(ring->skipped_bytes(), 32u + 16u);
  EXPECT_EQ(reader.skipped_bytes(), 48u);
  EXPECT_EQ(reader.position(), ring->ClaimedPosition());
}

TEST_P(ByteRingProducerTest, ShortCommitPublishesThePrefix) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  std::optional<WriteClaim> claim = ring->TryClaim(100);
  ASSERT_TRUE(claim.has_value());
  const std::vector<std::byte> bytes = RecordBytes(7, 100);
  std::memcpy(claim->data().data(), bytes.data(), bytes.size());
  claim->Commit(10);
  EXPECT_EQ(PublishRecord(*ring, 8, 3), 112);  // after the whole claim
  std::optional<WriteClaim> empty = ring->TryClaim(5);
  ASSERT_TRUE(empty.has_value());
  empty->Commit(0);

  std::optional<ReadClaim> first = reader.TryRead();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->position(), 0);
  EXPECT_EQ(ToVector(**first), RecordBytes(7, 10));
  first.reset();
  EXPECT_EQ(ReadRecord(reader, 8, 3), 112);
  std::optional<ReadClaim> last = reader.TryRead();
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->data().empty());
  EXPECT_EQ(last->position(), 128);
  last.reset();
  EXPECT_EQ(reader.position(), 136);
  // The unused tail after the last record is passed by the next read.
  EXPECT_FALSE(reader.TryRead().has_value());
  // 112 - 24 unused bytes of the first claim, 16 - 8 of the last.
  EXPECT_EQ(ring->skipped_bytes(), 88u + 8u);
  EXPECT_EQ(reader.skipped_bytes(), 96u);
  EXPECT_EQ(ring->aborted_records(), 0u);
  EXPECT_EQ(ring->payload_bytes_published(), 13u);
  EXPECT_EQ(reader.position(), 144);
}

// A slow reader that lets the producer lap it as far as allowed, a reader
// that joins late at the latest record and one at the oldest: each sees
// consecutive records with their own content, never an earlier lap's.
TEST_P(ByteRingProducerTest, NeverReadsRecordsOfAnEarlierLap) {
  constexpr int64_t kCapacity = 256;
  std::unique_ptr<ByteRing> ring = MakeRing(Options(kCapacity, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader slow = MakeReader(*ring, ReaderStart::kOldest, "slow");
  std::optional<ByteReader> late;
  std::optional<ByteReader> oldest;
  uint64_t next_slow = 0;
  uint64_t next_late = 0;
  uint64_t next_oldest = 0;
  auto length_of = [](uint64_t index) {
    return static_cast<int64_t>(1 + (index * 37) % 60);
  };
  // Reads everything `reader` can and checks it continues at `next`.
  auto drain = [&](ByteReader& reader, uint64_t& next, int64_t limit) {
    for (int64_t n = 0; n < limit; ++n) {
      std::optional<ReadClaim> claim = reader.TryRead();
      if (!claim) return;
      std::span<const std::byte> data = **claim;
      ASSERT_EQ(ToVector(data), RecordBytes(next, length_of(next)))
          << reader.name() << " expected record " << next << " at "
          << claim->position();
      ++next;
    }
  };
  uint64_t index = 0;
  for (int lap = 0; ring->ClaimedPosition() < 12 * kCapacity; ++lap) {
    ASSERT_LT(lap, 10'000) << "the producer stopped making progress";
    // Fill the ring until the slow reader gates it.
    while (true) {
      const int64_t length = length_of(index);
      std::optional<WriteClaim> claim = ring->TryClaim(length);
      if (!claim) break;
      const std::vector<std::byte> bytes = RecordBytes(index, length);
      std::memcpy(claim->data().data(), bytes.data(), bytes.size());
      claim->Commit();
      ++index;
    }
    drain(slow, next_slow, 3);  // slow: a few records per round
    if (late) drain(*late, next_late, 1000);
    if (oldest) drain(*oldest, next_oldest, 1000);
    if (lap == 4) {
      late = MakeReader(*ring, ReaderStart::kLatest, "late");
      next_late = index;  // only records claimed from now on
      oldest = MakeReader(*ring, ReaderStart::kOldest, "oldest");
      next_oldest = next_slow;  // what the slowest reader still holds
    }
  }
  drain(slow, next_slow, 1 << 20);
  drain(*late, next_late, 1 << 20);
  drain(*oldest, next_oldest, 1 << 20);
  EXPECT_EQ(next_slow, index);
  EXPECT_EQ(next_late, index);
  EXPECT_EQ(next_oldest, index);
  EXPECT_EQ(slow.records_read(), index);
  EXPECT_EQ(slow.skipped_bytes(), ring->padding_bytes());
  EXPECT_GT(ring->padding_bytes(), 0u);
}

// Payload bytes of an earlier lap may hold any bits, even a word that is a
// valid committed header for the position it will have one lap later. A
// claim clears the header word after its end, so a reader never takes
// such a word for a record, committed or not.
TEST_P(ByteRingProducerTest, NeverTakesStalePayloadForAHeader) {
  constexpr int64_t kCapacity = 128;
  std::unique_ptr<ByteRing> ring = MakeRing(Options(kCapacity, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  // Lap 0: payload words at positions 8..56 each forge a committed 8-byte
  // data record of lap 1.
  std::optional<WriteClaim> forged = ring->TryClaim(56);
  ASSERT_TRUE(forged.has_value());
  for (int64_t k = 0; k < 56; k += 8) {
    const uint64_t word = RecordHeader::Data(/*lap=*/1, /*payload_length=*/8);
    std::memcpy(forged->data().data() + k, &word, sizeof(word));
  }
  forged->Commit();
  ASSERT_TRUE(reader.TryRead().has_value());
  PublishRecord(*ring, 1, 56);  // [64, 128)
  ReadRecord(reader, 1, 56);
  // Lap 1: an empty record at 128; the next boundary (136) lies where
  // lap 0 left a forged header.
  EXPECT_EQ(PublishRecord(*ring, 2, 0), 128);
  EXPECT_EQ(ReadRecord(reader, 2, 0), 128);
  EXPECT_FALSE(reader.TryRead().has_value());
  std::optional<WriteClaim> pending = ring->TryClaim(8);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->position(), 136);
  EXPECT_FALSE(reader.TryRead().has_value()) << "read an uncommitted record";
  const std::vector<std::byte> bytes = RecordBytes(3, 8);
  std::memcpy(pending->data().data(), bytes.data(), bytes.size());
  pending->Commit();
  EXPECT_EQ(ReadRecord(reader, 3, 8), 136);
  EXPECT_EQ(reader.records_read(), 4u);
}

TEST_P(ByteRingProducerTest, EveryReaderSeesEveryRecord) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(4096, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader a = MakeReader(*ring, ReaderStart::kLatest, "a");
  ByteReader b = MakeReader(*ring, ReaderStart::kLatest, "b");
  for (uint64_t i = 0; i < 20; ++i) {
    PublishRecord(*ring, i, static_cast<int64_t>(i * 3));
  }
  for (ByteReader* reader : {&a, &b}) {
    for (uint64_t i = 0; i < 20; ++i) {
      ReadRecord(*reader, i, static_cast<int64_t>(i * 3));
    }
    EXPECT_FALSE(reader->TryRead().has_value());
    EXPECT_EQ(reader->records_read(), 20u);
  }
}

TEST_P(ByteRingProducerTest, SlowestReaderGatesTheProducer) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(256, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader fast = MakeReader(*ring, ReaderStart::kLatest, "fast");
  ByteReader slow = MakeReader(*ring, ReaderStart::kLatest, "slow");
  // 32-byte records: 7 fit in the 248 usable bytes (256 less the 8-byte
  // slack that protects the next header).
  for (uint64_t i = 0; i < 7; ++i) PublishRecord(*ring, i, 24);
  EXPECT_FALSE(ring->TryClaim(24).has_value());
  EXPECT_EQ(ring->try_claim_failures(), 1u);
  for (uint64_t i = 0; i < 7; ++i) ReadRecord(fast, i, 24);
  EXPECT_FALSE(ring->TryClaim(24).has_value()) << "lapped the slow reader";
  EXPECT_EQ(ring->GatingPosition(), 0);
  ReadRecord(slow, 0, 24);
  EXPECT_EQ(ring->GatingPosition(), 32);
  EXPECT_EQ(PublishRecord(*ring, 7, 24), 224);
  EXPECT_FALSE(ring->TryClaim(24).has_value());
  for (uint64_t i = 1; i < 8; ++i) ReadRecord(slow, i, 24);
  ReadRecord(fast, 7, 24);
  EXPECT_EQ(ring->GatingPosition(), 256);
}

TEST_P(ByteRingProducerTest, TimedClaimReturnsDeadlineExceededClaimingNothing) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(256, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  for (uint64_t i = 0; i < 7; ++i) PublishRecord(*ring, i, 24);
  const int64_t tail = ring->ClaimedPosition();
  EXPECT_THAT(ring->Claim(24, absl::Milliseconds(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("nothing was claimed")));
  EXPECT_THAT(ring->Claim(24, absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(ring->ClaimedPosition(), tail);
  EXPECT_EQ(ring->full_waits(), 2u);
  for (uint64_t i = 0; i < 7; ++i) ReadRecord(reader, i, 24);
  EXPECT_FALSE(reader.TryRead().has_value());
  absl::StatusOr<WriteClaim> claim = ring->Claim(24, absl::Seconds(10));
  ASSERT_THAT(claim, IsOk());
  EXPECT_EQ(claim->position(), tail);
  claim->Commit();
  std::optional<ReadClaim> read = reader.TryRead();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->position(), tail);
}

TEST_P(ByteRingProducerTest, ClaimsFailAfterClose) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(256, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  PublishRecord(*ring, 0, 5);
  ring->Close();
  EXPECT_TRUE(ring->IsClosed());
  EXPECT_FALSE(ring->IsHalted());
  EXPECT_FALSE(ring->TryClaim(5).has_value());
  EXPECT_FALSE(ring->Claim(5).has_value());
  EXPECT_THAT(
      ring->Claim(5, absl::Seconds(1)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("closed")));
  EXPECT_FALSE(ring->Publish(Bytes("x")));
  EXPECT_FALSE(ring->TryPublish(Bytes("x")));
  EXPECT_EQ(ring->ClaimedPosition(), 16);
  ReadRecord(reader, 0, 5);  // readers keep reading
  EXPECT_EQ(reader.WaitFor(absl::Milliseconds(1)).status, WaitStatus::kTimeout);
}

TEST_P(ByteRingProducerTest, HaltAlertsReadersOnceDrained) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(256, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  PublishRecord(*ring, 0, 5);
  ring->Halt();
  EXPECT_TRUE(ring->IsHalted());
  EXPECT_TRUE(ring->IsClosed());
  EXPECT_EQ(reader.Wait().status, WaitStatus::kAvailable);
  ReadRecord(reader, 0, 5);
  EXPECT_EQ(reader.Wait().status, WaitStatus::kAlerted);
  EXPECT_EQ(reader.WaitFor(absl::Seconds(10)).status, WaitStatus::kAlerted);
  EXPECT_THAT(ring->Claim(5, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(ByteRingProducerTest, ReadBatchDeliversEveryAvailableRecordOnce) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(128, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  EXPECT_EQ(PublishRecord(*ring, 0, 40), 0);   // [0, 48)
  ring->TryClaim(8)->Abort();                  // [48, 64)
  EXPECT_EQ(PublishRecord(*ring, 1, 30), 64);  // [64, 104)
  struct Seen {
    int64_t position;
    std::vector<std::byte> bytes;
    bool end_of_batch;
  };
  std::vector<Seen> seen;
  auto handler = [&](std::span<const std::byte> record, int64_t position,
                     bool end_of_batch) {
    seen.push_back({position, ToVector(record), end_of_batch});
  };
  EXPECT_EQ(reader.ReadBatch(handler), 2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].position, 0);
  EXPECT_EQ(seen[0].bytes, RecordBytes(0, 40));
  EXPECT_FALSE(seen[0].end_of_batch);
  EXPECT_EQ(seen[1].position, 64);
  EXPECT_EQ(seen[1].bytes, RecordBytes(1, 30));
  EXPECT_TRUE(seen[1].end_of_batch);
  EXPECT_EQ(reader.position(), 104);
  EXPECT_EQ(reader.ReadBatch(handler), 0);
  // Across the wrap: padding [104, 128), then records at 128 and 160.
  EXPECT_EQ(PublishRecord(*ring, 2, 24), 128);
  EXPECT_EQ(PublishRecord(*ring, 3, 1), 160);
  seen.clear();
  EXPECT_EQ(reader.ReadBatch(handler), 2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].position, 128);
  EXPECT_EQ(seen[1].position, 160);
  EXPECT_TRUE(seen[1].end_of_batch);
  EXPECT_EQ(reader.position(), 176);
  EXPECT_EQ(reader.records_read(), 4u);
  EXPECT_EQ(reader.skipped_bytes(), 16u + 24u);
}

TEST_P(ByteRingProducerTest, ReadBatchReleasesHandledRecordsWhenHandlerThrows) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  std::vector<int64_t> positions;
  for (uint64_t i = 0; i < 4; ++i)
    positions.push_back(PublishRecord(*ring, i, 9));
  int calls = 0;
  auto throwing = [&](std::span<const std::byte>, int64_t, bool) {
    if (++calls == 3) throw std::runtime_error("handler failed");
  };
  EXPECT_THROW(reader.ReadBatch(throwing), std::runtime_error);
  EXPECT_EQ(reader.position(), positions[2]);
  EXPECT_EQ(reader.records_read(), 2u);
  std::vector<int64_t> again;
  EXPECT_EQ(reader.ReadBatch(
                [&](std::span<const std::byte> record, int64_t position, bool) {
                  again.push_back(position);
                  EXPECT_EQ(ToVector(record), RecordBytes(again.size() + 1, 9));
                }),
            2);
  EXPECT_THAT(again, ElementsAre(positions[2], positions[3]));
}

TEST_P(ByteRingProducerTest, ReadClaimHoldsItsBytesUntilReleased) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(256, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  PublishRecord(*ring, 0, 24);
  PublishRecord(*ring, 1, 24);
  std::optional<ReadClaim> claim = reader.TryRead();
  ASSERT_TRUE(claim.has_value());
  EXPECT_EQ(ring->GatingPosition(), 0);
  EXPECT_EQ(reader.position(), 0);
  ReadClaim moved = std::move(*claim);
  claim.reset();  // the moved-from claim releases nothing
  EXPECT_EQ(reader.position(), 0);
  EXPECT_EQ(moved.data().size(), 24u);
  moved.Release();
  EXPECT_EQ(reader.position(), 32);
  EXPECT_EQ(ring->GatingPosition(), 32);
  moved.Release();  // no-op
  EXPECT_EQ(ReadRecord(reader, 1, 24), 32);
}

TEST_P(ByteRingProducerTest, UncommittedClaimStallsReadersBehindIt) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  std::optional<WriteClaim> first = ring->TryClaim(4);
  ASSERT_TRUE(first.has_value());
  PublishRecord(*ring, 1, 4);
  EXPECT_FALSE(reader.TryRead().has_value());
  EXPECT_EQ(reader.WaitFor(absl::Milliseconds(1)).status, WaitStatus::kTimeout);
  std::memcpy(first->data().data(), RecordBytes(0, 4).data(), 4);
  first->Commit();
  EXPECT_EQ(ReadRecord(reader, 0, 4), 0);
  EXPECT_EQ(ReadRecord(reader, 1, 4), 16);
}

TEST_P(ByteRingProducerTest, GatherPublishConcatenatesThePieces) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  const std::span<const std::byte> pieces[] = {Bytes("head|"), Bytes(""),
                                               Bytes("body|"), Bytes("tail")};
  ASSERT_TRUE(ring->Publish(pieces));
  ASSERT_TRUE(ring->TryPublish(std::span(pieces).first(1)));
  std::optional<ReadClaim> first = reader.TryRead();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(ToString(**first), "head|body|tail");
  first.reset();
  std::optional<ReadClaim> second = reader.TryRead();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(ToString(**second), "head|");
}

TEST_P(ByteRingProducerTest, ReaderStartsAtLatestOrOldest) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(1024, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader first = MakeReader(*ring, ReaderStart::kLatest, "first");
  for (uint64_t i = 0; i < 3; ++i) PublishRecord(*ring, i, 8);
  ReadRecord(first, 0, 8);  // `first` still holds records 1 and 2
  ByteReader latest = MakeReader(*ring, ReaderStart::kLatest, "latest");
  ByteReader oldest = MakeReader(*ring, ReaderStart::kOldest, "oldest");
  EXPECT_FALSE(latest.TryRead().has_value());
  ReadRecord(oldest, 1, 8);
  ReadRecord(oldest, 2, 8);
  PublishRecord(*ring, 3, 8);
  ReadRecord(latest, 3, 8);
  ReadRecord(oldest, 3, 8);
  ReadRecord(first, 1, 8);
  EXPECT_EQ(latest.name(), "latest");
}

TEST_P(ByteRingProducerTest, DestroyedReaderStopsGating) {
  std::unique_ptr<ByteRing> ring = MakeRing(Options(256, GetParam()));
  ASSERT_NE(ring, nullptr);
  ByteReader keeps_up = MakeReader(*ring, ReaderStart::kLatest, "keeps-up");
  std::optional<ByteReader> stuck =
      MakeReader(*ring, ReaderStart::kLatest, "stuck");
  uint64_t i = 0;
  for (; i < 7; ++i) PublishRecord(*ring, i, 24);
  for (uint64_t k = 0; k < 7; ++k) ReadRecord(keeps_up, k, 24);
  EXPECT_FALSE(ring->TryClaim(24).has_value());
  stuck.reset();
  EXPECT_EQ(ring->readers().ActiveCount(), 1);
  for (; i < 30; ++i) {
    PublishRecord(*ring, i, 24);
    ReadRecord(keeps_up, i, 24);
  }
}

TEST_P(ByteRingProducerTest, RejectsReadersBeyondMaxReaders) {
  ByteRingOptions options = Options(256, GetParam());
  options.max_readers = 2;
  std::unique_ptr<ByteRing> ring = MakeRing(options);
  ASSERT_NE(ring, nullptr);
  ByteReader a = MakeReader(*ring);
  ByteReader b = MakeReader(*ring);
  EXPECT_THAT(ring->RegisterReader("c"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(ring->RegisterReader("bad name"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// With no reader the producer never waits for one: records nobody reads
// are dropped when the room is needed, and a reader that joins later reads
// whole, consecutive records.
TEST_P(ByteRingProducerTest, RingWithoutReadersDropsUnreadRecords) {
  constexpr int64_t kCapacity = 256;
  std::unique_ptr<ByteRing> ring = MakeRing(Options(kCapacity, GetParam()));
  ASSERT_NE(ring, nullptr);
  uint64_t index = 0;
  auto length_of = [](uint64_t i) { return static_cast<int64_t>(i % 50); };
  for (; ring->ClaimedPosition() < 20 * kCapacity; ++index) {
    ASSERT_GE(PublishRecord(*ring, index, length_of(index)), 0);
  }
  {
    // A reader that joined and left raises the floor to where it stopped.
    ByteReader passing = MakeReader(*ring, ReaderStart::kOldest);
  }
  ByteReader reader = MakeReader(*ring, ReaderStart::kOldest);
  std::optional<uint64_t> next;
  int64_t count = 0;
  reader.ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
    uint64_t i = 0;
    std::memcpy(&i, record.data(), std::min<size_t>(8, record.size()));
    if (!next) next = i;  // the oldest record left
    EXPECT_EQ(ToVector(record), RecordBytes(*next, length_of(*next)));
    ++*next;
    ++count;
  });
  EXPECT_GT(count, 0);
  EXPECT_EQ(next, index);
  for (int k = 0; k < 20; ++k, ++index) {
    PublishRecord(*ring, index, length_of(index));
    ReadRecord(reader, index, length_of(index));
  }
}

TEST(ByteRingTest, CountersCanBeSwitchedOff) {
  ByteRingOptions options = Options(256, ProducerType::kMulti);
  options.counters = false;
  std::unique_ptr<ByteRing> ring = MakeRing(options);
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  PublishRecord(*ring, 0, 100);
  ring->TryClaim(3)->Abort();
  EXPECT_EQ(ring->records_published(), 0u);
  EXPECT_EQ(ring->skipped_bytes(), 0u);
  EXPECT_EQ(ring->aborted_records(), 0u);
  ReadRecord(reader, 0, 100);
}

// ---- wait strategies
// ----------------------------------------------------------

class ByteRingWaitTest : public ::testing::TestWithParam<WaitStrategyKind> {};

INSTANTIATE_TEST_SUITE_P(
    WaitStrategies, ByteRingWaitTest, ::testing::ValuesIn(kWaitStrategyKinds),
    [](const ::testing::TestParamInfo<WaitStrategyKind>& p) {
      return WaitStrategyParamName(p.param);
    });

TEST_P(ByteRingWaitTest, WaitReportsRecordsAndTimesOutWithout) {
  ByteRingOptions options = Options(256, ProducerType::kMulti);
  options.wait_strategy = GetParam();
  options.wait_timeout = absl::Milliseconds(1);
  std::unique_ptr<ByteRing> ring = MakeRing(options);
  ASSERT_NE(ring, nullptr);
  ByteReader reader = MakeReader(*ring);
  EXPECT_EQ(reader.WaitFor(absl::Milliseconds(1)).status, WaitStatus::kTimeout);
  EXPECT_EQ(reader.WaitFor(absl::ZeroDuration()).status, WaitStatus::kTimeout);
  // A record behind an aborted claim: Wait passes the skip record.
  ring->TryClaim(20)->Abort();
  PublishRecord(*ring, 0, 3);
  const WaitResult result = reader.Wait();
  EXPECT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_EQ(result.available, 32);
  EXPECT_EQ(reader.position(), 32);
  EXPECT_EQ(reader.WaitFor(absl::Seconds(10)).status, WaitStatus::kAvailable);
  EXPECT_EQ(ReadRecord(reader, 0, 3), 32);
}

}  // namespace
}  // namespace ringflow
