// tests/bridge/bridge_test_util.h
//
// The bridge tests' event (a producer sequence and a checksum of it), its
// encoder and decoder, and Verifier, which checks that a ring delivers
// every event exactly once and in order: event k at its k-th position,
// with the checksum of k.

#ifndef RINGFLOW_TESTS_BRIDGE_BRIDGE_TEST_UTIL_H_
#define RINGFLOW_TESTS_BRIDGE_BRIDGE_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace ringflow::bridge_testing {

struct Event {
  int64_t sequence = -1;  // the producer's count
  uint64_t checksum = 0;  // Checksum(sequence)
};

constexpr uint64_t Checksum(int64_t k) {
  return (static_cast<uint64_t>(k) + 0x1234567ULL) * 0x9e3779b97f4a7c15ULL;
}

inline void Encode(const Event& e, std::string& out) {
  out.append(reinterpret_cast<const char*>(&e), sizeof(e));
}

inline void Decode(const char* data, size_t size, Event& out) {
  out = Event{};
  std::memcpy(&out, data, std::min(size, sizeof(out)));
}

// Checks events in the order a ring delivers them.
class Verifier {
 public:
  void See(const Event& e) {
    if (e.sequence != next_ || e.checksum != Checksum(e.sequence)) {
      if (first_error_.empty()) {
        first_error_ = absl::StrCat(
            "position ", next_, ": got event ", e.sequence, " checksum ",
            e.checksum == Checksum(e.sequence) ? "ok" : "bad");
      }
      ++errors_;
    }
    next_ = e.sequence + 1;
    ++seen_;
  }
  int64_t seen() const { return seen_; }
  int64_t errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }

 private:
  int64_t next_ = 0;
  int64_t seen_ = 0;
  int64_t errors_ = 0;
  std::string first_error_;
};

}  // namespace ringflow::bridge_testing

#endif  // RINGFLOW_TESTS_BRIDGE_BRIDGE_TEST_UTIL_H_
