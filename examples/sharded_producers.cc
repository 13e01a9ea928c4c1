// sharded_producers.cc — many producers without a shared cursor.
//
// What it shows:
//   * ShardedDisruptor: each producer thread registers its own shard (a
//     single-producer ring: no atomic read-modify-write per claim) and the
//     handler graph runs after the merge: a journal, then a checker behind
//     it, each seeing every shard's events in that producer's order,
//   * producers that leave (their shard drains, then is freed) and new
//     ones that join while the graph runs,
//   * ShardedQueue: the same shards as a queue, three producer tokens and
//     two competing consumers, every item dequeued exactly once; Close lets
//     the consumers drain and return.
//
// Run:   build/dev/examples/example_sharded_producers
// Prints: sharded_producers: 3 producers x 2 rounds x 10000 events, 60000
//         journaled and checked in order; queue: 30000 items, 30000 once
// Exits non-zero when an event is missing, duplicated or out of order.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/ringflow.h"

namespace {

constexpr int kProducers = 3;
constexpr int kRounds = 2;  // each producer registers twice
constexpr int64_t kPerRound = 10'000;

struct Message {
  int producer = 0;
  int round = 0;
  int64_t counter = 0;  // 0, 1, 2, ... within one registration
};

struct Journal {
  std::atomic<int64_t> journaled{0};
  void OnEvent(const Message&, int64_t, bool) noexcept {
    journaled.fetch_add(1, std::memory_order_relaxed);
  }
};

// Behind the journal: checks each registration's order. Runs on the
// disruptor's thread; main reads the results after Shutdown joined it.
struct Checker {
  int64_t next[kProducers][kRounds] = {};
  int64_t checked = 0;
  int64_t errors = 0;
  void OnEvent(const Message& m, int64_t, bool) noexcept {
    ++checked;
    int64_t& expected = next[m.producer][m.round];
    if (m.counter != expected) ++errors;
    expected = m.counter + 1;
  }
};

absl::Status RunGraph(int64_t& checked) {
  ringflow::ShardedRingOptions options;
  options.shard.capacity = 4096;
  options.shard.wait_strategy = ringflow::WaitStrategyKind::kBlocking;
  options.shard.name = "orders";
  options.max_producers = kProducers;
  RINGFLOW_ASSIGN_OR_RETURN(
      auto d, ringflow::ShardedDisruptor<Message>::Create(options));
  Journal journal;
  Checker checker;
  d->HandleEventsWith(journal).Then(checker);  // the pipeline after the merge
  RINGFLOW_RETURN_IF_ERROR(d->Start());

  std::vector<std::thread> producers;
  std::atomic<int> failures{0};
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int round = 0; round < kRounds; ++round) {
        // Built on this thread; retried while every shard is still held by
        // a departed producer whose events are being drained.
        auto producer = d->RegisterProducer();
        while (!producer.ok() && absl::IsResourceExhausted(producer.status())) {
          std::this_thread::yield();
          producer = d->RegisterProducer();
        }
        if (!producer.ok()) {
          failures.fetch_add(1);
          return;
        }
        for (int64_t i = 0; i < kPerRound; ++i) {
          if (!(*producer)->PublishEvent([&](Message& m, int64_t) {
                m = Message{p, round, i};
              })) {
            failures.fetch_add(1);
          }
        }
      }  // dropped: its shard drains, then is freed
    });
  }
  for (auto& t : producers) t.join();
  RINGFLOW_RETURN_IF_ERROR(d->Shutdown(absl::Seconds(10)));
  if (failures.load() != 0 || checker.errors != 0 ||
      checker.checked != kProducers * kRounds * kPerRound ||
      journal.journaled.load() != checker.checked) {
    return absl::InternalError(
        absl::StrCat("checked ", checker.checked, ", errors ", checker.errors,
                     ", failed publishes ", failures.load()));
  }
  checked = checker.checked;
  return absl::OkStatus();
}

absl::Status RunQueue(int64_t& once) {
  RINGFLOW_ASSIGN_OR_RETURN(auto queue, ringflow::ShardedQueue<int64_t>::Create(
                                            {.shard_capacity = 1024}));
  constexpr int64_t kItems = kProducers * kPerRound;
  std::vector<std::atomic<int>> seen(kItems);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      auto token = queue->RegisterProducer();
      if (!token.ok()) return;
      for (int64_t i = p; i < kItems; i += kProducers) {
        queue->WaitEnqueue(*token, i);
      }
    });
  }
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&] {
      auto token = queue->MakeConsumerToken();
      int64_t item = 0;
      while (queue->WaitDequeue(token, item)) seen[item].fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  queue->Close();  // consumers drain what is left, then return false
  for (auto& t : consumers) t.join();
  once = 0;
  for (const auto& s : seen) once += s.load() == 1;
  if (once != kItems) {
    return absl::InternalError(absl::StrCat(once, " of ", kItems, " once"));
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  int64_t checked = 0;
  int64_t once = 0;
  const absl::Status graph = RunGraph(checked);
  const absl::Status queue = graph.ok() ? RunQueue(once) : graph;
  if (!queue.ok()) {
    std::fprintf(stderr, "sharded_producers: %s\n", queue.ToString().c_str());
    return 1;
  }
  std::printf(
      "sharded_producers: %d producers x %d rounds x %lld events, %lld "
      "journaled and checked in order; queue: %lld items, %lld once\n",
      kProducers, kRounds, static_cast<long long>(kPerRound),
      static_cast<long long>(checked),
      static_cast<long long>(kProducers * kPerRound),
      static_cast<long long>(once));
  return 0;
}
