// ringflow/shm/control_metrics_source.h
//
// Provides `ControlMetricsSource`: the observability::MetricsSource of a
// shared-memory ring, read from its control segment — by the producer's
// process (SharedRing::control()) or by any other process that attached the
// control segment (the `ringflow serve-metrics` sidecar). Reads atomics
// only; never blocks the ring's producer or consumers.

#ifndef RINGFLOW_SHM_CONTROL_METRICS_SOURCE_H_
#define RINGFLOW_SHM_CONTROL_METRICS_SOURCE_H_

#include <atomic>
#include <cstring>
#include <memory>
#include <string>

#include "ringflow/observability/metrics_source.h"
#include "ringflow/shm/control.h"

namespace ringflow::shm {

class ControlMetricsSource final : public observability::MetricsSource {
 public:
  // Borrows `control` (it must outlive the source).
  explicit ControlMetricsSource(const Control& control) : control_(control) {}
  // Owns `control` (a sidecar's attachment).
  explicit ControlMetricsSource(std::unique_ptr<Control> control)
      : owned_(std::move(control)), control_(*owned_) {}

  observability::RingSnapshot Snapshot() const override {
    observability::RingSnapshot snapshot;
    snapshot.ring = control_.ring_name();
    snapshot.capacity = control_.capacity();
    for (int i = 0; i < control_.max_consumers(); ++i) {
      const ConsumerSlot& slot = control_.slot(i);
      // Acquire: the slot's name and sequence are set before it turns
      // active.
      if (ConsumerSlot::StateOf(slot.state.load(std::memory_order_acquire)) !=
          ConsumerSlot::kActive) {
        continue;
      }
      snapshot.consumers.push_back(observability::ConsumerSnapshot{
          std::string(slot.name, strnlen(slot.name, sizeof(slot.name))),
          slot.sequence.LoadAcquire()});
    }
    snapshot.published = control_.PublishedSequence();
    snapshot.counters = control_.counters();
    return snapshot;
  }

 private:
  std::unique_ptr<Control> owned_;
  const Control& control_;
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_CONTROL_METRICS_SOURCE_H_
