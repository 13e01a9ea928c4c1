// ringflow/processors/disruptor.h
//
// Provides `Disruptor<E>`, the DSL that builds a handler graph over a
// RingBuffer, runs each handler on a thread it owns, and drains on
// shutdown.
//
//   auto d = Disruptor<Tick>::Create({.ring = {.capacity = 1 << 16}});
//   (*d)->HandleEventsWith(journal, risk).Then(matcher);   // diamond
//   RINGFLOW_RETURN_IF_ERROR((*d)->Start());
//   (*d)->PublishEvent([](Tick& t, int64_t seq) { t.id = seq; });
//   RINGFLOW_RETURN_IF_ERROR((*d)->Shutdown(absl::Seconds(5)));
//
// Handlers are passed by lvalue reference (the caller owns them and keeps
// them alive) or as std::unique_ptr (the Disruptor owns them). Each handler
// gets a BatchEventProcessor; HandleEventsWithWorkerPool gives a set of
// competing workers instead. Graph-building calls return an
// EventHandlerGroup; their errors (calls after Start, After() on an unknown
// handler, too many consumers) are kept and returned by Start(), and by the
// group's status().
//
// Who calls what: graph building, Start, Shutdown and Halt from one
// controlling thread; PublishEvent & co. from producer threads as the
// ring's ProducerType allows.

#ifndef RINGFLOW_PROCESSORS_DISRUPTOR_H_
#define RINGFLOW_PROCESSORS_DISRUPTOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/event_handler_group.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/drain.h"
#include "ringflow/processors/internal/processor.h"
#include "ringflow/processors/internal/thread_affinity.h"
#include "ringflow/processors/internal/type_name.h"
#include "ringflow/processors/worker_pool.h"

namespace ringflow {

// Creates the thread a processor runs on. The default is std::thread.
using ThreadFactory = std::function<std::thread(std::function<void()>)>;

struct DisruptorOptions {
  RingOptions ring;
  // Per-processor defaults (see ProcessorOptions).
  int64_t max_batch_size = std::numeric_limits<int64_t>::max();
  ExceptionPolicy exception_policy;
  ThreadFactory thread_factory;
  // Processor i (in the order handlers were added) is pinned to
  // cpu_affinity[i % size]; empty leaves scheduling to the kernel.
  std::vector<int> cpu_affinity;
};

// `Ring` is RingBuffer<E> (the default, created by Create) or any ring with
// the same producer and consumer API, such as shm::SharedRing<E> (handed
// over with Wrap): the graph then runs on a ring in shared memory.
template <typename E, typename Ring = RingBuffer<E>>
class Disruptor {
 public:
  static absl::StatusOr<std::unique_ptr<Disruptor>> Create(
      const DisruptorOptions& options = {}) requires
      std::is_default_constructible_v<E> {
    return Create(options, [] { return E(); });
  }

  template <typename Factory>
  requires std::is_invocable_r_v<E, Factory&>
  static absl::StatusOr<std::unique_ptr<Disruptor>> Create(
      const DisruptorOptions& options, Factory factory) {
    if (options.max_batch_size < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_batch_size ", options.max_batch_size, " must be at least 1"));
    }
    RINGFLOW_RETURN_IF_ERROR(
        processors_internal::ValidateCpuAffinity(options.cpu_affinity));
    RINGFLOW_ASSIGN_OR_RETURN(auto ring,
                              RingBuffer<E>::Create(options.ring, factory));
    return std::unique_ptr<Disruptor>(new Disruptor(options, std::move(ring)));
  }

  // Builds the graph on a ring created elsewhere (e.g. a shm::SharedRing);
  // `options.ring` is ignored.
  static absl::StatusOr<std::unique_ptr<Disruptor>> Wrap(
      std::unique_ptr<Ring> ring, const DisruptorOptions& options = {}) {
    if (ring == nullptr) {
      return absl::InvalidArgumentError("Disruptor::Wrap got a null ring");
    }
    if (options.max_batch_size < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_batch_size ", options.max_batch_size, " must be at least 1"));
    }
    RINGFLOW_RETURN_IF_ERROR(
        processors_internal::ValidateCpuAffinity(options.cpu_affinity));
    return std::unique_ptr<Disruptor>(new Disruptor(options, std::move(ring)));
  }

  ~Disruptor() { Halt(); }

  Disruptor(const Disruptor&) = delete;
  Disruptor& operator=(const Disruptor&) = delete;

  // One batch processor per handler, each depending only on the producer.
  template <typename... Hs>
  EventHandlerGroup<E, Ring> HandleEventsWith(Hs&&... handlers) {
    return AddHandlers({}, std::forward<Hs>(handlers)...);
  }

  // Competing consumers: each event goes to exactly one of `handlers`.
  template <typename H>
  EventHandlerGroup<E, Ring> HandleEventsWithWorkerPool(std::span<H> handlers) {
    return AddWorkerPool({}, handlers);
  }

  // The group of already-added handlers, to hang new stages after.
  template <typename... Hs>
  EventHandlerGroup<E, Ring> After(const Hs&... handlers) {
    std::vector<const Sequence*> sequences;
    absl::Status status;
    (AppendSequenceOf(static_cast<const void*>(&handlers),
                      processors_internal::TypeName<Hs>(), sequences, status),
     ...);
    if (!status.ok()) Defer(status);
    return EventHandlerGroup<E, Ring>(this, std::move(sequences), status);
  }

  // Starts one thread per processor. FailedPrecondition when called twice;
  // otherwise the first graph-building error, if any.
  absl::Status Start() {
    if (started_) {
      return absl::FailedPreconditionError("Disruptor::Start called twice");
    }
    RINGFLOW_RETURN_IF_ERROR(deferred_);
    started_ = true;
    for (size_t i = 0; i < processors_.size(); ++i) {
      processors_internal::Processor* p = processors_[i].get();
      std::function<void()> body = [p] { p->Run(); };
      threads_.push_back(options_.thread_factory
                             ? options_.thread_factory(std::move(body))
                             : std::thread(std::move(body)));
      if (!options_.cpu_affinity.empty()) {
        const int cpu = options_.cpu_affinity[i % options_.cpu_affinity.size()];
        absl::Status pinned =
            processors_internal::PinThread(threads_.back(), cpu);
        if (!pinned.ok()) {
          Halt();
          return pinned;
        }
      }
    }
    return absl::OkStatus();
  }

  Ring& ring() noexcept { return *ring_; }

  template <core_internal::EventFiller<E> F>
  bool PublishEvent(F&& fill) {
    return ring_->PublishEvent(std::forward<F>(fill));
  }
  template <core_internal::EventFiller<E> F>
  bool TryPublishEvent(F&& fill) {
    return ring_->TryPublishEvent(std::forward<F>(fill));
  }
  template <core_internal::EventFiller<E> F>
  bool PublishEvents(int64_t n, F&& fill) {
    return ring_->PublishEvents(n, std::forward<F>(fill));
  }

  // Graceful stop: closes the ring (new claims fail), waits until every
  // claim in flight is published and every handler has processed every
  // published event, then halts processors and joins their threads.
  //   DeadlineExceeded  `timeout` passed first, naming the handlers behind;
  //                     the ring is reopened and the graph keeps running
  //                     (claims made during the attempt failed visibly).
  //   Aborted           a handler's exception policy halted it; or a
  //                     producer racing with Shutdown published after the
  //                     graph drained (stop producers before Shutdown).
  absl::Status Shutdown(absl::Duration timeout) {
    ring_->Close();
    const absl::Time deadline = absl::Now() + timeout;
    int64_t drained_at = kInitialSequence;
    for (;;) {
      std::string behind;
      // Claimed (multi) or published (single) sequence; for kMulti, claims
      // still being filled are the gap between this and `published`.
      const int64_t cursor = ring_->Cursor();
      const int64_t published = ring_->PublishedSequence();
      for (const auto& p : processors_) {
        RINGFLOW_RETURN_IF_ERROR(p->status());
        const int64_t at = p->sequence().LoadAcquire();
        if (!processors_internal::IsDrained(ring_->published_cursor(), at)) {
          absl::StrAppend(&behind, behind.empty() ? "" : ", ", "'", p->name(),
                          "' at ", at);
        }
      }
      if (behind.empty() && published == cursor) {
        drained_at = published;
        break;
      }
      if (absl::Now() >= deadline) {
        ring_->Reopen();  // a failed shutdown leaves the graph as it was
        return absl::DeadlineExceededError(absl::StrCat(
            "Shutdown timed out after ", absl::FormatDuration(timeout),
            " with events published up to ", published,
            published == cursor ? ""
                                : absl::StrCat(" (claimed up to ", cursor, ")"),
            "; behind: ", behind.empty() ? "none" : behind));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Halt();
    const int64_t after = ring_->Cursor();
    if (after > drained_at) {
      return absl::AbortedError(absl::StrCat(
          after - drained_at,
          " event(s) were claimed concurrently with Shutdown after the graph "
          "drained at sequence ",
          drained_at,
          " and were not processed; stop producers before Shutdown"));
    }
    return absl::OkStatus();
  }

  // Stops every processor after its current batch, makes waiting producers
  // return, and joins the threads. Idempotent.
  void Halt() {
    for (auto& p : processors_) p->Halt();
    if (ring_) ring_->Halt();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  bool started() const noexcept { return started_; }

  // Calls fn(name, const Sequence&) for each processor (metrics, tools).
  template <typename Fn>
  void ForEachProcessor(Fn&& fn) const {
    for (const auto& p : processors_) fn(p->name(), p->sequence());
  }

 private:
  friend class EventHandlerGroup<E, Ring>;

  Disruptor(const DisruptorOptions& options, std::unique_ptr<Ring> ring)
      : options_(options), ring_(std::move(ring)) {}

  void Defer(const absl::Status& status) {
    if (deferred_.ok()) deferred_ = status;
  }

  absl::Status CheckNotStarted(const char* call) const {
    if (!started_) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat(call,
                     " called after Start(): the graph is fixed once "
                     "the Disruptor runs"));
  }

  template <typename... Hs>
  EventHandlerGroup<E, Ring> AddHandlers(
      std::vector<const Sequence*> dependents, Hs&&... handlers) {
    absl::Status status = CheckNotStarted("HandleEventsWith");
    std::vector<const Sequence*> sequences;
    if (status.ok()) {
      (AddOne(dependents, std::forward<Hs>(handlers), sequences, status), ...);
    }
    if (!status.ok() && !started_) Defer(status);
    return EventHandlerGroup<E, Ring>(this, std::move(sequences), status);
  }

  template <typename H>
  void AddOne(const std::vector<const Sequence*>& dependents,
              std::unique_ptr<H> owned, std::vector<const Sequence*>& out,
              absl::Status& status) {
    if (!status.ok()) return;
    if (owned == nullptr) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "null std::unique_ptr<", processors_internal::TypeName<H>(),
          "> passed as a handler"));
      return;
    }
    H& handler = *owned;
    owned_.push_back(std::shared_ptr<void>(std::move(owned)));
    AddOne(dependents, handler, out, status);
  }

  template <typename H>
  void AddOne(const std::vector<const Sequence*>& dependents, H& handler,
              std::vector<const Sequence*>& out, absl::Status& status) {
    static_assert(EventHandler<H, E>,
                  "a handler needs OnEvent(E&, int64_t, bool)");
    if (!status.ok()) return;
    ProcessorOptions po;
    po.max_batch_size = options_.max_batch_size;
    po.exception_policy = options_.exception_policy;
    po.name = HandlerName(handler);  // the ring makes it unique
    auto processor =
        BatchEventProcessor<E, H>::Create(*ring_, handler, dependents, po);
    if (!processor.ok()) {
      status = processor.status();
      return;
    }
    const Sequence* sequence = &(*processor)->sequence();
    by_handler_[static_cast<const void*>(&handler)] = {sequence};
    out.push_back(sequence);
    processors_.push_back(
        std::make_unique<
            processors_internal::ProcessorAdapter<BatchEventProcessor<E, H>>>(
            std::move(*processor)));
  }

  template <typename H>
  EventHandlerGroup<E, Ring> AddWorkerPool(
      std::vector<const Sequence*> dependents, std::span<H> handlers) {
    absl::Status status = CheckNotStarted("HandleEventsWithWorkerPool");
    std::vector<const Sequence*> sequences;
    if (status.ok()) {
      auto pool = WorkerPool<E, H>::Create(*ring_, handlers, dependents,
                                           options_.exception_policy);
      if (!pool.ok()) {
        status = pool.status();
      } else {
        sequences = (*pool)->sequences();
        // After(any worker) waits for the whole pool: one worker's sequence
        // runs ahead of events its siblings still handle.
        for (size_t i = 0; i < handlers.size(); ++i) {
          by_handler_[static_cast<const void*>(&handlers[i])] = sequences;
        }
        for (auto& worker : (*pool)->TakeWorkers()) {
          processors_.push_back(
              std::make_unique<processors_internal::ProcessorAdapter<
                  processors_internal::WorkProcessor<E, H>>>(
                  std::move(worker)));
        }
        // The pool object holds the shared work sequence the workers CAS.
        pools_.push_back(std::shared_ptr<void>(std::move(*pool)));
      }
    }
    if (!status.ok() && !started_) Defer(status);
    return EventHandlerGroup<E, Ring>(this, std::move(sequences), status);
  }

  void AppendSequenceOf(const void* handler, const std::string& type,
                        std::vector<const Sequence*>& out,
                        absl::Status& status) const {
    if (!status.ok()) return;
    auto it = by_handler_.find(handler);
    if (it == by_handler_.end()) {
      status = absl::InvalidArgumentError(
          absl::StrCat("After(): the handler of type ", type,
                       " was never added with HandleEventsWith"));
      return;
    }
    out.insert(out.end(), it->second.begin(), it->second.end());
  }

  template <typename H>
  static std::string HandlerName(const H& handler) {
    if constexpr (HasName<H>) {
      return std::string(handler.Name());
    } else {
      return SanitizeName(processors_internal::TypeName<H>());
    }
  }

  DisruptorOptions options_;
  std::unique_ptr<Ring> ring_;
  // Declared after ring_: destroyed first, since they hold ring slots.
  std::vector<std::shared_ptr<void>> owned_;  // handlers passed by unique_ptr
  std::vector<std::shared_ptr<void>> pools_;  // worker pools (work sequences)
  std::vector<std::unique_ptr<processors_internal::Processor>> processors_;
  // Handler -> the sequences After(handler) waits for.
  std::unordered_map<const void*, std::vector<const Sequence*>> by_handler_;
  std::vector<std::thread> threads_;
  absl::Status deferred_;
  bool started_ = false;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_DISRUPTOR_H_
