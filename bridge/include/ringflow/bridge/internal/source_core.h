// ringflow/bridge/internal/source_core.h
//
// Provides `SourceCore`: what JetStreamSource does that does not depend on
// the ring — the connection, the durable pull consumer (positioned at a
// stream sequence), fetches with a deadline, and acks.
//
// Who calls what: one loop thread.

#ifndef RINGFLOW_BRIDGE_INTERNAL_SOURCE_CORE_H_
#define RINGFLOW_BRIDGE_INTERNAL_SOURCE_CORE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/jetstream.h"

struct __natsSubscription;

namespace ringflow::bridge_internal {

struct FetchedMessage {
  const char* data = nullptr;
  int size = 0;
  uint64_t stream_sequence = 0;
};

class SourceCore {
 public:
  // Connects and checks that the stream exists (NotFound naming it).
  static absl::StatusOr<std::unique_ptr<SourceCore>> Create(
      const bridge::BridgeOptions& options);
  ~SourceCore();

  // An id of the stream (its name and creation time), for the mark.
  uint64_t stream_id() const noexcept { return stream_id_; }
  // The stream's first sequence now (what limits and purges left).
  absl::StatusOr<uint64_t> FirstSequence();
  // The stream's last sequence now.
  absl::StatusOr<uint64_t> LastSequence();

  // (Re)creates the durable consumer to deliver from `start` on, and
  // subscribes to it.
  absl::Status Bind(uint64_t start);

  // Fetches up to `max` messages, waiting at most fetch_timeout: an empty
  // batch then. Unavailable / DeadlineExceeded while the cluster is away.
  absl::Status Fetch(int max);
  int size() const noexcept { return static_cast<int>(messages_.size()); }
  const FetchedMessage& message(int i) const noexcept { return messages_[i]; }
  // Acks message i (fire and forget: a lost ack means a redelivery, which
  // the source skips).
  void Ack(int i) noexcept;
  // Frees the fetched batch.
  void Release() noexcept;
  // Call after a Fetch that brought nothing: true on the kStaleFetches-th
  // empty fetch in a row while the stream holds messages past `applied`.
  // After a whole-cluster restart a durable's pull requests can go
  // unanswered (observed with nats-server 2.9.10); the caller binds again.
  // A fetch that brings messages starts the count again.
  bool BindingLooksStale(uint64_t applied);

  // The fetched messages [begin, end] that follow `applied` contiguously
  // (begin < 0: none); messages at or below it are acked and counted as
  // redelivered_skipped; `gap` when a message above the run's next
  // sequence came (the consumer must be re-positioned).
  struct Run {
    int begin = -1;
    int end = -1;
    bool gap = false;
  };
  Run NextRun(uint64_t applied) noexcept;

  bridge::BridgeCounters& counters() noexcept { return counters_; }
  const bridge::BridgeOptions& options() const noexcept { return options_; }

 private:
  explicit SourceCore(const bridge::BridgeOptions& options)
      : options_(options) {}
  void Unsubscribe() noexcept;

  const bridge::BridgeOptions options_;
  bridge::BridgeCounters counters_;
  std::unique_ptr<bridge::NatsConnection> connection_;
  std::unique_ptr<bridge::JetStream> js_;
  __natsSubscription* sub_ = nullptr;
  uint64_t stream_id_ = 0;
  std::vector<struct __natsMsg*> raw_;  // the fetched batch, owned
  std::vector<FetchedMessage> messages_;
  static constexpr int kStaleFetches = 4;
  int empty_fetches_ = 0;  // empty fetches in a row (the Run thread's)
};

}  // namespace ringflow::bridge_internal

#endif  // RINGFLOW_BRIDGE_INTERNAL_SOURCE_CORE_H_
