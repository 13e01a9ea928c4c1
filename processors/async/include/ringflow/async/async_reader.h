// ringflow/async/async_reader.h
//
// Provides `AsyncReader<E, Poller>`: a reader of an in-process ring (an
// EventPoller over a RingBuffer, or a ShardedPoller over a ShardedRing)
// for a C++20 coroutine on Asio: `co_await` the next batch of leased
// events, the next lease, or just "events are there" (then Poll).
//
//   auto poller = EventPoller<Tick>::Create(*ring).value();
//   auto reader = AsyncReader<Tick>::Create(*ring, *poller).value();
//   for (;;) {
//     absl::StatusOr<LeaseBatch<Tick>> batch = co_await reader.NextBatch(256);
//     if (!batch.ok()) break;             // OutOfRange: closed, all read
//     for (const Tick& t : *batch) Use(t);
//   }                                     // each batch released: slots free
//
// Waiting is NotifierWait (notifier_wait.h) on the ring's wakeup signal:
// the ring's producers write the reader's eventfd once per arming, and pay
// nothing while the reader is busy. The ring needs a kBlocking or
// kTimeoutBlocking wait strategy (only their producers wake anybody).
//
// Ends: OK with events; OutOfRange once the ring is closed and this reader
// has read everything; DeadlineExceeded (the timeout forms); Cancelled
// through Asio's cancellation slot. A wait that ends without events has
// leased nothing and moved no sequence. Closing a RingBuffer does not wake
// its sleeping readers (its producers wake them by publishing; a
// ShardedRing's Close does): stop such a reader by cancelling its wait,
// or by a timeout.
//
// Every try ends the poller's read deferral first (ClearDeferral), so a
// poller with stream_backoff_pauses never sleeps on a deferred read. The
// poller must read the producers' cursor only (no upstream stages): a
// notifier is woken by publishes, not by an upstream consumer's progress.
//
// Who calls what: one task at a time (the poller's reader thread rules:
// a lease must be released before the next one is asked for). The reader
// must not outlive the poller or the ring.

#ifndef RINGFLOW_ASYNC_ASYNC_READER_H_
#define RINGFLOW_ASYNC_ASYNC_READER_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asio/awaitable.hpp"
#include "ringflow/async/notifier_wait.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/lease.h"

namespace ringflow::async {

template <typename E, typename Poller = EventPoller<E>>
class AsyncReader {
 public:
  // InvalidArgument for a ring whose producers never wake a reader (a
  // spinning wait strategy).
  template <typename Ring>
  static absl::StatusOr<AsyncReader> Create(Ring& ring, Poller& poller) {
    const WaitStrategy& wait = ring.wait_strategy();
    if (!wait.NeedsWakeup()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "wait_strategy ", std::string(WaitStrategyName(wait.kind())),
          ": an async reader needs kBlocking or kTimeoutBlocking (only "
          "their producers wake readers)"));
    }
    return AsyncReader(poller, *wait.signal(), &ring, [](const void* r) {
      return static_cast<const Ring*>(r)->IsClosed();
    });
  }

  AsyncReader(AsyncReader&&) noexcept = default;
  AsyncReader& operator=(AsyncReader&&) = delete;

  // Leases up to `max` events (at least one).
  asio::awaitable<absl::StatusOr<LeaseBatch<E>>> NextBatch(
      int64_t max, absl::Duration timeout = absl::InfiniteDuration()) {
    std::optional<LeaseBatch<E>> batch;
    RINGFLOW_CO_RETURN_IF_ERROR(co_await Wait(
        [&] {
          poller_->ClearDeferral();
          return (batch = poller_->TryLeaseBatch(max)).has_value();
        },
        timeout));
    co_return std::move(*batch);
  }

  // Leases the next event.
  asio::awaitable<absl::StatusOr<Lease<E>>> NextLease(
      absl::Duration timeout = absl::InfiniteDuration()) {
    std::optional<Lease<E>> lease;
    RINGFLOW_CO_RETURN_IF_ERROR(co_await Wait(
        [&] {
          poller_->ClearDeferral();
          return (lease = poller_->TryLease()).has_value();
        },
        timeout));
    co_return std::move(*lease);
  }

  // OK once events are published past the poller's position: Poll them.
  asio::awaitable<absl::Status> WaitForEvents(
      absl::Duration timeout = absl::InfiniteDuration()) {
    return Wait(
        // Acquire: pairs with the producers' release (or seq_cst) cursor
        // store; the arming's seq_cst fence precedes the last such try.
        [this] { return poller_->HasPublished(std::memory_order_acquire); },
        timeout);
  }

  // Eventfd writes producers made to wake this reader (statistic).
  uint64_t wakes() const noexcept { return wait_.wakes(); }

 private:
  using ClosedFn = bool (*)(const void*);

  AsyncReader(Poller& poller, core_internal::WakeupSignal& signal,
              const void* ring, ClosedFn closed)
      : poller_(&poller), wait_(signal), ring_(ring), closed_(closed) {}

  template <typename Try>
  asio::awaitable<absl::Status> Wait(Try try_once, absl::Duration timeout) {
    auto finished = [this] {
      // Acquire: as above; after the ring closed no publish can follow,
      // so this read of the cursor is final.
      return closed_(ring_) &&
             !poller_->HasPublished(std::memory_order_acquire);
    };
    RINGFLOW_CO_ASSIGN_OR_RETURN(
        WaitEnd end,
        co_await wait_.Until(try_once, finished, DeadlineAfter(timeout)));
    switch (end) {
      case WaitEnd::kDone:
        co_return absl::OkStatus();
      case WaitEnd::kFinished:
        co_return absl::OutOfRangeError(
            "the ring is closed and this reader has read all of it");
      case WaitEnd::kDeadline:
        co_return absl::DeadlineExceededError(
            "no event arrived in time; nothing was leased");
      case WaitEnd::kCancelled:
        break;
    }
    co_return absl::CancelledError(
        "the wait was cancelled; nothing was leased");
  }

  Poller* poller_;
  NotifierWait wait_;
  const void* ring_;
  ClosedFn closed_;
};

}  // namespace ringflow::async

#endif  // RINGFLOW_ASYNC_ASYNC_READER_H_
