// ringflow/core/wait_result.h
//
// Provides `WaitResult`, what SequenceBarrier::WaitFor and every wait
// strategy return: either the highest available sequence, or why there is
// none (the barrier was alerted for halt, or the wait timed out). Never an
// exception.

#ifndef RINGFLOW_CORE_WAIT_RESULT_H_
#define RINGFLOW_CORE_WAIT_RESULT_H_

#include <cstdint>

namespace ringflow {

enum class WaitStatus : uint8_t {
  kAvailable,  // `available` >= the requested sequence
  kAlerted,    // the barrier was alerted (halt); stop consuming
  kTimeout,    // kTimeoutBlocking only: nothing arrived in time
};

struct WaitResult {
  WaitStatus status = WaitStatus::kAvailable;
  // Highest sequence that may be read (may exceed the one asked for: that
  // is the batch). Meaningful only when status == kAvailable.
  int64_t available = -1;
  // False when the events were there at the barrier's first look (its
  // inlined fast path); true when a wait strategy ran. Consumer loops use
  // it to tell a dense stream from a sparse one (StreamBackoff).
  bool waited = false;

  bool ok() const noexcept { return status == WaitStatus::kAvailable; }

  static constexpr WaitResult Available(int64_t sequence) noexcept {
    return WaitResult{WaitStatus::kAvailable, sequence, false};
  }
  static constexpr WaitResult Alerted() noexcept {
    return WaitResult{WaitStatus::kAlerted, -1, false};
  }
  static constexpr WaitResult Timeout() noexcept {
    return WaitResult{WaitStatus::kTimeout, -1, true};
  }
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_WAIT_RESULT_H_
