// ringflow/processors/internal/processor_status.h
//
// Provides `ProcessorStatus`: what every processor (BatchEventProcessor,
// WorkProcessor, ShardedEventProcessor, RecordProcessor) reports about its
// handler's failures: the error that made its exception policy halt it, and
// how many exceptions the handler threw.
//
// Who calls what: Fail and CountException on the processor thread (the one
// that runs the handler); status and exception_count from any thread.
//
// Memory ordering: the error is guarded by a mutex (a cold path: written
// once, when the policy halts); the exception count is a relaxed statistic
// that publishes no data.

#ifndef RINGFLOW_PROCESSORS_INTERNAL_PROCESSOR_STATUS_H_
#define RINGFLOW_PROCESSORS_INTERNAL_PROCESSOR_STATUS_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

#include "absl/status/status.h"

namespace ringflow::processors_internal {

class ProcessorStatus {
 public:
  // OK, or the error that made the exception policy halt the processor.
  absl::Status status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

  // Records why the exception policy halted the processor. Processor
  // thread; allocates (a cold path).
  void Fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
  }

  // Exceptions the handler threw (any policy, any callback).
  uint64_t exception_count() const noexcept {
    // Relaxed: statistic; pairs with nothing.
    return exceptions_.load(std::memory_order_relaxed);
  }

  void CountException() noexcept {
    // Relaxed: statistic; publishes no data.
    exceptions_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> exceptions_{0};  // written by the processor thread
  mutable std::mutex mu_;
  absl::Status status_;  // guarded by mu_
};

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_PROCESSOR_STATUS_H_
