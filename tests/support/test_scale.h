// tests/support/test_scale.h
//
// Event counts for concurrency tests: full size in normal builds, smaller
// under the sanitizers (which slow atomics down 5-20x). Counts only change
// how long a test runs, never what it checks.

#ifndef RINGFLOW_TESTS_SUPPORT_TEST_SCALE_H_
#define RINGFLOW_TESTS_SUPPORT_TEST_SCALE_H_

#include <cstdint>

namespace ringflow::testing {

#ifdef RINGFLOW_SANITIZED
inline constexpr int64_t kScale = 10;
#else
inline constexpr int64_t kScale = 1;
#endif

// `n` events in a normal build, n / 10 under a sanitizer.
constexpr int64_t Events(int64_t n) { return n / kScale; }

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_TEST_SCALE_H_
