// ringflow/shm/shared_ring_options.h
//
// Provides `SharedRingOptions` (a RingOptions plus what only a ring shared
// between processes has), `SlowConsumerPolicy` and
// `kDefaultHeartbeatInterval`.
//
// Thread-safety: plain value types.

#ifndef RINGFLOW_SHM_SHARED_RING_OPTIONS_H_
#define RINGFLOW_SHM_SHARED_RING_OPTIONS_H_

#include <cstdint>

#include "absl/time/time.h"
#include "ringflow/core/ring_options.h"

namespace ringflow::shm {

// What a slow consumer gets (DESIGN.md section 5).
enum class SlowConsumerPolicy : uint8_t {
  kBlock,  // the producer waits (lossless); the default
  kEvict,  // evicted after max_stall of holding the producer back
};

// A consumer's default heartbeat period (SharedConsumerOptions); a ring's
// consumer_timeout must leave room for two of them.
inline constexpr absl::Duration kDefaultHeartbeatInterval =
    absl::Milliseconds(100);

// A ring in shared memory: the in-process ring's options, plus what only a
// ring shared between processes has (permissions and consumer liveness).
//
//   shm::SharedRingOptions options{.ring = {.capacity = 1 << 16,
//                                           .name = "ticks"}};
struct SharedRingOptions {
  // Capacity, producer type, wait strategy, wait_timeout, max_consumers,
  // counters, as for RingBuffer, with the same defaults and validation.
  // `ring.name` is also the name other processes attach by: 1 to 32
  // characters from [A-Za-z0-9_.-] (no '#': it names files in /dev/shm).
  RingOptions ring;
  uint32_t mode = 0600;  // segment permissions; umask never widens them
  // A mode that lets others write (o+w, e.g. 0666) lets any local user
  // rewrite the ring; refused unless this says that is meant.
  bool world_writable = false;
  // A consumer whose process is gone is evicted at once; one whose
  // heartbeat is older than this is evicted too. At least two
  // kDefaultHeartbeatInterval.
  absl::Duration consumer_timeout = absl::Seconds(2);
  SlowConsumerPolicy slow_consumer_policy = SlowConsumerPolicy::kBlock;
  absl::Duration max_stall = absl::Seconds(5);  // kEvict only
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_RING_OPTIONS_H_
