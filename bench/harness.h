// bench/harness.h
//
// The pieces every topology benchmark shares: a clock, a start gate that
// lets every thread get ready before the timed region begins, a finish
// line that consumers cross when they handled their last event, the two
// ways a benchmark thread waits (busy spin, or spin-then-yield when there
// are more threads than cores), optional CPU pinning, a latency histogram,
// and Fail(), which ends the process loudly when a result does not verify.
//
// Who calls what: RunClock::Ready/WaitGo/Finish from the benchmark's
// threads, RunClock::Start/WaitFinished from the thread that runs the
// scenario. Everything else is per thread.
//
// Memory ordering: Start() stores `go_` with release after taking t0;
// WaitGo() acquires it, so producers begin after t0. Finish() records its
// end time under a mutex that WaitFinished() takes, so the end times and
// every result the consumer computed before Finish() are visible to the
// scenario thread once WaitFinished() returns (and thread join orders the
// rest).

#ifndef RINGFLOW_BENCH_HARNESS_H_
#define RINGFLOW_BENCH_HARNESS_H_

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ringflow/core/config.h"

namespace ringflow::bench {

// Nanoseconds on the monotonic clock (the vDSO reads the TSC here).
inline int64_t NowNs() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Prints one loud line and ends the process with status 1. Called when a
// scenario's result does not verify: a benchmark that moves wrong data
// fast measures nothing. Threads are joined before results are checked.
[[noreturn]] inline void Fail(std::string_view scenario, std::string_view impl,
                              const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "\n*** VERIFICATION FAILED: %.*s / %.*s: %s ***\n",
               static_cast<int>(scenario.size()), scenario.data(),
               static_cast<int>(impl.size()), impl.data(), what.c_str());
  std::exit(1);
}

// Ends the process when a run does not finish in time: an event was lost
// (or the machine is wedged). The run's threads are still blocked, so this
// exits without unwinding.
[[noreturn]] inline void FailTimeout(std::string_view scenario,
                                     std::string_view impl, int timeout_s) {
  std::fflush(stdout);
  std::fprintf(stderr,
               "\n*** VERIFICATION FAILED: %.*s / %.*s: not finished after "
               "%d s (an event was lost or a consumer stalled) ***\n",
               static_cast<int>(scenario.size()), scenario.data(),
               static_cast<int>(impl.size()), impl.data(), timeout_s);
  std::fflush(stderr);
  std::_Exit(1);
}

// What a single timed run needs to know about itself.
struct RunContext {
  std::string_view scenario;
  std::string_view impl;
  int64_t events = 0;
  int64_t capacity = 0;
  int timeout_s = 0;
  // Latency runs only: stop after this long even if fewer than `events`
  // round trips were made (0: no limit). Spinning round trips on a loaded
  // 2-core machine can degrade to one per scheduler tick.
  int64_t budget_ns = 0;

  // True once a latency run that started at `start_ns` should stop.
  bool OverBudget(int64_t start_ns, int64_t now_ns) const noexcept {
    return budget_ns > 0 && now_ns - start_ns > budget_ns;
  }
};

// How a thread of a benchmark waits for its peer.
enum class WaitMode : uint8_t {
  kBusySpin,  // as many threads as cores: spin with a pause hint
  kYield,     // more threads than cores: spin briefly, then sched_yield
};

// The peers' waiting loop, matching ringflow's BusySpin and Yielding
// strategies (100 pauses, then a yield per try).
class Backoff {
 public:
  static constexpr int kSpinTries = 100;

  explicit Backoff(WaitMode mode) noexcept : mode_(mode) {}
  void Pause() noexcept {
    if (tries_ < kSpinTries) {
      ++tries_;
      CpuRelax();
    } else if (mode_ == WaitMode::kBusySpin) {
      CpuRelax();
    } else {
      sched_yield();
    }
  }
  void Reset() noexcept { tries_ = 0; }

 private:
  WaitMode mode_;
  int tries_ = 0;
};

// CPU pinning for --pin: thread `index` of a scenario with `threads`
// threads is pinned to the index-th CPU this process may use, but only
// when there are at least `threads` such CPUs (pinning two spinning
// threads to one CPU would measure the scheduler, not the queue).
class Pinning {
 public:
  static Pinning& Get() {
    static Pinning pinning;
    return pinning;
  }
  void Enable() noexcept { enabled_ = true; }
  bool enabled() const noexcept { return enabled_; }
  int cpus() const noexcept { return static_cast<int>(cpus_.size()); }
  bool Applies(int threads) const noexcept {
    return enabled_ && threads <= cpus();
  }
  // Calling thread only. Best effort: a failure leaves it unpinned.
  void PinSelf(int index, int threads) const noexcept {
    if (!Applies(threads)) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus_[static_cast<size_t>(index)], &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }

 private:
  Pinning() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus_.push_back(cpu);
      }
    }
  }

  bool enabled_ = false;
  std::vector<int> cpus_;  // CPUs this process may run on
};

// Start gate and finish line of one timed run.
//
//   RunClock clock(/*threads=*/2, /*finishers=*/1);
//   consumer: clock.Ready(); ...consume...; clock.Finish();
//   producer: clock.Ready(); clock.WaitGo(); ...produce...
//   scenario: t0 = clock.Start(); t1 = clock.WaitFinished(); join
//
// Elapsed time is from t0 (every thread started and waiting) to the latest
// Finish() of a consumer.
class RunClock {
 public:
  RunClock(int threads, int finishers) noexcept
      : threads_(threads), finishers_(finishers) {}

  // Benchmark thread: "started, about to wait or consume". Any thread.
  void Ready() noexcept {
    // Release: pairs with the acquire load in Start.
    ready_.fetch_add(1, std::memory_order_release);
  }

  // Producer thread: waits for Start(). Yields: the scenario thread needs
  // the CPU to take t0.
  void WaitGo() const noexcept {
    // Acquire: pairs with the release store in Start.
    while (!go_.load(std::memory_order_acquire)) sched_yield();
  }

  // Consumer thread: handled its last event. Records the end time.
  void Finish() {
    const int64_t now = NowNs();
    std::lock_guard<std::mutex> lock(mu_);
    end_ns_ = std::max(end_ns_, now);
    ++finished_;
    if (finished_ == finishers_) done_.notify_all();
  }

  // Scenario thread: waits until every thread is Ready, takes t0, opens
  // the gate. Returns t0.
  int64_t Start() noexcept {
    // Acquire: pairs with Ready.
    while (ready_.load(std::memory_order_acquire) < threads_) sched_yield();
    start_ns_ = NowNs();
    // Release: pairs with WaitGo.
    go_.store(true, std::memory_order_release);
    return start_ns_;
  }

  // Scenario thread: waits for every finisher, at most `timeout_s`; false
  // on a timeout (a lost event: the caller reports and exits).
  bool WaitFinished(int timeout_s) {
    std::unique_lock<std::mutex> lock(mu_);
    return done_.wait_for(lock, std::chrono::seconds(timeout_s),
                          [&] { return finished_ == finishers_; });
  }

  // WaitFinished, or FailTimeout.
  void WaitFinishedOrDie(const RunContext& ctx) {
    if (!WaitFinished(ctx.timeout_s)) {
      FailTimeout(ctx.scenario, ctx.impl, ctx.timeout_s);
    }
  }

  int64_t elapsed_ns() const {
    std::lock_guard<std::mutex> lock(mu_);
    return std::max<int64_t>(1, end_ns_ - start_ns_);
  }

 private:
  const int threads_;
  const int finishers_;
  std::atomic<int> ready_{0};    // bumped by benchmark threads
  std::atomic<bool> go_{false};  // written by Start
  int64_t start_ns_ = 0;         // written by Start
  mutable std::mutex mu_;
  std::condition_variable done_;
  int64_t end_ns_ = 0;  // guarded by mu_
  int finished_ = 0;    // guarded by mu_
};

// Log-linear latency histogram (as HdrHistogram with 7 significant bits):
// values below 128 ns are exact, larger ones land in one of 64 buckets per
// power of two (under 1.6% relative error). Single writer; no allocation
// after construction.
class LatencyHistogram {
 public:
  LatencyHistogram() : buckets_(kBuckets, 0) {}

  void Record(int64_t ns) noexcept {
    ++buckets_[static_cast<size_t>(BucketOf(ns < 0 ? 0 : ns))];
    ++count_;
  }
  int64_t count() const noexcept { return count_; }

  // The value at quantile q in [0, 1] (the midpoint of its bucket).
  double Quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    const int64_t rank = std::max<int64_t>(
        1, static_cast<int64_t>(q * static_cast<double>(count_) + 0.5));
    int64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += buckets_[static_cast<size_t>(i)];
      if (seen >= rank) return Midpoint(i);
    }
    return Midpoint(kBuckets - 1);
  }

 private:
  static constexpr int kSubBits = 7;
  static constexpr int kLinear = 1 << kSubBits;  // exact below this
  static constexpr int kHalf = kLinear / 2;      // buckets per octave above
  static constexpr int kBuckets = kLinear + 57 * kHalf;

  static int BucketOf(int64_t v) noexcept {
    if (v < kLinear) return static_cast<int>(v);
    const int msb = 63 - std::countl_zero(static_cast<uint64_t>(v));
    const int shift = msb - (kSubBits - 1);             // >= 1
    const int mantissa = static_cast<int>(v >> shift);  // [kHalf, kLinear)
    return std::min(kBuckets - 1,
                    kLinear + (shift - 1) * kHalf + (mantissa - kHalf));
  }
  static double Midpoint(int bucket) noexcept {
    if (bucket < kLinear) return bucket;
    const int shift = (bucket - kLinear) / kHalf + 1;
    const int64_t mantissa = (bucket - kLinear) % kHalf + kHalf;
    const double low = static_cast<double>(mantissa << shift);
    return low + static_cast<double>(int64_t{1} << shift) / 2.0;
  }

  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
};

// Per-consumer record of which values 0..n-1 it handled; used to check
// that a worker pool handled every event exactly once. Each consumer owns
// one (no sharing, no atomics on the hot path).
class SeenBitmap {
 public:
  explicit SeenBitmap(int64_t n)
      : words_(static_cast<size_t>((n + 63) / 64), 0) {}
  void Mark(int64_t v) noexcept {
    words_[static_cast<size_t>(v >> 6)] |= uint64_t{1} << (v & 63);
  }
  const std::vector<uint64_t>& words() const noexcept { return words_; }

 private:
  std::vector<uint64_t> words_;
};

// Empty when every value in [0, n) is marked in exactly one bitmap,
// otherwise a description of the first problem.
inline std::string CheckExactlyOnce(const std::vector<SeenBitmap>& seen,
                                    int64_t n) {
  const size_t words = static_cast<size_t>((n + 63) / 64);
  int64_t missing = 0;
  int64_t duplicated = 0;
  for (size_t w = 0; w < words; ++w) {
    uint64_t any = 0;
    uint64_t twice = 0;
    for (const SeenBitmap& s : seen) {
      twice |= any & s.words()[w];
      any |= s.words()[w];
    }
    const int64_t bits_in_word =
        std::min<int64_t>(64, n - static_cast<int64_t>(w) * 64);
    const uint64_t expected =
        bits_in_word == 64 ? ~uint64_t{0} : (uint64_t{1} << bits_in_word) - 1;
    missing += std::popcount(expected & ~any);
    duplicated += std::popcount(twice);
  }
  if (missing == 0 && duplicated == 0) return {};
  return std::to_string(missing) + " events never handled, " +
         std::to_string(duplicated) + " handled more than once";
}

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_HARNESS_H_
