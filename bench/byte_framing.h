// bench/byte_framing.h
//
// The records of the Bytes family (byte_bench.cc, shared_byte_bench.cc)
// and the checks every reader runs on them, in process or in a child
// process: a record of n >= 16 payload bytes is [value][pattern][~value];
// the reader checks its length, the two stamps, each producer's order and
// the sum of the values, and adds up the first word of every 64-byte line
// in between (so every line of the record crosses to the reader), checked
// against the pattern's at the end. A child reader reports its ByteSink as
// one "done ..." line (Report), which the parent parses and checks
// (ParseByteReport) exactly as it checks an in-process sink.
//
// Thread-safety: a Framing is read-only after construction; a ByteSink
// belongs to its reader thread.

#ifndef RINGFLOW_BENCH_BYTE_FRAMING_H_
#define RINGFLOW_BENCH_BYTE_FRAMING_H_

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"
#include "topology.h"

namespace ringflow::bench {

// A record of n >= 16 payload bytes: [value][pattern][~value].
class Framing {
 public:
  explicit Framing(int64_t n) : n_(n), pattern_(static_cast<size_t>(n)) {
    for (size_t i = 0; i < pattern_.size(); ++i) {
      pattern_[i] = static_cast<std::byte>(i * 131 + 7);
    }
    line_sum_ = LineSum(pattern_.data());
  }
  int64_t n() const noexcept { return n_; }
  uint64_t line_sum() const noexcept { return line_sum_; }
  void Write(std::byte* dst, int64_t value) const noexcept {
    std::memcpy(dst, pattern_.data(), pattern_.size());
    Stamp(dst, value);
  }
  void Stamp(std::byte* dst, int64_t value) const noexcept {
    const int64_t tail = ~value;
    std::memcpy(dst, &value, 8);
    std::memcpy(dst + n_ - 8, &tail, 8);
  }
  // The first word of each 64-byte line strictly between the two stamps.
  uint64_t LineSum(const std::byte* p) const noexcept {
    uint64_t sum = 0;
    for (int64_t off = 64; off + 16 <= n_; off += 64) {
      uint64_t word;
      std::memcpy(&word, p + off, 8);
      sum += word;
    }
    return sum;
  }

 private:
  int64_t n_;
  std::vector<std::byte> pattern_;
  uint64_t line_sum_;
};

// The reader's checks (one reader thread).
struct ByteSink {
  ByteSink(const Framing& f, int producers)
      : framing(f), order(nullptr, 0, producers) {}
  void Take(const std::byte* p, int64_t length) noexcept {
    ++count;
    int64_t head = -1, tail = 0;
    if (length == framing.n()) {
      std::memcpy(&head, p, 8);
      std::memcpy(&tail, p + length - 8, 8);
    }
    if (head < 0 || tail != ~head) {
      ++bad;
      return;
    }
    order.Take(head);
    lines += framing.LineSum(p);
  }
  void Verify(const RunContext& ctx) const {
    const std::string problem =
        Problem(ctx.events, count, bad, order.out_of_order(), order.sum(),
                lines, framing.line_sum());
    if (!problem.empty()) Fail(ctx.scenario, ctx.impl, problem);
  }
  // A child reader's "done" line, with its end time.
  std::string Report(int64_t end_ns) const {
    char line[200];
    std::snprintf(line, sizeof(line),
                  "done count=%" PRId64 " bad=%" PRId64 " ooo=%" PRId64
                  " sum=%" PRId64 " lines=%" PRIu64 " end_ns=%" PRId64,
                  count, bad, order.out_of_order(), order.sum(), lines, end_ns);
    return line;
  }
  // Empty when `events` records 0..events-1 arrived whole and in order.
  static std::string Problem(int64_t events, int64_t count, int64_t bad,
                             int64_t out_of_order, int64_t sum, uint64_t lines,
                             uint64_t line_sum) {
    auto wrong = [](const char* what, int64_t got, int64_t want) {
      return std::string(what) + " is " + std::to_string(got) + ", expected " +
             std::to_string(want);
    };
    if (count != events) return wrong("records read", count, events);
    if (bad != 0) return wrong("records of a wrong length or torn", bad, 0);
    if (out_of_order != 0) {
      return wrong("records out of producer order", out_of_order, 0);
    }
    if (sum != SumBelow(events)) {
      return wrong("sum of the values", sum, SumBelow(events));
    }
    if (lines != line_sum * static_cast<uint64_t>(count)) {
      return "payload line checksum differs";
    }
    return {};
  }
  const Framing& framing;
  ManyToOneSink order;
  int64_t count = 0, bad = 0;
  uint64_t lines = 0;
};

// The end time of a child reader's "done" line after checking what it
// reports against `framing` and `events`; empty `problem` when it holds.
inline int64_t ParseByteReport(const std::string& line, const Framing& framing,
                               int64_t events, std::string& problem) {
  int64_t count = 0, bad = 0, ooo = 0, sum = 0, end_ns = 0;
  uint64_t lines = 0;
  if (std::sscanf(line.c_str(),
                  "done count=%" SCNd64 " bad=%" SCNd64 " ooo=%" SCNd64
                  " sum=%" SCNd64 " lines=%" SCNu64 " end_ns=%" SCNd64,
                  &count, &bad, &ooo, &sum, &lines, &end_ns) != 6) {
    problem = "unreadable report: " + line;
    return 0;
  }
  problem = ByteSink::Problem(events, count, bad, ooo, sum, lines,
                              framing.line_sum());
  return end_ns;
}

// "NAME:N", a byte child's role argument (a queue, ring or service name,
// then the record size): false unless N is a number >= 16.
inline bool ParseByteRoleArg(std::string_view arg, std::string& name,
                             int64_t& n) {
  const size_t colon = arg.rfind(':');
  if (colon == std::string_view::npos ||
      std::sscanf(std::string(arg.substr(colon + 1)).c_str(), "%" SCNd64, &n) !=
          1 ||
      n < 16) {
    return false;
  }
  name = std::string(arg.substr(0, colon));
  return true;
}

inline Metrics ByteRates(int64_t events, int64_t n, int64_t ns) {
  return {MegaEventsPerSecond(events, ns),
          static_cast<double>(events * n) / static_cast<double>(ns)};
}

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_BYTE_FRAMING_H_
