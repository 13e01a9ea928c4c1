// ringflow/processors/record_disruptor.h
//
// Provides `RecordDisruptor`: the DSL of a ByteRing (core/byte_ring.h), as
// Disruptor is the DSL of a RingBuffer. It owns the ring, runs one
// RecordProcessor per handler on a thread of its own, and stops them
// gracefully.
//
//   auto d = RecordDisruptor::Create({.ring = {.capacity = 1 << 20}});
//   RINGFLOW_RETURN_IF_ERROR((*d)->HandleRecordsWith(journal, replicator));
//   RINGFLOW_RETURN_IF_ERROR((*d)->Start());
//   (*d)->ring().Publish(bytes);               // any producer thread
//   RINGFLOW_RETURN_IF_ERROR((*d)->Shutdown(absl::Seconds(5)));
//
// Every handler reads every record (broadcast), each gating the producers
// with its own reader. There are no stages: a byte reader cannot be gated
// by another reader, so "After(a).Handle(b)" has no byte-ring form; a
// handler that must follow another is called by it.
//
// A handler is an lvalue (the caller keeps it alive until the
// RecordDisruptor is destroyed) or a std::unique_ptr (the RecordDisruptor
// owns it). Each handler's reader is registered by HandleRecordsWith, so a
// record published after that call and before Start is handled too.
//
// Who calls what: HandleRecordsWith, Start, Shutdown, Halt and
// ForEachProcessor from one controlling thread; ring() from any thread
// (its own rules, core/byte_ring.h).
//
// Memory ordering: nothing new. Shutdown compares each processor's
// position (acquire: pairs with the reader's release after each batch)
// with the ring's claimed position (acquire: pairs with the producers' tail
// stores).

#ifndef RINGFLOW_PROCESSORS_RECORD_DISRUPTOR_H_
#define RINGFLOW_PROCESSORS_RECORD_DISRUPTOR_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/sequence.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/thread_affinity.h"
#include "ringflow/processors/record_processor.h"
#include "ringflow/processors/thread_factory.h"

namespace ringflow {

struct RecordDisruptorOptions {
  ByteRingOptions ring;
  // Every processor's exception policy (see RecordProcessor).
  ExceptionPolicy exception_policy;
  ThreadFactory thread_factory;  // empty: std::thread
  // Processor i (in the order handlers were added) is pinned to
  // cpu_affinity[i % size]; empty leaves scheduling to the kernel.
  std::vector<int> cpu_affinity;
};

namespace processors_internal {

// A RecordProcessor<H> seen through a vtable: called at start, shutdown
// and in checks, never per record.
class RecordRunner {
 public:
  virtual ~RecordRunner() = default;
  virtual void Run() = 0;
  virtual void Halt() noexcept = 0;
  virtual const Sequence& sequence() const noexcept = 0;
  virtual const std::string& name() const noexcept = 0;
  virtual absl::Status status() const = 0;
};

template <typename H>
class RecordRunnerFor final : public RecordRunner {
 public:
  explicit RecordRunnerFor(std::unique_ptr<RecordProcessor<H>> p)
      : p_(std::move(p)) {}
  void Run() override { p_->Run(); }
  void Halt() noexcept override { p_->Halt(); }
  const Sequence& sequence() const noexcept override { return p_->sequence(); }
  const std::string& name() const noexcept override { return p_->name(); }
  absl::Status status() const override { return p_->status(); }

 private:
  std::unique_ptr<RecordProcessor<H>> p_;
};

}  // namespace processors_internal

class RecordDisruptor {
 public:
  // Creates the ring. InvalidArgument names a bad ring option or a bad
  // exception policy.
  static absl::StatusOr<std::unique_ptr<RecordDisruptor>> Create(
      const RecordDisruptorOptions& options) {
    RINGFLOW_RETURN_IF_ERROR(ValidatePolicy(options.exception_policy));
    RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<ByteRing> ring,
                              ByteRing::Create(options.ring));
    return std::unique_ptr<RecordDisruptor>(
        new RecordDisruptor(options, std::move(ring)));
  }

  // Halts and joins every processor thread.
  ~RecordDisruptor() { Halt(); }

  RecordDisruptor(const RecordDisruptor&) = delete;
  RecordDisruptor& operator=(const RecordDisruptor&) = delete;

  // One RecordProcessor per handler, each reading every record from the
  // ring's claimed position on (its reader is registered now). The first
  // error stops the call; the handlers before it stay.
  //   FailedPrecondition  after Start, or after Shutdown/Halt
  //   ResourceExhausted   no reader slot left (ByteRingOptions::max_readers)
  // Controlling thread. Allocates (setup path).
  template <typename... Hs>
  absl::Status HandleRecordsWith(Hs&&... handlers) {
    absl::Status status;
    ((status.ok() ? status = AddOne(std::forward<Hs>(handlers)) : status), ...);
    return status;
  }

  // Starts one thread per processor. FailedPrecondition when called twice;
  // a cpu_affinity error halts what started and is returned.
  absl::Status Start() {
    if (started_) {
      return absl::FailedPreconditionError(
          "RecordDisruptor::Start called twice");
    }
    started_ = true;
    for (const auto& p : processors_) {
      processors_internal::RecordRunner* runner = p.get();
      std::function<void()> body = [runner] { runner->Run(); };
      threads_.push_back(options_.thread_factory
                             ? options_.thread_factory(std::move(body))
                             : std::thread(std::move(body)));
      if (options_.cpu_affinity.empty()) continue;
      const size_t i = threads_.size() - 1;
      const int cpu = options_.cpu_affinity[i % options_.cpu_affinity.size()];
      absl::Status pinned =
          processors_internal::PinThread(threads_.back(), cpu);
      if (!pinned.ok()) {
        Halt();
        return pinned;
      }
    }
    return absl::OkStatus();
  }

  // Graceful stop: closes the ring (new claims fail), waits until every
  // claim in flight is committed and every handler has passed every record,
  // then halts the processors and joins their threads.
  //   DeadlineExceeded  `timeout` passed first, naming the handlers behind
  //                     and their positions; the ring stays closed and the
  //                     processors keep running (Shutdown again, or Halt)
  //   Aborted           a handler's exception policy halted it; or a claim
  //                     waiting for room when Shutdown began got room after
  //                     the graph drained, and its record was not handled
  //                     (stop producers before Shutdown)
  // Controlling thread. Polls every millisecond (a cold path).
  absl::Status Shutdown(absl::Duration timeout) {
    ring_->Close();
    const absl::Time deadline = absl::Now() + timeout;
    int64_t drained_at = 0;
    for (;;) {
      // Acquire (ClaimedPosition): pairs with the producers' tail stores.
      const int64_t claimed = ring_->ClaimedPosition();
      std::string behind;
      for (const auto& p : processors_) {
        RINGFLOW_RETURN_IF_ERROR(p->status());
        // Acquire: pairs with the reader's release of its position.
        const int64_t at = p->sequence().LoadAcquire();
        if (at < claimed) {
          absl::StrAppend(&behind, behind.empty() ? "" : ", ", "'", p->name(),
                          "' at ", at);
        }
      }
      if (behind.empty()) {
        drained_at = claimed;
        break;
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("RecordDisruptor::Shutdown timed out after ",
                         absl::FormatDuration(timeout),
                         " with records claimed up to byte ", claimed,
                         " (a claim not yet committed stalls every reader); "
                         "behind: ",
                         behind));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Halt();
    const int64_t after = ring_->ClaimedPosition();
    if (after > drained_at) {
      return absl::AbortedError(absl::StrCat(
          after - drained_at,
          " byte(s) were claimed concurrently with Shutdown after the graph "
          "drained at byte ",
          drained_at, " and were not handled; stop producers before Shutdown"));
    }
    return absl::OkStatus();
  }

  // Stops every processor after its current batch, makes claims waiting
  // for room give up, and joins the threads. Idempotent.
  void Halt() {
    halted_ = true;
    for (const auto& p : processors_) p->Halt();
    ring_->Halt();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  ByteRing& ring() noexcept { return *ring_; }
  bool started() const noexcept { return started_; }

  // Calls fn(name, const Sequence& position) for each processor (metrics,
  // tools). Controlling thread.
  template <typename Fn>
  void ForEachProcessor(Fn&& fn) const {
    for (const auto& p : processors_) fn(p->name(), p->sequence());
  }

 private:
  RecordDisruptor(const RecordDisruptorOptions& options,
                  std::unique_ptr<ByteRing> ring)
      : options_(options), ring_(std::move(ring)) {}

  static absl::Status ValidatePolicy(const ExceptionPolicy& policy) {
    if (policy.action == ExceptionAction::kRewind && policy.max_rewinds < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_rewinds ", policy.max_rewinds,
                       " must be at least 1 for ExceptionAction::kRewind"));
    }
    return absl::OkStatus();
  }

  template <typename H>
  absl::Status AddOne(std::unique_ptr<H> handler) {
    if (handler == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("HandleRecordsWith: a null std::unique_ptr<",
                       processors_internal::TypeName<H>(), ">"));
    }
    RINGFLOW_RETURN_IF_ERROR(AddOne(*handler));
    owned_.push_back(std::shared_ptr<void>(std::move(handler)));
    return absl::OkStatus();
  }

  template <typename H>
  requires RecordHandler<H> absl::Status AddOne(H& handler) {
    if (started_ || halted_) {
      return absl::FailedPreconditionError(
          "HandleRecordsWith called after Start/Halt: the handlers are fixed "
          "once the RecordDisruptor runs");
    }
    RecordProcessorOptions processor;
    processor.exception_policy = options_.exception_policy;
    RINGFLOW_ASSIGN_OR_RETURN(
        std::unique_ptr<RecordProcessor<H>> p,
        RecordProcessor<H>::Create(*ring_, handler, std::move(processor)));
    processors_.push_back(
        std::make_unique<processors_internal::RecordRunnerFor<H>>(
            std::move(p)));
    return absl::OkStatus();
  }

  const RecordDisruptorOptions options_;
  std::unique_ptr<ByteRing> ring_;
  // Owned handlers outlive the processors that call them (destroyed after
  // processors_, which is declared after them).
  std::vector<std::shared_ptr<void>> owned_;
  std::vector<std::unique_ptr<processors_internal::RecordRunner>> processors_;
  std::vector<std::thread> threads_;
  bool started_ = false;
  bool halted_ = false;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_RECORD_DISRUPTOR_H_
