// ringflow/shm/internal/layout.h
//
// Provides the byte layout of a shared-memory ring, the checks every
// process runs on it before trusting it, and the geometry a validated
// header yields, which each process then keeps in its own memory.
//
// Two named segments per ring, in /dev/shm:
//   "<name>"       control: header, cursor, wake-up word, producer gate and
//                  liveness, availability buffer, consumer slot table,
//                  counters. Mapped read-write by producer and consumers.
//   "<name>:data"  a 4096-byte data header, then the events: read-write for
//                  the producer, read-only for consumers, so a consumer bug
//                  cannot corrupt what others read. ':' is not a ring-name
//                  character, so no ring's control segment can be another
//                  ring's data segment; the data header repeats the
//                  control header's creation id, so a data segment that is
//                  not this ring's is refused on attach.
// No pointers anywhere in shared memory: offsets from the segment start.
//
// Trust: any process that can open the files can rewrite them. Nothing read
// from shared memory after validation steers an index, an offset or a size:
// Control copies the validated geometry (RingGeometry) into private memory
// and masks every index with it.
//
// Two ring kinds share this format (ControlHeader::ring_kind): an event
// ring (SharedRing: `capacity` events of `event_size` bytes) and a byte
// ring (SharedByteRing: `capacity` bytes of variable-length records,
// core/internal/byte_ring_state.h). They differ only in the kind-specific
// region at 896.
//
// Control segment (every offset a multiple of 128, the false-sharing range):
//
//   offset            size              field
//   0                 256               ControlHeader (below)
//   256               128               cursor           Sequence (producer;
//                                                        byte ring: unused)
//   384               128               wakeup           WakeupSignal
//   512               128               gate             ProducerGate
//   640               128               ProducerLiveness (pid, start, beat)
//   768               128               SourceMark       written only by a
//                                       bridge source (bridge/)
//   896               kind-specific:
//     event ring:     8 * capacity      available[]      int64 (multi-producer)
//     byte ring:      128               tail             Sequence (producers;
//                                                        | 1 while pending)
//                     128               floor            Sequence (drainers)
//                     128               drain lock       atomic u32 (0 free,
//                                                        else holder's pid)
//                     128               cached gating    Sequence (kMulti)
//                     128               byte counters    ByteRingCounters
//   slots_offset      256 * max_cons.   ConsumerSlot[]   (byte ring: a
//                                       slot's sequence is its byte position)
//   counters_offset   counters_bytes    CountersBlock
//
// ControlHeader (256 bytes):
//
//   0   magic  "RINGFLW1"  u64        8   layout_version        u32
//   12  header_bytes       u32        16  event_size            u64
//   24  event_alignment    u32        28  producer_type         u32
//   32  capacity           i64        40  max_consumers         u32
//   44  wait_strategy      u32        48  control_bytes         u64
//   56  data_bytes         u64        64  slots_offset          u64
//   72  counters_offset    u64        80  counters_bytes        u64
//   88  consumer_timeout_ns i64       96  max_stall_ns          i64
//   104 creator_pid        i32        108 ring_kind             u32
//   112 creator_start_ticks u64       120 creation_id           u64
//   128 type_tag           char[64]   192 ready                 atomic u32
//   196 reserved ... 256
//
// The creator fills both segments completely, sets `ready`, and only then
// gives them their names (Segment::Link), so a named control segment is
// always complete; `ready` guards against files written by anything else.
// `creation_id` is random per creation: tools notice a ring that was
// removed and created again under the same name.
//
// ProducerLiveness (128 bytes): 0 pid i32, 8 start_ticks u64,
// 16 heartbeat_ns i64 (CLOCK_MONOTONIC).
//
// SourceMark (128 bytes), written only by a bridge source (bridge/), which
// forwards this ring to a stream: 0 ring_sequence i64 (the ring position a
// forwarded batch ends at), 8 stream_sequence u64 (the batch's last stream
// sequence; the pair is written before the batch is sent), 16
// committed_stream_sequence u64 (written once the stream acknowledged it),
// 24 stream_id u64. Zero at creation, kept when a producer resumes the
// ring; the ring itself never reads it.
//
// ConsumerSlot (256 bytes):
//
//   0   sequence    Sequence (128)       written by the consumer
//   128 state       atomic u32           generation << 8 | kFree/kAttaching/
//                                        kJoining/kActive/kEvicted (one CAS
//                                        word)
//   132 pid         atomic i32           the consumer's process
//   136 start_ticks atomic u64           its start time (/proc/pid/stat 22)
//   144 heartbeat   atomic i64           CLOCK_MONOTONIC ns, consumer-written
//   152 generation  atomic u32           copy of the state's generation
//   156 counters    atomic i32           index of its counters, -1 if none
//   160 evicted_at  atomic i64           CLOCK_MONOTONIC ns of the eviction
//   168 evictions   atomic u64           times this slot was evicted
//   176 name        char[33]
//   209 .. 256 reserved
//
// Data segment: DataHeader (magic "RNGFFDAT", creation_id, events_offset,
// data_bytes), zero-padded to 4096 bytes (the largest event alignment),
// then capacity x event_size bytes of events (byte ring: event_size 1,
// event_alignment 8, the record bytes; claim stamps and recovery in
// shm/internal/byte_control.h).
//
// Liveness locks: byte locks (fcntl F_OFD_SETLK, released by the kernel
// when the holder dies) far beyond the end of the control segment. The
// producer holds kProducerLockByte of both segments for as long as it
// runs; each consumer holds SlotLockByte(i) of its slot from before it
// claims the slot until after it frees it. A gating slot whose byte is not
// locked belongs to a dead process, whatever its pid field says.
//
// Bump kLayoutVersion whenever anything here changes.

#ifndef RINGFLOW_SHM_INTERNAL_LAYOUT_H_
#define RINGFLOW_SHM_INTERNAL_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"

namespace ringflow::shm_internal {

inline constexpr uint64_t kMagic = 0x31574c46474e4952ULL;  // "RINGFLW1"
// 3: data header, locks, id. 4: SourceMark at 768, ring_kind (0 in every
// ring before it), the byte ring's region.
inline constexpr uint32_t kLayoutVersion = 4;

// ControlHeader::ring_kind.
enum class RingKind : uint32_t {
  kEvents = 0,  // SharedRing<E>
  kBytes = 1,   // SharedByteRing
};
// "event ring" / "byte ring" (messages, tools).
std::string_view RingKindName(RingKind kind);
inline constexpr size_t kTypeTagBytes = 64;

struct ControlHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_bytes;
  uint64_t event_size;
  uint32_t event_alignment;
  uint32_t producer_type;
  int64_t capacity;
  uint32_t max_consumers;
  uint32_t wait_strategy;  // WaitStrategyKind consumers should use
  uint64_t control_bytes;
  uint64_t data_bytes;
  uint64_t slots_offset;
  uint64_t counters_offset;
  uint64_t counters_bytes;
  int64_t consumer_timeout_ns;
  int64_t max_stall_ns;
  int32_t creator_pid;
  uint32_t ring_kind;  // RingKind
  uint64_t creator_start_ticks;
  uint64_t creation_id;
  char type_tag[kTypeTagBytes];
  std::atomic<uint32_t> ready;  // written last by the creator
  uint8_t reserved3[60];
};

// The producer's liveness, rewritten by a restarted producer.
struct alignas(kFalseSharingRange) ProducerLiveness {
  std::atomic<int32_t> pid;
  std::atomic<uint64_t> start_ticks;
  std::atomic<int64_t> heartbeat_ns;  // CLOCK_MONOTONIC, producer-written
};

// Where a bridge source (bridge/) records how far it forwarded this ring.
// Written by that bridge only (one writer); read by the bridge when it
// restarts and by tools. The ring never reads it.
struct alignas(kFalseSharingRange) SourceMark {
  std::atomic<int64_t> ring_sequence;
  std::atomic<uint64_t> stream_sequence;
  std::atomic<uint64_t> committed_stream_sequence;
  std::atomic<uint64_t> stream_id;
};

struct alignas(kFalseSharingRange) ConsumerSlot {
  enum State : uint32_t {
    kFree = 0,
    kAttaching = 1,  // claimed, fields being written; does not gate
    kActive = 2,     // gates the producer
    kEvicted = 3,
    kJoining = 4,  // start=oldest handshake in progress; gates the producer
  };

  // Whether the producer must not lap this slot's sequence.
  static constexpr bool Gates(uint32_t word) {
    return StateOf(word) == kActive || StateOf(word) == kJoining;
  }

  // The state word packs the slot generation (bumped on each attach) with
  // the state, so release/evict CAS exactly the owner they saw.
  static constexpr uint32_t Word(uint32_t generation, State state) {
    return (generation << 8) | state;
  }
  static constexpr State StateOf(uint32_t word) {
    return static_cast<State>(word & 0xff);
  }
  static constexpr uint32_t GenerationOf(uint32_t word) { return word >> 8; }

  Sequence sequence;
  std::atomic<uint32_t> state;
  std::atomic<int32_t> pid;
  std::atomic<uint64_t> start_ticks;
  std::atomic<int64_t> heartbeat_ns;
  std::atomic<uint32_t> generation;
  std::atomic<int32_t> counters;
  std::atomic<int64_t> evicted_at_ns;
  std::atomic<uint64_t> evictions;
  char name[kMaxNameLength + 1];
};

// Fixed offsets of the control segment.
inline constexpr size_t kCursorOffset = 256;
inline constexpr size_t kWakeupOffset = 384;
inline constexpr size_t kGateOffset = 512;
inline constexpr size_t kLivenessOffset = 640;
inline constexpr size_t kSourceMarkOffset = 768;
inline constexpr size_t kAvailableOffset = 896;
// Byte ring: the kind-specific region (see the diagram).
inline constexpr size_t kByteTailOffset = 896;
inline constexpr size_t kByteFloorOffset = 1024;
inline constexpr size_t kByteDrainLockOffset = 1152;
inline constexpr size_t kByteCachedGatingOffset = 1280;
inline constexpr size_t kByteCountersOffset = 1408;
inline constexpr size_t kByteRegionBytes = 640;
static_assert(kByteCountersOffset + 128 == kAvailableOffset + kByteRegionBytes,
              "the byte ring's five 128-byte words fill its region");

static_assert(sizeof(ControlHeader) == 256, "the header is 256 bytes");
#define RINGFLOW_AT(T, field, offset) (offsetof(T, field) == (offset))
static_assert(RINGFLOW_AT(ControlHeader, magic, 0) &&
                  RINGFLOW_AT(ControlHeader, layout_version, 8) &&
                  RINGFLOW_AT(ControlHeader, header_bytes, 12) &&
                  RINGFLOW_AT(ControlHeader, event_size, 16) &&
                  RINGFLOW_AT(ControlHeader, event_alignment, 24) &&
                  RINGFLOW_AT(ControlHeader, producer_type, 28) &&
                  RINGFLOW_AT(ControlHeader, capacity, 32) &&
                  RINGFLOW_AT(ControlHeader, max_consumers, 40) &&
                  RINGFLOW_AT(ControlHeader, wait_strategy, 44) &&
                  RINGFLOW_AT(ControlHeader, control_bytes, 48) &&
                  RINGFLOW_AT(ControlHeader, data_bytes, 56) &&
                  RINGFLOW_AT(ControlHeader, slots_offset, 64) &&
                  RINGFLOW_AT(ControlHeader, counters_offset, 72) &&
                  RINGFLOW_AT(ControlHeader, counters_bytes, 80) &&
                  RINGFLOW_AT(ControlHeader, consumer_timeout_ns, 88) &&
                  RINGFLOW_AT(ControlHeader, max_stall_ns, 96) &&
                  RINGFLOW_AT(ControlHeader, creator_pid, 104) &&
                  RINGFLOW_AT(ControlHeader, ring_kind, 108) &&
                  RINGFLOW_AT(ControlHeader, creator_start_ticks, 112) &&
                  RINGFLOW_AT(ControlHeader, creation_id, 120) &&
                  RINGFLOW_AT(ControlHeader, type_tag, 128) &&
                  RINGFLOW_AT(ControlHeader, ready, 192) &&
                  RINGFLOW_AT(ControlHeader, reserved3, 196),
              "every ControlHeader offset matches the diagram above");
static_assert(sizeof(ConsumerSlot) == 256 &&
                  RINGFLOW_AT(ConsumerSlot, sequence, 0) &&
                  RINGFLOW_AT(ConsumerSlot, state, 128) &&
                  RINGFLOW_AT(ConsumerSlot, pid, 132) &&
                  RINGFLOW_AT(ConsumerSlot, start_ticks, 136) &&
                  RINGFLOW_AT(ConsumerSlot, heartbeat_ns, 144) &&
                  RINGFLOW_AT(ConsumerSlot, generation, 152) &&
                  RINGFLOW_AT(ConsumerSlot, counters, 156) &&
                  RINGFLOW_AT(ConsumerSlot, evicted_at_ns, 160) &&
                  RINGFLOW_AT(ConsumerSlot, evictions, 168) &&
                  RINGFLOW_AT(ConsumerSlot, name, 176),
              "every ConsumerSlot offset matches the diagram above");
static_assert(RINGFLOW_AT(ProducerLiveness, pid, 0) &&
                  RINGFLOW_AT(ProducerLiveness, start_ticks, 8) &&
                  RINGFLOW_AT(ProducerLiveness, heartbeat_ns, 16),
              "ProducerLiveness offsets match the diagram above");
static_assert(RINGFLOW_AT(SourceMark, ring_sequence, 0) &&
                  RINGFLOW_AT(SourceMark, stream_sequence, 8) &&
                  RINGFLOW_AT(SourceMark, committed_stream_sequence, 16) &&
                  RINGFLOW_AT(SourceMark, stream_id, 24),
              "SourceMark offsets match the diagram above");
static_assert(sizeof(Sequence) == 128 &&
                  sizeof(core_internal::WakeupSignal) == 128 &&
                  sizeof(core_internal::ProducerGate) == 128 &&
                  sizeof(ProducerLiveness) == 128 && sizeof(SourceMark) == 128,
              "each fixed control structure owns its 128 bytes");
static_assert(std::atomic<uint32_t>::is_always_lock_free &&
                  std::atomic<int64_t>::is_always_lock_free &&
                  std::atomic<uint64_t>::is_always_lock_free,
              "atomics in shared memory must not hide a process-local lock");
static_assert(std::is_standard_layout_v<ControlHeader> &&
                  std::is_standard_layout_v<ConsumerSlot> &&
                  std::is_standard_layout_v<ProducerLiveness> &&
                  std::is_standard_layout_v<SourceMark>,
              "placed in shared memory by offset");

// The data segment's header: which ring the events belong to.
struct DataHeader {
  uint64_t magic;  // kDataMagic
  uint64_t creation_id;
  uint64_t events_offset;  // kDataHeaderBytes
  uint64_t data_bytes;     // capacity x event_size
};
inline constexpr uint64_t kDataMagic = 0x5441444646474e52ULL;  // "RNGFFDAT"
inline constexpr size_t kDataHeaderBytes = 4096;
static_assert(RINGFLOW_AT(DataHeader, magic, 0) &&
                  RINGFLOW_AT(DataHeader, creation_id, 8) &&
                  RINGFLOW_AT(DataHeader, events_offset, 16) &&
                  RINGFLOW_AT(DataHeader, data_bytes, 24) &&
                  sizeof(DataHeader) <= kDataHeaderBytes,
              "DataHeader offsets match the diagram above");
static_assert(kDataHeaderBytes >= 4096 && kDataHeaderBytes % 4096 == 0,
              "events start page-aligned: every event alignment up to 4096 "
              "(ValidateControl's bound) holds in the mapping");
#undef RINGFLOW_AT

// Liveness lock bytes (see the diagram): past any segment's end.
inline constexpr int64_t kProducerLockByte = int64_t{1} << 40;
constexpr int64_t SlotLockByte(int slot) {
  return kProducerLockByte + 1 + slot;
}

// Sizes derived from the ring's parameters (all multiples of 128).
struct ControlLayout {
  size_t slots_offset;
  size_t counters_offset;
  size_t counters_bytes;
  size_t control_bytes;
  int counters_capacity;

  static ControlLayout For(int64_t capacity, int max_consumers,
                           RingKind kind = RingKind::kEvents);
};

// What the event type (and the ring's kind) must match on attach.
struct RingIdentity {
  size_t event_size = 0;
  uint32_t event_alignment = 0;
  std::string type_tag;  // < 64 characters; "" matches only ""
  RingKind kind = RingKind::kEvents;
};

// What a validated control header says, copied out of shared memory. Every
// index, offset and size a process uses comes from here, never again from
// the header.
struct RingGeometry {
  RingKind kind = RingKind::kEvents;
  size_t event_size = 0;
  uint32_t event_alignment = 0;
  ProducerType producer_type = ProducerType::kSingle;
  int64_t capacity = 0;
  int max_consumers = 0;
  WaitStrategyKind wait_strategy = WaitStrategyKind::kBlocking;
  ControlLayout layout{};
  size_t data_bytes = 0;  // capacity x event_size, after the data header
  int64_t consumer_timeout_ns = 0;
  int64_t max_stall_ns = 0;
  int32_t creator_pid = 0;
  uint64_t creation_id = 0;
  std::string type_tag;
};

// Reads and checks a control segment image: every header field, the sizes
// derived from them, and (when `expected` is set) the event type. Reads
// the header once, into private memory; never reads past `size`.
// FailedPrecondition names the first mismatch (e.g. "event size 24 !=
// 32"); Unavailable when the ready word is not set.
absl::StatusOr<RingGeometry> ReadGeometry(const void* data, size_t size,
                                          const RingIdentity* expected);
// ReadGeometry's verdict alone (the fuzzer's entry point).
absl::Status ValidateControl(const void* data, size_t size,
                             const RingIdentity* expected);
// Checks a data segment image against the geometry of its control segment:
// magic, creation id, offsets and size. FailedPrecondition naming the
// mismatch (a data segment of another ring, or truncated).
absl::Status ValidateData(const void* data, size_t size,
                          const RingGeometry& geometry);

// Validates a ring name: 1..32 characters from [A-Za-z0-9_.-], not
// starting with '.'.
absl::Status ValidateRingName(std::string_view name);
// Segment names: "/<ring>" and "/<ring>:data".
std::string ControlSegmentName(std::string_view ring);
std::string DataSegmentName(std::string_view ring);

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_LAYOUT_H_
