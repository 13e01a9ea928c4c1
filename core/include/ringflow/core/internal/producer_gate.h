// ringflow/core/internal/producer_gate.h
//
// Provides `ProducerGate`: whether producers may still claim. Three states:
//   kOpen    claims proceed
//   kClosed  new claims fail at once (Next/TryNext return empty); a claim
//            already waiting for space keeps waiting, so a graceful
//            shutdown can drain it
//   kHalted  as kClosed, and claims waiting for space give up
//
// Memory ordering: relaxed. The gate publishes no data. A claim that races
// with Close() may still succeed; Disruptor::Shutdown detects such claims
// from the cursor after it drained and reports them, so no event that a
// producer was told is published goes unprocessed silently.

#ifndef RINGFLOW_CORE_INTERNAL_PRODUCER_GATE_H_
#define RINGFLOW_CORE_INTERNAL_PRODUCER_GATE_H_

#include <atomic>
#include <cstdint>

#include "ringflow/core/config.h"

namespace ringflow::core_internal {

class alignas(kFalseSharingRange) ProducerGate {
 public:
  enum State : uint32_t { kOpen = 0, kClosed = 1, kHalted = 2 };

  // Producer threads, at the start of each claim. Wait-free.
  bool IsOpen() const noexcept {
    return state_.load(std::memory_order_relaxed) == kOpen;
  }
  // Producer threads, while waiting for space. Wait-free.
  bool IsHalted() const noexcept {
    return state_.load(std::memory_order_relaxed) == kHalted;
  }

  // Any thread. Close never reopens a halted gate.
  void Close() noexcept {
    uint32_t expected = kOpen;
    // Relaxed: see the header comment; the CAS only keeps kHalted sticky.
    state_.compare_exchange_strong(expected, kClosed,
                                   std::memory_order_relaxed);
  }
  void Halt() noexcept { state_.store(kHalted, std::memory_order_relaxed); }
  // Undoes Close (not Halt): a graceful shutdown that timed out.
  void Reopen() noexcept {
    uint32_t expected = kClosed;
    state_.compare_exchange_strong(expected, kOpen, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t> state_{kOpen};  // written by Close/Halt
};

static_assert(sizeof(ProducerGate) == kFalseSharingRange,
              "read on every claim: keep it off written lines");
static_assert(std::atomic<uint32_t>::is_always_lock_free,
              "may live in shared memory");

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_PRODUCER_GATE_H_
