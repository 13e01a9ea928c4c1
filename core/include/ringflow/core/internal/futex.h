// ringflow/core/internal/futex.h
//
// Raw futex wait/wake on a 32-bit word, *without* FUTEX_PRIVATE_FLAG, so a
// waiter in one process is woken by a waker in another when the word lives
// in shared memory (libstdc++'s std::atomic::wait uses private futexes and
// cannot do that).
//
// Thread-safe; callable from any thread of any process mapping the word.

#ifndef RINGFLOW_CORE_INTERNAL_FUTEX_H_
#define RINGFLOW_CORE_INTERNAL_FUTEX_H_

#include <atomic>
#include <cstdint>

namespace ringflow::core_internal {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "the futex word must be a plain lock-free 32-bit integer");

// Sleeps while `*word == expected`, for at most `timeout_ns` nanoseconds when
// it is non-negative. Returns false only on timeout; spurious and real
// wake-ups, and `*word != expected` on entry, return true. Callers re-check
// their condition in a loop.
bool FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
               int64_t timeout_ns) noexcept;

// Wakes up to `count` waiters on `word`. Returns how many were woken.
int FutexWake(const std::atomic<uint32_t>* word, int count) noexcept;

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_FUTEX_H_
