// tests/processors/no_allocation_test.cc
//
// The hot path never allocates: after Start() and a warm-up, publishing and
// consuming events (one handler, a diamond, a worker pool, an EventPoller's
// Poll loop, TryLease / TryLeaseBatch) makes no call to operator new or
// operator delete on any thread.
//
// This executable replaces the global operator new / delete (every usual
// overload: plain, array, nothrow, aligned, sized) with versions that count
// calls while a counting window is open. The window covers only the
// publish/consume phase: threads are created, warmed up and parked before
// it opens, and they exit (a std::thread frees its state with operator
// delete on exit) and gtest reports only after it closed.
//
// Also checks at compile time that handlers are called on their static
// type: no processor has a vtable.

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/disruptor.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/internal/work_processor.h"
#include "ringflow/processors/lease.h"
#include "support/counting_new.h"  // replaces operator new / delete
#include "support/status_matchers.h"
#include "support/test_scale.h"
#include "support/topo_handlers.h"
#include "support/topo_names.h"
#include "support/topo_spin.h"

namespace ringflow {
namespace {

using ::ringflow::testing::AllocationCounts;
using ::ringflow::testing::BuzzHandler;
using ::ringflow::testing::Events;
using ::ringflow::testing::ExactlyOnceWorker;
using ::ringflow::testing::FillSequence;
using ::ringflow::testing::FizzBuzzHandler;
using ::ringflow::testing::FizzHandler;
using ::ringflow::testing::SequenceSum;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StartCounting;
using ::ringflow::testing::StopCounting;
using ::ringflow::testing::SumBelow;
using ::ringflow::testing::ThrowingWorker;
using ::ringflow::testing::TopoEvent;

constexpr absl::Duration kShutdownTimeout = absl::Seconds(120);

// Producer threads for the counting window. Each publishes `warm_up_units`
// at once, waits for Go(), publishes `units` more, then parks until
// Finish(): a thread must not exit inside the window. publish(producer,
// unit) publishes one unit and returns false when the ring refused it.
class Producers {
 public:
  template <typename Publish>
  Producers(int count, int64_t warm_up_units, int64_t units, Publish publish) {
    threads_.reserve(static_cast<size_t>(count));
    for (int p = 0; p < count; ++p) {
      threads_.emplace_back([this, p, warm_up_units, units, publish] {
        for (int64_t i = 0; i < warm_up_units; ++i) Count(publish(p, i));
        // Acquire: pairs with the release in Go() (and Finish()).
        while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
        for (int64_t i = 0; i < units; ++i) {
          Count(publish(p, warm_up_units + i));
        }
        // Acquire: pairs with the release in Finish().
        while (!finish_.load(std::memory_order_acquire)) {
          std::this_thread::yield();
        }
      });
    }
  }
  ~Producers() { Finish(); }

  // Starts the measured publishing. Allocates nothing.
  void Go() noexcept { go_.store(true, std::memory_order_release); }

  // Lets every thread return and joins them (outside the window).
  void Finish() {
    go_.store(true, std::memory_order_release);
    finish_.store(true, std::memory_order_release);
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // Publishes the ring refused; read after Finish().
  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  void Count(bool published) noexcept {
    // Relaxed: a counter read after the join.
    if (!published) refused_.fetch_add(1, std::memory_order_relaxed);
  }

  std::atomic<bool> go_{false};
  std::atomic<bool> finish_{false};
  std::atomic<int64_t> refused_{0};
  std::vector<std::thread> threads_;
};

// Waits for the warm-up, then counts allocations while the producers
// publish their measured share and the consumers catch up. Both waits spin
// on atomics; nothing in the window allocates but the code under test.
template <typename WarmedUp, typename CaughtUp>
::testing::AssertionResult CountWhilePublishing(Producers& producers,
                                                WarmedUp warmed_up,
                                                CaughtUp caught_up,
                                                AllocationCounts& counts) {
  if (!SpinUntil(warmed_up)) {
    return ::testing::AssertionFailure() << "the warm-up was not consumed";
  }
  StartCounting();
  producers.Go();
  const bool done = SpinUntil(caught_up);
  counts = StopCounting();
  if (!done) {
    return ::testing::AssertionFailure()
           << "the consumers did not catch up with the producers";
  }
  return ::testing::AssertionSuccess();
}

void ExpectNoAllocation(const AllocationCounts& counts) {
  EXPECT_EQ(counts.allocations, 0) << "operator new called on the hot path";
  EXPECT_EQ(counts.deallocations, 0)
      << "operator delete called on the hot path";
}

// Producer type x wait strategy.
struct Param {
  ProducerType producer_type;
  WaitStrategyKind wait;

  // Also the ctest name suffix: ctest takes its names from gtest's listing
  // ("OneHandlerPublishEvent/MultiBlocking").
  friend void PrintTo(const Param& p, std::ostream* os) {
    *os << testing::CamelName(p.producer_type) << testing::CamelName(p.wait);
  }
};

std::vector<Param> Params(std::initializer_list<WaitStrategyKind> waits) {
  std::vector<Param> params;
  for (const ProducerType type :
       {ProducerType::kSingle, ProducerType::kMulti}) {
    for (const WaitStrategyKind wait : waits) params.push_back({type, wait});
  }
  return params;
}

class NoAllocationTest : public ::testing::TestWithParam<Param> {
 protected:
  static constexpr int64_t kWarmUpUnits = 256;

  ProducerType producer_type() const { return GetParam().producer_type; }
  WaitStrategyKind wait() const { return GetParam().wait; }
  // Two concurrent producers on a multi-producer ring.
  int producer_count() const {
    return producer_type() == ProducerType::kMulti ? 2 : 1;
  }
  int64_t units() const {
    const bool spins = wait() == WaitStrategyKind::kBusySpin ||
                       wait() == WaitStrategyKind::kYielding;
    return Events(spins ? 10'000 : 40'000);
  }
  RingOptions Ring() const {
    return RingOptions{.capacity = 1024,
                       .producer_type = producer_type(),
                       .wait_strategy = wait()};
  }
  DisruptorOptions Options() const { return DisruptorOptions{.ring = Ring()}; }
};

TEST(AllocationCounterTest, SeesAllocationsOnOtherThreads) {
  std::atomic<bool> go{false};
  std::atomic<bool> done{false};
  std::atomic<bool> finish{false};
  std::atomic<void*> sink{nullptr};
  std::thread other([&] {
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    {
      auto block = std::make_unique<std::vector<int64_t>>(64);
      // Relaxed: lets both allocations escape so that the compiler keeps
      // them; never dereferenced.
      sink.store(block.get(), std::memory_order_relaxed);
      sink.store(block->data(), std::memory_order_relaxed);
    }
    done.store(true, std::memory_order_release);
    while (!finish.load(std::memory_order_acquire)) std::this_thread::yield();
  });
  StartCounting();
  go.store(true, std::memory_order_release);
  const bool finished =
      SpinUntil([&] { return done.load(std::memory_order_acquire); });
  const AllocationCounts counts = StopCounting();
  finish.store(true, std::memory_order_release);
  other.join();

  ASSERT_TRUE(finished);
  EXPECT_EQ(counts.allocations, 2) << "the vector object and its buffer";
  EXPECT_EQ(counts.deallocations, 2);
}

TEST_P(NoAllocationTest, OneHandlerPublishEvent) {
  const int64_t warm_up = kWarmUpUnits * producer_count();
  const int64_t total = warm_up + units() * producer_count();
  SequenceSum handler;
  ASSERT_OK_AND_ASSIGN(auto disruptor, Disruptor<TopoEvent>::Create(Options()));
  disruptor->HandleEventsWith(handler);
  ASSERT_OK(disruptor->Start());
  Producers producers(producer_count(), kWarmUpUnits, units(),
                      [&disruptor](int, int64_t) {
                        return disruptor->PublishEvent(FillSequence);
                      });

  AllocationCounts counts;
  const auto window = CountWhilePublishing(
      producers, [&] { return handler.processed() >= warm_up; },
      [&] { return handler.processed() >= total; }, counts);
  producers.Finish();
  ASSERT_TRUE(window);
  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));

  ExpectNoAllocation(counts);
  EXPECT_EQ(producers.refused(), 0);
  EXPECT_EQ(handler.count(), total);
  EXPECT_EQ(handler.sum(), SumBelow(total));
  EXPECT_EQ(handler.out_of_order(), 0);
  EXPECT_EQ(handler.value_mismatches(), 0);
}

TEST_P(NoAllocationTest, DiamondPublishEventsBatches) {
  constexpr int64_t kBatch = 8;
  const int64_t warm_up = kBatch * kWarmUpUnits * producer_count();
  const int64_t total = warm_up + kBatch * units() * producer_count();
  FizzHandler fizz;
  BuzzHandler buzz;
  FizzBuzzHandler fizz_buzz;
  ASSERT_OK_AND_ASSIGN(auto disruptor, Disruptor<TopoEvent>::Create(Options()));
  ASSERT_OK(disruptor->HandleEventsWith(fizz, buzz).Then(fizz_buzz).status());
  ASSERT_OK(disruptor->Start());
  Producers producers(producer_count(), kWarmUpUnits, units(),
                      [&disruptor](int, int64_t) {
                        return disruptor->PublishEvents(kBatch, FillSequence);
                      });

  AllocationCounts counts;
  const auto window = CountWhilePublishing(
      producers, [&] { return fizz_buzz.processed() >= warm_up; },
      [&] { return fizz_buzz.processed() >= total; }, counts);
  producers.Finish();
  ASSERT_TRUE(window);
  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));

  ExpectNoAllocation(counts);
  EXPECT_EQ(producers.refused(), 0);
  EXPECT_EQ(fizz.count(), total);
  EXPECT_EQ(buzz.count(), total);
  EXPECT_EQ(fizz_buzz.count(), total);
  EXPECT_EQ(fizz_buzz.fizz_buzz(), (total + 14) / 15);
  EXPECT_EQ(fizz_buzz.wrong_annotations(), 0);
  EXPECT_EQ(fizz_buzz.out_of_order(), 0);
}

TEST_P(NoAllocationTest, WorkerPoolHandlesEventsWithoutAllocating) {
  const int64_t warm_up = kWarmUpUnits * producer_count();
  const int64_t total = warm_up + units() * producer_count();
  std::vector<std::atomic<uint32_t>> seen(static_cast<size_t>(total));
  std::vector<ExactlyOnceWorker> workers(2);
  for (ExactlyOnceWorker& worker : workers) {
    worker.Bind({.seen = seen.data(), .per_producer = total});
  }
  const auto processed = [&workers] {
    int64_t sum = 0;
    for (const ExactlyOnceWorker& worker : workers) sum += worker.processed();
    return sum;
  };
  ASSERT_OK_AND_ASSIGN(auto disruptor, Disruptor<TopoEvent>::Create(Options()));
  ASSERT_OK(
      disruptor
          ->HandleEventsWithWorkerPool(std::span<ExactlyOnceWorker>(workers))
          .status());
  ASSERT_OK(disruptor->Start());
  Producers producers(producer_count(), kWarmUpUnits, units(),
                      [&disruptor](int, int64_t) {
                        return disruptor->PublishEvent(FillSequence);
                      });

  AllocationCounts counts;
  const auto window = CountWhilePublishing(
      producers, [&] { return processed() >= warm_up; },
      [&] { return processed() >= total; }, counts);
  producers.Finish();
  ASSERT_TRUE(window);
  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));

  ExpectNoAllocation(counts);
  EXPECT_EQ(producers.refused(), 0);
  int64_t not_once = 0;
  for (const auto& times : seen) {
    // Relaxed: the workers were joined.
    if (times.load(std::memory_order_relaxed) != 1) ++not_once;
  }
  EXPECT_EQ(not_once, 0);
  EXPECT_EQ(processed(), total);
}

INSTANTIATE_TEST_SUITE_P(
    ProducerTypesAndWaitStrategies, NoAllocationTest,
    ::testing::ValuesIn(
        Params({WaitStrategyKind::kBusySpin, WaitStrategyKind::kYielding,
                WaitStrategyKind::kSleeping, WaitStrategyKind::kBlocking})));

// EventPoller consumers run on a thread of the test, which parks (rather
// than exits) until the window closed.
class PollerNoAllocationTest : public NoAllocationTest {};

// What a poller thread saw, checked after it was joined.
struct PolledEvents {
  int64_t next = 0;
  int64_t count = 0;
  int64_t sum = 0;
  int64_t out_of_order = 0;
  int64_t value_mismatches = 0;

  void See(const TopoEvent& event, int64_t sequence) noexcept {
    if (sequence != next) ++out_of_order;
    next = sequence + 1;
    if (event.value != sequence) ++value_mismatches;
    ++count;
    sum += event.value;
  }
};

void ExpectPolled(const PolledEvents& seen, int64_t total) {
  EXPECT_EQ(seen.count, total);
  EXPECT_EQ(seen.sum, SumBelow(total));
  EXPECT_EQ(seen.out_of_order, 0);
  EXPECT_EQ(seen.value_mismatches, 0);
}

// Runs `consume()` (which returns the number of events it took) on a
// thread until `total` events were taken, publishing the running count in
// `processed`; then parks until `finish` (which also stops a consumer that
// never got its events, so a failing test does not hang in join).
template <typename Consume>
std::thread ConsumerThread(int64_t total, std::atomic<int64_t>& processed,
                           std::atomic<bool>& finish, Consume consume) {
  return std::thread([total, &processed, &finish, consume]() mutable {
    int64_t taken = 0;
    while (taken < total && !finish.load(std::memory_order_acquire)) {
      const int64_t n = consume();
      if (n == 0) {
        std::this_thread::yield();
        continue;
      }
      taken += n;
      // Release: pairs with the test's acquire load; the PolledEvents
      // fields are read only after the join.
      processed.store(taken, std::memory_order_release);
    }
    while (!finish.load(std::memory_order_acquire)) std::this_thread::yield();
  });
}

TEST_P(PollerNoAllocationTest, PollLoopConsumesWithoutAllocating) {
  const int64_t warm_up = kWarmUpUnits * producer_count();
  const int64_t total = warm_up + units() * producer_count();
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TopoEvent>::Create(Ring()));
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<TopoEvent>::Create(*ring));
  PolledEvents seen;
  std::atomic<int64_t> processed{0};
  std::atomic<bool> finish{false};
  std::thread consumer =
      ConsumerThread(total, processed, finish, [&poller, &seen] {
        int64_t taken = 0;
        poller->Poll([&](const TopoEvent& event, int64_t sequence, bool) {
          seen.See(event, sequence);
          ++taken;
        });
        return taken;
      });
  Producers producers(
      producer_count(), kWarmUpUnits, units(),
      [&ring](int, int64_t) { return ring->PublishEvent(FillSequence); });

  AllocationCounts counts;
  const auto window = CountWhilePublishing(
      producers,
      [&] { return processed.load(std::memory_order_acquire) >= warm_up; },
      [&] { return processed.load(std::memory_order_acquire) >= total; },
      counts);
  producers.Finish();
  finish.store(true, std::memory_order_release);
  consumer.join();
  ASSERT_TRUE(window);

  ExpectNoAllocation(counts);
  EXPECT_EQ(producers.refused(), 0);
  ExpectPolled(seen, total);
}

TEST_P(PollerNoAllocationTest, LeasesConsumeWithoutAllocating) {
  constexpr int64_t kMaxBatch = 16;
  const int64_t warm_up = kWarmUpUnits * producer_count();
  const int64_t total = warm_up + units() * producer_count();
  ASSERT_OK_AND_ASSIGN(auto ring, RingBuffer<TopoEvent>::Create(Ring()));
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<TopoEvent>::Create(*ring));
  PolledEvents seen;
  std::atomic<int64_t> processed{0};
  std::atomic<bool> finish{false};
  bool batch = false;
  // Alternates single leases and batch leases.
  std::thread consumer =
      ConsumerThread(total, processed, finish, [&poller, &seen, &batch] {
        batch = !batch;
        if (batch) {
          std::optional<LeaseBatch<TopoEvent>> leased =
              poller->TryLeaseBatch(kMaxBatch);
          if (!leased) return int64_t{0};
          int64_t sequence = leased->first_sequence();
          for (const TopoEvent& event : *leased) seen.See(event, sequence++);
          return leased->size();
        }
        std::optional<Lease<TopoEvent>> leased = poller->TryLease();
        if (!leased) return int64_t{0};
        seen.See(**leased, leased->sequence());
        return int64_t{1};
      });
  Producers producers(
      producer_count(), kWarmUpUnits, units(),
      [&ring](int, int64_t) { return ring->PublishEvent(FillSequence); });

  AllocationCounts counts;
  const auto window = CountWhilePublishing(
      producers,
      [&] { return processed.load(std::memory_order_acquire) >= warm_up; },
      [&] { return processed.load(std::memory_order_acquire) >= total; },
      counts);
  producers.Finish();
  finish.store(true, std::memory_order_release);
  consumer.join();
  ASSERT_TRUE(window);

  ExpectNoAllocation(counts);
  EXPECT_EQ(producers.refused(), 0);
  ExpectPolled(seen, total);
}

// A poller does not wait, so the wait strategy only changes the producer's
// publish (a wake-up check for the blocking kinds).
INSTANTIATE_TEST_SUITE_P(
    ProducerTypes, PollerNoAllocationTest,
    ::testing::ValuesIn(Params({WaitStrategyKind::kBlocking})));

// Handlers are called on their static type: a `final` handler without a
// vtable runs in processors that have none either.
TEST(NoVirtualDispatchTest, ProcessorsCallHandlersOnTheirStaticType) {
  static_assert(std::is_final_v<SequenceSum>);
  static_assert(!std::is_polymorphic_v<SequenceSum>,
                "the test handler itself has no vtable");
  static_assert(
      !std::is_polymorphic_v<BatchEventProcessor<TopoEvent, SequenceSum>>,
      "BatchEventProcessor calls OnEvent without a virtual call");
  static_assert(
      !std::is_polymorphic_v<
          processors_internal::WorkProcessor<TopoEvent, ExactlyOnceWorker>>,
      "WorkProcessor calls OnEvent without a virtual call");
  static_assert(!std::is_polymorphic_v<EventPoller<TopoEvent>>,
                "EventPoller has no vtable");
  static_assert(!std::is_polymorphic_v<Lease<TopoEvent>> &&
                    !std::is_polymorphic_v<LeaseBatch<TopoEvent>>,
                "a lease releases without a virtual call");
  static_assert(kNothrowHandler<SequenceSum, TopoEvent>,
                "a noexcept OnEvent is detected (no try block)");
  static_assert(!kNothrowHandler<ThrowingWorker, TopoEvent>,
                "a throwing OnEvent is detected");
  SUCCEED();
}

}  // namespace
}  // namespace ringflow
