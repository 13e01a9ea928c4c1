// bench/ringflow_topologies.h
//
// ringflow's side of each topology scenario: one timed, verified run each
// (a Fail() ends the process when the result is wrong). Each returns its
// Metrics; ctx names the scenario and carries the events and capacity.
//
// Thread-safety: each call builds its own rings and threads and joins them
// before returning; call from one thread at a time.

#ifndef RINGFLOW_BENCH_RINGFLOW_TOPOLOGIES_H_
#define RINGFLOW_BENCH_RINGFLOW_TOPOLOGIES_H_

#include <cstdint>

#include "harness.h"
#include "ringflow/core/ring_options.h"
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

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_RINGFLOW_TOPOLOGIES_H_
