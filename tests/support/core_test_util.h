// tests/support/core_test_util.h
//
// Helpers for the core tests (tests/core):
//
//   SpinUntil(pred)          yields until `pred()` holds; false only after a
//                            generous hang guard, so a broken wake-up fails
//                            the test instead of hanging it. Synchronises on
//                            a value, never on time: it is not a sleep.
//   kProducerTypes           both ProducerType values, for parameterised
//   kWaitStrategyKinds       tests, and the gtest parameter names for them
//   ProducerTypeParamName    ("Single", "BusySpin", ...).
//   WaitStrategyParamName
//   IsBlocking(kind)         whether consumers of `kind` sleep on the
//                            ring's WakeupSignal.
//   kThreadSanitizer         true in a ThreadSanitizer build, for tests
//                            that must skip a known library data race there.
//
// The names live in ringflow::core_testing so they never clash with the
// helpers of other components' tests, except the gtest printers for the
// core enums (PrintTo), which must sit in namespace ringflow for gtest to
// find them.

#ifndef RINGFLOW_TESTS_SUPPORT_CORE_TEST_UTIL_H_
#define RINGFLOW_TESTS_SUPPORT_CORE_TEST_UTIL_H_

#include <array>
#include <ostream>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/wait_result.h"

namespace ringflow {

// Readable gtest output for the core enums ("kTimeout", not "<02>").
inline void PrintTo(WaitStatus status, std::ostream* os) {
  switch (status) {
    case WaitStatus::kAvailable:
      *os << "kAvailable";
      return;
    case WaitStatus::kAlerted:
      *os << "kAlerted";
      return;
    case WaitStatus::kTimeout:
      *os << "kTimeout";
      return;
  }
  *os << "WaitStatus(" << static_cast<int>(status) << ")";
}
inline void PrintTo(ProducerType type, std::ostream* os) {
  *os << ProducerTypeName(type);
}
inline void PrintTo(WaitStrategyKind kind, std::ostream* os) {
  *os << WaitStrategyName(kind);
}

}  // namespace ringflow

namespace ringflow::core_testing {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// Long enough that no healthy run under a sanitizer on a loaded machine
// comes near it; it only turns a hang into a failure.
inline constexpr absl::Duration kHangGuard = absl::Seconds(60);

// Yields until `pred()` is true. Returns false when the hang guard expired.
template <typename Pred>
[[nodiscard]] bool SpinUntil(Pred&& pred) {
  const absl::Time give_up = absl::Now() + kHangGuard;
  while (!pred()) {
    if (absl::Now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

inline constexpr std::array<ProducerType, 2> kProducerTypes = {
    ProducerType::kSingle, ProducerType::kMulti};

inline constexpr std::array<WaitStrategyKind, 5> kWaitStrategyKinds = {
    WaitStrategyKind::kBusySpin, WaitStrategyKind::kYielding,
    WaitStrategyKind::kSleeping, WaitStrategyKind::kBlocking,
    WaitStrategyKind::kTimeoutBlocking};

inline std::string ProducerTypeParamName(ProducerType type) {
  return type == ProducerType::kSingle ? "Single" : "Multi";
}

inline std::string WaitStrategyParamName(WaitStrategyKind kind) {
  switch (kind) {
    case WaitStrategyKind::kBusySpin:
      return "BusySpin";
    case WaitStrategyKind::kYielding:
      return "Yielding";
    case WaitStrategyKind::kSleeping:
      return "Sleeping";
    case WaitStrategyKind::kBlocking:
      return "Blocking";
    case WaitStrategyKind::kTimeoutBlocking:
      return "TimeoutBlocking";
  }
  return "Unknown";
}

inline bool IsBlocking(WaitStrategyKind kind) {
  return kind == WaitStrategyKind::kBlocking ||
         kind == WaitStrategyKind::kTimeoutBlocking;
}

}  // namespace ringflow::core_testing

#endif  // RINGFLOW_TESTS_SUPPORT_CORE_TEST_UTIL_H_
