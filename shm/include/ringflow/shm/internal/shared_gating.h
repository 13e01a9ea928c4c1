// ringflow/shm/internal/shared_gating.h
//
// Provides `SharedGating`, the shared slot table as the sequencers' gating
// view, and `StallReport`, what a producer waiting on a full shared ring
// tells the housekeeping thread (SharedRing) so it evicts dead consumers.

#ifndef RINGFLOW_SHM_INTERNAL_SHARED_GATING_H_
#define RINGFLOW_SHM_INTERNAL_SHARED_GATING_H_

#include <atomic>
#include <cstdint>

#include "ringflow/core/internal/futex.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/liveness.h"

namespace ringflow::shm_internal {

// What a waiting producer tells the housekeeping thread.
struct StallReport {
  std::atomic<int64_t> started_ns{0};  // when the current stall began
  std::atomic<int64_t> wrap_point{INT64_MIN};
  std::atomic<uint32_t> wake{0};  // futex word: bumped to wake housekeeping
};

// The shared slot table as the sequencers' gating view.
class SharedGating {
 public:
  SharedGating(Control* control, StallReport* report)
      : control_(control), report_(report) {}

  int64_t MinimumSequence(int64_t default_value) const noexcept {
    return control_->MinimumSequence(default_value);
  }

  // Called by a producer waiting for space (tries = its backoff count):
  // records the stall and wakes housekeeping, which evicts dead (and, by
  // policy, stalling) consumers. Never allocates. The wake (one futex call)
  // comes only once the backoff naps (past 1024 tries, about a millisecond
  // of stall), then every 64 naps: short stalls of a streaming ring cost
  // nothing, and a dead consumer is evicted within milliseconds of blocking
  // the producer (ShmCrashTest). Waking earlier costs SharedOneToOne
  // throughput (a woken thread competes for the cores): docs/
  // architecture.md, "Measured figures".
  void OnStall(int64_t wrap_point, uint32_t tries) const noexcept {
    if (tries <= 1) {
      // Relaxed: hints for the housekeeper's next pass, which re-checks
      // every consumer against the slot table itself.
      report_->wrap_point.store(wrap_point, std::memory_order_relaxed);
      report_->started_ns.store(MonotonicNanos(), std::memory_order_relaxed);
    }
    if (tries > 1024 && tries % 64 == 0) {
      // Release: the stall fields above are visible to the woken
      // housekeeper (its acquire load of `wake`).
      report_->wake.fetch_add(1, std::memory_order_release);
      core_internal::FutexWake(&report_->wake, 1);
    }
  }

 private:
  Control* control_;
  StallReport* report_;
};

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_SHARED_GATING_H_
