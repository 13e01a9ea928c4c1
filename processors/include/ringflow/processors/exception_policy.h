// ringflow/processors/exception_policy.h
//
// Provides `ExceptionPolicy`: what a processor does when its handler's
// OnEvent throws. The default halts the processor with its sequence just
// before the failing event, so nothing is silently lost: the producer stops
// when the ring fills, `Disruptor::Shutdown` reports the error, and the
// failing event is still in the ring.
//
//   kHalt            stop; status() names the handler, sequence and error
//   kLogAndContinue  write one line to stderr, count it, skip the event
//   kRewind          re-run the whole batch from its first event, at most
//                    `max_rewinds` times in a row, then halt. Events of the
//                    batch before the failing one are delivered again
//                    (at-least-once for that batch).
//
// The policy governs OnEvent only. An exception from a lifecycle callback
// (OnStart, OnShutdown, OnBatchStart, OnTimeout) is counted and logged under
// every policy, and the processor or pool worker goes on: no event is at
// stake (processors/internal/lifecycle_call.h).

#ifndef RINGFLOW_PROCESSORS_EXCEPTION_POLICY_H_
#define RINGFLOW_PROCESSORS_EXCEPTION_POLICY_H_

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace ringflow {

enum class ExceptionAction : uint8_t { kHalt, kLogAndContinue, kRewind };

struct ExceptionPolicy {
  ExceptionAction action = ExceptionAction::kHalt;
  int max_rewinds = 3;  // kRewind only

  static constexpr ExceptionPolicy Halt() { return {}; }
  static constexpr ExceptionPolicy LogAndContinue() {
    return {ExceptionAction::kLogAndContinue, 0};
  }
  static constexpr ExceptionPolicy Rewind(int max_rewinds) {
    return {ExceptionAction::kRewind, max_rewinds};
  }
};

namespace processors_internal {

// The message of the exception being handled ("unknown exception" for a
// non-std one). Call only inside a catch block. Cold.
std::string CurrentExceptionMessage();

// One line on stderr. Cold; never on the per-event path.
void LogHandlerException(std::string_view processor, int64_t sequence,
                         std::string_view what, std::string_view action);

}  // namespace processors_internal
}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_EXCEPTION_POLICY_H_
