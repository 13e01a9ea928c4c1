// async_queue.cc — Asio coroutines on an AsyncQueue: three sender tasks and
// two receiver tasks on one io_context run by two threads.
//
// What it shows:
//   * `co_await tx.Send(order)` suspends the sender task (not its thread)
//     while its shard is full; receivers loop `while (auto order = co_await
//     rx.Receive())` until the last sender's Close() and the queue drained,
//   * every order arrives exactly once (count and sum per sender),
//   * ReceiveFor with a timeout, and a Receive cancelled by a timer via `||`,
//   * wakes: eventfd writes one side made for a sleeping task of the other.
//
// Run:   build/dev/examples/example_async_queue
// Prints: async_queue: 300000 orders from 3 senders (counts and sums ok),
//         receivers took <a> + <b>; <r> receiver wakes, <s> sender wakes;
//         ReceiveFor timed out, Receive || timer cancelled
// Exits non-zero when an order is missing or duplicated.

#include "ringflow/async/async_queue.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "asio/co_spawn.hpp"
#include "asio/experimental/awaitable_operators.hpp"
#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"
#include "asio/this_coro.hpp"
#include "asio/use_awaitable.hpp"

namespace {

struct Order {
  int sender = 0;
  int64_t seq = 0;  // 0, 1, ... per sender
  int64_t quantity = 0;
};
using Queue = ringflow::async::AsyncQueue<Order>;

constexpr int kSenders = 3;
constexpr int64_t kOrders = 100'000;  // per sender

// What one task sent or received, by sender. Written by that task only.
struct Tally {
  std::array<int64_t, kSenders> count{}, sum{};
  int64_t items = 0;
  uint64_t wakes = 0;
  void Add(const Order& o) {
    ++items;
    ++count[o.sender];
    sum[o.sender] += o.quantity;
  }
};

// co_spawn's completion: a task's exception leaves io.run() with it.
constexpr auto kRethrow = [](std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
};

asio::awaitable<void> SendOrders(Queue& queue, Queue::Sender tx, int sender,
                                 std::atomic<int>& senders_left, Tally& out) {
  for (int64_t seq = 0; seq < kOrders; ++seq) {
    const Order order{sender, seq, seq % 100 + 1};
    if (!(co_await tx.Send(order)).ok()) break;  // closed: not sent
    out.Add(order);
  }
  out.wakes = tx.wakes();
  // The last sender out closes: receivers drain what is left, then stop.
  if (senders_left.fetch_sub(1, std::memory_order_acq_rel) == 1) queue.Close();
}

asio::awaitable<void> ReceiveOrders(Queue& queue, Tally& out) {
  Queue::Receiver rx = queue.MakeReceiver();
  while (std::optional<Order> order = co_await rx.Receive()) out.Add(*order);
  out.wakes = rx.wakes();
}

// Before anything is sent, on one thread (see Run): two waits that end
// without an order.
asio::awaitable<void> TimeoutAndCancel(Queue& queue, absl::Status& result) {
  using namespace asio::experimental::awaitable_operators;
  Queue::Receiver rx = queue.MakeReceiver();
  // Gives up after 5 ms: DeadlineExceeded, nothing taken.
  absl::StatusOr<Order> order = co_await rx.ReceiveFor(absl::Milliseconds(5));
  // The timer completes first and `||` cancels the Receive through its
  // cancellation slot: `first` holds the timer's result (index 1).
  asio::steady_timer timer(co_await asio::this_coro::executor,
                           std::chrono::milliseconds(5));
  auto first = co_await (rx.Receive() || timer.async_wait(asio::use_awaitable));
  if (!absl::IsDeadlineExceeded(order.status()) || first.index() != 1) {
    result = absl::InternalError("a wait on the empty queue got an order");
  }
}

absl::Status Run() {
  RINGFLOW_ASSIGN_OR_RETURN(
      std::unique_ptr<Queue> queue,
      Queue::Create({.sender_capacity = 256, .max_senders = kSenders}));
  asio::io_context io(2);

  // One thread runs io here: the For forms and `||` cancel an operation
  // from the thread where the other one completed, which Asio allows only
  // when both run on one thread or one strand.
  absl::Status waits;
  asio::co_spawn(io, TimeoutAndCancel(*queue, waits), kRethrow);
  io.run();
  RINGFLOW_RETURN_IF_ERROR(waits);
  io.restart();

  // Two threads from here on; Send and Receive wait without a deadline.
  std::atomic<int> senders_left{kSenders};
  std::array<Tally, kSenders> sent;
  std::array<Tally, 2> received;
  for (int s = 0; s < kSenders; ++s) {
    RINGFLOW_ASSIGN_OR_RETURN(Queue::Sender tx, queue->MakeSender());
    asio::co_spawn(io,
                   SendOrders(*queue, std::move(tx), s, senders_left, sent[s]),
                   kRethrow);
  }
  for (Tally& r : received) {
    asio::co_spawn(io, ReceiveOrders(*queue, r), kRethrow);
  }
  std::thread second([&io] { io.run(); });
  io.run();
  second.join();

  uint64_t sender_wakes = 0;
  for (int s = 0; s < kSenders; ++s) {
    sender_wakes += sent[s].wakes;
    const int64_t count = received[0].count[s] + received[1].count[s];
    const int64_t sum = received[0].sum[s] + received[1].sum[s];
    if (sent[s].count[s] != kOrders || count != kOrders ||
        sum != sent[s].sum[s]) {
      return absl::InternalError(absl::StrCat(
          "sender ", s, ": sent ", sent[s].count[s], " (sum ", sent[s].sum[s],
          "), received ", count, " (sum ", sum, ")"));
    }
  }
  absl::PrintF(
      "async_queue: %d orders from %d senders (counts and sums ok), "
      "receivers took %d + %d; %d receiver wakes, %d sender wakes; "
      "ReceiveFor timed out, Receive || timer cancelled\n",
      kSenders * kOrders, kSenders, received[0].items, received[1].items,
      received[0].wakes + received[1].wakes, sender_wakes);
  return absl::OkStatus();
}

}  // namespace

int main() {
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "async_queue: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
