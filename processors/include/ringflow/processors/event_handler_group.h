// ringflow/processors/event_handler_group.h
//
// Provides `EventHandlerGroup<E>`: a set of handlers already in a
// Disruptor's graph, returned by HandleEventsWith / After / Then, so the
// next stage can be hung behind them:
//
//   d.HandleEventsWith(journal, risk).Then(matcher);
//   d.After(journal).HandleEventsWith(archiver);
//   d.HandleEventsWith(a).And(d.HandleEventsWith(b)).Then(c);
//   d.After(journal).AddHandler(auditor, StartAt::kCursor);  // running
//
// A group remembers the error of the call that made it (status()); the
// Disruptor also keeps the first one for Start(). Setup path only.

#ifndef RINGFLOW_PROCESSORS_EVENT_HANDLER_GROUP_H_
#define RINGFLOW_PROCESSORS_EVENT_HANDLER_GROUP_H_

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/sequence.h"

namespace ringflow {

template <typename E>
class RingBuffer;
template <typename E, typename Ring>
requires ProducerRing<Ring> && ConsumerRing<Ring>
class Disruptor;

// Where a handler added to a running Disruptor (AddHandler) starts.
enum class StartAt : uint8_t {
  // After the cursor: the events published from the moment it joins (as
  // LMAX addGatingSequences).
  kCursor,
  // At the oldest event still in the ring: the one after the lowest
  // sequence another handler of the ring holds, so it first sees what the
  // slowest handler has not released yet (the cursor when there is none).
  // Never a slot the producer has lapped. Needs a ring with
  // RegisterConsumerAtOldest (RingBuffer, shm::SharedRing); others give
  // Unimplemented.
  kOldest,
};

template <typename E, typename Ring = RingBuffer<E>>
class EventHandlerGroup {
 public:
  // Handlers that each see every event after every handler of this group.
  template <typename... Hs>
  EventHandlerGroup Then(Hs&&... handlers) {
    return HandleEventsWith(std::forward<Hs>(handlers)...);
  }
  template <typename... Hs>
  EventHandlerGroup HandleEventsWith(Hs&&... handlers) {
    if (!status_.ok()) return *this;
    return disruptor_->AddHandlers(sequences_, std::forward<Hs>(handlers)...);
  }
  // A worker pool behind this group.
  template <typename H>
  EventHandlerGroup ThenWorkerPool(std::span<H> handlers) {
    if (!status_.ok()) return *this;
    return disruptor_->AddWorkerPool(sequences_, handlers);
  }

  // On a running Disruptor: adds `handler` behind every handler of this
  // group, on a thread of its own (see Disruptor::AddHandler):
  //   d.After(journal).AddHandler(archiver, StartAt::kOldest);
  // The group's error, if any, else AddHandler's.
  template <typename H>
  absl::Status AddHandler(H&& handler, StartAt start = StartAt::kCursor) {
    if (!status_.ok()) return status_;
    return disruptor_->AddRunning(sequences_, std::forward<H>(handler), start);
  }

  // The union of two groups (both must come from the same Disruptor).
  EventHandlerGroup And(const EventHandlerGroup& other) const {
    std::vector<const Sequence*> merged = sequences_;
    merged.insert(merged.end(), other.sequences_.begin(),
                  other.sequences_.end());
    return EventHandlerGroup(disruptor_, std::move(merged),
                             status_.ok() ? other.status_ : status_);
  }

  const absl::Status& status() const noexcept { return status_; }
  const std::vector<const Sequence*>& sequences() const noexcept {
    return sequences_;
  }

 private:
  friend class Disruptor<E, Ring>;
  EventHandlerGroup(Disruptor<E, Ring>* disruptor,
                    std::vector<const Sequence*> sequences, absl::Status status)
      : disruptor_(disruptor),
        sequences_(std::move(sequences)),
        status_(std::move(status)) {}

  Disruptor<E, Ring>* disruptor_;
  std::vector<const Sequence*> sequences_;
  absl::Status status_;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_EVENT_HANDLER_GROUP_H_
