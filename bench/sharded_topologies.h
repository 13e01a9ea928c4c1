// bench/sharded_topologies.h
//
// ringflow's sharded runs: a ShardedRing read by a ShardedEventProcessor
// (Runner::kShardedRing: kOneToOne with a batch of 1 and kManyToOne), and
// the ShardedQueue behind the peers' adapter shape (Runner::kShardedQueue:
// it runs the very PeerRun code the MPMC peers run, so its rows and theirs
// differ only in the queue).
//
// Thread-safety: as the other topology files; everything runs on the
// scenario thread and the threads it spawns.

#ifndef RINGFLOW_BENCH_SHARDED_TOPOLOGIES_H_
#define RINGFLOW_BENCH_SHARDED_TOPOLOGIES_H_

#include "scenario.h"

namespace ringflow::bench {

// `producers` threads, each registering its own shard (producer p publishes
// p, p + producers, ... one at a time, PublishEvent), one
// ShardedEventProcessor checking the sum and each producer's order.
Metrics ShardedManyToOne(const RunContext& ctx, int producers);

// The run of `s` for a kShardedRing or kShardedQueue column, or null when
// that runner does not offer `s`'s topology.
RunFn ShardedRun(const Scenario& s, Runner runner);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_SHARDED_TOPOLOGIES_H_
