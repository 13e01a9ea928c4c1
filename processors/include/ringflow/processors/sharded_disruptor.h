// ringflow/processors/sharded_disruptor.h
//
// Provides `ShardedDisruptor<E>`: the DSL over a ShardedRing. Many
// producers register their own shard; the handler graph behind the merge is
// built as Disruptor's is, each handler on a ShardedEventProcessor and a
// thread the DSL owns:
//
//   auto d = ShardedDisruptor<Order>::Create({.shard = {.capacity = 4096}});
//   (*d)->HandleEventsWith(journal, risk).Then(matcher);  // after the merge
//   RINGFLOW_RETURN_IF_ERROR((*d)->Start());
//   // each producer thread:
//   auto producer = (*d)->RegisterProducer();
//   (*producer)->PublishEvent([](Order& o, int64_t) { ... });
//   RINGFLOW_RETURN_IF_ERROR((*d)->Shutdown(absl::Seconds(5)));
//
// A stage sees each shard's events after every stage of the group it hangs
// behind handled them (per shard: the order within one producer's events
// holds at every stage). Handlers take `const E&` and are owned by the
// caller. Graph-building errors are kept and returned by Start() (and the
// group's status()).
//
// Who calls what: graph building, Start, Shutdown and Halt from one
// controlling thread; RegisterProducer from producer threads.

#ifndef RINGFLOW_PROCESSORS_SHARDED_DISRUPTOR_H_
#define RINGFLOW_PROCESSORS_SHARDED_DISRUPTOR_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/sharded_event_processor.h"
#include "ringflow/processors/sharded_poller.h"

namespace ringflow {

template <typename E>
class ShardedDisruptor {
 public:
  // Stages already in the graph; the next stage hangs behind all of them.
  class Group {
   public:
    template <typename... Hs>
    Group Then(Hs&... handlers) {
      if (!status_.ok()) return *this;
      return disruptor_->AddStages(pollers_, handlers...);
    }
    const absl::Status& status() const noexcept { return status_; }

   private:
    friend class ShardedDisruptor;
    Group(ShardedDisruptor* d, std::vector<const ShardedPoller<E>*> pollers,
          absl::Status status)
        : disruptor_(d), pollers_(std::move(pollers)), status_(status) {}
    ShardedDisruptor* disruptor_;
    std::vector<const ShardedPoller<E>*> pollers_;
    absl::Status status_;
  };

  // `processor`: the options of every stage (its name defaults to the
  // handler's type name).
  static absl::StatusOr<std::unique_ptr<ShardedDisruptor>> Create(
      const ShardedRingOptions& options, ProcessorOptions processor = {}) {
    RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<ShardedRing<E>> ring,
                              ShardedRing<E>::Create(options));
    return std::unique_ptr<ShardedDisruptor>(
        new ShardedDisruptor(std::move(ring), std::move(processor)));
  }

  ShardedDisruptor(const ShardedDisruptor&) = delete;
  ShardedDisruptor& operator=(const ShardedDisruptor&) = delete;
  ~ShardedDisruptor() { Halt(); }

  // The first stage: each handler reads every shard.
  template <typename... Hs>
  Group HandleEventsWith(Hs&... handlers) {
    return AddStages({}, handlers...);
  }

  // Starts every stage on a thread of its own. The first graph-building
  // error instead, or FailedPrecondition when started already.
  absl::Status Start() {
    if (started_) return absl::FailedPreconditionError("already started");
    RINGFLOW_RETURN_IF_ERROR(error_);
    started_ = true;
    for (Stage& stage : stages_) {
      threads_.emplace_back([run = stage.run] { run(); });
    }
    return absl::OkStatus();
  }

  // A shard for the calling producer thread (ShardedRing::RegisterProducer).
  absl::StatusOr<ShardProducer<E>> RegisterProducer() {
    return ring_->RegisterProducer();
  }
  ShardedRing<E>& ring() noexcept { return *ring_; }

  // Graceful stop: closes the ring (no new producers or claims), waits
  // until every stage has handled every event of every shard, then halts
  // the stages and joins their threads. DeadlineExceeded (naming the
  // stages behind, and in which shard) when `timeout` passes first: the
  // ring is reopened and the graph keeps running. Aborted when a stage's
  // exception policy halted it.
  absl::Status Shutdown(absl::Duration timeout) {
    ring_->Close();
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      std::string behind;
      for (const Stage& stage : stages_) {
        RINGFLOW_RETURN_IF_ERROR(stage.status());
      }
      ring_->ForEachShard([&](const auto& shard) {
        const int64_t cursor = shard->ring->Cursor();
        for (const Stage& stage : stages_) {
          const Sequence* at = shard->sequences[stage.poller->consumer_id()];
          if (at == nullptr) continue;
          // Acquire: pairs with the stage's release of its sequence.
          const int64_t done = at->LoadAcquire();
          if (done < cursor) {
            absl::StrAppend(&behind, behind.empty() ? "" : ", ", "'",
                            stage.name, "' at ", done, " of ", cursor, " in ",
                            shard->ring->options().name);
          }
        }
      });
      if (behind.empty()) break;
      if (absl::Now() >= deadline) {
        ring_->Reopen();  // a failed shutdown leaves the graph as it was
        return absl::DeadlineExceededError(
            absl::StrCat("Shutdown timed out after ",
                         absl::FormatDuration(timeout), "; behind: ", behind));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Halt();
    return absl::OkStatus();
  }

  // Stops every stage after its current pass, makes waiting producers
  // return, joins the threads. Idempotent.
  void Halt() {
    for (Stage& stage : stages_) stage.halt();
    ring_->Halt();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  // One stage, seen through its calls (none per event: Run enters the
  // processor's loop, which calls the handler on its static type).
  struct Stage {
    std::shared_ptr<void> owner;  // the ShardedEventProcessor
    std::function<void()> run;
    std::function<void()> halt;
    std::function<absl::Status()> status;
    const ShardedPoller<E>* poller;
    std::string name;
  };

  ShardedDisruptor(std::unique_ptr<ShardedRing<E>> ring,
                   ProcessorOptions processor)
      : ring_(std::move(ring)), processor_(std::move(processor)) {}

  template <typename... Hs>
  Group AddStages(const std::vector<const ShardedPoller<E>*>& after,
                  Hs&... handlers) {
    std::vector<const ShardedPoller<E>*> added;
    absl::Status status;
    if (started_) {
      status =
          absl::FailedPreconditionError("the graph cannot change after Start");
    } else {
      (AddStage(after, handlers, added, status), ...);
    }
    if (!status.ok() && error_.ok()) error_ = status;
    return Group(this, std::move(added), status);
  }

  template <typename H>
  void AddStage(const std::vector<const ShardedPoller<E>*>& after, H& handler,
                std::vector<const ShardedPoller<E>*>& added,
                absl::Status& status) {
    if (!status.ok()) return;
    ProcessorOptions options = processor_;
    options.name.clear();  // the handler's type name, made unique per shard
    auto created =
        ShardedEventProcessor<E, H>::Create(*ring_, handler, after, options);
    if (!created.ok()) {
      status = created.status();
      return;
    }
    std::shared_ptr<ShardedEventProcessor<E, H>> p = std::move(*created);
    added.push_back(&p->poller());
    stages_.push_back(Stage{p, [p] { p->Run(); }, [p] { p->Halt(); },
                            [p] { return p->status(); }, &p->poller(),
                            p->name()});
  }

  std::unique_ptr<ShardedRing<E>> ring_;  // outlives the stages below
  const ProcessorOptions processor_;
  std::vector<Stage> stages_;
  std::vector<std::thread> threads_;
  absl::Status error_;  // the first graph-building error
  bool started_ = false;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_SHARDED_DISRUPTOR_H_
