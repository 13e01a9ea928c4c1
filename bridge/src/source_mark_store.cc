#include "ringflow/bridge/source_mark_store.h"

namespace ringflow::bridge {

// Memory ordering (both stores): the source writes ring_sequence, then
// stream_sequence, with release, before it publishes the batch (whose
// cursor store is a release too), and committed afterwards. A reader
// (the restarted source, or a tool) loads with acquire in the opposite
// order, so seeing a stream_sequence implies seeing its ring_sequence.

SourceMarkValue InMemorySourceMarkStore::Load() const noexcept {
  SourceMarkValue v;
  // Acquire (all four): pair with the release stores below.
  v.stream_id = stream_id_.load(std::memory_order_acquire);
  v.committed_stream_sequence = committed_.load(std::memory_order_acquire);
  v.stream_sequence = stream_sequence_.load(std::memory_order_acquire);
  v.ring_sequence = ring_sequence_.load(std::memory_order_acquire);
  return v;
}

void InMemorySourceMarkStore::StoreBatch(int64_t ring_sequence,
                                         uint64_t stream_sequence) noexcept {
  // Release (both): pair with Load's acquire loads; ring first.
  ring_sequence_.store(ring_sequence, std::memory_order_release);
  stream_sequence_.store(stream_sequence, std::memory_order_release);
}

void InMemorySourceMarkStore::StoreCommitted(
    uint64_t stream_sequence) noexcept {
  // Release: pairs with Load's acquire load.
  committed_.store(stream_sequence, std::memory_order_release);
}

void InMemorySourceMarkStore::StoreStreamId(uint64_t stream_id) noexcept {
  // Release: pairs with Load's acquire load.
  stream_id_.store(stream_id, std::memory_order_release);
}

}  // namespace ringflow::bridge
