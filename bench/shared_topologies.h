// bench/shared_topologies.h
//
// SharedOneToOne: ringflow's OneToOne over shared memory, with the consumer
// in another process. This process creates a shm::SharedRing<int64_t>
// (kSingle, kBusySpin, counters on) and publishes value i at sequence i, one
// PublishEvent at a time, from a producer thread (CPU slot 0 with --pin).
// The consumer is this same binary re-executed (/proc/self/exe
// --shared_consumer=RING --events=N [--pin]; see RunSharedConsumer), which
// attaches with shm::SharedConsumer<int64_t>, pins itself to CPU slot 1,
// and sums the events in SharedConsumer::Run (busy-spinning Poll, each call
// handling every available event, with the stream backoff). It reports
// over a pipe on its stdout, one line per step:
//
//   ready                                     attached, spinning
//   done sum=S first=F count=C end_ns=T       after the last event
//   error WHAT                                it could not go on
//
// T is CLOCK_MONOTONIC, one clock for every process on the machine: the run
// is timed from the producer's first claim (after "ready") to T. The run
// fails loudly (Fail) unless C == N, S == N(N-1)/2, F == 0 and the child
// exits 0; every wait on the child is bounded by ctx.timeout_s, after which
// the child is killed. The ring has a name unique to this process and run
// and is removed on every path that returns, and before every Fail.
//
// SharedOneToOneInProcess runs the same producer and the same consumer loop
// as two threads of this process: SharedOneToOne / SharedOneToOneInProcess
// is the cost of the process boundary alone; SharedOneToOneInProcess /
// RingflowOneToOne that of the shared ring and of reading with
// SharedConsumer::Run instead of a BatchEventProcessor.
//
// Thread-safety: each call builds its own ring, threads and child and tears
// them down before returning; call from one thread at a time.

#ifndef RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_
#define RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_

#include <cstdint>
#include <string_view>

#include "harness.h"
#include "scenario.h"
#include "topology.h"

namespace ringflow::bench {

// One cross-process run; {M events/s}.
Metrics SharedOneToOne(const RunContext& ctx);
// The same on a SharedRing with both sides in this process; {M events/s}.
Metrics SharedOneToOneInProcess(const RunContext& ctx);
// SharedOneToOne (or, `in_process`, SharedOneToOneInProcess) for a
// scenario of kOneToOne with a batch of 1; null for any other. Inline, so
// that shared_topologies.cc compiles as before (see RingflowRun).
inline RunFn SharedRun(const Scenario& s, bool in_process) {
  if (s.topology != Topology::kOneToOne || s.batch != 1) return nullptr;
  if (in_process) return SharedOneToOneInProcess;
  return SharedOneToOne;
}

// The consumer process of SharedOneToOne (ringflow_bench
// --shared_consumer=RING --events=N [--pin]): attaches to `ring`, reads
// `events` events and reports as above on stdout. Returns the process's
// exit status: 0 after "done", 1 after "error".
int RunSharedConsumer(std::string_view ring, int64_t events, bool pin);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_
