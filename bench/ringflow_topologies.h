// bench/ringflow_topologies.h
//
// ringflow's side of each topology scenario: one timed, verified run per
// Topology (a Fail() ends the process when the result is wrong), and
// RingflowRun, which picks the run for a Scenario. Each returns its
// Metrics; ctx names the scenario and carries the events and capacity.
//
// Thread-safety: each call builds its own rings and threads and joins them
// before returning; call from one thread at a time.

#ifndef RINGFLOW_BENCH_RINGFLOW_TOPOLOGIES_H_
#define RINGFLOW_BENCH_RINGFLOW_TOPOLOGIES_H_

#include <cstdint>

#include "harness.h"
#include "ringflow/core/ring_options.h"
#include "scenario.h"
#include "topology.h"

namespace ringflow::bench {

// PublishEvent + BatchEventProcessor, busy spin; `counters` as
// RingOptions::counters (CountersOverhead runs both), `backoff_pauses` as
// ProcessorOptions::stream_backoff_pauses (OneToOne runs 0 and the
// default).
Metrics RingflowOneToOne(const RunContext& ctx, bool counters,
                         int backoff_pauses);
// PublishEvents(k) + BatchEventProcessor.
Metrics RingflowOneToOneBatch(const RunContext& ctx, int64_t k);
// EventPoller::Poll (lease = false) or TryLeaseBatch (lease = true).
Metrics RingflowOneToOnePoller(const RunContext& ctx, bool lease);
// Three processors each see every event.
Metrics RingflowMulticast(const RunContext& ctx);
// +1 -> +1 -> sum, each stage behind the previous one.
Metrics RingflowPipeline(const RunContext& ctx);
// fizz and buzz in parallel, fizzbuzz behind both.
Metrics RingflowDiamond(const RunContext& ctx);
// `producers` threads on a kMulti ring (producer p publishes p, p +
// producers, ...; ctx.events a multiple of producers), one
// BatchEventProcessor checking the sum and each producer's order.
Metrics RingflowManyToOne(const RunContext& ctx, int producers);
// RingflowManyToOne with kProducers (3).
Metrics RingflowThreeToOne(const RunContext& ctx);
// `producers` threads on a ring of `type` (kSingle needs one producer),
// publishing as RingflowManyToOne does; a WorkerPool of `workers` handles
// each event exactly once (checked).
Metrics RingflowManyToWorkerPool(const RunContext& ctx, ProducerType type,
                                 int producers, int workers);
// One producer (kSingle), a WorkerPool of kConsumers (3).
Metrics RingflowWorkerPool(const RunContext& ctx);
// Two rings, two processors bouncing a value; {p50, p99, p99.9} ns.
Metrics RingflowPingPong(const RunContext& ctx, WaitStrategyKind wait);

// The run of scenario `s` read as `setup` says: one of the above, or null
// when `setup` asks for what `s`'s topology does not offer (scenario.h).
//
// Defined here, not in ringflow_topologies.cc, and calling ThreeToOne's and
// WorkerPool's own entry points: that file compiles to the same
// instructions as before scenarios were data (GCC's inlining and cloning
// decisions there depend on everything else in the file, and its runs are
// what the table measures).
inline RunFn RingflowRun(const Scenario& s, const RingflowSetup& setup) {
  const int producers = s.producers;
  const int consumers = s.consumers;
  const int64_t k = s.batch;
  const WaitStrategyKind wait = s.wait;
  // What each kind honours (scenario.h); any other setup is a mistake.
  const bool plain = setup.reader == Reader::kBatchEventProcessor &&
                     setup.counters && setup.backoff_pauses == kDefaultBackoff;
  const bool multi = setup.producer_type == ProducerType::kMulti;
  switch (s.topology) {
    case Topology::kOneToOne:
      if (multi) return nullptr;
      if (k > 1) {
        if (!plain) return nullptr;
        return [k](const RunContext& c) { return RingflowOneToOneBatch(c, k); };
      }
      if (setup.reader != Reader::kBatchEventProcessor) {
        const bool lease = setup.reader == Reader::kLeaseBatch;
        return [lease](const RunContext& c) {
          return RingflowOneToOnePoller(c, lease);
        };
      }
      return [setup](const RunContext& c) {
        return RingflowOneToOne(c, setup.counters, setup.backoff_pauses);
      };
    case Topology::kOneToThreeMulticast:
      return plain && !multi ? RunFn(RingflowMulticast) : nullptr;
    case Topology::kOneToThreePipeline:
      return plain && !multi ? RunFn(RingflowPipeline) : nullptr;
    case Topology::kOneToThreeDiamond:
      return plain && !multi ? RunFn(RingflowDiamond) : nullptr;
    case Topology::kManyToOne:
      if (!plain || !multi) return nullptr;  // always a kMulti ring
      if (producers == kProducers) return RingflowThreeToOne;
      return [producers](const RunContext& c) {
        return RingflowManyToOne(c, producers);
      };
    case Topology::kManyToWorkers:
      if (!plain || (!multi && producers != 1)) return nullptr;
      if (!multi && consumers == kConsumers) return RingflowWorkerPool;
      return [type = setup.producer_type, producers,
              consumers](const RunContext& c) {
        return RingflowManyToWorkerPool(c, type, producers, consumers);
      };
    case Topology::kPingPong:
      if (!plain || multi) return nullptr;
      return [wait](const RunContext& c) { return RingflowPingPong(c, wait); };
    case Topology::kOwn:
      return nullptr;  // a family's own shape: its columns carry their runs
  }
  return nullptr;
}

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_RINGFLOW_TOPOLOGIES_H_
