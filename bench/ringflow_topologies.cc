// bench/ringflow_topologies.cc — ringflow's side of the topology scenarios:
// the handlers of each graph and one timed, verified run per scenario.

#include "ringflow_topologies.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"
#include "ringflow/ringflow.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

using Ring = RingBuffer<int64_t>;

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
    std::vector<const Sequence*> dependents = {},
    ProcessorOptions options = {}) {
  auto processor = BatchEventProcessor<E, H>::Create(
      ring, handler, std::move(dependents), std::move(options));
  if (!processor.ok()) {
    Fail(ctx.scenario, ctx.impl, processor.status().ToString());
  }
  return std::move(*processor);
}

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

// The producer of the one-producer kinds: value i at sequence i below n,
// one PublishEvent each. The loop reaches the ring through a local
// reference, as the peers' producers hold a local handle (through the
// lambda-captured unique_ptr it is reloaded after every publish:
// docs/architecture.md, "Measured figures").
std::thread SpawnSequenceProducer(int index, int threads, RunClock& clock,
                                  bool& refused, Ring& ring, int64_t n) {
  return SpawnProducer(index, threads, clock, refused, [&ring, n] {
    Ring& r = ring;
    for (int64_t i = 0; i < n; ++i) {
      if (!r.PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; })) {
        return false;
      }
    }
    return true;
  });
}

// ---- ringflow handlers -----------------------------------------------------
//
// Each handler is alignas(kFalseSharingRange): its processor thread writes
// its state (a sum, a count) at the end of every batch, and the handlers
// live on the main thread's stack beside what the producer reads on every
// event. Unaligned, the stack's random placement (ASLR moves it in 16-byte
// steps) put a handler on the producer's lines in about one process in
// eight: OneToOneBatch10 ran at ~890 M ev/s in those and ~1,580 in the rest
// (16 processes; docs/architecture.md, "Measured figures"). A user's
// handler is in the same position; EventHandler's comment says so.

// Sums the events; crosses the finish line at the last sequence.
class alignas(kFalseSharingRange) SumHandler {
 public:
  SumHandler(RunClock* clock, int64_t last) : clock_(clock), last_(last) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(int64_t& event, int64_t sequence, bool end) noexcept {
    sum_ += event;
    // The last event always ends its batch (nothing after it is published).
    if (end && sequence == last_) clock_->Finish();
  }
  int64_t sum() const { return sum_; }

 private:
  RunClock* clock_;
  int64_t last_;
  int64_t sum_ = 0;  // processor thread; read after join
};

// A pipeline stage: adds one to the event in place.
class alignas(kFalseSharingRange) AddOneHandler {
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
class alignas(kFalseSharingRange) PipelineSink {
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
class alignas(kFalseSharingRange) DivisibleHandler {
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

class alignas(kFalseSharingRange) FizzBuzzHandler {
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

// A worker pool member: records which events it handled.
class alignas(kFalseSharingRange) PoolWorker {
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
class alignas(kFalseSharingRange) Ponger {
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
class alignas(kFalseSharingRange) Pinger {
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

// Starts `producers` threads in slots 0..producers-1 of `thread_count`,
// producer p publishing p, p + producers, ... below n one event at a time
// (ThreeToOne, WorkerPool and Scaling). Element p of the result turns true
// if the ring refused producer p a claim; read it after the join.
std::unique_ptr<bool[]> SpawnValueProducers(Ring& ring, int64_t n,
                                            int producers, int thread_count,
                                            RunClock& clock,
                                            std::vector<std::thread>& threads) {
  // Value-initialised: no producer refused yet.
  auto refused = std::make_unique<bool[]>(static_cast<size_t>(producers));
  for (int p = 0; p < producers; ++p) {
    threads.push_back(SpawnProducer(
        p, thread_count, clock, refused[static_cast<size_t>(p)],
        [&ring, n, producers, p] {
          for (int64_t v = p; v < n; v += producers) {
            if (!ring.PublishEvent(
                    [v](int64_t& e, int64_t) noexcept { e = v; })) {
              return false;
            }
          }
          return true;
        }));
  }
  return refused;
}

void CheckNoneRefused(const RunContext& ctx, const bool* refused,
                      int producers) {
  for (int p = 0; p < producers; ++p) {
    Check(ctx, !refused[p],
          "the ring refused producer " + std::to_string(p) + " a claim");
  }
}

}  // namespace

Metrics RingflowOneToOne(const RunContext& ctx, bool counters,
                         int backoff_pauses) {
  const int64_t n = ctx.events;
  auto ring = MakeRing(ctx, ctx.capacity, ProducerType::kSingle,
                       WaitStrategyKind::kBusySpin, counters);
  RunClock clock(2, 1);
  SumHandler handler(&clock, n - 1);
  auto processor = MakeProcessor(ctx, *ring, handler, {},
                                 {.stream_backoff_pauses = backoff_pauses});
  std::thread consumer = Spawn(1, 2, [&] { processor->Run(); });
  bool refused = false;
  std::thread producer = SpawnSequenceProducer(0, 2, clock, refused, *ring, n);
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  processor->Halt();
  consumer.join();
  producer.join();
  Check(ctx, !refused, "the ring refused a claim");
  VerifyOneToOne(ctx, handler.sum());
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
  std::thread producer = SpawnProducer(0, 2, clock, refused, [&ring, n, k] {
    auto& r = *ring;  // a local, as the peers' producer handles
    for (int64_t i = 0; i < n; i += k) {
      // Sequence s carries value s: the ring starts at 0, one producer.
      if (!r.PublishEvents(std::min(k, n - i),
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
  VerifyOneToOne(ctx, handler.sum());
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// OneToOnePoller (lease = false): EventPoller::Poll in a spinning loop.
// OneToOneLease (lease = true): EventPoller::TryLeaseBatch, reading the
// events in place and releasing the whole batch at once. Both as the
// README tells a reader that spins over a dense stream:
// PollerOptions::stream_backoff_pauses = 256, CpuRelax when nothing came.
Metrics RingflowOneToOnePoller(const RunContext& ctx, bool lease) {
  const int64_t n = ctx.events;
  auto ring = MakeRing(ctx, ctx.capacity, ProducerType::kSingle,
                       WaitStrategyKind::kBusySpin);
  auto poller =
      EventPoller<int64_t>::Create(*ring, {}, {.stream_backoff_pauses = 256});
  if (!poller.ok()) Fail(ctx.scenario, ctx.impl, poller.status().ToString());
  RunClock clock(2, 1);
  int64_t sum = 0;
  std::thread consumer = Spawn(1, 2, [&] {
    EventPoller<int64_t>& reader = **poller;  // a local, as the producer's
    clock.Ready();
    int64_t count = 0;
    int64_t local = 0;
    if (lease) {
      while (count < n) {
        auto batch = reader.TryLeaseBatch(INT64_MAX);
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
        if (reader.Poll(handler) != PollState::kProcessing) CpuRelax();
      }
    }
    sum = local;
    clock.Finish();
  });
  bool refused = false;
  std::thread producer = SpawnSequenceProducer(0, 2, clock, refused, *ring, n);
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  consumer.join();
  producer.join();
  Check(ctx, !refused, "the ring refused a claim");
  VerifyOneToOne(ctx, sum);
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
  threads.push_back(
      SpawnSequenceProducer(0, kThreads, clock, refused, *ring, n));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& p : procs) p->Halt();
  for (auto& t : threads) t.join();
  Check(ctx, !refused, "the ring refused a claim");
  std::array<int64_t, kConsumers> sums{};
  for (size_t c = 0; c < sums.size(); ++c) sums[c] = handlers[c]->sum();
  VerifyMulticast(ctx, sums);
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
  threads.push_back(
      SpawnSequenceProducer(0, kThreads, clock, refused, *ring, n));
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  p1->Halt();
  p2->Halt();
  p3->Halt();
  for (auto& t : threads) t.join();
  Check(ctx, !refused, "the ring refused a claim");
  VerifyPipeline(ctx, sink.wrong(), sink.sum());
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
  threads.push_back(SpawnProducer(0, kThreads, clock, refused, [&ring, n] {
    auto& r = *ring;  // a local, as the peers' producer handles
    for (int64_t i = 0; i < n; ++i) {
      if (!r.PublishEvent([i](FizzBuzzEvent& e, int64_t) noexcept {
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
  VerifyDiamond(ctx, fizzbuzz.wrong(), fizzbuzz.fizzbuzz());
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowManyToOne(const RunContext& ctx, int producers) {
  const int64_t n = ctx.events;  // a multiple of producers
  const int thread_count = producers + 1;
  auto ring = MakeRing(ctx, ctx.capacity, ProducerType::kMulti,
                       StrategyFor(thread_count));
  RunClock clock(thread_count, 1);
  ManyToOneSink sink(&clock, n - 1, producers);
  auto processor = MakeProcessor(ctx, *ring, sink);
  std::vector<std::thread> threads;
  threads.push_back(Spawn(producers, thread_count, [&] { processor->Run(); }));
  const std::unique_ptr<bool[]> refused =
      SpawnValueProducers(*ring, n, producers, thread_count, clock, threads);
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  processor->Halt();
  for (auto& t : threads) t.join();
  CheckNoneRefused(ctx, refused.get(), producers);
  VerifyManyToOne(ctx, sink.out_of_order(), sink.sum());
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowThreeToOne(const RunContext& ctx) {
  return RingflowManyToOne(ctx, kProducers);
}

Metrics RingflowManyToWorkerPool(const RunContext& ctx, ProducerType type,
                                 int producers, int workers) {
  const int64_t n = ctx.events;  // a multiple of producers
  const int thread_count = producers + workers;
  Check(ctx, type == ProducerType::kMulti || producers == 1,
        "a kSingle ring has one producer");
  auto ring = MakeRing(ctx, ctx.capacity, type, StrategyFor(thread_count));
  // The scenario thread detects the end (IsDrained): it is the finisher.
  RunClock clock(thread_count, 1);
  std::vector<SeenBitmap> seen(static_cast<size_t>(workers), SeenBitmap(n));
  std::vector<PoolWorker> handlers;
  for (int w = 0; w < workers; ++w) {
    handlers.emplace_back(&clock, &seen[static_cast<size_t>(w)]);
  }
  auto pool = WorkerPool<int64_t, PoolWorker>::Create(
      *ring, std::span<PoolWorker>(handlers));
  if (!pool.ok()) Fail(ctx.scenario, ctx.impl, pool.status().ToString());
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    // Our own threads (for --pin) run the pool's workers.
    threads.push_back(Spawn(producers + w, thread_count, [&, w] {
      (*pool)->worker(static_cast<size_t>(w)).Run();
    }));
  }
  const std::unique_ptr<bool[]> refused =
      SpawnValueProducers(*ring, n, producers, thread_count, clock, threads);
  const int64_t start = clock.Start();
  // Polls with short sleeps: this thread must not take a core from the
  // benchmark threads. Adds at most a few tens of microseconds. Every event
  // published (PublishedSequence: for kMulti the cursor is only the highest
  // claim), then none left unhandled.
  while (!(ring->PublishedSequence() == n - 1 && (*pool)->IsDrained())) {
    if (NowNs() - start > int64_t{ctx.timeout_s} * 1'000'000'000) {
      FailTimeout(ctx.scenario, ctx.impl, ctx.timeout_s);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  clock.Finish();
  (*pool)->Halt();
  for (auto& t : threads) t.join();
  CheckNoneRefused(ctx, refused.get(), producers);
  int64_t total = 0;
  for (const PoolWorker& h : handlers) total += h.count();
  VerifyWorkers(ctx, total, seen);
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

Metrics RingflowWorkerPool(const RunContext& ctx) {
  return RingflowManyToWorkerPool(ctx, ProducerType::kSingle, 1, kConsumers);
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
  VerifyPingPong(ctx, pinger.sent(), pinger.received(),
                 pinger.histogram().count(), pinger.wrong());
  return Percentiles(pinger.histogram());
}

}  // namespace ringflow::bench
