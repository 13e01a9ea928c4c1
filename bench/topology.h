// bench/topology.h
//
// What the topology runs of ringflow (ringflow_topologies.cc) and of its
// peers (peer_topologies.h) share: the result type, the shape constants,
// the checks that end the process on a wrong result, thread spawning with
// optional pinning, the wait mode for a thread count, and the many-to-one
// sink of ThreeToOne and Scaling (the same order check for everyone).
//
// Thread-safety: stateless helpers; a sink belongs to its consumer thread.

#ifndef RINGFLOW_BENCH_TOPOLOGY_H_
#define RINGFLOW_BENCH_TOPOLOGY_H_

#include <cstddef>
#include <cstdint>
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
