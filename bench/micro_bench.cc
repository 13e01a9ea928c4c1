// bench/micro_bench.cc — ringflow_micro_bench: Google Benchmark timings of
// the hot-path primitives the topology numbers are made of.
//
//   BM_Sequence_LoadAcquire / StoreRelease   one Sequence access
//   BM_SingleProducer_NextPublish            claim + publish, no consumer
//   BM_SingleProducer_PublishEvent           the same through PublishEvent
//                                            (one call: claim, fill,
//                                            publish)
//   BM_MultiProducer_NextPublish             the same on a kMulti ring, 1
//                                            and 2 threads on one ring
//   BM_Counter_Increment / BM_Counter_Add    a single-writer counter
//                                            (relaxed load + store) vs a
//                                            relaxed fetch_add
//
// Rings here have no consumer, so the producer never waits for space: the
// figure is the cost of the claim and publish themselves. No timing is
// asserted anywhere; these are for reading.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "ringflow/core/internal/counter.h"
#include "ringflow/ringflow.h"

namespace ringflow {
namespace {

std::unique_ptr<RingBuffer<int64_t>> MakeRing(ProducerType type) {
  auto ring =
      RingBuffer<int64_t>::Create({.capacity = 1024,
                                   .producer_type = type,
                                   .wait_strategy = WaitStrategyKind::kBusySpin,
                                   .name = "micro"});
  if (!ring.ok()) {
    std::fprintf(stderr, "ringflow_micro_bench: %s\n",
                 ring.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*ring);
}

void BM_Sequence_LoadAcquire(benchmark::State& state) {
  Sequence sequence(42);
  for (auto _ : state) benchmark::DoNotOptimize(sequence.LoadAcquire());
}
BENCHMARK(BM_Sequence_LoadAcquire);

void BM_Sequence_StoreRelease(benchmark::State& state) {
  Sequence sequence;
  int64_t value = 0;
  for (auto _ : state) {
    sequence.StoreRelease(++value);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Sequence_StoreRelease);

void BM_SingleProducer_NextPublish(benchmark::State& state) {
  auto ring = MakeRing(ProducerType::kSingle);
  for (auto _ : state) {
    const std::optional<int64_t> sequence = ring->Next();
    (*ring)[*sequence] = *sequence;
    ring->Publish(*sequence);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SingleProducer_NextPublish);

void BM_SingleProducer_PublishEvent(benchmark::State& state) {
  auto ring = MakeRing(ProducerType::kSingle);
  int64_t value = 0;
  for (auto _ : state) {
    ring->PublishEvent([v = value++](int64_t& e, int64_t) noexcept { e = v; });
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SingleProducer_PublishEvent);

// One ring shared by the benchmark's threads (built once, on first use).
RingBuffer<int64_t>& SharedMultiRing() {
  static RingBuffer<int64_t>* ring = MakeRing(ProducerType::kMulti).release();
  return *ring;
}

void BM_MultiProducer_NextPublish(benchmark::State& state) {
  RingBuffer<int64_t>& ring = SharedMultiRing();
  for (auto _ : state) {
    const std::optional<int64_t> sequence = ring.Next();
    ring[*sequence] = *sequence;
    ring.Publish(*sequence);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MultiProducer_NextPublish)->Threads(1)->Threads(2)->UseRealTime();

void BM_Counter_Increment(benchmark::State& state) {
  core_internal::Counter counter;
  for (auto _ : state) {
    counter.Increment();
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(counter.Load());
}
BENCHMARK(BM_Counter_Increment);

void BM_Counter_Add(benchmark::State& state) {
  core_internal::Counter counter;
  for (auto _ : state) {
    counter.Add();
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(counter.Load());
}
BENCHMARK(BM_Counter_Add);

}  // namespace
}  // namespace ringflow

BENCHMARK_MAIN();
