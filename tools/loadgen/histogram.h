// The load generators' latency histogram (cairn-loadgen, cairn-compare).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cairn::loadgen {

// Latencies in nanoseconds, log-linear buckets as in HdrHistogram: exact
// below 2^kSubBits, then 2^(kSubBits-1) buckets per power of two, so any
// value is reported within 0.1% (as the highest value of its bucket).
class Histogram {
 public:
  Histogram() : counts_(Index(kMaxValue) + 1) {}

  void Record(uint64_t ns) {
    ns = std::min(ns, kMaxValue);
    ++counts_[Index(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }

  void Merge(const Histogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  // The value at `quantile` (0..1]: the smallest bucket holding at least
  // that share of the values; 0 when empty.
  uint64_t ValueAt(double quantile) const {
    if (count_ == 0) return 0;
    const auto rank = std::max<uint64_t>(
        1, static_cast<uint64_t>(
               std::ceil(quantile * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(HighestEquivalent(i), max_);
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 11;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << 42) - 1;  // 73 min

  static size_t Index(uint64_t v) {
    if (v < kSub) return v;
    const int e = std::bit_width(v) - kSubBits;  // >= 1
    const uint64_t mantissa = v >> e;            // in [kSub / 2, kSub)
    return kSub + static_cast<size_t>(e - 1) * (kSub / 2) +
           (mantissa - kSub / 2);
  }
  static uint64_t HighestEquivalent(size_t index) {
    if (index < kSub) return index;
    const size_t rel = index - kSub;
    const int e = static_cast<int>(rel / (kSub / 2)) + 1;
    const uint64_t mantissa = rel % (kSub / 2) + kSub / 2;
    return ((mantissa + 1) << e) - 1;
  }

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace cairn::loadgen
