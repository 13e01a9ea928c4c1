// bench/topology_bench.cc — ringflow_bench: the LMAX-style topology
// benchmarks, ringflow side by side with the queues a user would pick
// instead and with the hardware bounds, all in one process run.
//
// Method (the project's benchmarking rules): every scenario runs each
// implementation once to warm up, then repeats them interleaved (A B C A B C
// ...), so the repetitions of ringflow and of its peers see the same machine;
// the table shows medians with min-max and ratios of paired repetitions. Every
// run verifies what it moved (sums, counts, per-producer order, exactly-once)
// and the process exits 1 with a loud message when it does not.
//
// Usage:
//   ringflow_bench [--smoke] [--events=N] [--reps=N] [--scenarios=a,b]
//                  [--capacity=N] [--pin] [--json=PATH] [--plot=PATH]
//   --smoke      every scenario tiny (a few thousand events), 1 repetition,
//                no warm-up: checks that the harness builds and verifies
//   --events=N   events of OneToOne (default 20000000); every scenario
//                scales from its own default by the same factor
//   --reps=N     repetitions (default 5; CountersOverhead runs 3x as many)
//   --scenarios  names (OneToOne, ...) or families (OneToOneBatch,
//                PingPong) to run; default all
//   --pin        pin threads to CPUs in scenarios with no more threads than
//                CPUs
//   --json/--plot  also write the results as JSON / a PNG (gnuplot)

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bounds.h"
#include "harness.h"
#include "peers.h"
#include "report.h"
#include "ringflow/ringflow.h"

namespace ringflow::bench {
namespace {

using Ring = RingBuffer<int64_t>;
using Metrics = std::vector<double>;
using RunFn = std::function<Metrics(const RunContext&)>;

constexpr int64_t kDefaultCapacity = int64_t{1} << 16;  // LMAX OneToOne
constexpr int64_t kPingPongCapacity = 1024;             // LMAX PingPong
constexpr int64_t kBaseEvents = 20'000'000;             // OneToOne default
constexpr int kConsumers = 3;  // 1->3 topologies, worker pool
constexpr int kProducers = 3;  // ThreeToOne
constexpr size_t kPopBulkMax = 256;
// A throughput run aims at this long; slower implementations run fewer
// events (see RunScenario).
constexpr double kTargetRunSeconds = 0.25;

// ---- small helpers ---------------------------------------------------------

int64_t SumBelow(int64_t n) { return n * (n - 1) / 2; }  // 0 + ... + n-1

double MegaEventsPerSecond(int64_t events, int64_t ns) {
  return static_cast<double>(events) * 1e3 / static_cast<double>(ns);
}

void Check(const RunContext& ctx, bool ok, const std::string& what) {
  if (!ok) Fail(ctx.scenario, ctx.impl, what);
}

void CheckEqual(const RunContext& ctx, int64_t got, int64_t want,
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

template <typename E = int64_t>
std::unique_ptr<RingBuffer<E>> MakeRing(const RunContext& ctx, int64_t capacity,
                                        ProducerType type,
                                        WaitStrategyKind wait,
                                        bool counters = true) {
  auto ring = RingBuffer<E>::Create({.capacity = capacity,
                                     .producer_type = type,
                                     .wait_strategy = wait,
                                     .name = "bench",
                                     .counters = counters});
  if (!ring.ok()) Fail(ctx.scenario, ctx.impl, ring.status().ToString());
  return std::move(*ring);
}

template <typename E, typename H>
std::unique_ptr<BatchEventProcessor<E, H>> MakeProcessor(
    const RunContext& ctx, RingBuffer<E>& ring, H& handler,
    std::vector<const Sequence*> dependents = {}) {
  auto processor =
      BatchEventProcessor<E, H>::Create(ring, handler, std::move(dependents));
  if (!processor.ok()) {
    Fail(ctx.scenario, ctx.impl, processor.status().ToString());
  }
  return std::move(*processor);
}

// The wait mode for a scenario with `threads` threads on this machine.
WaitMode ModeFor(int threads) {
  return threads <= Pinning::Get().cpus() ? WaitMode::kBusySpin
                                          : WaitMode::kYield;
}
WaitStrategyKind StrategyFor(int threads) {
  return ModeFor(threads) == WaitMode::kBusySpin ? WaitStrategyKind::kBusySpin
                                                 : WaitStrategyKind::kYielding;
}

// ---- ringflow handlers -----------------------------------------------------

// Sums the events; crosses the finish line at the last sequence.
class SumHandler {
 public:
  SumHandler(RunClock* clock, int64_t last) : clock_(clock), last_(last) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t sequence, bool /*end*/) noexcept {
    sum_ += event;
    if (sequence == last_) clock_->Finish();
  }
  int64_t sum() const { return sum_; }

 private:
  RunClock* clock_;
  int64_t last_;
  int64_t sum_ = 0;  // processor thread; read after join
};

// A pipeline stage: adds one to the event in place.
class AddOneHandler {
 public:
  explicit AddOneHandler(RunClock* clock) : clock_(clock) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t /*sequence*/, bool /*end*/) noexcept {
    event += 1;
  }

 private:
  RunClock* clock_;
};

// The pipeline's last stage: event must be sequence + 2 (both stages ran).
class PipelineSink {
 public:
  PipelineSink(RunClock* clock, int64_t last) : clock_(clock), last_(last) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t sequence, bool /*end*/) noexcept {
    sum_ += event;
    if (event != sequence + 2) ++wrong_;
    if (sequence == last_) clock_->Finish();
  }
  int64_t sum() const { return sum_; }
  int64_t wrong() const { return wrong_; }

 private:
  RunClock* clock_;
  int64_t last_;
  int64_t sum_ = 0;
  int64_t wrong_ = 0;
};

// Diamond: the event says otherwise than int64_t here, because fizz and
// buzz annotate it side by side (each its own field).
struct FizzBuzzEvent {
  int64_t value = 0;
  bool fizz = false;  // written by FizzHandler
  bool buzz = false;  // written by BuzzHandler
};

template <int kDivisor>
class DivisibleHandler {
 public:
  explicit DivisibleHandler(RunClock* clock) : clock_(clock) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(FizzBuzzEvent& event, int64_t /*sequence*/,
               bool /*end*/) noexcept {
    if constexpr (kDivisor == 3) {
      event.fizz = event.value % 3 == 0;
    } else {
      event.buzz = event.value % 5 == 0;
    }
  }

 private:
  RunClock* clock_;
};

class FizzBuzzHandler {
 public:
  FizzBuzzHandler(RunClock* clock, int64_t last) : clock_(clock), last_(last) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(FizzBuzzEvent& event, int64_t sequence, bool /*end*/) noexcept {
    if (event.value != sequence) ++wrong_;
    if (event.fizz && event.buzz) ++fizzbuzz_;
    if (sequence == last_) clock_->Finish();
  }
  int64_t fizzbuzz() const { return fizzbuzz_; }
  int64_t wrong() const { return wrong_; }

 private:
  RunClock* clock_;
  int64_t last_;
  int64_t fizzbuzz_ = 0;
  int64_t wrong_ = 0;
};

// ThreeToOne: producer p publishes p, p+3, p+6, ...; each must arrive in
// its producer's order.
class ThreeToOneSink {
 public:
  ThreeToOneSink(RunClock* clock, int64_t last) : clock_(clock), last_(last) {
    for (int p = 0; p < kProducers; ++p) previous_[p] = p - kProducers;
  }
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t sequence, bool /*end*/) noexcept {
    Take(event);
    if (sequence == last_) clock_->Finish();
  }
  void Take(int64_t event) noexcept {
    sum_ += event;
    const size_t producer = static_cast<size_t>(event % kProducers);
    if (event != previous_[producer] + kProducers) ++out_of_order_;
    previous_[producer] = event;
  }
  int64_t sum() const { return sum_; }
  int64_t out_of_order() const { return out_of_order_; }

 private:
  RunClock* clock_;
  int64_t last_;
  std::array<int64_t, kProducers> previous_{};
  int64_t sum_ = 0;
  int64_t out_of_order_ = 0;
};

// A worker pool member: records which events it handled.
class PoolWorker {
 public:
  PoolWorker(RunClock* clock, SeenBitmap* seen) : clock_(clock), seen_(seen) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t /*sequence*/, bool /*end*/) noexcept {
    seen_->Mark(event);
    ++count_;
  }
  int64_t count() const { return count_; }

 private:
  RunClock* clock_;
  SeenBitmap* seen_;
  int64_t count_ = 0;
};

// PingPong: answers each ping with the same value on the pong ring.
class Ponger {
 public:
  Ponger(RunClock* clock, Ring* pong) : clock_(clock), pong_(pong) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t /*sequence*/, bool /*end*/) noexcept {
    const int64_t value = event;
    pong_->PublishEvent([value](int64_t& e, int64_t) noexcept { e = value; });
  }

 private:
  RunClock* clock_;
  Ring* pong_;
};

// PingPong: sends ping i, times the round trip when pong i comes back;
// stops after ctx.events round trips or ctx.budget_ns.
class Pinger {
 public:
  Pinger(RunClock* clock, Ring* ping, const RunContext* ctx)
      : clock_(clock), ping_(ping), ctx_(ctx) {}
  void OnStart() {
    clock_->Ready();
    clock_->WaitGo();
    start_ns_ = NowNs();
    sent_ns_ = start_ns_;
    Send(0);
  }
  void OnEvent(int64_t& event, int64_t /*sequence*/, bool /*end*/) noexcept {
    const int64_t now = NowNs();
    histogram_.Record(now - sent_ns_);
    if (event != next_) ++wrong_;
    if (++next_ == ctx_->events || ctx_->OverBudget(start_ns_, now)) {
      clock_->Finish();
      return;
    }
    sent_ns_ = now;
    Send(next_);
  }
  const LatencyHistogram& histogram() const { return histogram_; }
  int64_t sent() const { return sent_; }
  int64_t received() const { return next_; }
  int64_t wrong() const { return wrong_; }

 private:
  void Send(int64_t value) noexcept {
    ++sent_;
    ping_->PublishEvent([value](int64_t& e, int64_t) noexcept { e = value; });
  }

  RunClock* clock_;
  Ring* ping_;
  const RunContext* ctx_;
  LatencyHistogram histogram_;
  int64_t start_ns_ = 0;
  int64_t sent_ns_ = 0;
  int64_t sent_ = 0;
  int64_t next_ = 0;
  int64_t wrong_ = 0;
};

Metrics Percentiles(const LatencyHistogram& h) {
  return {h.Quantile(0.50), h.Quantile(0.99), h.Quantile(0.999)};
}

// ---- ringflow scenarios ----------------------------------------------------

// Runs the producer body on its own thread after the start gate; false
// from `publish` means the ring refused a claim.
template <typename F>
std::thread SpawnProducer(int index, int threads, RunClock& clock,
                          bool& refused, F publish) {
  return Spawn(index, threads, [&clock, &refused, publish]() mutable {
    clock.Ready();
    clock.WaitGo();
    if (!publish()) refused = true;
  });
}

Metrics RingflowOneToOne(const RunContext& ctx, bool counters) {
  const int64_t n = ctx.events;
  auto ring = MakeRing(ctx, ctx.capacity, ProducerType::kSingle,
                       WaitStrategyKind::kBusySpin, counters);
  RunClock clock(2, 1);
  SumHandler handler(&clock, n - 1);
  auto processor = MakeProcessor(ctx, *ring, handler);
  std::thread consumer = Spawn(1, 2, [&] { processor->Run(); });
  bool refused = false;
  std::thread producer = SpawnProducer(0, 2, clock, refused, [&] {
    for (int64_t i = 0; i < n; ++i) {
      if (!ring->PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; })) {
        return false;
      }
    }
    return true;
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  processor->Halt();
  consumer.join();
  producer.join();
  Check(ctx, !refused, "the ring refused a claim");
  CheckEqual(ctx, handler.sum(), SumBelow(n), "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowOneToOneBatch(const RunContext& ctx, int64_t k) {
  const int64_t n = ctx.events;
  auto ring = MakeRing(ctx, ctx.capacity, ProducerType::kSingle,
                       WaitStrategyKind::kBusySpin);
  RunClock clock(2, 1);
  SumHandler handler(&clock, n - 1);
  auto processor = MakeProcessor(ctx, *ring, handler);
  std::thread consumer = Spawn(1, 2, [&] { processor->Run(); });
  bool refused = false;
  std::thread producer = SpawnProducer(0, 2, clock, refused, [&] {
    for (int64_t i = 0; i < n; i += k) {
      // Sequence s carries value s: the ring starts at 0, one producer.
      if (!ring->PublishEvents(std::min(k, n - i),
                               [](int64_t& e, int64_t s) noexcept { e = s; })) {
        return false;
      }
    }
    return true;
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  processor->Halt();
  consumer.join();
  producer.join();
  Check(ctx, !refused, "the ring refused a claim");
  CheckEqual(ctx, handler.sum(), SumBelow(n), "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// OneToOnePoller (lease = false): EventPoller::Poll in a spinning loop.
// OneToOneLease (lease = true): EventPoller::TryLeaseBatch, reading the
// events in place and releasing the whole batch at once.
Metrics RingflowOneToOnePoller(const RunContext& ctx, bool lease) {
  const int64_t n = ctx.events;
  auto ring = MakeRing(ctx, ctx.capacity, ProducerType::kSingle,
                       WaitStrategyKind::kBusySpin);
  auto poller = EventPoller<int64_t>::Create(*ring);
  if (!poller.ok()) Fail(ctx.scenario, ctx.impl, poller.status().ToString());
  RunClock clock(2, 1);
  int64_t sum = 0;
  std::thread consumer = Spawn(1, 2, [&] {
    clock.Ready();
    int64_t count = 0;
    int64_t local = 0;
    if (lease) {
      while (count < n) {
        auto batch = (*poller)->TryLeaseBatch(INT64_MAX);
        if (!batch) {
          CpuRelax();
          continue;
        }
        for (const int64_t& e : *batch) local += e;
        count += batch->size();
      }  // each batch is released at the end of its iteration
    } else {
      auto handler = [&](const int64_t& e, int64_t, bool) noexcept {
        local += e;
        ++count;
      };
      while (count < n) {
        if ((*poller)->Poll(handler) != PollState::kProcessing) CpuRelax();
      }
    }
    sum = local;
    clock.Finish();
  });
  bool refused = false;
  std::thread producer = SpawnProducer(0, 2, clock, refused, [&] {
    for (int64_t i = 0; i < n; ++i) {
      if (!ring->PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; })) {
        return false;
      }
    }
    return true;
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  consumer.join();
  producer.join();
  Check(ctx, !refused, "the ring refused a claim");
  CheckEqual(ctx, sum, SumBelow(n), "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowMulticast(const RunContext& ctx) {
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  auto ring =
      MakeRing(ctx, ctx.capacity, ProducerType::kSingle, StrategyFor(kThreads));
  RunClock clock(kThreads, kConsumers);
  std::vector<std::unique_ptr<SumHandler>> handlers;
  std::vector<std::unique_ptr<BatchEventProcessor<int64_t, SumHandler>>> procs;
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    handlers.push_back(std::make_unique<SumHandler>(&clock, n - 1));
    procs.push_back(MakeProcessor(ctx, *ring, *handlers.back()));
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.push_back(
        Spawn(1 + c, kThreads,
              [p = procs[static_cast<size_t>(c)].get()] { p->Run(); }));
  }
  bool refused = false;
  threads.push_back(SpawnProducer(0, kThreads, clock, refused, [&] {
    for (int64_t i = 0; i < n; ++i) {
      if (!ring->PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; })) {
        return false;
      }
    }
    return true;
  }));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& p : procs) p->Halt();
  for (auto& t : threads) t.join();
  Check(ctx, !refused, "the ring refused a claim");
  for (int c = 0; c < kConsumers; ++c) {
    CheckEqual(ctx, handlers[static_cast<size_t>(c)]->sum(), SumBelow(n),
               "consumer " + std::to_string(c) + " sum");
  }
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowPipeline(const RunContext& ctx) {
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  auto ring =
      MakeRing(ctx, ctx.capacity, ProducerType::kSingle, StrategyFor(kThreads));
  RunClock clock(kThreads, 1);
  AddOneHandler first(&clock);
  AddOneHandler second(&clock);
  PipelineSink sink(&clock, n - 1);
  auto p1 = MakeProcessor(ctx, *ring, first);
  auto p2 = MakeProcessor(ctx, *ring, second, {&p1->sequence()});
  auto p3 = MakeProcessor(ctx, *ring, sink, {&p2->sequence()});
  std::vector<std::thread> threads;
  threads.push_back(Spawn(1, kThreads, [&] { p1->Run(); }));
  threads.push_back(Spawn(2, kThreads, [&] { p2->Run(); }));
  threads.push_back(Spawn(3, kThreads, [&] { p3->Run(); }));
  bool refused = false;
  threads.push_back(SpawnProducer(0, kThreads, clock, refused, [&] {
    for (int64_t i = 0; i < n; ++i) {
      if (!ring->PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; })) {
        return false;
      }
    }
    return true;
  }));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  p1->Halt();
  p2->Halt();
  p3->Halt();
  for (auto& t : threads) t.join();
  Check(ctx, !refused, "the ring refused a claim");
  CheckEqual(ctx, sink.wrong(), 0, "events not passed through both stages");
  CheckEqual(ctx, sink.sum(), SumBelow(n) + 2 * n, "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowDiamond(const RunContext& ctx) {
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  auto ring = MakeRing<FizzBuzzEvent>(ctx, ctx.capacity, ProducerType::kSingle,
                                      StrategyFor(kThreads));
  RunClock clock(kThreads, 1);
  DivisibleHandler<3> fizz(&clock);
  DivisibleHandler<5> buzz(&clock);
  FizzBuzzHandler fizzbuzz(&clock, n - 1);
  auto pf = MakeProcessor(ctx, *ring, fizz);
  auto pb = MakeProcessor(ctx, *ring, buzz);
  auto pfb =
      MakeProcessor(ctx, *ring, fizzbuzz, {&pf->sequence(), &pb->sequence()});
  std::vector<std::thread> threads;
  threads.push_back(Spawn(1, kThreads, [&] { pf->Run(); }));
  threads.push_back(Spawn(2, kThreads, [&] { pb->Run(); }));
  threads.push_back(Spawn(3, kThreads, [&] { pfb->Run(); }));
  bool refused = false;
  threads.push_back(SpawnProducer(0, kThreads, clock, refused, [&] {
    for (int64_t i = 0; i < n; ++i) {
      if (!ring->PublishEvent([i](FizzBuzzEvent& e, int64_t) noexcept {
            e.value = i;
            e.fizz = false;
            e.buzz = false;
          })) {
        return false;
      }
    }
    return true;
  }));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  pf->Halt();
  pb->Halt();
  pfb->Halt();
  for (auto& t : threads) t.join();
  Check(ctx, !refused, "the ring refused a claim");
  CheckEqual(ctx, fizzbuzz.wrong(), 0, "events with the wrong value");
  CheckEqual(ctx, fizzbuzz.fizzbuzz(), (n + 14) / 15, "fizzbuzz count");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowThreeToOne(const RunContext& ctx) {
  const int64_t n = ctx.events;  // a multiple of kProducers
  constexpr int kThreads = kProducers + 1;
  auto ring =
      MakeRing(ctx, ctx.capacity, ProducerType::kMulti, StrategyFor(kThreads));
  RunClock clock(kThreads, 1);
  ThreeToOneSink sink(&clock, n - 1);
  auto processor = MakeProcessor(ctx, *ring, sink);
  std::vector<std::thread> threads;
  threads.push_back(Spawn(kProducers, kThreads, [&] { processor->Run(); }));
  std::array<bool, kProducers> refused{};
  for (int p = 0; p < kProducers; ++p) {
    threads.push_back(SpawnProducer(
        p, kThreads, clock, refused[static_cast<size_t>(p)], [&, p] {
          for (int64_t v = p; v < n; v += kProducers) {
            if (!ring->PublishEvent(
                    [v](int64_t& e, int64_t) noexcept { e = v; })) {
              return false;
            }
          }
          return true;
        }));
  }
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  processor->Halt();
  for (auto& t : threads) t.join();
  for (bool r : refused) Check(ctx, !r, "the ring refused a claim");
  CheckEqual(ctx, sink.out_of_order(), 0, "events out of producer order");
  CheckEqual(ctx, sink.sum(), SumBelow(n), "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowWorkerPool(const RunContext& ctx) {
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  auto ring =
      MakeRing(ctx, ctx.capacity, ProducerType::kSingle, StrategyFor(kThreads));
  // The scenario thread detects the end (IsDrained): it is the finisher.
  RunClock clock(kThreads, 1);
  std::vector<SeenBitmap> seen(kConsumers, SeenBitmap(n));
  std::vector<PoolWorker> workers;
  for (int c = 0; c < kConsumers; ++c) {
    workers.emplace_back(&clock, &seen[static_cast<size_t>(c)]);
  }
  auto pool = WorkerPool<int64_t, PoolWorker>::Create(
      *ring, std::span<PoolWorker>(workers));
  if (!pool.ok()) Fail(ctx.scenario, ctx.impl, pool.status().ToString());
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    // Our own threads (for --pin) run the pool's workers.
    threads.push_back(Spawn(1 + c, kThreads, [&, c] {
      (*pool)->worker(static_cast<size_t>(c)).Run();
    }));
  }
  bool refused = false;
  threads.push_back(SpawnProducer(0, kThreads, clock, refused, [&] {
    for (int64_t i = 0; i < n; ++i) {
      if (!ring->PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; })) {
        return false;
      }
    }
    return true;
  }));
  const int64_t start = clock.Start();
  // Polls with short sleeps: this thread must not take a core from the
  // four benchmark threads. Adds at most a few tens of microseconds.
  while (!(ring->Cursor() == n - 1 && (*pool)->IsDrained())) {
    if (NowNs() - start > int64_t{ctx.timeout_s} * 1'000'000'000) {
      FailTimeout(ctx.scenario, ctx.impl, ctx.timeout_s);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  clock.Finish();
  (*pool)->Halt();
  for (auto& t : threads) t.join();
  Check(ctx, !refused, "the ring refused a claim");
  int64_t total = 0;
  for (const PoolWorker& w : workers) total += w.count();
  CheckEqual(ctx, total, n, "events handled");
  const std::string problem = CheckExactlyOnce(seen, n);
  Check(ctx, problem.empty(), problem);
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowPingPong(const RunContext& ctx, WaitStrategyKind wait) {
  auto ping = MakeRing(ctx, ctx.capacity, ProducerType::kSingle, wait);
  auto pong = MakeRing(ctx, ctx.capacity, ProducerType::kSingle, wait);
  RunClock clock(2, 1);
  Pinger pinger(&clock, ping.get(), &ctx);
  Ponger ponger(&clock, pong.get());
  auto ping_side = MakeProcessor(ctx, *pong, pinger);  // reads pongs
  auto pong_side = MakeProcessor(ctx, *ping, ponger);  // reads pings
  std::thread t1 = Spawn(0, 2, [&] { ping_side->Run(); });
  std::thread t2 = Spawn(1, 2, [&] { pong_side->Run(); });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  ping_side->Halt();
  pong_side->Halt();
  t1.join();
  t2.join();
  Check(ctx, pinger.received() >= 1, "no round trip");
  CheckEqual(ctx, pinger.received(), pinger.sent(), "pongs received");
  CheckEqual(ctx, pinger.wrong(), 0, "pongs with the wrong value");
  return Percentiles(pinger.histogram());
}

// ---- peer scenarios --------------------------------------------------------

template <typename P>
Metrics PeerOneToOne(const RunContext& ctx) {
  const int64_t n = ctx.events;
  const WaitMode mode = ModeFor(2);
  P q(ctx.capacity, 1);
  RunClock clock(2, 1);
  int64_t sum = 0;
  std::thread consumer = Spawn(1, 2, [&] {
    auto c = q.MakeConsumer();
    clock.Ready();
    int64_t local = 0;
    for (int64_t i = 0; i < n; ++i) local += Pop(c, mode);
    sum = local;
    clock.Finish();
  });
  std::thread producer = Spawn(0, 2, [&] {
    auto p = q.MakeProducer();
    clock.Ready();
    clock.WaitGo();
    for (int64_t i = 0; i < n; ++i) Push(p, i, mode);
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  consumer.join();
  producer.join();
  CheckEqual(ctx, sum, SumBelow(n), "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// Bulk API on both sides: k values per push, up to kPopBulkMax per pop.
template <typename P>
Metrics PeerOneToOneBatch(const RunContext& ctx, int64_t k) {
  static_assert(HasBulk<P>, "a batch peer needs bulk push and pop");
  const int64_t n = ctx.events;
  const WaitMode mode = ModeFor(2);
  P q(ctx.capacity, 1);
  RunClock clock(2, 1);
  int64_t sum = 0;
  std::thread consumer = Spawn(1, 2, [&] {
    auto c = q.MakeConsumer();
    std::vector<int64_t> buffer(kPopBulkMax);
    clock.Ready();
    int64_t local = 0;
    for (int64_t count = 0; count < n;) {
      const size_t got = PopBulk(c, buffer.data(), kPopBulkMax, mode);
      for (size_t i = 0; i < got; ++i) local += buffer[i];
      count += static_cast<int64_t>(got);
    }
    sum = local;
    clock.Finish();
  });
  std::thread producer = Spawn(0, 2, [&] {
    auto p = q.MakeProducer();
    std::vector<int64_t> batch(static_cast<size_t>(k));
    clock.Ready();
    clock.WaitGo();
    for (int64_t i = 0; i < n; i += k) {
      const int64_t size = std::min(k, n - i);
      for (int64_t j = 0; j < size; ++j) batch[static_cast<size_t>(j)] = i + j;
      PushBulk(p, batch.data(), static_cast<size_t>(size), mode);
    }
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  consumer.join();
  producer.join();
  CheckEqual(ctx, sum, SumBelow(n), "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// One queue per consumer; the producer pushes every event to each.
template <typename P>
Metrics PeerMulticast(const RunContext& ctx) {
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  const WaitMode mode = ModeFor(kThreads);
  std::vector<std::unique_ptr<P>> queues;
  for (int c = 0; c < kConsumers; ++c) {
    queues.push_back(std::make_unique<P>(ctx.capacity, 1));
  }
  RunClock clock(kThreads, kConsumers);
  std::array<int64_t, kConsumers> sums{};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.push_back(Spawn(1 + c, kThreads, [&, c] {
      auto consumer = queues[static_cast<size_t>(c)]->MakeConsumer();
      clock.Ready();
      int64_t local = 0;
      for (int64_t i = 0; i < n; ++i) local += Pop(consumer, mode);
      sums[static_cast<size_t>(c)] = local;
      clock.Finish();
    }));
  }
  threads.push_back(Spawn(0, kThreads, [&] {
    std::vector<typename P::Producer> producers;
    for (auto& q : queues) producers.push_back(q->MakeProducer());
    clock.Ready();
    clock.WaitGo();
    for (int64_t i = 0; i < n; ++i) {
      for (auto& p : producers) Push(p, i, mode);
    }
  }));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& t : threads) t.join();
  for (int c = 0; c < kConsumers; ++c) {
    CheckEqual(ctx, sums[static_cast<size_t>(c)], SumBelow(n),
               "consumer " + std::to_string(c) + " sum");
  }
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// producer -> q1 -> +1 -> q2 -> +1 -> q3 -> sink.
template <typename P>
Metrics PeerPipeline(const RunContext& ctx) {
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  const WaitMode mode = ModeFor(kThreads);
  P q1(ctx.capacity, 1);
  P q2(ctx.capacity, 1);
  P q3(ctx.capacity, 1);
  RunClock clock(kThreads, 1);
  int64_t sum = 0;
  int64_t wrong = 0;
  auto stage = [&](P& in, P& out) {
    auto c = in.MakeConsumer();
    auto p = out.MakeProducer();
    clock.Ready();
    for (int64_t i = 0; i < n; ++i) Push(p, Pop(c, mode) + 1, mode);
  };
  std::vector<std::thread> threads;
  threads.push_back(Spawn(1, kThreads, [&] { stage(q1, q2); }));
  threads.push_back(Spawn(2, kThreads, [&] { stage(q2, q3); }));
  threads.push_back(Spawn(3, kThreads, [&] {
    auto c = q3.MakeConsumer();
    clock.Ready();
    int64_t local = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = Pop(c, mode);
      local += v;
      if (v != i + 2) ++bad;
    }
    sum = local;
    wrong = bad;
    clock.Finish();
  }));
  threads.push_back(Spawn(0, kThreads, [&] {
    auto p = q1.MakeProducer();
    clock.Ready();
    clock.WaitGo();
    for (int64_t i = 0; i < n; ++i) Push(p, i, mode);
  }));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& t : threads) t.join();
  CheckEqual(ctx, wrong, 0, "events not passed through both stages");
  CheckEqual(ctx, sum, SumBelow(n) + 2 * n, "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// producer -> {fizz queue, buzz queue}; fizz and buzz forward
// (value << 1 | divisible); the sink joins the two answer queues.
template <typename P>
Metrics PeerDiamond(const RunContext& ctx) {
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  const WaitMode mode = ModeFor(kThreads);
  P to_fizz(ctx.capacity, 1);
  P to_buzz(ctx.capacity, 1);
  P from_fizz(ctx.capacity, 1);
  P from_buzz(ctx.capacity, 1);
  RunClock clock(kThreads, 1);
  int64_t fizzbuzz = 0;
  int64_t wrong = 0;
  auto stage = [&](P& in, P& out, int64_t divisor) {
    auto c = in.MakeConsumer();
    auto p = out.MakeProducer();
    clock.Ready();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = Pop(c, mode);
      Push(p, (v << 1) | (v % divisor == 0 ? 1 : 0), mode);
    }
  };
  std::vector<std::thread> threads;
  threads.push_back(Spawn(1, kThreads, [&] { stage(to_fizz, from_fizz, 3); }));
  threads.push_back(Spawn(2, kThreads, [&] { stage(to_buzz, from_buzz, 5); }));
  threads.push_back(Spawn(3, kThreads, [&] {
    auto fizz = from_fizz.MakeConsumer();
    auto buzz = from_buzz.MakeConsumer();
    clock.Ready();
    int64_t count = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t f = Pop(fizz, mode);
      const int64_t b = Pop(buzz, mode);
      if ((f >> 1) != i || (b >> 1) != i) ++bad;
      if ((f & b & 1) != 0) ++count;
    }
    fizzbuzz = count;
    wrong = bad;
    clock.Finish();
  }));
  threads.push_back(Spawn(0, kThreads, [&] {
    auto pf = to_fizz.MakeProducer();
    auto pb = to_buzz.MakeProducer();
    clock.Ready();
    clock.WaitGo();
    for (int64_t i = 0; i < n; ++i) {
      Push(pf, i, mode);
      Push(pb, i, mode);
    }
  }));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& t : threads) t.join();
  CheckEqual(ctx, wrong, 0, "events with the wrong value");
  CheckEqual(ctx, fizzbuzz, (n + 14) / 15, "fizzbuzz count");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

template <typename P>
Metrics PeerThreeToOne(const RunContext& ctx) {
  static_assert(!P::kSpsc, "several threads share one end of the queue");
  const int64_t n = ctx.events;
  constexpr int kThreads = kProducers + 1;
  const WaitMode mode = ModeFor(kThreads);
  P q(ctx.capacity, kProducers);
  RunClock clock(kThreads, 1);
  ThreeToOneSink sink(&clock, n - 1);
  std::vector<std::thread> threads;
  threads.push_back(Spawn(kProducers, kThreads, [&] {
    auto c = q.MakeConsumer();
    clock.Ready();
    for (int64_t i = 0; i < n; ++i) sink.Take(Pop(c, mode));
    clock.Finish();
  }));
  for (int p = 0; p < kProducers; ++p) {
    threads.push_back(Spawn(p, kThreads, [&, p] {
      auto producer = q.MakeProducer();
      clock.Ready();
      clock.WaitGo();
      for (int64_t v = p; v < n; v += kProducers) Push(producer, v, mode);
    }));
  }
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& t : threads) t.join();
  if constexpr (P::kProducerFifo) {
    CheckEqual(ctx, sink.out_of_order(), 0, "events out of producer order");
  }
  CheckEqual(ctx, sink.sum(), SumBelow(n), "sum");
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// One producer, kConsumers competing consumers; a -1 per consumer ends it.
template <typename P>
Metrics PeerWorkerPool(const RunContext& ctx) {
  static_assert(!P::kSpsc, "several threads share one end of the queue");
  const int64_t n = ctx.events;
  constexpr int kThreads = 1 + kConsumers;
  const WaitMode mode = ModeFor(kThreads);
  P q(ctx.capacity, 1);
  RunClock clock(kThreads, kConsumers);
  std::vector<SeenBitmap> seen(kConsumers, SeenBitmap(n));
  std::array<int64_t, kConsumers> counts{};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.push_back(Spawn(1 + c, kThreads, [&, c] {
      auto consumer = q.MakeConsumer();
      SeenBitmap& mine = seen[static_cast<size_t>(c)];
      clock.Ready();
      int64_t count = 0;
      for (;;) {
        const int64_t v = Pop(consumer, mode);
        if (v < 0) break;
        mine.Mark(v);
        ++count;
      }
      counts[static_cast<size_t>(c)] = count;
      clock.Finish();
    }));
  }
  threads.push_back(Spawn(0, kThreads, [&] {
    auto p = q.MakeProducer();
    clock.Ready();
    clock.WaitGo();
    for (int64_t i = 0; i < n; ++i) Push(p, i, mode);
    for (int c = 0; c < kConsumers; ++c) Push(p, -1, mode);
  }));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& t : threads) t.join();
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  CheckEqual(ctx, total, n, "events handled");
  const std::string problem = CheckExactlyOnce(seen, n);
  Check(ctx, problem.empty(), problem);
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// Up to ctx.events round trips (or ctx.budget_ns); a ping of -1 tells the
// ponger to stop.
template <typename P>
Metrics PeerPingPong(const RunContext& ctx) {
  const int64_t n = ctx.events;
  const WaitMode mode = ModeFor(2);
  P ping(ctx.capacity, 1);
  P pong(ctx.capacity, 1);
  RunClock clock(2, 1);
  LatencyHistogram histogram;
  int64_t wrong = 0;
  int64_t round_trips = 0;
  std::thread pinger = Spawn(0, 2, [&] {
    auto out = ping.MakeProducer();
    auto in = pong.MakeConsumer();
    clock.Ready();
    clock.WaitGo();
    int64_t bad = 0;
    const int64_t start = NowNs();
    int64_t sent = start;
    int64_t i = 0;
    while (i < n) {
      Push(out, i, mode);
      const int64_t v = Pop(in, mode);
      const int64_t now = NowNs();
      histogram.Record(now - sent);
      sent = now;
      if (v != i) ++bad;
      ++i;
      if (ctx.OverBudget(start, now)) break;
    }
    Push(out, -1, mode);
    wrong = bad;
    round_trips = i;
    clock.Finish();
  });
  std::thread ponger = Spawn(1, 2, [&] {
    auto in = ping.MakeConsumer();
    auto out = pong.MakeProducer();
    clock.Ready();
    for (;;) {
      const int64_t v = Pop(in, mode);
      if (v < 0) break;
      Push(out, v, mode);
    }
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  pinger.join();
  ponger.join();
  Check(ctx, round_trips >= 1, "no round trip");
  CheckEqual(ctx, histogram.count(), round_trips, "round trips timed");
  CheckEqual(ctx, wrong, 0, "pongs with the wrong value");
  return Percentiles(histogram);
}

// ---- bounds ----------------------------------------------------------------

Metrics Ceiling(const RunContext& ctx, int64_t k) {
  const RawRingResult r = RawRingThroughput(ctx, k);
  CheckEqual(ctx, r.sum, SumBelow(ctx.events), "sum");
  return {MegaEventsPerSecond(ctx.events, r.elapsed_ns)};
}

Metrics Floor(const RunContext& ctx) {
  const RttResult r = AtomicPingPongRtt(ctx);
  Check(ctx, r.round_trips >= 1, "no round trip");
  CheckEqual(ctx, r.histogram.count(), r.round_trips, "round trips timed");
  return Percentiles(r.histogram);
}

// ---- the scenario table ----------------------------------------------------

struct Impl {
  std::string column;
  std::string detail;
  RunFn run;
};

struct Scenario {
  std::string name;
  std::string family;  // for --scenarios (OneToOneBatch, PingPong)
  std::string unit = "M ev/s";
  bool higher_is_better = true;
  std::vector<std::string> metrics = {"throughput"};
  int64_t events = 0;        // full run
  int64_t smoke_events = 0;  // --smoke
  int64_t multiple_of = 1;   // events rounded down to a multiple of this
  int64_t capacity = kDefaultCapacity;
  int rep_factor = 1;
  int64_t budget_ms = 0;        // latency runs: time limit per run
  int64_t smoke_budget_ms = 0;  // the same with --smoke
  std::string bound_label;
  std::string note;
  std::string compare_to;
  std::string status;  // non-empty: not run, shown as is
  std::vector<Impl> impls;
  std::map<std::string, std::string> not_applicable;
};

// Adds one Impl per peer type, made by make.template operator()<P>().
template <typename... Ps, typename Make>
void AddPeers(Scenario& s, const std::string& detail, Make make) {
  (s.impls.push_back(
       Impl{std::string(Ps::kName), detail, make.template operator()<Ps>()}),
   ...);
}

// Every peer column without an Impl is n/a for `reason`.
void MarkOthers(Scenario& s, const std::string& reason) {
  for (const std::string& column : PeerColumns()) {
    bool present = false;
    for (const Impl& impl : s.impls) present |= impl.column == column;
    if (!present) s.not_applicable[column] = reason;
  }
}

constexpr const char* kNoBulk = "no bulk push/pop API";
constexpr const char* kSpscShape =
    "MPMC queue; the SPSC peers (one queue per edge) are the natural build";
constexpr const char* kNeedsMpmc = "single producer / single consumer only";

std::vector<Scenario> AllScenarios() {
  std::vector<Scenario> all;
  const std::string spin2 = "2 threads, busy spin";
  const std::string yield4 =
      "4 threads on " + std::to_string(Pinning::Get().cpus()) + " CPUs: " +
      (ModeFor(4) == WaitMode::kBusySpin ? "busy spin" : "spin then yield");
  auto ceiling = [](int64_t k) {
    return Impl{
        kBoundColumn,
        "raw ring, cursor published every " + std::to_string(k) + " events",
        [k](const RunContext& c) { return Ceiling(c, k); }};
  };
  auto all_peers_one_to_one = [](Scenario& s) {
    AddPeers<AqSpsc, AqMpmc, RwqPeer, McCqPeer, BoostSpscPeer, BoostQueuePeer,
             MutexDequePeer>(
        s, "one push / one pop per event", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerOneToOne<P>(c); };
        });
  };

  {
    Scenario s{.name = "OneToOne", .family = "OneToOne"};
    s.events = kBaseEvents;
    s.smoke_events = 5000;
    s.bound_label = "ceil k=1";
    s.note = "ringflow: PublishEvent + BatchEventProcessor, busy spin";
    s.impls.push_back({kRingflowColumn, "PublishEvent, BatchEventProcessor",
                       [](const RunContext& c) {
                         return RingflowOneToOne(c, /*counters=*/true);
                       }});
    all_peers_one_to_one(s);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  for (int64_t k : {int64_t{10}, int64_t{64}}) {
    Scenario s{.name = "OneToOneBatch" + std::to_string(k),
               .family = "OneToOneBatch"};
    s.events = kBaseEvents;
    s.smoke_events = 6400;
    s.bound_label = "ceil k=" + std::to_string(k);
    s.note = "ringflow: PublishEvents(" + std::to_string(k) +
             "); peers: bulk push of " + std::to_string(k) +
             ", bulk pop of up to " + std::to_string(kPopBulkMax);
    s.impls.push_back(
        {kRingflowColumn, "PublishEvents(k), BatchEventProcessor",
         [k](const RunContext& c) { return RingflowOneToOneBatch(c, k); }});
    AddPeers<McCqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "bulk push of k, bulk pop", [k]<typename P>() -> RunFn {
          return
              [k](const RunContext& c) { return PeerOneToOneBatch<P>(c, k); };
        });
    MarkOthers(s, kNoBulk);
    s.impls.push_back(ceiling(k));
    all.push_back(std::move(s));
  }
  for (bool lease : {false, true}) {
    Scenario s{.name = lease ? "OneToOneLease" : "OneToOnePoller",
               .family = lease ? "OneToOneLease" : "OneToOnePoller"};
    s.events = kBaseEvents;
    s.smoke_events = 5000;
    s.bound_label = "ceil k=1";
    s.note = lease ? "ringflow: EventPoller::TryLeaseBatch (whole available "
                     "batch, read in place, released at once); peers as "
                     "OneToOne"
                   : "ringflow: EventPoller::Poll in a spinning loop; peers "
                     "as OneToOne";
    s.impls.push_back({kRingflowColumn,
                       lease ? "EventPoller::TryLeaseBatch" : "Poll",
                       [lease](const RunContext& c) {
                         return RingflowOneToOnePoller(c, lease);
                       }});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer>(
        s, "one push / one pop per event", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerOneToOne<P>(c); };
        });
    MarkOthers(s,
               "measured in OneToOne (same shape); the SPSC peers repeat "
               "here as the reference");
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "OneToThreeMulticast", .family = "OneToThreeMulticast"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "every consumer sees every event (" + yield4 +
             "); peers: one SPSC queue per consumer";
    s.impls.push_back({kRingflowColumn, "3 BatchEventProcessors on one ring",
                       RingflowMulticast});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "one queue per consumer", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerMulticast<P>(c); };
        });
    MarkOthers(s, kSpscShape);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "OneToThreePipeline", .family = "OneToThreePipeline"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "stage1 +1 -> stage2 +1 -> sum (" + yield4 +
             "); peers: a queue between stages";
    s.impls.push_back({kRingflowColumn, "3 dependent BatchEventProcessors",
                       RingflowPipeline});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "a queue per edge", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerPipeline<P>(c); };
        });
    MarkOthers(s, kSpscShape);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "OneToThreeDiamond", .family = "OneToThreeDiamond"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "fizz, buzz in parallel -> fizzbuzz count (" + yield4 +
             "); ringflow event {int64 value; bool fizz, buzz}; peers: four "
             "queues (fan out, join)";
    s.impls.push_back({kRingflowColumn, "fizz, buzz -> fizzbuzz processors",
                       RingflowDiamond});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "a queue per edge", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerDiamond<P>(c); };
        });
    MarkOthers(s, kSpscShape);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "ThreeToOne", .family = "ThreeToOne"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.multiple_of = kProducers;
    s.bound_label = "ceil k=1";
    s.note = "3 producers, 1 consumer (" + yield4 +
             "), sum and per-producer order checked; ringflow kMulti; "
             "aq-mpmc: sum only (atomic_queue's MPMC mode does not keep a "
             "producer's order when that producer is preempted between "
             "claiming and filling a slot)";
    s.impls.push_back({kRingflowColumn, "kMulti ring, BatchEventProcessor",
                       RingflowThreeToOne});
    AddPeers<AqMpmc, McCqPeer, BoostQueuePeer, MutexDequePeer>(
        s, "MPMC queue, 3 producers", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerThreeToOne<P>(c); };
        });
    MarkOthers(s, kNeedsMpmc);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "WorkerPool", .family = "WorkerPool"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "1 producer, 3 competing consumers (" + yield4 +
             "), each event handled exactly once (checked)";
    s.impls.push_back(
        {kRingflowColumn, "WorkerPool, 3 WorkProcessors", RingflowWorkerPool});
    AddPeers<AqMpmc, McCqPeer, BoostQueuePeer, MutexDequePeer>(
        s, "MPMC queue, 3 consumers", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerWorkerPool<P>(c); };
        });
    MarkOthers(s, kNeedsMpmc);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  for (bool blocking : {false, true}) {
    Scenario s{.name = blocking ? "PingPongBlocking" : "PingPongBusySpin",
               .family = "PingPong"};
    s.unit = "ns";
    s.higher_is_better = false;
    s.metrics = {"p50", "p99", "p99.9"};
    s.events = blocking ? 100'000 : 1'000'000;
    s.smoke_events = blocking ? 500 : 2000;
    s.capacity = kPingPongCapacity;
    s.budget_ms = 500;
    s.smoke_budget_ms = 100;
    s.bound_label = "floor";
    const WaitStrategyKind wait =
        blocking ? WaitStrategyKind::kBlocking : WaitStrategyKind::kBusySpin;
    s.note = std::string("round trip between two rings of ") +
             std::to_string(kPingPongCapacity) + " (" +
             (blocking ? "ringflow kBlocking; peers with a blocking wait"
                       : "ringflow kBusySpin; peers spin") +
             "), histogram per round trip, closed loop (no coordinated "
             "omission); each run stops after " +
             std::to_string(s.events) + " round trips or " +
             std::to_string(s.budget_ms) + " ms";
    s.impls.push_back(
        {kRingflowColumn,
         blocking ? "two rings, kBlocking" : "two rings, kBusySpin",
         [wait](const RunContext& c) { return RingflowPingPong(c, wait); }});
    if (blocking) {
      AddPeers<BlockingRwqPeer, BlockingMcCqPeer, MutexDequePeer>(
          s, "two queues, blocking pop", []<typename P>() -> RunFn {
            return [](const RunContext& c) { return PeerPingPong<P>(c); };
          });
      MarkOthers(s, "no blocking wait");
    } else {
      AddPeers<AqSpsc, AqMpmc, RwqPeer, McCqPeer, BoostSpscPeer, BoostQueuePeer,
               MutexDequePeer>(
          s, "two queues, spinning pop", []<typename P>() -> RunFn {
            return [](const RunContext& c) { return PeerPingPong<P>(c); };
          });
    }
    s.impls.push_back({kBoundColumn, "two padded atomics, spinning", Floor});
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "CountersOverhead", .family = "CountersOverhead"};
    s.events = kBaseEvents;
    s.smoke_events = 5000;
    s.rep_factor = 3;
    s.bound_label = "ceil k=1";
    s.compare_to = "counters off";
    s.note =
        "OneToOne with RingOptions::counters = true (ringflow column) "
        "vs false; target on/off >= 0.97";
    s.impls.push_back(
        {kRingflowColumn, "OneToOne, counters = true", [](const RunContext& c) {
           return RingflowOneToOne(c, /*counters=*/true);
         }});
    s.impls.push_back(
        {"counters off", "OneToOne, counters = false", [](const RunContext& c) {
           return RingflowOneToOne(c, /*counters=*/false);
         }});
    MarkOthers(s, "ringflow against itself");
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "SharedOneToOne", .family = "SharedOneToOne"};
    s.status = "not built (shm issue)";
    all.push_back(std::move(s));
  }
  return all;
}

// ---- flags -----------------------------------------------------------------

struct Flags {
  bool smoke = false;
  bool pin = false;
  int64_t events = 0;  // 0: defaults
  int reps = 5;
  int64_t capacity = kDefaultCapacity;
  std::vector<std::string> scenarios;
  std::string json;
  std::string plot;
};

void Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ringflow_bench [--smoke] [--events=N] [--reps=N] "
               "[--scenarios=a,b,...] [--capacity=N] [--pin] [--json=PATH] "
               "[--plot=PATH]\n");
}

bool ParseInt(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) parts.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

// Exits 2 with a message on a bad flag.
Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string_view> {
      if (arg.substr(0, name.size()) == name && arg.size() > name.size() &&
          arg[name.size()] == '=') {
        return arg.substr(name.size() + 1);
      }
      return std::nullopt;
    };
    int64_t number = 0;
    if (arg == "--smoke") {
      flags.smoke = true;
    } else if (arg == "--pin") {
      flags.pin = true;
    } else if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      std::exit(0);
    } else if (auto events = value("--events")) {
      if (!ParseInt(*events, number) || number < 1000) {
        std::fprintf(stderr, "--events must be an integer >= 1000\n");
        std::exit(2);
      }
      flags.events = number;
    } else if (auto reps = value("--reps")) {
      if (!ParseInt(*reps, number) || number < 1 || number > 1000) {
        std::fprintf(stderr, "--reps must be an integer in [1, 1000]\n");
        std::exit(2);
      }
      flags.reps = static_cast<int>(number);
    } else if (auto capacity = value("--capacity")) {
      if (!ParseInt(*capacity, number) || number < 64 ||
          number > (int64_t{1} << 24) || (number & (number - 1)) != 0) {
        std::fprintf(stderr,
                     "--capacity must be a power of two in [64, 2^24]\n");
        std::exit(2);
      }
      flags.capacity = number;
    } else if (auto names = value("--scenarios")) {
      flags.scenarios = Split(*names);
    } else if (auto json = value("--json")) {
      flags.json = std::string(*json);
    } else if (auto plot = value("--plot")) {
      flags.plot = std::string(*plot);
    } else {
      std::fprintf(stderr, "ringflow_bench: unknown flag '%s'\n", argv[i]);
      Usage(stderr);
      std::exit(2);
    }
  }
  return flags;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) {
        return line.substr(colon + 2);
      }
    }
  }
  return "unknown CPU";
}

// 1-minute load average, or -1.
double LoadAverage() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  if (!(file >> load)) return -1;
  return load;
}

// Microseconds in which some runnable task waited for a CPU since boot
// (Linux PSI), or -1.
int64_t CpuPressureMicros() {
  std::ifstream file("/proc/pressure/cpu");
  std::string line;
  while (std::getline(file, line)) {
    const size_t total = line.find("total=");
    if (line.rfind("some", 0) == 0 && total != std::string::npos) {
      return std::atoll(line.c_str() + total + 6);
    }
  }
  return -1;
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// Runs one scenario: warm-up, then reps interleaved.
ScenarioResult RunScenario(const Scenario& s, const Flags& flags) {
  ScenarioResult result;
  result.name = s.name;
  result.unit = s.unit;
  result.higher_is_better = s.higher_is_better;
  result.metrics = s.metrics;
  result.status = s.status;
  result.note = s.note;
  result.bound_label = s.bound_label;
  result.compare_to = s.compare_to;
  result.not_applicable = s.not_applicable;
  if (!s.status.empty()) return result;

  int64_t events = s.smoke_events;
  if (!flags.smoke) {
    events =
        flags.events == 0
            ? s.events
            : std::max<int64_t>(
                  1000, static_cast<int64_t>(static_cast<double>(s.events) *
                                             static_cast<double>(flags.events) /
                                             static_cast<double>(kBaseEvents)));
  }
  events -= events % s.multiple_of;
  const int reps = flags.smoke ? 1 : flags.reps * s.rep_factor;
  const int64_t capacity =
      s.capacity == kDefaultCapacity ? flags.capacity : s.capacity;
  const int timeout_s = flags.smoke ? 120 : 600;
  result.events = events;
  result.reps = reps;
  for (const Impl& impl : s.impls) {
    result.impls.push_back(
        {impl.column, impl.detail, events,
         std::vector<std::vector<double>>(s.metrics.size())});
  }

  const auto started = std::chrono::steady_clock::now();
  std::fprintf(stderr, "%-20s %lld events, %zu implementations x %d reps ...",
               s.name.c_str(), static_cast<long long>(events), s.impls.size(),
               reps);
  const int64_t budget_ns =
      (flags.smoke ? s.smoke_budget_ms : s.budget_ms) * 1'000'000;
  // Events per implementation: the scenario's count, or fewer for an
  // implementation that would need more than kTargetRunSeconds for it
  // (calibrated on the warm-up run), but never fewer than a tenth.
  std::vector<int64_t> impl_events(s.impls.size(), events);
  if (!flags.smoke) {
    const int64_t warm = std::min(
        events, std::max<int64_t>(s.multiple_of * 1000,
                                  events / 10 - (events / 10) % s.multiple_of));
    for (size_t i = 0; i < s.impls.size(); ++i) {
      const Impl& impl = s.impls[i];
      const auto t0 = std::chrono::steady_clock::now();
      impl.run({s.name, impl.column, warm, capacity, timeout_s, budget_ns / 5});
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      if (!s.higher_is_better || seconds <= 0) continue;  // latency: budget
      const double rate = static_cast<double>(warm) / seconds;
      int64_t n = std::clamp(static_cast<int64_t>(rate * kTargetRunSeconds),
                             warm, events);
      n -= n % s.multiple_of;
      impl_events[i] = n;
    }
  }
  for (size_t i = 0; i < s.impls.size(); ++i) {
    result.impls[i].events = impl_events[i];
  }
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < s.impls.size(); ++i) {
      const Metrics m =
          s.impls[i].run({s.name, s.impls[i].column, impl_events[i], capacity,
                          timeout_s, budget_ns});
      for (size_t k = 0; k < m.size() && k < s.metrics.size(); ++k) {
        result.impls[i].samples[k].push_back(m[k]);
      }
    }
  }
  std::fprintf(
      stderr, " %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
  return result;
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  if (flags.pin) Pinning::Get().Enable();
  std::vector<Scenario> scenarios = AllScenarios();

  std::vector<const Scenario*> selected;
  for (const Scenario& s : scenarios) {
    bool wanted = flags.scenarios.empty();
    for (const std::string& name : flags.scenarios) {
      wanted |= name == s.name || name == s.family;
    }
    if (wanted) selected.push_back(&s);
  }
  for (const std::string& name : flags.scenarios) {
    bool known = false;
    for (const Scenario& s : scenarios) {
      known |= name == s.name || name == s.family;
    }
    if (!known) {
      std::fprintf(stderr, "ringflow_bench: unknown scenario '%s'; known:",
                   name.c_str());
      for (const Scenario& s : scenarios) {
        std::fprintf(stderr, " %s", s.name.c_str());
      }
      std::fprintf(stderr, "\n");
      return 2;
    }
  }

  RunInfo info;
  info.date = Today();
  info.cpu_model = CpuModel();
  info.cpus = Pinning::Get().cpus();
  info.reps = flags.smoke ? 1 : flags.reps;
  info.capacity = flags.capacity;
  info.pinned = flags.pin && Pinning::Get().Applies(2);
  info.smoke = flags.smoke;
  if (flags.pin && !info.pinned) {
    std::fprintf(stderr, "--pin: fewer than 2 CPUs available; not pinning\n");
  }

  info.load_before = LoadAverage();
  const int64_t pressure_before = CpuPressureMicros();
  const auto started = std::chrono::steady_clock::now();
  std::vector<ScenarioResult> results;
  for (const Scenario* s : selected) results.push_back(RunScenario(*s, flags));
  info.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  const int64_t pressure_after = CpuPressureMicros();
  if (pressure_before >= 0 && pressure_after >= pressure_before &&
      info.wall_s > 0) {
    info.cpu_pressure =
        std::min(1.0, static_cast<double>(pressure_after - pressure_before) /
                          1e6 / info.wall_s);
  }

  PrintTable(stdout, results, info);
  bool ok = true;
  if (!flags.json.empty()) {
    ok &= WriteJson(flags.json, results, info);
    if (ok) std::printf("JSON written to %s\n", flags.json.c_str());
  }
  if (!flags.plot.empty()) {
    const bool plotted = WritePlot(flags.plot, results, info);
    ok &= plotted;
    if (plotted && std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
      std::printf("plot written to %s\n", flags.plot.c_str());
    }
  }
  std::printf("all scenarios verified\n");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ringflow::bench

int main(int argc, char** argv) { return ringflow::bench::Main(argc, argv); }
