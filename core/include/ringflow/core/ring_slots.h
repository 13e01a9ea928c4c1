// ringflow/core/ring_slots.h
//
// Provides `RingSlots<E>`: a non-owning view of a ring's event array that
// maps a sequence to its slot (`sequence & mask`). Consumers of a
// shared-memory ring use `RingSlots<const E>` over the read-only mapping.
//
// Thread-safety: a plain pointer pair; the sequence protocol decides who may
// touch which slot.

#ifndef RINGFLOW_CORE_RING_SLOTS_H_
#define RINGFLOW_CORE_RING_SLOTS_H_

#include <cstdint>
#include <type_traits>

namespace ringflow {

template <typename E>
class RingSlots {
 public:
  RingSlots() = default;
  RingSlots(E* base, int64_t capacity) noexcept
      : base_(base), mask_(capacity - 1) {}

  // A read-only view of a mutable ring (RingSlots<E> -> RingSlots<const E>).
  template <typename U>
  requires std::is_same_v<const U, E> &&(!std::is_same_v<U, E>)
      RingSlots(RingSlots<U> other) noexcept  // NOLINT: implicit by design
      : base_(other.data()), mask_(other.capacity() - 1) {}

  // Wait-free. Never allocates.
  E& operator[](int64_t sequence) const noexcept {
    return base_[sequence & mask_];
  }
  int64_t capacity() const noexcept { return mask_ + 1; }
  E* data() const noexcept { return base_; }

 private:
  E* base_ = nullptr;
  int64_t mask_ = 0;
};

}  // namespace ringflow

#endif  // RINGFLOW_CORE_RING_SLOTS_H_
