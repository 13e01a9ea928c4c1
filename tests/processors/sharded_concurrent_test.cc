// Threads on a ShardedRing and a ShardedQueue, checked by content: exact
// counts and sums, and each producer's order, while producers register
// and leave under a running consumer; a pipeline after the merge; the
// queue's competing consumers, blocking waits (woken by an enqueue, a
// timeout, Close) and Close racing enqueues and dequeues.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/sharded_disruptor.h"
#include "ringflow/processors/sharded_event_processor.h"
#include "ringflow/processors/sharded_queue.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"
#include "support/topo_spin.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::SpinUntil;

constexpr int kProducers = 3;

struct Tagged {
  int64_t producer = -1;
  int64_t n = -1;  // the producer's running count, over all its shards
};

// Registers a producer, retrying while every shard is in use (the test
// runs more producer threads than shards).
template <typename Register>
auto RegisterRetrying(Register&& register_producer) {
  for (;;) {
    auto producer = register_producer();
    if (producer.ok() ||
        producer.status().code() != absl::StatusCode::kResourceExhausted) {
      return producer;
    }
    std::this_thread::yield();
  }
}

// Checks the order of each registration (a producer's handle: its events
// arrive in the order it published them; a producer that registers again
// starts a new stream, which may overtake what its old shard still holds)
// and keeps exact totals. Events of one handle carry consecutive n, and a
// handle's first n is a multiple of `per_handle`. Handler thread only,
// except the atomics.
struct OrderChecker {
  explicit OrderChecker(int64_t handle_size) : per_handle(handle_size) {}
  int64_t per_handle;
  // Expected next n by (producer, handle number); grown on the handler
  // thread only.
  std::vector<std::vector<int64_t>> next =
      std::vector<std::vector<int64_t>>(kProducers);
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> sum{0};
  std::atomic<int64_t> out_of_order{0};
  void OnEvent(const Tagged& t, int64_t, bool) noexcept {
    const size_t handle = static_cast<size_t>(t.n / per_handle);
    std::vector<int64_t>& expected = next[static_cast<size_t>(t.producer)];
    while (expected.size() <= handle) {
      expected.push_back(static_cast<int64_t>(expected.size()) * per_handle);
    }
    if (t.n != expected[handle]) {
      out_of_order.fetch_add(1, std::memory_order_relaxed);
    }
    expected[handle] = t.n + 1;
    sum.fetch_add(t.n, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_release);
  }
};

// kProducers threads, producer p registering with `register_producer()`
// and publishing {p, 0}, {p, 1}, ... {p, per_producer - 1}; returns once
// all of them finished.
template <typename Register>
void PublishFromEachProducer(Register register_producer, int64_t per_producer) {
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      auto producer = register_producer();
      ASSERT_OK(producer.status());
      for (int64_t n = 0; n < per_producer; ++n) {
        ASSERT_TRUE((*producer)->PublishEvent([&](Tagged& t, int64_t) {
          t.producer = p;
          t.n = n;
        }));
      }
    });
  }
  for (auto& t : producers) t.join();
}

int64_t SumBelow(int64_t n) { return n * (n - 1) / 2; }

TEST(ShardedConcurrentTest, ProducersJoinAndLeaveWhileAProcessorRuns) {
  ShardedRingOptions options;
  options.shard.capacity = 64;
  options.shard.wait_strategy = WaitStrategyKind::kBlocking;
  options.max_producers = 2;  // fewer than the producer threads
  ASSERT_OK_AND_ASSIGN(auto ring, ShardedRing<Tagged>::Create(options));
  const int64_t per_round = 500;
  OrderChecker checker(per_round);
  ASSERT_OK_AND_ASSIGN(
      auto processor,
      (ShardedEventProcessor<Tagged, OrderChecker>::Create(*ring, checker)));
  std::thread consumer([&] { processor->Run(); });

  const int64_t rounds = Events(400);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      int64_t n = 0;
      for (int64_t r = 0; r < rounds; ++r) {
        auto producer =
            RegisterRetrying([&] { return ring->RegisterProducer(); });
        ASSERT_OK(producer.status());
        for (int64_t i = 0; i < per_round; ++i, ++n) {
          ASSERT_TRUE((*producer)->PublishEvent([&](Tagged& t, int64_t) {
            t.producer = p;
            t.n = n;
          }));
        }
      }  // each round's handle is dropped with events still unread
    });
  }
  for (auto& t : producers) t.join();
  const int64_t total = kProducers * rounds * per_round;
  ASSERT_TRUE(SpinUntil(
      [&] { return checker.count.load(std::memory_order_acquire) == total; }));
  // Every drained shard of a departed producer is freed.
  ASSERT_TRUE(SpinUntil([&] { return ring->ShardCount() == 0; }));
  processor->Halt();
  consumer.join();
  EXPECT_OK(processor->status());
  EXPECT_EQ(checker.count.load(), total);
  EXPECT_EQ(checker.sum.load(), kProducers * SumBelow(rounds * per_round));
  EXPECT_EQ(checker.out_of_order.load(), 0);
}

TEST(ShardedConcurrentTest, AShardIsBuiltOnItsProducersThread) {
  ShardedRingOptions options;
  options.shard.capacity = 8;
  options.max_producers = 2;
  std::atomic<int> on_main{0}, elsewhere{0};
  const std::thread::id main_id = std::this_thread::get_id();
  auto ring = ShardedRing<Tagged>::Create(options, [&] {
    (std::this_thread::get_id() == main_id ? on_main : elsewhere)
        .fetch_add(1, std::memory_order_relaxed);
    return Tagged{};
  });
  ASSERT_OK(ring.status());
  EXPECT_EQ(on_main.load(), 0);  // nothing is built before a producer
  std::thread producer([&] {
    auto shard = (*ring)->RegisterProducer();
    ASSERT_OK(shard.status());
  });
  producer.join();
  // Every event of the shard was constructed (first touched) there.
  EXPECT_EQ(elsewhere.load(), 8);
  EXPECT_EQ(on_main.load(), 0);
}

// Registrations racing each other (and drops) never hand one shard index
// to two live producers: each thread marks its index occupied while it
// holds the handle. (An index given back before its shard was published
// let two registrations take it; the ci build's segfault, 20:22.)
TEST(ShardedConcurrentTest, RacingRegistrationsNeverShareAShard) {
  ShardedRingOptions options;
  options.shard.capacity = 8;
  options.max_producers = 3;
  ASSERT_OK_AND_ASSIGN(auto ring, ShardedRing<Tagged>::Create(options));
  std::vector<std::atomic<int>> occupied(3);
  std::atomic<int64_t> shared{0}, registered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < Events(3000) + 100; ++i) {
        auto producer = ring->RegisterProducer();
        if (!producer.ok()) continue;  // all shards in use: try again
        registered.fetch_add(1);
        std::atomic<int>& mine = occupied[producer->index()];
        if (mine.fetch_add(1) != 0) shared.fetch_add(1);
        // Held a while (publishing, yielding), so that two holders of one
        // index would overlap.
        for (int k = 0; k < 4; ++k) {
          ASSERT_TRUE((*producer)->TryPublishEvent([](Tagged&, int64_t) {}));
          std::this_thread::yield();
        }
        mine.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(shared.load(), 0);
  EXPECT_GT(registered.load(), 0);
  EXPECT_EQ(ring->ShardCount(), 0);  // no consumer holds any
}

// Downstream stage: each event must have been handled upstream first.
struct AfterStage {
  const std::vector<std::atomic<int64_t>>* upstream_last;
  OrderChecker order;
  std::atomic<int64_t> early{0};
  void OnEvent(const Tagged& t, int64_t s, bool end) noexcept {
    if ((*upstream_last)[t.producer].load(std::memory_order_acquire) < t.n) {
      early.fetch_add(1, std::memory_order_relaxed);
    }
    order.OnEvent(t, s, end);
  }
};
struct UpstreamStage {
  std::vector<std::atomic<int64_t>> last =
      std::vector<std::atomic<int64_t>>(kProducers);
  UpstreamStage() {
    for (auto& l : last) l.store(-1);
  }
  void OnEvent(const Tagged& t, int64_t, bool) noexcept {
    last[t.producer].store(t.n, std::memory_order_release);
  }
};

TEST(ShardedConcurrentTest, APipelineAfterTheMergeSeesOnlyHandledEvents) {
  ShardedRingOptions options;
  options.shard.capacity = 32;
  options.shard.wait_strategy = WaitStrategyKind::kYielding;
  options.max_producers = kProducers;
  ASSERT_OK_AND_ASSIGN(auto ring, ShardedRing<Tagged>::Create(options));
  UpstreamStage first;
  const int64_t per_producer = Events(100'000);
  AfterStage second{&first.last, OrderChecker(per_producer), {}};
  ASSERT_OK_AND_ASSIGN(
      auto a,
      (ShardedEventProcessor<Tagged, UpstreamStage>::Create(*ring, first)));
  ASSERT_OK_AND_ASSIGN(auto b,
                       (ShardedEventProcessor<Tagged, AfterStage>::Create(
                           *ring, second, {&a->poller()})));
  std::thread ta([&] { a->Run(); });
  std::thread tb([&] { b->Run(); });
  PublishFromEachProducer([&] { return ring->RegisterProducer(); },
                          per_producer);
  const int64_t total = kProducers * per_producer;
  ASSERT_TRUE(SpinUntil([&] {
    return second.order.count.load(std::memory_order_acquire) == total;
  }));
  b->Halt();
  tb.join();
  a->Halt();
  ta.join();
  EXPECT_EQ(second.early.load(), 0);
  EXPECT_EQ(second.order.out_of_order.load(), 0);
  EXPECT_EQ(second.order.sum.load(), kProducers * SumBelow(per_producer));
}

// ---- the processor's policies and waits --------------------------------

struct ThrowAt {
  int64_t bad_n;
  std::atomic<int64_t> handled{0};
  void OnEvent(const Tagged& t, int64_t, bool) {
    if (t.n == bad_n) throw std::runtime_error("bad event");
    handled.fetch_add(1, std::memory_order_release);
  }
};

std::unique_ptr<ShardedRing<Tagged>> MakeRing(WaitStrategyKind wait) {
  ShardedRingOptions options;
  options.shard.capacity = 16;
  options.shard.wait_strategy = wait;
  options.max_producers = 2;
  auto ring = ShardedRing<Tagged>::Create(options);
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

TEST(ShardedProcessorTest, HaltPolicyStopsBeforeTheFailingEvent) {
  auto ring = MakeRing(WaitStrategyKind::kYielding);
  ThrowAt handler{5};
  ASSERT_OK_AND_ASSIGN(auto processor,
                       (ShardedEventProcessor<Tagged, ThrowAt>::Create(
                           *ring, handler, {}, {.name = "thrower"})));
  ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
  for (int64_t n = 0; n < 10; ++n) {
    ASSERT_TRUE(producer->TryPublishEvent([n](Tagged& t, int64_t) {
      t.producer = 0;
      t.n = n;
    }));
  }
  std::thread consumer([&] { processor->Run(); });
  consumer.join();  // Run returns: the policy halted it
  EXPECT_EQ(handler.handled.load(), 5);
  EXPECT_EQ(processor->exception_count(), 1u);
  EXPECT_THAT(processor->status(),
              ::ringflow::testing::StatusIs(
                  absl::StatusCode::kAborted,
                  ::testing::HasSubstr("'thrower' threw at sequence 5")));
  // The failing event and the ones after it are still in the shard.
  EXPECT_EQ(processor->poller().SequenceOf(producer.index()), 4);
}

TEST(ShardedProcessorTest, LogAndContinueSkipsOnlyTheFailingEvent) {
  auto ring = MakeRing(WaitStrategyKind::kYielding);
  ThrowAt handler{3};
  ASSERT_OK_AND_ASSIGN(
      auto processor,
      (ShardedEventProcessor<Tagged, ThrowAt>::Create(
          *ring, handler, {},
          {.exception_policy = ExceptionPolicy::LogAndContinue()})));
  std::thread consumer([&] { processor->Run(); });
  ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
  for (int64_t n = 0; n < 100; ++n) {
    ASSERT_TRUE(producer->PublishEvent([n](Tagged& t, int64_t) {
      t.producer = 0;
      t.n = n;
    }));
  }
  ASSERT_TRUE(SpinUntil([&] { return handler.handled.load() == 99; }));
  processor->Halt();
  consumer.join();
  EXPECT_EQ(processor->exception_count(), 1u);
  EXPECT_OK(processor->status());
}

TEST(ShardedProcessorTest, BadOptionsAreRefused) {
  auto ring = MakeRing(WaitStrategyKind::kBusySpin);
  ThrowAt handler{0};
  EXPECT_THAT(
      (ShardedEventProcessor<Tagged, ThrowAt>::Create(
           *ring, handler, {}, {.exception_policy = ExceptionPolicy::Rewind(2)})
           .status()),
      ::ringflow::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                    ::testing::HasSubstr("kRewind")));
  EXPECT_THAT(
      (ShardedEventProcessor<Tagged, ThrowAt>::Create(*ring, handler, {},
                                                      {.max_batch_size = 0})
           .status()),
      ::ringflow::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                    ::testing::HasSubstr("max_batch_size 0")));
}

struct Counter {
  std::atomic<int64_t> handled{0};
  void OnEvent(const Tagged&, int64_t, bool) noexcept {
    handled.fetch_add(1, std::memory_order_release);
  }
};

TEST(ShardedProcessorTest, ABlockingProcessorSleepsAndIsWokenByPublishAndHalt) {
  auto ring = MakeRing(WaitStrategyKind::kBlocking);
  Counter counter;
  ASSERT_OK_AND_ASSIGN(
      auto processor,
      (ShardedEventProcessor<Tagged, Counter>::Create(*ring, counter)));
  std::thread consumer([&] { processor->Run(); });
  ASSERT_OK_AND_ASSIGN(auto producer, ring->RegisterProducer());
  for (int64_t n = 0; n < 50; ++n) {
    // Asleep in the kernel on the ring's signal before each publish.
    ASSERT_TRUE(SpinUntil([&] { return ring->signal().Waiters() == 1; }));
    ASSERT_TRUE(producer->PublishEvent([](Tagged&, int64_t) {}));
    ASSERT_TRUE(SpinUntil([&] { return counter.handled.load() == n + 1; }));
  }
  ASSERT_TRUE(SpinUntil([&] { return ring->signal().Waiters() == 1; }));
  processor->Halt();  // wakes the sleeper
  consumer.join();
  EXPECT_EQ(counter.handled.load(), 50);
}

// ---- the DSL ------------------------------------------------------------

struct Gate {
  std::atomic<bool> open{true};
  std::atomic<int64_t> handled{0};
  void OnEvent(const Tagged&, int64_t, bool) noexcept {
    while (!open.load(std::memory_order_acquire)) std::this_thread::yield();
    handled.fetch_add(1, std::memory_order_release);
  }
};

TEST(ShardedDisruptorTest, APipelineAfterTheMergeDrainsOnShutdown) {
  ShardedRingOptions options;
  options.shard.capacity = 64;
  options.shard.wait_strategy = WaitStrategyKind::kBlocking;
  options.max_producers = kProducers;
  ASSERT_OK_AND_ASSIGN(auto d, ShardedDisruptor<Tagged>::Create(options));
  UpstreamStage first;
  const int64_t per_producer = Events(50'000);
  AfterStage second{&first.last, OrderChecker(per_producer), {}};
  auto group = d->HandleEventsWith(first).Then(second);
  ASSERT_OK(group.status());
  ASSERT_OK(d->Start());
  EXPECT_THAT(d->Start(), ::ringflow::testing::StatusIs(
                              absl::StatusCode::kFailedPrecondition));
  PublishFromEachProducer([&] { return d->RegisterProducer(); }, per_producer);
  ASSERT_OK(d->Shutdown(absl::Seconds(60)));
  EXPECT_EQ(second.order.count.load(), kProducers * per_producer);
  EXPECT_EQ(second.order.sum.load(), kProducers * SumBelow(per_producer));
  EXPECT_EQ(second.order.out_of_order.load(), 0);
  EXPECT_EQ(second.early.load(), 0);
  // After Start the graph is fixed.
  UpstreamStage late;
  EXPECT_THAT(
      d->HandleEventsWith(late).status(),
      ::ringflow::testing::StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ShardedDisruptorTest, ShutdownNamesTheStageBehindAndKeepsRunning) {
  ShardedRingOptions options;
  options.shard.capacity = 16;
  options.shard.wait_strategy = WaitStrategyKind::kYielding;
  options.shard.name = "gated";
  ASSERT_OK_AND_ASSIGN(auto d, ShardedDisruptor<Tagged>::Create(options));
  Gate gate;
  gate.open.store(false);
  d->HandleEventsWith(gate);
  ASSERT_OK(d->Start());
  ASSERT_OK_AND_ASSIGN(auto producer, d->RegisterProducer());
  ASSERT_TRUE(producer->PublishEvent([](Tagged&, int64_t) {}));
  const absl::Status timed_out = d->Shutdown(absl::Milliseconds(20));
  EXPECT_THAT(timed_out, ::ringflow::testing::StatusIs(
                             absl::StatusCode::kDeadlineExceeded,
                             ::testing::HasSubstr("of 0 in gated.0")));
  // Reopened: the producer may publish again.
  ASSERT_TRUE(producer->PublishEvent([](Tagged&, int64_t) {}));
  gate.open.store(true, std::memory_order_release);
  ASSERT_OK(d->Shutdown(absl::Seconds(60)));
  EXPECT_EQ(gate.handled.load(), 2);
}

// ---- the queue -------------------------------------------------------

using Queue = ShardedQueue<Tagged>;

std::unique_ptr<Queue> MakeQueue(int64_t shard_capacity, int max_producers) {
  auto queue = Queue::Create(
      {.shard_capacity = shard_capacity, .max_producers = max_producers});
  EXPECT_OK(queue.status());
  return std::move(queue).value();
}

// Each consumer sees each producer's items in increasing order; together
// they see every item once (count, sum, and a per-item tally).
TEST(ShardedQueueConcurrentTest, CompetingConsumersGetEachItemOnceInOrder) {
  auto queue = MakeQueue(64, 2);  // fewer shards than producer threads
  const int64_t per_producer = Events(60'000);
  std::vector<std::atomic<uint8_t>> seen(
      static_cast<size_t>(kProducers * per_producer));
  std::atomic<int64_t> count{0}, sum{0}, out_of_order{0}, twice{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c) {
    consumers.emplace_back([&, c] {
      Queue::ConsumerToken token = queue->MakeConsumerToken();
      // Last n seen by (producer, token number): a producer's token k
      // enqueues n in [1000k, 1000k + 1000), in order.
      std::vector<std::vector<int64_t>> last(
          kProducers, std::vector<int64_t>(
                          static_cast<size_t>(per_producer / 1000 + 1), -1));
      Tagged buffer[7];
      for (;;) {
        size_t n = 0;
        if (c == 0) {
          // Bulk consumer.
          n = queue->TryDequeueBulk(token, std::span<Tagged>(buffer));
          if (n == 0) {
            if (!queue->WaitDequeue(token, buffer[0])) return;
            n = 1;
          }
        } else if (!queue->WaitDequeue(token, buffer[0])) {
          return;
        } else {
          n = 1;
        }
        for (size_t i = 0; i < n; ++i) {
          const Tagged& t = buffer[i];
          int64_t& previous = last[static_cast<size_t>(t.producer)]
                                  [static_cast<size_t>(t.n / 1000)];
          if (t.n <= previous) out_of_order.fetch_add(1);
          previous = t.n;
          if (seen[t.producer * per_producer + t.n].fetch_add(1) != 0) {
            twice.fetch_add(1);
          }
          sum.fetch_add(t.n);
          count.fetch_add(1);
        }
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      int64_t n = 0;
      while (n < per_producer) {
        // A new token every 1000 items: producers leave and rejoin.
        auto token =
            RegisterRetrying([&] { return queue->RegisterProducer(); });
        ASSERT_OK(token.status());
        std::vector<Tagged> batch;
        auto flush = [&] {
          std::span<const Tagged> rest(batch);
          while (!rest.empty()) {
            rest = rest.subspan(queue->TryEnqueueBulk(*token, rest));
            if (!rest.empty()) std::this_thread::yield();
          }
          batch.clear();
        };
        for (int64_t i = 0; i < 1000 && n < per_producer; ++i, ++n) {
          if (n % 3 == 0) {
            flush();  // the producer's order: earlier items go first
            ASSERT_TRUE(queue->WaitEnqueue(*token, Tagged{p, n}));
          } else {
            batch.push_back(Tagged{p, n});
            if (batch.size() == 5) flush();
          }
        }
        flush();
      }
    });
  }
  for (auto& t : producers) t.join();
  queue->Close();  // consumers drain what is left, then return
  for (auto& t : consumers) t.join();
  const int64_t total = kProducers * per_producer;
  EXPECT_EQ(count.load(), total);
  EXPECT_EQ(twice.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_EQ(sum.load(), kProducers * SumBelow(per_producer));
  EXPECT_EQ(queue->SizeApprox(), 0);
}

TEST(ShardedQueueConcurrentTest, WaitDequeueIsWokenByAnEnqueue) {
  auto queue = MakeQueue(8, 2);
  std::atomic<int64_t> got{-1};
  std::thread consumer([&] {
    Queue::ConsumerToken token = queue->MakeConsumerToken();
    Tagged out;
    if (queue->WaitDequeue(token, out)) got.store(out.n);
  });
  ASSERT_OK_AND_ASSIGN(auto token, queue->RegisterProducer());
  ASSERT_TRUE(queue->TryEnqueue(token, Tagged{0, 41}));
  consumer.join();
  EXPECT_EQ(got.load(), 41);
}

TEST(ShardedQueueConcurrentTest, WaitDequeueIsWokenByClose) {
  auto queue = MakeQueue(8, 2);
  std::atomic<int> result{-1};
  std::thread consumer([&] {
    Queue::ConsumerToken token = queue->MakeConsumerToken();
    Tagged out;
    result.store(queue->WaitDequeue(token, out) ? 1 : 0);
  });
  queue->Close();
  consumer.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(ShardedQueueConcurrentTest, WaitEnqueueSleepsUntilADequeueFreesSpace) {
  auto queue = MakeQueue(8, 2);
  ASSERT_OK_AND_ASSIGN(auto token, queue->RegisterProducer());
  for (int64_t n = 0; n < 8; ++n) ASSERT_TRUE(queue->TryEnqueue(token, {0, n}));
  std::atomic<int> result{-1};
  std::thread producer([&] {
    result.store(queue->WaitEnqueue(token, Tagged{0, 8}) ? 1 : 0);
  });
  // Asleep on the queue's space signal (the shard is full).
  ASSERT_TRUE(SpinUntil([&] { return queue->SleepingProducers() == 1; }));
  Queue::ConsumerToken consumer = queue->MakeConsumerToken();
  Tagged out;
  int64_t sum = 0;
  // The lease of 8 is given back when its last item is handed out (or
  // after an eighth of the shard: every item here).
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(queue->TryDequeue(consumer, out));
    sum += out.n;
  }
  producer.join();
  EXPECT_EQ(result.load(), 1);
  ASSERT_TRUE(queue->TryDequeue(consumer, out));
  EXPECT_EQ(out.n, 8);
  EXPECT_EQ(sum, SumBelow(8));
}

TEST(ShardedQueueConcurrentTest, WaitEnqueueIsWokenByClose) {
  auto queue = MakeQueue(8, 2);
  ASSERT_OK_AND_ASSIGN(auto token, queue->RegisterProducer());
  for (int64_t n = 0; n < 8; ++n) ASSERT_TRUE(queue->TryEnqueue(token, {0, n}));
  std::atomic<int> result{-1};
  std::thread producer([&] {
    result.store(queue->WaitEnqueue(token, Tagged{0, 8}) ? 1 : 0);
  });
  ASSERT_TRUE(SpinUntil([&] { return queue->SleepingProducers() == 1; }));
  queue->Close();
  producer.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_EQ(queue->SizeApprox(), 8);  // nothing lost, nothing added
}

TEST(ShardedQueueConcurrentTest, CloseRacingSendersAndReceiversLosesNothing) {
  for (int trial = 0; trial < Events(20) + 1; ++trial) {
    auto queue = MakeQueue(16, kProducers);
    std::atomic<int64_t> sent{0}, sent_sum{0}, received{0}, received_sum{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p) {
      threads.emplace_back([&, p] {
        auto token = queue->RegisterProducer();
        if (!token.ok()) return;  // Close came first
        for (int64_t n = 0;; ++n) {
          if (!queue->WaitEnqueueFor(*token, Tagged{p, n},
                                     absl::Milliseconds(50))) {
            if (queue->IsClosed()) return;
            continue;
          }
          sent.fetch_add(1);
          sent_sum.fetch_add(n);
        }
      });
    }
    for (int c = 0; c < 2; ++c) {
      threads.emplace_back([&] {
        Queue::ConsumerToken token = queue->MakeConsumerToken();
        Tagged out;
        while (queue->WaitDequeue(token, out)) {
          received.fetch_add(1);
          received_sum.fetch_add(out.n);
        }
      });
    }
    SpinUntil([&] { return sent.load() > 200 * (trial % 5); });
    queue->Close();
    for (auto& t : threads) t.join();
    // A WaitEnqueue already waiting when Close came may still complete:
    // whatever got in is drained here.
    Queue::ConsumerToken token = queue->MakeConsumerToken();
    Tagged out;
    while (queue->TryDequeue(token, out)) {
      received.fetch_add(1);
      received_sum.fetch_add(out.n);
    }
    EXPECT_EQ(received.load(), sent.load()) << "trial " << trial;
    EXPECT_EQ(received_sum.load(), sent_sum.load()) << "trial " << trial;
  }
}

}  // namespace
}  // namespace ringflow
