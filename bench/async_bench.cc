// bench/async_bench.cc — the Async family (issue 15), each row's columns
// run here (Runner::kAsync); the notes below the table say what each runs.
//
//   NotifierWake  publish -> handler of a consumer asleep before each event
//                 (p50/p99 ns): EventNotifier vs the kBlocking futex, with
//                 a bare eventfd + epoll_wait as the floor.
//   Async{OneToOne,TwoToTwo}{1,2}T  AsyncQueue vs Asio's concurrent_channel
//                 vs a mutex-guarded deque with parked timers (MutexDeque),
//                 P sender -> P receiver tasks on 1 or 2 io_context threads.
//   AsyncIdle     process CPU while a receiver task waits on an empty queue.
//
// Without ringflow::async (no Asio) only NotifierWake is built
// (RINGFLOW_BENCH_ASYNC=0, bench/CMakeLists.txt).

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"
#include "ringflow/ringflow.h"
#include "scenario.h"
#include "topology.h"

#if RINGFLOW_BENCH_ASYNC
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>

#include "asio/co_spawn.hpp"
#include "asio/experimental/as_tuple.hpp"
#include "asio/experimental/concurrent_channel.hpp"
#include "asio/io_context.hpp"
#include "asio/post.hpp"
#include "asio/steady_timer.hpp"
#include "asio/this_coro.hpp"
#include "asio/use_awaitable.hpp"
#include "ringflow/async/async_queue.h"
#endif

namespace ringflow::bench {
namespace {

constexpr const char* kFutexColumn = "futex";
constexpr const char* kChannelColumn = "asio-chan";
constexpr const char* kDequeColumn = "mutex-deque";
constexpr const char* kOwnColumns = "not this kind: see the row's columns";
// AsyncIdle's unit: process CPU time.
constexpr const char* kCpuUnit = "us CPU";
constexpr int64_t kWakeGapNs = 50'000;  // the consumer's time to fall asleep
constexpr size_t kAsyncCapacity = 1024;

template <typename T>
T Must(const RunContext& ctx, absl::StatusOr<T> v) {
  if (!v.ok()) Fail(ctx.scenario, ctx.impl, v.status().ToString());
  return std::move(*v);
}

// ---- NotifierWake ----------------------------------------------------------

// The one event in flight: the publisher writes sent_ns, the consumer the
// rest.
struct WakeLine {
  void Take(int64_t value) noexcept {
    // Acquire: pairs with the publisher's release store before publishing.
    histogram.Record(NowNs() - sent_ns.load(std::memory_order_acquire));
    if (value != count++) ++wrong;
    // Release: the histogram and count above happen before the next event.
    handled.store(value, std::memory_order_release);
  }
  std::atomic<int64_t> sent_ns{0};
  std::atomic<int64_t> handled{-1};
  std::atomic<int64_t> sleeping{-1};  // eventfd column: the index it awaits
  LatencyHistogram histogram;
  int64_t count = 0;
  int64_t wrong = 0;
};

// An epoll set of one fd, as in an event loop.
struct Epoll {
  explicit Epoll(int fd) : ep(::epoll_create1(EPOLL_CLOEXEC)) {
    epoll_event e{.events = EPOLLIN, .data = {}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  }
  ~Epoll() { ::close(ep); }
  void Sleep() const noexcept {  // until the fd is readable
    epoll_event e;
    (void)::epoll_wait(ep, &e, 1, -1);
  }
  const int ep;
};

// Publisher thread: event i once event i-1 is handled, `asleep(i)` holds
// and kWakeGapNs more passed, until ctx.events or the budget; then, once
// the last is handled, `stop()`. Consumer thread: `consume()`.
template <typename Asleep, typename Publish, typename Stop, typename Consume>
Metrics WakeRun(const RunContext& ctx, WakeLine& line, Asleep asleep,
                Publish publish, Stop stop, Consume consume) {
  std::thread consumer = Spawn(1, 2, consume);
  int64_t sent = 0;
  std::thread publisher = Spawn(0, 2, [&] {
    auto await = [&](auto ready) {
      const int64_t limit = NowNs() + int64_t{ctx.timeout_s} * 1'000'000'000;
      while (!ready()) {
        if (NowNs() > limit) FailTimeout(ctx.scenario, ctx.impl, ctx.timeout_s);
        CpuRelax();
      }
    };
    // Acquire: pairs with WakeLine::Take's release store.
    auto handled = [&] { return line.handled.load(std::memory_order_acquire); };
    const int64_t start = NowNs();
    for (; sent < ctx.events && !ctx.OverBudget(start, NowNs()); ++sent) {
      await([&] { return handled() == sent - 1 && asleep(sent); });
      const int64_t quiet = NowNs() + kWakeGapNs;
      await([&] { return NowNs() >= quiet; });
      // Release: pairs with Take's acquire load.
      line.sent_ns.store(NowNs(), std::memory_order_release);
      publish(sent);
    }
    await([&] { return handled() == sent - 1; });
    stop();
  });
  publisher.join();
  consumer.join();
  Check(ctx, sent >= 1, "no wake");
  CheckEqual(ctx, line.count, sent, "events handled");
  CheckEqual(ctx, line.wrong, 0, "events out of order");
  CheckEqual(ctx, line.histogram.count(), sent, "wakes timed");
  return {line.histogram.Quantile(0.50), line.histogram.Quantile(0.99)};
}

// The floor: event i is the eventfd count i + 1; kStop ends.
Metrics EventfdWake(const RunContext& ctx) {
  constexpr uint64_t kStop = uint64_t{1} << 62;
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  Check(ctx, fd >= 0, "eventfd failed");
  WakeLine line;
  auto write = [fd](uint64_t v) { (void)!::write(fd, &v, sizeof v); };
  // Relaxed: `sleeping` only paces the publisher; it publishes no data.
  auto asleep = [&](int64_t i) {
    return line.sleeping.load(std::memory_order_relaxed) == i;
  };
  const Epoll ep(fd);
  const Metrics m = WakeRun(
      ctx, line, asleep,
      [&](int64_t i) { write(static_cast<uint64_t>(i) + 1); },
      [&] { write(kStop); },
      [&] {
        for (uint64_t v = 0; v != kStop;) {
          line.sleeping.store(line.count, std::memory_order_relaxed);
          ep.Sleep();
          if (::read(fd, &v, sizeof v) != sizeof v) continue;  // spurious
          if (v != kStop) line.Take(static_cast<int64_t>(v) - 1);
        }
      });
  ::close(fd);
  return m;
}

// futex (notifier = false): a BatchEventProcessor asleep in the kBlocking
// ring's wait. ringflow (notifier = true): an epoll loop over an
// EventPoller and its EventNotifier; the event -1 ends it.
Metrics RingWake(const RunContext& ctx, bool notifier) {
  auto ring = Must(ctx, RingBuffer<int64_t>::Create(
                            {.capacity = ctx.capacity,
                             .producer_type = ProducerType::kSingle,
                             .wait_strategy = WaitStrategyKind::kBlocking,
                             .name = "wake"}));
  WakeLine line;
  // Registered: asleep in the futex, or armed (the notifier registers too).
  auto asleep = [&](int64_t) {
    return ring->wait_strategy().signal()->Waiters() > 0;
  };
  auto publish = [&](int64_t i) {
    ring->PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; });
  };
  if (!notifier) {
    struct Handler {
      void OnEvent(int64_t& e, int64_t, bool) noexcept { line->Take(e); }
      WakeLine* line;
    } handler{&line};
    auto processor = Must(
        ctx, BatchEventProcessor<int64_t, Handler>::Create(*ring, handler));
    return WakeRun(
        ctx, line, asleep, publish, [&] { processor->Halt(); },
        [&] { processor->Run(); });
  }
  auto poller = Must(ctx, EventPoller<int64_t>::Create(*ring));
  auto wake = Must(ctx, EventNotifier::Create(*ring));
  const Epoll ep(wake->fd());
  return WakeRun(
      ctx, line, asleep, publish, [&] { publish(-1); },
      [&] {
        bool stopped = false;
        auto take = [&](const int64_t& e, int64_t, bool) noexcept {
          if (e < 0) {
            stopped = true;
          } else {
            line.Take(e);
          }
        };
        for (;;) {
          while (poller->Poll(take) == PollState::kProcessing) {
          }
          if (stopped) return;
          if (wake->Arm(*poller)) ep.Sleep();
          wake->Disarm();
        }
      });
}

// ---- AsyncQueue and its Asio-native alternatives ----------------------------

#if RINGFLOW_BENCH_ASYNC
using asio::awaitable;
using asio::use_awaitable;

// One receiver's sum, count and each sender's order (sender p sends p,
// p + P, ...: rising; with competing receivers each sees a subsequence).
struct Tally {
  explicit Tally(int producers) : last(static_cast<size_t>(producers), -1) {}
  void Take(int64_t v) noexcept {
    sum += v;
    ++count;
    int64_t& previous = last[static_cast<size_t>(v) % last.size()];
    out_of_order += v <= previous;
    previous = v;
  }
  std::vector<int64_t> last;
  int64_t sum = 0, count = 0, out_of_order = 0;
};

// Each queue: Produce (sender p of P sends p, p + P, ...; the last sender
// to finish ends the stream), Consume (until the end), Parked (a receiver
// task is parked; true where the queue cannot tell).
class RingflowQueue {
 public:
  RingflowQueue(const RunContext& ctx, asio::io_context&, int producers, int)
      : ctx_(ctx),
        left_(producers),
        queue_(
            Must(ctx, async::AsyncQueue<int64_t>::Create(
                          {.sender_capacity =
                               static_cast<int64_t>(kAsyncCapacity) / producers,
                           .max_senders = producers,
                           .name = "bench"}))) {}
  awaitable<void> Produce(int p, int producers, int64_t per) {
    auto tx = Must(ctx_, queue_->MakeSender());
    for (int64_t i = 0; i < per; ++i) {
      const absl::Status sent = co_await tx.Send(p + i * producers);
      if (!sent.ok()) Fail(ctx_.scenario, ctx_.impl, sent.ToString());
    }
    // Acq_rel: every sender's sends happen before the last one's Close.
    if (left_.fetch_sub(1, std::memory_order_acq_rel) == 1) queue_->Close();
  }
  awaitable<void> Consume(Tally& tally) {
    auto rx = queue_->MakeReceiver();
    while (std::optional<int64_t> v = co_await rx.Receive()) tally.Take(*v);
  }
  bool Parked() const { return queue_->SleepingReceivers() > 0; }

 private:
  const RunContext& ctx_;
  std::atomic<int> left_;
  std::unique_ptr<async::AsyncQueue<int64_t>> queue_;
};

// The FIFO baselines: the last sender sends one -1 per receiver.
template <typename Impl>
class EndWithSentinels : public Impl {
 public:
  EndWithSentinels(const RunContext&, asio::io_context& io, int producers,
                   int consumers)
      : Impl(io), left_(producers), consumers_(consumers) {}
  awaitable<void> Produce(int p, int producers, int64_t per) {
    for (int64_t i = 0; i < per; ++i) co_await this->Send(p + i * producers);
    // Acq_rel: every sender's items happen before (so, in this FIFO,
    // precede) the last sender's -1s.
    if (left_.fetch_sub(1, std::memory_order_acq_rel) != 1) co_return;
    for (int c = 0; c < consumers_; ++c) co_await this->Send(-1);
  }
  awaitable<void> Consume(Tally& tally) {
    for (int64_t v; (v = co_await this->Receive()) >= 0;) tally.Take(v);
  }

 private:
  std::atomic<int> left_;
  const int consumers_;
};

class Channel {
 public:
  explicit Channel(asio::io_context& io) : channel_(io, kAsyncCapacity) {}
  awaitable<void> Send(int64_t v) {
    return channel_.async_send(std::error_code{}, v, use_awaitable);
  }
  awaitable<int64_t> Receive() { return channel_.async_receive(use_awaitable); }
  bool Parked() const { return true; }  // no such query

 private:
  asio::experimental::concurrent_channel<void(std::error_code, int64_t)>
      channel_;
};

// A std::deque under a std::mutex. A task whose try fails parks a
// steady_timer of its own on its side's list (trying again under the lock
// first); each item moved cancels one parked timer of the other side, whose
// handler, posted to that task's executor, resumes it.
class MutexDeque {
 public:
  explicit MutexDeque(asio::io_context&) {}
  awaitable<int64_t> Send(int64_t v) {
    return Until(senders_, receivers_, [this, v]() -> std::optional<int64_t> {
      if (items_.size() == kAsyncCapacity) return std::nullopt;
      items_.push_back(v);
      return v;
    });
  }
  awaitable<int64_t> Receive() {
    return Until(receivers_, senders_, [this]() -> std::optional<int64_t> {
      if (items_.empty()) return std::nullopt;
      const int64_t v = items_.front();
      items_.pop_front();
      return v;
    });
  }
  bool Parked() {
    std::lock_guard<std::mutex> lock(mu_);
    return !receivers_.empty();
  }

 private:
  using Parkers = std::deque<asio::steady_timer*>;  // guarded by mu_
  // Runs `step` under mu_ until it gives a value, parked on `mine` between
  // tries; then wakes one of `theirs`. One coroutine frame per call, as
  // each of the channel's operations.
  template <typename Step>
  awaitable<int64_t> Until(Parkers& mine, Parkers& theirs, Step step) {
    std::optional<int64_t> v;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if ((v = step())) WakeOne(theirs);
    }
    if (v) co_return *v;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto token = asio::experimental::as_tuple(use_awaitable);
    while (!v) {
      co_await asio::async_initiate<decltype(token), void(std::error_code)>(
          [&](auto handler) {
            std::lock_guard<std::mutex> lock(mu_);
            if ((v = step())) {
              WakeOne(theirs);
              asio::post(
                  timer.get_executor(),
                  [h = std::move(handler)]() mutable { h(std::error_code{}); });
              return;
            }
            timer.expires_at(asio::steady_timer::time_point::max());
            timer.async_wait(std::move(handler));
            mine.push_back(&timer);
          },
          token);
    }
    co_return *v;
  }
  static void WakeOne(Parkers& parked) {  // under mu_
    if (parked.empty()) return;
    parked.front()->cancel();
    parked.pop_front();
  }

  std::mutex mu_;
  std::deque<int64_t> items_;  // guarded by mu_
  Parkers senders_;
  Parkers receivers_;
};

auto FailOnThrow(const RunContext& ctx) {
  return [&ctx](std::exception_ptr e) {
    if (e) Fail(ctx.scenario, ctx.impl, "a task threw");
  };
}

template <typename Queue>
Metrics AsyncThroughput(const RunContext& ctx, int pc, int threads) {
  asio::io_context io(threads);
  Queue queue(ctx, io, pc, pc);
  const int64_t per = ctx.events / pc;
  std::vector<Tally> tallies(static_cast<size_t>(pc), Tally(pc));
  for (int p = 0; p < pc; ++p) {
    asio::co_spawn(io, queue.Produce(p, pc, per), FailOnThrow(ctx));
    asio::co_spawn(io, queue.Consume(tallies[static_cast<size_t>(p)]),
                   FailOnThrow(ctx));
  }
  const int64_t start = NowNs();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.push_back(Spawn(t, threads, [&io] { io.run(); }));
  }
  for (std::thread& t : pool) t.join();
  const int64_t elapsed = NowNs() - start;
  Tally all(pc);
  for (const Tally& t : tallies) {
    all.sum += t.sum;
    all.count += t.count;
    all.out_of_order += t.out_of_order;
  }
  CheckEqual(ctx, all.count, per * pc, "items received");
  CheckEqual(ctx, all.sum, SumBelow(per * pc), "sum");
  CheckEqual(ctx, all.out_of_order, 0, "items out of their sender's order");
  return {MegaEventsPerSecond(all.count, elapsed)};
}

// Process CPU time (us) over a sleep of ctx.budget_ns: AsyncIdle's floor.
Metrics CpuOverWindow(const RunContext& ctx) {
  auto cpu_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  };
  const int64_t before = cpu_ns();
  std::this_thread::sleep_for(std::chrono::nanoseconds(ctx.budget_ns));
  return {static_cast<double>(cpu_ns() - before) / 1e3};
}

// The same with one receiver task parked on the empty queue; one item
// sent afterwards ends it.
template <typename Queue>
Metrics IdleCpu(const RunContext& ctx) {
  asio::io_context io(1);
  Queue queue(ctx, io, 1, 1);
  Tally tally(1);
  asio::co_spawn(io, queue.Consume(tally), FailOnThrow(ctx));
  std::thread loop = Spawn(0, 1, [&io] { io.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // parks
  Check(ctx, queue.Parked(), "the receiver is not parked");
  const Metrics m = CpuOverWindow(ctx);
  asio::co_spawn(io, queue.Produce(0, 1, 1), FailOnThrow(ctx));
  loop.join();
  CheckEqual(ctx, tally.count, 1, "items received");
  return m;
}

// A Queue's run of an AsyncQueue row: the idle CPU window, or throughput.
template <typename Queue>
RunFn AsyncColumn(const Scenario& s) {
  if (s.measure.unit == kCpuUnit) return IdleCpu<Queue>;
  return [pc = s.producers, threads = s.threads](const RunContext& ctx) {
    return AsyncThroughput<Queue>(ctx, pc, threads);
  };
}

// An AsyncQueue row: ringflow, asio-chan, mutex-deque, then the idle
// floor (AsyncIdle).
Scenario AsyncRow(Scenario s) {
  s.family = "Async";
  s.topology = Topology::kOwn;
  s.ringflow = Own(kRingflowColumn, "AsyncQueue, co_await Send / Receive",
                   AsyncColumn<RingflowQueue>(s));
  s.columns = {Own(kChannelColumn,
                   "concurrent_channel, co_await async_send / async_receive",
                   AsyncColumn<EndWithSentinels<Channel>>(s)),
               Own(kDequeColumn,
                   "MutexDeque: std::deque + std::mutex, parked steady_timers",
                   AsyncColumn<EndWithSentinels<MutexDeque>>(s))};
  s.bound = s.measure.unit == kCpuUnit;
  if (s.bound) {
    s.columns.push_back(
        Own(kBoundColumn, "the window with nothing waiting", CpuOverWindow));
  }
  s.others = kOwnColumns;
  s.compare_to = kChannelColumn;
  if (s.producers == 1 && !s.bound) {
    s.comparisons = {{.b = kChannelColumn, .target = 2}};
  }
  return s;
}
#endif  // RINGFLOW_BENCH_ASYNC

}  // namespace

std::vector<Scenario> AsyncScenarios() {
  std::vector<Scenario> rows = {
      {.name = "NotifierWake",
       .family = "Async",
       .topology = Topology::kOwn,
       .events = 4000,
       .smoke_events = 100,
       .capacity = 1024,
       .budget_ms = 2000,
       .smoke_budget_ms = 1000,
       .measure = LatencyMeasure({"p50", "p99"}),
       .ringflow = Own(kRingflowColumn,
                       "EventNotifier: EventPoller, Arm, epoll_wait, Poll",
                       [](const RunContext& ctx) {
                         return RingWake(ctx, /*notifier=*/true);
                       }),
       .columns = {Own(kFutexColumn,
                       "kBlocking ring, BatchEventProcessor asleep in its wait",
                       [](const RunContext& ctx) {
                         return RingWake(ctx, /*notifier=*/false);
                       }),
                   Own(kBoundColumn, "eventfd write -> epoll_wait, read",
                       EventfdWake)},
       .others = kOwnColumns,
       .compare_to = kFutexColumn,
       .note = "one-way publish -> handler (ns), one event at a time to a "
               "consumer asleep before each (previous event handled, "
               "registered as a waiter, then 50 us); kBlocking ring of "
               "1024; order and count checked"}};
#if RINGFLOW_BENCH_ASYNC
  for (int pc : {1, 2}) {
    for (int threads : {1, 2}) {
      const std::string n = std::to_string(pc);
      const std::string t = std::to_string(threads);
      rows.push_back(AsyncRow(
          {.name = (pc == 1 ? "AsyncOneToOne" : "AsyncTwoToTwo") + t + "T",
           .producers = pc,
           .consumers = pc,
           .events = kBaseEvents / 4,
           .smoke_events = 4000,
           .multiple_of = pc,
           .capacity = kAsyncCapacity,
           .threads = threads,
           .note = n + " sender -> " + n + " receiver task(s) on " + t +
                   " io_context thread(s), one item per co_await, 1024 "
                   "items (AsyncQueue: 1024 / senders per shard); sum, count "
                   "and each sender's order checked; target ringflow >= 2x "
                   "asio-chan at 1P1C"}));
    }
  }
  rows.push_back(AsyncRow(
      {.name = "AsyncIdle",
       .events = 1,
       .smoke_events = 1,
       .budget_ms = 200,
       .smoke_budget_ms = 20,
       .measure = {.unit = kCpuUnit,
                   .metrics = {"cpu"},
                   .higher_is_better = false,
                   .by_budget = true,
                   .bound_label = "floor"},
       .note = "process CPU time (us) while a receiver task waits 200 ms on "
               "an empty queue, 1 io_context thread (parked: checked for "
               "ringflow, mutex-deque); floor: nothing waiting; target ~0"}));
#endif
  return rows;
}

}  // namespace ringflow::bench
