// bench/bounds.cc — the bounds' runs (bounds.h), in a translation unit of
// their own.

#include "bounds.h"

#include "topology.h"

namespace ringflow::bench {

Metrics Ceiling(const RunContext& ctx, int64_t k, int backoff_pauses) {
  const RawRingResult r = RawRingThroughput(ctx, k, backoff_pauses);
  VerifyOneToOne(ctx, r.sum);
  return {MegaEventsPerSecond(ctx.events, r.elapsed_ns)};
}

Metrics Floor(const RunContext& ctx) {
  const RttResult r = AtomicPingPongRtt(ctx);
  // Each ping waits for its pong; the atomics carry no value to compare.
  VerifyPingPong(ctx, r.round_trips, r.round_trips, r.histogram.count(), 0);
  return Percentiles(r.histogram);
}

}  // namespace ringflow::bench
