// ringflow/observability/control_metrics_source.h
//
// Provides `ControlMetricsSource`: the observability::MetricsSource of a
// shared-memory ring, read from its control segment — by the producer's
// process (SharedRing::control()) or by any other process that attached the
// control segment (the `ringflow serve-metrics` sidecar). Reads atomics
// only; never blocks the ring's producer or consumers.

#ifndef RINGFLOW_OBSERVABILITY_CONTROL_METRICS_SOURCE_H_
#define RINGFLOW_OBSERVABILITY_CONTROL_METRICS_SOURCE_H_

#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ringflow/observability/internal/byte_ring_snapshot.h"
#include "ringflow/observability/metrics_source.h"
#include "ringflow/shm/internal/byte_control.h"
#include "ringflow/shm/internal/control.h"

namespace ringflow::observability {

class ControlMetricsSource final : public observability::MetricsSource {
 public:
  // Borrows `control` (it must outlive the source).
  explicit ControlMetricsSource(const shm_internal::Control& control)
      : name_(control.ring_name()), control_(&control) {}
  // Owns `control` (a sidecar's attachment, from Control::Inspect).
  explicit ControlMetricsSource(std::unique_ptr<shm_internal::Control> control)
      : name_(control->ring_name()), control_(control.get()), sidecar_(true) {
    owned_.push_back(std::move(control));
  }

  observability::RingSnapshot Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    observability::RingSnapshot snapshot;
    snapshot.ring = name_;
    if (sidecar_ && !Refresh()) return snapshot;
    const shm_internal::Control& control = *control_;
    if (control.kind() == shm_internal::RingKind::kBytes) {
      return ByteSnapshot(control);
    }
    snapshot.capacity = control.capacity();
    for (int i = 0; i < control.max_consumers(); ++i) {
      const shm_internal::ConsumerSlot& slot = control.slot(i);
      // Acquire: the slot's name and sequence are set before it turns
      // active.
      if (shm_internal::ConsumerSlot::StateOf(
              slot.state.load(std::memory_order_acquire)) !=
          shm_internal::ConsumerSlot::kActive) {
        continue;
      }
      snapshot.consumers.push_back(observability::ConsumerSnapshot{
          std::string(slot.name, strnlen(slot.name, sizeof(slot.name))),
          slot.sequence.LoadAcquire()});
    }
    snapshot.published = control.PublishedSequence();
    snapshot.counters = control.counters();
    return snapshot;
  }

  void Collect(std::vector<observability::RingSnapshot>& out) const override {
    out.push_back(Snapshot());
  }

 private:
  // A byte ring: the ringflow_byte_ring_* families, as an in-process
  // ByteRing exports them, plus the recovered claims of a resumed ring.
  // Reader statistics (records read) stay in each reader's process.
  observability::RingSnapshot ByteSnapshot(
      const shm_internal::Control& control) const {
    absl::StatusOr<shm_internal::ByteRingStat> stat =
        shm_internal::ReadByteRingStat(control);
    if (!stat.ok()) {
      observability::RingSnapshot empty;
      empty.ring = name_;
      return empty;
    }
    observability_internal::ByteRingFigures f;
    f.name = name_;
    f.capacity = stat->capacity;
    f.claimed = stat->tail;
    f.records = stat->records;
    f.payload_bytes = stat->payload_bytes;
    f.padding_bytes = stat->padding_bytes;
    f.skipped_bytes = stat->skipped_bytes;
    f.aborted_records = stat->aborted_records;
    f.full_waits = stat->full_waits;
    f.try_claim_failures = stat->try_claim_failures;
    f.recovered_records = stat->recovered_records;
    f.recovered_bytes = stat->recovered_bytes;
    for (const shm_internal::ByteReaderStat& r : stat->readers) {
      if (r.state != shm_internal::ConsumerSlot::kActive) continue;
      f.readers.push_back({r.name, r.position, std::nullopt});
    }
    return observability_internal::ByteRingSnapshot(f);
  }

  // Keeps control_ on the ring under name_; false when there is none that
  // can be read. Retired mappings stay mapped a while: a snapshot handed out
  // earlier may still point at their counters.
  bool Refresh() const {
    if (control_ != nullptr && control_->CheckIntact().ok()) return true;
    absl::StatusOr<std::unique_ptr<shm_internal::Control>> fresh =
        shm_internal::Control::Inspect(name_);
    if (!fresh.ok()) {
      control_ = nullptr;
      return false;
    }
    control_ = fresh->get();
    owned_.push_back(std::move(*fresh));
    while (owned_.size() > kRetiredKept) owned_.pop_front();
    return true;
  }
  static constexpr size_t kRetiredKept = 8;

  const std::string name_;
  mutable std::mutex mu_;
  mutable const shm_internal::Control* control_;  // guarded by mu_ (sidecar)
  const bool sidecar_ = false;
  mutable std::deque<std::unique_ptr<shm_internal::Control>>
      owned_;  // guarded by mu_
};

}  // namespace ringflow::observability

#endif  // RINGFLOW_OBSERVABILITY_CONTROL_METRICS_SOURCE_H_
