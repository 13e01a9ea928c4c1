// ringflow/bridge/source_mark_store.h
//
// Provides `SourceMarkStore`, where a JetStreamSource keeps how far it
// forwarded a stream into its ring, and two stores:
//
//   InMemorySourceMarkStore  in this process (an in-process ring dies with
//                            the process, so this is all it needs)
//   ShmSourceMarkStore       the shared ring's control segment
//                            (shm_internal::SourceMark, layout.h), which
//                            outlives the source process
//
// The mark: ring_sequence (the ring position the batch being forwarded
// ends at), stream_sequence (that batch's last stream sequence),
// committed_stream_sequence (the last batch known published) and
// stream_id (which stream, so a mark is never applied to another).
//
// Protocol (JetStreamSource): per batch, StoreBatch(ring end, stream
// end) — ring_sequence first, then stream_sequence, both release — then
// the events are published to the ring, then StoreCommitted. On restart
// Applied() decides from the ring's published cursor which of the two
// stream sequences was applied (see jetstream_source.h for why every
// crash point is decided right).
//
// Who calls what: one source at a time writes a store; any thread reads.

#ifndef RINGFLOW_BRIDGE_SOURCE_MARK_STORE_H_
#define RINGFLOW_BRIDGE_SOURCE_MARK_STORE_H_

#include <atomic>
#include <cstdint>

namespace ringflow::bridge {

struct SourceMarkValue {
  int64_t ring_sequence = 0;
  uint64_t stream_sequence = 0;
  uint64_t committed_stream_sequence = 0;
  uint64_t stream_id = 0;  // 0: never written
};

class SourceMarkStore {
 public:
  virtual ~SourceMarkStore() = default;
  virtual SourceMarkValue Load() const noexcept = 0;
  // ring_sequence, then stream_sequence (this order: see the protocol).
  virtual void StoreBatch(int64_t ring_sequence,
                          uint64_t stream_sequence) noexcept = 0;
  virtual void StoreCommitted(uint64_t stream_sequence) noexcept = 0;
  virtual void StoreStreamId(uint64_t stream_id) noexcept = 0;

  // The last stream sequence whose events are in the ring, given the
  // ring's published cursor: the batch's when the ring reached its end,
  // the committed one otherwise.
  static uint64_t Applied(const SourceMarkValue& mark,
                          int64_t published) noexcept {
    if (mark.stream_id == 0) return 0;
    if (mark.stream_sequence > mark.committed_stream_sequence &&
        published >= mark.ring_sequence) {
      return mark.stream_sequence;
    }
    return mark.committed_stream_sequence;
  }
};

// A mark in this process's memory.
class InMemorySourceMarkStore final : public SourceMarkStore {
 public:
  SourceMarkValue Load() const noexcept override;
  void StoreBatch(int64_t ring_sequence,
                  uint64_t stream_sequence) noexcept override;
  void StoreCommitted(uint64_t stream_sequence) noexcept override;
  void StoreStreamId(uint64_t stream_id) noexcept override;

 private:
  std::atomic<int64_t> ring_sequence_{0};
  std::atomic<uint64_t> stream_sequence_{0};
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> stream_id_{0};
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_SOURCE_MARK_STORE_H_
