// ringflow/processors/internal/run_state.h
//
// The idle -> running -> halted life cycle shared by the processors, and
// the Halt/Run race it must survive: Halt may come before, during or after
// Run's start, and must never be lost.

#ifndef RINGFLOW_PROCESSORS_INTERNAL_RUN_STATE_H_
#define RINGFLOW_PROCESSORS_INTERNAL_RUN_STATE_H_

#include <atomic>
#include <cstdint>

namespace ringflow::processors_internal {

class RunState {
 public:
  enum Value : uint32_t { kIdle = 0, kRunning = 1, kHalted = 2 };

  // Run's entry: idle -> running. False if already running or halted.
  // Acq_rel: orders the start against a concurrent Halt's store.
  bool TryStart() noexcept {
    uint32_t expected = kIdle;
    return value_.compare_exchange_strong(expected, kRunning,
                                          std::memory_order_acq_rel);
  }
  // Seq_cst: pairs with the seq_cst load in IsHalted after the processor
  // cleared its barrier alert, so a Halt racing with Run's start is seen.
  void Halt() noexcept { value_.store(kHalted, std::memory_order_seq_cst); }
  bool IsHalted() const noexcept {
    return value_.load(std::memory_order_seq_cst) == kHalted;
  }
  // Acquire: a caller that sees kRunning also sees the thread's start.
  bool IsRunning() const noexcept {
    return value_.load(std::memory_order_acquire) == kRunning;
  }

 private:
  std::atomic<uint32_t> value_{kIdle};
};

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_RUN_STATE_H_
