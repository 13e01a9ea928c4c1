// ringflow/processors/event_notifier.h
//
// Provides `EventNotifier`: a file descriptor (an eventfd) that becomes
// readable when a reader of an in-process ring has events, for an event
// loop's epoll / poll / io_uring instead of a thread of its own.
//
//   auto notifier = EventNotifier::Create(*ring);     // a kBlocking ring
//   epoll_ctl(ep, EPOLL_CTL_ADD, (*notifier)->fd(), &readable);
//   for (;;) {
//     while (poller->Poll(handler) == PollState::kProcessing) {}
//     if ((*notifier)->Arm(*poller)) epoll_wait(ep, events, n, -1);
//     (*notifier)->Disarm();
//     ... the loop's other fds ...
//   }
//
// The handshake is the blocking wait strategy's, with an eventfd write in
// place of the futex wake (core/internal/wakeup_signal.h):
//   Arm       marks the notifier armed, registers a waiter (seq_cst), then
//             re-reads the reader's cursor (seq_cst): events already there
//             make it disarm and return false (poll, do not sleep).
//   producer  stores the cursor (seq_cst), reads the waiter count
//             (seq_cst); only when it is not zero it wakes, and the wake
//             writes the eventfd of each armed notifier once and disarms it.
// Either the re-read sees the events or the producer sees the waiter. A
// producer pays nothing while no reader is armed, and one write per arming
// while one is: a reader armed but still busy costs the producer one
// syscall, not one per event (wakes() counts them).
//
// Requirements: the ring's wait strategy must be kBlocking or
// kTimeoutBlocking (its producers are the ones that check for waiters).
// Readers: EventPoller (without upstream stages: a notifier is woken by
// publishes, not by an upstream consumer's progress) and ShardedPoller.
// The fd may be readable without events (a fire that raced a Disarm):
// poll, then arm again. In-process rings only; a consumer process of a
// shared ring waits in its loop with shm::SharedEventNotifier.
//
// Who calls what: Arm, Disarm and the destructor from the loop's thread;
// fd() and wakes() from any thread. Destroy the notifier before its ring.

#ifndef RINGFLOW_PROCESSORS_EVENT_NOTIFIER_H_
#define RINGFLOW_PROCESSORS_EVENT_NOTIFIER_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/notifier_table.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow {

// A reader an EventNotifier can arm for: it says, with the given order,
// whether events are published past its position.
template <typename R>
concept NotifiableReader = requires(const R& r) {
  { r.HasPublished(std::memory_order_seq_cst) } -> std::same_as<bool>;
};

class EventNotifier {
 public:
  // For readers of `ring` (a RingBuffer or ShardedRing: anything with
  // wait_strategy()). InvalidArgument for a ring whose producers never
  // wake anybody (a spinning wait strategy); ResourceExhausted when the
  // process has kMaxNotifiers notifiers; Internal when eventfd fails.
  template <typename Ring>
  static absl::StatusOr<std::unique_ptr<EventNotifier>> Create(Ring& ring) {
    const WaitStrategy& wait = ring.wait_strategy();
    if (!wait.NeedsWakeup()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "wait_strategy ", std::string(WaitStrategyName(wait.kind())),
          ": a notifier needs kBlocking or kTimeoutBlocking (only their "
          "producers wake readers)"));
    }
    return CreateOnSignal(*wait.signal());
  }

  // For a component that runs its own waiter handshake on `signal` (the
  // queues: ShardedQueue's item and space signals). The caller's wakers
  // must call signal.WakeIfWaiters() / WakeAll() after making progress
  // visible, as the blocking wait strategy's producers do. Errors as
  // Create.
  static absl::StatusOr<std::unique_ptr<EventNotifier>> CreateOnSignal(
      core_internal::WakeupSignal& signal) {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("eventfd: ", std::strerror(errno)));
    }
    const int index = core_internal::AddNotifier(&signal, fd);
    if (index < 0) {
      ::close(fd);
      return absl::ResourceExhaustedError(
          absl::StrCat("this process has ", core_internal::kMaxNotifiers,
                       " notifiers already"));
    }
    return std::unique_ptr<EventNotifier>(new EventNotifier(signal, fd, index));
  }

  EventNotifier(const EventNotifier&) = delete;
  EventNotifier& operator=(const EventNotifier&) = delete;
  ~EventNotifier() {
    Disarm();
    core_internal::RemoveNotifier(index_);
    ::close(fd_);
  }

  // Readable (EPOLLIN) after a publish while armed.
  int fd() const noexcept { return fd_; }

  // Arms before the loop sleeps: true when it may sleep on fd(); false
  // when `reader` has events already (the notifier is then disarmed again:
  // poll them). Loop thread. Never allocates.
  template <NotifiableReader Reader>
  bool Arm(const Reader& reader) noexcept {
    core_internal::ArmNotifier(index_, signal_);
    // Seq_cst: the re-read half of the handshake (see the file comment).
    if (reader.HasPublished(std::memory_order_seq_cst)) {
      Disarm();
      return false;
    }
    return true;
  }

  // Arms, then calls `try_once()` (the operation the loop waits to
  // complete: a dequeue, an enqueue) after a seq_cst fence: true when it
  // failed and the loop may sleep on fd(); false when it succeeded (the
  // notifier is disarmed again). The fence pairs with the waker's seq_cst
  // store (or release store and seq_cst fence) before its seq_cst load of
  // the waiter count: either `try_once` sees the waker's progress or the
  // waker sees this registration. Loop thread.
  template <typename Try>
  bool ArmUnless(Try&& try_once) {
    core_internal::ArmNotifier(index_, signal_);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (try_once()) {
      Disarm();
      return false;
    }
    return true;
  }

  // After the loop woke (or instead of sleeping): no longer armed, and the
  // fd drained. Loop thread. Never allocates.
  void Disarm() noexcept {
    core_internal::DisarmNotifier(index_, signal_);
    uint64_t count;
    // Nonblocking: EAGAIN when nothing was written.
    while (::read(fd_, &count, sizeof count) == sizeof count) {
    }
  }

  // Eventfd writes producers made for this notifier (statistic; relaxed).
  uint64_t wakes() const noexcept {
    return core_internal::NotifierWakes(index_);
  }

 private:
  EventNotifier(core_internal::WakeupSignal& signal, int fd, int index)
      : signal_(signal), fd_(fd), index_(index) {}

  core_internal::WakeupSignal& signal_;  // the ring's
  const int fd_;
  const int index_;  // in the process's notifier table
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_EVENT_NOTIFIER_H_
