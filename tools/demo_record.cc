// tools/demo_record.cc — FormatDemoRecord and RecordVerifier
// (demo_record.h).

#include "tools/demo_record.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ringflow::tools {
namespace {

char PayloadChar(int p, int64_t seq, int64_t k) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  return kAlphabet[static_cast<uint64_t>(seq * 31 + k * 7 + p * 13) % 64];
}

uint32_t Fnv1a(std::string_view bytes) {
  uint32_t h = 2166136261u;
  for (const char c : bytes) {
    h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  }
  return h;
}

}  // namespace

size_t FormatDemoRecord(int p, int64_t seq, char* out) {
  const int64_t length = DemoPayloadLength(p, seq);
  char payload[256];
  for (int64_t k = 0; k < length; ++k) payload[k] = PayloadChar(p, seq, k);
  const std::string_view text(payload, static_cast<size_t>(length));
  const int header = std::snprintf(out, kMaxDemoRecordBytes,
                                   "rec %d %" PRId64 " %" PRId64 " %08x ", p,
                                   seq, length, Fnv1a(text));
  text.copy(out + header, text.size());
  return static_cast<size_t>(header) + text.size();
}

size_t FormatDemoEnd(int p, int64_t count, int producers, char* out) {
  return static_cast<size_t>(std::snprintf(
      out, kMaxDemoRecordBytes, "end %d %" PRId64 " %d", p, count, producers));
}

void RecordVerifier::Observe(std::string_view record) {
  // A copy bounded by the longest record, NUL-terminated for sscanf.
  if (record.size() >= kMaxDemoRecordBytes) {
    ++corrupt_;
    return;
  }
  char line[kMaxDemoRecordBytes + 1];
  record.copy(line, record.size());
  line[record.size()] = '\0';
  int p = -1;
  int64_t seq = -1;
  if (record.starts_with("end ")) {
    int64_t count = -1;
    int producers = 0;
    if (std::sscanf(line, "end %d %" SCNd64 " %d", &p, &count, &producers) !=
            3 ||
        p < 0 || p >= kMaxDemoProducers || producers < 1 ||
        producers > kMaxDemoProducers || count < 0 ||
        (producers_ != 0 && producers != producers_) || ended_by_[p]) {
      ++corrupt_;
      return;
    }
    producers_ = producers;
    ended_by_[p] = true;
    ++ended_;
    if (count > next_[p]) lost_ += count - next_[p];
    return;
  }
  int64_t length = -1;
  unsigned int hash = 0;
  int consumed = 0;
  if (std::sscanf(line, "rec %d %" SCNd64 " %" SCNd64 " %8x %n", &p, &seq,
                  &length, &hash, &consumed) != 4 ||
      p < 0 || p >= kMaxDemoProducers || seq < 0 || consumed <= 0) {
    ++corrupt_;
    return;
  }
  const std::string_view payload = record.substr(static_cast<size_t>(consumed));
  bool intact = length == DemoPayloadLength(p, seq) &&
                static_cast<int64_t>(payload.size()) == length &&
                Fnv1a(payload) == hash;
  for (int64_t k = 0; intact && k < length; ++k) {
    intact = payload[static_cast<size_t>(k)] == PayloadChar(p, seq, k);
  }
  if (!intact) {
    ++corrupt_;
    return;
  }
  ++records_;
  payload_bytes_ += length;
  if (seq < next_[p]) {
    ++duplicated_;
    return;
  }
  lost_ += seq - next_[p];
  next_[p] = seq + 1;
}

}  // namespace ringflow::tools
