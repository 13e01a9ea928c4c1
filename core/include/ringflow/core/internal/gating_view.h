// ringflow/core/internal/gating_view.h
//
// Provides the `GatingView` concept: the set of consumer sequences a
// producer must not lap. The in-process ring uses ConsumerTable; the
// shared-memory ring uses its consumer slot table, which also skips evicted
// consumers. The sequencers are written against this concept only.

#ifndef RINGFLOW_CORE_INTERNAL_GATING_VIEW_H_
#define RINGFLOW_CORE_INTERNAL_GATING_VIEW_H_

#include <concepts>
#include <cstdint>

namespace ringflow::core_internal {

// MinimumSequence(default) returns the lowest gating sequence, or `default`
// when nothing gates. Called by producer threads: must be lock-free and
// noexcept, and must read each sequence with acquire.
//
// Optionally `OnStall(int64_t wrap_point, uint32_t tries) noexcept`: called
// by a producer while it waits for space (tries counts its backoff steps),
// so a view can evict consumers that will never move (shared memory).
template <typename G>
concept GatingView = requires(const G& g, int64_t d) {
  { g.MinimumSequence(d) }
  noexcept->std::same_as<int64_t>;
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_GATING_VIEW_H_
