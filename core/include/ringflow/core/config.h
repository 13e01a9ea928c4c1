// ringflow/core/config.h
//
// Provides the constants and tiny helpers every other header leans on:
// the false-sharing range used for padding, the CPU relax hint used in spin
// loops, and branch and inlining hints.
//
// Thread-safety: everything here is stateless.

#ifndef RINGFLOW_CORE_CONFIG_H_
#define RINGFLOW_CORE_CONFIG_H_

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ringflow {

// Two cache lines: the adjacent-line prefetcher on x86 pulls 64-byte lines in
// 128-byte pairs, so two hot words 64 bytes apart still false-share.
inline constexpr std::size_t kFalseSharingRange = 128;

// Tells the CPU we are in a spin-wait loop (PAUSE on x86, YIELD on ARM).
// Thread-safe. Wait-free. Never allocates.
inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace ringflow

#define RINGFLOW_LIKELY(x) (__builtin_expect(!!(x), 1))
#define RINGFLOW_UNLIKELY(x) (__builtin_expect(!!(x), 0))
// For a slow path called from a hot loop: keeps the loop's code small.
#define RINGFLOW_NOINLINE __attribute__((noinline))

#endif  // RINGFLOW_CORE_CONFIG_H_
