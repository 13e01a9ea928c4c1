// ringflow/bridge/shm_source_mark_store.h
//
// Provides `ShmSourceMarkStore`: a JetStreamSource's mark in a shared
// ring's control segment (shm_internal::SourceMark, layout.h), so it
// outlives the source process:
//
//   auto ring = shm::SharedRing<Tick>::Create({...});
//   bridge::ShmSourceMarkStore marks((*ring)->control());
//   auto source = bridge::JetStreamSource<shm::SharedRing<Tick>>::Create(
//       **ring, decode, options, &marks);
//
// Memory ordering: as InMemorySourceMarkStore (source_mark_store.cc); the
// ring's cursor publish after StoreBatch is a release store, so a
// restarted source that sees the batch published also sees its mark.
// Who calls what: the ring's producer (the source) writes; anyone reads.

#ifndef RINGFLOW_BRIDGE_SHM_SOURCE_MARK_STORE_H_
#define RINGFLOW_BRIDGE_SHM_SOURCE_MARK_STORE_H_

#include <atomic>
#include <cstdint>

#include "ringflow/bridge/source_mark_store.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/layout.h"

namespace ringflow::bridge {

class ShmSourceMarkStore final : public SourceMarkStore {
 public:
  // `control` (the ring's) must outlive the store.
  explicit ShmSourceMarkStore(shm_internal::Control& control)
      : mark_(control.source_mark()) {}

  SourceMarkValue Load() const noexcept override {
    SourceMarkValue v;
    // Acquire (all four): pair with the release stores below, in the
    // reverse order of the writes.
    v.stream_id = mark_.stream_id.load(std::memory_order_acquire);
    v.committed_stream_sequence =
        mark_.committed_stream_sequence.load(std::memory_order_acquire);
    v.stream_sequence = mark_.stream_sequence.load(std::memory_order_acquire);
    v.ring_sequence = mark_.ring_sequence.load(std::memory_order_acquire);
    return v;
  }
  void StoreBatch(int64_t ring_sequence,
                  uint64_t stream_sequence) noexcept override {
    // Release (both): pair with Load's acquire loads; ring first (the
    // crash-point argument in jetstream_source.h).
    mark_.ring_sequence.store(ring_sequence, std::memory_order_release);
    mark_.stream_sequence.store(stream_sequence, std::memory_order_release);
  }
  void StoreCommitted(uint64_t stream_sequence) noexcept override {
    // Release: pairs with Load's acquire load.
    mark_.committed_stream_sequence.store(stream_sequence,
                                          std::memory_order_release);
  }
  void StoreStreamId(uint64_t stream_id) noexcept override {
    // Release: pairs with Load's acquire load.
    mark_.stream_id.store(stream_id, std::memory_order_release);
  }

 private:
  shm_internal::SourceMark& mark_;
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_SHM_SOURCE_MARK_STORE_H_
