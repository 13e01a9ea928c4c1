// tests/support/shm_event.h
//
// What the shm tests and their helper program (tests/shm/shm_child.cc)
// agree on, without any test framework:
//
//   ShmEvent            the event type of every test ring: its sequence and
//                       a payload derived from it, so a slot read from the
//                       wrong lap (overwritten or torn) is always noticed.
//   kShmEventTag        the type tag the rings are created with.
//   PayloadOf(seq)      the payload a producer writes at `seq`.
//   FillShmEvent        an EventFiller writing both fields.
//   ChecksumOf(lo, hi)  the sum of PayloadOf over [lo, hi] (mod 2^64), the
//                       value a consumer reading exactly those events
//                       reports.
//   StreamCheck         a consumer's running verdict: count, checksum,
//                       first/last sequence and order/content violations.
//   Fields              "key=value key=value" lines, as the helper prints
//                       them and takes its arguments.

#ifndef RINGFLOW_TESTS_SUPPORT_SHM_EVENT_H_
#define RINGFLOW_TESTS_SUPPORT_SHM_EVENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace ringflow::testing {

struct ShmEvent {
  int64_t sequence = -1;
  uint64_t payload = 0;
};
static_assert(std::is_trivially_copyable_v<ShmEvent> &&
                  std::is_standard_layout_v<ShmEvent> && sizeof(ShmEvent) == 16,
              "lives in shared memory; 16 bytes so the data segment size is "
              "easy to predict in the tests");

inline constexpr char kShmEventTag[] = "ringflow.test.ShmEvent";

// splitmix64 of the sequence: differs for every sequence and bears no
// arithmetic relation to its neighbours or to the sequence a lap away.
constexpr uint64_t PayloadOf(int64_t sequence) {
  uint64_t z = static_cast<uint64_t>(sequence) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline void FillShmEvent(ShmEvent& event, int64_t sequence) {
  event.sequence = sequence;
  event.payload = PayloadOf(sequence);
}

inline uint64_t ChecksumOf(int64_t lo, int64_t hi) {
  uint64_t sum = 0;
  for (int64_t s = lo; s <= hi; ++s) sum += PayloadOf(s);
  return sum;
}

// One consumer's stream, checked event by event: sequences must rise by
// exactly one and every event must carry the content of its sequence.
struct StreamCheck {
  int64_t count = 0;
  uint64_t checksum = 0;
  int64_t first = -1;
  int64_t last = -1;
  int64_t order_violations = 0;    // sequence != previous + 1
  int64_t content_violations = 0;  // event does not match its sequence

  void Add(const ShmEvent& event, int64_t sequence) {
    if (count == 0) {
      first = sequence;
    } else if (sequence != last + 1) {
      ++order_violations;
    }
    if (event.sequence != sequence || event.payload != PayloadOf(sequence)) {
      ++content_violations;
    }
    checksum += event.payload;
    last = sequence;
    ++count;
  }

  std::string ToString() const {
    std::ostringstream out;
    out << "count=" << count << " checksum=" << checksum << " first=" << first
        << " last=" << last << " order_violations=" << order_violations
        << " content_violations=" << content_violations;
    return out.str();
  }
};

// "key=value" words of one line (words without '=' are skipped).
class Fields {
 public:
  Fields() = default;
  explicit Fields(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::string word;
    while (in >> word) {
      const size_t eq = word.find('=');
      if (eq == std::string::npos) continue;
      values_[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }

  bool Has(const std::string& key) const { return values_.count(key) != 0; }
  std::string Get(const std::string& key, std::string fallback = "") const {
    const auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  // The value as a signed integer; `fallback` when absent or not a number.
  int64_t Int(const std::string& key, int64_t fallback = -1) const {
    const std::optional<int64_t> v = Parse<int64_t>(key);
    return v ? *v : fallback;
  }
  uint64_t Uint(const std::string& key, uint64_t fallback = 0) const {
    const std::optional<uint64_t> v = Parse<uint64_t>(key);
    return v ? *v : fallback;
  }

 private:
  template <typename T>
  std::optional<T> Parse(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    std::istringstream in(it->second);
    T value{};
    if (!(in >> value) || !in.eof()) return std::nullopt;
    return value;
  }

  std::map<std::string, std::string> values_;
};

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_SHM_EVENT_H_
