// ByteRingState over external parts (what a shared-memory byte ring builds
// on): the shared words live where the parts say, claims are stamped,
// RecoverClaims turns a dead producer's unfinished claims into skip
// records (stamped, unstamped below a pending tail, padded across the
// buffer's end) and leaves committed records alone, and CheckedRecord
// refuses headers that do not fit. No processes: the "dead producer" is a
// claim never finished on a state that is then dropped, and a second state
// over the same parts recovers it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/byte_ring_counters.h"
#include "ringflow/core/internal/byte_ring_state.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/record_header.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/write_claim.h"

namespace ringflow::core_internal {
namespace {

constexpr int64_t kCapacity = 256;

// What a shared ring keeps outside the state, here in the test's memory.
struct Storage {
  alignas(128) std::byte buffer[kCapacity] = {};
  Sequence tail{0};
  Sequence floor{0};
  alignas(128) std::atomic<uint32_t> drain_lock{0};
  Sequence cached_gating{0};
  ProducerGate gate;
  WakeupSignal signal;
  ByteRingCounters counters{true, true};
  // The one reader's position (ExternalReaders), or none.
  int64_t reader = INT64_MAX;
  ExternalReaders readers{
      this,
      [](const void* owner, int64_t default_value) noexcept {
        const int64_t r = static_cast<const Storage*>(owner)->reader;
        return r == INT64_MAX ? default_value : r;
      },
      nullptr};

  ByteRingParts Parts() {
    ByteRingParts parts;
    parts.buffer = buffer;
    parts.tail = &tail;
    parts.floor = &floor;
    parts.drain_lock = &drain_lock;
    parts.cached_gating = &cached_gating;
    parts.gate = &gate;
    parts.signal = &signal;
    parts.counters = &counters;
    parts.readers = &readers;
    parts.stamp_claims = true;
    parts.check_records = true;
    return parts;
  }
  uint64_t Word(int64_t position) const {
    uint64_t word = 0;
    std::memcpy(&word, buffer + (position & (kCapacity - 1)), 8);
    return word;
  }
};

ByteRingOptions OptionsFor(ProducerType type) {
  ByteRingOptions options;
  options.capacity = kCapacity;
  options.producer_type = type;
  options.wait_strategy = WaitStrategyKind::kBusySpin;
  options.max_readers = 4;
  return options;
}

class ByteRingPartsTest : public ::testing::TestWithParam<ProducerType> {};

TEST_P(ByteRingPartsTest, ClaimsAreStampedAndTheSharedWordsAreThePartsOwn) {
  Storage storage;
  ByteRingState state(OptionsFor(GetParam()), storage.Parts());
  ClaimLayout claim;
  ASSERT_TRUE(state.TryClaim(20, claim));
  EXPECT_EQ(storage.tail.LoadAcquire(), RecordSize(20));
  EXPECT_TRUE(RecordHeader::IsPendingFor(storage.Word(0), 0));
  EXPECT_EQ(RecordHeader::Length(storage.Word(0)), RecordSize(20));
  EXPECT_EQ(storage.Word(RecordSize(20)), 0u);  // the next header, cleared
  state.Commit(claim, 20);
  EXPECT_EQ(storage.Word(0), RecordHeader::Data(0, 20));
  EXPECT_EQ(storage.counters.Get(ByteRingCounters::kRecords), 1u);
  state.Close();
  EXPECT_FALSE(storage.gate.IsOpen());
}

// Committed, unfinished (stamped), committed, then a claim padded across
// the buffer's end that never finished: RecoverClaims skips exactly the two
// unfinished ones; a reader then sees the two committed records and the
// new one.
TEST_P(ByteRingPartsTest, RecoverClaimsSkipsOnlyUnfinishedClaims) {
  Storage storage;
  storage.reader = 24;  // a reader waits at b: nothing after it is reused
  int64_t unfinished_bytes = 0;
  {
    ByteRingState dead(OptionsFor(GetParam()), storage.Parts());
    ClaimLayout a, b, c, d;
    ASSERT_TRUE(dead.TryClaim(16, a));
    dead.Commit(a, 16);
    ASSERT_TRUE(dead.TryClaim(40, b));  // never finished
    unfinished_bytes += b.end - b.start;
    ASSERT_TRUE(dead.TryClaim(24, c));
    dead.Commit(c, 24);
    // Committed fillers up to 8 bytes before the buffer's end (24 + 48 +
    // 32 + 64 + 64 + 16 = 248), so the next claim needs padding; it still
    // fits behind the reader at b (272 - 24 <= 256 - 8).
    ClaimLayout filler;
    for (const int64_t length : {56, 56, 8}) {
      ASSERT_TRUE(dead.TryClaim(length, filler));
      dead.Commit(filler, length);
    }
    ASSERT_EQ(dead.ClaimedPosition(), 248);
    ASSERT_TRUE(dead.TryClaim(8, d));  // padded: starts before the end
    ASSERT_EQ(d.start, 248);
    ASSERT_EQ(d.record, 256);
    unfinished_bytes += d.end - d.start;
    // `dead` goes away with b and d unfinished (its claims are never
    // aborted: no WriteClaim was made).
  }
  const int64_t tail = storage.tail.LoadAcquire() & ~int64_t{1};
  ByteRingState restarted(OptionsFor(GetParam()), storage.Parts());
  const RecoveredClaims recovered = restarted.RecoverClaims();
  EXPECT_EQ(recovered.records, 2);
  EXPECT_EQ(recovered.bytes, unfinished_bytes);
  EXPECT_EQ(storage.counters.Get(ByteRingCounters::kRecoveredRecords), 2u);
  EXPECT_EQ(storage.counters.Get(ByteRingCounters::kRecoveredBytes),
            static_cast<uint64_t>(unfinished_bytes));
  EXPECT_EQ(restarted.ClaimedPosition(), tail);
  // The reader at b sees every committed record after it (c and the
  // fillers) and passes the two recovered claims and the padding.
  Sequence position{24};
  ConsumerHandle handle(nullptr, nullptr, 0, &position, ConsumerCounters(), "r",
                        0);
  ByteReader reader = ByteReaderAccess::Make(&restarted, std::move(handle),
                                             /*start=*/24, INT64_MIN);
  std::vector<int64_t> lengths;
  reader.ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
    lengths.push_back(static_cast<int64_t>(record.size()));
  });
  EXPECT_EQ(lengths, (std::vector<int64_t>{24, 56, 56, 8}));
  EXPECT_EQ(reader.skipped_bytes(), static_cast<uint64_t>(unfinished_bytes));
  EXPECT_EQ(reader.position(), tail);
  EXPECT_EQ(restarted.damaged_at(), -1);
}

// A kMulti claimer that died between its CAS and its stamp: a 0 word
// below a pending tail becomes a skip record up to the tail.
TEST(ByteRingPartsTest, RecoverClaimsClosesAClaimStepThatNeverFinished) {
  Storage storage;
  {
    ByteRingState state(OptionsFor(ProducerType::kMulti), storage.Parts());
    ClaimLayout a;
    ASSERT_TRUE(state.TryClaim(8, a));
    state.Commit(a, 8);
  }
  const int64_t tail = storage.tail.LoadAcquire();
  storage.tail.StoreSeqCst((tail + 64) | 1);  // won the CAS, then died
  ByteRingState restarted(OptionsFor(ProducerType::kMulti), storage.Parts());
  const RecoveredClaims recovered = restarted.RecoverClaims();
  EXPECT_EQ(recovered.records, 1);
  EXPECT_EQ(recovered.bytes, 64);
  EXPECT_EQ(storage.tail.LoadAcquire(), tail + 64);  // no pending mark
  EXPECT_EQ(storage.Word(tail), RecordHeader::Skip(0, 64));
  ClaimLayout next;
  ASSERT_TRUE(restarted.TryClaim(8, next));
  EXPECT_EQ(next.start, tail + 64);
}

TEST(ByteRingPartsTest, CheckedRecordRefusesWhatDoesNotFit) {
  Storage storage;
  ByteRingState state(OptionsFor(ProducerType::kSingle), storage.Parts());
  EXPECT_TRUE(state.checks_records());
  EXPECT_TRUE(state.CheckedRecord(0, RecordHeader::Data(0, 120)));
  EXPECT_TRUE(state.CheckedRecord(0, RecordHeader::Skip(0, kCapacity)));
  EXPECT_EQ(state.damaged_at(), -1);
  // Longer than the ring allows; across the buffer's end; a skip that is
  // not a multiple of 8, 0, or longer than the ring.
  EXPECT_FALSE(state.CheckedRecord(0, RecordHeader::Data(0, 121)));
  EXPECT_FALSE(state.CheckedRecord(200, RecordHeader::Data(0, 64)));
  EXPECT_FALSE(state.CheckedRecord(8, RecordHeader::Skip(0, 12)));
  EXPECT_FALSE(state.CheckedRecord(8, RecordHeader::Skip(0, 0)));
  EXPECT_FALSE(state.CheckedRecord(16, RecordHeader::Skip(0, kCapacity + 8)));
  EXPECT_EQ(state.damaged_at(), 16);
  // In-process rings trust their own buffer.
  ByteRingState own(OptionsFor(ProducerType::kSingle));
  EXPECT_FALSE(own.checks_records());
}

INSTANTIATE_TEST_SUITE_P(ProducerTypes, ByteRingPartsTest,
                         ::testing::Values(ProducerType::kSingle,
                                           ProducerType::kMulti),
                         [](const auto& param_info) {
                           return param_info.param == ProducerType::kMulti
                                      ? std::string("Multi")
                                      : std::string("Single");
                         });

}  // namespace
}  // namespace ringflow::core_internal
