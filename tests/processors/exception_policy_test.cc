// Tests for the exception policies of BatchEventProcessor: kHalt (the
// default), kLogAndContinue and kRewind, and a throwing OnStart, OnShutdown
// or OnTimeout under each of them. Events are published before Run where
// the batch must be known, so every expectation is exact.

#include "ringflow/processors/exception_policy.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/disruptor.h"
#include "support/lifecycle_handlers.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::LifecycleCallback;
using ::ringflow::testing::LifecycleCase;
using ::ringflow::testing::ProcessorThread;
using ::ringflow::testing::PublishValues;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Ring = RingBuffer<TestEvent>;

std::unique_ptr<Ring> MakeRing(int64_t capacity) {
  auto ring = Ring::Create(
      {.capacity = capacity, .producer_type = ProducerType::kSingle});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

// Throws at each sequence of `throw_at`, the first `times` times it sees
// it (always when times < 0). Records every delivery and every success.
// Vectors are read after the processor thread was joined.
class ThrowingHandler {
 public:
  enum class Kind { kStd, kNonStd };

  ThrowingHandler(std::set<int64_t> throw_at, int times, Kind kind = Kind::kStd)
      : throw_at_(std::move(throw_at)), times_(times), kind_(kind) {}

  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    seen_.push_back(sequence);
    if (event.value != ValueOf(sequence)) ++mismatches_;
    if (throw_at_.contains(sequence)) {
      int& thrown = thrown_[sequence];
      if (times_ < 0 || thrown < times_) {
        ++thrown;
        if (kind_ == Kind::kNonStd) throw 42;
        throw std::runtime_error(absl::StrCat("boom at ", sequence));
      }
    }
    succeeded_.push_back(sequence);
    // Release: pairs with the test's acquire poll of succeeded().
    succeeded_count_.fetch_add(1, std::memory_order_release);
  }
  void OnShutdown() { ++shutdowns_; }

  int64_t succeeded() const {
    return succeeded_count_.load(std::memory_order_acquire);
  }
  const std::vector<int64_t>& seen() const { return seen_; }
  const std::vector<int64_t>& succeeded_sequences() const { return succeeded_; }
  int64_t SeenCount(int64_t sequence) const {
    return std::count(seen_.begin(), seen_.end(), sequence);
  }
  int64_t SucceededCount(int64_t sequence) const {
    return std::count(succeeded_.begin(), succeeded_.end(), sequence);
  }
  int mismatches() const { return mismatches_; }
  int shutdowns() const { return shutdowns_; }

 private:
  const std::set<int64_t> throw_at_;
  const int times_;
  const Kind kind_;
  std::map<int64_t, int> thrown_;
  std::vector<int64_t> seen_;
  std::vector<int64_t> succeeded_;
  int mismatches_ = 0;
  int shutdowns_ = 0;
  std::atomic<int64_t> succeeded_count_{0};
};

using ThrowingProcessor = BatchEventProcessor<TestEvent, ThrowingHandler>;

std::vector<int64_t> Range(int64_t lo, int64_t hi) {
  std::vector<int64_t> out;
  for (int64_t s = lo; s <= hi; ++s) out.push_back(s);
  return out;
}

TEST(ExceptionPolicyTest, DefaultPolicyIsHalt) {
  EXPECT_EQ(ExceptionPolicy{}.action, ExceptionAction::kHalt);
  EXPECT_EQ(ExceptionPolicy::Halt().action, ExceptionAction::kHalt);
  EXPECT_EQ(ProcessorOptions{}.exception_policy.action, ExceptionAction::kHalt);
  EXPECT_EQ(DisruptorOptions{}.exception_policy.action, ExceptionAction::kHalt);
  EXPECT_EQ(ExceptionPolicy::Rewind(4).max_rewinds, 4);
  EXPECT_EQ(ExceptionPolicy::Rewind(4).action, ExceptionAction::kRewind);
  EXPECT_EQ(ExceptionPolicy::LogAndContinue().action,
            ExceptionAction::kLogAndContinue);
}

// ---- kHalt
// ----------------------------------------------------------------------

TEST(ExceptionPolicyConcurrentTest, HaltStopsBeforeTheThrowingEvent) {
  auto ring = MakeRing(16);
  ThrowingHandler handler({5}, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(auto p, ThrowingProcessor::Create(*ring, handler));
  ASSERT_TRUE(PublishValues(*ring, 10));
  ProcessorThread<ThrowingProcessor> t(*p);
  ASSERT_TRUE(t.JoinAfterSelfHalt());  // the policy halted it

  EXPECT_FALSE(p->IsRunning());
  EXPECT_EQ(p->sequence().LoadAcquire(), 4);
  EXPECT_EQ(p->exception_count(), 1u);
  EXPECT_THAT(p->status(),
              StatusIs(absl::StatusCode::kAborted,
                       AllOf(HasSubstr("ThrowingHandler"),
                             HasSubstr("sequence 5"), HasSubstr("boom at 5"))));
  // Nothing after the failing event was delivered.
  EXPECT_EQ(handler.seen(), Range(0, 5));
  EXPECT_EQ(handler.succeeded_sequences(), Range(0, 4));
  EXPECT_EQ(handler.mismatches(), 0);
  EXPECT_EQ(handler.shutdowns(), 1);
}

TEST(ExceptionPolicyConcurrentTest, HaltKeepsTheFailedEventInTheRing) {
  constexpr int64_t kCapacity = 16;
  auto ring = MakeRing(kCapacity);
  ThrowingHandler handler({5}, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(auto p, ThrowingProcessor::Create(*ring, handler));
  ASSERT_TRUE(PublishValues(*ring, 10));
  ProcessorThread<ThrowingProcessor> t(*p);
  ASSERT_TRUE(t.JoinAfterSelfHalt());
  ASSERT_EQ(p->sequence().LoadAcquire(), 4);

  // The halted processor still gates the producer at sequence 4: it may
  // fill up to 4 + capacity = 20, and the slot of sequence 5 survives.
  int64_t published = 0;
  while (ring->TryPublishEvent(
      [](TestEvent& e, int64_t seq) { e.value = ValueOf(seq); })) {
    ++published;
    ASSERT_LE(published, kCapacity);  // the gate must hold
  }
  EXPECT_EQ(published, 4 + kCapacity - 9);
  EXPECT_EQ((*ring)[5].value, ValueOf(5));
}

TEST(ExceptionPolicyConcurrentTest, HaltUsesTheConfiguredName) {
  auto ring = MakeRing(16);
  ThrowingHandler handler({0}, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(auto p, ThrowingProcessor::Create(
                                   *ring, handler, {}, {.name = "risk-check"}));
  ASSERT_TRUE(PublishValues(*ring, 1));
  ProcessorThread<ThrowingProcessor> t(*p);
  ASSERT_TRUE(t.JoinAfterSelfHalt());
  EXPECT_THAT(p->status(),
              StatusIs(absl::StatusCode::kAborted,
                       AllOf(HasSubstr("'risk-check'"), HasSubstr("sequence 0"),
                             HasSubstr("boom at 0"))));
  EXPECT_EQ(p->sequence().LoadAcquire(), -1);
}

TEST(ExceptionPolicyConcurrentTest, HaltReportsNonStdExceptions) {
  auto ring = MakeRing(16);
  ThrowingHandler handler({2}, /*times=*/-1, ThrowingHandler::Kind::kNonStd);
  ASSERT_OK_AND_ASSIGN(auto p, ThrowingProcessor::Create(*ring, handler));
  ASSERT_TRUE(PublishValues(*ring, 4));
  ProcessorThread<ThrowingProcessor> t(*p);
  ASSERT_TRUE(t.JoinAfterSelfHalt());
  EXPECT_THAT(p->status(), StatusIs(absl::StatusCode::kAborted,
                                    AllOf(HasSubstr("sequence 2"),
                                          HasSubstr("unknown exception"))));
  EXPECT_EQ(p->sequence().LoadAcquire(), 1);
  EXPECT_EQ(handler.seen(), Range(0, 2));
}

TEST(ExceptionPolicyConcurrentTest, HaltInALaterBatchKeepsEarlierBatches) {
  auto ring = MakeRing(16);
  ThrowingHandler handler({9}, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(auto p, ThrowingProcessor::Create(
                                   *ring, handler, {}, {.max_batch_size = 4}));
  ASSERT_TRUE(PublishValues(*ring, 12));
  ProcessorThread<ThrowingProcessor> t(*p);
  ASSERT_TRUE(t.JoinAfterSelfHalt());
  // Batches [0,3], [4,7], then 8 and the failing 9 of [8,11].
  EXPECT_EQ(p->sequence().LoadAcquire(), 8);
  EXPECT_EQ(handler.seen(), Range(0, 9));
  EXPECT_EQ(handler.succeeded_sequences(), Range(0, 8));
  EXPECT_THAT(p->status(),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("sequence 9")));
}

// ---- kLogAndContinue
// ------------------------------------------------------------

TEST(ExceptionPolicyConcurrentTest, LogAndContinueSkipsOnlyTheThrowingEvents) {
  auto ring = MakeRing(32);
  // 19 is the last event of the batch.
  ThrowingHandler handler({3, 7, 19}, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(
      auto p, ThrowingProcessor::Create(
                  *ring, handler, {},
                  {.exception_policy = ExceptionPolicy::LogAndContinue()}));
  ASSERT_TRUE(PublishValues(*ring, 20));
  ProcessorThread<ThrowingProcessor> t(*p);
  ASSERT_TRUE(SpinUntil([&] { return p->sequence().LoadAcquire() == 19; }));
  // Still running: later events are handled too.
  ASSERT_TRUE(PublishValues(*ring, 5));
  ASSERT_TRUE(SpinUntil([&] { return handler.succeeded() == 22; }));
  t.Stop();

  std::vector<int64_t> expected;
  for (int64_t s = 0; s < 25; ++s) {
    if (s != 3 && s != 7 && s != 19) expected.push_back(s);
  }
  EXPECT_EQ(handler.succeeded_sequences(), expected);
  EXPECT_EQ(handler.seen(), Range(0, 24));  // each delivered exactly once
  EXPECT_EQ(p->exception_count(), 3u);
  EXPECT_OK(p->status());
  EXPECT_EQ(p->sequence().LoadAcquire(), 24);
  EXPECT_EQ(handler.mismatches(), 0);
}

// Throws on every `every`-th sequence; counts the rest. No allocation per
// event, for the load test.
class EveryNthThrows {
 public:
  explicit EveryNthThrows(int64_t every) : every_(every) {}
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (sequence % every_ == 0) throw std::runtime_error("every nth");
    if (event.value != ValueOf(sequence)) ++mismatches_;
    if (sequence <= last_) ++mismatches_;  // redelivered or out of order
    last_ = sequence;
    sum_ += event.value;
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t sum() const { return sum_; }
  int64_t mismatches() const { return mismatches_; }

 private:
  const int64_t every_;
  int64_t last_ = -1;
  int64_t sum_ = 0;
  int64_t mismatches_ = 0;
  std::atomic<int64_t> handled_{0};
};

TEST(ExceptionPolicyConcurrentTest, LogAndContinueCountsExactlyUnderLoad) {
  const int64_t n = Events(200'000);
  constexpr int64_t kEvery = 97;
  auto ring = MakeRing(64);
  EveryNthThrows handler(kEvery);
  using P = BatchEventProcessor<TestEvent, EveryNthThrows>;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      P::Create(*ring, handler, {},
                {.exception_policy = ExceptionPolicy::LogAndContinue()}));
  const int64_t throwing = (n + kEvery - 1) / kEvery;  // 0, 97, 194, ...
  int64_t expected_sum = 0;
  for (int64_t s = 0; s < n; ++s) {
    if (s % kEvery != 0) expected_sum += ValueOf(s);
  }
  {
    ProcessorThread<P> t(*p);
    std::thread producer([&] { EXPECT_TRUE(PublishValues(*ring, n)); });
    producer.join();
    ASSERT_TRUE(
        SpinUntil([&] { return p->sequence().LoadAcquire() == n - 1; }));
  }
  EXPECT_EQ(handler.handled(), n - throwing);
  EXPECT_EQ(p->exception_count(), static_cast<uint64_t>(throwing));
  EXPECT_EQ(handler.sum(), expected_sum);
  EXPECT_EQ(handler.mismatches(), 0);
  EXPECT_OK(p->status());
}

// ---- kRewind
// ----------------------------------------------------------------------

TEST(ExceptionPolicyConcurrentTest, RewindRedeliversTheBatchUntilItSucceeds) {
  constexpr int kRewinds = 3;
  auto ring = MakeRing(16);
  // Throws the first kRewinds times: the last allowed rewind succeeds.
  ThrowingHandler handler({5}, kRewinds);
  ASSERT_OK_AND_ASSIGN(
      auto p, ThrowingProcessor::Create(
                  *ring, handler, {},
                  {.exception_policy = ExceptionPolicy::Rewind(kRewinds)}));
  ASSERT_TRUE(PublishValues(*ring, 10));  // one batch: [0, 9]
  {
    ProcessorThread<ThrowingProcessor> t(*p);
    ASSERT_TRUE(SpinUntil([&] { return p->sequence().LoadAcquire() == 9; }));
  }
  EXPECT_OK(p->status());
  EXPECT_EQ(p->exception_count(), static_cast<uint64_t>(kRewinds));
  for (int64_t s = 0; s < 10; ++s) {
    EXPECT_GE(handler.SeenCount(s), 1) << s;
  }
  EXPECT_EQ(handler.SucceededCount(5), 1);
  EXPECT_EQ(handler.SeenCount(5), kRewinds + 1);
  for (int64_t s = 6; s < 10; ++s) {
    EXPECT_EQ(handler.SeenCount(s), 1) << s;  // after the failure: once
  }
  // Each rewind restarts at the batch's first event.
  EXPECT_EQ(handler.SeenCount(0), kRewinds + 1);
  EXPECT_EQ(handler.mismatches(), 0);
}

TEST(ExceptionPolicyConcurrentTest, RewindHaltsAfterMaxRewinds) {
  constexpr int kRewinds = 2;
  auto ring = MakeRing(16);
  ThrowingHandler handler({5}, /*times=*/-1);
  ASSERT_OK_AND_ASSIGN(
      auto p, ThrowingProcessor::Create(
                  *ring, handler, {},
                  {.exception_policy = ExceptionPolicy::Rewind(kRewinds)}));
  ASSERT_TRUE(PublishValues(*ring, 10));
  ProcessorThread<ThrowingProcessor> t(*p);
  ASSERT_TRUE(t.JoinAfterSelfHalt());
  EXPECT_THAT(p->status(),
              StatusIs(absl::StatusCode::kAborted,
                       AllOf(HasSubstr("ThrowingHandler"),
                             HasSubstr("sequence 5"), HasSubstr("boom at 5"))));
  EXPECT_EQ(p->exception_count(), static_cast<uint64_t>(kRewinds + 1));
  EXPECT_EQ(p->sequence().LoadAcquire(), 4);
  EXPECT_EQ(handler.SeenCount(5), kRewinds + 1);
  EXPECT_EQ(handler.SucceededCount(5), 0);
  for (int64_t s = 6; s < 10; ++s) EXPECT_EQ(handler.SeenCount(s), 0) << s;
}

TEST(ExceptionPolicyConcurrentTest, RewindBudgetIsPerBatch) {
  // Two batches each need the full budget of rewinds: both succeed.
  constexpr int kRewinds = 2;
  auto ring = MakeRing(16);
  ThrowingHandler handler({2, 7}, kRewinds);
  ASSERT_OK_AND_ASSIGN(
      auto p, ThrowingProcessor::Create(
                  *ring, handler, {},
                  {.max_batch_size = 5,
                   .exception_policy = ExceptionPolicy::Rewind(kRewinds)}));
  ASSERT_TRUE(PublishValues(*ring, 10));  // batches [0, 4] and [5, 9]
  {
    ProcessorThread<ThrowingProcessor> t(*p);
    ASSERT_TRUE(SpinUntil([&] { return p->sequence().LoadAcquire() == 9; }));
  }
  EXPECT_OK(p->status());
  EXPECT_EQ(p->exception_count(), 2u * kRewinds);
  // Events before a failure are redelivered with their batch; the failing
  // event and the ones after it succeed once.
  for (int64_t s : {0, 1, 5, 6}) {
    EXPECT_EQ(handler.SucceededCount(s), kRewinds + 1) << s;
  }
  for (int64_t s : {2, 3, 4, 7, 8, 9}) {
    EXPECT_EQ(handler.SucceededCount(s), 1) << s;
  }
  // The second batch's rewinds start at 5, never in the first batch.
  EXPECT_EQ(handler.SeenCount(4), 1);
  EXPECT_EQ(handler.SeenCount(9), 1);
}

// ---- lifecycle callbacks
// ------------------------------------------------------------

class ThrowsOnStart {
 public:
  void OnStart() { throw std::runtime_error("start failed"); }
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value == ValueOf(sequence)) {
      handled_.fetch_add(1, std::memory_order_release);
    }
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }

 private:
  std::atomic<int64_t> handled_{0};
};

TEST(ExceptionPolicyConcurrentTest, ThrowingOnStartDoesNotStopTheProcessor) {
  auto ring = MakeRing(16);
  ThrowsOnStart handler;
  using P = BatchEventProcessor<TestEvent, ThrowsOnStart>;
  ASSERT_OK_AND_ASSIGN(auto p, P::Create(*ring, handler));
  ASSERT_TRUE(PublishValues(*ring, 6));
  {
    ProcessorThread<P> t(*p);
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 6; }));
  }
  EXPECT_EQ(p->exception_count(), 1u);
  EXPECT_OK(p->status());
  EXPECT_EQ(p->sequence().LoadAcquire(), 5);
}

// OnStart, OnShutdown or OnTimeout throwing, under every policy: the
// exception is counted and logged, the processor neither halts nor skips
// anything (the policy is about events), and every event is handled
// exactly once. WorkerPoolLifecycleTest checks the same of pool workers.
class ExceptionPolicyLifecycleTest
    : public ::testing::TestWithParam<LifecycleCase> {};

TEST_P(ExceptionPolicyLifecycleTest,
       AThrowingCallbackIsCountedAndNoEventIsLost) {
  using Thrower = ::ringflow::testing::LifecycleThrower<TestEvent>;
  using P = BatchEventProcessor<TestEvent, Thrower>;
  constexpr int64_t kEvents = 100;
  const LifecycleCallback throwing = GetParam().throwing;
  std::vector<std::atomic<uint32_t>> seen(kEvents);
  Thrower handler;
  handler.Bind({.throwing = throwing, .seen = seen.data(), .events = kEvents});
  ASSERT_OK_AND_ASSIGN(
      auto ring,
      Ring::Create({.capacity = 128,
                    .producer_type = ProducerType::kSingle,
                    .wait_strategy = WaitStrategyKind::kTimeoutBlocking,
                    .wait_timeout = absl::Milliseconds(5)}));
  ASSERT_OK_AND_ASSIGN(
      auto p,
      P::Create(*ring, handler, {}, {.exception_policy = GetParam().policy}));
  {
    ProcessorThread<P> t(*p);
    ASSERT_TRUE(SpinUntil([&] { return handler.starts() == 1; }));
    if (throwing == LifecycleCallback::kOnTimeout) {
      // Idle: it has thrown from OnTimeout at least once.
      ASSERT_TRUE(SpinUntil([&] { return handler.thrown() >= 1; }));
    }
    ASSERT_TRUE(PublishValues(*ring, kEvents));
    ASSERT_TRUE(SpinUntil([&] { return handler.processed() == kEvents; }));
    EXPECT_TRUE(p->IsRunning());
  }  // halted and joined: OnShutdown ran

  int64_t not_once = 0;
  for (const auto& times : seen) {
    // Relaxed: the processor thread was joined.
    if (times.load(std::memory_order_relaxed) != 1) ++not_once;
  }
  EXPECT_EQ(not_once, 0) << "events not handled exactly once";
  EXPECT_EQ(handler.out_of_range(), 0);
  EXPECT_EQ(handler.starts(), 1);
  EXPECT_EQ(handler.shutdowns(), 1);
  if (throwing == LifecycleCallback::kOnTimeout) {
    EXPECT_GE(handler.thrown(), 1);
    EXPECT_EQ(handler.thrown(), handler.timeouts());
  } else {
    EXPECT_EQ(handler.thrown(), 1);
  }
  EXPECT_EQ(p->exception_count(), static_cast<uint64_t>(handler.thrown()));
  EXPECT_EQ(ring->consumers().counters(0).Get(
                core_internal::ConsumerCounters::kExceptions),
            static_cast<uint64_t>(handler.thrown()));
  EXPECT_OK(p->status());
  EXPECT_EQ(p->sequence().LoadAcquire(), kEvents - 1);
}

INSTANTIATE_TEST_SUITE_P(
    CallbacksAndPolicies, ExceptionPolicyLifecycleTest,
    ::testing::ValuesIn(::ringflow::testing::AllLifecycleCases()));

}  // namespace
}  // namespace ringflow
