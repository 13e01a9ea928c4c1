// The only translation unit that includes Boost.Interprocess.
#include "ringflow/shm/internal/segment.h"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringflow::shm_internal {

namespace bip = boost::interprocess;

struct Segment::Impl {
  std::string name;
  bip::shared_memory_object object;
  bip::mapped_region region;
};

namespace {

absl::Status FromBoost(const bip::interprocess_exception& e,
                       const std::string& what, const std::string& name) {
  const std::string message =
      absl::StrCat(what, " shared memory segment '", name, "': ", e.what());
  switch (e.get_error_code()) {
    case bip::already_exists_error:
      return absl::AlreadyExistsError(message);
    case bip::not_found_error:
      return absl::NotFoundError(message);
    case bip::security_error:
      return absl::PermissionDeniedError(message);
    default:
      break;
  }
  if (e.get_native_error() == EACCES || e.get_native_error() == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  if (e.get_native_error() == ENOENT) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

}  // namespace

Segment::Segment() = default;
Segment::Segment(Segment&&) noexcept = default;
Segment& Segment::operator=(Segment&&) noexcept = default;
Segment::~Segment() = default;

void* Segment::data() const noexcept {
  return impl_ ? impl_->region.get_address() : nullptr;
}
size_t Segment::size() const noexcept {
  return impl_ ? impl_->region.get_size() : 0;
}
const std::string& Segment::name() const noexcept {
  static const std::string kEmpty;
  return impl_ ? impl_->name : kEmpty;
}

absl::StatusOr<Segment> Segment::Create(const std::string& name, size_t bytes,
                                        uint32_t mode) {
  Segment segment;
  segment.impl_ = std::make_unique<Impl>();
  segment.impl_->name = name;
  try {
    bip::permissions permissions(static_cast<int>(mode));
    segment.impl_->object = bip::shared_memory_object(
        bip::create_only, name.c_str(), bip::read_write, permissions);
    segment.impl_->object.truncate(static_cast<bip::offset_t>(bytes));
    segment.impl_->region =
        bip::mapped_region(segment.impl_->object, bip::read_write);
  } catch (const bip::interprocess_exception& e) {
    return FromBoost(e, "cannot create", name);
  }
  return segment;
}

absl::StatusOr<Segment> Segment::Open(const std::string& name, Access access) {
  Segment segment;
  segment.impl_ = std::make_unique<Impl>();
  segment.impl_->name = name;
  const bip::mode_t mode =
      access == Access::kReadWrite ? bip::read_write : bip::read_only;
  try {
    segment.impl_->object =
        bip::shared_memory_object(bip::open_only, name.c_str(), mode);
    bip::offset_t size = 0;
    if (!segment.impl_->object.get_size(size) || size <= 0) {
      return absl::UnavailableError(
          absl::StrCat("shared memory segment '", name, "' is empty (", size,
                       " bytes): its creator has not sized it yet"));
    }
    segment.impl_->region = bip::mapped_region(segment.impl_->object, mode);
  } catch (const bip::interprocess_exception& e) {
    return FromBoost(e, "cannot open", name);
  }
  return segment;
}

absl::Status Segment::Remove(const std::string& name) {
  if (!bip::shared_memory_object::remove(name.c_str())) {
    return absl::NotFoundError(
        absl::StrCat("shared memory segment '", name, "' does not exist"));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Segment::SizeOf(const std::string& name) {
  try {
    bip::shared_memory_object object(bip::open_only, name.c_str(),
                                     bip::read_only);
    bip::offset_t size = 0;
    object.get_size(size);
    return static_cast<size_t>(size);
  } catch (const bip::interprocess_exception& e) {
    return FromBoost(e, "cannot open", name);
  }
}

int32_t CurrentPid() { return static_cast<int32_t>(getpid()); }

uint64_t ProcessStartTicks(int32_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return 0;
  // The command name (field 2) may contain spaces; fields resume after ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::string state;
  fields >> state;                             // field 3
  if (state == "Z" || state == "X") return 0;  // zombie or dead: gone
  std::string skip;
  for (int field = 4; field < 22; ++field) fields >> skip;
  uint64_t start = 0;
  fields >> start;  // field 22
  return start;
}

bool ProcessAlive(int32_t pid, uint64_t start_ticks) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  const uint64_t now = ProcessStartTicks(pid);
  return now != 0 && now == start_ticks;
}

int64_t CoarseMonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace ringflow::shm_internal
