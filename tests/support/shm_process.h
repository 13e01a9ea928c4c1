// tests/support/shm_process.h
//
// Process plumbing for the multi-process shm tests:
//
//   UniqueRingName(tag)  a ring name no other test (or earlier run) uses:
//                        "t<pid>-<counter>-<tag>", cut to 32 characters.
//   RingRemover          removes a ring's segments when constructed (a stale
//                        leftover) and again when destroyed, so nothing is
//                        left under /dev/shm even when an assertion fails.
//   ChildProcess         tools/internal/child_process.h: a spawned helper
//                        whose stdin and stdout are pipes (the default
//                        SpawnOptions): the handshake channel. Lines are
//                        read with a deadline; the destructor SIGKILLs and
//                        reaps a child that is still there.
//   WaitUntil            polls a condition until it holds or a deadline
//                        passes (a hang guard, not a timing assertion).
//   DescribeWaitStatus   "exited 3" / "killed by signal 11" for messages
//                        (also tools/internal/child_process.h).
//   FindSlot             the consumer slot of a ring holding a name.
//   Watchdog             runs a callback (e.g. ring->Halt()) if it is still
//                        armed after a deadline, so a producer blocked by a
//                        broken consumer fails the test instead of hanging.
//
// No sleeps synchronise anything: a child says what it did on its stdout,
// and the parent reads that line (or times out and fails the test).

#ifndef RINGFLOW_TESTS_SUPPORT_SHM_PROCESS_H_
#define RINGFLOW_TESTS_SUPPORT_SHM_PROCESS_H_

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/shm/internal/control.h"
#include "tools/internal/child_process.h"

namespace ringflow::testing {

using tools_internal::ChildProcess;
using tools_internal::DescribeWaitStatus;
using tools_internal::SpawnOptions;

// A valid ring name unique to this process and call: "t<pid>-<n>-<tag>".
inline std::string UniqueRingName(std::string_view tag) {
  static std::atomic<int> counter{0};
  std::string name = absl::StrCat(
      "t", ::getpid(), "-", counter.fetch_add(1, std::memory_order_relaxed),
      "-", std::string(tag));
  if (name.size() > kMaxNameLength) name.resize(kMaxNameLength);
  return name;
}

// Removes both segments of a ring on construction and destruction, with
// force: whatever a test left under the name (a planted file, a truncated
// or rewritten ring, a ring a killed process still held) must not outlive
// it, or a later test process that gets the same pid finds it there.
class RingRemover {
 public:
  explicit RingRemover(std::string name) : name_(std::move(name)) {
    (void)shm_internal::Control::Remove(name_, /*force=*/true);
  }
  RingRemover(const RingRemover&) = delete;
  RingRemover& operator=(const RingRemover&) = delete;
  ~RingRemover() { (void)shm_internal::Control::Remove(name_, /*force=*/true); }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Polls `pred` (yielding) until it holds; false once `limit` passed.
template <typename Pred>
bool WaitUntil(Pred&& pred, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// The index of the active or evicted consumer slot named `name`, or -1.
inline int FindSlot(const shm_internal::Control& control,
                    std::string_view name) {
  for (int i = 0; i < control.max_consumers(); ++i) {
    const shm_internal::ConsumerSlot& slot = control.slot(i);
    const auto state = shm_internal::ConsumerSlot::StateOf(
        slot.state.load(std::memory_order_acquire));
    if ((state == shm_internal::ConsumerSlot::kActive ||
         state == shm_internal::ConsumerSlot::kEvicted) &&
        name == std::string_view(slot.name)) {
      return i;
    }
  }
  return -1;
}

class Watchdog {
 public:
  Watchdog(absl::Duration limit, std::function<void()> on_expiry)
      : thread_([this, limit, on_expiry = std::move(on_expiry)] {
          std::unique_lock<std::mutex> lock(mu_);
          const bool disarmed = cv_.wait_for(
              lock, absl::ToChronoNanoseconds(limit), [this] { return done_; });
          if (!disarmed) {
            fired_ = true;
            on_expiry();
          }
        }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { Disarm(); }

  // Stops the watchdog; true if it had fired. Idempotent.
  bool Disarm() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;   // guarded by mu_
  bool fired_ = false;  // guarded by mu_
  std::thread thread_;  // starts after the members above exist
};

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_SHM_PROCESS_H_
