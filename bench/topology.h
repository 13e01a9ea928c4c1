// bench/topology.h
//
// What the topology runs of ringflow (ringflow_topologies.cc), of its
// peers (peer_topologies.h) and of the sharded columns share: the result
// type, the shape constants, what each Topology checks (the Verify
// functions: one per kind, called by every implementation of that kind, so
// that every column of a row passes the same test), thread spawning with
// optional pinning, the wait mode for a thread count, and the many-to-one
// sink of ThreeToOne and Scaling.
//
// Thread-safety: stateless helpers; a sink belongs to its consumer thread.

#ifndef RINGFLOW_BENCH_TOPOLOGY_H_
#define RINGFLOW_BENCH_TOPOLOGY_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"
#include "ringflow/core/ring_options.h"

namespace ringflow::bench {

// One run's figures: {M events/s} or {p50, p99, p99.9 ns}.
using Metrics = std::vector<double>;

inline constexpr int kConsumers = 3;  // 1->3 topologies, worker pool
inline constexpr int kProducers = 3;  // ThreeToOne
inline constexpr size_t kPopBulkMax = 256;

inline int64_t SumBelow(int64_t n) { return n * (n - 1) / 2; }  // 0 + ... + n-1

inline double MegaEventsPerSecond(int64_t events, int64_t ns) {
  return static_cast<double>(events) * 1e3 / static_cast<double>(ns);
}

inline void Check(const RunContext& ctx, bool ok, const std::string& what) {
  if (!ok) Fail(ctx.scenario, ctx.impl, what);
}

inline void CheckEqual(const RunContext& ctx, int64_t got, int64_t want,
                       const std::string& what) {
  Check(ctx, got == want,
        what + " is " + std::to_string(got) + ", expected " +
            std::to_string(want));
}

// ---- what each Topology checks (scenario.h) -------------------------------
// ctx.events is N; the events are the values 0..N-1.

// kOneToOne: the consumer's sum.
inline void VerifyOneToOne(const RunContext& ctx, int64_t sum) {
  CheckEqual(ctx, sum, SumBelow(ctx.events), "sum");
}

// kOneToThreeMulticast: every consumer's sum.
inline void VerifyMulticast(const RunContext& ctx,
                            std::span<const int64_t> sums) {
  for (size_t c = 0; c < sums.size(); ++c) {
    CheckEqual(ctx, sums[c], SumBelow(ctx.events),
               "consumer " + std::to_string(c) + " sum");
  }
}

// kOneToThreePipeline: how many events the sink saw with another value
// than event + 2, and its sum.
inline void VerifyPipeline(const RunContext& ctx, int64_t wrong, int64_t sum) {
  CheckEqual(ctx, wrong, 0, "events not passed through both stages");
  CheckEqual(ctx, sum, SumBelow(ctx.events) + 2 * ctx.events, "sum");
}

// kOneToThreeDiamond: events whose value at the join was wrong, and the
// fizzbuzz count (multiples of 15 below N).
inline void VerifyDiamond(const RunContext& ctx, int64_t wrong,
                          int64_t fizzbuzz) {
  CheckEqual(ctx, wrong, 0, "events with the wrong value");
  CheckEqual(ctx, fizzbuzz, (ctx.events + 14) / 15, "fizzbuzz count");
}

// kPingPong: round trips sent and received (at least one), each timed,
// every pong carrying its ping's value.
inline void VerifyPingPong(const RunContext& ctx, int64_t sent,
                           int64_t received, int64_t timed, int64_t wrong) {
  Check(ctx, received >= 1, "no round trip");
  CheckEqual(ctx, received, sent, "pongs received");
  CheckEqual(ctx, timed, received, "round trips timed");
  CheckEqual(ctx, wrong, 0, "pongs with the wrong value");
}

// kManyToOne: events that came out of their producer's order (unless the
// implementation does not keep it, `producer_fifo` false), and the sum.
inline void VerifyManyToOne(const RunContext& ctx, int64_t out_of_order,
                            int64_t sum, bool producer_fifo = true) {
  if (producer_fifo) {
    CheckEqual(ctx, out_of_order, 0, "events out of producer order");
  }
  CheckEqual(ctx, sum, SumBelow(ctx.events), "sum");
}

// kManyToWorkers: the events handled by all consumers together, and that
// each was handled exactly once (`seen`: one bitmap per consumer).
inline void VerifyWorkers(const RunContext& ctx, int64_t handled,
                          const std::vector<SeenBitmap>& seen) {
  CheckEqual(ctx, handled, ctx.events, "events handled");
  const std::string problem = CheckExactlyOnce(seen, ctx.events);
  Check(ctx, problem.empty(), problem);
}

// A thread pinned (with --pin) to slot `index` of `threads`.
template <typename F>
std::thread Spawn(int index, int threads, F&& body) {
  return std::thread([index, threads, body = std::forward<F>(body)]() mutable {
    Pinning::Get().PinSelf(index, threads);
    body();
  });
}

// The wait mode for a scenario with `threads` threads on this machine.
inline WaitMode ModeFor(int threads) {
  return threads <= Pinning::Get().cpus() ? WaitMode::kBusySpin
                                          : WaitMode::kYield;
}
inline WaitStrategyKind StrategyFor(int threads) {
  return ModeFor(threads) == WaitMode::kBusySpin ? WaitStrategyKind::kBusySpin
                                                 : WaitStrategyKind::kYielding;
}

inline Metrics Percentiles(const LatencyHistogram& h) {
  return {h.Quantile(0.50), h.Quantile(0.99), h.Quantile(0.999)};
}

// ThreeToOne and Scaling's one-consumer rows: producer p of `producers`
// publishes p, p + producers, p + 2 * producers, ... (so event % producers
// names its producer); each producer's events must arrive in its order.
class ManyToOneSink {
 public:
  ManyToOneSink(RunClock* clock, int64_t last, int producers)
      : clock_(clock),
        last_(last),
        producers_(producers),
        previous_(static_cast<size_t>(producers)) {
    for (int p = 0; p < producers; ++p) {
      previous_[static_cast<size_t>(p)] = p - producers_;
    }
  }
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t sequence, bool /*end*/) noexcept {
    Take(event);
    if (sequence == last_) clock_->Finish();
  }
  void Take(int64_t event) noexcept {
    sum_ += event;
    const size_t producer = static_cast<size_t>(event % producers_);
    if (event != previous_[producer] + producers_) ++out_of_order_;
    previous_[producer] = event;
  }
  int64_t sum() const { return sum_; }
  int64_t out_of_order() const { return out_of_order_; }

 private:
  RunClock* clock_;
  int64_t last_;
  int64_t producers_;
  std::vector<int64_t> previous_;  // per producer; sized once, never grows
  int64_t sum_ = 0;
  int64_t out_of_order_ = 0;
};

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_TOPOLOGY_H_
