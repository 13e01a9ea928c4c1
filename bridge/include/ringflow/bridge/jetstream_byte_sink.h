// ringflow/bridge/jetstream_byte_sink.h
//
// Provides `JetStreamByteSink<Reader>`: a sink from a byte ring — a
// ByteReader of an in-process ByteRing, or a shm::SharedByteReader — to a
// NATS JetStream subject, each record published as it is (one message per
// record, no framing added).
//
//   auto reader = (*ring)->RegisterReader("bridge");
//   auto sink = bridge::JetStreamByteSink<ByteReader>::Create(
//       *reader, {.servers = ..., .stream = "JOURNAL", .subject = "j.a"});
//   absl::Status s = (*sink)->Run(stop);
//
// Same machinery as JetStreamSink (internal/sink_core.h): async publishes
// with Nats-Msg-Id "<id>:<epoch>:<record index>", at most `window`
// unacknowledged, re-sends after errors, timeouts and reconnects with the
// same ids, ExpectLastMsgId chaining (strict_order). The difference: a
// byte reader holds one record at a time, so the sink copies each record
// out of the ring into one of `window` buffers (their capacity reused: no
// allocation per record once they have grown) and releases it; the ring
// gates the producers only through those `window` buffers. A broker
// outage is still backpressure, never loss — within the sink's process.
// Records copied out and not acknowledged when the sink's process dies are
// not re-read by the next sink (the event-ring sink, which leaves events in
// the ring until acknowledged, resumes exactly; see jetstream_sink.h). The
// record index counts from the sink's start, so each sink uses a fresh
// epoch (options.epoch, or a random one when it is 0).
//
// Who calls what: Create on a setup path; Run on the reader's thread; the
// reader must outlive the sink. counters() and acked_records() from any
// thread.

#ifndef RINGFLOW_BRIDGE_JETSTREAM_BYTE_SINK_H_
#define RINGFLOW_BRIDGE_JETSTREAM_BYTE_SINK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/internal/sink_core.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow::bridge {

template <typename Reader>
class JetStreamByteSink {
 public:
  static absl::StatusOr<std::unique_ptr<JetStreamByteSink>> Create(
      Reader& reader, const BridgeOptions& options) {
    uint64_t epoch = options.epoch;
    while (epoch == 0)
      epoch = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    std::unique_ptr<JetStreamByteSink> sink(new JetStreamByteSink(reader));
    RINGFLOW_ASSIGN_OR_RETURN(
        sink->core_,
        bridge_internal::SinkCore::Create(
            options, options.id.empty() ? "bytes" : options.id, epoch));
    sink->copies_.resize(static_cast<size_t>(options.window));
    sink->core_->Start(0, /*chained=*/false);
    return sink;
  }

  // Publishes records until `stop` is set, then waits up to ack_timeout for
  // what is in flight. InvalidArgument for a record larger than the
  // server's max_payload or the stream's max_msg_size.
  absl::Status Run(const std::atomic<bool>& stop) {
    const int64_t mask = static_cast<int64_t>(copies_.size()) - 1;
    int64_t idle_ns = kMinIdleNs;
    int64_t stop_deadline = 0;
    for (;;) {
      const int64_t acked = core_->Progress();
      // Release: pairs with acked_records()'s acquire load.
      acked_.store(acked + 1, std::memory_order_release);
      RINGFLOW_RETURN_IF_ERROR(core_->fatal());
      // Relaxed: a stop request; no data rides on it.
      if (stop.load(std::memory_order_relaxed)) {
        const int64_t now = core_internal::MonotonicNanos();
        if (stop_deadline == 0) {
          stop_deadline =
              now + absl::ToInt64Nanoseconds(core_->options().ack_timeout);
        }
        if (core_->next_ack() == core_->next_send() || now >= stop_deadline) {
          return absl::OkStatus();
        }
        core_->Wait(kMaxIdleNs);
        continue;
      }
      bool sent = false;
      bool blocked = false;
      // Re-sends (after a rewind) first, from the copies.
      while (core_->next_send() < copied_ && core_->HasRoom()) {
        const std::string& copy = copies_[core_->next_send() & mask];
        const auto r =
            core_->Publish(core_->next_send(), copy.data(), copy.size());
        if (r == bridge_internal::SinkCore::SendResult::kRejected) {
          return core_->fatal();
        }
        if (r != bridge_internal::SinkCore::SendResult::kSent) {
          blocked = true;
          break;
        }
        sent = true;
      }
      // New records: copied out (the claim is released at once).
      while (!blocked && core_->next_send() == copied_ && core_->HasRoom()) {
        auto claim = reader_.TryRead();
        if (!claim.has_value()) break;
        std::string& copy = copies_[copied_ & mask];
        const auto data = claim->data();
        copy.assign(reinterpret_cast<const char*>(data.data()), data.size());
        claim.reset();  // releases the record
        ++copied_;
        const auto r = core_->Publish(copied_ - 1, copy.data(), copy.size());
        if (r == bridge_internal::SinkCore::SendResult::kRejected) {
          return core_->fatal();
        }
        if (r != bridge_internal::SinkCore::SendResult::kSent) break;
        sent = true;
      }
      if (sent) {
        idle_ns = kMinIdleNs;
      } else {
        core_->Wait(idle_ns);
        idle_ns = std::min(idle_ns * 2, kMaxIdleNs);
      }
    }
  }

  // Records the stream acknowledged (contiguously from the sink's start).
  // Any thread. Wait-free.
  int64_t acked_records() const noexcept {
    // Acquire: pairs with Run's release store.
    return acked_.load(std::memory_order_acquire);
  }
  const BridgeCounters& counters() const noexcept { return core_->counters(); }

 private:
  static constexpr int64_t kMinIdleNs = 50'000;
  static constexpr int64_t kMaxIdleNs = 1'000'000;

  explicit JetStreamByteSink(Reader& reader) : reader_(reader) {}

  Reader& reader_;
  std::unique_ptr<bridge_internal::SinkCore> core_;
  std::vector<std::string> copies_;  // `window` buffers; Run's thread
  int64_t copied_ = 0;               // records copied out; Run's thread
  std::atomic<int64_t> acked_{0};    // written by Run's thread
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_JETSTREAM_BYTE_SINK_H_
