#include "ringflow/shm/internal/liveness.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace ringflow::shm_internal {

int32_t CurrentPid() noexcept { return static_cast<int32_t>(::getpid()); }

uint64_t ProcessStartTicks(int32_t pid) noexcept {
  if (pid <= 0) return 0;
  char path[32];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  // The line is well under 1 KiB; fields 1-22 lie in its first part even
  // with a 16-byte command name.
  char line[1024];
  const ssize_t n = ::read(fd, line, sizeof(line) - 1);
  ::close(fd);
  if (n <= 0) return 0;
  line[n] = '\0';
  // The command name (field 2) may contain spaces and ')'; fields resume
  // after the last ')'.
  const char* p = std::strrchr(line, ')');
  if (p == nullptr || p[1] != ' ') return 0;
  p += 2;
  const char state = *p;                       // field 3
  if (state == 'Z' || state == 'X') return 0;  // zombie or dead: gone
  for (int field = 3; field < 22; ++field) {   // skip to field 22
    p = std::strchr(p, ' ');
    if (p == nullptr) return 0;
    ++p;
  }
  uint64_t start = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    start = start * 10 + static_cast<uint64_t>(*p - '0');
  }
  return start;
}

}  // namespace ringflow::shm_internal
