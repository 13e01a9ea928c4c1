// ringflow/bridge/jetstream.h
//
// Provides RAII wrappers over the NATS C client (nats.c) that the bridge
// stands on:
//
//   NatsConnection  a connection with reconnect options and a connect
//                   deadline; counts reconnects; knows the server's
//                   max_payload.
//   JetStream       a jsCtx on a connection, and stream management:
//                   EnsureStream, GetStream (leader, first/last sequence),
//                   DeleteStream, LastMessageId.
//   NatsStatus      a nats.c error as an absl::Status naming what was done
//                   (server, stream, subject) with nats.c's own text.
//
// Every call has a deadline: the connect timeout for Connect (a wrong URL
// or an unreachable server is Unavailable within it, wrong credentials
// Unauthenticated), BridgeOptions::request_timeout for JetStream requests.
// A stream that does not exist is NotFound naming it.
//
// Thread-safety: nats.c connections and contexts are thread-safe; these
// wrappers add no state beyond relaxed counters. Destroy a JetStream before
// its NatsConnection.

#ifndef RINGFLOW_BRIDGE_JETSTREAM_H_
#define RINGFLOW_BRIDGE_JETSTREAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"

// nats.c's handles, declared here so users of this header need not include
// nats/nats.h.
struct __natsConnection;
struct __jsCtx;
struct __natsOptions;
struct __natsMsg;

namespace ringflow::bridge {

// `what` failed with nats.c status `s` (an int: natsStatus): the code
// follows the cause (NotFound, Unavailable, DeadlineExceeded,
// Unauthenticated, InvalidArgument, ...), the message names `what` and
// carries nats.c's text and its last error detail.
absl::Status NatsStatus(int s, std::string_view what);

class NatsConnection {
 public:
  // Connects to options.servers (user/password when given), trying each
  // server once within options.connect_timeout; afterwards reconnects for
  // ever, every options.reconnect_wait, buffering publishes meanwhile.
  // Unavailable naming the servers when none answers; Unauthenticated when
  // the credentials are refused; InvalidArgument for a malformed URL.
  // `counters` (may be null) gets the reconnects.
  static absl::StatusOr<std::unique_ptr<NatsConnection>> Connect(
      const BridgeOptions& options, BridgeCounters* counters = nullptr);

  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  __natsConnection* get() const noexcept { return conn_; }
  const std::string& servers() const noexcept { return servers_; }
  // The largest message the server accepts (its max_payload), in bytes.
  int64_t max_payload() const noexcept;
  // Times the connection was re-established; the bridge compares it with
  // what it saw to re-send what was in flight. Any thread. Wait-free.
  uint64_t reconnect_epoch() const noexcept {
    // Acquire: pairs with the release increment in the reconnected
    // callback (OnReconnected), so a loop that sees the new epoch also sees
    // the connection state nats.c set before calling it.
    return reconnect_epoch_.load(std::memory_order_acquire);
  }
  bool connected() const noexcept;

 private:
  NatsConnection() = default;
  static void OnReconnected(__natsConnection* nc, void* closure);

  __natsConnection* conn_ = nullptr;
  __natsOptions* options_ = nullptr;
  std::string servers_;
  BridgeCounters* counters_ = nullptr;
  std::atomic<uint64_t> reconnect_epoch_{0};  // written by nats.c's thread
};

// A stream's configuration, for EnsureStream.
struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 1;
  bool memory_storage = false;  // file storage otherwise
  // How long the stream remembers message ids to drop re-sends.
  absl::Duration duplicate_window = absl::Minutes(2);
  int64_t max_bytes = -1;  // -1: no limit
  int32_t max_msg_size = -1;
};

// What GetStream reports.
struct StreamState {
  std::string name;
  uint64_t messages = 0;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  int64_t created_ns = 0;  // when the stream was created (UTC, ns)
  std::string leader;      // server name of the stream leader ("" if none)
  std::vector<std::string> replicas;  // the other peers' server names
};

// A message id found in the stream (LastMessageId).
struct StoredMessageId {
  std::string id;                // its Nats-Msg-Id ("" when it had none)
  uint64_t stream_sequence = 0;  // its sequence in the stream
};

// Async publish acknowledgements, delivered on nats.c's thread.
struct PublishAckHandler {
  void (*on_ack)(void* closure, __natsMsg* msg, bool duplicate,
                 uint64_t stream_sequence) = nullptr;
  void (*on_error)(void* closure, __natsMsg* msg, int status, int error_code,
                   const char* text) = nullptr;
  void* closure = nullptr;
  int64_t max_pending = 4096;  // nats.c's own bound on async publishes
};

class JetStream {
 public:
  // A JetStream context on `connection` (which must outlive it); `acks`
  // (may be null) receives async publish acknowledgements.
  static absl::StatusOr<std::unique_ptr<JetStream>> Create(
      NatsConnection& connection, absl::Duration request_timeout,
      const PublishAckHandler* acks = nullptr);
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  __jsCtx* get() const noexcept { return js_; }
  NatsConnection& connection() const noexcept { return *connection_; }

  // Creates the stream, or checks that the one there has these subjects
  // (an existing stream is left as it is otherwise). Unavailable while the
  // cluster has no JetStream quorum (callers poll until a deadline).
  absl::Status EnsureStream(const StreamSpec& spec);
  // NotFound naming the stream when it does not exist.
  absl::StatusOr<StreamState> GetStream(std::string_view stream);
  absl::Status DeleteStream(std::string_view stream);
  // Removes every message of the stream (its sequences go on).
  absl::Status PurgeStream(std::string_view stream);
  // The id of the last message on `subject` in `stream`, or nullopt when
  // the stream holds none on it. NotFound when the stream does not exist.
  absl::StatusOr<std::optional<StoredMessageId>> LastMessageId(
      std::string_view stream, std::string_view subject);
  // Deletes a consumer; OK when it did not exist.
  absl::Status DeleteConsumer(std::string_view stream,
                              std::string_view consumer);
  // Forgets every async publish nats.c still waits an ack for (their acks
  // are then dropped, their callbacks never run); returns how many. Only
  // after a first js_PublishAsync on this context: nats.c 3.4.1 crashes
  // before one.
  int DropPendingPublishes() noexcept;

 private:
  JetStream() = default;

  __jsCtx* js_ = nullptr;
  NatsConnection* connection_ = nullptr;
  absl::Duration request_timeout_;
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_JETSTREAM_H_
