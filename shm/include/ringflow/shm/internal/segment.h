// ringflow/shm/internal/segment.h
//
// A named POSIX shared-memory segment, mapped. The implementation (shm/src)
// is the only code that includes Boost.Interprocess; its exceptions become
// Status codes here. Setup path only.

#ifndef RINGFLOW_SHM_INTERNAL_SEGMENT_H_
#define RINGFLOW_SHM_INTERNAL_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringflow::shm_internal {

class Segment {
 public:
  enum class Access { kReadWrite, kReadOnly };

  // Creates `name` (exclusively) with `bytes` bytes, permissions `mode`
  // applied with fchmod (umask never widens them), mapped read-write.
  // AlreadyExists when it exists; PermissionDenied; Internal otherwise.
  static absl::StatusOr<Segment> Create(const std::string& name, size_t bytes,
                                        uint32_t mode);
  // Opens and maps an existing segment (its whole current size).
  // NotFound, PermissionDenied, Unavailable (it exists but is still empty:
  // its creator has not sized it), or Internal, naming the segment.
  static absl::StatusOr<Segment> Open(const std::string& name, Access access);
  // Removes the name (mappings stay valid). NotFound if absent.
  static absl::Status Remove(const std::string& name);
  // Size of the segment `name` without mapping it (NotFound if absent).
  static absl::StatusOr<size_t> SizeOf(const std::string& name);

  Segment();
  Segment(Segment&&) noexcept;
  Segment& operator=(Segment&&) noexcept;
  ~Segment();

  void* data() const noexcept;
  size_t size() const noexcept;
  const std::string& name() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Process identity for liveness: a pid plus its start time, so a recycled
// pid is never taken for the original process.
int32_t CurrentPid();
// Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field
// 22), or 0 when the process does not exist.
uint64_t ProcessStartTicks(int32_t pid);
// True when `pid` runs and started at `start_ticks` (zombies count as dead).
bool ProcessAlive(int32_t pid, uint64_t start_ticks);
// CLOCK_MONOTONIC in nanoseconds (system-wide, comparable across processes).
int64_t MonotonicNanos();
// CLOCK_MONOTONIC_COARSE (a few ns through the vDSO, ~4 ms resolution): for
// heartbeats taken on every read.
int64_t CoarseMonotonicNanos();

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_SEGMENT_H_
