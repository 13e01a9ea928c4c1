// tests/processors/topologies_test.cc
//
// The LMAX Disruptor's performance-test topologies as correctness tests:
// OneToOne, OneToOneBatchClaim, OneToThreeMulticast, OneToThreePipeline,
// OneToThreeDiamond, ThreeToOne and a worker pool, over every producer
// type x wait strategy. Every test checks exact counts and sums and the
// order each handler saw; none checks timing.
//
// Most tests build the graph with the Disruptor DSL and wait with
// Shutdown(), which drains before it halts; the Raw* tests drive
// BatchEventProcessor on std::threads of their own.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/disruptor.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"
#include "support/topo_handlers.h"
#include "support/topo_spin.h"

namespace ringflow {
namespace {

using ::ringflow::testing::BuzzHandler;
using ::ringflow::testing::Events;
using ::ringflow::testing::ExactlyOnceWorker;
using ::ringflow::testing::FillSequence;
using ::ringflow::testing::FizzBuzzHandler;
using ::ringflow::testing::FizzHandler;
using ::ringflow::testing::PerProducerOrder;
using ::ringflow::testing::PipelineStage;
using ::ringflow::testing::SequenceSum;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::SumBelow;
using ::ringflow::testing::TopoEvent;

// Only a hang guard: producers have finished when Shutdown is called, so
// the consumers are at most one ring behind.
constexpr absl::Duration kShutdownTimeout = absl::Seconds(120);

// One producer type x wait strategy combination.
template <ProducerType kProducerType, WaitStrategyKind kWaitStrategy>
struct TopologyConfig {
  static constexpr ProducerType kProducer = kProducerType;
  static constexpr WaitStrategyKind kWait = kWaitStrategy;
  // Busy-spinning consumers never give their core away: with more threads
  // than the two cores of a CI machine, progress waits for the scheduler's
  // time slices, so they get fewer events. The checks are the same.
  static constexpr int64_t kEvents =
      Events(kWaitStrategy == WaitStrategyKind::kBusySpin ? 10'000 : 300'000);

  static RingOptions Ring() {
    return RingOptions{.capacity = 1024,
                       .producer_type = kProducerType,
                       .wait_strategy = kWaitStrategy};
  }
  static DisruptorOptions Options() { return DisruptorOptions{.ring = Ring()}; }
};

// The combinations as named types: ctest takes its test names from gtest's
// listing, which prints the type
// (`TopologyTest.OneToOne...<...SingleBlocking>`).
struct SingleBusySpin final
    : TopologyConfig<ProducerType::kSingle, WaitStrategyKind::kBusySpin> {};
struct SingleYielding final
    : TopologyConfig<ProducerType::kSingle, WaitStrategyKind::kYielding> {};
struct SingleSleeping final
    : TopologyConfig<ProducerType::kSingle, WaitStrategyKind::kSleeping> {};
struct SingleBlocking final
    : TopologyConfig<ProducerType::kSingle, WaitStrategyKind::kBlocking> {};
struct MultiBusySpin final
    : TopologyConfig<ProducerType::kMulti, WaitStrategyKind::kBusySpin> {};
struct MultiYielding final
    : TopologyConfig<ProducerType::kMulti, WaitStrategyKind::kYielding> {};
struct MultiSleeping final
    : TopologyConfig<ProducerType::kMulti, WaitStrategyKind::kSleeping> {};
struct MultiBlocking final
    : TopologyConfig<ProducerType::kMulti, WaitStrategyKind::kBlocking> {};

using AllConfigs =
    ::testing::Types<SingleBusySpin, SingleYielding, SingleSleeping,
                     SingleBlocking, MultiBusySpin, MultiYielding,
                     MultiSleeping, MultiBlocking>;
using MultiProducerConfigs = ::testing::Types<MultiBusySpin, MultiYielding,
                                              MultiSleeping, MultiBlocking>;

// Publishes values 0..n-1 one event at a time; returns how many publishes
// the ring refused (0 unless it was halted).
int64_t PublishSequence(Disruptor<TopoEvent>& disruptor, int64_t n) {
  int64_t refused = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!disruptor.PublishEvent(FillSequence)) ++refused;
  }
  return refused;
}

// Everything a SequenceSum must have seen after n events 0..n-1.
void ExpectSawSequence(const SequenceSum& handler, int64_t n) {
  EXPECT_EQ(handler.count(), n);
  EXPECT_EQ(handler.sum(), SumBelow(n));
  EXPECT_EQ(handler.out_of_order(), 0);
  EXPECT_EQ(handler.value_mismatches(), 0);
  EXPECT_EQ(handler.announced(), n) << "OnBatchStart sizes must add up";
  EXPECT_EQ(handler.bad_batches(), 0);
  EXPECT_TRUE(handler.last_end_of_batch())
      << "the last event published always ends its batch";
}

void ExpectStage(const PipelineStage& stage, int64_t n) {
  EXPECT_EQ(stage.count(), n);
  EXPECT_EQ(stage.sum(), SumBelow(n));
  EXPECT_EQ(stage.out_of_order(), 0);
  EXPECT_EQ(stage.upstream_missing(), 0)
      << "a stage ran before the stage it depends on";
  EXPECT_EQ(stage.already_marked(), 0);
}

void ExpectFizzBuzz(const FizzBuzzHandler& handler, int64_t n) {
  EXPECT_EQ(handler.count(), n);
  EXPECT_EQ(handler.fizz_buzz(), (n + 14) / 15);
  EXPECT_EQ(handler.out_of_order(), 0);
  EXPECT_EQ(handler.wrong_annotations(), 0)
      << "fizzbuzz ran before fizz or buzz finished the event";
}

template <typename Config>
class TopologyTest : public ::testing::Test {};
TYPED_TEST_SUITE(TopologyTest, AllConfigs);

TYPED_TEST(TopologyTest, OneToOneDeliversEveryEventInOrder) {
  const int64_t n = TypeParam::kEvents;
  SequenceSum handler;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  disruptor->HandleEventsWith(handler);
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectSawSequence(handler, n);
}

TYPED_TEST(TopologyTest, OneToOneBatchClaimDeliversEveryEventInOrder) {
  constexpr int64_t kBatch = 10;
  const int64_t n = TypeParam::kEvents;
  SequenceSum handler;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  disruptor->HandleEventsWith(handler);
  ASSERT_OK(disruptor->Start());

  int64_t refused = 0;
  for (int64_t lo = 0; lo < n; lo += kBatch) {
    if (!disruptor->PublishEvents(std::min(kBatch, n - lo), FillSequence)) {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectSawSequence(handler, n);
}

TYPED_TEST(TopologyTest, OneToOneNextAndPublishRangeDeliversEveryEvent) {
  constexpr int64_t kBatch = 10;
  const int64_t n = TypeParam::kEvents;
  SequenceSum handler;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  disruptor->HandleEventsWith(handler);
  ASSERT_OK(disruptor->Start());

  RingBuffer<TopoEvent>& ring = disruptor->ring();
  int64_t refused = 0;
  for (int64_t lo = 0; lo < n; lo += kBatch) {
    const int64_t count = std::min(kBatch, n - lo);
    const std::optional<int64_t> hi = ring.Next(count);
    if (!hi) {
      ++refused;
      continue;
    }
    for (int64_t s = *hi - count + 1; s <= *hi; ++s) FillSequence(ring[s], s);
    ring.Publish(*hi - count + 1, *hi);
  }
  EXPECT_EQ(refused, 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectSawSequence(handler, n);
}

TYPED_TEST(TopologyTest, OneToThreeMulticastDeliversEveryEventToEachHandler) {
  const int64_t n = TypeParam::kEvents;
  std::array<SequenceSum, 3> handlers;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  disruptor->HandleEventsWith(handlers[0], handlers[1], handlers[2]);
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  for (const SequenceSum& handler : handlers) ExpectSawSequence(handler, n);
}

TYPED_TEST(TopologyTest, OneToThreePipelineRunsStagesInOrder) {
  const int64_t n = TypeParam::kEvents;
  PipelineStage first(0);
  PipelineStage second(1);
  PipelineStage third(2);
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  ASSERT_OK(
      disruptor->HandleEventsWith(first).Then(second).Then(third).status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectStage(first, n);
  ExpectStage(second, n);
  ExpectStage(third, n);
}

TYPED_TEST(TopologyTest, OneToThreeDiamondJoinsBothBranches) {
  const int64_t n = TypeParam::kEvents;
  FizzHandler fizz;
  BuzzHandler buzz;
  FizzBuzzHandler fizz_buzz;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  ASSERT_OK(disruptor->HandleEventsWith(fizz, buzz).Then(fizz_buzz).status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  EXPECT_EQ(fizz.count(), n);
  EXPECT_EQ(buzz.count(), n);
  ExpectFizzBuzz(fizz_buzz, n);
}

TYPED_TEST(TopologyTest, OneToThreeDiamondBuiltWithAfterJoinsBothBranches) {
  const int64_t n = TypeParam::kEvents;
  FizzHandler fizz;
  BuzzHandler buzz;
  FizzBuzzHandler fizz_buzz;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  disruptor->HandleEventsWith(fizz);
  disruptor->HandleEventsWith(buzz);
  ASSERT_OK(disruptor->After(fizz, buzz).HandleEventsWith(fizz_buzz).status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  EXPECT_EQ(fizz.count(), n);
  EXPECT_EQ(buzz.count(), n);
  ExpectFizzBuzz(fizz_buzz, n);
}

// Checks a pool's exactly-once bookkeeping: every event handled once, the
// counts and sums over the workers exact, each worker's claims increasing.
template <size_t kWorkers>
void ExpectEachHandledOnce(
    const std::array<ExactlyOnceWorker, kWorkers>& workers,
    const std::vector<std::atomic<uint32_t>>& seen, int64_t expected_sum) {
  int64_t not_once = 0;
  for (const auto& times : seen) {
    // Relaxed: the workers were joined.
    if (times.load(std::memory_order_relaxed) != 1) ++not_once;
  }
  EXPECT_EQ(not_once, 0) << "events not handled exactly once";
  int64_t count = 0;
  int64_t sum = 0;
  for (const ExactlyOnceWorker& worker : workers) {
    count += worker.count();
    sum += worker.sum();
    EXPECT_EQ(worker.out_of_order(), 0) << "a worker's claims must increase";
  }
  EXPECT_EQ(count, static_cast<int64_t>(seen.size()));
  EXPECT_EQ(sum, expected_sum);
}

TYPED_TEST(TopologyTest, WorkerPoolHandlesEveryEventExactlyOnce) {
  const int64_t n = TypeParam::kEvents;
  std::vector<std::atomic<uint32_t>> seen(static_cast<size_t>(n));
  std::array<ExactlyOnceWorker, 3> workers;
  for (ExactlyOnceWorker& worker : workers) {
    worker.Bind({.seen = seen.data(), .per_producer = n});
  }
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  ASSERT_OK(
      disruptor
          ->HandleEventsWithWorkerPool(std::span<ExactlyOnceWorker>(workers))
          .status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectEachHandledOnce(workers, seen, SumBelow(n));
}

// A stage behind a pool waits for the slowest worker: the pool's progress
// is the minimum over the workers' sequences, not the last claim.
TYPED_TEST(TopologyTest, HandlerAfterWorkerPoolSeesEveryEventHandledFirst) {
  const int64_t n = TypeParam::kEvents;
  std::vector<std::atomic<uint32_t>> seen(static_cast<size_t>(n));
  std::array<ExactlyOnceWorker, 3> workers;
  for (ExactlyOnceWorker& worker : workers) {
    worker.Bind({.seen = seen.data(), .per_producer = n});
  }
  PipelineStage after_pool(1);
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  ASSERT_OK(
      disruptor
          ->HandleEventsWithWorkerPool(std::span<ExactlyOnceWorker>(workers))
          .Then(after_pool)
          .status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectEachHandledOnce(workers, seen, SumBelow(n));
  ExpectStage(after_pool, n);
}

// Shutdown alone (no waiting in the test) must leave every handler of a
// mixed graph with every event, also with a small batch cap.
TYPED_TEST(TopologyTest, ShutdownDrainsEverything) {
  constexpr int64_t kMaxBatch = 16;
  const int64_t n = TypeParam::kEvents;
  SequenceSum sum;
  PipelineStage first(0);
  PipelineStage second(1);
  PipelineStage third(2);
  FizzHandler fizz;
  BuzzHandler buzz;
  FizzBuzzHandler fizz_buzz;
  DisruptorOptions options = TypeParam::Options();
  options.max_batch_size = kMaxBatch;
  ASSERT_OK_AND_ASSIGN(auto disruptor, Disruptor<TopoEvent>::Create(options));
  disruptor->HandleEventsWith(sum, first, fizz, buzz);
  disruptor->After(first).HandleEventsWith(second);
  disruptor->After(second).HandleEventsWith(third);
  ASSERT_OK(disruptor->After(fizz, buzz).HandleEventsWith(fizz_buzz).status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);
  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));

  ExpectSawSequence(sum, n);
  EXPECT_LE(sum.max_batch(), kMaxBatch);
  ExpectStage(first, n);
  ExpectStage(second, n);
  ExpectStage(third, n);
  EXPECT_EQ(fizz.count(), n);
  EXPECT_EQ(buzz.count(), n);
  ExpectFizzBuzz(fizz_buzz, n);
}

// The raw API: a BatchEventProcessor on a thread of the test, fed with
// Next(n) / Publish(lo, hi).
TYPED_TEST(TopologyTest, RawBatchEventProcessorDeliversEveryEventInOrder) {
  constexpr int64_t kBatch = 10;
  const int64_t n = TypeParam::kEvents;
  SequenceSum handler;
  ASSERT_OK_AND_ASSIGN(auto ring,
                       RingBuffer<TopoEvent>::Create(TypeParam::Ring()));
  ASSERT_OK_AND_ASSIGN(
      auto processor,
      (BatchEventProcessor<TopoEvent, SequenceSum>::Create(*ring, handler)));
  std::thread consumer([&processor] { processor->Run(); });

  int64_t refused = 0;
  int64_t last = kInitialSequence;
  for (int64_t lo = 0; lo < n; lo += kBatch) {
    const int64_t count = std::min(kBatch, n - lo);
    const std::optional<int64_t> hi = ring->Next(count);
    if (!hi) {
      ++refused;
      continue;
    }
    for (int64_t s = *hi - count + 1; s <= *hi; ++s) {
      FillSequence((*ring)[s], s);
    }
    ring->Publish(*hi - count + 1, *hi);
    last = *hi;
  }
  const bool drained =
      SpinUntil([&] { return processor->sequence().LoadAcquire() >= last; });
  processor->Halt();
  consumer.join();

  ASSERT_TRUE(drained) << "processor stuck at "
                       << processor->sequence().LoadAcquire();
  EXPECT_EQ(refused, 0);
  EXPECT_FALSE(processor->IsRunning());
  EXPECT_OK(processor->status());
  ExpectSawSequence(handler, n);
}

// The raw API for a pipeline: each processor's barrier depends on the
// previous processor's sequence.
TYPED_TEST(TopologyTest, RawPipelineOfBatchEventProcessorsRunsStagesInOrder) {
  const int64_t n = TypeParam::kEvents;
  using Processor = BatchEventProcessor<TopoEvent, PipelineStage>;
  PipelineStage first(0);
  PipelineStage second(1);
  PipelineStage third(2);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       RingBuffer<TopoEvent>::Create(TypeParam::Ring()));
  ASSERT_OK_AND_ASSIGN(auto p0, Processor::Create(*ring, first));
  ASSERT_OK_AND_ASSIGN(auto p1,
                       Processor::Create(*ring, second, {&p0->sequence()}));
  ASSERT_OK_AND_ASSIGN(auto p2,
                       Processor::Create(*ring, third, {&p1->sequence()}));
  std::array<Processor*, 3> processors = {p0.get(), p1.get(), p2.get()};
  std::vector<std::thread> threads;
  for (Processor* p : processors) threads.emplace_back([p] { p->Run(); });

  int64_t refused = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!ring->PublishEvent(FillSequence)) ++refused;
  }
  const bool drained =
      SpinUntil([&] { return p2->sequence().LoadAcquire() >= n - 1; });
  for (Processor* p : processors) p->Halt();
  for (std::thread& t : threads) t.join();

  ASSERT_TRUE(drained) << "last stage stuck at "
                       << p2->sequence().LoadAcquire();
  EXPECT_EQ(refused, 0);
  ExpectStage(first, n);
  ExpectStage(second, n);
  ExpectStage(third, n);
}

// ThreeToOne needs concurrent claims, so it runs on multi-producer rings.
template <typename Config>
class MultiProducerTopologyTest : public ::testing::Test {};
TYPED_TEST_SUITE(MultiProducerTopologyTest, MultiProducerConfigs);

// Runs `producers` threads, each publishing values 0..per_producer-1 tagged
// with its id, `batch` events per claim; they start together to contend.
// Returns how many publishes the ring refused.
int64_t RunProducers(Disruptor<TopoEvent>& disruptor, int producers,
                     int64_t per_producer, int64_t batch) {
  std::atomic<bool> go{false};
  std::atomic<int64_t> refused{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&disruptor, &go, &refused, p, per_producer, batch] {
      // Acquire: pairs with the release store of `go` (a common start).
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      int64_t value = 0;
      // PublishEvents fills its slots from the lowest sequence up.
      const auto fill = [&value, p](TopoEvent& event, int64_t sequence) {
        FillSequence(event, sequence);
        event.value = value++;
        event.producer = p;
      };
      while (value < per_producer) {
        const int64_t count = std::min(batch, per_producer - value);
        if (!disruptor.PublishEvents(count, fill)) {
          // Relaxed: a counter read after the join.
          refused.fetch_add(1, std::memory_order_relaxed);
          return;
        }
      }
    });
  }
  // Release: pairs with the producers' acquire load.
  go.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();
  return refused.load(std::memory_order_relaxed);
}

void ExpectPerProducerOrder(const PerProducerOrder& handler, int producers,
                            int64_t per_producer) {
  EXPECT_EQ(handler.gaps(), 0)
      << "a producer's events arrived out of order or with a gap";
  EXPECT_EQ(handler.out_of_order(), 0);
  EXPECT_EQ(handler.bad_producer(), 0);
  for (int p = 0; p < producers; ++p) {
    EXPECT_EQ(handler.count(p), per_producer) << "producer " << p;
    EXPECT_EQ(handler.sum(p), SumBelow(per_producer)) << "producer " << p;
  }
}

TYPED_TEST(MultiProducerTopologyTest, ThreeToOneKeepsEachProducersOrder) {
  constexpr int kProducers = 3;
  const int64_t per_producer = TypeParam::kEvents / kProducers;
  PerProducerOrder handler;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  disruptor->HandleEventsWith(handler);
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(RunProducers(*disruptor, kProducers, per_producer, 1), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectPerProducerOrder(handler, kProducers, per_producer);
}

TYPED_TEST(MultiProducerTopologyTest,
           ThreeToOneBatchClaimKeepsEachProducersOrder) {
  constexpr int kProducers = 3;
  const int64_t per_producer = TypeParam::kEvents / kProducers;
  PerProducerOrder handler;
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  disruptor->HandleEventsWith(handler);
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(RunProducers(*disruptor, kProducers, per_producer, 10), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectPerProducerOrder(handler, kProducers, per_producer);
}

// Three producers into a pool of three workers: the MPMC-queue use case.
TYPED_TEST(MultiProducerTopologyTest, ThreeToWorkerPoolHandlesEachEventOnce) {
  constexpr int kProducers = 3;
  const int64_t per_producer = TypeParam::kEvents / kProducers;
  const int64_t n = kProducers * per_producer;
  std::vector<std::atomic<uint32_t>> seen(static_cast<size_t>(n));
  std::array<ExactlyOnceWorker, 3> workers;
  for (ExactlyOnceWorker& worker : workers) {
    worker.Bind({.seen = seen.data(), .per_producer = per_producer});
  }
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       Disruptor<TopoEvent>::Create(TypeParam::Options()));
  ASSERT_OK(
      disruptor
          ->HandleEventsWithWorkerPool(std::span<ExactlyOnceWorker>(workers))
          .status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(RunProducers(*disruptor, kProducers, per_producer, 1), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectEachHandledOnce(workers, seen, kProducers * SumBelow(per_producer));
}

// ---- regressions -----------------------------------------------------------
//
// Each test below failed on the first version of the library.

// MultiProducerSequencer::Next used to trust a gating minimum another
// producer had stored with relaxed order, so a producer could overwrite a
// slot without synchronising with the consumer that released it (a data
// race in the C++ model that x86 hides). The checks pass either way; under
// the tsan preset ThreadSanitizer reported the race between a producer's
// fill and the consumer's read of the previous lap. The race needs one
// producer to claim right after another refreshed the hint, so the
// scenario runs for several rounds on a small ring.
TEST(MultiProducerGatingTest, ConcurrentProducersSynchroniseWithConsumers) {
  constexpr int kProducers = 3;
  constexpr int kRounds = 20;
  const int64_t per_producer = Events(150'000) / kProducers;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    PerProducerOrder handler;
    ASSERT_OK_AND_ASSIGN(
        auto disruptor,
        Disruptor<TopoEvent>::Create(
            {.ring = {.capacity = 64,
                      .producer_type = ProducerType::kMulti,
                      .wait_strategy = WaitStrategyKind::kSleeping}}));
    disruptor->HandleEventsWith(handler);
    ASSERT_OK(disruptor->Start());

    EXPECT_EQ(RunProducers(*disruptor, kProducers, per_producer, 4), 0);

    ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
    ExpectPerProducerOrder(handler, kProducers, per_producer);
  }
}

// Disruptor::HandleEventsWithWorkerPool used to register each worker
// handler with only its own sequence, so After(one worker) gated on that
// worker alone. A worker's sequence runs ahead of events the other workers
// still handle, and the stage behind it read events no worker had finished
// (upstream_missing > 0). As in LMAX, After(any worker) waits for the pool.
TEST(WorkerPoolTopologyTest, AfterOneWorkerWaitsForTheWholePool) {
  const int64_t n = Events(200'000);
  std::vector<std::atomic<uint32_t>> seen(static_cast<size_t>(n));
  std::array<ExactlyOnceWorker, 3> workers;
  for (ExactlyOnceWorker& worker : workers) {
    worker.Bind({.seen = seen.data(), .per_producer = n});
  }
  PipelineStage after_pool(1);
  ASSERT_OK_AND_ASSIGN(
      auto disruptor,
      Disruptor<TopoEvent>::Create(
          {.ring = {.capacity = 1024,
                    .producer_type = ProducerType::kSingle,
                    .wait_strategy = WaitStrategyKind::kYielding}}));
  disruptor->HandleEventsWithWorkerPool(std::span<ExactlyOnceWorker>(workers));
  ASSERT_OK(disruptor->After(workers[0]).HandleEventsWith(after_pool).status());
  ASSERT_OK(disruptor->Start());

  EXPECT_EQ(PublishSequence(*disruptor, n), 0);

  ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
  ExpectEachHandledOnce(workers, seen, SumBelow(n));
  ExpectStage(after_pool, n);
}

// Sequencer Next() used to look at the halt flag only while waiting for
// space, so after Disruptor::Shutdown a publish into a ring with free slots
// succeeded and the event was silently never processed.
TEST(DisruptorShutdownTest, PublishAfterShutdownIsRefused) {
  for (const ProducerType type :
       {ProducerType::kSingle, ProducerType::kMulti}) {
    SCOPED_TRACE(type == ProducerType::kSingle ? "single" : "multi");
    SequenceSum handler;
    ASSERT_OK_AND_ASSIGN(
        auto disruptor, Disruptor<TopoEvent>::Create(
                            {.ring = {.capacity = 64, .producer_type = type}}));
    disruptor->HandleEventsWith(handler);
    ASSERT_OK(disruptor->Start());
    EXPECT_EQ(PublishSequence(*disruptor, 10), 0);
    ASSERT_OK(disruptor->Shutdown(kShutdownTimeout));
    ASSERT_TRUE(disruptor->ring().IsHalted());

    EXPECT_FALSE(disruptor->PublishEvent(FillSequence));
    EXPECT_FALSE(disruptor->PublishEvents(2, FillSequence));
    EXPECT_FALSE(disruptor->ring().Next(1).has_value());
    EXPECT_FALSE(disruptor->TryPublishEvent(FillSequence));
    EXPECT_EQ(handler.count(), 10);
  }
}

}  // namespace
}  // namespace ringflow
