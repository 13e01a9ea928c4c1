// ringflow/shm/internal/segment.h
//
// A named shared-memory segment (a regular file in /dev/shm), mapped, with
// the file descriptor kept open for what the mapping cannot tell: the
// file's owner, mode and current size (fstat), and advisory byte locks
// that prove a process is alive (the kernel drops them when it dies).
//
// Trust: nothing about an existing file is assumed. Open refuses anything
// but a regular file and never blocks (O_NONBLOCK: a FIFO planted under a
// ring's name cannot hang the caller; O_NOFOLLOW: a symlink is refused).
// Create never touches an existing name: the file is made unnamed
// (O_TMPFILE), sized with posix_fallocate (ENOSPC is a ResourceExhausted
// naming the bytes, never a SIGBUS later), filled by the caller, and only
// then linked under its name, which fails if the name exists. So a name
// either does not exist or names a complete segment.
//
// Setup paths only (syscalls, allocation); the lock probes are syscalls
// too and run on housekeeping and status paths, never per event.

#ifndef RINGFLOW_SHM_INTERNAL_SEGMENT_H_
#define RINGFLOW_SHM_INTERNAL_SEGMENT_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringflow::shm_internal {

// Where named segments live.
inline constexpr char kShmDirectory[] = "/dev/shm";

class Segment {
 public:
  enum class Access { kReadWrite, kReadOnly };

  // What fstat says about the open file.
  struct FileInfo {
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t mode = 0;  // permission bits only
    size_t size = 0;
  };

  // Makes an unnamed segment of `bytes` bytes in /dev/shm with permissions
  // exactly `mode` (fchmod: the umask never widens or narrows them),
  // reserves its pages (ResourceExhausted naming the bytes needed and free
  // when the filesystem is too small) and maps it read-write, zero-filled.
  // `name` is remembered for Link and messages.
  static absl::StatusOr<Segment> CreateUnnamed(const std::string& name,
                                               size_t bytes, uint32_t mode);
  // Gives an unnamed segment its name. AlreadyExists when the name exists
  // (nothing is replaced).
  absl::Status Link();

  // Opens and maps an existing segment (its whole current size). NotFound,
  // PermissionDenied, FailedPrecondition (not a regular file, or empty),
  // or Internal, each naming the segment.
  static absl::StatusOr<Segment> Open(const std::string& name, Access access);

  // Removes `name` without looking at it. NotFound if absent.
  static absl::Status Remove(const std::string& name);
  // Removes the name only while it still names this segment's file (same
  // device and inode): never deletes a file that replaced it.
  absl::Status Unlink() const;

  Segment() = default;
  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  void* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  const std::string& name() const noexcept { return name_; }
  int fd() const noexcept { return fd_; }
  absl::StatusOr<FileInfo> Stat() const;
  // Whether the name still names this segment's file (same device and
  // inode).
  bool NamesThisFile() const noexcept;

  // ---- byte locks (open-file-description locks, fcntl F_OFD_*) -----------
  // A lock belongs to this open file, not to a thread: two Segments of one
  // file in one process do conflict, so each owner of a lock opens its own
  // (Reopen). Locked bytes lie far beyond any segment's end.
  //
  // Takes the write lock on `byte`; false when another open file holds it.
  bool TryLockByte(int64_t byte) const noexcept;
  // True when an open file other than this one holds a lock on `byte`.
  bool ByteLockedByOther(int64_t byte) const noexcept;
  // A new open file description of the same file (not the name: the file
  // this Segment has open), unmapped. For holding locks of one's own.
  absl::StatusOr<int> Reopen() const;

 private:
  std::string name_;
  int fd_ = -1;
  void* data_ = nullptr;
  size_t size_ = 0;
};

// OK when `name` is a regular file or absent; FailedPrecondition naming
// the path and its kind (a FIFO, a symbolic link, ...) otherwise. Looks
// without opening or following it.
absl::Status CheckRegularOrAbsent(const std::string& name);

// Byte-lock helpers on a bare descriptor (from Segment::Reopen).
bool TryLockByte(int fd, int64_t byte) noexcept;
void UnlockByte(int fd, int64_t byte) noexcept;

// "/dev/shm/<name without its leading slash>".
std::string ShmPath(const std::string& name);

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_SEGMENT_H_
