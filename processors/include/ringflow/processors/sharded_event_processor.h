// ringflow/processors/sharded_event_processor.h
//
// Provides `ShardedEventProcessor<E, H>`: runs one handler over every event
// of a ShardedRing on the thread that calls Run(), as BatchEventProcessor
// does over a RingBuffer. Its loop is a ShardedPoller's: each shard's
// available events go to the handler as contiguous runs, idle shards are
// visited less often, and when every shard is empty it waits with the
// ring's wait strategy (a blocking strategy sleeps in the kernel).
//
//   auto p = ShardedEventProcessor<Tick, Sum>::Create(*ring, sum);
//   std::thread t([&] { (*p)->Run(); });
//   ...
//   (*p)->Halt(); t.join();
//
// Handler: `OnEvent(const E&, int64_t sequence, bool end_of_batch)`, where
// `sequence` is the event's sequence in its shard (each producer's events
// arrive in its publish order) and end_of_batch ends a shard's run; optional
// OnStart, OnShutdown, OnTimeout(int64_t) (kTimeoutBlocking).
//
// Pipelines after the merge: a processor created with `after =
// {&a->poller()}` sees each shard's events only once `a` has handled them.
//
// Exceptions from OnEvent follow options.exception_policy: kHalt (status()
// names the shard and sequence; that event and every later one of the shard
// stay unconsumed) or kLogAndContinue. kRewind is refused by Create:
// a batch here spans shards, so there is no one batch to re-run.
// options.max_batch_size caps the events handled per Poll (one pass over
// the shards) and must be at least 1.
//
// Who calls what: Run on one thread; Halt, IsRunning, status from any.

#ifndef RINGFLOW_PROCESSORS_SHARDED_EVENT_PROCESSOR_H_
#define RINGFLOW_PROCESSORS_SHARDED_EVENT_PROCESSOR_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/lifecycle_call.h"
#include "ringflow/processors/internal/processor_status.h"
#include "ringflow/processors/internal/run_state.h"
#include "ringflow/processors/internal/type_name.h"
#include "ringflow/processors/sharded_poller.h"

namespace ringflow {

template <typename E, typename H>
requires EventHandler<H, const E>
class ShardedEventProcessor {
 public:
  // Registers a consumer on every shard of `ring`, gated in each shard by
  // the `after` stages (another processor's poller(), or a ShardedPoller;
  // they must outlive this one). `handler` must outlive the processor.
  // options.stream_backoff_pauses applies per shard.
  static absl::StatusOr<std::unique_ptr<ShardedEventProcessor>> Create(
      ShardedRing<E>& ring, H& handler,
      const std::vector<const ShardedPoller<E>*>& after = {},
      ProcessorOptions options = {}) {
    if (options.max_batch_size < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_batch_size ", options.max_batch_size, " must be at least 1"));
    }
    if (options.exception_policy.action == ExceptionAction::kRewind) {
      return absl::InvalidArgumentError(
          "ExceptionAction::kRewind is not supported by ShardedEventProcessor "
          "(a batch spans shards): use kHalt or kLogAndContinue");
    }
    if (options.name.empty()) {
      options.name = SanitizeName(processors_internal::TypeName<H>());
    }
    RINGFLOW_ASSIGN_OR_RETURN(
        std::unique_ptr<ShardedPoller<E>> poller,
        ShardedPoller<E>::Create(
            ring, after,
            PollerOptions{options.name, options.stream_backoff_pauses}));
    return std::unique_ptr<ShardedEventProcessor>(new ShardedEventProcessor(
        std::move(poller), handler, std::move(options)));
  }

  ShardedEventProcessor(const ShardedEventProcessor&) = delete;
  ShardedEventProcessor& operator=(const ShardedEventProcessor&) = delete;

  // Processes events until Halt(), or until the exception policy halts.
  // Returns at once if already running or halted. Never allocates per
  // event (once per new shard).
  void Run() {
    processors_internal::RunProcessor(
        state_, handler_, Lifecycle(), [&] { poller_->ClearAlert(); },
        [&] { Loop(); });
  }

  // Stops Run after the current pass. Thread-safe.
  void Halt() noexcept {
    state_.Halt();
    poller_->Alert();
  }

  bool IsRunning() const noexcept { return state_.IsRunning(); }
  const std::string& name() const noexcept { return options_.name; }
  const ShardedPoller<E>& poller() const noexcept { return *poller_; }

  // OK, or the error that made the exception policy halt the processor.
  absl::Status status() const { return status_.status(); }
  // Exceptions the handler threw (any policy, any callback). Relaxed read.
  uint64_t exception_count() const noexcept {
    return status_.exception_count();
  }

 private:
  // Thrown through Poll when the policy halts: the failing event stays
  // unconsumed (Poll counts only the events before it).
  struct HaltSignal {};

  ShardedEventProcessor(std::unique_ptr<ShardedPoller<E>> poller, H& handler,
                        ProcessorOptions options)
      : poller_(std::move(poller)),
        handler_(handler),
        options_(std::move(options)) {}

  void Loop() {
    const int64_t cap = options_.max_batch_size;
    for (;;) {
      PollState state;
      if constexpr (kNothrowHandler<H, const E>) {
        if (cap == std::numeric_limits<int64_t>::max()) {
          H& handler = handler_;  // a local: the poll loop keeps it in a
                                  // register
          state = poller_->Poll(
              [&handler](const E& event, int64_t sequence, bool end) noexcept {
                handler.OnEvent(event, sequence, end);
              });
        } else {
          state = PollCapped(cap);
        }
      } else {
        try {
          state = PollCapped(cap);
        } catch (const HaltSignal&) {
          state_.Halt();
          return;
        }
      }
      if (state == PollState::kProcessing) continue;
      if (state_.IsHalted()) return;
      const WaitResult result = poller_->Wait();
      if (result.status == WaitStatus::kTimeout) {
        if constexpr (HasOnTimeout<H>) {
          processors_internal::CallLifecycle(Lifecycle(), "OnTimeout",
                                             [&] { handler_.OnTimeout(-1); });
        }
      } else if (!result.ok() && state_.IsHalted()) {
        return;
      }
    }
  }

  // One Poll handing at most `cap` events to the handler, under the policy.
  PollState PollCapped(int64_t cap) {
    int64_t handled = 0;
    return poller_->Poll([&](const E& event, int64_t sequence, bool end) {
      if constexpr (kNothrowHandler<H, const E>) {
        handler_.OnEvent(event, sequence, end);
      } else {
        try {
          handler_.OnEvent(event, sequence, end);
        } catch (...) {
          OnHandlerException(sequence);  // returns: skip the event
        }
      }
      return ++handled < cap;
    });
  }

  // Applies the policy to the exception being handled: returns to skip the
  // event (kLogAndContinue), throws HaltSignal to halt.
  void OnHandlerException(int64_t sequence) {
    status_.CountException();
    const std::string what = processors_internal::CurrentExceptionMessage();
    if (options_.exception_policy.action == ExceptionAction::kLogAndContinue) {
      processors_internal::LogHandlerException(options_.name, sequence, what,
                                               "skipped");
      return;
    }
    processors_internal::LogHandlerException(options_.name, sequence, what,
                                             "halting");
    status_.Fail(absl::AbortedError(absl::StrCat(
        "handler '", options_.name, "' threw at sequence ", sequence,
        " of a shard: ", what, "; processor halted before that event")));
    throw HaltSignal{};
  }

  processors_internal::LifecycleSink Lifecycle() noexcept {
    return {options_.name, no_sequence_, status_, no_counters_};
  }

  std::unique_ptr<ShardedPoller<E>> poller_;
  H& handler_;
  ProcessorOptions options_;
  processors_internal::RunState state_;
  const Sequence no_sequence_;  // logged for lifecycle callbacks (-1)
  core_internal::ConsumerCounters no_counters_;  // per-shard ones count
  processors_internal::ProcessorStatus status_;  // error + exception count
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_SHARDED_EVENT_PROCESSOR_H_
