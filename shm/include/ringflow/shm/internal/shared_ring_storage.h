// ringflow/shm/internal/shared_ring_storage.h
//
// Provides `SharedRingStorage`: what a shm::SharedRing owns (the mapped
// ring, the producer's stall report and the gating view over the shared
// slot table), and the RingParts its SequencedRing base works on.

#ifndef RINGFLOW_SHM_INTERNAL_SHARED_RING_STORAGE_H_
#define RINGFLOW_SHM_INTERNAL_SHARED_RING_STORAGE_H_

#include <memory>
#include <string>
#include <utility>

#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/sequenced_ring.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/shared_gating.h"
#include "ringflow/shm/shared_ring_options.h"

namespace ringflow::shm_internal {

// What a SharedRing owns: the mapped ring and the producer's stall report,
// constructed before its SequencedRing base, which keeps pointers into
// them.
class SharedRingStorage {
 protected:
  SharedRingStorage(std::unique_ptr<Control> control, bool resumed)
      : control_(std::move(control)),
        resumed_(resumed),
        gating_(control_.get(), &stall_) {}

  template <typename E>
  core_internal::RingParts<E, SharedGating> Parts(
      const shm::SharedRingOptions& options) {
    core_internal::RingParts<E, SharedGating> parts;
    parts.events = static_cast<E*>(control_->data());
    parts.cursor = &control_->cursor();
    parts.available = control_->available();
    parts.gate = &control_->gate();
    parts.signal = &control_->wakeup();
    parts.gating = &gating_;
    parts.producer_counters = MakeProducerCounters(options);
    parts.counters = control_->counters();
    return parts;
  }

  core_internal::ProducerCounters MakeProducerCounters(
      const shm::SharedRingOptions& options) {
    core_internal::CountersBlock* block = control_->counters();
    if (!options.ring.counters || block == nullptr) {
      return core_internal::ProducerCounters();
    }
    std::string labels;
    const auto specs =
        core_internal::ProducerCounters::Specs(options.ring.name, labels);
    const int first = block->Allocate(specs, nullptr);
    if (first < 0) return core_internal::ProducerCounters();
    return core_internal::ProducerCounters(
        &block->value(first),
        options.ring.producer_type == ProducerType::kMulti);
  }

  std::unique_ptr<Control> control_;
  const bool resumed_;
  StallReport stall_;
  SharedGating gating_;
};

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_SHARED_RING_STORAGE_H_
