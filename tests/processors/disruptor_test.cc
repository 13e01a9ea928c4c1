// Tests for the Disruptor DSL: graph building and its errors, handler
// ownership, ordering between stages, Shutdown / Halt, threads (factory
// and CPU affinity) and processor names.

#include "ringflow/processors/disruptor.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/processors/event_handler_group.h"
#include "ringflow/processors/exception_policy.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::PublishValues;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using D = Disruptor<TestEvent>;

// Long enough that a correct Shutdown never hits it.
constexpr absl::Duration kDrainTimeout = absl::Seconds(60);

DisruptorOptions SmallRing(int64_t capacity = 64) {
  DisruptorOptions options;
  options.ring.capacity = capacity;
  return options;
}

std::unique_ptr<D> MakeDisruptor(const DisruptorOptions& options) {
  auto d = D::Create(options);
  EXPECT_OK(d.status());
  return std::move(d).value();
}

int64_t SumOfValues(int64_t n) {
  int64_t sum = 0;
  for (int64_t s = 0; s < n; ++s) sum += ValueOf(s);
  return sum;
}

// ---- handlers
// -------------------------------------------------------------------

// Checks every value, sums them and counts. Plain fields are read after
// Shutdown/Halt joined the processor thread.
class Counter {
 public:
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value != ValueOf(sequence)) ++mismatches_;
    sum_ += event.value;
    // Release: pairs with the test's acquire poll of handled().
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t sum() const { return sum_; }
  int64_t mismatches() const { return mismatches_; }

 private:
  int64_t sum_ = 0;
  int64_t mismatches_ = 0;
  std::atomic<int64_t> handled_{0};
};

class NamedCounter : public Counter {
 public:
  explicit NamedCounter(std::string name) : name_(std::move(name)) {}
  std::string_view Name() const { return name_; }

 private:
  std::string name_;
};

// Stage "a" and "b" annotate the event for later stages.
class MarkA {
 public:
  void OnEvent(TestEvent& event, int64_t /*sequence*/, bool /*end*/) {
    event.a_mark = event.value + 1;
  }
};
class MarkB {
 public:
  void OnEvent(TestEvent& event, int64_t /*sequence*/, bool /*end*/) {
    event.b_mark = event.value + 2;
  }
};

// Checks the annotations of the stages it runs behind.
class CheckMarks {
 public:
  CheckMarks(bool need_a, bool need_b) : need_a_(need_a), need_b_(need_b) {}
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value != ValueOf(sequence)) ++mismatches_;
    if (need_a_ && event.a_mark != event.value + 1) ++mismatches_;
    if (need_b_ && event.b_mark != event.value + 2) ++mismatches_;
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t mismatches() const { return mismatches_; }

 private:
  const bool need_a_;
  const bool need_b_;
  int64_t mismatches_ = 0;
  std::atomic<int64_t> handled_{0};
};

// Blocks in OnEvent until the test calls Release().
class StuckHandler {
 public:
  std::string_view Name() const { return "stuck-handler"; }
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    // Release: pairs with the test's acquire poll of entered().
    entered_.store(true, std::memory_order_release);
    // Acquire: pairs with Release().
    while (!released_.load(std::memory_order_acquire)) {
      std::this_thread::yield();
    }
    if (event.value != ValueOf(sequence)) ++mismatches_;
    handled_.fetch_add(1, std::memory_order_release);
  }
  void Release() { released_.store(true, std::memory_order_release); }
  bool entered() const { return entered_.load(std::memory_order_acquire); }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t mismatches() const { return mismatches_; }

 private:
  std::atomic<bool> entered_{false};
  std::atomic<bool> released_{false};
  std::atomic<int64_t> handled_{0};
  int64_t mismatches_ = 0;
};

// Releases a StuckHandler when the scope ends, so a failing assertion
// never leaves the Disruptor's destructor joining a blocked thread.
// Declare it after the Disruptor (destroyed before it).
class ReleaseOnExit {
 public:
  explicit ReleaseOnExit(StuckHandler& handler) : handler_(handler) {}
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;
  ~ReleaseOnExit() { handler_.Release(); }

 private:
  StuckHandler& handler_;
};

class ThrowsAt {
 public:
  explicit ThrowsAt(int64_t at) : at_(at) {}
  std::string_view Name() const { return "thrower"; }
  void OnEvent(TestEvent& /*event*/, int64_t sequence, bool /*end*/) {
    if (sequence == at_) throw std::runtime_error("bad event");
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }

 private:
  const int64_t at_;
  std::atomic<int64_t> handled_{0};
};

// Records its construction and destruction in counters the test owns.
class OwnedHandler {
 public:
  OwnedHandler(std::atomic<int>* constructed, std::atomic<int>* destroyed,
               std::atomic<int64_t>* handled)
      : destroyed_(destroyed), handled_(handled) {
    constructed->fetch_add(1, std::memory_order_relaxed);
  }
  OwnedHandler(const OwnedHandler&) = delete;
  OwnedHandler& operator=(const OwnedHandler&) = delete;
  ~OwnedHandler() { destroyed_->fetch_add(1, std::memory_order_relaxed); }

  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value == ValueOf(sequence)) {
      handled_->fetch_add(1, std::memory_order_release);
    }
  }

 private:
  std::atomic<int>* destroyed_;
  std::atomic<int64_t>* handled_;
};

class NeverAddedHandler {
 public:
  void OnEvent(TestEvent&, int64_t, bool) {}
};

std::vector<std::string> ProcessorNames(const D& d) {
  std::vector<std::string> names;
  d.ForEachProcessor(
      [&](const std::string& name, const Sequence&) { names.push_back(name); });
  return names;
}

// ---- creation
// -------------------------------------------------------------------

TEST(DisruptorTest, CreateRejectsBadOptionsNamingTheValue) {
  DisruptorOptions zero_batch = SmallRing();
  zero_batch.max_batch_size = 0;
  EXPECT_THAT(D::Create(zero_batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_batch_size 0")));
  EXPECT_THAT(D::Create(SmallRing(3)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3")));
}

TEST(DisruptorTest, CreateRejectsCpusThisProcessCannotUse) {
  for (int cpu : {100000, -1}) {
    DisruptorOptions options = SmallRing();
    options.cpu_affinity = {cpu};
    EXPECT_THAT(D::Create(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(std::to_string(cpu))));
  }
  DisruptorOptions second_bad = SmallRing();
  second_bad.cpu_affinity = {0, 100000};
  EXPECT_THAT(D::Create(second_bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cpu_affinity[1] = 100000")));
}

// ---- graph-building errors
// ---------------------------------------------------------

TEST(DisruptorConcurrentTest, StartTwiceFailsWithFailedPrecondition) {
  Counter counter;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(counter);
  ASSERT_OK(d->Start());
  EXPECT_TRUE(d->started());
  EXPECT_THAT(d->Start(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("twice")));
  // The graph still runs once: every event handled exactly once.
  ASSERT_TRUE(PublishValues(d->ring(), 100));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(counter.handled(), 100);
  EXPECT_EQ(counter.sum(), SumOfValues(100));
  EXPECT_EQ(counter.mismatches(), 0);
}

TEST(DisruptorConcurrentTest, AddingHandlersAfterStartIsRejected) {
  Counter first;
  Counter late;
  Counter later;
  auto d = MakeDisruptor(SmallRing());
  EventHandlerGroup<TestEvent> group = d->HandleEventsWith(first);
  ASSERT_OK(d->Start());

  EventHandlerGroup<TestEvent> rejected = d->HandleEventsWith(late);
  EXPECT_THAT(rejected.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                          HasSubstr("after Start")));
  EXPECT_THAT(rejected.sequences(), IsEmpty());
  EXPECT_THAT(group.Then(later).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(d->After(first).HandleEventsWith(later).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ProcessorNames(*d).size(), 1u);

  ASSERT_TRUE(PublishValues(d->ring(), 10));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(first.handled(), 10);
  EXPECT_EQ(late.handled(), 0);
  EXPECT_EQ(later.handled(), 0);
}

TEST(DisruptorConcurrentTest, AfterAHandlerNeverAddedFailsStart) {
  Counter added;
  NeverAddedHandler stranger;
  Counter behind;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(added);
  EventHandlerGroup<TestEvent> group = d->After(stranger);
  EXPECT_THAT(group.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("NeverAddedHandler")));
  EXPECT_THAT(group.HandleEventsWith(behind).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ProcessorNames(*d).size(), 1u);  // `behind` was not added
  EXPECT_THAT(d->Start(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("NeverAddedHandler")));
  EXPECT_FALSE(d->started());
}

TEST(DisruptorConcurrentTest, MoreHandlersThanConsumerSlotsFailStart) {
  Counter a;
  Counter b;
  Counter c;
  DisruptorOptions options = SmallRing();
  options.ring.max_consumers = 2;
  auto d = MakeDisruptor(options);
  EventHandlerGroup<TestEvent> group = d->HandleEventsWith(a, b, c);
  EXPECT_THAT(group.status(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(d->Start(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(d->started());
}

TEST(DisruptorConcurrentTest, NullUniquePtrHandlerFailsStart) {
  auto d = MakeDisruptor(SmallRing());
  EventHandlerGroup<TestEvent> group =
      d->HandleEventsWith(std::unique_ptr<Counter>());
  EXPECT_THAT(group.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("Counter")));
  EXPECT_THAT(d->Start(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("null")));
}

// ---- ownership
// ------------------------------------------------------------------

TEST(DisruptorConcurrentTest, OwnsHandlersPassedAsUniquePtr) {
  const int64_t n = Events(10'000);
  std::atomic<int> constructed{0};
  std::atomic<int> destroyed{0};
  std::atomic<int64_t> handled{0};
  Counter behind;  // referenced: must outlive the Disruptor
  auto d = MakeDisruptor(SmallRing());
  auto owned =
      std::make_unique<OwnedHandler>(&constructed, &destroyed, &handled);
  const OwnedHandler* raw = owned.get();
  ASSERT_OK(d->HandleEventsWith(std::move(owned)).status());
  // The owned handler can still be named in After(), and Then() takes
  // ownership too.
  ASSERT_OK(d->After(*raw)
                .HandleEventsWith(behind)
                .Then(std::make_unique<OwnedHandler>(&constructed, &destroyed,
                                                     &handled))
                .status());
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), n));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(handled.load(std::memory_order_acquire), 2 * n);  // both owned
  EXPECT_EQ(behind.handled(), n);
  EXPECT_EQ(behind.mismatches(), 0);
  EXPECT_EQ(destroyed.load(), 0);  // alive until the Disruptor goes
  d.reset();
  EXPECT_EQ(constructed.load(), 2);
  EXPECT_EQ(destroyed.load(), 2);
}

TEST(DisruptorConcurrentTest, OwnedHandlerOfAGraphThatNeverStartedIsDestroyed) {
  std::atomic<int> constructed{0};
  std::atomic<int> destroyed{0};
  std::atomic<int64_t> handled{0};
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(
      std::make_unique<OwnedHandler>(&constructed, &destroyed, &handled),
      std::make_unique<OwnedHandler>(&constructed, &destroyed, &handled));
  d.reset();
  EXPECT_EQ(constructed.load(), 2);
  EXPECT_EQ(destroyed.load(), 2);
}

// ---- ordering between stages
// -------------------------------------------------------

TEST(DisruptorConcurrentTest, AfterMakesUpstreamWritesVisible) {
  const int64_t n = Events(500'000);
  MarkA a;
  CheckMarks e(/*need_a=*/true, /*need_b=*/false);
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(a);
  ASSERT_OK(d->After(a).HandleEventsWith(e).status());
  ASSERT_OK(d->Start());
  std::thread producer([&] { EXPECT_TRUE(PublishValues(d->ring(), n)); });
  producer.join();
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(e.handled(), n);
  EXPECT_EQ(e.mismatches(), 0);
}

TEST(DisruptorConcurrentTest, AndThenGatesOnBothGroups) {
  const int64_t n = Events(500'000);
  MarkA a;
  MarkB b;
  CheckMarks c(/*need_a=*/true, /*need_b=*/true);
  auto d = MakeDisruptor(SmallRing());
  EventHandlerGroup<TestEvent> group_a = d->HandleEventsWith(a);
  EventHandlerGroup<TestEvent> group_b = d->HandleEventsWith(b);
  EventHandlerGroup<TestEvent> both = group_a.And(group_b);
  EXPECT_EQ(both.sequences().size(), 2u);
  ASSERT_OK(both.Then(c).status());
  ASSERT_OK(d->Start());
  std::thread producer([&] { EXPECT_TRUE(PublishValues(d->ring(), n)); });
  producer.join();
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(c.handled(), n);
  EXPECT_EQ(c.mismatches(), 0);
}

TEST(DisruptorConcurrentTest, DiamondThenSeesBothBranches) {
  const int64_t n = Events(500'000);
  MarkA a;
  MarkB b;
  CheckMarks c(/*need_a=*/true, /*need_b=*/true);
  auto d = MakeDisruptor(SmallRing());
  ASSERT_OK(d->HandleEventsWith(a, b).Then(c).status());
  ASSERT_OK(d->Start());
  std::thread producer([&] { EXPECT_TRUE(PublishValues(d->ring(), n)); });
  producer.join();
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(c.handled(), n);
  EXPECT_EQ(c.mismatches(), 0);
}

// ---- options reach the processors
// -----------------------------------------------------

class BatchSizes {
 public:
  void OnBatchStart(int64_t batch_size, int64_t /*queue_depth*/) {
    sizes_.push_back(batch_size);
  }
  void OnEvent(TestEvent&, int64_t, bool) {}
  const std::vector<int64_t>& sizes() const { return sizes_; }

 private:
  std::vector<int64_t> sizes_;
};

TEST(DisruptorConcurrentTest, AppliesMaxBatchSizeToItsProcessors) {
  BatchSizes handler;
  DisruptorOptions options = SmallRing();
  options.max_batch_size = 4;
  auto d = MakeDisruptor(options);
  d->HandleEventsWith(handler);
  // Published before Start: the first wait sees all 18 at once.
  ASSERT_TRUE(PublishValues(d->ring(), 18));
  ASSERT_OK(d->Start());
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(handler.sizes(), (std::vector<int64_t>{4, 4, 4, 4, 2}));
}

TEST(DisruptorConcurrentTest, AppliesTheExceptionPolicyToItsProcessors) {
  ThrowsAt thrower(3);
  DisruptorOptions options = SmallRing();
  options.exception_policy = ExceptionPolicy::LogAndContinue();
  auto d = MakeDisruptor(options);
  d->HandleEventsWith(thrower);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), 10));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(thrower.handled(), 9);
}

// ---- Shutdown and Halt
// ---------------------------------------------------------------

TEST(DisruptorConcurrentTest, ShutdownDrainsEverythingPublished) {
  const int64_t n = Events(500'000);
  Counter first;
  Counter second;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(first).Then(second);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), n));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  // No waiting after Shutdown: it returned only once everything was done.
  EXPECT_EQ(first.handled(), n);
  EXPECT_EQ(second.handled(), n);
  EXPECT_EQ(first.sum(), SumOfValues(n));
  EXPECT_EQ(second.sum(), SumOfValues(n));
  EXPECT_EQ(first.mismatches() + second.mismatches(), 0);
  // Producers are halted too (the waiting-free claim; see the disabled
  // PublishEventFailsAfterShutdown below for PublishEvent).
  EXPECT_FALSE(
      d->TryPublishEvent([](TestEvent& ev, int64_t) { ev.value = 0; }));
}

// BUG (core/include/ringflow/core/single_producer_sequencer.h:57 and
// multi_producer_sequencer.h:64, Next): the halt flag is only checked
// inside the wait-for-space loop, so after RingBuffer::Halt() -- called by
// Disruptor::Shutdown and Disruptor::Halt -- a claim that finds free space
// still succeeds. RingBuffer::Halt documents "later claims fail" and
// Shutdown "halts processors and producers"; instead PublishEvent returns
// true and the event is published into a ring no processor will ever
// read: an event silently lost. TryNext/TryPublishEvent do check the flag.
TEST(DisruptorConcurrentTest, PublishEventFailsAfterShutdown) {
  Counter counter;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(counter);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), 3));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(counter.handled(), 3);
  EXPECT_FALSE(d->PublishEvent([](TestEvent& e, int64_t) { e.value = 0; }));
  EXPECT_FALSE(d->PublishEvents(2, [](TestEvent& e, int64_t) { e.value = 0; }));
  EXPECT_FALSE(d->ring().Next().has_value());
}

TEST(DisruptorConcurrentTest, ShutdownTimesOutNamingTheStuckHandler) {
  StuckHandler stuck;
  Counter other;
  auto d = MakeDisruptor(SmallRing());
  ReleaseOnExit release_on_exit(stuck);
  d->HandleEventsWith(stuck, other);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), 3));
  ASSERT_TRUE(SpinUntil([&] { return stuck.entered(); }));

  EXPECT_THAT(d->Shutdown(absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("'stuck-handler'")));
  // The graph keeps running after the timeout.
  ASSERT_TRUE(SpinUntil([&] { return other.handled() == 3; }));
  ASSERT_TRUE(PublishValues(d->ring(), 2));

  stuck.Release();
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_EQ(stuck.handled(), 5);
  EXPECT_EQ(other.handled(), 5);
  EXPECT_EQ(stuck.mismatches(), 0);
  EXPECT_EQ(other.mismatches(), 0);
}

TEST(DisruptorConcurrentTest, ShutdownReportsAHandlerHaltedByAnException) {
  ThrowsAt thrower(3);
  Counter healthy;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(thrower, healthy);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), 10));
  EXPECT_THAT(d->Shutdown(kDrainTimeout),
              StatusIs(absl::StatusCode::kAborted,
                       AllOf(HasSubstr("'thrower'"), HasSubstr("sequence 3"),
                             HasSubstr("bad event"))));
  EXPECT_EQ(thrower.handled(), 3);  // 0, 1, 2; nothing after the failure
  // The other processor is unaffected and drains.
  ASSERT_TRUE(SpinUntil([&] { return healthy.handled() == 10; }));
  d->Halt();
  EXPECT_EQ(healthy.mismatches(), 0);
}

TEST(DisruptorConcurrentTest, HaltUnblocksAProducerWaitingOnAFullRing) {
  constexpr int64_t kCapacity = 8;
  StuckHandler stuck;
  auto d = MakeDisruptor(SmallRing(kCapacity));
  ReleaseOnExit release_on_exit(stuck);
  d->HandleEventsWith(stuck);
  ASSERT_OK(d->Start());

  std::atomic<int64_t> published{0};
  std::atomic<bool> producer_returned{false};
  std::thread producer([&] {
    // The stuck handler never passes sequence 0: after kCapacity events
    // PublishEvent waits for space until Halt makes it return false.
    while (d->PublishEvent(
        [](TestEvent& e, int64_t seq) { e.value = ValueOf(seq); })) {
      published.fetch_add(1, std::memory_order_relaxed);
    }
    producer_returned.store(true, std::memory_order_release);
  });
  // The handler holds sequence 0 and the ring fills up. (No ASSERT while
  // the threads run: every path below joins them.)
  const bool entered = SpinUntil([&] { return stuck.entered(); });
  const bool full = SpinUntil(
      [&] { return published.load(std::memory_order_relaxed) == kCapacity; });
  // Halt joins the processor threads, so it blocks until the stuck handler
  // is released; run it aside and check the producer returns before that.
  std::thread halter([&] { d->Halt(); });
  const bool unblocked = SpinUntil(
      [&] { return producer_returned.load(std::memory_order_acquire); });
  stuck.Release();
  halter.join();
  producer.join();
  EXPECT_TRUE(entered);
  EXPECT_TRUE(full);
  EXPECT_TRUE(unblocked);
  EXPECT_EQ(published.load(), kCapacity);
  EXPECT_GE(stuck.handled(), 1);
  EXPECT_EQ(stuck.mismatches(), 0);
}

class ShutdownCounter : public Counter {
 public:
  void OnShutdown() { shutdowns_.fetch_add(1, std::memory_order_relaxed); }
  int shutdowns() const { return shutdowns_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> shutdowns_{0};
};

TEST(DisruptorConcurrentTest, DestructorHaltsAndJoinsRunningProcessors) {
  ShutdownCounter a;
  ShutdownCounter b;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(a).Then(b);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), 5));
  // Both loops are running (a processor halted before its thread reached
  // Run never starts its handler, by design).
  ASSERT_TRUE(SpinUntil([&] { return b.handled() == 5; }));
  EXPECT_EQ(a.shutdowns(), 0);
  d.reset();  // no Shutdown: the destructor halts and joins
  EXPECT_EQ(a.handled(), 5);
  EXPECT_EQ(a.mismatches() + b.mismatches(), 0);
  EXPECT_EQ(a.shutdowns(), 1);
  EXPECT_EQ(b.shutdowns(), 1);
}

TEST(DisruptorConcurrentTest, HaltIsIdempotent) {
  Counter counter;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(counter);
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), 4));
  ASSERT_TRUE(SpinUntil([&] { return counter.handled() == 4; }));
  d->Halt();
  d->Halt();
  EXPECT_FALSE(d->TryPublishEvent([](TestEvent& e, int64_t) { e.value = 0; }));
  EXPECT_EQ(counter.handled(), 4);
  EXPECT_EQ(counter.mismatches(), 0);
}

// ---- threads
// ------------------------------------------------------------------------

thread_local bool t_made_by_factory = false;

class ThreadOrigin {
 public:
  void OnStart() {
    if (t_made_by_factory) {
      on_factory_thread_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value == ValueOf(sequence) && t_made_by_factory) {
      handled_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  int on_factory_thread() const {
    return on_factory_thread_.load(std::memory_order_relaxed);
  }
  int64_t handled() const { return handled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> on_factory_thread_{0};
  std::atomic<int64_t> handled_{0};
};

TEST(DisruptorConcurrentTest, RunsEveryProcessorOnAThreadFromTheFactory) {
  std::atomic<int> calls{0};
  DisruptorOptions options = SmallRing();
  options.thread_factory = [&calls](std::function<void()> body) {
    calls.fetch_add(1, std::memory_order_relaxed);
    return std::thread([body = std::move(body)] {
      t_made_by_factory = true;
      body();
    });
  };
  ThreadOrigin a;
  ThreadOrigin b;
  ThreadOrigin c;
  auto d = MakeDisruptor(options);
  d->HandleEventsWith(a, b).Then(c);
  EXPECT_EQ(calls.load(), 0);  // no thread before Start
  ASSERT_OK(d->Start());
  EXPECT_EQ(calls.load(), 3);
  ASSERT_TRUE(PublishValues(d->ring(), 50));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  for (const ThreadOrigin* h : {&a, &b, &c}) {
    EXPECT_EQ(h->on_factory_thread(), 1);
    EXPECT_EQ(h->handled(), 50);
  }
}

// Records the affinity of the thread OnEvent runs on.
class AffinityRecorder {
 public:
  void OnEvent(TestEvent&, int64_t, bool) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0) {
      allowed_count_ = CPU_COUNT(&set);
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) {
          first_allowed_ = cpu;
          break;
        }
      }
    }
    handled_.fetch_add(1, std::memory_order_release);
  }
  int allowed_count() const { return allowed_count_; }
  int first_allowed() const { return first_allowed_; }

 private:
  int allowed_count_ = -1;
  int first_allowed_ = -1;
  std::atomic<int64_t> handled_{0};
};

TEST(DisruptorConcurrentTest, PinsProcessorsToAValidCpu) {
  // CPU 0 when this process may use it (the usual case), else the first
  // CPU it may use.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed)) ++cpu;
  ASSERT_LT(cpu, CPU_SETSIZE);

  DisruptorOptions options = SmallRing();
  options.cpu_affinity = {cpu};
  AffinityRecorder a;
  AffinityRecorder b;
  auto d = MakeDisruptor(options);
  d->HandleEventsWith(a, b);
  ASSERT_OK(d->Start());
  // Published after Start returned, so after every thread was pinned.
  ASSERT_TRUE(PublishValues(d->ring(), 1));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  for (const AffinityRecorder* h : {&a, &b}) {
    EXPECT_EQ(h->allowed_count(), 1);
    EXPECT_EQ(h->first_allowed(), cpu);
  }
}

// ---- names
// ---------------------------------------------------------------------------

TEST(DisruptorConcurrentTest, NamesProcessorsAfterTheirHandlersUniquely) {
  NamedCounter journal("journal");
  NamedCounter risk1("risk");
  NamedCounter risk2("risk");
  Counter plain1;
  Counter plain2;
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(journal, risk1, risk2, plain1, plain2);
  const std::vector<std::string> names = ProcessorNames(*d);
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ(names[0], "journal");
  EXPECT_EQ(names[1], "risk");
  EXPECT_THAT(names[2], AllOf(HasSubstr("risk"), Not("risk")));
  // Unnamed handlers are labelled by their type.
  EXPECT_THAT(names[3], HasSubstr("Counter"));
  EXPECT_THAT(names[4], AllOf(HasSubstr("Counter"), Not(names[3])));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 5u);

  // The sequences ForEachProcessor reports are the processors' own.
  ASSERT_OK(d->Start());
  ASSERT_TRUE(PublishValues(d->ring(), 7));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  std::vector<int64_t> at;
  d->ForEachProcessor([&](const std::string&, const Sequence& sequence) {
    at.push_back(sequence.LoadAcquire());
  });
  EXPECT_EQ(at, std::vector<int64_t>(5, 6));
  EXPECT_EQ(journal.handled() + risk1.handled() + risk2.handled() +
                plain1.handled() + plain2.handled(),
            5 * 7);
}

// BUG (processors/include/ringflow/processors/disruptor.h, UniqueName):
// the suffix "#<count>" is appended per base name without checking that
// the result is free, so handlers named "feed", "feed" and "feed#2" get
// the processor names "feed", "feed#2", "feed#2": two processors share a
// label in logs, errors (Shutdown's "behind" list) and metrics.
TEST(DisruptorConcurrentTest, NamesStayUniqueWhenAGeneratedNameIsAlreadyTaken) {
  NamedCounter first("feed");
  NamedCounter second("feed");
  NamedCounter third("feed#2");
  auto d = MakeDisruptor(SmallRing());
  d->HandleEventsWith(first, second, third);
  const std::vector<std::string> names = ProcessorNames(*d);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_THAT(names, Contains("feed"));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 3u)
      << names[0] << ", " << names[1] << ", " << names[2];
}

}  // namespace
}  // namespace ringflow
