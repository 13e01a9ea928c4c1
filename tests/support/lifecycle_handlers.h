// tests/support/lifecycle_handlers.h
//
// `LifecycleThrower<E>`: a handler whose OnStart, OnShutdown or OnTimeout
// (the one its Config names) throws std::runtime_error every time it is
// called, for the tests of how BatchEventProcessor and WorkProcessor treat
// a throwing lifecycle callback under each ExceptionPolicy. OnEvent never
// throws (it is not noexcept, so the processor keeps its policy code) and
// marks `seen[sequence]` once per delivery, so a test can check that every
// event was handled exactly once.
//
// Who calls what: the callbacks run on the processor's thread. Every
// accessor may be read from any thread at any time.
//
// Memory ordering: each counter is bumped with release after the work it
// counts (for OnEvent: after the `seen` mark); the accessors load with
// acquire, so a test that saw processed() == n also sees the n marks.

#ifndef RINGFLOW_TESTS_SUPPORT_LIFECYCLE_HANDLERS_H_
#define RINGFLOW_TESTS_SUPPORT_LIFECYCLE_HANDLERS_H_

#include <atomic>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ringflow/processors/exception_policy.h"

namespace ringflow::testing {

enum class LifecycleCallback { kOnStart, kOnShutdown, kOnTimeout };

constexpr const char* CamelName(LifecycleCallback callback) {
  switch (callback) {
    case LifecycleCallback::kOnStart:
      return "OnStart";
    case LifecycleCallback::kOnShutdown:
      return "OnShutdown";
    case LifecycleCallback::kOnTimeout:
      return "OnTimeout";
  }
  return "Unknown";
}

constexpr const char* CamelName(ExceptionAction action) {
  switch (action) {
    case ExceptionAction::kHalt:
      return "Halt";
    case ExceptionAction::kLogAndContinue:
      return "LogAndContinue";
    case ExceptionAction::kRewind:
      return "Rewind";
  }
  return "Unknown";
}

// Which callback throws, under which policy. Also the parameterised-test
// name suffix ("OnStartThrowsUnderHalt").
struct LifecycleCase {
  LifecycleCallback throwing;
  ExceptionPolicy policy;

  friend void PrintTo(const LifecycleCase& c, std::ostream* os) {
    *os << CamelName(c.throwing) << "ThrowsUnder" << CamelName(c.policy.action);
  }
};

// Every throwing callback under every policy the library has.
inline std::vector<LifecycleCase> AllLifecycleCases() {
  std::vector<LifecycleCase> cases;
  for (const LifecycleCallback callback :
       {LifecycleCallback::kOnStart, LifecycleCallback::kOnShutdown,
        LifecycleCallback::kOnTimeout}) {
    for (const ExceptionPolicy policy :
         {ExceptionPolicy::Halt(), ExceptionPolicy::LogAndContinue(),
          ExceptionPolicy::Rewind(2)}) {
      cases.push_back({callback, policy});
    }
  }
  return cases;
}

template <typename E>
class LifecycleThrower final {
 public:
  struct Config {
    LifecycleCallback throwing = LifecycleCallback::kOnStart;
    std::atomic<uint32_t>* seen = nullptr;  // one entry per sequence
    int64_t events = 0;                     // entries in `seen`
  };

  // Before the processor starts.
  void Bind(const Config& config) { config_ = config; }

  void OnStart() { Called(starts_, LifecycleCallback::kOnStart); }
  void OnShutdown() { Called(shutdowns_, LifecycleCallback::kOnShutdown); }
  void OnTimeout(int64_t /*sequence*/) {
    Called(timeouts_, LifecycleCallback::kOnTimeout);
  }

  void OnEvent(E& /*event*/, int64_t sequence, bool /*end_of_batch*/) {
    if (sequence < 0 || sequence >= config_.events) {
      // Relaxed: ordered before the release increment of processed_.
      out_of_range_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Relaxed: ordered before the release increment of processed_.
      config_.seen[sequence].fetch_add(1, std::memory_order_relaxed);
    }
    // Release: pairs with processed(); publishes the mark above.
    processed_.fetch_add(1, std::memory_order_release);
  }

  // Acquire: each pairs with the release increment of its counter.
  int64_t starts() const { return starts_.load(std::memory_order_acquire); }
  int64_t shutdowns() const {
    return shutdowns_.load(std::memory_order_acquire);
  }
  int64_t timeouts() const { return timeouts_.load(std::memory_order_acquire); }
  int64_t thrown() const { return thrown_.load(std::memory_order_acquire); }
  int64_t processed() const {
    return processed_.load(std::memory_order_acquire);
  }
  int64_t out_of_range() const {
    return out_of_range_.load(std::memory_order_acquire);
  }

 private:
  void Called(std::atomic<int64_t>& calls, LifecycleCallback callback) {
    // Release: pairs with the accessor's acquire (the test polls it).
    calls.fetch_add(1, std::memory_order_release);
    if (callback != config_.throwing) return;
    // Release: pairs with thrown().
    thrown_.fetch_add(1, std::memory_order_release);
    throw std::runtime_error(std::string(CamelName(callback)) + " failed");
  }

  Config config_;
  std::atomic<int64_t> starts_{0};     // written by the processor thread
  std::atomic<int64_t> shutdowns_{0};  // written by the processor thread
  std::atomic<int64_t> timeouts_{0};   // written by the processor thread
  std::atomic<int64_t> thrown_{0};     // written by the processor thread
  std::atomic<int64_t> processed_{0};  // written by the processor thread
  std::atomic<int64_t> out_of_range_{0};
};

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_LIFECYCLE_HANDLERS_H_
