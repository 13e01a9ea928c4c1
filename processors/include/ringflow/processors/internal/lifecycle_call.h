// ringflow/processors/internal/lifecycle_call.h
//
// Provides `CallLifecycle`: how a processor runs one of its handler's
// lifecycle callbacks (OnStart, OnShutdown, OnBatchStart, OnTimeout).
// BatchEventProcessor and WorkProcessor both go through it, so a throwing
// callback is treated the same way by every processor and under every
// ExceptionPolicy: the exception is counted (the processor's
// exception_count() and the consumer's
// ringflow_consumer_handler_exceptions_total), logged with the processor's
// name, its sequence and the callback, and swallowed; the processor goes
// on. The policy decides about events, and a callback carries none: no
// event is skipped, redelivered or left unhandled because of it.
//
// Who calls what: the processor thread only (the single writer of the
// counters and of its sequence). Without an exception the cost is the
// callback alone; the catch block is cold.
//
// Memory ordering: none beyond the callback's own. The exception count is
// a relaxed statistic and the sequence is read relaxed by its own writer.

#ifndef RINGFLOW_PROCESSORS_INTERNAL_LIFECYCLE_CALL_H_
#define RINGFLOW_PROCESSORS_INTERNAL_LIFECYCLE_CALL_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/sequence.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/processor_status.h"
#include "ringflow/processors/internal/run_state.h"

namespace ringflow::processors_internal {

// What a processor lends CallLifecycle to report a throwing callback. The
// references must outlive the call; all belong to the calling processor.
struct LifecycleSink {
  std::string_view processor;                 // the processor's name
  const Sequence& sequence;                   // its own sequence (logged)
  ProcessorStatus& status;                    // its exception_count()
  core_internal::ConsumerCounters& counters;  // its consumer counters
};

// Calls `callback()` (which invokes the handler's callback named
// `callback_name`, e.g. "OnStart"); an exception from it is counted, logged
// and swallowed as the file comment says. Processor thread only.
// Allocates (the log line) only when the callback threw.
template <typename Fn>
void CallLifecycle(const LifecycleSink& sink, std::string_view callback_name,
                   Fn&& callback) {
  try {
    std::forward<Fn>(callback)();
  } catch (...) {
    sink.status.CountException();
    sink.counters.OnException();
    std::string action = "in ";
    action.append(callback_name).append("; continuing");
    // Relaxed: our own sequence; this thread is its only writer.
    LogHandlerException(sink.processor, sink.sequence.LoadRelaxed(),
                        CurrentExceptionMessage(), action);
  }
}

// The frame of every processor's Run: claims `state` (returns at once when
// the processor is running or halted), `clear_alert()`, returns if a Halt
// raced the start, then OnStart, `loop()`, OnShutdown (the callbacks the
// handler has, through CallLifecycle). Processor thread.
template <typename H, typename ClearAlert, typename Loop>
void RunProcessor(RunState& state, H& handler, const LifecycleSink& sink,
                  ClearAlert&& clear_alert, Loop&& loop) {
  if (!state.TryStart()) return;
  clear_alert();
  if (state.IsHalted()) return;  // Halt raced with the start: honour it
  if constexpr (HasOnStart<H>) {
    CallLifecycle(sink, "OnStart", [&] { handler.OnStart(); });
  }
  loop();
  if constexpr (HasOnShutdown<H>) {
    CallLifecycle(sink, "OnShutdown", [&] { handler.OnShutdown(); });
  }
}

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_LIFECYCLE_CALL_H_
