// ringflow/bridge/jetstream_byte_source.h
//
// Provides `JetStreamByteSource`: a durable pull consumer of a NATS
// JetStream stream that publishes each message into an in-process
// ByteRing as one record, as it is (no decoder).
//
//   auto ring = ByteRing::Create({.producer_type = ProducerType::kSingle});
//   auto source = bridge::JetStreamByteSource::Create(
//       **ring, {.servers = ..., .stream = "JOURNAL", .durable = "host-b"});
//   absl::Status s = (*source)->Run(stop);
//
// As JetStreamSource (jetstream_source.h): the source is the ring's only
// producer, records are committed before their messages are acked, the
// consumer is positioned at the applied sequence + 1, redeliveries at or
// below it are acked and skipped, gaps re-position it or are DataLoss. The
// mark lives in this object: an in-process ring does not outlive its
// process, so exactly once holds for the life of the ring. (A byte ring in
// shared memory commits records one by one and would need a per-record
// mark compared with a committed position the ring does not expose yet;
// not offered.) A message larger than the ring's MaxRecordSize() stops Run
// with InvalidArgument naming both sizes and its stream sequence.
//
// Who calls what: Create on a setup path; Run on one thread; counters()
// and applied_sequence() from any thread.

#ifndef RINGFLOW_BRIDGE_JETSTREAM_BYTE_SOURCE_H_
#define RINGFLOW_BRIDGE_JETSTREAM_BYTE_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/internal/source_core.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow::bridge {

class JetStreamByteSource {
 public:
  // A source into `ring` (it must outlive the source; the source must be
  // its only producer). Starts at the stream's first message.
  static absl::StatusOr<std::unique_ptr<JetStreamByteSource>> Create(
      ByteRing& ring, const BridgeOptions& options) {
    std::unique_ptr<JetStreamByteSource> source(new JetStreamByteSource(ring));
    RINGFLOW_ASSIGN_OR_RETURN(source->core_,
                              bridge_internal::SourceCore::Create(options));
    RINGFLOW_ASSIGN_OR_RETURN(const uint64_t first,
                              source->core_->FirstSequence());
    source->applied_ = first > 0 ? first - 1 : 0;
    // Release: pairs with applied_sequence()'s acquire load.
    source->applied_public_.store(source->applied_, std::memory_order_release);
    return source;
  }

  // Forwards messages until `stop` is set (seen at least every
  // fetch_timeout). Errors: DataLoss (the stream lost messages the ring
  // never got), InvalidArgument (a message larger than a record can be),
  // FailedPrecondition (the ring was closed or halted).
  absl::Status Run(const std::atomic<bool>& stop) {
    bool bound = false;
    // Relaxed: a stop request; no data rides on it.
    while (!stop.load(std::memory_order_relaxed)) {
      if (!bound) {
        absl::Status s = core_->Bind(applied_ + 1);
        if (!s.ok()) {
          core_->counters().AddErrors();
          if (absl::IsNotFound(s) || absl::IsInvalidArgument(s)) return s;
          absl::SleepFor(core_->options().reconnect_wait);
          continue;
        }
        bound = true;
      }
      if (!core_->Fetch(static_cast<int>(core_->options().window)).ok()) {
        absl::SleepFor(core_->options().reconnect_wait);
        bound = false;
        continue;
      }
      if (core_->size() == 0) {
        if (core_->BindingLooksStale(applied_)) bound = false;
        continue;
      }
      const bridge_internal::SourceCore::Run run = core_->NextRun(applied_);
      for (int i = run.begin; run.begin >= 0 && i <= run.end; ++i) {
        const bridge_internal::FetchedMessage& m = core_->message(i);
        absl::StatusOr<WriteClaim> claim = ring_.Claim(m.size, kClaimWait);
        while (absl::IsDeadlineExceeded(claim.status())) {
          // Relaxed: as above. The messages not yet committed stay
          // unacked and come again to the next source.
          if (stop.load(std::memory_order_relaxed)) return absl::OkStatus();
          claim = ring_.Claim(m.size, kClaimWait);
        }
        if (!claim.ok()) {
          return absl::Status(
              claim.status().code(),
              absl::StrCat("stream '", core_->options().stream, "' sequence ",
                           m.stream_sequence, ": ", claim.status().message()));
        }
        std::memcpy(claim->data().data(), m.data, static_cast<size_t>(m.size));
        claim->Commit();
        applied_ = m.stream_sequence;
        // Release: pairs with applied_sequence()'s acquire load.
        applied_public_.store(applied_, std::memory_order_release);
        core_->counters().AddPublished();
        core_->Ack(i);
      }
      core_->Release();
      if (run.gap) {
        absl::StatusOr<uint64_t> first = core_->FirstSequence();
        if (first.ok() && *first > applied_ + 1) {
          return absl::DataLossError(
              absl::StrCat("stream '", core_->options().stream,
                           "' no longer holds sequences ", applied_ + 1, "..",
                           *first - 1, ", which this ring never received"));
        }
        bound = false;
      }
    }
    return absl::OkStatus();
  }

  // The last stream sequence whose record is in the ring. Any thread.
  // Wait-free.
  uint64_t applied_sequence() const noexcept {
    // Acquire: pairs with Run's release stores.
    return applied_public_.load(std::memory_order_acquire);
  }
  const BridgeCounters& counters() const noexcept { return core_->counters(); }

 private:
  static constexpr absl::Duration kClaimWait = absl::Milliseconds(100);

  explicit JetStreamByteSource(ByteRing& ring) : ring_(ring) {}

  ByteRing& ring_;
  std::unique_ptr<bridge_internal::SourceCore> core_;
  uint64_t applied_ = 0;  // Run's thread
  std::atomic<uint64_t> applied_public_{0};
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_JETSTREAM_BYTE_SOURCE_H_
