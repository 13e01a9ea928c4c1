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
// Once started, handlers join and leave the running graph, each on a
// thread of its own; the call returns the error itself:
//
//   (*d)->AddHandler(auditor);                                // head
//   (*d)->After(risk).AddHandler(archiver, StartAt::kOldest); // behind risk
//   auto last = (*d)->RemoveHandler(auditor, RemoveMode::kDrain);
//
// A joiner takes a consumer slot with the late-joiner handshake
// (RingBuffer::RegisterConsumer / RegisterConsumerAtOldest) before its
// thread starts, so it gates the producer before it reads and never reads
// a lapped slot. A leaver's thread is joined and its slot released, so it
// stops gating the producer at once; a handler others run after cannot
// leave. Worker pools join only before Start and never leave.
//
// Who calls what: graph building, Start, AddHandler, RemoveHandler,
// Shutdown, Halt and ForEachProcessor from one controlling thread;
// PublishEvent & co. from producer threads as the ring's ProducerType
// allows, also while handlers join and leave.
//
// Memory ordering: a joiner's slot is visible to the producer before the
// joiner reads (ConsumerTable::Join); its thread starts after its
// processor is built (thread start). A leaver's final sequence is read
// after its thread was joined.

#ifndef RINGFLOW_PROCESSORS_DISRUPTOR_H_
#define RINGFLOW_PROCESSORS_DISRUPTOR_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/consumer_table.h"
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
#include "ringflow/processors/thread_factory.h"
#include "ringflow/processors/worker_pool.h"

namespace ringflow {

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

// How RemoveHandler lets a handler go.
enum class RemoveMode : uint8_t {
  kDrain,    // handle every event published before the call, then stop
  kAbandon,  // stop after the batch in hand; the rest is not handled
};

// `Ring` is RingBuffer<E> (the default, created by Create) or any ring with
// the same producer and consumer API, such as shm::SharedRing<E> (handed
// over with Wrap): the graph then runs on a ring in shared memory.
template <typename E, typename Ring = RingBuffer<E>>
requires ProducerRing<Ring> && ConsumerRing<Ring>
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
      absl::Status started = StartThread(i);
      if (!started.ok()) {
        Halt();
        return started;
      }
    }
    return absl::OkStatus();
  }

  // Adds `handler` to the running graph at its head (gated only by the
  // producer), on a thread of its own made like the others (thread_factory,
  // cpu_affinity continuing the order of addition). It starts at `start`
  // and gates the producer before it reads anything. `handler` is an
  // lvalue (the caller keeps it alive until it is removed or the Disruptor
  // is destroyed) or a std::unique_ptr (the Disruptor owns it). To add one
  // behind running handlers: After(a, b).AddHandler(handler, start).
  //   FailedPrecondition  before Start, or after Shutdown/Halt
  //   AlreadyExists       this handler object is in the graph already
  //   Unimplemented       StartAt::kOldest on a ring without it
  //   ResourceExhausted   no consumer slot left (RingOptions::max_consumers)
  // Controlling thread. Allocates (setup path).
  template <typename H>
  absl::Status AddHandler(H&& handler, StartAt start = StartAt::kCursor) {
    return AddRunning({}, std::forward<H>(handler), start);
  }

  // Takes `handler` out of the running graph: kDrain waits until it has
  // handled every event published before the call (at most `timeout`),
  // kAbandon stops it after the batch in hand. Either way its thread is
  // joined (OnShutdown runs there), its consumer slot is released, so it
  // stops gating the producer at once, and a handler the Disruptor owned is
  // destroyed. Returns the last sequence it handled.
  //   FailedPrecondition  before Start or after Shutdown/Halt; a handler
  //                       other handlers run after (remove those first); a
  //                       worker of a pool
  //   NotFound            `handler` is not in the graph
  //   DeadlineExceeded    kDrain: `timeout` passed first; the handler stays
  //   Aborted             kDrain: its exception policy halted it (remove it
  //                       with kAbandon)
  // Controlling thread.
  template <typename H>
  absl::StatusOr<int64_t> RemoveHandler(
      const H& handler, RemoveMode mode,
      absl::Duration timeout = absl::InfiniteDuration()) {
    const std::string type = processors_internal::TypeName<H>();
    const void* key = static_cast<const void*>(&handler);
    RINGFLOW_RETURN_IF_ERROR(CheckRunning("RemoveHandler"));
    auto it = by_handler_.find(key);
    if (it == by_handler_.end()) {
      return absl::NotFoundError(
          absl::StrCat("RemoveHandler: the handler of type ", type,
                       " is not in the graph (never added, or removed)"));
    }
    if (pooled_.contains(key)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "RemoveHandler: the handler of type ", type,
          " is a worker of a pool; pools cannot leave a running graph"));
    }
    const size_t index = IndexOf(*it->second.front());
    processors_internal::Processor& p = *processors_[index];
    std::string dependents;
    for (const auto& q : processors_) {
      for (const Sequence* upstream : q->barrier().dependents()) {
        if (upstream == &p.sequence()) {
          absl::StrAppend(&dependents, dependents.empty() ? "" : ", ", "'",
                          q->name(), "'");
        }
      }
    }
    if (!dependents.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "RemoveHandler: handler '", p.name(), "' cannot leave: ", dependents,
          " run(s) after it; remove those first"));
    }
    if (mode == RemoveMode::kDrain) {
      RINGFLOW_RETURN_IF_ERROR(Drain(p, timeout));
    }
    p.Halt();
    if (threads_[index].joinable()) threads_[index].join();
    // Acquire: pairs with the processor's last StoreRelease; the thread was
    // joined, so this is its final value.
    const int64_t last = p.sequence().LoadAcquire();
    // Destroying the processor releases its consumer slot: the producer
    // stops waiting for it from its next gating read on.
    processors_.erase(processors_.begin() + static_cast<ptrdiff_t>(index));
    threads_.erase(threads_.begin() + static_cast<ptrdiff_t>(index));
    by_handler_.erase(it);
    std::erase_if(owned_, [key](const std::shared_ptr<void>& owned) {
      return owned.get() == key;
    });
    return last;
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
    halted_ = true;
    for (auto& p : processors_) p->Halt();
    if (ring_) ring_->Halt();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  bool started() const noexcept { return started_; }

  // Calls fn(name, const Sequence&) for each processor (metrics, tools).
  // Controlling thread (the set changes with AddHandler/RemoveHandler).
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

  absl::Status CheckRunning(const char* call) const {
    if (!started_) {
      return absl::FailedPreconditionError(
          absl::StrCat(call,
                       " called before Start(): build the graph with "
                       "HandleEventsWith/After"));
    }
    if (halted_) {
      return absl::FailedPreconditionError(
          absl::StrCat(call, " called after Shutdown/Halt: the graph stopped"));
    }
    return absl::OkStatus();
  }

  // Starts processors_[i] on a new thread (pinned when cpu_affinity says
  // so); threads_[i] is its thread.
  absl::Status StartThread(size_t i) {
    processors_internal::Processor* p = processors_[i].get();
    std::function<void()> body = [p] { p->Run(); };
    threads_.push_back(options_.thread_factory
                           ? options_.thread_factory(std::move(body))
                           : std::thread(std::move(body)));
    const size_t order = threads_started_++;
    if (options_.cpu_affinity.empty()) return absl::OkStatus();
    const int cpu = options_.cpu_affinity[order % options_.cpu_affinity.size()];
    return processors_internal::PinThread(threads_.back(), cpu);
  }

  // AddHandler and EventHandlerGroup::AddHandler: one batch processor
  // behind `dependents`, started on its own thread.
  template <typename H>
  absl::Status AddRunning(const std::vector<const Sequence*>& dependents,
                          H&& handler, StartAt start) {
    RINGFLOW_RETURN_IF_ERROR(CheckRunning("AddHandler"));
    for (const Sequence* upstream : dependents) {
      if (IndexOf(*upstream) == processors_.size()) {
        return absl::FailedPreconditionError(
            "AddHandler: an upstream handler of this group has left the "
            "graph; call After() again");
      }
    }
    std::vector<const Sequence*> added;
    absl::Status status;
    AddOne(dependents, std::forward<H>(handler), added, status, start);
    RINGFLOW_RETURN_IF_ERROR(status);
    const size_t index = processors_.size() - 1;
    status = StartThread(index);
    if (!status.ok()) {
      // Undo: the processor never joins the graph.
      processors_[index]->Halt();
      if (threads_[index].joinable()) threads_[index].join();
      const void* key = nullptr;
      for (const auto& [handler_key, sequences] : by_handler_) {
        if (sequences.front() == added.front()) key = handler_key;
      }
      processors_.pop_back();
      threads_.pop_back();
      by_handler_.erase(key);
      std::erase_if(owned_, [key](const std::shared_ptr<void>& owned) {
        return owned.get() == key;
      });
    }
    return status;
  }

  // RemoveHandler's kDrain: waits until `p` has handled every event
  // published before the call. Cold path: polls every millisecond, as
  // Shutdown does.
  absl::Status Drain(const processors_internal::Processor& p,
                     absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    const int64_t target = ring_->PublishedSequence();
    for (;;) {
      RINGFLOW_RETURN_IF_ERROR(p.status());
      // Acquire: pairs with the processor's StoreRelease after a batch.
      const int64_t at = p.sequence().LoadAcquire();
      if (at >= target) return absl::OkStatus();
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "RemoveHandler: handler '", p.name(), "' did not drain within ",
            absl::FormatDuration(timeout), ": at ", at,
            ", events published up to ", target, "; it stays in the graph"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // The index in processors_ of the processor that owns `sequence`, or
  // processors_.size().
  size_t IndexOf(const Sequence& sequence) const noexcept {
    for (size_t i = 0; i < processors_.size(); ++i) {
      if (&processors_[i]->sequence() == &sequence) return i;
    }
    return processors_.size();
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
              absl::Status& status, StartAt start = StartAt::kCursor) {
    if (!status.ok()) return;
    if (owned == nullptr) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "null std::unique_ptr<", processors_internal::TypeName<H>(),
          "> passed as a handler"));
      return;
    }
    AddOne(dependents, *owned, out, status, start);
    // Kept only when its processor exists (which references it).
    if (status.ok()) owned_.push_back(std::shared_ptr<void>(std::move(owned)));
  }

  template <typename H>
  void AddOne(const std::vector<const Sequence*>& dependents, H& handler,
              std::vector<const Sequence*>& out, absl::Status& status,
              StartAt start = StartAt::kCursor) {
    static_assert(EventHandler<H, E>,
                  "a handler needs OnEvent(E&, int64_t, bool)");
    if (!status.ok()) return;
    if (started_ && by_handler_.contains(static_cast<const void*>(&handler))) {
      status = absl::AlreadyExistsError(absl::StrCat(
          "AddHandler: this handler of type ",
          processors_internal::TypeName<H>(), " is in the graph already"));
      return;
    }
    ProcessorOptions po;
    po.max_batch_size = options_.max_batch_size;
    po.exception_policy = options_.exception_policy;
    po.name = HandlerName(handler);  // the ring makes it unique
    absl::StatusOr<std::unique_ptr<BatchEventProcessor<E, H>>> processor;
    if (start == StartAt::kCursor) {
      processor =
          BatchEventProcessor<E, H>::Create(*ring_, handler, dependents, po);
    } else if constexpr (requires(Ring & r, std::string_view n) {
                           r.RegisterConsumerAtOldest(n);
                         }) {
      absl::StatusOr<core_internal::ConsumerHandle> slot =
          ring_->RegisterConsumerAtOldest(po.name);
      if (!slot.ok()) {
        status = slot.status();
        return;
      }
      processor = BatchEventProcessor<E, H>::CreateOnSlot(
          *ring_, std::move(*slot), handler, dependents, po);
    } else {
      status = absl::UnimplementedError(absl::StrCat(
          "AddHandler: StartAt::kOldest needs a ring with "
          "RegisterConsumerAtOldest (RingBuffer); ",
          processors_internal::TypeName<Ring>(), " joins at the cursor only"));
      return;
    }
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
          pooled_.insert(static_cast<const void*>(&handlers[i]));
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
  std::unordered_set<const void*> pooled_;  // handlers that are pool workers
  std::vector<std::thread> threads_;        // threads_[i] runs processors_[i]
  size_t threads_started_ = 0;  // cpu_affinity index of the next thread
  absl::Status deferred_;
  bool started_ = false;
  bool halted_ = false;  // Halt ran (Shutdown too): nothing joins or leaves
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_DISRUPTOR_H_
