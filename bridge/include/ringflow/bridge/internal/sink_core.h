// ringflow/bridge/internal/sink_core.h
//
// Provides `SinkCore`: everything JetStreamSink does that does not depend
// on the ring's type — the connection, the publish window, the ack
// bookkeeping, re-sends after errors, timeouts and reconnects, and the
// resume point. JetStreamSink<Ring> reads the ring and feeds it.
//
// The window: sequences [next_ack, next_send) are published and not yet
// acknowledged, at most `window` of them. acked_[seq & mask] holds the
// highest sequence acknowledged in that slot (written by nats.c's callback
// thread with a CAS-max, so a late ack of an older lap never hides a newer
// one); Progress() advances next_ack over contiguous acks. Any error ack,
// a timeout of the oldest unacknowledged publish, or a reconnect rewinds:
// nats.c forgets what it still waits for (DropPendingPublishes) and
// next_send goes back to next_ack, so everything unacknowledged is sent
// again, in order, with the same ids (the stream drops what it already
// has and says so: jsPubAck.Duplicate), after a backoff that doubles from
// 5 ms to 500 ms while nothing is acknowledged (a leader election is not
// flooded with doomed publishes).
//
// strict_order: message k carries ExpectLastMsgId = id(k-1), so the stream
// stores k only right after k-1. A message lost in a leader change makes
// every later one in flight fail too, and the rewind sends them again in
// order: the stream never holds k+1 before k.
//
// Who calls what: one loop thread calls everything; nats.c's thread runs
// the ack callbacks. Memory ordering: see the comments at each atomic.

#ifndef RINGFLOW_BRIDGE_INTERNAL_SINK_CORE_H_
#define RINGFLOW_BRIDGE_INTERNAL_SINK_CORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/jetstream.h"
#include "ringflow/bridge/msg_id.h"

namespace ringflow::bridge_internal {

class SinkCore {
 public:
  enum class SendResult : uint8_t {
    kSent,
    kBlocked,   // no room or the client refused for now: try again later
    kRejected,  // never publishable (too large): see fatal()
  };

  // Connects and checks that the stream exists (NotFound naming it).
  static absl::StatusOr<std::unique_ptr<SinkCore>> Create(
      const bridge::BridgeOptions& options, std::string ring_id,
      uint64_t epoch);
  ~SinkCore();

  // The last sequence of this ring and epoch on the subject, or -1 when the
  // last message there is not this ring's (or there is none).
  absl::StatusOr<int64_t> LastStored();

  // Starts the window at `next` (nothing in flight). `chained`: the
  // stream's last message is this ring's `next - 1` (strict_order expects
  // it before `next`).
  void Start(int64_t next, bool chained) noexcept;

  // Publishes `sequence` (== next_send()). Loop thread. Allocates only in
  // nats.c.
  SendResult Publish(int64_t sequence, const char* data, size_t size) noexcept;

  // Takes in acknowledgements and decides on re-sends. Returns the highest
  // sequence acknowledged contiguously. Loop thread. Never allocates
  // (except in nats.c when a rewind drops its pending list).
  int64_t Progress() noexcept;

  // Sleeps until an acknowledgement arrives or `timeout_ns` passes.
  void Wait(int64_t timeout_ns) noexcept;

  int64_t next_send() const noexcept { return next_send_; }
  int64_t next_ack() const noexcept { return next_ack_; }
  bool HasRoom() const noexcept { return next_send_ - next_ack_ < window_; }
  // Set when a message can never be published (it names the sequence and
  // both sizes); the loop stops with it.
  absl::Status fatal() const;

  bridge::BridgeCounters& counters() noexcept { return counters_; }
  const bridge::BridgeOptions& options() const noexcept { return options_; }
  bridge::JetStream& jetstream() noexcept { return *js_; }

 private:
  explicit SinkCore(const bridge::BridgeOptions& options);
  static void OnAck(void* closure, struct __natsMsg* msg, bool duplicate,
                    uint64_t stream_sequence);
  static void OnError(void* closure, struct __natsMsg* msg, int status,
                      int code, const char* text);
  static std::optional<int64_t> SequenceOf(struct __natsMsg* msg) noexcept;
  void Rewind() noexcept;
  // After kReconcileAfter rewinds caused by "wrong last msg id" without
  // progress: asks the stream for its last id and moves past what it holds,
  // or stops with DataLoss (it lost acknowledged messages) or
  // FailedPrecondition (another ring with our id publishes there).
  void Reconcile() noexcept;
  // Around every callback: false when the sink is being destroyed.
  bool Enter() noexcept;
  void Leave() noexcept;
  void Notify() noexcept;
  void SetFatal(absl::Status status);

  const bridge::BridgeOptions options_;
  const int64_t window_;
  const int64_t mask_;
  bridge::BridgeCounters counters_;
  bridge::PublishAckHandler handler_;
  std::unique_ptr<bridge::NatsConnection> connection_;
  std::unique_ptr<bridge::JetStream> js_;
  std::unique_ptr<bridge::MsgIdFormatter> ids_;
  std::unique_ptr<bridge::MsgIdFormatter> expect_ids_;
  int64_t max_payload_ = 0;

  // Written by nats.c's callback thread (CAS-max), read by the loop.
  std::unique_ptr<std::atomic<int64_t>[]> acked_;
  // Lowest sequence an error ack named since the last rewind; INT64_MAX
  // when none. Written by the callback thread (CAS-min), reset by the loop.
  std::atomic<int64_t> failed_min_{INT64_MAX};
  // Bumped by every callback; the loop sleeps on it (futex).
  std::atomic<uint32_t> progress_{0};
  // Callbacks inside this object now (Enter/Leave), and the destructor's
  // "closing" flag. nats.c drops the acks of what DropPendingPublishes
  // returned before calling back, so only a callback that had already
  // taken its message off nats.c's list can still arrive; it waits for no
  // lock of ours and returns at once once closing_ is set.
  std::atomic<int32_t> callbacks_{0};
  std::atomic<bool> closing_{false};
  // Set by OnError for JSStreamWrongLastMsgIDErr; taken by Progress.
  std::atomic<bool> wrong_last_{false};

  // Loop thread only.
  std::vector<int64_t> sent_ns_;  // when each in-flight slot was sent
  int64_t next_send_ = 0;
  int64_t next_ack_ = 0;
  bool chained_ = false;  // next_send_ - 1 is (or will be) in the stream
  int64_t start_ = 0;     // Start's `next`
  bool start_chained_ = false;
  uint64_t reconnect_epoch_ = 0;
  bool ever_published_ = false;  // a js_PublishAsync succeeded
  static constexpr int kReconcileAfter = 4;
  int wrong_last_rewinds_ = 0;
  // Re-sends after a rewind wait until retry_at_ns_ (0: no wait); the wait
  // doubles per rewind without progress, from 5 ms to 500 ms.
  static constexpr int64_t kMinBackoffNs = 5'000'000;
  static constexpr int64_t kMaxBackoffNs = 500'000'000;
  int64_t retry_at_ns_ = 0;
  int64_t backoff_ns_ = kMinBackoffNs;

  mutable std::mutex fatal_mu_;
  absl::Status fatal_;  // guarded by fatal_mu_
  std::atomic<bool> has_fatal_{false};
};

}  // namespace ringflow::bridge_internal

#endif  // RINGFLOW_BRIDGE_INTERNAL_SINK_CORE_H_
