// tools/latency_histogram.h
//
// A fixed-size latency histogram with ~6% relative precision (16 linear
// sub-buckets per power of two, HdrHistogram-style). Single writer; no
// allocation after construction.

#ifndef RINGFLOW_TOOLS_LATENCY_HISTOGRAM_H_
#define RINGFLOW_TOOLS_LATENCY_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstdint>

namespace ringflow::tools {

class LatencyHistogram {
 public:
  void Record(int64_t value) {
    if (value < 0) value = 0;
    ++counts_[Index(static_cast<uint64_t>(value))];
    ++total_;
    if (value > max_) max_ = value;
  }

  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    if (other.max_ > max_) max_ = other.max_;
  }

  // Value at quantile q in [0, 1] (upper edge of its bucket); 0 when empty.
  int64_t Percentile(double q) const {
    if (total_ == 0) return 0;
    const auto rank =
        static_cast<uint64_t>(q * static_cast<double>(total_ - 1));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen > rank) {
        const int64_t upper = UpperBound(i);
        return upper < max_ ? upper : max_;
      }
    }
    return max_;
  }

  uint64_t count() const { return total_; }
  int64_t max() const { return max_; }

 private:
  static constexpr int kSubBits = 4;
  static constexpr uint64_t kSub = 1u << kSubBits;

  static size_t Index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const int exponent = 63 - std::countl_zero(v);  // >= kSubBits
    const uint64_t sub = (v >> (exponent - kSubBits)) & (kSub - 1);
    return static_cast<size_t>((exponent - kSubBits + 1) * kSub + sub);
  }
  static int64_t UpperBound(size_t index) {
    if (index < kSub) return static_cast<int64_t>(index);
    const int exponent = static_cast<int>(index / kSub) + kSubBits - 1;
    const uint64_t sub = index % kSub;
    const uint64_t lower = (kSub + sub) << (exponent - kSubBits);
    return static_cast<int64_t>(lower + (uint64_t{1} << (exponent - kSubBits)) -
                                1);
  }

  std::array<uint64_t, (64 - kSubBits + 1) * kSub> counts_{};
  uint64_t total_ = 0;
  int64_t max_ = 0;
};

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_LATENCY_HISTOGRAM_H_
