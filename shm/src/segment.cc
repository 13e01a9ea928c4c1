#include "ringflow/shm/internal/segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringflow::shm_internal {
namespace {

absl::Status Errno(int error, const char* what, const std::string& name) {
  const std::string message = absl::StrCat(what, " shared memory segment '",
                                           name, "': ", std::strerror(error));
  switch (error) {
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ELOOP:
      return absl::FailedPreconditionError(
          absl::StrCat(message, " (a symbolic link: refused)"));
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

const char* FileKind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

struct flock ByteLock(short type, int64_t byte) {
  struct flock lock;
  std::memset(&lock, 0, sizeof(lock));
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(byte);
  lock.l_len = 1;
  lock.l_pid = 0;  // required by F_OFD_* commands
  return lock;
}

}  // namespace

std::string ShmPath(const std::string& name) {
  return absl::StrCat(kShmDirectory, "/",
                      name.starts_with('/') ? name.substr(1) : name);
}

Segment::Segment(Segment&& other) noexcept
    : name_(std::move(other.name_)),
      fd_(std::exchange(other.fd_, -1)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    Segment old(std::move(*this));
    name_ = std::move(other.name_);
    fd_ = std::exchange(other.fd_, -1);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Segment::~Segment() {
  if (data_ != nullptr) ::munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<Segment> Segment::CreateUnnamed(const std::string& name,
                                               size_t bytes, uint32_t mode) {
  Segment segment;
  segment.name_ = name;
  segment.fd_ = ::open(kShmDirectory, O_TMPFILE | O_RDWR | O_CLOEXEC,
                       static_cast<mode_t>(mode & 0777));
  if (segment.fd_ < 0) return Errno(errno, "cannot create", name);
  // Exactly `mode`: open() applied the umask.
  if (::fchmod(segment.fd_, static_cast<mode_t>(mode & 0777)) != 0) {
    return Errno(errno, "cannot set the mode of", name);
  }
  // Reserve every page now: a tmpfs file that is only ftruncate'd raises
  // SIGBUS at the first touch of a page the filesystem cannot supply.
  const int error =
      ::posix_fallocate(segment.fd_, 0, static_cast<off_t>(bytes));
  if (error != 0) {
    if (error == ENOSPC || error == EFBIG) {
      struct statvfs fs;
      const uint64_t free_bytes =
          ::statvfs(kShmDirectory, &fs) == 0
              ? static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize
              : 0;
      return absl::ResourceExhaustedError(
          absl::StrCat("shared memory segment '", name, "' needs ", bytes,
                       " bytes but ", kShmDirectory, " has ", free_bytes,
                       " bytes free (enlarge the tmpfs or shrink the ring)"));
    }
    return Errno(error, "cannot reserve pages for", name);
  }
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                      segment.fd_, 0);
  if (data == MAP_FAILED) return Errno(errno, "cannot map", name);
  segment.data_ = data;
  segment.size_ = bytes;
  return segment;
}

absl::Status Segment::Link() {
  // linkat through /proc/self/fd needs no privilege (AT_EMPTY_PATH would),
  // and fails with EEXIST instead of replacing an existing name.
  const std::string from = absl::StrCat("/proc/self/fd/", fd_);
  if (::linkat(AT_FDCWD, from.c_str(), AT_FDCWD, ShmPath(name_).c_str(),
               AT_SYMLINK_FOLLOW) != 0) {
    return Errno(errno, "cannot name", name_);
  }
  return absl::OkStatus();
}

absl::StatusOr<Segment> Segment::Open(const std::string& name, Access access) {
  Segment segment;
  segment.name_ = name;
  const bool write = access == Access::kReadWrite;
  // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: a
  // planted symlink is refused, not followed.
  segment.fd_ =
      ::open(ShmPath(name).c_str(), (write ? O_RDWR : O_RDONLY) | O_NONBLOCK |
                                        O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (segment.fd_ < 0) return Errno(errno, "cannot open", name);
  struct stat st;
  if (::fstat(segment.fd_, &st) != 0) return Errno(errno, "cannot stat", name);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(ShmPath(name), " is not a regular file (",
                     FileKind(st.st_mode), "): not a ringflow segment"));
  }
  if (st.st_size <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("shared memory segment '", name, "' is empty (0 bytes)"));
  }
  const size_t bytes = static_cast<size_t>(st.st_size);
  void* data =
      ::mmap(nullptr, bytes, write ? PROT_READ | PROT_WRITE : PROT_READ,
             MAP_SHARED, segment.fd_, 0);
  if (data == MAP_FAILED) return Errno(errno, "cannot map", name);
  segment.data_ = data;
  segment.size_ = bytes;
  return segment;
}

absl::Status Segment::Remove(const std::string& name) {
  if (::unlink(ShmPath(name).c_str()) != 0) {
    return Errno(errno, "cannot remove", name);
  }
  return absl::OkStatus();
}

bool Segment::NamesThisFile() const noexcept {
  struct stat mine;
  struct stat named;
  return fd_ >= 0 && ::fstat(fd_, &mine) == 0 &&
         ::lstat(ShmPath(name_).c_str(), &named) == 0 &&
         mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

absl::Status Segment::Unlink() const {
  if (fd_ < 0) return absl::FailedPreconditionError("segment is not open");
  if (!NamesThisFile()) {
    return absl::FailedPreconditionError(
        absl::StrCat("shared memory segment '", name_,
                     "' now names another file: not removed"));
  }
  return Remove(name_);
}

absl::StatusOr<Segment::FileInfo> Segment::Stat() const {
  struct stat st;
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
    return Errno(fd_ < 0 ? EBADF : errno, "cannot stat", name_);
  }
  FileInfo info;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.mode = st.st_mode & 07777;
  info.size = st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
  return info;
}

absl::Status CheckRegularOrAbsent(const std::string& name) {
  struct stat st;
  const std::string path = ShmPath(name);
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? absl::OkStatus()
                           : Errno(errno, "cannot stat", name);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is not a regular file (", FileKind(st.st_mode), ")"));
  }
  return absl::OkStatus();
}

bool TryLockByte(int fd, int64_t byte) noexcept {
  struct flock lock = ByteLock(F_WRLCK, byte);
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

bool Segment::TryLockByte(int64_t byte) const noexcept {
  return shm_internal::TryLockByte(fd_, byte);
}

void UnlockByte(int fd, int64_t byte) noexcept {
  struct flock lock = ByteLock(F_UNLCK, byte);
  (void)::fcntl(fd, F_OFD_SETLK, &lock);
}

bool Segment::ByteLockedByOther(int64_t byte) const noexcept {
  struct flock lock = ByteLock(F_WRLCK, byte);
  if (::fcntl(fd_, F_OFD_GETLK, &lock) != 0) return false;
  return lock.l_type != F_UNLCK;
}

absl::StatusOr<int> Segment::Reopen() const {
  const std::string self = absl::StrCat("/proc/self/fd/", fd_);
  const int fd = ::open(self.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno(errno, "cannot reopen", name_);
  return fd;
}

}  // namespace ringflow::shm_internal
