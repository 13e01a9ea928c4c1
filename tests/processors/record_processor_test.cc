// Tests for RecordProcessor: two processors on their own threads read every
// variable-length record of a ByteRing (blocking and yielding readers) in
// order with valid content and exact counts; the exception policies; the
// lifecycle callbacks; Halt and ByteRing::Halt ending Run. No sleeps: waits
// poll positions and counts with yield (SpinUntil, with a hang guard).

#include "ringflow/processors/record_processor.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/config.h"
#include "ringflow/core/ring_options.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::ProcessorThread;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- record framing --------------------------------------------------------
//
// Record i has LengthOf(i) bytes in [1, 200]. From 12 bytes on it carries
// its index (8 bytes) and, in its last 4 bytes, a checksum of the bytes
// before; shorter records are a pattern of i, compared byte by byte.

constexpr int64_t kMaxLength = 200;
constexpr int64_t kFramedLength = 12;

int64_t LengthOf(int64_t i) { return 1 + (i * 7919 + i / 3) % kMaxLength; }

std::byte PatternByte(int64_t i, int64_t k) {
  return static_cast<std::byte>((i * 131 + k * 7 + 1) & 0xff);
}

uint32_t Checksum(std::span<const std::byte> bytes) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (const std::byte b : bytes) {
    h = (h ^ static_cast<uint32_t>(b)) * 16777619u;
  }
  return h;
}

void Fill(int64_t i, std::span<std::byte> out) {
  const int64_t n = static_cast<int64_t>(out.size());
  for (int64_t k = 0; k < n; ++k) out[k] = PatternByte(i, k);
  if (n < kFramedLength) return;
  std::memcpy(out.data(), &i, sizeof(i));
  const uint32_t sum = Checksum(out.first(out.size() - 4));
  std::memcpy(out.data() + n - 4, &sum, sizeof(sum));
}

// True when `record` is exactly record `i`.
bool Verify(int64_t i, std::span<const std::byte> record) noexcept {
  const int64_t n = static_cast<int64_t>(record.size());
  if (n != LengthOf(i)) return false;
  if (n < kFramedLength) {
    for (int64_t k = 0; k < n; ++k) {
      if (record[k] != PatternByte(i, k)) return false;
    }
    return true;
  }
  int64_t index;
  uint32_t sum;
  std::memcpy(&index, record.data(), sizeof(index));
  std::memcpy(&sum, record.data() + n - 4, sizeof(sum));
  return index == i && sum == Checksum(record.first(record.size() - 4));
}

// Publishes records first..first+n-1 with Claim/Commit; their positions go
// to `positions` when given. False if a claim failed. Producer thread.
bool PublishRecords(ByteRing& ring, int64_t first, int64_t n,
                    std::vector<int64_t>* positions = nullptr) {
  for (int64_t i = first; i < first + n; ++i) {
    std::optional<WriteClaim> claim = ring.Claim(LengthOf(i));
    if (!claim) return false;
    Fill(i, claim->data());
    if (positions != nullptr) positions->push_back(claim->position());
    claim->Commit();
  }
  return true;
}

std::unique_ptr<ByteRing> MakeRing(int64_t capacity, WaitStrategyKind wait,
                                   ProducerType producer) {
  auto ring = ByteRing::Create({.capacity = capacity,
                                .producer_type = producer,
                                .wait_strategy = wait,
                                .name = "records"});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

// ---- handlers --------------------------------------------------------------

// Checks every record against the next expected index and that positions
// grow. `count` is read by the test thread while the processor runs; the
// rest after the processor thread was joined.
class alignas(kFalseSharingRange) CheckingHandler {
 public:
  void OnStart() { ++starts_; }
  void OnShutdown() { ++shutdowns_; }
  void OnRecord(std::span<const std::byte> record, int64_t position,
                bool end_of_batch) noexcept {
    if (!Verify(next_, record)) ++bad_;
    if (position <= last_position_) ++out_of_order_;
    last_position_ = position;
    if (end_of_batch) ++batch_ends_;
    ++next_;
    // Release: pairs with the test's acquire in count(); a statistic.
    count_.store(next_, std::memory_order_release);
  }

  int64_t count() const { return count_.load(std::memory_order_acquire); }
  int starts_ = 0;
  int shutdowns_ = 0;
  int64_t bad_ = 0;
  int64_t out_of_order_ = 0;
  int64_t batch_ends_ = 0;

 private:
  int64_t next_ = 0;
  int64_t last_position_ = -1;
  std::atomic<int64_t> count_{0};
};

// Throws at record index `throw_at` the first `times` times it sees it
// (always when times < 0). Records every delivery, success and batch
// start. Read after the processor thread was joined.
class ThrowingHandler {
 public:
  ThrowingHandler(int64_t throw_at, int times)
      : throw_at_(throw_at), times_(times) {}

  void OnStart() { ++starts_; }
  void OnShutdown() { ++shutdowns_; }
  void OnBatchStart(int64_t position) { batch_starts_.push_back(position); }
  void OnRecord(std::span<const std::byte> record, int64_t position,
                bool /*end_of_batch*/) {
    int64_t index = -1;
    std::memcpy(&index, record.data(), sizeof(index));  // all >= 12 bytes
    seen_.push_back(index);
    positions_.push_back(position);
    if (index == throw_at_ && (times_ < 0 || thrown_ < times_)) {
      ++thrown_;
      throw std::runtime_error(absl::StrCat("boom at ", index));
    }
    succeeded_.push_back(index);
  }

  int starts_ = 0;
  int shutdowns_ = 0;
  int thrown_ = 0;
  std::vector<int64_t> seen_;
  std::vector<int64_t> positions_;
  std::vector<int64_t> succeeded_;
  std::vector<int64_t> batch_starts_;

 private:
  const int64_t throw_at_;
  const int times_;
};

// ---- concurrent: a producer, two processors --------------------------------

struct ConcurrentCase {
  WaitStrategyKind wait;
  ProducerType producer;
};

class RecordProcessorConcurrentTest
    : public ::testing::TestWithParam<ConcurrentCase> {};

TEST_P(RecordProcessorConcurrentTest, TwoProcessorsSeeEveryRecordInOrder) {
  const int64_t n = Events(200'000);
  std::unique_ptr<ByteRing> ring =
      MakeRing(4096, GetParam().wait, GetParam().producer);
  auto first = std::make_unique<CheckingHandler>();
  auto second = std::make_unique<CheckingHandler>();
  ASSERT_OK_AND_ASSIGN(auto p1, RecordProcessor<CheckingHandler>::Create(
                                    *ring, *first, {.name = "first"}));
  ASSERT_OK_AND_ASSIGN(auto p2, RecordProcessor<CheckingHandler>::Create(
                                    *ring, *second, {.name = "second"}));
  EXPECT_EQ(p1->name(), "first");
  EXPECT_EQ(p2->name(), "second");
  {
    ProcessorThread t1(*p1);
    ProcessorThread t2(*p2);
    bool published = false;
    std::thread producer(
        [&] { published = PublishRecords(*ring, /*first=*/0, n); });
    producer.join();
    ASSERT_TRUE(published);
    ASSERT_TRUE(SpinUntil([&] { return first->count() == n; }));
    ASSERT_TRUE(SpinUntil([&] { return second->count() == n; }));
    // The last release happens after the last OnRecord returned.
    const int64_t end = ring->ClaimedPosition();
    ASSERT_TRUE(SpinUntil([&] {
      return p1->sequence().LoadAcquire() == end &&
             p2->sequence().LoadAcquire() == end;
    }));
    EXPECT_TRUE(p1->IsRunning());
    EXPECT_TRUE(p2->IsRunning());
  }  // Halt + join
  EXPECT_FALSE(p1->IsRunning());
  EXPECT_FALSE(p2->IsRunning());
  for (const CheckingHandler* h : {first.get(), second.get()}) {
    EXPECT_EQ(h->count(), n);
    EXPECT_EQ(h->bad_, 0);
    EXPECT_EQ(h->out_of_order_, 0);
    EXPECT_GE(h->batch_ends_, 1);
    EXPECT_EQ(h->starts_, 1);
    EXPECT_EQ(h->shutdowns_, 1);
  }
  for (const auto* p : {p1.get(), p2.get()}) {
    EXPECT_OK(p->status());
    EXPECT_EQ(p->exception_count(), 0u);
    EXPECT_EQ(p->reader().records_read(), static_cast<uint64_t>(n));
    EXPECT_EQ(p->position(), ring->ClaimedPosition());
  }
}

INSTANTIATE_TEST_SUITE_P(
    WaitStrategies, RecordProcessorConcurrentTest,
    ::testing::Values(
        ConcurrentCase{WaitStrategyKind::kBlocking, ProducerType::kSingle},
        ConcurrentCase{WaitStrategyKind::kYielding, ProducerType::kSingle},
        ConcurrentCase{WaitStrategyKind::kBlocking, ProducerType::kMulti},
        ConcurrentCase{WaitStrategyKind::kYielding, ProducerType::kMulti}),
    [](const ::testing::TestParamInfo<ConcurrentCase>& param_info) {
      return absl::StrCat(
          param_info.param.wait == WaitStrategyKind::kBlocking ? "Blocking"
                                                               : "Yielding",
          param_info.param.producer == ProducerType::kSingle ? "Single"
                                                             : "Multi");
    });

// ---- exception policies ----------------------------------------------------
//
// Ten records (indices 20..29, all at least 12 bytes) are published before
// Run, so the batch is known and every expectation is exact.

class RecordProcessorTest : public ::testing::Test {
 protected:
  static constexpr int64_t kFirst = 20;
  static constexpr int64_t kCount = 10;

  void SetUp() override {
    ring_ = MakeRing(8192, WaitStrategyKind::kBlocking, ProducerType::kSingle);
  }
  // Publishes the ten records; their positions go to positions_.
  void PublishTen() {
    for (int64_t i = kFirst; i < kFirst + kCount; ++i) {
      ASSERT_GE(LengthOf(i), kFramedLength) << i;
    }
    ASSERT_TRUE(PublishRecords(*ring_, kFirst, kCount, &positions_));
  }

  std::unique_ptr<ByteRing> ring_;
  std::vector<int64_t> positions_;
};

TEST_F(RecordProcessorTest, HaltPolicyNamesThePositionAndLeavesTheRecord) {
  ThrowingHandler handler(/*throw_at=*/kFirst + 5, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(auto p, RecordProcessor<ThrowingHandler>::Create(
                                   *ring_, handler, {.name = "halter"}));
  PublishTen();
  const int64_t failed = positions_[5];
  {
    ProcessorThread t(*p);
    ASSERT_TRUE(t.JoinAfterSelfHalt());
  }
  EXPECT_THAT(p->status(),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr(absl::StrCat("record position ", failed))));
  EXPECT_THAT(p->status(),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("boom at 25")));
  EXPECT_EQ(p->exception_count(), 1u);
  // Records 20..24 are consumed; 25 is not.
  EXPECT_EQ(p->position(), failed);
  EXPECT_EQ(p->sequence().LoadAcquire(), failed);
  EXPECT_EQ(p->reader().records_read(), 5u);
  EXPECT_THAT(handler.succeeded_, ElementsAre(20, 21, 22, 23, 24));
  EXPECT_THAT(handler.seen_, ElementsAre(20, 21, 22, 23, 24, 25));
  EXPECT_EQ(handler.positions_.back(), failed);
  EXPECT_THAT(handler.batch_starts_, ElementsAre(positions_[0]));
  EXPECT_EQ(handler.starts_, 1);
  EXPECT_EQ(handler.shutdowns_, 1);
  EXPECT_FALSE(p->IsRunning());
  // Halted for good: Run returns at once.
  p->Run();
  EXPECT_EQ(handler.seen_.size(), 6u);
}

TEST_F(RecordProcessorTest, LogAndContinueConsumesTheFailingRecord) {
  ThrowingHandler handler(/*throw_at=*/kFirst + 5, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(
      auto p, RecordProcessor<ThrowingHandler>::Create(
                  *ring_, handler,
                  {.exception_policy = ExceptionPolicy::LogAndContinue()}));
  PublishTen();
  {
    ProcessorThread t(*p);
    const int64_t end = ring_->ClaimedPosition();
    ASSERT_TRUE(SpinUntil([&] { return p->sequence().LoadAcquire() == end; }));
  }
  EXPECT_OK(p->status());
  EXPECT_EQ(p->exception_count(), 1u);
  EXPECT_EQ(handler.seen_.size(), static_cast<size_t>(kCount));
  EXPECT_THAT(handler.succeeded_,
              ElementsAre(20, 21, 22, 23, 24, 26, 27, 28, 29));
  EXPECT_EQ(p->reader().records_read(), static_cast<uint64_t>(kCount));
  EXPECT_EQ(handler.starts_, 1);
  EXPECT_EQ(handler.shutdowns_, 1);
}

TEST_F(RecordProcessorTest, RewindRedeliversTheFailingRecordOnly) {
  ThrowingHandler handler(/*throw_at=*/kFirst + 5, /*times=*/2);
  ASSERT_OK_AND_ASSIGN(
      auto p,
      RecordProcessor<ThrowingHandler>::Create(
          *ring_, handler, {.exception_policy = ExceptionPolicy::Rewind(3)}));
  PublishTen();
  {
    ProcessorThread t(*p);
    const int64_t end = ring_->ClaimedPosition();
    ASSERT_TRUE(SpinUntil([&] { return p->sequence().LoadAcquire() == end; }));
  }
  EXPECT_OK(p->status());
  EXPECT_EQ(p->exception_count(), 2u);
  EXPECT_THAT(handler.seen_,
              ElementsAre(20, 21, 22, 23, 24, 25, 25, 25, 26, 27, 28, 29));
  EXPECT_THAT(handler.succeeded_,
              ElementsAre(20, 21, 22, 23, 24, 25, 26, 27, 28, 29));
  // One batch start per delivery attempt: the whole batch, then twice from
  // the failing record.
  EXPECT_THAT(handler.batch_starts_,
              ElementsAre(positions_[0], positions_[5], positions_[5]));
}

TEST_F(RecordProcessorTest, RewindHaltsAfterMaxRewinds) {
  ThrowingHandler handler(/*throw_at=*/kFirst + 5, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(
      auto p,
      RecordProcessor<ThrowingHandler>::Create(
          *ring_, handler, {.exception_policy = ExceptionPolicy::Rewind(2)}));
  PublishTen();
  {
    ProcessorThread t(*p);
    ASSERT_TRUE(t.JoinAfterSelfHalt());
  }
  EXPECT_THAT(
      p->status(),
      StatusIs(absl::StatusCode::kAborted,
               HasSubstr(absl::StrCat("record position ", positions_[5]))));
  EXPECT_EQ(p->exception_count(), 3u);
  EXPECT_EQ(p->position(), positions_[5]);
}

TEST_F(RecordProcessorTest, RunReturnsWhenTheRingIsHaltedAndDrained) {
  CheckingHandler handler;
  ASSERT_OK_AND_ASSIGN(
      auto p, RecordProcessor<CheckingHandler>::Create(*ring_, handler));
  ASSERT_TRUE(PublishRecords(*ring_, 0, kCount));
  ring_->Halt();
  {
    ProcessorThread t(*p);
    ASSERT_TRUE(t.JoinAfterSelfHalt());
  }
  EXPECT_OK(p->status());
  EXPECT_EQ(handler.count(), kCount);
  EXPECT_EQ(handler.bad_, 0);
  EXPECT_EQ(handler.starts_, 1);
  EXPECT_EQ(handler.shutdowns_, 1);
}

// An idle Run asleep in its reader's blocking wait: Halt wakes it through
// the reader's alert (without the alert the join would never return).
TEST_F(RecordProcessorTest, HaltWakesARunAsleepOnAnIdleRing) {
  CheckingHandler handler;
  ASSERT_OK_AND_ASSIGN(
      auto p, RecordProcessor<CheckingHandler>::Create(*ring_, handler));
  std::thread run([&] { p->Run(); });
  while (ring_->wait_strategy().signal()->Waiters() == 0) {
    std::this_thread::yield();
  }
  p->Halt();
  run.join();
  EXPECT_FALSE(p->IsRunning());
  EXPECT_EQ(handler.count(), 0);
  EXPECT_EQ(handler.starts_, 1);
  EXPECT_EQ(handler.shutdowns_, 1);
}

TEST_F(RecordProcessorTest, HaltBeforeRunSkipsTheHandler) {
  CheckingHandler handler;
  ASSERT_OK_AND_ASSIGN(
      auto p, RecordProcessor<CheckingHandler>::Create(*ring_, handler));
  p->Halt();
  p->Run();
  EXPECT_FALSE(p->IsRunning());
  EXPECT_EQ(handler.starts_, 0);
  EXPECT_EQ(handler.shutdowns_, 0);
}

TEST_F(RecordProcessorTest, CreateOnReaderGoesOnFromTheReadersPosition) {
  ASSERT_OK_AND_ASSIGN(ByteReader reader, ring_->RegisterReader("mine"));
  ASSERT_TRUE(PublishRecords(*ring_, 0, kCount));
  // Read the first record by hand; the processor starts at the second.
  {
    std::optional<ReadClaim> claim = reader.TryRead();
    ASSERT_TRUE(claim.has_value());
    EXPECT_TRUE(Verify(0, claim->data()));
  }
  struct Collect {
    void OnRecord(std::span<const std::byte> record, int64_t, bool) noexcept {
      int64_t i = static_cast<int64_t>(seen.size()) + 1;
      if (!Verify(i, record)) ++bad;
      seen.push_back(i);
    }
    std::vector<int64_t> seen;
    int64_t bad = 0;
  } handler;
  ASSERT_OK_AND_ASSIGN(auto p, RecordProcessor<Collect>::CreateOnReader(
                                   std::move(reader), handler));
  EXPECT_EQ(p->name(), "mine");
  {
    ProcessorThread t(*p);
    const int64_t end = ring_->ClaimedPosition();
    ASSERT_TRUE(SpinUntil([&] { return p->sequence().LoadAcquire() == end; }));
  }
  EXPECT_EQ(handler.seen.size(), static_cast<size_t>(kCount - 1));
  EXPECT_EQ(handler.bad, 0);
}

TEST_F(RecordProcessorTest, RejectsBadOptions) {
  CheckingHandler handler;
  EXPECT_THAT(
      RecordProcessor<CheckingHandler>::Create(
          *ring_, handler, {.exception_policy = ExceptionPolicy::Rewind(0)})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_rewinds 0")));
}

static_assert(RecordHandler<CheckingHandler>);
static_assert(kNothrowRecordHandler<CheckingHandler>);
static_assert(!kNothrowRecordHandler<ThrowingHandler>);
static_assert(HasOnRecordBatchStart<ThrowingHandler>);
static_assert(!HasOnRecordBatchStart<CheckingHandler>);

}  // namespace
}  // namespace ringflow
