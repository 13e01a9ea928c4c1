// ringflow/async/notifier_wait.h
//
// Provides `NotifierWait`: how a coroutine on an Asio executor waits for a
// ring or queue operation to succeed without blocking its thread. The
// operation (a dequeue, an enqueue, a lease) is retried; between tries the
// coroutine yields to the executor a couple of times (another task on the
// same thread may be the one that makes progress), then arms an
// EventNotifier (its eventfd, in the executor's reactor through an
// asio::posix::stream_descriptor) and suspends until the fd is readable,
// the deadline passes or the wait is cancelled.
//
// The arming is EventNotifier::ArmUnless: register as a waiter, seq_cst
// fence, try once more; a waker publishes (seq_cst store, or release store
// and seq_cst fence), then reads the waiter count (seq_cst) and writes the
// eventfd. Either the last try sees the waker's progress, or the waker sees
// the registration. Nobody pays for a wake while no coroutine is armed.
//
// Cancellation (an Asio cancellation slot: `co_await (op || timer)`,
// `asio::bind_cancellation_slot`, a cancelled parent): the wait completes
// with Cancelled, having taken nothing. The operation only runs in the
// tries, and each try is preceded, in the same synchronous step, by a read
// of the cancellation state: once a cancellation was requested no try
// runs, so a parent that drops a cancelled branch's result drops nothing
// taken. Asio delivers cancellation on the thread that emits it: with
// `||` on an io_context run by several threads, put the coroutine on a
// strand (asio::make_strand), as for any Asio I/O object.
//
// Timeouts need no second operation: a timer writes the eventfd at the
// deadline (one dup() of the fd per timed sleep), and the wait sees the
// time on its next round. Deadlines are CLOCK_MONOTONIC.
//
// One NotifierWait per waiting party (a queue's Sender or Receiver, a
// reader): created on the first wait that has to sleep, it holds one
// eventfd and one slot of the process's notifier table from then on. Used
// by one coroutine at a time. The fd is registered with the executor's
// reactor only for the length of each sleep (an epoll_ctl add and delete
// per sleep), so a NotifierWait may outlive the io_context it slept on,
// and its coroutine may move to another executor between waits.

#ifndef RINGFLOW_ASYNC_NOTIFIER_WAIT_H_
#define RINGFLOW_ASYNC_NOTIFIER_WAIT_H_

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asio/any_io_executor.hpp"
#include "asio/awaitable.hpp"
#include "asio/cancellation_state.hpp"
#include "asio/cancellation_type.hpp"
#include "asio/error.hpp"
#include "asio/experimental/as_tuple.hpp"
#include "asio/posix/stream_descriptor.hpp"
#include "asio/post.hpp"
#include "asio/steady_timer.hpp"
#include "asio/this_coro.hpp"
#include "asio/use_awaitable.hpp"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/processors/event_notifier.h"
#include "ringflow/processors/space_notifier.h"

namespace ringflow::async {

// How a wait ended when it did not end with the operation done.
enum class WaitEnd : uint8_t { kDone, kFinished, kDeadline, kCancelled };

class NotifierWait {
 public:
  // `signal`: the one the other side wakes after its progress (readers,
  // queue senders and receivers: an EventNotifier).
  explicit NotifierWait(core_internal::WakeupSignal& signal) noexcept
      : signal_(&signal) {}
  // A producer waiting for room in the ring whose slots start at
  // `ring_key`: a SpaceNotifier, which the ring's consumers fire.
  explicit NotifierWait(const void* ring_key) noexcept : ring_key_(ring_key) {}
  NotifierWait(NotifierWait&&) noexcept = default;
  NotifierWait& operator=(NotifierWait&&) = delete;

  // Retries `try_once()` until it returns true (kDone); `finished()` ends
  // the wait after one more try (kDone if that try succeeds, else
  // kFinished: the queue closed, the ring closed and drained); kDeadline
  // at `deadline` (MonotonicNanos; INT64_MAX: none); kCancelled when the
  // coroutine's wait is cancelled. Errors: the notifier could not be made
  // (ResourceExhausted, Internal), never for the operation itself.
  //
  // The cancellation state is read right before every try, in the same
  // synchronous step: a wait whose cancellation was requested never
  // completes the operation (its parent, an `||` say, would drop the
  // item it took or the send it made).
  template <typename Try, typename Finished>
  asio::awaitable<absl::StatusOr<WaitEnd>> Until(Try try_once,
                                                 Finished finished,
                                                 int64_t deadline) {
    for (int tries = 0;; ++tries) {
      asio::cancellation_state state =
          co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) {
        co_return WaitEnd::kCancelled;
      }
      if (try_once()) co_return WaitEnd::kDone;
      if (finished()) {
        co_return try_once() ? WaitEnd::kDone : WaitEnd::kFinished;
      }
      if (core_internal::MonotonicNanos() >= deadline) {
        co_return WaitEnd::kDeadline;
      }
      auto executor = co_await asio::this_coro::executor;
      if (tries < kYields) {
        // Another task on this thread may be the one to make progress.
        co_await asio::post(executor, asio::use_awaitable);
        continue;
      }
      RINGFLOW_CO_RETURN_IF_ERROR(MakeNotifier());
      if (!ArmUnless(try_once)) co_return WaitEnd::kDone;
      if (finished()) {
        // Closed before we armed: Close's wake may have come and gone.
        Disarm();
        continue;
      }
      const std::optional<WaitEnd> end = co_await SleepOnFd(executor, deadline);
      Disarm();
      if (end) co_return *end;
    }
  }

  // Eventfd writes the other side made for this party (statistic).
  uint64_t wakes() const noexcept {
    if (notifier_) return notifier_->wakes();
    return space_ ? space_->wakes() : 0;
  }

 private:
  absl::Status MakeNotifier() {
    if (signal_ != nullptr && !notifier_) {
      RINGFLOW_ASSIGN_OR_RETURN(notifier_,
                                EventNotifier::CreateOnSignal(*signal_));
    } else if (signal_ == nullptr && !space_) {
      RINGFLOW_ASSIGN_OR_RETURN(space_, SpaceNotifier::CreateForKey(ring_key_));
    }
    return absl::OkStatus();
  }
  template <typename Try>
  bool ArmUnless(Try& try_once) {
    return notifier_ ? notifier_->ArmUnless(try_once)
                     : space_->ArmUnless(try_once);
  }
  void Disarm() noexcept { notifier_ ? notifier_->Disarm() : space_->Disarm(); }
  int fd() const noexcept { return notifier_ ? notifier_->fd() : space_->fd(); }

  // Tries that yield to the executor before a wait arms the notifier.
  static constexpr int kYields = 2;

  // Suspends until the fd is readable (nullopt: try again; the top of
  // Until sees a passed deadline) or the wait is cancelled (kCancelled).
  // A deadline is a timer that writes the eventfd (through a dup of it,
  // which the timer's handler owns, so a late handler never writes a
  // closed or reused fd number); no second operation races the fd wait,
  // so nothing here emits a cancellation from another thread.
  asio::awaitable<std::optional<WaitEnd>> SleepOnFd(
      const asio::any_io_executor& executor, int64_t deadline) {
    // Registered for this sleep only; gives the fd back (the notifier owns
    // it) however the sleep ends.
    struct Descriptor {
      asio::posix::stream_descriptor d;
      ~Descriptor() { d.release(); }
    } descriptor{asio::posix::stream_descriptor(executor, fd())};
    std::optional<asio::steady_timer> timer;
    if (deadline != INT64_MAX) {
      auto wake = std::make_shared<OwnedFd>(::dup(fd()));
      if (wake->fd < 0) co_return std::nullopt;  // retry: sees the time
      timer.emplace(executor,
                    std::chrono::nanoseconds(std::max<int64_t>(
                        0, deadline - core_internal::MonotonicNanos())));
      timer->async_wait([wake](std::error_code ec) {
        if (ec) return;  // cancelled: the fd woke first
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(wake->fd, &one, sizeof one);
      });
    }
    auto [ec] = co_await descriptor.d.async_wait(
        asio::posix::stream_descriptor::wait_read,
        asio::experimental::as_tuple(asio::use_awaitable));
    if (timer) timer->cancel();
    if (ec == asio::error::operation_aborted) co_return WaitEnd::kCancelled;
    co_return std::nullopt;
  }

  // A file descriptor closed with its last owner.
  struct OwnedFd {
    explicit OwnedFd(int f) : fd(f) {}
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    ~OwnedFd() {
      if (fd >= 0) ::close(fd);
    }
    int fd;
  };

  core_internal::WakeupSignal* signal_ = nullptr;  // an event-side wait
  const void* ring_key_ = nullptr;                 // a space-side wait
  std::unique_ptr<EventNotifier> notifier_;
  std::unique_ptr<SpaceNotifier> space_;
};

// The deadline (MonotonicNanos) of a wait of `timeout` from now; INT64_MAX
// for none.
inline int64_t DeadlineAfter(absl::Duration timeout) noexcept {
  if (timeout >= absl::Hours(24 * 365)) return INT64_MAX;
  if (timeout <= absl::ZeroDuration()) return core_internal::MonotonicNanos();
  return core_internal::MonotonicNanos() + absl::ToInt64Nanoseconds(timeout);
}

}  // namespace ringflow::async

#endif  // RINGFLOW_ASYNC_NOTIFIER_WAIT_H_
