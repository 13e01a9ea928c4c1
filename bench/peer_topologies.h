// bench/peer_topologies.h
//
// The peers' side of each topology scenario, written once for any peer
// adapter P (peers.h), and MakePeerRun<P>, which picks P's run for a
// Scenario: the same shapes as ringflow's runs, built the way a
// user of that queue would build them (a queue per edge for SPSC queues,
// one shared queue for MPMC ones, -1 as the "stop" value for competing
// consumers). Each run verifies what it moved and returns its Metrics.
//
// Thread-safety: each call builds its own queues and threads and joins
// them before returning; call from one thread at a time.

#ifndef RINGFLOW_BENCH_PEER_TOPOLOGIES_H_
#define RINGFLOW_BENCH_PEER_TOPOLOGIES_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "harness.h"
#include "peers.h"
#include "scenario.h"
#include "topology.h"

namespace ringflow::bench {

template <typename P>
Metrics PeerOneToOne(const RunContext& ctx) {
  const int64_t n = ctx.events;
  const WaitMode mode = ModeFor(2);
  P q(ctx.capacity, 1);
  RunClock clock(2, 1);
  int64_t sum = 0;
  // n and mode by value, as ringflow's loops take them: a loop bound read
  // through a reference is reloaded after every atomic store.
  std::thread consumer = Spawn(1, 2, [&q, &clock, &sum, n, mode] {
    auto c = q.MakeConsumer();
    clock.Ready();
    int64_t local = 0;
    for (int64_t i = 0; i < n; ++i) local += Pop(c, mode);
    sum = local;
    clock.Finish();
  });
  std::thread producer = Spawn(0, 2, [&q, &clock, n, mode] {
    auto p = q.MakeProducer();
    clock.Ready();
    clock.WaitGo();
    for (int64_t i = 0; i < n; ++i) Push(p, i, mode);
  });
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  consumer.join();
  producer.join();
  VerifyOneToOne(ctx, sum);
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
  VerifyOneToOne(ctx, sum);
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
  VerifyMulticast(ctx, sums);
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
  VerifyPipeline(ctx, wrong, sum);
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
  VerifyDiamond(ctx, wrong, fizzbuzz);
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// Starts `producers` threads in slots 0..producers-1 of `thread_count`,
// producer p pushing p, p + producers, ... below n one at a time (as
// ringflow's SpawnValueProducers publishes them).
template <typename P>
void SpawnValueProducers(P& q, int64_t n, int producers, int thread_count,
                         WaitMode mode, RunClock& clock,
                         std::vector<std::thread>& threads) {
  for (int p = 0; p < producers; ++p) {
    threads.push_back(
        Spawn(p, thread_count, [&q, &clock, n, producers, p, mode] {
          auto producer = q.MakeProducer();
          clock.Ready();
          clock.WaitGo();
          for (int64_t v = p; v < n; v += producers) Push(producer, v, mode);
        }));
  }
}

// `producers` producers (producer p pushes p, p + producers, ...; ctx.events
// a multiple of producers), one consumer checking the sum and, where the
// peer keeps it (kProducerFifo), each producer's order.
template <typename P>
Metrics PeerManyToOne(const RunContext& ctx, int producers) {
  static_assert(!P::kSpsc, "several threads share one end of the queue");
  const int64_t n = ctx.events;
  const int thread_count = producers + 1;
  const WaitMode mode = ModeFor(thread_count);
  P q(ctx.capacity, producers);
  RunClock clock(thread_count, 1);
  ManyToOneSink sink(&clock, n - 1, producers);
  std::vector<std::thread> threads;
  threads.push_back(Spawn(producers, thread_count, [&] {
    auto c = q.MakeConsumer();
    clock.Ready();
    for (int64_t i = 0; i < n; ++i) sink.Take(Pop(c, mode));
    clock.Finish();
  }));
  SpawnValueProducers(q, n, producers, thread_count, mode, clock, threads);
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (auto& t : threads) t.join();
  VerifyManyToOne(ctx, sink.out_of_order(), sink.sum(), P::kProducerFifo);
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

// `producers` producers (pushing as in PeerManyToOne), `consumers`
// competing consumers; each event handled exactly once (checked).
//
// The end: no producer pushes a -1 per consumer after its last value.
// With several producers an MPMC queue need not hand values out in the
// order they were pushed across producers (moodycamel keeps a sub-queue per
// producer token, and a consumer may take a -1 from one while another
// still holds values), so a -1 pushed even after every producer finished
// could stop a consumer early. Instead each consumer publishes how many
// events it handled, the scenario thread polls the sum as
// RingflowManyToWorkerPool polls IsDrained (and is the finisher as there),
// and only once all n are handled pushes the -1s that let the consumers
// leave. WorkerPool's one producer ends the same way.
template <typename P>
Metrics PeerManyToMany(const RunContext& ctx, int producers, int consumers) {
  static_assert(!P::kSpsc, "several threads share one end of the queue");
  const int64_t n = ctx.events;
  const int thread_count = producers + consumers;
  const WaitMode mode = ModeFor(thread_count);
  P q(ctx.capacity, producers + 1);  // + the scenario thread's -1s
  RunClock clock(thread_count, 1);
  // One line per consumer: its handled count, written by that consumer only.
  struct alignas(kFalseSharingRange) HandledCount {
    std::atomic<int64_t> value{0};
  };
  static_assert(sizeof(HandledCount) == kFalseSharingRange,
                "one consumer's count per 128-byte pair of lines");
  std::vector<HandledCount> handled(static_cast<size_t>(consumers));
  std::vector<SeenBitmap> seen(static_cast<size_t>(consumers), SeenBitmap(n));
  std::vector<int64_t> counts(static_cast<size_t>(consumers), 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c) {
    threads.push_back(Spawn(producers + c, thread_count, [&, c] {
      auto consumer = q.MakeConsumer();
      SeenBitmap& mine = seen[static_cast<size_t>(c)];
      std::atomic<int64_t>& published = handled[static_cast<size_t>(c)].value;
      clock.Ready();
      int64_t count = 0;
      for (;;) {
        const int64_t v = Pop(consumer, mode);
        if (v < 0) break;
        mine.Mark(v);
        // Relaxed: a progress count that only decides when the scenario
        // thread pushes the -1s; publishes no data (the bitmaps and
        // `counts` are read after join). A store to this consumer's own
        // line, which the scenario thread reads every 20 us.
        published.store(++count, std::memory_order_relaxed);
      }
      counts[static_cast<size_t>(c)] = count;
    }));
  }
  SpawnValueProducers(q, n, producers, thread_count, mode, clock, threads);
  auto handled_total = [&] {
    int64_t total = 0;
    // Relaxed: see the consumers' store.
    for (const HandledCount& h : handled) {
      total += h.value.load(std::memory_order_relaxed);
    }
    return total;
  };
  const int64_t start = clock.Start();
  // Polls with short sleeps: this thread must not take a core from the
  // benchmark threads. Adds at most a few tens of microseconds.
  while (handled_total() < n) {
    if (NowNs() - start > int64_t{ctx.timeout_s} * 1'000'000'000) {
      FailTimeout(ctx.scenario, ctx.impl, ctx.timeout_s);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  clock.Finish();
  {
    // Every value was taken: each consumer takes exactly one -1.
    auto stopper = q.MakeProducer();
    for (int c = 0; c < consumers; ++c) Push(stopper, -1, mode);
  }
  for (auto& t : threads) t.join();
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  VerifyWorkers(ctx, total, seen);
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
  // Each ping waits for its pong: as many received as sent.
  VerifyPingPong(ctx, round_trips, round_trips, histogram.count(), wrong);
  return Percentiles(histogram);
}

// The run of scenario `s` for peer P (`Blocking`: P's blocking variant, for
// kPingPong with kBlocking; void when it has none), or null when P's API
// does not offer `s`'s topology: a batch needs the bulk API (HasBulk), many
// producers or consumers a queue that several threads share (not kSpsc).
template <typename P, typename Blocking = void>
RunFn MakePeerRun(const Scenario& s) {
  const int producers = s.producers;
  const int consumers = s.consumers;
  const int64_t k = s.batch;
  switch (s.topology) {
    case Topology::kOneToOne:
      if (k == 1) return &PeerOneToOne<P>;
      if constexpr (HasBulk<P>) {
        return [k](const RunContext& c) { return PeerOneToOneBatch<P>(c, k); };
      }
      return nullptr;
    case Topology::kOneToThreeMulticast:
      return &PeerMulticast<P>;
    case Topology::kOneToThreePipeline:
      return &PeerPipeline<P>;
    case Topology::kOneToThreeDiamond:
      return &PeerDiamond<P>;
    case Topology::kManyToOne:
      if constexpr (!P::kSpsc) {
        return [producers](const RunContext& c) {
          return PeerManyToOne<P>(c, producers);
        };
      }
      return nullptr;
    case Topology::kManyToWorkers:
      if constexpr (!P::kSpsc) {
        return [producers, consumers](const RunContext& c) {
          return PeerManyToMany<P>(c, producers, consumers);
        };
      }
      return nullptr;
    case Topology::kPingPong:
      if (s.wait != WaitStrategyKind::kBlocking) return &PeerPingPong<P>;
      if constexpr (!std::is_void_v<Blocking>) return &PeerPingPong<Blocking>;
      return nullptr;
    case Topology::kOwn:
      return nullptr;  // a family's own shape: its columns carry their runs
  }
  return nullptr;
}

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEER_TOPOLOGIES_H_
