// ringflow/processors/batch_event_processor.h
//
// Provides `BatchEventProcessor<E, H>`: runs one handler over every event
// of a ring, on the thread that calls Run(). It waits on its barrier, hands
// the handler the whole available batch (optionally capped by
// max_batch_size), then stores its sequence once per batch with release.
//
//   auto p = BatchEventProcessor<Tick, Sum>::Create(*ring, sum);
//   std::thread t([&] { (*p)->Run(); });
//   ...
//   (*p)->Halt(); t.join();
//
// Who calls what: Run on one thread (the processor thread; all handler
// callbacks happen there); Halt, IsRunning, sequence, status from any
// thread.
//
// Memory ordering: events are read after the barrier's acquire; the
// release store of the sequence after a batch tells the producer and
// downstream stages that the handler is done with those slots (and makes
// the handler's writes to them visible to downstream stages).
//
// Exceptions from OnEvent go to the ExceptionPolicy; a handler whose
// OnEvent is noexcept compiles without any try block. Exceptions from
// OnStart, OnShutdown, OnBatchStart and OnTimeout are counted, logged and
// swallowed under every policy (internal/lifecycle_call.h).

#ifndef RINGFLOW_PROCESSORS_BATCH_EVENT_PROCESSOR_H_
#define RINGFLOW_PROCESSORS_BATCH_EVENT_PROCESSOR_H_

#include <algorithm>
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
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/notifier_table.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/stream_backoff.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/handle_range.h"
#include "ringflow/processors/internal/lifecycle_call.h"
#include "ringflow/processors/internal/processor_status.h"
#include "ringflow/processors/internal/run_state.h"
#include "ringflow/processors/internal/type_name.h"

namespace ringflow {

struct ProcessorOptions {
  // Upper bound on the events handed to the handler between two sequence
  // stores; >= 1. A smaller batch releases slots to the producer sooner.
  int64_t max_batch_size = std::numeric_limits<int64_t>::max();
  // In a dense stream (small batches ready at once, or several events
  // gathered while the consumer spun), pause up to this many pause
  // instructions after a batch before reading the cursor again, so the
  // producer is not robbed of its cache lines every event or two; in
  // [0, 1024], 0 = never. A lone event waited for (sparse streams,
  // request/reply) drops the pause to zero. Latency cost: inside a dense
  // stream only, up to this many pauses (~2.5 us at 256 on a CPU whose
  // pause takes 10 ns). See core/internal/stream_backoff.h; README
  // "Performance" has the effect.
  int stream_backoff_pauses = 256;
  ExceptionPolicy exception_policy;
  // Label for logs, errors and metrics (see ValidateName); defaults to the
  // handler's type name. The ring makes it unique (#2, #3...).
  std::string name;
};

template <typename E, typename H>
requires EventHandler<H, E>
class BatchEventProcessor {
 public:
  // Registers a consumer slot on `ring` (a RingBuffer or a shared ring) and
  // builds a barrier over `dependents`. `handler` must outlive the processor.
  template <ConsumerRingOf<E> Ring>
  static absl::StatusOr<std::unique_ptr<BatchEventProcessor>> Create(
      Ring& ring, H& handler, std::vector<const Sequence*> dependents = {},
      ProcessorOptions options = {}) {
    RINGFLOW_RETURN_IF_ERROR(Validate(options));
    if (options.name.empty()) {
      options.name = SanitizeName(processors_internal::TypeName<H>());
    }
    RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle slot,
                              ring.RegisterConsumer(options.name));
    return CreateOnSlot(ring, std::move(slot), handler, std::move(dependents),
                        std::move(options));
  }

  // As Create, on a consumer slot of `ring` the caller registered already
  // (e.g. with RingBuffer::RegisterConsumerAtOldest): the processor starts
  // after the slot's sequence and takes the slot's name.
  template <ConsumerRingOf<E> Ring>
  static absl::StatusOr<std::unique_ptr<BatchEventProcessor>> CreateOnSlot(
      Ring& ring, core_internal::ConsumerHandle slot, H& handler,
      std::vector<const Sequence*> dependents = {},
      ProcessorOptions options = {}) {
    RINGFLOW_RETURN_IF_ERROR(Validate(options));
    options.name = slot.name();  // made unique by the ring
    return std::unique_ptr<BatchEventProcessor>(new BatchEventProcessor(
        ring.slots(), ring.NewBarrier(std::move(dependents)), std::move(slot),
        handler, std::move(options)));
  }

  BatchEventProcessor(const BatchEventProcessor&) = delete;
  BatchEventProcessor& operator=(const BatchEventProcessor&) = delete;

  // Processes events until Halt(), or until the exception policy halts.
  // Returns at once if already running or halted. Never allocates per event.
  void Run() {
    processors_internal::RunProcessor(
        state_, handler_, Lifecycle(), [&] { barrier_->ClearAlert(); },
        [&] { Loop(); });
  }

  // Stops Run after the current batch. Thread-safe.
  void Halt() noexcept {
    state_.Halt();
    barrier_->Alert();
  }

  bool IsRunning() const noexcept { return state_.IsRunning(); }

  // The last sequence this processor finished (its gating sequence).
  const Sequence& sequence() const noexcept { return slot_.sequence(); }
  const SequenceBarrier& barrier() const noexcept { return *barrier_; }
  const std::string& name() const noexcept { return options_.name; }

  // OK, or the error that made the exception policy halt the processor.
  absl::Status status() const { return status_.status(); }
  // Exceptions the handler threw (any policy, any callback). Relaxed read.
  uint64_t exception_count() const noexcept {
    return status_.exception_count();
  }

 private:
  BatchEventProcessor(RingSlots<E> slots,
                      std::unique_ptr<SequenceBarrier> barrier,
                      core_internal::ConsumerHandle slot, H& handler,
                      ProcessorOptions options)
      : slots_(slots),
        barrier_(std::move(barrier)),
        slot_(std::move(slot)),
        handler_(handler),
        counters_(slot_.counters()),
        options_(std::move(options)) {}

  static absl::Status Validate(const ProcessorOptions& options) {
    if (options.max_batch_size < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_batch_size ", options.max_batch_size, " must be at least 1"));
    }
    RINGFLOW_RETURN_IF_ERROR(
        core_internal::StreamBackoff::Validate(options.stream_backoff_pauses));
    if (options.exception_policy.action == ExceptionAction::kRewind &&
        options.exception_policy.max_rewinds < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_rewinds ", options.exception_policy.max_rewinds,
                       " must be at least 1 for ExceptionAction::kRewind"));
    }
    return absl::OkStatus();
  }

  void Loop() {
    Sequence& sequence = slot_.sequence();
    // Relaxed: our own value (single writer).
    int64_t next = sequence.LoadRelaxed() + 1;
    core_internal::StreamBackoff backoff(options_.stream_backoff_pauses);
    for (;;) {
      // The event's address is a prefetch hint for the spin (see
      // WaitProbe::Touch); it is read only after the barrier says so.
      const WaitResult result = barrier_->WaitFor(next, &slots_[next]);
      if (RINGFLOW_LIKELY(result.ok())) {
        const int64_t end = std::min(
            result.available,
            next + std::min(options_.max_batch_size - 1,
                            std::numeric_limits<int64_t>::max() - next));
        if constexpr (HasOnBatchStart<H>) {
          processors_internal::CallLifecycle(Lifecycle(), "OnBatchStart", [&] {
            handler_.OnBatchStart(end - next + 1, result.available - next + 1);
          });
        }
        if (!ProcessBatch(next, end, result.available - next + 1)) {
          return;  // the policy halted us
        }
        counters_.OnBatch(end - next + 1, result.available - next + 1);
        // Release: the handler is done with [next, end]; pairs with the
        // producer's gating read and downstream barriers (acquire).
        sequence.StoreRelease(end);
        core_internal::AfterConsumerAdvance(slots_.data());  // SpaceNotifier
        // A dense stream: pause before the next cursor read (see
        // StreamBackoff); never after a wait.
        backoff.AfterBatch(end - next + 1, result.waited);
        next = end + 1;
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

  // Handles [lo, hi]. False when the exception policy halted the processor.
  // `depth` (events available at the batch start) is for the counters.
  bool ProcessBatch(int64_t lo, int64_t hi, [[maybe_unused]] int64_t depth) {
    if constexpr (kNothrowHandler<H, E>) {
      processors_internal::HandleRange(handler_, slots_, lo, hi);
      return true;
    } else {
      int rewinds = 0;
      int64_t s = lo;
      for (;;) {
        try {
          for (; s <= hi; ++s) handler_.OnEvent(slots_[s], s, s == hi);
          return true;
        } catch (...) {
          status_.CountException();
          counters_.OnException();
          const std::string what =
              processors_internal::CurrentExceptionMessage();
          const ExceptionPolicy& policy = options_.exception_policy;
          if (policy.action == ExceptionAction::kLogAndContinue) {
            processors_internal::LogHandlerException(options_.name, s, what,
                                                     "skipped");
            ++s;
            continue;
          }
          if (policy.action == ExceptionAction::kRewind &&
              rewinds < policy.max_rewinds) {
            ++rewinds;
            processors_internal::LogHandlerException(options_.name, s, what,
                                                     "rewinding batch");
            s = lo;
            continue;
          }
          processors_internal::LogHandlerException(options_.name, s, what,
                                                   "halting");
          // Count what the handler was handed, the failing event included.
          counters_.OnBatch(s - lo + 1, depth);
          HaltOnError(s, what);
          return false;
        }
      }
    }
  }

  void HaltOnError(int64_t failed, const std::string& what) {
    status_.Fail(absl::AbortedError(absl::StrCat(
        "handler '", options_.name, "' threw at sequence ", failed, ": ", what,
        "; processor halted with sequence ", failed - 1)));
    // Release: events before the failing one are done.
    slot_.sequence().StoreRelease(failed - 1);
    core_internal::AfterConsumerAdvance(slots_.data());  // SpaceNotifier
    state_.Halt();
  }

  // What CallLifecycle needs to report a throwing lifecycle callback.
  processors_internal::LifecycleSink Lifecycle() noexcept {
    return {options_.name, slot_.sequence(), status_, counters_};
  }

  RingSlots<E> slots_;
  std::unique_ptr<SequenceBarrier> barrier_;
  core_internal::ConsumerHandle
      slot_;  // our sequence: written by the processor thread
  H& handler_;
  core_internal::ConsumerCounters
      counters_;  // values written by the processor thread
  ProcessorOptions options_;
  processors_internal::RunState state_;
  processors_internal::ProcessorStatus status_;  // error + exception count
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_BATCH_EVENT_PROCESSOR_H_
