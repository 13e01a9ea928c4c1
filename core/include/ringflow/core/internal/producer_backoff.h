// ringflow/core/internal/producer_backoff.h
//
// How a producer waits for free space when the ring is full: spin with a
// pause hint, then yield, then nap for a few microseconds. A full ring means
// consumers are busy, so this wait is short in a healthy system; the naps
// keep a producer stuck behind a slow consumer from burning a core.
//
// `AwaitGating` is that wait as both sequencers run it: re-read the gating
// minimum until it reaches the claim's wrap point, or the ring is halted.

#ifndef RINGFLOW_CORE_INTERNAL_PRODUCER_BACKOFF_H_
#define RINGFLOW_CORE_INTERNAL_PRODUCER_BACKOFF_H_

#include <sched.h>
#include <time.h>

#include <cstdint>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/gating_view.h"
#include "ringflow/core/internal/producer_gate.h"

namespace ringflow::core_internal {

class ProducerBackoff {
 public:
  // Producer thread. Never allocates.
  void Pause() noexcept {
    if (tries_ < 64) {
      CpuRelax();
    } else if (tries_ < 1024) {
      sched_yield();
    } else {
      const struct timespec ts { 0, 20'000 };
      nanosleep(&ts, nullptr);
    }
    ++tries_;
  }

  uint32_t tries() const noexcept { return tries_; }

 private:
  uint32_t tries_ = 0;
};

// Reads the gating minimum (from `floor`, the value MinimumSequence
// returns when nothing gates) into `minimum`; while it is below
// `wrap_point`, backs off and reads again. False when the gate was halted
// meanwhile. Producer thread. Never allocates.
template <GatingView Gating>
bool AwaitGating(const Gating& gating, const ProducerGate& gate,
                 ProducerCounters& counters, int64_t floor, int64_t wrap_point,
                 int64_t& minimum) noexcept {
  minimum = gating.MinimumSequence(floor);
  if (wrap_point <= minimum) return true;
  ProducerBackoff backoff;
  counters.OnFullWait();
  do {
    if (gate.IsHalted()) return false;
    backoff.Pause();
    if constexpr (requires(int64_t w, uint32_t t) { gating.OnStall(w, t); }) {
      // A gating view that can evict dead consumers (shared memory).
      gating.OnStall(wrap_point, backoff.tries());
    }
  } while (wrap_point > (minimum = gating.MinimumSequence(floor)));
  return true;
}

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_PRODUCER_BACKOFF_H_
