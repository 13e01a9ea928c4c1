// ringflow/async/async_publisher.h
//
// Provides `AsyncPublisher<Ring>`: the producer side of an in-process ring
// (a RingBuffer, a ShardProducer's shard) for a C++20 coroutine on Asio:
// `co_await` free space, or publish an event, suspending the task (not the
// thread) while the ring is full.
//
//   auto publisher = AsyncPublisher<RingBuffer<Tick>>::Create(*ring).value();
//   absl::Status s = co_await publisher.PublishEvent(
//       [&](Tick& t, int64_t) { t = next; });   // suspends while full
//
// Waiting is NotifierWait on a SpaceNotifier (space_notifier.h): the
// ring's consumers write its eventfd once per arming, after they moved;
// they pay one relaxed load per batch while nobody is armed. Any wait
// strategy.
//
// Ends: OK; FailedPrecondition when the ring is closed (nothing
// published); DeadlineExceeded (the timeout forms); Cancelled through
// Asio's cancellation slot (nothing claimed, nothing published).
//
// Who calls what: the ring's producer rules (one task at a time for a
// kSingle ring). The publisher must not outlive its ring.

#ifndef RINGFLOW_ASYNC_ASYNC_PUBLISHER_H_
#define RINGFLOW_ASYNC_ASYNC_PUBLISHER_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asio/awaitable.hpp"
#include "ringflow/async/notifier_wait.h"
#include "ringflow/core/internal/notifier_table.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/processors/space_notifier.h"

namespace ringflow::async {

template <typename Ring>
class AsyncPublisher {
 public:
  // FailedPrecondition where the kernel refuses membarrier (SpaceNotifier).
  static absl::StatusOr<AsyncPublisher> Create(Ring& ring) {
    if (!core_internal::RegisterMembarrier()) {
      return absl::FailedPreconditionError(
          "membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) failed: an "
          "async publisher waits on a SpaceNotifier (Linux 4.14 or later)");
    }
    return AsyncPublisher(ring);
  }

  AsyncPublisher(AsyncPublisher&&) noexcept = default;
  AsyncPublisher& operator=(AsyncPublisher&&) = delete;

  // OK once the ring has room for `n` events (the next claim of up to `n`
  // then succeeds at once, for a kSingle ring).
  asio::awaitable<absl::Status> WaitForSpace(
      int64_t n = 1, absl::Duration timeout = absl::InfiniteDuration()) {
    if (n < 1 || n > ring_->capacity()) {
      co_return absl::InvalidArgumentError(absl::StrCat(
          "n ", n, " is outside [1, capacity ", ring_->capacity(), "]"));
    }
    co_return co_await Wait(
        [this, n] { return ring_->RemainingCapacity() >= n; }, timeout);
  }

  // Publishes one event filled by `fill(E&, int64_t sequence)`, suspending
  // while the ring is full.
  template <typename Fill>
  asio::awaitable<absl::Status> PublishEvent(
      Fill fill, absl::Duration timeout = absl::InfiniteDuration()) {
    co_return co_await Wait(
        [this, &fill] { return ring_->TryPublishEvent(fill); }, timeout);
  }

  // Eventfd writes consumers made to wake this publisher (statistic).
  uint64_t wakes() const noexcept { return wait_.wakes(); }

 private:
  explicit AsyncPublisher(Ring& ring)
      : ring_(&ring), wait_(SpaceNotifier::KeyOf(ring)) {}

  template <typename Try>
  asio::awaitable<absl::Status> Wait(Try try_once, absl::Duration timeout) {
    auto closed = [this] { return ring_->IsClosed(); };
    RINGFLOW_CO_ASSIGN_OR_RETURN(
        WaitEnd end,
        co_await wait_.Until(try_once, closed, DeadlineAfter(timeout)));
    switch (end) {
      case WaitEnd::kDone:
        co_return absl::OkStatus();
      case WaitEnd::kFinished:
        co_return absl::FailedPreconditionError(
            "the ring is closed; nothing was published");
      case WaitEnd::kDeadline:
        co_return absl::DeadlineExceededError(
            "no room in time; nothing was published");
      case WaitEnd::kCancelled:
        break;
    }
    co_return absl::CancelledError(
        "the wait was cancelled; nothing was published");
  }

  Ring* ring_;
  NotifierWait wait_;
};

}  // namespace ringflow::async

#endif  // RINGFLOW_ASYNC_ASYNC_PUBLISHER_H_
