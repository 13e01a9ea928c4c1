// ringflow/core/internal/stream_backoff.h
//
// Provides `StreamBackoff`: the short pause a consumer loop takes after a
// small batch that was ready at once, before it reads the producer's cursor
// again.
//
// Why: a consumer that keeps up with a streaming producer reads the cursor
// (and the slot line being filled) right after each store to it. Every such
// read takes the line from the producer, and the producer's next store
// waits for the line to come back: each event then costs a cache-line
// round trip, and the faster consumer makes the whole ring slower (the
// bench's "OneToOne stream backoff" row measures it). Pausing
// after a small batch lets the producer publish several events while it
// keeps the lines, and the next read takes them all as one batch.
//
// When: only while the stream is dense, decided from what each read found:
//   - a batch of fewer than kSmallBatch events that was ready at the first
//     look: the stream is dense and the consumer reads too often; the pause
//     grows 1, 3, 7, 15, ... up to `max_pauses`;
//   - a batch of kLargeBatch or more: the consumer lags enough; the pause
//     is halved;
//   - a batch the consumer had to wait for: if it is one event, this is a
//     sparse stream or a request/reply hand-off (PingPong) and the pause
//     drops to zero, so those never pause; if the consumer paused before
//     this read, the pause outlasted the gap between events and is halved;
//     if it did not pause and two or more events gathered while it spun,
//     it caught up with a dense stream (the case where every read costs the
//     producer a cache-line round trip: mean batches of two, a tenth of the
//     ring's speed) and the pause starts at kFirstPause.
// The cost is latency inside a dense stream only: an event may be read up
// to `max_pauses` pause instructions later than it could have been. The
// consumer then lags the producer by some hundreds to thousands of events,
// which is what lets both run at full speed.
//
// Who calls what: one consumer thread owns each StreamBackoff. Touches no
// shared memory: it has no memory-ordering partner.

#ifndef RINGFLOW_CORE_INTERNAL_STREAM_BACKOFF_H_
#define RINGFLOW_CORE_INTERNAL_STREAM_BACKOFF_H_

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/monotonic_clock.h"

namespace ringflow::core_internal {

class StreamBackoff {
 public:
  // Below this, a batch is small: each read of the cursor (and of the slot
  // line being filled) takes lines from the producer, and a batch this small
  // does not pay for that round trip. Measured on the 2-core VM (pause ~10
  // ns): batches of ~70 events ran OneToOne at 124 M ev/s, batches of
  // ~1,300 at 440 (docs/architecture.md, "Measured figures").
  static constexpr int64_t kSmallBatch = 64;
  // From this on, the consumer lags enough; pausing longer only adds
  // latency.
  static constexpr int64_t kLargeBatch = 4096;
  // The first pause after the consumer caught up with a dense stream.
  static constexpr int kFirstPause = 16;
  // The largest `max_pauses` a caller may configure (tens of microseconds
  // of pause instructions; a pause costs 10 to 140 cycles by CPU).
  static constexpr int kMaxPauses = 1024;

  // InvalidArgument naming `max_pauses` unless it is in [0, kMaxPauses].
  // The options that carry it call this at setup.
  static absl::Status Validate(int max_pauses) {
    if (max_pauses < 0 || max_pauses > kMaxPauses) {
      return absl::InvalidArgumentError(
          absl::StrCat("stream_backoff_pauses ", max_pauses, " must be in [0, ",
                       kMaxPauses, "]"));
    }
    return absl::OkStatus();
  }

  // `max_pauses` in [0, kMaxPauses] (see Validate); 0 never pauses.
  explicit StreamBackoff(int max_pauses) noexcept : max_pauses_(max_pauses) {}

  // After each batch: `size` events were handled; `waited` says whether the
  // consumer had to wait for the first of them. Pauses as described above.
  // Never allocates.
  void AfterBatch(int64_t size, bool waited) noexcept {
    const int pauses = Next(size, waited);
    for (int i = 0; i < pauses; ++i) CpuRelax();
  }

  // As AfterBatch without the pause: returns how many pause instructions
  // the consumer should let pass before its next read of the cursor. For a
  // consumer that cannot pause in place (EventPoller defers its next read
  // by that long instead, see PauseNanos). Never allocates.
  int Next(int64_t size, bool waited) noexcept {
    if (waited) {
      if (size < 2) {
        pauses_ = 0;  // a lone event: sparse, or request/reply
      } else if (pauses_ > 0) {
        pauses_ /= 2;  // the pause outlasted the gap between events
      } else {
        pauses_ = std::min(kFirstPause, max_pauses_);  // caught up
      }
    } else if (size < kSmallBatch) {
      pauses_ = std::min(2 * pauses_ + 1, max_pauses_);
    } else if (size >= kLargeBatch) {
      pauses_ /= 2;
    }
    return pauses_;
  }

  // How long one CpuRelax takes on this machine, in nanoseconds (>= 1):
  // about 10 on the 2-core VM, 30 to 50 on CPUs whose pause takes ~140
  // cycles. Measured once per process, on the first call (a few
  // microseconds; callers make it at setup, never on the hot path).
  static int64_t PauseNanos() noexcept {
    static const int64_t nanos = [] {
      constexpr int kPauses = 256;
      int64_t best = INT64_MAX;
      for (int round = 0; round < 4; ++round) {
        const int64_t start = MonotonicNanos();
        for (int i = 0; i < kPauses; ++i) CpuRelax();
        best = std::min(best, MonotonicNanos() - start);
      }
      return std::max<int64_t>(1, best / kPauses);
    }();
    return nanos;
  }

  // The pauses taken after the last batch (tests, statistics).
  int pauses() const noexcept { return pauses_; }

 private:
  const int max_pauses_;
  int pauses_ = 0;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_STREAM_BACKOFF_H_
