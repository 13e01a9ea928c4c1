// ringflow/processors/worker_pool.h
//
// Provides `WorkerPool<E, H>`: competing consumers. Each event is handled
// by exactly one of N workers (the MPMC-queue use case). Workers share one
// claim counter (a CAS per event); see WorkProcessor for the protocol.
//
//   std::vector<Worker> handlers(4);
//   auto pool = WorkerPool<Job, Worker>::Create(*ring, handlers);
//   (*pool)->Start();               // one thread per worker
//   ... publish ...
//   (*pool)->Shutdown(absl::Seconds(5));   // drain, then halt and join
//
// Who calls what: Create/Start/Shutdown/Halt from a controlling thread;
// sequences() and IsDrained() from any thread.

#ifndef RINGFLOW_PROCESSORS_WORKER_POOL_H_
#define RINGFLOW_PROCESSORS_WORKER_POOL_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/drain.h"
#include "ringflow/processors/internal/type_name.h"
#include "ringflow/processors/internal/work_processor.h"

namespace ringflow {

template <typename E, typename H>
requires EventHandler<H, E>
class WorkerPool {
 public:
  // One worker per handler; handlers must outlive the pool. Dependents are
  // upstream sequences the workers wait for.
  template <ConsumerRingOf<E> Ring>
  static absl::StatusOr<std::unique_ptr<WorkerPool>> Create(
      Ring& ring, std::span<H> handlers,
      std::vector<const Sequence*> dependents = {},
      ExceptionPolicy policy = {}) {
    if (handlers.empty()) {
      return absl::InvalidArgumentError(
          "a worker pool needs at least one handler");
    }
    auto pool =
        std::unique_ptr<WorkerPool>(new WorkerPool(ring.published_cursor()));
    int64_t start = INT64_MAX;
    const std::string type = SanitizeName(processors_internal::TypeName<H>());
    for (size_t i = 0; i < handlers.size(); ++i) {
      RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle slot,
                                ring.RegisterConsumer(type));
      start = std::min(start, slot.sequence().LoadRelaxed());
      std::string slot_name = slot.name();  // unique: type, type#2, ...
      pool->workers_.push_back(
          std::make_unique<processors_internal::WorkProcessor<E, H>>(
              ring.slots(), ring.NewBarrier(dependents), std::move(slot),
              &pool->work_sequence_, handlers[i], policy, slot_name));
    }
    // Relaxed: set before any worker thread exists (thread start publishes).
    pool->work_sequence_.StoreRelaxed(start);
    return pool;
  }

  ~WorkerPool() { Halt(); }

  // Starts one thread per worker. FailedPrecondition when already started.
  absl::Status Start() {
    if (!threads_.empty()) {
      return absl::FailedPreconditionError("WorkerPool::Start called twice");
    }
    for (auto& worker : workers_) {
      threads_.emplace_back([w = worker.get()] { w->Run(); });
    }
    return absl::OkStatus();
  }

  // True when every published event has been handled.
  bool IsDrained() const noexcept {
    return processors_internal::IsDrained(published_, MinimumSequence());
  }

  // Waits until drained, then halts and joins. DeadlineExceeded (workers
  // keep running) when `timeout` passes first; Aborted when a worker halted
  // on a handler error.
  absl::Status Shutdown(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!IsDrained()) {
      for (auto& worker : workers_) RINGFLOW_RETURN_IF_ERROR(worker->status());
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "worker pool not drained after ", absl::FormatDuration(timeout),
            ": workers at sequence ", MinimumSequence()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Halt();
    return absl::OkStatus();
  }

  // Stops the workers and joins their threads. Idempotent.
  void Halt() {
    for (auto& worker : workers_) worker->Halt();
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  // The workers' gating sequences (for downstream stages).
  std::vector<const Sequence*> sequences() const {
    std::vector<const Sequence*> result;
    for (const auto& worker : workers_) result.push_back(&worker->sequence());
    return result;
  }

  size_t size() const noexcept { return workers_.size(); }
  processors_internal::WorkProcessor<E, H>& worker(size_t i) noexcept {
    return *workers_[i];
  }

  // Moves the workers out (the DSL runs them on its own threads).
  std::vector<std::unique_ptr<processors_internal::WorkProcessor<E, H>>>
  TakeWorkers() {
    return std::move(workers_);
  }

 private:
  explicit WorkerPool(core_internal::PublishedCursor published)
      : published_(published) {}

  // Each worker's sequence read once. Acquire: pairs with each worker's
  // release store.
  int64_t MinimumSequence() const noexcept {
    int64_t lowest = INT64_MAX;
    for (const auto& worker : workers_) {
      lowest = std::min(lowest, worker->sequence().LoadAcquire());
    }
    return lowest;
  }

  core_internal::PublishedCursor published_;
  Sequence work_sequence_;  // CAS-claimed by every worker
  std::vector<std::unique_ptr<processors_internal::WorkProcessor<E, H>>>
      workers_;
  std::vector<std::thread> threads_;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_WORKER_POOL_H_
