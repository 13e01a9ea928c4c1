#include "ringflow/core/internal/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace ringflow::core_internal {

bool FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
               int64_t timeout_ns) noexcept {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    tsp = &ts;
  }
  // FUTEX_WAIT (not FUTEX_WAIT_PRIVATE): the key is the physical page, so a
  // waker in another process mapping the same word finds us.
  const long rc = syscall(SYS_futex, reinterpret_cast<const uint32_t*>(word),
                          FUTEX_WAIT, expected, tsp, nullptr, 0);
  return !(rc == -1 && errno == ETIMEDOUT);
}

int FutexWake(const std::atomic<uint32_t>* word, int count) noexcept {
  const long rc = syscall(SYS_futex, reinterpret_cast<const uint32_t*>(word),
                          FUTEX_WAKE, count, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

}  // namespace ringflow::core_internal
