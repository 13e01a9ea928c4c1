// Concurrency tests for EventPoller and its leases: a reader polling or
// leasing while a producer publishes into a small ring, and leases handed
// to and released on another thread. Every test checks each event's value,
// so a slot overwritten under a live lease or read before its publish
// fails the test.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/lease.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::PublishValues;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;

using Ring = RingBuffer<TestEvent>;
using Poller = EventPoller<TestEvent>;

std::unique_ptr<Ring> MakeRing(int64_t capacity) {
  auto ring = Ring::Create(
      {.capacity = capacity, .producer_type = ProducerType::kSingle});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

TEST(EventPollerConcurrentTest, PollsEveryEventOfAConcurrentProducerInOrder) {
  const int64_t n = Events(1'000'000);
  auto ring = MakeRing(64);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  std::thread producer([&] { EXPECT_TRUE(PublishValues(*ring, n)); });
  int64_t next = 0;
  int64_t mismatches = 0;
  int64_t bad_end_flags = 0;
  bool finished = SpinUntil([&] {
    int64_t last_in_poll = -1;
    bool last_end = false;
    int64_t ends = 0;
    const PollState state =
        poller->Poll([&](const TestEvent& e, int64_t seq, bool end) {
          if (seq != next || e.value != ValueOf(seq)) ++mismatches;
          next = seq + 1;
          last_in_poll = seq;
          last_end = end;
          if (end) ++ends;
        });
    if (state == PollState::kProcessing) {
      // Exactly one end_of_batch per poll, on its last event.
      if (!last_end || ends != 1) ++bad_end_flags;
    } else if (last_in_poll != -1) {
      ++bad_end_flags;  // handled events but did not say kProcessing
    }
    return next == n;
  });
  if (!finished) ring->Halt();
  producer.join();
  ASSERT_TRUE(finished) << "stopped at " << next;
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(bad_end_flags, 0);
  EXPECT_EQ(poller->sequence().LoadAcquire(), n - 1);
  EXPECT_EQ(poller->Poll([](const TestEvent&, int64_t, bool) {}),
            PollState::kIdle);
}

// ---- leases across threads
// --------------------------------------------------------------

// The reader leases each event and hands the lease to a releaser thread,
// which checks the slot and releases it; the reader's next TryLease must
// see that release. A producer fills the small ring concurrently, so a
// lease that failed to hold its slot shows up as a wrong value.
TEST(LeaseConcurrentTest, LeaseReleasedOnAnotherThreadIsSeenByThePoller) {
  const int64_t n = Events(50'000);
  auto ring = MakeRing(8);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));

  std::optional<Lease<TestEvent>> handoff;  // guarded by `full`
  std::atomic<bool> full{false};
  std::atomic<bool> stop{false};
  int64_t releaser_mismatches = 0;  // releaser thread; read after join
  int64_t released = 0;             // releaser thread; read after join

  std::thread producer([&] { EXPECT_TRUE(PublishValues(*ring, n)); });
  std::thread releaser([&] {
    for (int64_t expected = 0; expected < n; ++expected) {
      // Acquire: pairs with the reader's release store of `full`.
      while (!full.load(std::memory_order_acquire)) {
        if (stop.load(std::memory_order_relaxed)) return;
        std::this_thread::yield();
      }
      if (handoff->sequence() != expected ||
          (*handoff)->value != ValueOf(expected)) {
        ++releaser_mismatches;
      }
      handoff.reset();  // releases the lease on this thread
      ++released;
      // Release: the reader may reuse `handoff` after seeing false.
      full.store(false, std::memory_order_release);
    }
  });

  bool ok = true;
  for (int64_t s = 0; s < n && ok; ++s) {
    std::optional<Lease<TestEvent>> lease;
    ok = SpinUntil([&] {
      lease = poller->TryLease();
      return lease.has_value();
    });
    if (!ok) break;
    if (lease->sequence() != s) {
      ADD_FAILURE() << "leased " << lease->sequence() << ", expected " << s;
    }
    ok = SpinUntil([&] { return !full.load(std::memory_order_acquire); });
    if (!ok) break;
    handoff.emplace(std::move(*lease));
    full.store(true, std::memory_order_release);
  }
  if (!ok) {
    stop.store(true, std::memory_order_relaxed);
    ring->Halt();
  }
  producer.join();
  releaser.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(released, n);
  EXPECT_EQ(releaser_mismatches, 0);
  EXPECT_EQ(poller->sequence().LoadAcquire(), n - 1);
}

TEST(LeaseConcurrentTest, LeaseBatchesSeeEveryEventOfAConcurrentProducer) {
  const int64_t n = Events(1'000'000);
  auto ring = MakeRing(16);
  ASSERT_OK_AND_ASSIGN(auto poller, Poller::Create(*ring));
  std::thread producer([&] { EXPECT_TRUE(PublishValues(*ring, n)); });
  int64_t next = 0;
  int64_t mismatches = 0;
  int64_t oversized = 0;
  const bool finished = SpinUntil([&] {
    std::optional<LeaseBatch<TestEvent>> batch = poller->TryLeaseBatch(5);
    if (!batch) return false;
    if (batch->size() > 5 || batch->first_sequence() != next) ++oversized;
    for (auto it = batch->begin(); it != batch->end(); ++it) {
      if (it.sequence() != next || it->value != ValueOf(next)) ++mismatches;
      ++next;
    }
    return next == n;
  });
  if (!finished) ring->Halt();
  producer.join();
  ASSERT_TRUE(finished) << "stopped at " << next;
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(oversized, 0);
  EXPECT_EQ(poller->sequence().LoadAcquire(), n - 1);
}

// ---- paced readers (PollerOptions::stream_backoff_pauses) ----------------

enum class ReadKind { kPoll, kLease, kLeaseBatch };

// A reader that defers its cursor reads in a dense stream, and leases that
// take events a previous read found, still see every event of a concurrent
// producer exactly once and in order, through a ring small enough to wrap
// thousands of times.
class PacedReaderTest : public ::testing::TestWithParam<ReadKind> {};

TEST_P(PacedReaderTest, SeesEveryEventOfAConcurrentProducerInOrder) {
  const int64_t n = Events(1'000'000);
  auto ring = MakeRing(64);
  ASSERT_OK_AND_ASSIGN(
      auto poller, Poller::Create(*ring, {}, {.stream_backoff_pauses = 1024}));
  std::thread producer([&] { EXPECT_TRUE(PublishValues(*ring, n)); });
  int64_t next = 0;
  int64_t mismatches = 0;
  int64_t sum = 0;
  auto take = [&](int64_t seq, const TestEvent& e) {
    if (seq != next || e.value != ValueOf(seq)) ++mismatches;
    sum += e.value;
    next = seq + 1;
  };
  const bool finished = SpinUntil([&] {
    switch (GetParam()) {
      case ReadKind::kPoll:
        poller->Poll(
            [&](const TestEvent& e, int64_t seq, bool) { take(seq, e); });
        break;
      case ReadKind::kLease:
        if (auto lease = poller->TryLease()) take(lease->sequence(), **lease);
        break;
      case ReadKind::kLeaseBatch:
        if (auto batch = poller->TryLeaseBatch(7)) {
          if (batch->size() > 7) ++mismatches;
          for (auto it = batch->begin(); it != batch->end(); ++it) {
            take(it.sequence(), *it);
          }
        }
        break;
    }
    return next == n;
  });
  if (!finished) ring->Halt();
  producer.join();
  ASSERT_TRUE(finished) << "stopped at " << next;
  EXPECT_EQ(mismatches, 0);
  int64_t expected_sum = 0;
  for (int64_t s = 0; s < n; ++s) expected_sum += ValueOf(s);
  EXPECT_EQ(sum, expected_sum);
  EXPECT_EQ(poller->sequence().LoadAcquire(), n - 1);
}

std::string ReadKindName(const ::testing::TestParamInfo<ReadKind>& param) {
  switch (param.param) {
    case ReadKind::kPoll:
      return "Poll";
    case ReadKind::kLease:
      return "TryLease";
    case ReadKind::kLeaseBatch:
      return "TryLeaseBatch";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Reads, PacedReaderTest,
                         ::testing::Values(ReadKind::kPoll, ReadKind::kLease,
                                           ReadKind::kLeaseBatch),
                         ReadKindName);

}  // namespace
}  // namespace ringflow
