// ringflow/processors/internal/work_processor.h
//
// Provides `WorkProcessor<E, H>`: one competing consumer of a worker pool.
// The workers of a pool share one work sequence; each claims the next
// unclaimed sequence with a CAS on it, waits until that sequence is
// available, and hands it to its handler. Every event is handled by exactly
// one worker. Use WorkerPool (or Disruptor::HandleEventsWithWorkerPool)
// rather than building these by hand.
//
// A worker's own gating sequence is set to (claimed - 1) *before* the claim
// is attempted, so the producer can never overwrite a claimed slot that is
// not yet handled; min over the workers' sequences is therefore exactly the
// pool's progress.
//
// Who calls what: Run on one thread; Halt and the accessors from any.
//
// Memory ordering: the CAS on the work sequence is acq_rel (claims are
// totally ordered); the worker's own sequence is stored with release before
// the claim (pairs with the producer's acquire gating read); events are read
// after the barrier's acquire.
//
// Exceptions from OnEvent go to the pool's ExceptionPolicy. Exceptions from
// OnStart, OnShutdown and OnTimeout are handled exactly as in
// BatchEventProcessor, under every policy: counted (exception_count() and
// the consumer's counters), logged and swallowed; the worker goes on
// (internal/lifecycle_call.h).

#ifndef RINGFLOW_PROCESSORS_INTERNAL_WORK_PROCESSOR_H_
#define RINGFLOW_PROCESSORS_INTERNAL_WORK_PROCESSOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/notifier_table.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/lifecycle_call.h"
#include "ringflow/processors/internal/processor_status.h"
#include "ringflow/processors/internal/run_state.h"

namespace ringflow::processors_internal {

template <typename E, typename H>
requires EventHandler<H, E>
class WorkProcessor {
 public:
  // `work_sequence` is shared by the pool; it and `handler` must outlive
  // this processor.
  WorkProcessor(RingSlots<E> slots, std::unique_ptr<SequenceBarrier> barrier,
                core_internal::ConsumerHandle slot, Sequence* work_sequence,
                H& handler, ExceptionPolicy policy, std::string name)
      : slots_(slots),
        barrier_(std::move(barrier)),
        slot_(std::move(slot)),
        work_sequence_(work_sequence),
        handler_(handler),
        counters_(slot_.counters()),
        policy_(policy),
        name_(std::move(name)) {}

  WorkProcessor(const WorkProcessor&) = delete;
  WorkProcessor& operator=(const WorkProcessor&) = delete;

  // Handles claimed events until Halt(). Never allocates per event.
  void Run() {
    processors_internal::RunProcessor(
        state_, handler_, Lifecycle(), [&] { barrier_->ClearAlert(); },
        [&] { Loop(); });
  }

  void Halt() noexcept {
    state_.Halt();
    barrier_->Alert();
  }
  bool IsRunning() const noexcept { return state_.IsRunning(); }
  const Sequence& sequence() const noexcept { return slot_.sequence(); }
  const SequenceBarrier& barrier() const noexcept { return *barrier_; }
  const std::string& name() const noexcept { return name_; }
  // OK, or the error that made the exception policy halt the processor.
  absl::Status status() const { return status_.status(); }
  // Exceptions the handler threw (any policy, any callback). Relaxed read.
  uint64_t exception_count() const noexcept {
    return status_.exception_count();
  }

 private:
  void Loop() {
    Sequence& sequence = slot_.sequence();
    bool claim = true;
    int64_t next = 0;
    int64_t cached_available = kInitialSequence;
    int rewinds = 0;
    for (;;) {
      if (claim) {
        claim = false;
        rewinds = 0;
        int64_t current = work_sequence_->LoadAcquire();
        do {
          next = current + 1;
          // Release: we are done with everything before `next`; the slot
          // we are about to claim stays gated. Pairs with the producer's
          // acquire gating read.
          sequence.StoreRelease(next - 1);
        } while (!work_sequence_->CompareExchange(current, next));
        core_internal::AfterConsumerAdvance(slots_.data());  // SpaceNotifier
      }
      if (cached_available >= next) {
        counters_.OnBatch(1, cached_available - next + 1);
        if (Handle(next, rewinds)) {
          claim = true;
        } else if (state_.IsHalted()) {
          return;
        }
        continue;
      }
      const WaitResult result = barrier_->WaitFor(next);
      if (result.ok()) {
        cached_available = result.available;
      } else if (result.status == WaitStatus::kTimeout) {
        if constexpr (HasOnTimeout<H>) {
          processors_internal::CallLifecycle(
              Lifecycle(), "OnTimeout", [&] { handler_.OnTimeout(next - 1); });
        }
      } else if (state_.IsHalted()) {
        return;
      }
    }
  }

  // True when `sequence` is done (handled or skipped); false to retry it
  // (rewind) or because the policy halted the worker.
  bool Handle(int64_t sequence, int& rewinds) {
    if constexpr (kNothrowHandler<H, E>) {
      handler_.OnEvent(slots_[sequence], sequence, true);
      return true;
    } else {
      try {
        handler_.OnEvent(slots_[sequence], sequence, true);
        return true;
      } catch (...) {
        status_.CountException();
        counters_.OnException();
        const std::string what = processors_internal::CurrentExceptionMessage();
        if (policy_.action == ExceptionAction::kLogAndContinue) {
          processors_internal::LogHandlerException(name_, sequence, what,
                                                   "skipped");
          return true;
        }
        if (policy_.action == ExceptionAction::kRewind &&
            rewinds < policy_.max_rewinds) {
          ++rewinds;
          processors_internal::LogHandlerException(name_, sequence, what,
                                                   "retrying");
          return false;
        }
        processors_internal::LogHandlerException(name_, sequence, what,
                                                 "halting");
        status_.Fail(absl::AbortedError(
            absl::StrCat("worker '", name_, "' threw at sequence ", sequence,
                         ": ", what, "; worker halted")));
        state_.Halt();
        return false;
      }
    }
  }

  // What CallLifecycle needs to report a throwing lifecycle callback.
  processors_internal::LifecycleSink Lifecycle() noexcept {
    return {name_, slot_.sequence(), status_, counters_};
  }

  RingSlots<E> slots_;
  std::unique_ptr<SequenceBarrier> barrier_;
  core_internal::ConsumerHandle slot_;  // our sequence: written by this worker
  Sequence* work_sequence_;             // shared by the pool's workers (CAS)
  H& handler_;
  core_internal::ConsumerCounters
      counters_;  // values written by this worker's thread
  ExceptionPolicy policy_;
  std::string name_;
  processors_internal::RunState state_;
  processors_internal::ProcessorStatus status_;  // error + exception count
};

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_WORK_PROCESSOR_H_
