// tests/support/proc_harness.h
//
// Helpers for the processors tests:
//
//   TestEvent         the event type: a value and two annotation fields that
//                     pipeline stages write for downstream stages to check.
//   ValueOf(seq)      the value the helpers publish at a sequence; any other
//                     value in a slot means it was overwritten or torn.
//   PublishValues     publishes n events with value ValueOf(seq).
//   SpinUntil         spins (yielding) until a predicate holds; false after
//                     a generous hang guard, never a timing assertion.
//   ProcessorThread   runs a processor's Run() on its own thread and halts
//                     and joins it on destruction, so a failing assertion
//                     never leaves a thread behind.

#ifndef RINGFLOW_TESTS_SUPPORT_PROC_HARNESS_H_
#define RINGFLOW_TESTS_SUPPORT_PROC_HARNESS_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringflow::testing {

struct TestEvent {
  int64_t value = -1;
  int64_t a_mark = -1;  // written by an upstream stage "a"
  int64_t b_mark = -1;  // written by an upstream stage "b"
};

// A value that differs for every sequence and from the slot's neighbours
// one lap away, so an overwritten slot is always noticed.
constexpr int64_t ValueOf(int64_t sequence) { return sequence * 3 + 7; }

// Publishes `n` events with value ValueOf(sequence). False if the ring was
// halted. Producer thread.
template <typename Ring>
bool PublishValues(Ring& ring, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const bool published = ring.PublishEvent([](TestEvent& e, int64_t seq) {
      e.value = ValueOf(seq);
      e.a_mark = -1;
      e.b_mark = -1;
    });
    if (!published) return false;
  }
  return true;
}

// Hang guard for waits on other threads: a test that would otherwise hang
// fails instead. The limit is far above any expected wait; no test asserts
// on how long a wait took.
inline constexpr absl::Duration kHangGuard = absl::Seconds(60);

template <typename Pred>
bool SpinUntil(Pred&& pred, absl::Duration limit = kHangGuard) {
  const absl::Time deadline = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Runs p.Run() on a new thread. Halt() + join on Stop() or destruction.
template <typename P>
class ProcessorThread {
 public:
  explicit ProcessorThread(P& processor)
      : processor_(processor),
        thread_([this] {
          processor_.Run();
          // Release: pairs with the acquire in returned(); the handler's
          // writes inside Run are visible to a caller that saw true.
          returned_.store(true, std::memory_order_release);
        }),
        id_(thread_.get_id()) {}
  ProcessorThread(const ProcessorThread&) = delete;
  ProcessorThread& operator=(const ProcessorThread&) = delete;
  ~ProcessorThread() { Stop(); }

  // Halts the processor and joins. Idempotent.
  void Stop() {
    if (!thread_.joinable()) return;
    processor_.Halt();
    thread_.join();
  }

  // Waits (with the hang guard) for Run to return by itself, then joins.
  // False if it did not; the thread is then halted and joined.
  bool JoinAfterSelfHalt() {
    const bool returned = SpinUntil([this] { return this->returned(); });
    Stop();
    return returned;
  }

  bool returned() const { return returned_.load(std::memory_order_acquire); }
  // The processor thread's id (valid after Stop too).
  std::thread::id id() const { return id_; }

 private:
  P& processor_;
  std::atomic<bool> returned_{false};
  std::thread thread_;  // starts after the members above exist
  const std::thread::id id_;
};

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_PROC_HARNESS_H_
