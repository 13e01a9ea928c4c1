#include "ringflow/bridge/msg_id.h"

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringflow::bridge {

MsgIdFormatter::MsgIdFormatter(std::string_view ring, uint64_t epoch)
    : prefix_(absl::StrCat(std::string(ring.substr(0, 48)), ":",
                           absl::Hex(epoch), ":")) {
  std::memcpy(buffer_, prefix_.data(), prefix_.size());
}

const char* MsgIdFormatter::Format(int64_t sequence) noexcept {
  char* begin = buffer_ + prefix_.size();
  char* end = buffer_ + sizeof(buffer_) - 1;
  const std::to_chars_result r = std::to_chars(begin, end, sequence);
  *r.ptr = '\0';
  return buffer_;
}

std::optional<ParsedMsgId> ParseMsgId(std::string_view id) noexcept {
  const size_t last = id.rfind(':');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const size_t middle = id.rfind(':', last - 1);
  if (middle == std::string_view::npos) return std::nullopt;
  ParsedMsgId out;
  out.ring = id.substr(0, middle);
  const std::string_view epoch = id.substr(middle + 1, last - middle - 1);
  const std::string_view seq = id.substr(last + 1);
  auto e =
      std::from_chars(epoch.data(), epoch.data() + epoch.size(), out.epoch, 16);
  if (e.ec != std::errc() || e.ptr != epoch.data() + epoch.size()) {
    return std::nullopt;
  }
  auto s = std::from_chars(seq.data(), seq.data() + seq.size(), out.sequence);
  if (s.ec != std::errc() || s.ptr != seq.data() + seq.size() || seq.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace ringflow::bridge
