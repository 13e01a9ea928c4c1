// ringflow/bridge/bridge_options.h
//
// Provides `BridgeOptions`, what a JetStreamSink or JetStreamSource needs
// to reach its stream — one struct, so a tool command (`ringflow bridge
// out|in`) maps its flags onto it one to one.
//
// Thread-safety: a plain value type.

#ifndef RINGFLOW_BRIDGE_BRIDGE_OPTIONS_H_
#define RINGFLOW_BRIDGE_BRIDGE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ringflow::bridge {

struct BridgeOptions {
  // Comma-separated server URLs ("nats://127.0.0.1:4222,nats://..."); the
  // client also learns the rest of the cluster from the server it reaches.
  std::string servers = "nats://127.0.0.1:4222";
  std::string user;  // with password; empty: no credentials
  std::string password;
  // The stream. One producing ring per stream: the sink chains its
  // publishes with ExpectLastMsgId (strict_order) and the source requires
  // the stream's sequences to be contiguous.
  std::string stream;
  // Sink: the subject it publishes to (one of the stream's subjects).
  std::string subject;
  // Source: the durable pull consumer's name.
  std::string durable;
  // Sink: the ring's name in message ids (default: the ring's own name).
  std::string id;
  // Sink on an in-process ring: the ring's epoch in message ids (a new
  // value per ring lifetime, e.g. its creation time; 0: a random one); a
  // shared ring's creation id is used instead.
  uint64_t epoch = 0;
  // Sink: most messages published and not yet acknowledged (a power of
  // two). Source: most messages per fetch.
  int64_t window = 256;
  // Sink: chain each publish to the previous one (ExpectLastMsgId), so a
  // message lost in a leader change is never overtaken by its successor:
  // the stream holds the ring's events in ring order.
  bool strict_order = true;
  absl::Duration connect_timeout = absl::Seconds(2);
  // JetStream API requests (stream info, consumer create, acks waited for).
  absl::Duration request_timeout = absl::Seconds(5);
  // Sink: re-send what is unacknowledged after this long. Source: the
  // consumer's AckWait (redelivery of what this source fetched and did not
  // ack).
  absl::Duration ack_timeout = absl::Seconds(5);
  // Source: longest wait of one fetch (the stop flag is seen this often).
  absl::Duration fetch_timeout = absl::Milliseconds(250);
  absl::Duration reconnect_wait = absl::Milliseconds(100);
};

// InvalidArgument naming the bad field, for the fields `role` ("sink" or
// "source") uses.
absl::Status ValidateBridgeOptions(const BridgeOptions& options, bool sink);

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_BRIDGE_OPTIONS_H_
