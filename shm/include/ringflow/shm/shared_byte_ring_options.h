// ringflow/shm/shared_byte_ring_options.h
//
// Provides `SharedByteRingOptions` (a ByteRingOptions plus what only a ring
// shared between processes has) and `SharedByteReaderOptions`.
//
// Thread-safety: plain value types.

#ifndef RINGFLOW_SHM_SHARED_BYTE_RING_OPTIONS_H_
#define RINGFLOW_SHM_SHARED_BYTE_RING_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/shm/shared_ring_options.h"

namespace ringflow::shm {

// A byte ring in shared memory: the in-process byte ring's options, plus
// the shm fields of SharedRingOptions (same meaning, same checks).
//
//   shm::SharedByteRingOptions options{.ring = {.capacity = 1 << 20,
//                                               .name = "journal"}};
struct SharedByteRingOptions {
  // Capacity (bytes), producer type, wait strategy, wait_timeout,
  // max_readers (the slot table, shared by in-process and attached
  // readers), counters, as for ByteRing. `ring.name` is also the name
  // other processes attach by: 1 to 32 characters from [A-Za-z0-9_.-].
  ByteRingOptions ring;
  uint32_t mode = 0600;         // segment permissions; umask never widens them
  bool world_writable = false;  // as SharedRingOptions::world_writable
  // A reader whose process is gone is evicted at once; one whose heartbeat
  // is older than this is evicted too. At least two
  // kDefaultHeartbeatInterval.
  absl::Duration consumer_timeout = absl::Seconds(2);
  SlowConsumerPolicy slow_consumer_policy = SlowConsumerPolicy::kBlock;
  absl::Duration max_stall = absl::Seconds(5);  // kEvict only
};

// How a reader in another process attaches (SharedByteReader::Attach).
struct SharedByteReaderOptions {
  std::string name;  // the reader's name (metrics, `ringflow stat`)
  // kLatest: the records claimed after Attach returns; kOldest: also those
  // still held for the slowest reader (ByteRing::RegisterReader).
  ReaderStart start = ReaderStart::kLatest;
  // How long to wait for a ring whose creator has not finished initialising.
  absl::Duration attach_timeout = absl::Seconds(2);
  // Heartbeat period, and the period of the producer-liveness check while
  // waiting. At most half the ring's consumer_timeout (Attach refuses more).
  absl::Duration heartbeat_interval = kDefaultHeartbeatInterval;
  // Owners trusted beyond this process's euid (see AttachOptions).
  std::vector<uint32_t> trusted_uids;
  std::vector<uint32_t> trusted_gids;
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_BYTE_RING_OPTIONS_H_
