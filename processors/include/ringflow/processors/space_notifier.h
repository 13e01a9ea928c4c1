// ringflow/processors/space_notifier.h
//
// Provides `SpaceNotifier`: a file descriptor (an eventfd) that becomes
// readable when a full in-process ring has room again, so a producer in an
// event loop waits for space in epoll / poll / io_uring instead of
// spinning or sleeping in Next.
//
//   auto space = SpaceNotifier::Create(*ring);
//   epoll_ctl(ep, EPOLL_CTL_ADD, (*space)->fd(), &readable);
//   while (!ring->TryPublishEvent(fill)) {
//     if ((*space)->Arm(*ring)) epoll_wait(ep, events, n, -1);
//     (*space)->Disarm();
//   }
//
// The handshake (core/internal/notifier_table.h) is asymmetric, because
// its other side runs on every consumer batch of every ring:
//   consumer  stores its sequence (release), then reads the process's
//             count of armed space notifiers (relaxed, after a compiler
//             fence); only when it is not zero does it look for this
//             ring's armed notifiers and write each one's eventfd once.
//   Arm       marks the notifier armed, bumps the count, and calls
//             membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): every running
//             thread of the process executes a full memory barrier before
//             the call returns. Then it re-reads the room left (the gating
//             sequences): room enough makes it disarm and return false.
// Either a consumer's sequence store precedes its barrier (Arm's re-read
// sees it) or its count load follows it (it sees the arming and fires).
// Consumers pay one relaxed load per batch and no fence; the producer pays
// one membarrier syscall per arming (it is about to sleep anyway).
//
// Requirements: Linux membarrier PRIVATE_EXPEDITED (4.14+; Create says
// when the kernel refuses it). Consumers in this process: EventPoller and
// its leases, BatchEventProcessor, WorkerPool, the ShardedPoller's per-shard
// pollers. Consumer processes of a shared ring do not fire it (the table is
// process-local): a shared ring's producer waits in Next. Any wait
// strategy (consumers fire it, not producers). The fd may be readable
// without room (a fire that raced a Disarm): try, then arm again.
//
// Who calls what: Arm, Disarm and the destructor from the producer's loop
// thread; fd() and wakes() from any thread. Destroy it before its ring.

#ifndef RINGFLOW_PROCESSORS_SPACE_NOTIFIER_H_
#define RINGFLOW_PROCESSORS_SPACE_NOTIFIER_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/notifier_table.h"

namespace ringflow {

class SpaceNotifier {
 public:
  // For a producer of `ring` (a RingBuffer, a ShardProducer's shard, a
  // shm::SharedRing with in-process consumers). FailedPrecondition when
  // the kernel refuses membarrier; ResourceExhausted when the process has
  // kMaxNotifiers notifiers; Internal when eventfd fails.
  template <typename Ring>
  static absl::StatusOr<std::unique_ptr<SpaceNotifier>> Create(Ring& ring) {
    return CreateForKey(KeyOf(ring));
  }
  // As Create, for the ring whose slot storage starts at `ring_key`.
  static absl::StatusOr<std::unique_ptr<SpaceNotifier>> CreateForKey(
      const void* ring_key) {
    if (!core_internal::RegisterMembarrier()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) failed: ",
          std::strerror(errno),
          " (a space notifier needs Linux 4.14 or later)"));
    }
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("eventfd: ", std::strerror(errno)));
    }
    const int index = core_internal::AddSpaceNotifier(ring_key, fd);
    if (index < 0) {
      ::close(fd);
      return absl::ResourceExhaustedError(
          absl::StrCat("this process has ", core_internal::kMaxNotifiers,
                       " notifiers already"));
    }
    return std::unique_ptr<SpaceNotifier>(new SpaceNotifier(fd, index));
  }

  SpaceNotifier(const SpaceNotifier&) = delete;
  SpaceNotifier& operator=(const SpaceNotifier&) = delete;
  ~SpaceNotifier() {
    Disarm();
    core_internal::RemoveNotifier(index_);
    ::close(fd_);
  }

  // Readable (EPOLLIN) after a consumer of the ring moved while armed.
  int fd() const noexcept { return fd_; }

  // Arms before the loop sleeps: true when it may sleep on fd(); false
  // when `ring` has room for `n` events already (disarmed again). Loop
  // thread. One membarrier syscall. Never allocates.
  template <typename Ring>
  bool Arm(const Ring& ring, int64_t n = 1) noexcept {
    core_internal::ArmSpaceNotifier(index_);
    // After the membarrier: the re-read half of the handshake.
    if (ring.RemainingCapacity() >= n) {
      Disarm();
      return false;
    }
    return true;
  }

  // Arms, then calls `try_once()` (the operation the loop waits to
  // complete: a TryPublishEvent, a room check): true when it failed and
  // the loop may sleep on fd(); false when it succeeded (disarmed again).
  // Loop thread. One membarrier syscall.
  template <typename Try>
  bool ArmUnless(Try&& try_once) {
    core_internal::ArmSpaceNotifier(index_);
    // After the membarrier: the re-read half of the handshake.
    if (try_once()) {
      Disarm();
      return false;
    }
    return true;
  }

  // After the loop woke (or instead of sleeping): no longer armed, and the
  // fd drained. Loop thread. Never allocates.
  void Disarm() noexcept {
    core_internal::DisarmSpaceNotifier(index_);
    uint64_t count;
    // Nonblocking: EAGAIN when nothing was written.
    while (::read(fd_, &count, sizeof count) == sizeof count) {
    }
  }

  // Eventfd writes consumers made for this notifier (statistic; relaxed).
  uint64_t wakes() const noexcept {
    return core_internal::NotifierWakes(index_);
  }

  // The key consumers fire by: the ring's slot storage.
  template <typename Ring>
  static const void* KeyOf(Ring& ring) noexcept {
    return static_cast<const void*>(ring.slots().data());
  }

 private:
  SpaceNotifier(int fd, int index) : fd_(fd), index_(index) {}

  const int fd_;
  const int index_;  // in the process's notifier table
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_SPACE_NOTIFIER_H_
