// bench/sharded_topologies.cc — ringflow's sharded runs (the header says
// which).

#include "sharded_topologies.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "peer_topologies.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/sharded_event_processor.h"
#include "ringflow/processors/sharded_queue.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

// The ShardedQueue in the peers' adapter shape (peers.h). Producer tokens
// are registered where MakeProducer is called: on the producer's thread in
// every run, so each shard is first touched there. Spinning wait strategy,
// as the lock-free peers: the harness's Backoff does the waiting.
class ShardedQueueAdapter {
 public:
  using Queue = ShardedQueue<int64_t>;
  static constexpr std::string_view kName = kRingflowColumn;
  static constexpr bool kSpsc = false;
  static constexpr bool kProducerFifo = true;

  ShardedQueueAdapter(int64_t capacity, int producers) {
    auto queue = Queue::Create({.shard_capacity = capacity,
                                .max_producers = producers,
                                .wait_strategy = WaitStrategyKind::kBusySpin,
                                .name = "bench"});
    if (!queue.ok()) Die(queue.status().ToString());
    q_ = std::move(*queue);
  }

  struct Producer {
    Queue* q;
    Queue::ProducerToken token;
    bool TryPush(int64_t v) noexcept { return q->TryEnqueue(token, v); }
    size_t TryPushBulk(const int64_t* v, size_t n) noexcept {
      return q->TryEnqueueBulk(token, std::span<const int64_t>(v, n));
    }
  };
  struct Consumer {
    Queue* q;
    Queue::ConsumerToken token;
    bool TryPop(int64_t& v) { return q->TryDequeue(token, v); }
    size_t TryPopBulk(int64_t* out, size_t max) {
      return q->TryDequeueBulk(token, std::span<int64_t>(out, max));
    }
  };
  Producer MakeProducer() {
    auto token = q_->RegisterProducer();
    if (!token.ok()) Die(token.status().ToString());
    return {q_.get(), std::move(*token)};
  }
  Consumer MakeConsumer() { return {q_.get(), q_->MakeConsumerToken()}; }

 private:
  [[noreturn]] static void Die(const std::string& what) {
    std::fprintf(stderr, "ShardedQueue setup failed: %s\n", what.c_str());
    std::abort();
  }
  std::unique_ptr<Queue> q_;
};

// ManyToOneSink's checks (sum, each producer's order), finishing at the
// n-th event (a shard's sequence says nothing about the others'; the last
// event ends its shard's run). kOne: OneToOne's handler's work (a sum)
// plus an order check without the sink's per-event division.
template <bool kOne>
class alignas(kFalseSharingRange) ShardedSink {
 public:
  ShardedSink(RunClock* clock, int64_t n, int producers)
      : clock_(clock), n_(n), sink_(clock, -1, producers) {}
  void OnStart() { clock_->Ready(); }
  void OnEvent(const int64_t& event, int64_t, bool end) noexcept {
    if constexpr (kOne) {
      sum_ += event;
      out_of_order_ += event != count_;
    } else {
      sink_.Take(event);
    }
    ++count_;
    if (end && count_ == n_) clock_->Finish();
  }
  int64_t sum() const { return kOne ? sum_ : sink_.sum(); }
  int64_t out_of_order() const {
    return kOne ? out_of_order_ : sink_.out_of_order();
  }

 private:
  RunClock* clock_;
  int64_t n_;
  int64_t count_ = 0;
  int64_t sum_ = 0;           // kOne
  int64_t out_of_order_ = 0;  // kOne
  ManyToOneSink sink_;        // !kOne
};

template <bool kOne>
Metrics RunShardedManyToOne(const RunContext& ctx, int producers) {
  const int64_t n = ctx.events;  // a multiple of producers
  const int thread_count = producers + 1;
  ShardedRingOptions options;
  options.shard.capacity = ctx.capacity;
  options.shard.wait_strategy = StrategyFor(thread_count);
  options.shard.name = "bench";
  options.max_producers = producers;
  auto ring = ShardedRing<int64_t>::Create(options);
  if (!ring.ok()) Fail(ctx.scenario, ctx.impl, ring.status().ToString());
  RunClock clock(thread_count, 1);
  ShardedSink<kOne> sink(&clock, n, producers);
  auto processor =
      ShardedEventProcessor<int64_t, ShardedSink<kOne>>::Create(**ring, sink);
  if (!processor.ok()) {
    Fail(ctx.scenario, ctx.impl, processor.status().ToString());
  }
  std::vector<std::thread> threads;
  threads.push_back(
      Spawn(producers, thread_count, [&] { (*processor)->Run(); }));
  auto refused = std::make_unique<bool[]>(static_cast<size_t>(producers));
  for (int p = 0; p < producers; ++p) {
    threads.push_back(Spawn(p, thread_count, [&, p, n, producers] {
      // On this thread: the shard's events are first touched here.
      auto producer = (*ring)->RegisterProducer();
      if (!producer.ok()) {
        Fail(ctx.scenario, ctx.impl, producer.status().ToString());
      }
      auto& shard = **producer;  // a local, as the peers' producer handles
      clock.Ready();
      clock.WaitGo();
      for (int64_t v = p; v < n; v += producers) {
        if (!shard.PublishEvent([v](int64_t& e, int64_t) noexcept { e = v; })) {
          refused[static_cast<size_t>(p)] = true;
          return;
        }
      }
    }));
  }
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  (*processor)->Halt();
  for (auto& t : threads) t.join();
  for (int p = 0; p < producers; ++p) {
    Check(ctx, !refused[static_cast<size_t>(p)],
          "the ring refused producer " + std::to_string(p) + " a claim");
  }
  VerifyManyToOne(ctx, sink.out_of_order(), sink.sum());
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

}  // namespace

Metrics ShardedManyToOne(const RunContext& ctx, int producers) {
  return producers == 1 ? RunShardedManyToOne<true>(ctx, 1)
                        : RunShardedManyToOne<false>(ctx, producers);
}

RunFn ShardedRun(const Scenario& s, Runner runner) {
  if (runner == Runner::kShardedQueue) {
    return MakePeerRun<ShardedQueueAdapter>(s);
  }
  const int producers = s.producers;
  if (s.topology == Topology::kOneToOne && s.batch == 1) {
    return [](const RunContext& c) { return ShardedManyToOne(c, 1); };
  }
  if (s.topology == Topology::kManyToOne) {
    return [producers](const RunContext& c) {
      return ShardedManyToOne(c, producers);
    };
  }
  return nullptr;
}

}  // namespace ringflow::bench
