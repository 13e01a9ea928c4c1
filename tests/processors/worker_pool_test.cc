// tests/processors/worker_pool_test.cc
//
// WorkerPool<E, H> used standalone (no Disruptor): setup errors, and
// competing consumers handling every event exactly once with several
// producers, several worker counts and wait strategies, under the
// exception policies, and with a throwing OnStart, OnShutdown or OnTimeout
// under each policy.

#include "ringflow/processors/worker_pool.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/exception_policy.h"
#include "support/lifecycle_handlers.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"
#include "support/topo_handlers.h"
#include "support/topo_names.h"
#include "support/topo_spin.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::ExactlyOnceWorker;
using ::ringflow::testing::FillSequence;
using ::ringflow::testing::LifecycleCallback;
using ::ringflow::testing::LifecycleCase;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::SumBelow;
using ::ringflow::testing::ThrowingWorker;
using ::ringflow::testing::TopoEvent;
using ::testing::HasSubstr;

// Only a hang guard: producers have finished when Shutdown is called.
constexpr absl::Duration kShutdownTimeout = absl::Seconds(120);

RingOptions Ring(ProducerType producer_type, WaitStrategyKind wait_strategy) {
  return RingOptions{.capacity = 1024,
                     .producer_type = producer_type,
                     .wait_strategy = wait_strategy};
}

// One counter per event; `seen[producer * per_producer + value]`.
std::vector<std::atomic<uint32_t>> MakeSeen(int64_t n) {
  return std::vector<std::atomic<uint32_t>>(static_cast<size_t>(n));
}

// Events whose counter is not exactly 1 (read after the workers were
// joined, or after their processed() counts were acquired).
int64_t CountNotOnce(const std::vector<std::atomic<uint32_t>>& seen) {
  int64_t not_once = 0;
  for (const auto& times : seen) {
    // Relaxed: ordered by the join / acquire that preceded the call.
    if (times.load(std::memory_order_relaxed) != 1) ++not_once;
  }
  return not_once;
}

TEST(WorkerPoolTest, RejectsAnEmptyHandlerSpan) {
  ASSERT_OK_AND_ASSIGN(
      auto ring, RingBuffer<TopoEvent>::Create(
                     Ring(ProducerType::kSingle, WaitStrategyKind::kBlocking)));
  std::span<ExactlyOnceWorker> none;
  EXPECT_THAT((WorkerPool<TopoEvent, ExactlyOnceWorker>::Create(*ring, none)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at least one handler")));
}

TEST(WorkerPoolTest, RejectsMoreWorkersThanConsumerSlots) {
  RingOptions options =
      Ring(ProducerType::kSingle, WaitStrategyKind::kBlocking);
  options.max_consumers = 2;
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TopoEvent>::Create(options));
  std::vector<ExactlyOnceWorker> workers(3);
  EXPECT_THAT((WorkerPool<TopoEvent, ExactlyOnceWorker>::Create(
                  *ring, std::span<ExactlyOnceWorker>(workers))),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(WorkerPoolTest, StartingTwiceIsFailedPrecondition) {
  ASSERT_OK_AND_ASSIGN(
      auto ring, RingBuffer<TopoEvent>::Create(
                     Ring(ProducerType::kSingle, WaitStrategyKind::kBlocking)));
  std::vector<ExactlyOnceWorker> workers(2);
  ASSERT_OK_AND_ASSIGN(auto pool,
                       (WorkerPool<TopoEvent, ExactlyOnceWorker>::Create(
                           *ring, std::span<ExactlyOnceWorker>(workers))));
  ASSERT_OK(pool->Start());
  EXPECT_THAT(pool->Start(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("twice")));
  EXPECT_OK(pool->Shutdown(kShutdownTimeout));
  for (const ExactlyOnceWorker& worker : workers) EXPECT_EQ(worker.count(), 0);
}

// Worker count x wait strategy.
struct PoolCase {
  int workers;
  WaitStrategyKind wait;

  // Also the ctest name suffix: ctest takes its names from gtest's listing
  // ("MultipleProducersEachEventHandledOnce/4WorkersBlocking").
  friend void PrintTo(const PoolCase& c, std::ostream* os) {
    *os << c.workers << "Workers" << testing::CamelName(c.wait);
  }
};

class WorkerPoolConcurrentTest : public ::testing::TestWithParam<PoolCase> {
 protected:
  int workers() const { return GetParam().workers; }
  WaitStrategyKind wait() const { return GetParam().wait; }
  // Spinning workers share two cores with the producers: fewer events.
  int64_t events() const {
    return Events(wait() == WaitStrategyKind::kYielding ? 500'000 : 1'000'000);
  }
};

TEST_P(WorkerPoolConcurrentTest, MultipleProducersEachEventHandledOnce) {
  constexpr int kProducers = 3;
  const int64_t per_producer = events() / kProducers;
  const int64_t n = kProducers * per_producer;
  auto seen = MakeSeen(n);
  std::vector<ExactlyOnceWorker> workers(static_cast<size_t>(this->workers()));
  for (ExactlyOnceWorker& worker : workers) {
    worker.Bind({.seen = seen.data(), .per_producer = per_producer});
  }
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TopoEvent>::Create(
                                      Ring(ProducerType::kMulti, wait())));
  ASSERT_OK_AND_ASSIGN(auto pool,
                       (WorkerPool<TopoEvent, ExactlyOnceWorker>::Create(
                           *ring, std::span<ExactlyOnceWorker>(workers))));
  ASSERT_EQ(pool->size(), workers.size());
  ASSERT_OK(pool->Start());

  std::atomic<bool> go{false};
  std::atomic<int64_t> refused{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      // Acquire: pairs with the release store of `go` (a common start).
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int64_t i = 0; i < per_producer; ++i) {
        const bool published =
            ring->PublishEvent([i, p](TopoEvent& event, int64_t sequence) {
              FillSequence(event, sequence);
              event.value = i;
              event.producer = p;
            });
        // Relaxed: a counter read after the join.
        if (!published) refused.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // Release: pairs with the producers' acquire load.
  go.store(true, std::memory_order_release);
  for (std::thread& t : producers) t.join();

  ASSERT_OK(pool->Shutdown(kShutdownTimeout));
  EXPECT_TRUE(pool->IsDrained());
  EXPECT_EQ(refused.load(std::memory_order_relaxed), 0);
  EXPECT_EQ(CountNotOnce(seen), 0) << "events not handled exactly once";
  int64_t count = 0;
  int64_t sum = 0;
  for (const ExactlyOnceWorker& worker : workers) {
    count += worker.count();
    sum += worker.sum();
    EXPECT_EQ(worker.out_of_order(), 0) << "a worker's claims must increase";
  }
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, kProducers * SumBelow(per_producer));
}

std::vector<PoolCase> PoolCases() {
  std::vector<PoolCase> cases;
  for (const int workers : {1, 2, 4}) {
    for (const WaitStrategyKind wait :
         {WaitStrategyKind::kYielding, WaitStrategyKind::kSleeping,
          WaitStrategyKind::kBlocking}) {
      cases.push_back({workers, wait});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(WorkersAndWaitStrategies, WorkerPoolConcurrentTest,
                         ::testing::ValuesIn(PoolCases()));

// With LogAndContinue, the events a worker throws on are skipped (counted,
// logged, never retried) and every other event is handled exactly once.
TEST(WorkerPoolExceptionTest, LogAndContinueSkipsOnlyTheFailedEvents) {
  constexpr int64_t kThrowEvery = 997;
  constexpr int64_t kThrowOffset = 13;
  const int64_t n = Events(100'000);
  auto seen = MakeSeen(n);
  std::vector<ThrowingWorker> workers(3);
  for (ThrowingWorker& worker : workers) {
    worker.Bind({.seen = seen.data(),
                 .per_producer = n,
                 .throw_every = kThrowEvery,
                 .throw_offset = kThrowOffset});
  }
  ASSERT_OK_AND_ASSIGN(
      auto ring, RingBuffer<TopoEvent>::Create(
                     Ring(ProducerType::kSingle, WaitStrategyKind::kBlocking)));
  ASSERT_OK_AND_ASSIGN(auto pool,
                       (WorkerPool<TopoEvent, ThrowingWorker>::Create(
                           *ring, std::span<ThrowingWorker>(workers), {},
                           ExceptionPolicy::LogAndContinue())));
  ASSERT_OK(pool->Start());

  int64_t refused = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!ring->PublishEvent(FillSequence)) ++refused;
  }

  ASSERT_OK(pool->Shutdown(kShutdownTimeout));
  EXPECT_EQ(refused, 0);
  int64_t wrong = 0;
  int64_t skipped = 0;
  int64_t skipped_sum = 0;
  for (int64_t s = 0; s < n; ++s) {
    const bool fails = s % kThrowEvery == kThrowOffset;
    // Relaxed: the workers were joined.
    const uint32_t times =
        seen[static_cast<size_t>(s)].load(std::memory_order_relaxed);
    if (times != (fails ? 0u : 1u)) ++wrong;
    if (fails) {
      ++skipped;
      skipped_sum += s;
    }
  }
  EXPECT_EQ(wrong, 0) << "a failed event was retried or a good one was not "
                         "handled exactly once";
  ASSERT_GT(skipped, 0);
  uint64_t exceptions = 0;
  int64_t count = 0;
  int64_t sum = 0;
  for (size_t i = 0; i < pool->size(); ++i) {
    exceptions += pool->worker(i).exception_count();
    EXPECT_OK(pool->worker(i).status());
    count += workers[i].count();
    sum += workers[i].sum();
    EXPECT_EQ(workers[i].out_of_order(), 0);
  }
  EXPECT_EQ(exceptions, static_cast<uint64_t>(skipped));
  EXPECT_EQ(count, n - skipped);
  EXPECT_EQ(sum, SumBelow(n) - skipped_sum);
}

// With the default policy a throwing worker halts; Shutdown reports it
// (the pool never drains: the failed event is still unhandled) and the
// other workers keep handling the rest exactly once.
TEST(WorkerPoolExceptionTest, DefaultPolicyHaltsTheWorkerAndShutdownSaysSo) {
  constexpr int64_t kFailing = 5;
  constexpr int64_t kEvents = 100;  // below the capacity: nobody waits
  auto seen = MakeSeen(kEvents);
  std::vector<ThrowingWorker> workers(2);
  for (ThrowingWorker& worker : workers) {
    worker.Bind({.seen = seen.data(),
                 .per_producer = kEvents,
                 .throw_every = kEvents + 1,
                 .throw_offset = kFailing});
  }
  ASSERT_OK_AND_ASSIGN(
      auto ring, RingBuffer<TopoEvent>::Create(
                     Ring(ProducerType::kSingle, WaitStrategyKind::kBlocking)));
  ASSERT_OK_AND_ASSIGN(auto pool,
                       (WorkerPool<TopoEvent, ThrowingWorker>::Create(
                           *ring, std::span<ThrowingWorker>(workers))));
  ASSERT_OK(pool->Start());
  for (int64_t i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(ring->PublishEvent(FillSequence));
  }

  EXPECT_THAT(pool->Shutdown(kShutdownTimeout),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr(absl::StrCat("sequence ", kFailing))));
  // The healthy worker handles everything else.
  const bool rest_handled = SpinUntil([&] {
    return workers[0].processed() + workers[1].processed() == kEvents - 1;
  });
  pool->Halt();
  ASSERT_TRUE(rest_handled);
  EXPECT_FALSE(pool->IsDrained());
  uint64_t exceptions = 0;
  int halted = 0;
  for (size_t i = 0; i < pool->size(); ++i) {
    exceptions += pool->worker(i).exception_count();
    if (!pool->worker(i).status().ok()) ++halted;
  }
  EXPECT_EQ(exceptions, 1u);
  EXPECT_EQ(halted, 1);
  for (int64_t s = 0; s < kEvents; ++s) {
    // Relaxed: the workers were joined.
    EXPECT_EQ(seen[static_cast<size_t>(s)].load(std::memory_order_relaxed),
              s == kFailing ? 0u : 1u)
        << "sequence " << s;
  }
}

// With Rewind, a worker retries the event it failed on, so a handler that
// fails on the first try of some events still handles every event exactly
// once.
struct FailsFirstTry final {
  static constexpr int64_t kFailEvery = 200;
  static constexpr int64_t kFailOffset = 3;
  static bool Fails(int64_t value) { return value % kFailEvery == kFailOffset; }

  std::vector<std::atomic<uint32_t>>* attempts = nullptr;
  std::vector<std::atomic<uint32_t>>* handled = nullptr;

  void OnEvent(TopoEvent& event, int64_t /*sequence*/, bool /*end_of_batch*/) {
    const auto i = static_cast<size_t>(event.value);
    // Relaxed: counters read after the join.
    if ((*attempts)[i].fetch_add(1, std::memory_order_relaxed) == 0 &&
        Fails(event.value)) {
      throw std::runtime_error("first try fails");
    }
    (*handled)[i].fetch_add(1, std::memory_order_relaxed);
  }
};

TEST(WorkerPoolExceptionTest, RewindRetriesTheFailedEvent) {
  const int64_t n = Events(20'000);
  auto attempts = MakeSeen(n);
  auto handled = MakeSeen(n);
  std::vector<FailsFirstTry> workers(2);
  for (FailsFirstTry& worker : workers) {
    worker.attempts = &attempts;
    worker.handled = &handled;
  }
  ASSERT_OK_AND_ASSIGN(
      auto ring, RingBuffer<TopoEvent>::Create(
                     Ring(ProducerType::kSingle, WaitStrategyKind::kBlocking)));
  ASSERT_OK_AND_ASSIGN(auto pool, (WorkerPool<TopoEvent, FailsFirstTry>::Create(
                                      *ring, std::span<FailsFirstTry>(workers),
                                      {}, ExceptionPolicy::Rewind(1))));
  ASSERT_OK(pool->Start());
  int64_t refused = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!ring->PublishEvent(FillSequence)) ++refused;
  }

  ASSERT_OK(pool->Shutdown(kShutdownTimeout));
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(CountNotOnce(handled), 0);
  int64_t wrong_tries = 0;
  uint64_t failing = 0;
  for (int64_t s = 0; s < n; ++s) {
    // Relaxed: the workers were joined.
    const uint32_t tries =
        attempts[static_cast<size_t>(s)].load(std::memory_order_relaxed);
    if (tries != (FailsFirstTry::Fails(s) ? 2u : 1u)) ++wrong_tries;
    if (FailsFirstTry::Fails(s)) ++failing;
  }
  EXPECT_EQ(wrong_tries, 0) << "events tried an unexpected number of times";
  ASSERT_GT(failing, 0u);
  uint64_t exceptions = 0;
  for (size_t i = 0; i < pool->size(); ++i) {
    exceptions += pool->worker(i).exception_count();
    EXPECT_OK(pool->worker(i).status());
  }
  EXPECT_EQ(exceptions, failing);
}

// ---- lifecycle callbacks
// ------------------------------------------------------------

// A worker whose OnStart, OnShutdown or OnTimeout throws keeps running
// under every policy, as a BatchEventProcessor does: the exception is
// counted (exception_count() and the consumer's exception counter) and
// logged, no worker halts (not even under kHalt: the policy is about
// events), and every event is handled exactly once.
class WorkerPoolLifecycleTest : public ::testing::TestWithParam<LifecycleCase> {
};

TEST_P(WorkerPoolLifecycleTest, AThrowingCallbackIsCountedAndNoEventIsLost) {
  using Thrower = ::ringflow::testing::LifecycleThrower<TopoEvent>;
  constexpr int kWorkers = 3;
  constexpr int64_t kEvents = 600;
  const LifecycleCallback throwing = GetParam().throwing;
  auto seen = MakeSeen(kEvents);
  std::vector<Thrower> workers(kWorkers);
  for (Thrower& worker : workers) {
    worker.Bind({.throwing = throwing, .seen = seen.data(), .events = kEvents});
  }
  RingOptions options =
      Ring(ProducerType::kSingle, WaitStrategyKind::kTimeoutBlocking);
  options.wait_timeout = absl::Milliseconds(5);  // idle workers time out
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TopoEvent>::Create(options));
  ASSERT_OK_AND_ASSIGN(auto pool, (WorkerPool<TopoEvent, Thrower>::Create(
                                      *ring, std::span<Thrower>(workers), {},
                                      GetParam().policy)));
  ASSERT_OK(pool->Start());

  // Every worker is in Run (its OnStart was called, and threw if it is the
  // one) before there is anything to handle.
  ASSERT_TRUE(SpinUntil([&] {
    for (const Thrower& worker : workers) {
      if (worker.starts() == 0) return false;
    }
    return true;
  }));
  if (throwing == LifecycleCallback::kOnTimeout) {
    // Each idle worker has thrown from OnTimeout at least once.
    ASSERT_TRUE(SpinUntil([&] {
      for (const Thrower& worker : workers) {
        if (worker.thrown() == 0) return false;
      }
      return true;
    }));
  }
  for (int64_t i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(ring->PublishEvent(FillSequence));
  }
  // Drains (no worker halted), then halts and joins: OnShutdown runs.
  ASSERT_OK(pool->Shutdown(kShutdownTimeout));

  EXPECT_EQ(CountNotOnce(seen), 0) << "events not handled exactly once";
  int64_t processed = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    const Thrower& handler = workers[i];
    EXPECT_EQ(handler.starts(), 1) << "worker " << i;
    EXPECT_EQ(handler.shutdowns(), 1) << "worker " << i;
    EXPECT_EQ(handler.out_of_range(), 0) << "worker " << i;
    processed += handler.processed();
    switch (throwing) {
      case LifecycleCallback::kOnStart:
      case LifecycleCallback::kOnShutdown:
        EXPECT_EQ(handler.thrown(), 1) << "worker " << i;
        break;
      case LifecycleCallback::kOnTimeout:
        EXPECT_GE(handler.thrown(), 1) << "worker " << i;
        EXPECT_EQ(handler.thrown(), handler.timeouts()) << "worker " << i;
        break;
    }
    // Each exception reported, none halted the worker.
    EXPECT_EQ(pool->worker(i).exception_count(),
              static_cast<uint64_t>(handler.thrown()))
        << "worker " << i;
    EXPECT_OK(pool->worker(i).status());
    EXPECT_FALSE(pool->worker(i).IsRunning());
    // The workers took the ring's first consumer slots, in order.
    EXPECT_EQ(ring->consumers()
                  .counters(static_cast<int>(i))
                  .Get(core_internal::ConsumerCounters::kExceptions),
              static_cast<uint64_t>(handler.thrown()))
        << "worker " << i;
  }
  EXPECT_EQ(processed, kEvents);
  EXPECT_TRUE(pool->IsDrained());
}

INSTANTIATE_TEST_SUITE_P(
    CallbacksAndPolicies, WorkerPoolLifecycleTest,
    ::testing::ValuesIn(::ringflow::testing::AllLifecycleCases()));

}  // namespace
}  // namespace ringflow
