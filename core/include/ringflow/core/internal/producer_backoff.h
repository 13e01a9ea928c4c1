// ringflow/core/internal/producer_backoff.h
//
// How a producer waits for free space when the ring is full: spin with a
// pause hint, then yield, then nap for a few microseconds. A full ring means
// consumers are busy, so this wait is short in a healthy system; the naps
// keep a producer stuck behind a slow consumer from burning a core.

#ifndef RINGFLOW_CORE_INTERNAL_PRODUCER_BACKOFF_H_
#define RINGFLOW_CORE_INTERNAL_PRODUCER_BACKOFF_H_

#include <sched.h>
#include <time.h>

#include <cstdint>

#include "ringflow/core/config.h"

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

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_PRODUCER_BACKOFF_H_
