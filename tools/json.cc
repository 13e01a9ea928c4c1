#include "tools/json.h"

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace ringflow::tools {
namespace {

// The length of the well-formed UTF-8 sequence starting at s[i] (Unicode
// Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or
// 0 when s[i] does not start one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) {
    return i + k < s.size() ? static_cast<uint8_t>(s[i + k]) : uint8_t{0};
  };
  const auto tail = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  const uint8_t b0 = byte(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return tail(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const uint8_t b1 = byte(1);
    const bool second = b0 == 0xE0   ? b1 >= 0xA0 && b1 <= 0xBF
                        : b0 == 0xED ? b1 >= 0x80 && b1 <= 0x9F
                                     : tail(1);
    return second && tail(2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const uint8_t b1 = byte(1);
    const bool second = b0 == 0xF0   ? b1 >= 0x90 && b1 <= 0xBF
                        : b0 == 0xF4 ? b1 >= 0x80 && b1 <= 0x8F
                                     : tail(1);
    return second && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out;
}

}  // namespace ringflow::tools
