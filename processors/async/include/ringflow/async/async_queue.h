// ringflow/async/async_queue.h
//
// Provides `AsyncQueue<T>`: a bounded multi-producer multi-consumer queue
// for C++20 coroutines on Asio, whose tasks are suspended, not blocked,
// while it is full or empty. Built on ShardedQueue<T> (a ShardedRing with
// competing consumers): each Sender owns one shard, so senders never
// contend with each other, and each item goes to exactly one receiver.
//
//   auto queue = AsyncQueue<Order>::Create({.sender_capacity = 1024});
//   asio::co_spawn(io, [&]() -> asio::awaitable<void> {
//     auto tx = (*queue)->MakeSender().value();
//     for (const Order& o : orders) co_await tx.Send(o);
//   }, asio::detached);
//   asio::co_spawn(io, [&]() -> asio::awaitable<void> {
//     auto rx = (*queue)->MakeReceiver();
//     while (std::optional<Order> o = co_await rx.Receive()) Fill(*o);
//   }, asio::detached);                     // ends after Close(), drained
//
// Senders: TrySend / TrySendBulk never wait; Send / SendFor / SendBulk
// suspend while the sender's shard is full. Receivers: TryReceive /
// TryReceiveBulk never wait; Receive / ReceiveFor / ReceiveBulk suspend
// while every shard is empty. Close() fails sends from then on and wakes
// every waiting task; receivers drain what is left, then Receive returns
// empty. Order: one sender's items are received in its order (across all
// receivers); nothing orders different senders' items.
//
// Errors are absl::Status: FailedPrecondition (closed), DeadlineExceeded
// (the For forms), Cancelled (the task's wait was cancelled through Asio's
// cancellation slot: nothing was sent or taken), ResourceExhausted (no
// shard left for MakeSender, or no notifier slot left in the process).
//
// Waiting is NotifierWait (notifier_wait.h): a couple of yields to the
// executor, then an eventfd in the executor's reactor, armed with the
// queue's waiter handshake. A sender pays one seq_cst load per item while
// nobody waits and one eventfd write per arming while a receiver waits
// (not one per item); receivers giving slots back pay the same towards
// waiting senders. Each Sender and Receiver that has had to sleep holds
// one eventfd.
//
// Close and senders: a send checks the queue's closed flag with a busy
// flag of its own up, and Close waits for busy senders before it closes
// the ring underneath, so a send that reported success can never land
// after the receivers decided the queue was drained.
//
// Who calls what: a Sender or Receiver from one task at a time (it may
// move between threads with its task); Close and the queries from
// anywhere. Senders and receivers must not outlive their queue.

#ifndef RINGFLOW_ASYNC_ASYNC_QUEUE_H_
#define RINGFLOW_ASYNC_ASYNC_QUEUE_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asio/awaitable.hpp"
#include "ringflow/async/notifier_wait.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/processors/sharded_queue.h"

namespace ringflow::async {

struct AsyncQueueOptions {
  // Items each Sender's shard holds; a power of two.
  int64_t sender_capacity = 1024;
  // Senders that may exist at once, in [1, kMaxShards].
  int max_senders = 16;
  // Named in errors and metrics labels.
  std::string name = "async_queue";
  bool counters = true;
};

template <typename T>
class AsyncQueue {
  using Queue = ShardedQueue<T>;
  // A sender's busy flag, on a line of its own (written twice per send).
  struct alignas(kFalseSharingRange) SendGate {
    std::atomic<bool> busy{false};
  };

 public:
  class Sender;
  class Receiver;

  // InvalidArgument naming a bad option (as ShardedQueue::Create).
  static absl::StatusOr<std::unique_ptr<AsyncQueue>> Create(
      const AsyncQueueOptions& options) {
    ShardedQueueOptions queue_options;
    queue_options.shard_capacity = options.sender_capacity;
    queue_options.max_producers = options.max_senders;
    // Waiting tasks are woken through the blocking strategy's handshake.
    queue_options.wait_strategy = WaitStrategyKind::kBlocking;
    queue_options.name = options.name;
    queue_options.counters = options.counters;
    RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Queue> queue,
                              Queue::Create(queue_options));
    return std::unique_ptr<AsyncQueue>(
        new AsyncQueue(std::move(queue), options.name));
  }

  AsyncQueue(const AsyncQueue&) = delete;
  AsyncQueue& operator=(const AsyncQueue&) = delete;

  // A sender owning one shard, built on the calling thread.
  // FailedPrecondition when closed; ResourceExhausted when max_senders
  // senders exist.
  absl::StatusOr<Sender> MakeSender() {
    auto gate = std::make_unique<SendGate>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Relaxed: under the mutex Close holds while storing it.
      if (closed_.load(std::memory_order_relaxed)) {
        return absl::FailedPreconditionError(
            absl::StrCat("async queue '", name_, "' is closed"));
      }
      gates_.push_back(gate.get());
    }
    absl::StatusOr<typename Queue::ProducerToken> token =
        queue_->RegisterProducer();
    if (!token.ok()) {
      RemoveGate(gate.get());
      return token.status();
    }
    return Sender(*this, std::move(*token), std::move(gate));
  }
  Receiver MakeReceiver() { return Receiver(*this); }

  // Sends fail from now on; every waiting task wakes. Returns once no
  // send is in progress: every send that reported success is in the queue
  // and will be received (receivers see the queue closed only after
  // that). Any thread.
  void Close() noexcept {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Seq_cst: the other half of each sender's busy-flag handshake (see
      // Sender::TrySend): either the sender sees this store, or we see
      // its busy flag below and wait for its send to finish.
      closed_.store(true, std::memory_order_seq_cst);
      for (const SendGate* gate : gates_) {
        // Acquire: pairs with the sender's release store of `false`, so
        // its enqueue happens before the ring is closed below.
        while (gate->busy.load(std::memory_order_acquire)) CpuRelax();
      }
    }
    queue_->Close();  // receivers drain, then see it; wakes every waiter
  }
  // Acquire: pairs with Close's store (nothing is read through it).
  bool IsClosed() const noexcept {
    return closed_.load(std::memory_order_acquire);
  }
  // Tasks asleep (or about to be) in a Send or a Receive (statistics).
  uint32_t SleepingSenders() const noexcept {
    return queue_->SleepingProducers();
  }
  uint32_t SleepingReceivers() const noexcept {
    return queue_->item_signal().Waiters();
  }

  // Items sent and not yet received (a snapshot).
  int64_t size() const { return queue_->SizeApprox(); }
  bool empty() const { return size() == 0; }
  // Items the queue holds: sender_capacity times max_senders.
  int64_t capacity() const noexcept { return queue_->capacity(); }
  const std::string& name() const noexcept { return name_; }
  // The queue underneath (metrics: queue().ring()).
  const Queue& queue() const noexcept { return *queue_; }

  class Sender {
   public:
    Sender(Sender&&) noexcept = default;
    Sender& operator=(Sender&&) = delete;

    ~Sender() {
      if (gate_) owner_->RemoveGate(gate_.get());
    }

    // False at once when this sender's shard is full or the queue closed.
    bool TrySend(const T& item) noexcept {
      return Sending([&] { return owner_->queue_->TryEnqueue(token_, item); });
    }
    // As many of `items` as fit now, in order; how many.
    size_t TrySendBulk(std::span<const T> items) noexcept {
      return Sending(
          [&] { return owner_->queue_->TryEnqueueBulk(token_, items); });
    }

    // Suspends while the shard is full. OK; FailedPrecondition when the
    // queue is closed (nothing sent); Cancelled (nothing sent).
    asio::awaitable<absl::Status> Send(T item) {
      // Fast path in this frame: the nested waits (three more coroutine
      // frames) only when the shard is full.
      if (TrySend(item)) co_return absl::OkStatus();
      co_return co_await SendFor(std::move(item), absl::InfiniteDuration());
    }
    // As Send; DeadlineExceeded (nothing sent) after `timeout`.
    asio::awaitable<absl::Status> SendFor(T item, absl::Duration timeout) {
      AsyncQueue& q = *owner_;
      auto closed = [&q] { return q.IsClosed(); };
      RINGFLOW_CO_ASSIGN_OR_RETURN(
          WaitEnd end, co_await wait_.Until([&] { return TrySend(item); },
                                            closed, DeadlineAfter(timeout)));
      co_return q.Outcome(end, "send");
    }

    // Sends every item in order, suspending while the shard is full;
    // returns how many were sent: fewer only when the queue closed or the
    // wait was cancelled (the rest were not sent).
    asio::awaitable<size_t> SendBulk(std::span<const T> items) {
      AsyncQueue& q = *owner_;
      size_t sent = 0;
      auto try_more = [&] {
        sent += TrySendBulk(items.subspan(sent));
        return sent == items.size();
      };
      auto closed = [&q] { return q.IsClosed(); };
      // Errors (no notifier) end it like a cancellation: `sent` says.
      (void)co_await wait_.Until(try_more, closed, INT64_MAX);
      co_return sent;
    }

    // This sender's shard is full.
    bool IsFull() const noexcept { return token_->RemainingCapacity() == 0; }
    // Eventfd writes receivers made to wake this sender (statistic).
    uint64_t wakes() const noexcept { return wait_.wakes(); }

   private:
    friend class AsyncQueue;
    Sender(AsyncQueue& owner, typename Queue::ProducerToken token,
           std::unique_ptr<SendGate> gate)
        : owner_(&owner),
          token_(std::move(token)),
          gate_(std::move(gate)),
          wait_(owner.queue_->space_signal()) {}

    // Runs `enqueue` unless the queue is closed, with the busy flag up.
    // Seq_cst store of the flag, then the seq_cst load of `closed_`: the
    // handshake with Close (its seq_cst store of `closed_`, then its read
    // of our flag): either we see the queue closed and send nothing, or
    // Close sees us busy and waits until our enqueue is done. Per call: a
    // seq_cst store (an exchange on x86) and a release store on this
    // sender's own line, and a load of the shared, read-mostly `closed_`.
    template <typename Enqueue>
    auto Sending(Enqueue enqueue) noexcept -> decltype(enqueue()) {
      gate_->busy.store(true, std::memory_order_seq_cst);
      decltype(enqueue()) result{};
      if (!owner_->closed_.load(std::memory_order_seq_cst)) result = enqueue();
      // Release: pairs with Close's acquire read of the flag.
      gate_->busy.store(false, std::memory_order_release);
      return result;
    }

    AsyncQueue* owner_;
    typename Queue::ProducerToken token_;
    std::unique_ptr<SendGate> gate_;  // registered with the queue
    NotifierWait wait_;
  };

  class Receiver {
   public:
    Receiver(Receiver&&) noexcept = default;
    Receiver& operator=(Receiver&&) = delete;

    // An item, if any shard has one now.
    std::optional<T> TryReceive() {
      T item;
      if (!owner_->queue_->TryDequeue(token_, item)) return std::nullopt;
      return item;
    }
    // Up to out.size() items (one sender's, in its order); how many.
    size_t TryReceiveBulk(std::span<T> out) {
      return owner_->queue_->TryDequeueBulk(token_, out);
    }

    // Suspends while the queue is empty: an item; empty once the queue is
    // closed and drained, when the wait was cancelled (nothing taken), or
    // when no notifier could be made for it (the process's table or fds
    // are exhausted): ReceiveFor says which.
    asio::awaitable<std::optional<T>> Receive() {
      // Fast path in this frame (a read the stream backoff may defer: the
      // wait's tries read every cursor).
      if (std::optional<T> item = TryReceive()) co_return item;
      absl::StatusOr<T> item = co_await ReceiveFor(absl::InfiniteDuration());
      if (!item.ok()) co_return std::nullopt;
      co_return std::move(*item);
    }
    // As Receive, with the reason when there is no item: OutOfRange (closed
    // and drained), DeadlineExceeded after `timeout`, Cancelled.
    asio::awaitable<absl::StatusOr<T>> ReceiveFor(absl::Duration timeout) {
      T item;
      RINGFLOW_CO_RETURN_IF_ERROR(co_await Wait(
          [&] { return Take(std::span<T>(&item, 1)) == 1; }, timeout));
      co_return std::move(item);
    }
    // Suspends until at least one item arrives, then takes up to
    // out.size() (one sender's, in order); 0 once closed and drained or
    // when the wait was cancelled.
    asio::awaitable<size_t> ReceiveBulk(std::span<T> out) {
      size_t n = TryReceiveBulk(out);
      if (n > 0) co_return n;
      const absl::Status status = co_await Wait(
          [&] { return (n = Take(out)) > 0; }, absl::InfiniteDuration());
      co_return status.ok() ? n : 0;
    }

    // Eventfd writes senders made to wake this receiver (statistic).
    uint64_t wakes() const noexcept { return wait_.wakes(); }

   private:
    friend class AsyncQueue;
    explicit Receiver(AsyncQueue& owner)
        : owner_(&owner),
          token_(owner.queue_->MakeConsumerToken()),
          wait_(owner.queue_->item_signal()) {}

    // A dequeue that reads every shard's cursor (no deferral): a waiting
    // task's tries must see what was published before the arming. Once the
    // queue is closed (nothing can land any more), exhaustive: it waits for
    // shards other receivers hold, so 0 then means drained.
    size_t Take(std::span<T> out) {
      return owner_->queue_->Dequeue(token_, out, /*fresh=*/true,
                                     /*exhaustive=*/owner_->queue_->IsClosed());
    }

    template <typename Try>
    asio::awaitable<absl::Status> Wait(Try try_once, absl::Duration timeout) {
      AsyncQueue& q = *owner_;
      // The ring underneath closes only after every send in progress
      // finished (Close), and every try after that is exhaustive (Take):
      // the last one returns nothing only when every shard was seen empty.
      auto drained = [&q] { return q.queue_->IsClosed(); };
      RINGFLOW_CO_ASSIGN_OR_RETURN(
          WaitEnd end,
          co_await wait_.Until(try_once, drained, DeadlineAfter(timeout)));
      co_return q.Outcome(end, "receive");
    }

    AsyncQueue* owner_;
    typename Queue::ConsumerToken token_;
    NotifierWait wait_;
  };

 private:
  AsyncQueue(std::unique_ptr<Queue> queue, std::string name)
      : queue_(std::move(queue)), name_(std::move(name)) {}

  void RemoveGate(const SendGate* gate) {
    std::lock_guard<std::mutex> lock(mu_);
    gates_.erase(std::find(gates_.begin(), gates_.end(), gate));
  }

  absl::Status Outcome(WaitEnd end, const char* what) const {
    const bool send = std::string_view(what) == "send";
    const char* nothing = send ? "sent" : "taken";
    switch (end) {
      case WaitEnd::kDone:
        return absl::OkStatus();
      case WaitEnd::kFinished:
        if (send) {
          return absl::FailedPreconditionError(
              absl::StrCat("async queue '", name_, "' is closed"));
        }
        return absl::OutOfRangeError(
            absl::StrCat("async queue '", name_, "' is closed and drained"));
      case WaitEnd::kDeadline:
        return absl::DeadlineExceededError(
            absl::StrCat(what, " on async queue '", name_,
                         "' timed out; nothing was ", nothing));
      case WaitEnd::kCancelled:
        break;
    }
    return absl::CancelledError(absl::StrCat(what, " on async queue '", name_,
                                             "' was cancelled; nothing was ",
                                             nothing));
  }

  std::unique_ptr<Queue> queue_;
  const std::string name_;
  // Sends fail once set; the ring underneath closes after it, once no
  // send is in progress.
  std::atomic<bool> closed_{false};
  std::mutex mu_;  // guards gates_; Close holds it
  std::vector<const SendGate*> gates_;
};

}  // namespace ringflow::async

#endif  // RINGFLOW_ASYNC_ASYNC_QUEUE_H_
