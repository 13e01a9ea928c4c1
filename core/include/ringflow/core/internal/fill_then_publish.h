// ringflow/core/internal/fill_then_publish.h
//
// Provides `core_internal::FillThenPublish`: calls fill(lo, hi) over a
// claimed range, then publish(), and publishes even when fill throws (the
// exception is rethrown after): an unpublished claim would stall every
// consumer. Both sequencers' claim-fill-publish paths use it.
//
// Thread-safety: whatever fill and publish need; nothing of its own.

#ifndef RINGFLOW_CORE_INTERNAL_FILL_THEN_PUBLISH_H_
#define RINGFLOW_CORE_INTERNAL_FILL_THEN_PUBLISH_H_

#include <concepts>
#include <cstdint>
#include <type_traits>

namespace ringflow {

// A callable that fills the claimed range [lo, hi]: fill(lo, hi).
template <typename F>
concept RangeFiller = std::invocable<F&, int64_t, int64_t>;

namespace core_internal {

template <RangeFiller Fill, std::invocable Publish>
void FillThenPublish(
    Fill& fill, int64_t lo, int64_t hi,
    Publish publish) noexcept(std::is_nothrow_invocable_v<Fill&, int64_t,
                                                          int64_t>) {
  if constexpr (std::is_nothrow_invocable_v<Fill&, int64_t, int64_t>) {
    fill(lo, hi);
  } else {
    try {
      fill(lo, hi);
    } catch (...) {
      publish();
      throw;
    }
  }
  publish();
}

}  // namespace core_internal
}  // namespace ringflow

#endif  // RINGFLOW_CORE_INTERNAL_FILL_THEN_PUBLISH_H_
