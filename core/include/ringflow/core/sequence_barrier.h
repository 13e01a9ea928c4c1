// ringflow/core/sequence_barrier.h
//
// Provides `SequenceBarrier`: what a consumer waits on. It waits until the
// requested sequence is published *and* every upstream consumer it depends
// on has processed it, then returns the highest sequence it may read (often
// more than asked: that is the batch). Halt (Alert) and timeouts come back
// as a WaitResult, never as an exception.
//
// Who calls what: WaitFor from the one consumer thread that owns the
// barrier; Alert/ClearAlert/IsAlerted from any thread.
//
// Memory ordering: the producer's publish is read with acquire through the
// PublishedCursor; each upstream sequence is read with acquire, pairing with
// that consumer's StoreRelease, so its writes to the events (a pipeline
// stage annotating events) are visible here.

#ifndef RINGFLOW_CORE_SEQUENCE_BARRIER_H_
#define RINGFLOW_CORE_SEQUENCE_BARRIER_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow {

class SequenceBarrier {
 public:
  // `dependents` are the upstream consumer sequences (empty: depend only on
  // the producer). Pointers must outlive the barrier.
  SequenceBarrier(core_internal::PublishedCursor published, WaitStrategy wait,
                  std::vector<const Sequence*> dependents)
      : probe_{published, std::move(dependents)}, wait_(wait) {}

  SequenceBarrier(const SequenceBarrier&) = delete;
  SequenceBarrier& operator=(const SequenceBarrier&) = delete;

  // Waits until `sequence` may be read. Owner thread only. Never allocates.
  // `next_event` (may be null): the address of the event at `sequence`,
  // touched while spinning (WaitProbe::Touch).
  WaitResult WaitFor(int64_t sequence,
                     const void* next_event = nullptr) noexcept {
    probe_.next_event = next_event;
    if (RINGFLOW_UNLIKELY(alert_.IsSet())) return WaitResult::Alerted();
    // Fast path, inlined into the processor loop: the events are already
    // there, so no strategy is entered (a busy consumer never leaves this
    // branch). Same acquire loads as every strategy's first check.
    const int64_t available = Available(sequence);
    if (RINGFLOW_LIKELY(available >= sequence)) {
      return WaitResult::Available(available);
    }
    return WaitSlow(sequence);
  }

  // As WaitFor, with `strategy` for this one wait (e.g. a timeout bounded
  // by a caller's deadline). Owner thread only. Never allocates.
  WaitResult WaitFor(int64_t sequence, const WaitStrategy& strategy) noexcept {
    if (RINGFLOW_UNLIKELY(alert_.IsSet())) return WaitResult::Alerted();
    WaitResult result = strategy.WaitFor(sequence, probe_, alert_);
    result.waited = true;
    return result;
  }

  // Highest sequence readable right now without waiting (may be below
  // `sequence`, meaning nothing new). Owner thread only. Never allocates.
  int64_t Available(int64_t sequence) const noexcept {
    return probe_.Gate(probe_.Published(sequence, std::memory_order_acquire));
  }

  // Highest published sequence contiguous from `sequence`. Any thread.
  int64_t Published(int64_t sequence) const noexcept {
    return probe_.Published(sequence, std::memory_order_acquire);
  }

  // Stops waiters: WaitFor returns kAlerted until ClearAlert. Thread-safe.
  void Alert() noexcept {
    alert_.Set();
    wait_.WakeAll();
  }
  void ClearAlert() noexcept { alert_.Clear(); }
  bool IsAlerted() const noexcept { return alert_.IsSet(); }

  const core_internal::PublishedCursor& published_cursor() const noexcept {
    return probe_.published;
  }
  const std::vector<const Sequence*>& dependents() const noexcept {
    return probe_.dependents;
  }

 private:
  [[gnu::noinline]] WaitResult WaitSlow(int64_t sequence) noexcept {
    WaitResult result = wait_.WaitFor(sequence, probe_, alert_);
    result.waited = true;
    return result;
  }

  struct Probe {
    core_internal::PublishedCursor published;
    std::vector<const Sequence*> dependents;  // read-only after setup

    int64_t Published(int64_t sequence,
                      std::memory_order order) const noexcept {
      return published.Published(sequence, order);
    }
    int64_t Gate(int64_t available) const noexcept {
      for (const Sequence* dependent : dependents) {
        // Acquire: pairs with the upstream consumer's StoreRelease.
        available = std::min(available, dependent->LoadAcquire());
      }
      return available;
    }
    bool HasDependents() const noexcept { return !dependents.empty(); }
    void Touch() const noexcept {
      // Read prefetch into all cache levels; a hint, see WaitProbe.
      if (next_event != nullptr) __builtin_prefetch(next_event, 0, 3);
    }
    const void* next_event = nullptr;  // set by WaitFor; owner thread only
  };
  static_assert(core_internal::WaitProbe<Probe>);

  Probe probe_;
  WaitStrategy wait_;
  core_internal::AlertFlag
      alert_;  // written by Alert/ClearAlert, polled while waiting
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_SEQUENCE_BARRIER_H_
