// ringflow/shm/shared_event_notifier.h
//
// Provides `SharedEventNotifier<E>`: a file descriptor (an eventfd) that
// becomes readable when a `SharedConsumer<E>` has events, or was evicted, or
// its producer process is gone, so a consumer process waits in its own event
// loop (epoll / poll / io_uring) instead of a thread blocked in
// WaitForEvents.
//
//   auto notifier = shm::SharedEventNotifier<Tick>::Create(*consumer);
//   epoll_ctl(ep, EPOLL_CTL_ADD, (*notifier)->fd(), &readable);
//   for (;;) {
//     while (consumer->Poll(handler) == PollState::kProcessing) {}
//     if ((*notifier)->Arm()) epoll_wait(ep, events, n, -1);
//     (*notifier)->Disarm();              // before the consumer is used
//     if ((*notifier)->state() != ConsumerState::kOk) ...;  // evicted, gone
//     ... the loop's other fds ...
//   }
//
// Design: a helper thread turns the cross-process futex wait into an
// eventfd write. The futex word lives in the ring's control segment and the
// producer process wakes it; a process cannot poll a futex, so the helper
// waits on it:
//   disarmed  the helper sleeps on a mutex + condition variable of this
//             process. It is not registered on the ring's WakeupSignal, so
//             a busy consumer (the loop polls and never arms) costs the
//             producer nothing: its publishes read a waiter count of zero.
//   Arm       (loop thread) checks the consumer once (events ready, evicted
//             or producer gone: false, do not sleep); else hands the
//             consumer to the helper and returns true.
//   armed     the helper registers as a waiter on the ring's signal and
//             sleeps on its futex, exactly as WaitForEvents does (the
//             WakeupSignal handshake: register, read the epoch, re-check
//             the cursor seq_cst, sleep). A publish that finds it asleep
//             costs the producer one futex wake; the helper then writes the
//             eventfd once (wakes()) and disarms itself. It also wakes every
//             `check period` (below) to heartbeat and to notice eviction or
//             a dead producer, which it reports through the eventfd too
//             (state()), so the loop never sleeps on a dead ring.
//   Disarm    (loop thread) takes the consumer back. A helper still asleep
//             (the loop woke for another fd) is woken by a cancel flag plus
//             WakeupSignal::WakeAll, and Disarm waits until it has left the
//             consumer; then it drains the eventfd.
// Why WakeAll: WaitForEvents cannot be interrupted (its futex loop sleeps
// again after any wake without events, until its deadline, and its
// barrier's alert flag is private), so the helper runs the same handshake
// itself with one more condition, the cancel flag, and calls
// WaitForEvents(0) only for what never sleeps (heartbeat, eviction, producer
// liveness, events). The futex word is in the control segment, which a
// consumer maps read-write (it maintains the waiter count there already);
// the events stay read-only. A futex wake cannot pick one sleeper, so the
// epoch bump wakes every thread asleep on this ring (other consumer
// processes re-check the cursor and sleep again): that is the price of a
// Disarm that interrupts a sleep, one syscall for the loop plus one spurious
// wake per other sleeper. A Disarm after the fd fired costs no shared write.
//
// Costs per sleep: Arm one condition-variable signal (the helper wakes);
// producer one futex wake; helper one eventfd write; Disarm one eventfd
// read. Idle while armed: the helper wakes once per check period.
//
// Why not SCM_RIGHTS (each consumer passes an eventfd to the producer, which
// writes it on publish): the producer would hold file descriptors received
// from processes it does not trust and write them on its hot path; shared
// memory is a trust boundary (docs/shared-memory.md, "Trust and failure
// model"), and nothing a consumer does should cost the producer more than
// reading a waiter count. Here every syscall beyond the one futex wake is
// paid by the consumer process.
//
// Check period: min(kDefaultHeartbeatInterval = 100 ms, consumer_timeout /
// 4). The helper heartbeats at most every heartbeat_interval (at most half
// the consumer_timeout, Attach checks), so its heartbeat is never older than
// heartbeat_interval + period < consumer_timeout: an armed idle consumer is
// never evicted. A dead producer is reported within the consumer's
// heartbeat interval plus one period (the consumer checks on its own
// schedule). Disarm and the destructor do not wait for the period: they
// wake the helper.
//
// Requirements: the ring's wait strategy is kBlocking or kTimeoutBlocking
// (only their producers wake sleepers; Create refuses the others, on which
// WaitForEvents yields at 100% of a core). The fd may be readable after
// Disarm only if Disarm was skipped: Disarm after every Arm that returned
// true, before the consumer is used again.
//
// Who calls what: Arm, Disarm, the consumer's own calls and the destructor
// from the loop's thread; fd(), state() and wakes() from any thread. While
// armed the helper thread uses the consumer, and Arm / Disarm hand it over
// under a mutex: every consumer call of the helper happens before the
// loop's next one. Destroy the notifier before the consumer.
//
// Memory ordering: armed_, fired_, stop_ and state_ are guarded by mu_ (the
// mutex is the happens-before edge of the handover). cancel_ is read by the
// helper while it does not hold the mutex; its orders pair with the
// WakeupSignal epoch, see Disarm.

#ifndef RINGFLOW_SHM_SHARED_EVENT_NOTIFIER_H_
#define RINGFLOW_SHM_SHARED_EVENT_NOTIFIER_H_

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring_options.h"

namespace ringflow::shm {

template <typename E>
class SharedEventNotifier {
 public:
  // For `consumer`, which must outlive the notifier. InvalidArgument for a
  // ring whose producer never wakes sleepers (a spinning wait strategy);
  // Internal when eventfd or the helper thread cannot be created.
  static absl::StatusOr<std::unique_ptr<SharedEventNotifier>> Create(
      SharedConsumer<E>& consumer) {
    const shm_internal::RingGeometry& geometry = consumer.control().geometry();
    if (geometry.wait_strategy != WaitStrategyKind::kBlocking &&
        geometry.wait_strategy != WaitStrategyKind::kTimeoutBlocking) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ring '", consumer.control().ring_name(), "' has wait_strategy ",
          std::string(WaitStrategyName(geometry.wait_strategy)),
          ": a notifier needs blocking or timeout-blocking (only their "
          "producers wake sleepers)"));
    }
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("eventfd: ", std::strerror(errno)));
    }
    const int64_t period_ns =
        std::min(absl::ToInt64Nanoseconds(kDefaultHeartbeatInterval),
                 geometry.consumer_timeout_ns / 4);
    std::unique_ptr<SharedEventNotifier> notifier(
        new SharedEventNotifier(consumer, fd, period_ns));
    try {
      notifier->helper_ = std::thread([n = notifier.get()] { n->Loop(); });
    } catch (const std::system_error& e) {
      return absl::InternalError(
          absl::StrCat("cannot start the notifier thread: ", e.what()));
    }
    // A name for top / gdb (at most 15 characters); failure is harmless.
    (void)::pthread_setname_np(notifier->helper_.native_handle(),
                               "ringflow-notify");
    return notifier;
  }

  SharedEventNotifier(const SharedEventNotifier&) = delete;
  SharedEventNotifier& operator=(const SharedEventNotifier&) = delete;

  // Stops and joins the helper (it is woken, so this returns within one
  // futex wake, not a check period) and closes the fd. Loop thread.
  ~SharedEventNotifier() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (armed_) Cancel();
    }
    cv_.notify_all();
    if (helper_.joinable()) helper_.join();
    ::close(fd_);
  }

  // Readable (EPOLLIN) once, after events were published while armed, or
  // when the armed helper found the consumer evicted or the producer gone.
  // Thread-safe.
  int fd() const noexcept { return fd_; }

  // Arms before the loop sleeps: true when it may sleep on fd(); false when
  // it must not (events are ready, or state() is kEvicted / kProducerGone:
  // check it, or the loop spins). Loop thread, with the consumer drained or
  // not. Then Disarm before using the consumer again. Never allocates.
  bool Arm() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    assert(!armed_ && "Arm again without Disarm");
    // Never sleeps: events, eviction and liveness, and a heartbeat.
    const ConsumerState now = consumer_.WaitForEvents(absl::ZeroDuration());
    state_ = now == ConsumerState::kTimeout ? ConsumerState::kOk : now;
    if (now != ConsumerState::kTimeout) return false;
    // Relaxed: the helper reads it only after taking mu_ (cv wait below),
    // which publishes this store.
    cancel_.store(false, std::memory_order_relaxed);
    armed_ = true;
    cv_.notify_one();
    return true;
  }

  // After the loop woke (or instead of sleeping): the helper has left the
  // consumer (woken if it still slept, see the file comment for the cost)
  // and the fd is drained. Loop thread. Never allocates.
  void Disarm() noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    if (armed_) {
      Cancel();
      cv_.wait(lock, [this] { return !armed_; });
    }
    if (fired_) {
      uint64_t count;
      // Nonblocking: one read takes the whole counter.
      while (::read(fd_, &count, sizeof count) == sizeof count) {
      }
      fired_ = false;
    }
  }

  // kOk, or kEvicted / kProducerGone as last seen by the armed helper or by
  // Arm. Not sticky: a restarted producer (resumed ring) gives kOk again at
  // the next Arm. Thread-safe.
  ConsumerState state() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }

  // Eventfd writes the helper made (statistic; relaxed). Thread-safe.
  uint64_t wakes() const noexcept {
    // Relaxed: a statistic; publishes no data.
    return wakes_.load(std::memory_order_relaxed);
  }

 private:
  SharedEventNotifier(SharedConsumer<E>& consumer, int fd,
                      int64_t period_ns) noexcept
      : consumer_(consumer),
        signal_(consumer.control().wakeup()),
        fd_(fd),
        period_ns_(period_ns) {}

  // Gets an armed helper out of its futex sleep. Caller holds mu_.
  //
  // Seq_cst store, then WakeAll's release bump of the epoch. Pairs with
  // the helper's Epoch() (acquire) and the seq_cst cancel_ load after it in
  // WaitArmed: if that Epoch() read the bump, the store happened before
  // and the load sees it; if it read an older epoch, its futex wait
  // compares against that older value and returns at the bump (or is woken
  // by the FUTEX_WAKE that follows it).
  void Cancel() noexcept {
    cancel_.store(true, std::memory_order_seq_cst);
    signal_.WakeAll();
  }

  // The helper thread: idle on cv_ while disarmed (not on the ring's
  // signal), WaitArmed while armed.
  void Loop() noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return armed_ || stop_; });
      if (stop_) return;
      lock.unlock();
      const std::optional<ConsumerState> verdict = WaitArmed();
      lock.lock();
      armed_ = false;  // the consumer is the loop's again (after unlock)
      if (verdict.has_value()) {
        state_ = *verdict;
        const uint64_t one = 1;
        // An 8-byte eventfd write cannot be short, and cannot find the
        // counter full (EAGAIN): every Disarm drains it.
        [[maybe_unused]] const ssize_t written = ::write(fd_, &one, sizeof one);
        fired_ = true;
        // Relaxed: a statistic; publishes no data.
        wakes_.fetch_add(1, std::memory_order_relaxed);
      }
      cv_.notify_all();
    }
  }

  // Helper thread, armed (it owns the consumer): the state to report (kOk
  // for events), or nullopt when Disarm or the destructor cancelled.
  std::optional<ConsumerState> WaitArmed() noexcept {
    for (;;) {
      // Seq_cst: as the load below; this one only saves a pass.
      if (cancel_.load(std::memory_order_seq_cst)) return std::nullopt;
      // Never sleeps: events (kOk), kEvicted, kProducerGone, or kTimeout;
      // heartbeats when due.
      const ConsumerState now = consumer_.WaitForEvents(absl::ZeroDuration());
      if (now != ConsumerState::kTimeout) return now;
      // The WakeupSignal handshake (wakeup_signal.h). Seq_cst RMW: pairs
      // with the producer's seq_cst waiter-count load in WakeIfWaiters.
      signal_.Register();
      // Acquire: pairs with the release bump in WakeAll (the producer's,
      // housekeeping's on eviction, or Cancel's).
      const uint32_t epoch = signal_.Epoch();
      // Seq_cst: the re-check half of Cancel's handshake (see Cancel).
      const bool cancelled = cancel_.load(std::memory_order_seq_cst);
      if (!cancelled && !HasPublished()) {
        (void)signal_.Wait(epoch, period_ns_);  // woken, or one period
      }
      signal_.Unregister();
    }
  }

  // Whether the event after the consumer's position is published.
  bool HasPublished() const noexcept {
    const int64_t next = consumer_.sequence() + 1;
    // Seq_cst: the re-check half of the producer handshake; pairs with the
    // producer's seq_cst cursor store before its waiter-count load.
    return consumer_.control().published_cursor().Published(
               next, std::memory_order_seq_cst) >= next;
  }

  SharedConsumer<E>& consumer_;  // used by the loop, or by the helper armed
  core_internal::WakeupSignal& signal_;  // the ring's, in the control segment
  const int fd_;
  const int64_t period_ns_;  // the helper's longest sleep while armed
  mutable std::mutex mu_;
  std::condition_variable cv_;  // armed_ / stop_ (helper), !armed_ (loop)
  bool armed_ = false;  // guarded by mu_; set by Arm, cleared by the helper
  bool fired_ = false;  // guarded by mu_; eventfd written, not yet drained
  bool stop_ = false;   // guarded by mu_; set by the destructor
  ConsumerState state_ = ConsumerState::kOk;  // guarded by mu_
  std::atomic<bool> cancel_{false};  // written by Arm (mu_), Cancel (mu_)
  std::atomic<uint64_t> wakes_{0};   // written by the helper
  std::thread helper_;               // started by Create, joined last
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_EVENT_NOTIFIER_H_
