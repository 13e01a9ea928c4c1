// ringflow/core/internal/wait_probe.h
//
// Provides the `WaitProbe` concept: what a wait strategy asks a barrier
// while it waits. A probe answers two questions:
//   Published(seq, order)  highest published sequence, scanning from `seq`
//                          (for multi-producer rings: highest contiguous)
//   Gate(published)        min(published, every upstream consumer sequence)
// and says whether the Gate part exists (HasDependents), so a blocking
// strategy can sleep on the cursor and spin only on upstream consumers.
//
// Also provides `AlertFlag`, the halt flag a waiting consumer polls.

#ifndef RINGFLOW_CORE_INTERNAL_WAIT_PROBE_H_
#define RINGFLOW_CORE_INTERNAL_WAIT_PROBE_H_

#include <atomic>
#include <concepts>
#include <cstdint>

#include "ringflow/core/config.h"

namespace ringflow::core_internal {

template <typename P>
concept WaitProbe = requires(const P& p, int64_t s, std::memory_order mo) {
  { p.Published(s, mo) }
  noexcept->std::same_as<int64_t>;
  { p.Gate(s) }
  noexcept->std::same_as<int64_t>;
  { p.HasDependents() }
  noexcept->std::same_as<bool>;
  // A hint, called on each spin of a wait: pulls the cache line of the
  // first awaited event into this core, so the read after the publish hits
  // and a hand-off moves the cursor's line with the event's overlapped. Not
  // a memory access in the C++ model: the acquire load of the cursor is
  // still what makes the event's contents visible.
  { p.Touch() }
  noexcept;
};

// The halt flag of one barrier. Set by Halt() from any thread.
class alignas(kFalseSharingRange) AlertFlag {
 public:
  // Seq_cst: the blocking strategies re-check the flag after registering
  // as a sleeper (seq_cst RMW); Set is followed by WakeAll. Either the
  // sleeper sees the flag or the wake bumps its epoch.
  bool IsSet() const noexcept { return set_.load(std::memory_order_seq_cst); }
  void Set() noexcept { set_.store(true, std::memory_order_seq_cst); }
  void Clear() noexcept { set_.store(false, std::memory_order_seq_cst); }

 private:
  std::atomic<bool> set_{false};  // written by whoever halts
};

static_assert(sizeof(AlertFlag) == kFalseSharingRange,
              "the flag is polled in spin loops: keep it off other lines");

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_WAIT_PROBE_H_
