// ringflow/bridge/msg_id.h
//
// Provides the sink's message ids: `Nats-Msg-Id` = "<ring>:<epoch>:<seq>"
// (ring name, ring epoch in hex, ring sequence in decimal). Stable: a
// re-send of the same event carries the same id, so the stream's duplicate
// window drops it; a ring created again under the same name has another
// epoch, so its sequences never collide with the old ring's.
//
//   MsgIdFormatter f("ticks", 0x5eed);   // once
//   const char* id = f.Format(42);       // "ticks:5eed:42", per event
//
// Thread-safety: a formatter is used by one thread; ParseMsgId is pure.

#ifndef RINGFLOW_BRIDGE_MSG_ID_H_
#define RINGFLOW_BRIDGE_MSG_ID_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringflow::bridge {

struct ParsedMsgId {
  std::string_view ring;
  uint64_t epoch = 0;
  int64_t sequence = 0;
};

// The parts of an id made by MsgIdFormatter, or nullopt. Never allocates.
std::optional<ParsedMsgId> ParseMsgId(std::string_view id) noexcept;

class MsgIdFormatter {
 public:
  // `ring`: at most 32 characters (a ring name).
  MsgIdFormatter(std::string_view ring, uint64_t epoch);

  // The id of `sequence`, valid until the next call. Never allocates.
  const char* Format(int64_t sequence) noexcept;
  const std::string& prefix() const noexcept { return prefix_; }

 private:
  std::string prefix_;  // "<ring>:<epoch>:"
  char buffer_[96];
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_MSG_ID_H_
