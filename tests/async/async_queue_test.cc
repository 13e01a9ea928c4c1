// Tests for AsyncQueue on Asio coroutines: the non-waiting calls, tasks
// suspended while the queue is empty or full and woken by the other side
// (on one thread and across threads), Close racing senders and receivers,
// cancellation and timeouts that take nothing and lose nothing, bulk
// forms, and the wake count of a busy sender. Every concurrent test checks
// content: exact sums, counts, and each sender's order.

#include "ringflow/async/async_queue.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "asio/bind_cancellation_slot.hpp"
#include "asio/cancellation_signal.hpp"
#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/experimental/awaitable_operators.hpp"
#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/asio_spawn.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow::async {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::Spawn;
using ::ringflow::testing::StatusIs;
using ::testing::HasSubstr;

using Queue = AsyncQueue<int64_t>;
using asio::awaitable;
using asio::use_awaitable;

std::unique_ptr<Queue> MakeQueue(int64_t sender_capacity = 8,
                                 int max_senders = 4) {
  auto queue = Queue::Create({.sender_capacity = sender_capacity,
                              .max_senders = max_senders,
                              .name = "orders"});
  EXPECT_OK(queue.status());
  return std::move(queue).value();
}

// Item encoding for many senders: sender in the high bits, index below.
constexpr int64_t Item(int sender, int64_t i) {
  return (int64_t{sender} << 40) | i;
}
constexpr int SenderOf(int64_t item) { return static_cast<int>(item >> 40); }
constexpr int64_t IndexOf(int64_t item) { return item & ((1LL << 40) - 1); }

TEST(AsyncQueueTest, BadOptionsAndTooManySendersAreNamed) {
  EXPECT_THAT(Queue::Create({.sender_capacity = 100}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("capacity 100 is not a power of two")));
  auto queue = MakeQueue(8, 2);
  ASSERT_OK_AND_ASSIGN(Queue::Sender a, queue->MakeSender());
  ASSERT_OK_AND_ASSIGN(Queue::Sender b, queue->MakeSender());
  EXPECT_THAT(queue->MakeSender().status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("all 2 shards in use")));
  queue->Close();
  EXPECT_THAT(queue->MakeSender().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(AsyncQueueTest, TryFormsNeverWaitAndKeepEachSendersOrder) {
  auto queue = MakeQueue(8, 2);
  EXPECT_EQ(queue->capacity(), 16);
  ASSERT_OK_AND_ASSIGN(Queue::Sender tx, queue->MakeSender());
  Queue::Receiver rx = queue->MakeReceiver();
  EXPECT_EQ(rx.TryReceive(), std::nullopt);
  for (int64_t i = 0; i < 8; ++i) ASSERT_TRUE(tx.TrySend(i));
  EXPECT_TRUE(tx.IsFull());
  EXPECT_FALSE(tx.TrySend(8));
  EXPECT_EQ(queue->size(), 8);
  std::vector<int64_t> bulk(3);
  EXPECT_EQ(rx.TryReceiveBulk(bulk), 3u);
  EXPECT_EQ(bulk, (std::vector<int64_t>{0, 1, 2}));
  const std::vector<int64_t> more = {8, 9, 10, 11};
  EXPECT_EQ(tx.TrySendBulk(more), 3u);  // three slots were given back
  std::vector<int64_t> got;
  while (auto item = rx.TryReceive()) got.push_back(*item);
  EXPECT_EQ(got, (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_TRUE(queue->empty());
}

TEST(AsyncQueueTest, OneThreadSenderAndReceiverTasksPassEveryItemInOrder) {
  const int64_t n = Events(200'000);
  auto queue = MakeQueue(64, 1);
  asio::io_context io;
  std::vector<int64_t> got;
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Sender tx = queue->MakeSender().value();
    for (int64_t i = 0; i < n; ++i) EXPECT_OK(co_await tx.Send(i));
    queue->Close();
  });
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Receiver rx = queue->MakeReceiver();
    while (std::optional<int64_t> item = co_await rx.Receive()) {
      got.push_back(*item);
    }
  });
  io.run();
  ASSERT_EQ(static_cast<int64_t>(got.size()), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], i);
}

// `senders` sender tasks and `receivers` receiver tasks on `threads`
// threads; every item arrives exactly once, each sender's items in order
// at each receiver.
void RunManyToMany(int senders, int receivers, int threads,
                   int64_t per_sender) {
  auto queue = MakeQueue(32, senders);
  asio::io_context io(threads);
  std::atomic<int> senders_left{senders};
  std::vector<std::vector<int64_t>> got(receivers);
  for (int s = 0; s < senders; ++s) {
    Spawn(io, [&, s]() -> awaitable<void> {
      Queue::Sender tx = queue->MakeSender().value();
      for (int64_t i = 0; i < per_sender; ++i) {
        EXPECT_OK(co_await tx.Send(Item(s, i)));
      }
      // Relaxed: only the last sender's Close matters, and Close orders
      // the sends before it (the receivers drain after seeing it).
      if (senders_left.fetch_sub(1, std::memory_order_relaxed) == 1) {
        queue->Close();
      }
    });
  }
  for (int r = 0; r < receivers; ++r) {
    Spawn(io, [&, r]() -> awaitable<void> {
      Queue::Receiver rx = queue->MakeReceiver();
      while (std::optional<int64_t> item = co_await rx.Receive()) {
        got[r].push_back(*item);
      }
    });
  }
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& t : pool) t.join();

  std::vector<int64_t> seen(static_cast<size_t>(senders * per_sender), 0);
  for (const std::vector<int64_t>& items : got) {
    std::vector<int64_t> last(senders, -1);
    for (int64_t item : items) {
      const int s = SenderOf(item);
      ASSERT_LT(s, senders);
      ASSERT_GT(IndexOf(item), last[s]) << "sender " << s << " out of order";
      last[s] = IndexOf(item);
      ++seen[static_cast<size_t>(s * per_sender + IndexOf(item))];
    }
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i], 1) << "item " << i << " seen " << seen[i] << " times";
  }
}

TEST(AsyncQueueTest, TwoSendersTwoReceiversOnOneThread) {
  RunManyToMany(2, 2, 1, Events(50'000));
}

TEST(AsyncQueueTest, TwoSendersTwoReceiversOnTwoThreads) {
  RunManyToMany(2, 2, 2, Events(50'000));
}

TEST(AsyncQueueTest, FourSendersThreeReceiversOnTwoThreads) {
  RunManyToMany(4, 3, 2, Events(20'000));
}

// A receiver task suspended on an empty queue in one thread is woken by a
// sender on another thread, which starts only once the receiver is armed
// (registered on the item signal).
TEST(AsyncQueueTest, ASleepingReceiverIsWokenFromAnotherThread) {
  auto queue = MakeQueue(8, 1);
  asio::io_context io;
  std::optional<int64_t> got;
  Queue::Receiver rx = queue->MakeReceiver();
  Spawn(io, [&]() -> awaitable<void> { got = co_await rx.Receive(); });
  std::thread loop([&io] { io.run(); });
  while (queue->SleepingReceivers() == 0) {
    std::this_thread::yield();
  }
  ASSERT_OK_AND_ASSIGN(Queue::Sender tx, queue->MakeSender());
  ASSERT_TRUE(tx.TrySend(42));
  loop.join();
  EXPECT_EQ(got, 42);
  EXPECT_EQ(rx.wakes(), 1u);
}

// A sender suspended on its full shard is woken by a receiver on another
// thread giving slots back.
TEST(AsyncQueueTest, ASleepingSenderIsWokenWhenAReceiverFreesSpace) {
  auto queue = MakeQueue(4, 1);
  ASSERT_OK_AND_ASSIGN(Queue::Sender tx, queue->MakeSender());
  for (int64_t i = 0; i < 4; ++i) ASSERT_TRUE(tx.TrySend(i));
  asio::io_context io;
  absl::Status sent = absl::UnknownError("not run");
  Spawn(io, [&]() -> awaitable<void> { sent = co_await tx.Send(4); });
  std::thread loop([&io] { io.run(); });
  while (queue->SleepingSenders() == 0) std::this_thread::yield();
  Queue::Receiver rx = queue->MakeReceiver();
  std::vector<int64_t> got;
  while (got.size() < 5) {
    if (auto item = rx.TryReceive()) got.push_back(*item);
  }
  loop.join();
  EXPECT_OK(sent);
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_GE(tx.wakes(), 1u);
}

TEST(AsyncQueueTest, TimeoutsTakeNothingAndSendNothing) {
  auto queue = MakeQueue(2, 1);
  asio::io_context io;
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Receiver rx = queue->MakeReceiver();
    EXPECT_THAT(co_await rx.ReceiveFor(absl::Milliseconds(5)),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         HasSubstr("async queue 'orders'")));
    Queue::Sender tx = queue->MakeSender().value();
    EXPECT_OK(co_await tx.Send(1));
    EXPECT_OK(co_await tx.Send(2));
    EXPECT_THAT(co_await tx.SendFor(3, absl::Milliseconds(5)),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         HasSubstr("nothing was sent")));
    EXPECT_EQ(queue->size(), 2);
    EXPECT_EQ(co_await rx.Receive(), 1);
    EXPECT_EQ(co_await rx.Receive(), 2);
    EXPECT_EQ(rx.TryReceive(), std::nullopt);
  });
  io.run();
}

// Cancelled through Asio's cancellation slot (the losing side of `||`):
// the wait ends with Cancelled and the queue is exactly as it was.
TEST(AsyncQueueTest, CancelledWaitsTakeNothingAndLoseNothing) {
  using namespace asio::experimental::awaitable_operators;
  auto queue = MakeQueue(2, 1);
  asio::io_context io;
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Receiver rx = queue->MakeReceiver();
    asio::steady_timer timer(io, std::chrono::milliseconds(2));
    auto first = co_await (rx.ReceiveFor(absl::InfiniteDuration()) ||
                           timer.async_wait(use_awaitable));
    EXPECT_EQ(first.index(), 1u) << "the timer ends the receive";

    Queue::Sender tx = queue->MakeSender().value();
    EXPECT_OK(co_await tx.Send(10));
    EXPECT_OK(co_await tx.Send(11));
    timer.expires_after(std::chrono::milliseconds(2));
    auto second = co_await (tx.Send(12) || timer.async_wait(use_awaitable));
    EXPECT_EQ(second.index(), 1u) << "the timer ends the send";
    EXPECT_EQ(queue->size(), 2) << "the cancelled send sent nothing";

    // Nothing was lost or taken: both items arrive, then the next send
    // goes through.
    EXPECT_EQ(co_await rx.Receive(), 10);
    EXPECT_EQ(co_await rx.Receive(), 11);
    EXPECT_OK(co_await tx.Send(13));
    EXPECT_EQ(co_await rx.Receive(), 13);
  });
  io.run();
}

// Receives raced against a short timer through `||`, over and over, while
// a sender task sends: every item is either received by a receive that won
// or still in the queue; a receive that lost the race took nothing.
TEST(AsyncQueueTest, ReceivesThatLoseARaceWithATimerLoseNoItem) {
  using namespace asio::experimental::awaitable_operators;
  const int64_t n = Events(20'000);
  auto queue = MakeQueue(64, 1);
  asio::io_context io;
  int64_t got_sum = 0, got = 0, timeouts = 0;
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Sender tx = queue->MakeSender().value();
    for (int64_t i = 1; i <= n; ++i) {
      EXPECT_OK(co_await tx.Send(i));
      if (i % 7 == 0) {
        asio::steady_timer pause(io, std::chrono::microseconds(30));
        co_await pause.async_wait(use_awaitable);
      }
    }
    queue->Close();
  });
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Receiver rx = queue->MakeReceiver();
    for (;;) {
      asio::steady_timer timer(io, std::chrono::microseconds(20));
      auto first = co_await (rx.ReceiveFor(absl::InfiniteDuration()) ||
                             timer.async_wait(use_awaitable));
      if (first.index() == 1) {
        ++timeouts;
        continue;
      }
      const absl::StatusOr<int64_t>& item = std::get<0>(first);
      if (!item.ok()) {
        EXPECT_THAT(item, StatusIs(absl::StatusCode::kOutOfRange));
        break;
      }
      got_sum += *item;
      ++got;
    }
  });
  io.run();
  EXPECT_EQ(got, n) << timeouts << " receives lost the race";
  EXPECT_EQ(got_sum, n * (n + 1) / 2);
}

// Timed waits on an io_context run by two threads: the deadline is a
// timer that writes the eventfd, never a second operation cancelling the
// fd wait from another thread.
TEST(AsyncQueueTest, TimedWaitsOnTwoThreadsDeliverEveryItem) {
  const int64_t n = Events(20'000);
  auto queue = MakeQueue(16, 1);
  asio::io_context io(2);
  std::atomic<int64_t> got_sum{0}, got{0}, timeouts{0};
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Sender tx = queue->MakeSender().value();
    for (int64_t i = 1; i <= n; ++i) {
      absl::Status status;
      while (!(status = co_await tx.SendFor(i, absl::Microseconds(20))).ok()) {
        EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded));
      }
    }
    queue->Close();
  });
  for (int r = 0; r < 2; ++r) {
    Spawn(io, [&]() -> awaitable<void> {
      Queue::Receiver rx = queue->MakeReceiver();
      for (;;) {
        absl::StatusOr<int64_t> item =
            co_await rx.ReceiveFor(absl::Microseconds(20));
        if (item.ok()) {
          got_sum.fetch_add(*item, std::memory_order_relaxed);
          got.fetch_add(1, std::memory_order_relaxed);
        } else if (absl::IsDeadlineExceeded(item.status())) {
          timeouts.fetch_add(1, std::memory_order_relaxed);
        } else {
          EXPECT_THAT(item, StatusIs(absl::StatusCode::kOutOfRange));
          break;
        }
      }
    });
  }
  std::thread other([&io] { io.run(); });
  io.run();
  other.join();
  EXPECT_EQ(got.load(), n);
  EXPECT_EQ(got_sum.load(), n * (n + 1) / 2);
}

// A cancellation reported as a status (ReceiveFor inside a cancelled
// parent).
TEST(AsyncQueueTest, ACancelledReceiveSaysCancelled) {
  auto queue = MakeQueue(2, 1);
  asio::io_context io;
  asio::cancellation_signal cancel;
  absl::StatusOr<int64_t> result = absl::UnknownError("not run");
  Queue::Receiver rx = queue->MakeReceiver();
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        result = co_await rx.ReceiveFor(absl::InfiniteDuration());
      },
      asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  // Runs the task until it suspends on the notifier.
  while (queue->SleepingReceivers() == 0) io.run_one();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled,
                               HasSubstr("nothing was taken")));
  EXPECT_EQ(queue->SleepingReceivers(), 0u);
}

// Close while senders send and receivers receive, on two threads: every
// send that reported OK is received exactly once; sends after Close fail.
TEST(AsyncQueueTest, CloseRacingSendsAndReceivesLosesAndDuplicatesNothing) {
  for (int round = 0; round < 20; ++round) {
    auto queue = MakeQueue(16, 3);
    asio::io_context io(2);
    std::atomic<int64_t> sent_sum{0}, sent_count{0};
    std::atomic<int64_t> got_sum{0}, got_count{0};
    std::atomic<int> started{0};
    for (int s = 0; s < 3; ++s) {
      Spawn(io, [&, s]() -> awaitable<void> {
        Queue::Sender tx = queue->MakeSender().value();
        // Relaxed: a counter the main thread waits on (no data).
        started.fetch_add(1, std::memory_order_relaxed);
        for (int64_t i = 1;; ++i) {
          const absl::Status status = co_await tx.Send(Item(s, i));
          if (!status.ok()) {
            EXPECT_THAT(status,
                        StatusIs(absl::StatusCode::kFailedPrecondition));
            break;
          }
          sent_sum.fetch_add(Item(s, i), std::memory_order_relaxed);
          sent_count.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    for (int r = 0; r < 2; ++r) {
      Spawn(io, [&]() -> awaitable<void> {
        Queue::Receiver rx = queue->MakeReceiver();
        while (std::optional<int64_t> item = co_await rx.Receive()) {
          got_sum.fetch_add(*item, std::memory_order_relaxed);
          got_count.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    std::thread a([&io] { io.run(); });
    std::thread b([&io] { io.run(); });
    // Close once the senders have been going for a while (a count, not a
    // time): Close lands at a different point each round.
    while (started.load(std::memory_order_relaxed) < 3 ||
           got_count.load(std::memory_order_relaxed) < 500 + round * 97) {
      std::this_thread::yield();
    }
    queue->Close();
    a.join();
    b.join();
    EXPECT_EQ(got_count.load(), sent_count.load()) << "round " << round;
    EXPECT_EQ(got_sum.load(), sent_sum.load()) << "round " << round;
  }
}

TEST(AsyncQueueTest, BulkSendAndReceiveCarryEveryItem) {
  const int64_t n = Events(100'000);
  auto queue = MakeQueue(64, 1);
  asio::io_context io;
  int64_t sum = 0, count = 0;
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Sender tx = queue->MakeSender().value();
    std::vector<int64_t> chunk(100);
    for (int64_t base = 0; base < n; base += 100) {
      std::iota(chunk.begin(), chunk.end(), base);
      EXPECT_EQ(co_await tx.SendBulk(chunk), chunk.size());
    }
    queue->Close();
  });
  Spawn(io, [&]() -> awaitable<void> {
    Queue::Receiver rx = queue->MakeReceiver();
    std::vector<int64_t> out(37);
    int64_t expected = 0;
    while (size_t k = co_await rx.ReceiveBulk(out)) {
      for (size_t i = 0; i < k; ++i) {
        EXPECT_EQ(out[i], expected++);
        sum += out[i];
      }
      count += static_cast<int64_t>(k);
    }
  });
  io.run();
  EXPECT_EQ(count, n / 100 * 100);
  EXPECT_EQ(sum, (n / 100 * 100) * (n / 100 * 100 - 1) / 2);
}

// A busy sender with an armed-but-busy receiver: the sender writes the
// receiver's eventfd once per arming, never once per item.
TEST(AsyncQueueTest, ABusySenderWritesTheEventfdOncePerArmingNotPerItem) {
  const int64_t n = Events(50'000);
  auto queue = MakeQueue(65536, 1);
  asio::io_context io;
  std::optional<int64_t> first;
  Queue::Receiver rx = queue->MakeReceiver();
  Spawn(io, [&]() -> awaitable<void> { first = co_await rx.Receive(); });
  std::thread loop([&io] { io.run(); });
  while (queue->SleepingReceivers() == 0) {
    std::this_thread::yield();
  }
  ASSERT_OK_AND_ASSIGN(Queue::Sender tx, queue->MakeSender());
  int64_t sent = 0;
  for (int64_t i = 0; i < n; ++i) sent += tx.TrySend(i) ? 1 : 0;
  loop.join();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(rx.wakes(), 1u)
      << "one arming, one write, for " << sent << " items";
  int64_t rest = 0;
  while (rx.TryReceive()) ++rest;
  EXPECT_EQ(rest, sent - 1);
}

}  // namespace
}  // namespace ringflow::async
