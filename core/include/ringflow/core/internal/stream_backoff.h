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
// When: only while the stream is dense. The pause grows 1, 3, 7, 15, ...
// pauses up to `max_pauses` after each batch of fewer than kSmallBatch
// events that was ready at the first look; it is dropped as soon as the
// consumer has to wait for an event (a sparse stream, or a request/reply
// hand-off like PingPong: those never pause), and halved after a batch of
// kLargeBatch or more (the consumer is behind; pausing cannot help). The
// cost is latency inside a dense stream only: an event may be read up to
// `max_pauses` pause instructions later than it could have been.
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

namespace ringflow::core_internal {

class StreamBackoff {
 public:
  // Below this, a batch is small: fewer events than two cache lines of
  // int64_t, so the consumer was reading lines the producer still fills.
  static constexpr int64_t kSmallBatch = 16;
  // From this on, the consumer is behind the producer.
  static constexpr int64_t kLargeBatch = 256;
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
    if (waited) {
      pauses_ = 0;
    } else if (size < kSmallBatch) {
      pauses_ = std::min(2 * pauses_ + 1, max_pauses_);
    } else if (size >= kLargeBatch) {
      pauses_ /= 2;
    }
    for (int i = 0; i < pauses_; ++i) CpuRelax();
  }

  // The pauses taken after the last batch (tests, statistics).
  int pauses() const noexcept { return pauses_; }

 private:
  const int max_pauses_;
  int pauses_ = 0;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_STREAM_BACKOFF_H_
