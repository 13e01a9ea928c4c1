// Tests for the wait strategies, through SequenceBarrier::WaitFor on a
// real ring, for every producer type x wait strategy: a waiting consumer
// gets the event published while it waits, Alert() stops a wait for the
// producer and a wait for an upstream consumer, a dependent waits for its
// upstream. For the blocking kinds: publishers wake only registered
// sleepers, every sleeper is woken, the waiter count returns to zero, and
// kTimeoutBlocking reports kTimeout. WakeupSignal on its own at the end.
//
// Threads are ordered with latches and by spinning on values
// (WakeupSignal::Waiters() tells that a blocking consumer is asleep), never
// with sleeps. The only time-based waits are the configured timeouts of
// kTimeoutBlocking, and only the returned status is checked.

#include "ringflow/core/wait_strategy.h"

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_result.h"
#include "support/core_test_util.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::core_testing::IsBlocking;
using ::ringflow::core_testing::kProducerTypes;
using ::ringflow::core_testing::kWaitStrategyKinds;
using ::ringflow::core_testing::ProducerTypeParamName;
using ::ringflow::core_testing::SpinUntil;
using ::ringflow::core_testing::WaitStrategyParamName;

using Ring = RingBuffer<int64_t>;

class WaitStrategyTest : public ::testing::TestWithParam<
                             std::tuple<ProducerType, WaitStrategyKind>> {
 protected:
  ProducerType producer_type() const { return std::get<0>(GetParam()); }
  WaitStrategyKind kind() const { return std::get<1>(GetParam()); }
  bool blocking() const { return IsBlocking(kind()); }

  RingOptions Options() const {
    return RingOptions{.capacity = 8,
                       .producer_type = producer_type(),
                       .wait_strategy = kind(),
                       // Long enough never to fire in these tests: they
                       // always publish, advance or alert what is awaited.
                       .wait_timeout = absl::Seconds(60),
                       .max_consumers = 4};
  }

  static core_internal::WakeupSignal& Signal(const Ring& ring) {
    return *ring.wait_strategy().signal();
  }

  // Returns once `waiters` consumers are asleep on `ring` (blocking kinds),
  // or at once for the spinning kinds, whose waiters cannot be observed; an
  // event or alert that arrives before their WaitFor call is seen by it.
  bool AwaitSleepers(const Ring& ring, uint32_t waiters) const {
    if (!blocking()) return true;
    return SpinUntil([&] { return Signal(ring).Waiters() == waiters; });
  }
};

// A yielding wait with a timeout (what a consumer in another process uses
// to heartbeat while idle, shm::AttachedRing) reports kTimeout when nothing
// arrives, and still returns at once what is there; an in-process ring's
// yielding strategy has no timeout (RingOptions::wait_timeout is for
// kTimeoutBlocking only).
TEST(YieldingWaitTest, BoundedYieldingWaitTimesOutAndStillDelivers) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create({.capacity = 8}));
  ASSERT_OK_AND_ASSIGN(auto slot, ring->RegisterConsumer("c"));
  auto barrier = ring->NewBarrier();
  const WaitStrategy bounded(WaitStrategyKind::kYielding, nullptr,
                             absl::ToInt64Nanoseconds(absl::Milliseconds(1)));
  EXPECT_EQ(barrier->WaitFor(0, bounded).status, WaitStatus::kTimeout);
  ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 5; }));
  const WaitResult ready = barrier->WaitFor(0, bounded);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready.available, 0);
}

TEST_P(WaitStrategyTest, WaitingConsumerReceivesEventPublishedMeanwhile) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options()));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier();
  const uint32_t epoch_before = Signal(*ring).Epoch();

  std::latch waiting(1);
  WaitResult result;
  int64_t value = 0;
  std::thread consumer_thread([&] {
    waiting.count_down();
    result = barrier->WaitFor(0);
    if (result.ok()) value = (*ring)[0];
  });
  waiting.wait();
  EXPECT_TRUE(AwaitSleepers(*ring, 1));
  const bool published =
      ring->PublishEvent([](int64_t& e, int64_t) { e = 42; });
  if (!published) barrier->Alert();  // let the consumer go
  consumer_thread.join();

  EXPECT_TRUE(published);
  EXPECT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_EQ(result.available, 0);
  EXPECT_EQ(value, 42);
  // A sleeper certainly went through the strategy (a spinner may have
  // started after the publish and found the event at once).
  if (blocking()) {
    EXPECT_TRUE(result.waited);
  }
  EXPECT_EQ(Signal(*ring).Waiters(), 0u);
  if (blocking()) {
    // The publisher saw the sleeper and woke it.
    EXPECT_NE(Signal(*ring).Epoch(), epoch_before);
  } else {
    EXPECT_EQ(Signal(*ring).Epoch(), epoch_before);
  }
}

TEST_P(WaitStrategyTest, PublishWithoutSleeperMakesNoWake) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options()));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier();
  const uint32_t epoch_before = Signal(*ring).Epoch();
  ASSERT_EQ(Signal(*ring).Waiters(), 0u);

  ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 5; }));
  ASSERT_TRUE(ring->PublishEvents(3, [](int64_t& e, int64_t) { e = 6; }));
  EXPECT_EQ(Signal(*ring).Epoch(), epoch_before);

  // A consumer that finds its event published never registers either.
  const WaitResult result = barrier->WaitFor(0);
  EXPECT_EQ(result.available, 3);
  EXPECT_FALSE(result.waited);  // the fast path found it
  EXPECT_EQ(Signal(*ring).Waiters(), 0u);
  EXPECT_EQ(Signal(*ring).Epoch(), epoch_before);
}

TEST_P(WaitStrategyTest, PublishWakesEverySleepingConsumer) {
  constexpr int kConsumers = 3;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options()));
  std::vector<core_internal::ConsumerHandle> handles;
  std::vector<std::unique_ptr<SequenceBarrier>> barriers;
  for (int c = 0; c < kConsumers; ++c) {
    ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle handle,
                         ring->RegisterConsumer());
    handles.push_back(std::move(handle));
    barriers.push_back(ring->NewBarrier());
  }

  std::latch waiting(kConsumers);
  std::vector<WaitResult> results(kConsumers);
  std::vector<int64_t> values(kConsumers, 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      waiting.count_down();
      results[c] = barriers[c]->WaitFor(1);
      if (results[c].ok()) {
        values[c] = (*ring)[0] + (*ring)[1];
      }
    });
  }
  waiting.wait();
  EXPECT_TRUE(AwaitSleepers(*ring, kConsumers));
  const bool published =
      ring->PublishEvents(2, [](int64_t& e, int64_t s) { e = 100 + s; });
  if (!published) {
    for (const auto& barrier : barriers) barrier->Alert();
  }
  for (std::thread& t : threads) t.join();

  EXPECT_TRUE(published);
  for (int c = 0; c < kConsumers; ++c) {
    EXPECT_EQ(results[c].status, WaitStatus::kAvailable) << "consumer " << c;
    EXPECT_EQ(results[c].available, 1) << "consumer " << c;
    EXPECT_EQ(values[c], 201) << "consumer " << c;
  }
  EXPECT_EQ(Signal(*ring).Waiters(), 0u);
}

TEST_P(WaitStrategyTest, AlertStopsWaitForPublish) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options()));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier();

  std::latch waiting(1);
  WaitResult result;
  std::thread consumer_thread([&] {
    waiting.count_down();
    result = barrier->WaitFor(0);
  });
  waiting.wait();
  EXPECT_TRUE(AwaitSleepers(*ring, 1));
  barrier->Alert();
  consumer_thread.join();

  EXPECT_EQ(result.status, WaitStatus::kAlerted);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(Signal(*ring).Waiters(), 0u);

  // Cleared, the same barrier waits and delivers again.
  barrier->ClearAlert();
  ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 9; }));
  const WaitResult after = barrier->WaitFor(0);
  EXPECT_EQ(after.status, WaitStatus::kAvailable);
  EXPECT_EQ(after.available, 0);
  EXPECT_EQ((*ring)[0], 9);
}

TEST_P(WaitStrategyTest, AlertStopsWaitForUpstreamConsumer) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options()));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle upstream,
                       ring->RegisterConsumer());
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle downstream,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier({&upstream.sequence()});
  // Published, but upstream never gets to it.
  ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 1; }));

  std::latch waiting(1);
  WaitResult result;
  std::thread consumer_thread([&] {
    waiting.count_down();
    result = barrier->WaitFor(0);
  });
  waiting.wait();
  barrier->Alert();
  consumer_thread.join();

  EXPECT_EQ(result.status, WaitStatus::kAlerted);
  EXPECT_EQ(Signal(*ring).Waiters(), 0u);
}

TEST_P(WaitStrategyTest, DependentWaitsUntilUpstreamReleasesItsWrites) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options()));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle upstream,
                       ring->RegisterConsumer());
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle downstream,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier({&upstream.sequence()});
  ASSERT_TRUE(ring->PublishEvents(3, [](int64_t& e, int64_t s) { e = s; }));

  std::latch waiting(1);
  WaitResult result;
  int64_t sum = 0;
  std::thread consumer_thread([&] {
    waiting.count_down();
    result = barrier->WaitFor(0);
    if (result.ok()) {
      for (int64_t s = 0; s <= result.available; ++s) sum += (*ring)[s];
    }
  });
  waiting.wait();
  // Upstream annotates two events and then releases them: the dependent
  // must see exactly those two, annotated.
  (*ring)[0] = 1000;
  (*ring)[1] = 2000;
  upstream.sequence().StoreRelease(1);
  consumer_thread.join();

  EXPECT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_EQ(result.available, 1);
  EXPECT_EQ(sum, 3000);
}

TEST_P(WaitStrategyTest, WaitForReturnsTheWholePublishedBatch) {
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(Options()));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle consumer,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier();
  ASSERT_TRUE(ring->PublishEvents(6, [](int64_t& e, int64_t s) { e = s; }));
  EXPECT_EQ(barrier->WaitFor(0).available, 5);
  EXPECT_EQ(barrier->WaitFor(5).available, 5);
}

INSTANTIATE_TEST_SUITE_P(
    ProducerTypesAndStrategies, WaitStrategyTest,
    ::testing::Combine(::testing::ValuesIn(kProducerTypes),
                       ::testing::ValuesIn(kWaitStrategyKinds)),
    [](const ::testing::TestParamInfo<
        std::tuple<ProducerType, WaitStrategyKind>>& param_info) {
      return ProducerTypeParamName(std::get<0>(param_info.param)) +
             WaitStrategyParamName(std::get<1>(param_info.param));
    });

// ---- the spin's prefetch hint (WaitProbe::Touch)
// --------------------------------------------------------

// A probe whose sequence turns up after `ready_after` reads; counts the
// Touch calls in between.
struct CountingProbe {
  int ready_after = 0;
  mutable int reads = 0;
  mutable int touches = 0;

  int64_t Published(int64_t sequence, std::memory_order) const noexcept {
    return ++reads > ready_after ? sequence : sequence - 1;
  }
  int64_t Gate(int64_t available) const noexcept { return available; }
  bool HasDependents() const noexcept { return false; }
  void Touch() const noexcept { ++touches; }
};
static_assert(core_internal::WaitProbe<CountingProbe>);

// Every strategy touches the awaited event once per spin in its spin phase
// (the 10 unanswered reads here are well inside each one's spin budget).
TEST_P(WaitStrategyTest, SpinPhaseTouchesTheAwaitedEventOncePerSpin) {
  core_internal::WakeupSignal signal;
  const WaitStrategy strategy(std::get<1>(GetParam()), &signal,
                              /*timeout_ns=*/int64_t{1'000'000'000});
  const core_internal::AlertFlag alert;
  const CountingProbe probe{.ready_after = 10};
  const WaitResult result = strategy.WaitFor(7, probe, alert);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.available, 7);
  EXPECT_EQ(probe.reads, 11);
  EXPECT_EQ(probe.touches, 10);
}

// ---- kTimeoutBlocking
// --------------------------------------------------------

RingOptions TimeoutOptions(ProducerType type, absl::Duration timeout) {
  return RingOptions{.capacity = 8,
                     .producer_type = type,
                     .wait_strategy = WaitStrategyKind::kTimeoutBlocking,
                     .wait_timeout = timeout};
}

TEST(WaitStrategyTest, TimeoutBlockingReportsTimeoutWhenNothingIsPublished) {
  for (const ProducerType type : kProducerTypes) {
    SCOPED_TRACE(ProducerTypeName(type));
    ASSERT_OK_AND_ASSIGN(
        auto ring, Ring::Create(TimeoutOptions(type, absl::Milliseconds(20))));
    const auto barrier = ring->NewBarrier();
    const WaitResult result = barrier->WaitFor(0);
    EXPECT_EQ(result.status, WaitStatus::kTimeout);
    EXPECT_FALSE(result.ok());
    EXPECT_TRUE(result.waited);
    EXPECT_EQ(ring->wait_strategy().signal()->Waiters(), 0u);

    // After a timeout the barrier still delivers what comes next.
    ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 3; }));
    EXPECT_EQ(barrier->WaitFor(0).available, 0);
  }
}

TEST(WaitStrategyTest, TimeoutBlockingReportsTimeoutWhenUpstreamStalls) {
  for (const ProducerType type : kProducerTypes) {
    SCOPED_TRACE(ProducerTypeName(type));
    ASSERT_OK_AND_ASSIGN(
        auto ring, Ring::Create(TimeoutOptions(type, absl::Milliseconds(20))));
    ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle upstream,
                         ring->RegisterConsumer());
    const auto barrier = ring->NewBarrier({&upstream.sequence()});
    ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 3; }));
    EXPECT_EQ(barrier->WaitFor(0).status, WaitStatus::kTimeout);
  }
}

// Regression (both tests below) for a fixed library bug, as it was:
// ValidateRingOptions accepts any positive wait_timeout for kTimeoutBlocking,
// including absl::InfiniteDuration() (the natural "no timeout"). RingBuffer
// passes absl::ToInt64Nanoseconds(wait_timeout) = INT64_MAX to the strategy,
// and core_internal::BlockingWaitFor (blocking_wait_strategy.h:55) computes
// `deadline = MonotonicNanos() + timeout_ns`: signed overflow, undefined
// behaviour (UBSan: "signed integer overflow", so the asan preset aborts).
// In practice the deadline wraps negative. Waiting for the cursor happens
// to survive that (line 82, `deadline - MonotonicNanos()`, wraps back), but
// waiting for an upstream consumer does not: after 10,000 spins and yields
// `MonotonicNanos() >= deadline` (line 99) holds at once and WaitFor
// returns kTimeout although the timeout is infinite. Any timeout above
// INT64_MAX ns minus the uptime behaves the same.
TEST(WaitStrategyTest, TimeoutBlockingWithInfiniteTimeoutWaitsForPublish) {
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(TimeoutOptions(ProducerType::kSingle,
                                                   absl::InfiniteDuration())));
  const auto barrier = ring->NewBarrier();
  const core_internal::WakeupSignal& signal = *ring->wait_strategy().signal();

  std::atomic<bool> returned{false};
  WaitResult result;
  std::thread consumer_thread([&] {
    result = barrier->WaitFor(0);
    returned.store(true, std::memory_order_release);
  });
  // Either the consumer is asleep, or it has already given up.
  EXPECT_TRUE(SpinUntil([&] {
    return signal.Waiters() == 1 || returned.load(std::memory_order_acquire);
  }));
  const bool published =
      ring->PublishEvent([](int64_t& e, int64_t) { e = 77; });
  if (!published) barrier->Alert();
  consumer_thread.join();

  EXPECT_TRUE(published);
  EXPECT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_EQ(result.available, 0);
}

TEST(WaitStrategyTest, TimeoutBlockingWithInfiniteTimeoutWaitsForUpstream) {
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(TimeoutOptions(ProducerType::kSingle,
                                                   absl::InfiniteDuration())));
  ASSERT_OK_AND_ASSIGN(core_internal::ConsumerHandle upstream,
                       ring->RegisterConsumer());
  const auto barrier = ring->NewBarrier({&upstream.sequence()});
  ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 77; }));

  std::atomic<bool> returned{false};
  WaitResult result;
  std::thread consumer_thread([&] {
    result = barrier->WaitFor(0);
    returned.store(true, std::memory_order_release);
  });
  // Give the consumer the chance to pass its 10,000 spins and yields: this
  // thread yields ten times as often (or until the consumer gave up). Not
  // a synchronisation: a fixed library passes however this interleaves.
  for (int i = 0; i < 100'000; ++i) {
    if (returned.load(std::memory_order_acquire)) break;
    std::this_thread::yield();
  }
  upstream.sequence().StoreRelease(0);
  consumer_thread.join();

  EXPECT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_EQ(result.available, 0);
}

// ---- WaitStrategy and WakeupSignal on their own
// ------------------------------

TEST(WaitStrategyTest, OnlyBlockingKindsNeedWakeup) {
  core_internal::WakeupSignal signal;
  for (const WaitStrategyKind kind : kWaitStrategyKinds) {
    SCOPED_TRACE(WaitStrategyName(kind));
    const WaitStrategy strategy(kind, &signal, 1000);
    EXPECT_EQ(strategy.kind(), kind);
    EXPECT_EQ(strategy.signal(), &signal);
    EXPECT_EQ(strategy.NeedsWakeup(), IsBlocking(kind));
  }
}

TEST(WaitStrategyTest, WakeAllWakesOnlyForBlockingKinds) {
  for (const WaitStrategyKind kind : kWaitStrategyKinds) {
    SCOPED_TRACE(WaitStrategyName(kind));
    core_internal::WakeupSignal signal;
    const WaitStrategy strategy(kind, &signal, 1000);
    const uint32_t before = signal.Epoch();
    strategy.WakeAll();
    EXPECT_EQ(signal.Epoch() != before, IsBlocking(kind));
  }
}

TEST(WaitStrategyTest, WakeupSignalCountsRegisteredWaiters) {
  core_internal::WakeupSignal signal;
  EXPECT_EQ(signal.Waiters(), 0u);
  signal.Register();
  signal.Register();
  EXPECT_EQ(signal.Waiters(), 2u);
  signal.Unregister();
  EXPECT_EQ(signal.Waiters(), 1u);
  signal.Unregister();
  EXPECT_EQ(signal.Waiters(), 0u);
}

TEST(WaitStrategyTest, WakeupSignalWakesOnlyWhenSomeoneWaits) {
  core_internal::WakeupSignal signal;
  const uint32_t start = signal.Epoch();
  signal.WakeIfWaiters();
  EXPECT_EQ(signal.Epoch(), start);
  signal.Register();
  signal.WakeIfWaiters();
  EXPECT_EQ(signal.Epoch(), start + 1);
  signal.Unregister();
  signal.WakeAll();
  EXPECT_EQ(signal.Epoch(), start + 2);
}

TEST(WaitStrategyTest, WakeupSignalWaitReturnsAtOnceWhenEpochMoved) {
  core_internal::WakeupSignal signal;
  const uint32_t observed = signal.Epoch();
  signal.WakeAll();
  // The epoch is no longer `observed`: no sleep, and not a timeout.
  EXPECT_TRUE(signal.Wait(observed, -1));
}

TEST(WaitStrategyTest, WakeupSignalWaitTimesOut) {
  core_internal::WakeupSignal signal;
  EXPECT_FALSE(signal.Wait(signal.Epoch(), 1'000'000));  // 1 ms
}

TEST(WaitStrategyTest, WakeupSignalWakesASleeperOnAnotherThread) {
  core_internal::WakeupSignal signal;
  std::atomic<bool> woken{false};
  const uint32_t observed = signal.Epoch();
  std::thread sleeper([&] {
    signal.Register();
    // Spurious wake-ups return true too: sleep until the epoch moved.
    while (signal.Epoch() == observed) signal.Wait(observed, -1);
    signal.Unregister();
    woken.store(true, std::memory_order_release);
  });
  EXPECT_TRUE(SpinUntil([&] { return signal.Waiters() == 1; }));
  signal.WakeIfWaiters();
  sleeper.join();
  EXPECT_TRUE(woken.load(std::memory_order_acquire));
  EXPECT_EQ(signal.Waiters(), 0u);
}

}  // namespace
}  // namespace ringflow
