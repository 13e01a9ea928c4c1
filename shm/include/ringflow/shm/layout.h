// ringflow/shm/layout.h
//
// Provides the byte layout of a shared-memory ring: the descriptor every
// process maps, checked field by field on attach.
//
// Two named POSIX segments per ring:
//   "/<name>"       control: header, cursor, wake-up word, producer gate and
//                   liveness, availability buffer, consumer slot table,
//                   counters. Mapped read-write by every participant.
//   "/<name>.data"  the events: read-write for the producer, read-only for
//                   consumers, so a consumer bug cannot corrupt what others
//                   read.
// No pointers anywhere in shared memory: offsets from the segment start.
//
// Control segment (every offset a multiple of 128, the false-sharing range):
//
//   offset            size              field
//   0                 256               ControlHeader (below)
//   256               128               cursor           Sequence (producer)
//   384               128               wakeup           WakeupSignal
//   512               128               gate             ProducerGate
//   640               128               ProducerLiveness (pid, start, beat)
//   768               8 * capacity      available[]      int64 (multi-producer)
//   slots_offset      256 * max_cons.   ConsumerSlot[]
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
//   104 creator_pid        i32        108 reserved              u32
//   112 creator_start_ticks u64       120 reserved              u64
//   128 type_tag           char[64]   192 ready                 atomic u32
//   196 reserved ... 256
//
// `ready` is written last (release) by the creator once every other field
// and structure is initialised; attach reads it first (acquire) and times
// out instead of spinning when the creator died mid-initialisation.
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
// Bump kLayoutVersion whenever anything here changes.

#ifndef RINGFLOW_SHM_LAYOUT_H_
#define RINGFLOW_SHM_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ringflow/core/config.h"
#include "ringflow/core/producer_gate.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wakeup_signal.h"

namespace ringflow::shm {

inline constexpr uint64_t kMagic = 0x31574c46474e4952ULL;  // "RINGFLW1"
inline constexpr uint32_t kLayoutVersion = 2;              // 2: kJoining
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
  uint32_t reserved1;
  uint64_t creator_start_ticks;
  uint64_t reserved2;
  char type_tag[kTypeTagBytes];
  std::atomic<uint32_t> ready;  // written last by the creator
  uint8_t reserved3[60];
};

// The producer's liveness, rewritten by a restarted producer.
struct alignas(kFalseSharingRange) ProducerLiveness {
  std::atomic<int32_t> pid;
  std::atomic<uint64_t> start_ticks;
  std::atomic<int64_t> heartbeat_ns;  // CLOCK_MONOTONIC, producer-written
  std::atomic<uint32_t> generation;   // bumped on each (re)start
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
inline constexpr size_t kAvailableOffset = 768;

static_assert(sizeof(ControlHeader) == 256, "the header is 256 bytes");
static_assert(offsetof(ControlHeader, event_size) == 16 &&
                  offsetof(ControlHeader, capacity) == 32 &&
                  offsetof(ControlHeader, control_bytes) == 48 &&
                  offsetof(ControlHeader, consumer_timeout_ns) == 88 &&
                  offsetof(ControlHeader, creator_pid) == 104 &&
                  offsetof(ControlHeader, creator_start_ticks) == 112 &&
                  offsetof(ControlHeader, type_tag) == 128 &&
                  offsetof(ControlHeader, ready) == 192,
              "ControlHeader offsets match the diagram above");
static_assert(sizeof(ConsumerSlot) == 256 &&
                  offsetof(ConsumerSlot, state) == 128 &&
                  offsetof(ConsumerSlot, heartbeat_ns) == 144 &&
                  offsetof(ConsumerSlot, name) == 176,
              "ConsumerSlot offsets match the diagram above");
static_assert(sizeof(Sequence) == 128 && sizeof(WakeupSignal) == 128 &&
                  sizeof(ProducerGate) == 128 &&
                  sizeof(ProducerLiveness) == 128,
              "each fixed control structure owns its 128 bytes");
static_assert(std::atomic<uint32_t>::is_always_lock_free &&
                  std::atomic<int64_t>::is_always_lock_free &&
                  std::atomic<uint64_t>::is_always_lock_free,
              "atomics in shared memory must not hide a process-local lock");
static_assert(std::is_standard_layout_v<ControlHeader> &&
                  std::is_standard_layout_v<ConsumerSlot> &&
                  std::is_standard_layout_v<ProducerLiveness>,
              "placed in shared memory by offset");

// Sizes derived from the ring's parameters (all multiples of 128).
struct ControlLayout {
  size_t slots_offset;
  size_t counters_offset;
  size_t counters_bytes;
  size_t control_bytes;
  int counters_capacity;

  static ControlLayout For(int64_t capacity, int max_consumers);
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_LAYOUT_H_
