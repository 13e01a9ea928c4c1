// Tests for RecordDisruptor, the DSL of a ByteRing: broadcast to every
// handler with exact counts and content after a graceful Shutdown, two
// producer threads with per-producer order, owned handlers, the thread
// factory, and every error (calls after Start, Start twice, a full reader
// table, a bad policy, a throwing handler, a Shutdown stalled by an
// uncommitted claim). No sleeps: Shutdown itself waits for the drain.

#include "ringflow/processors/record_disruptor.h"

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
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/ring_options.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::StatusIs;
using ::testing::HasSubstr;

// Record (producer p, index i): 16 + (i * 37) % 300 bytes, carrying p, i
// and a checksum of the rest in its last 8 bytes.
int64_t LengthOf(int64_t i) { return 24 + (i * 37) % 300; }

uint64_t Sum(std::span<const std::byte> bytes) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (const std::byte b : bytes)
    h = (h ^ static_cast<uint64_t>(b)) * 1099511628211ull;
  return h;
}

void Fill(int64_t producer, int64_t i, std::span<std::byte> out) {
  for (size_t k = 16; k < out.size(); ++k) {
    out[k] = static_cast<std::byte>((i * 31 + static_cast<int64_t>(k)) & 0xff);
  }
  std::memcpy(out.data(), &producer, 8);
  std::memcpy(out.data() + 8, &i, 8);
  const uint64_t sum = Sum(out.first(out.size() - 8));
  std::memcpy(out.data() + out.size() - 8, &sum, 8);
}

bool Publish(ByteRing& ring, int64_t producer, int64_t i) {
  std::optional<WriteClaim> claim = ring.Claim(LengthOf(i));
  if (!claim) return false;
  Fill(producer, i, claim->data());
  claim->Commit();
  return true;
}

// Checks every record: its checksum, and that each producer's indexes
// arrive 0, 1, 2... Handler thread only; read after Shutdown.
struct Verifier {
  void OnRecord(std::span<const std::byte> record, int64_t, bool) noexcept {
    int64_t producer = -1, i = -1;
    uint64_t sum = 0;
    if (record.size() < 24) {
      ++bad;
      return;
    }
    std::memcpy(&producer, record.data(), 8);
    std::memcpy(&i, record.data() + 8, 8);
    std::memcpy(&sum, record.data() + record.size() - 8, 8);
    if (producer < 0 || producer >= 2 ||
        static_cast<int64_t>(record.size()) != LengthOf(i) ||
        sum != Sum(record.first(record.size() - 8)) || i != next[producer]) {
      ++bad;
      return;
    }
    ++next[producer];
    ++records;
  }
  int64_t next[2] = {0, 0};
  int64_t records = 0;
  int64_t bad = 0;
};

TEST(RecordDisruptorTest, EveryHandlerSeesEveryRecordOfTwoProducersInOrder) {
  const int64_t n = testing::Events(20'000);
  auto d = RecordDisruptor::Create(
      {.ring = {.capacity = 1 << 14, .producer_type = ProducerType::kMulti}});
  ASSERT_TRUE(d.ok()) << d.status();
  Verifier a, b;
  ASSERT_TRUE((*d)->HandleRecordsWith(a, b).ok());
  ASSERT_TRUE((*d)->Start().ok());
  std::vector<std::thread> producers;
  for (int64_t p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(Publish((*d)->ring(), p, i));
    });
  }
  for (std::thread& t : producers) t.join();
  ASSERT_TRUE((*d)->Shutdown(absl::Seconds(60)).ok());
  for (const Verifier* v : {&a, &b}) {
    EXPECT_EQ(v->bad, 0);
    EXPECT_EQ(v->records, 2 * n);
    EXPECT_EQ(v->next[0], n);
    EXPECT_EQ(v->next[1], n);
  }
  EXPECT_EQ((*d)->ring().records_published(), static_cast<uint64_t>(2 * n));
  // Closed by Shutdown: a new claim fails.
  EXPECT_FALSE((*d)->ring().TryClaim(8).has_value());
}

TEST(RecordDisruptorTest, OwnsUniquePtrHandlersAndUsesTheThreadFactory) {
  std::atomic<int> made{0};
  auto d = RecordDisruptor::Create(
      {.ring = {.capacity = 1 << 12},
       .thread_factory = [&](std::function<void()> body) {
         made.fetch_add(1);
         return std::thread(std::move(body));
       }});
  ASSERT_TRUE(d.ok());
  auto owned = std::make_unique<Verifier>();
  Verifier* seen = owned.get();
  ASSERT_TRUE((*d)->HandleRecordsWith(std::move(owned)).ok());
  ASSERT_TRUE((*d)->Start().ok());
  EXPECT_EQ(made.load(), 1);
  for (int64_t i = 0; i < 500; ++i) ASSERT_TRUE(Publish((*d)->ring(), 0, i));
  ASSERT_TRUE((*d)->Shutdown(absl::Seconds(30)).ok());
  EXPECT_EQ(seen->records, 500);
  EXPECT_EQ(seen->bad, 0);
  std::vector<std::string> names;
  (*d)->ForEachProcessor(
      [&](const std::string& name, const Sequence&) { names.push_back(name); });
  ASSERT_EQ(names.size(), 1u);
  EXPECT_THAT(names[0], HasSubstr("Verifier"));
}

TEST(RecordDisruptorTest, RefusesMisuseWithNamedErrors) {
  EXPECT_THAT(RecordDisruptor::Create({.ring = {.capacity = 1000}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1000")));
  EXPECT_THAT(
      RecordDisruptor::Create(
          {.ring = {.capacity = 1 << 12},
           .exception_policy = {.action = ExceptionAction::kRewind,
                                .max_rewinds = 0}})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_rewinds 0")));

  auto d = RecordDisruptor::Create(
      {.ring = {.capacity = 1 << 12, .max_readers = 2}});
  ASSERT_TRUE(d.ok());
  Verifier a, b, c;
  ASSERT_TRUE((*d)->HandleRecordsWith(a, b).ok());
  EXPECT_THAT((*d)->HandleRecordsWith(c),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT((*d)->HandleRecordsWith(std::unique_ptr<Verifier>()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("null")));
  ASSERT_TRUE((*d)->Start().ok());
  EXPECT_THAT((*d)->Start(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("twice")));
  EXPECT_THAT((*d)->HandleRecordsWith(c),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("after Start")));
  ASSERT_TRUE((*d)->Shutdown(absl::Seconds(30)).ok());
}

struct ThrowsAtThird {
  void OnRecord(std::span<const std::byte>, int64_t, bool) {
    if (++seen == 3) throw std::runtime_error("third record refused");
  }
  int seen = 0;
};

TEST(RecordDisruptorTest, ShutdownReportsAHandlerHaltedByItsPolicy) {
  auto d = RecordDisruptor::Create({.ring = {.capacity = 1 << 12}});
  ASSERT_TRUE(d.ok());
  ThrowsAtThird h;
  ASSERT_TRUE((*d)->HandleRecordsWith(h).ok());
  ASSERT_TRUE((*d)->Start().ok());
  for (int64_t i = 0; i < 5; ++i) ASSERT_TRUE(Publish((*d)->ring(), 0, i));
  EXPECT_THAT(
      (*d)->Shutdown(absl::Seconds(30)),
      StatusIs(absl::StatusCode::kAborted, HasSubstr("third record refused")));
}

TEST(RecordDisruptorTest, ShutdownTimesOutBehindAnUncommittedClaimThenDrains) {
  auto d = RecordDisruptor::Create({.ring = {.capacity = 1 << 12}});
  ASSERT_TRUE(d.ok());
  Verifier v;
  ASSERT_TRUE((*d)->HandleRecordsWith(v).ok());
  ASSERT_TRUE((*d)->Start().ok());
  ASSERT_TRUE(Publish((*d)->ring(), 0, 0));
  std::optional<WriteClaim> held = (*d)->ring().TryClaim(LengthOf(1));
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE(Publish((*d)->ring(), 0, 2));  // behind the held claim
  EXPECT_THAT((*d)->Shutdown(absl::Milliseconds(20)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("behind: 'Verifier")));
  Fill(0, 1, held->data());
  held->Commit();
  held.reset();
  ASSERT_TRUE((*d)->Shutdown(absl::Seconds(30)).ok());
  // Record 2 was claimed after the held record 1: they arrive 0, 1, 2.
  EXPECT_EQ(v.records, 3);
  EXPECT_EQ(v.bad, 0);
}

}  // namespace
}  // namespace ringflow
