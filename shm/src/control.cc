// Control: mapping, create / resume / attach / inspect / remove, liveness.
// The slot table is in consumer_slots.cc, layout checks in layout.cc.
#include "ringflow/shm/internal/control.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "ringflow/core/internal/byte_ring_counters.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow::shm_internal {
namespace {

using shm_internal::CurrentPid;
using shm_internal::MonotonicNanos;
using shm_internal::ProcessStartTicks;
using shm_internal::Segment;

// How long Create retries while another process holds the name in a
// transient state (a creator linking its data segment, a remover).
constexpr absl::Duration kCreateTimeout = absl::Seconds(2);

uint64_t NewCreationId() {
  uint64_t id = 0;
  if (::getrandom(&id, sizeof(id), 0) != sizeof(id)) {
    id = static_cast<uint64_t>(MonotonicNanos()) ^
         (static_cast<uint64_t>(CurrentPid()) << 32);
  }
  return id == 0 ? 1 : id;
}

// The producer pid recorded in a control image, for messages (0 when the
// image is too small to hold it).
int32_t RecordedProducer(const Segment& segment) {
  if (segment.size() < kLivenessOffset + sizeof(ProducerLiveness)) return 0;
  const auto* live = reinterpret_cast<const ProducerLiveness*>(
      static_cast<const char*>(segment.data()) + kLivenessOffset);
  // Acquire: pairs with the producer's release store of its pid.
  return live->pid.load(std::memory_order_acquire);
}

std::string PidText(int32_t pid) {
  if (pid <= 0) return "unknown pid";
  return pid == CurrentPid() ? absl::StrCat("pid ", pid, ", this process")
                             : absl::StrCat("pid ", pid);
}

absl::Status Prefixed(std::string_view ring, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("ring '", std::string(ring),
                                                  "': ", status.message()));
}

}  // namespace

Control::~Control() {
  if (slot_fds_ != nullptr) {
    for (int i = 0; i < geometry_.max_consumers; ++i) {
      const int fd = slot_fds_[i].exchange(-1, std::memory_order_acq_rel);
      if (fd >= 0) ::close(fd);
    }
  }
}

absl::Status Control::Adopt(const RingIdentity* expected) {
  RINGFLOW_ASSIGN_OR_RETURN(
      geometry_, ReadGeometry(control_.data(), control_.size(), expected));
  std::string error;
  counters_ = core_internal::CountersBlock::Attach(
      At<void>(geometry_.layout.counters_offset),
      geometry_.layout.counters_bytes, &error);
  if (!counters_.valid()) return absl::FailedPreconditionError(error);
  slot_fds_ = std::make_unique<std::atomic<int>[]>(
      static_cast<size_t>(geometry_.max_consumers));
  for (int i = 0; i < geometry_.max_consumers; ++i) {
    slot_fds_[i].store(-1, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Control>> Control::CreateOrResume(
    const shm::SharedRingOptions& options, const RingIdentity& identity,
    bool* resumed) {
  *resumed = false;
  RINGFLOW_RETURN_IF_ERROR(ValidateRingName(options.ring.name));
  RINGFLOW_RETURN_IF_ERROR(
      ValidateRingOptions(options.ring, identity.event_size));
  if ((options.mode & ~0777u) != 0 || (options.mode & 0600u) != 0600u) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mode 0%o must be a permission mode that lets the owner read and "
        "write (e.g. 0600, 0660)",
        options.mode));
  }
  if ((options.mode & 0002u) != 0 && !options.world_writable) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mode 0%o lets every local user write the ring; set "
        "shm::SharedRingOptions::world_writable if that is meant",
        options.mode));
  }
  if (options.consumer_timeout < 2 * shm::kDefaultHeartbeatInterval) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consumer_timeout ", absl::FormatDuration(options.consumer_timeout),
        " is shorter than two consumer heartbeat intervals (",
        absl::FormatDuration(2 * shm::kDefaultHeartbeatInterval),
        "): healthy idle consumers would be evicted"));
  }
  if (options.slow_consumer_policy == shm::SlowConsumerPolicy::kEvict &&
      options.max_stall <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_stall ", absl::FormatDuration(options.max_stall),
                     " must be positive with shm::SlowConsumerPolicy::kEvict"));
  }
  if (identity.type_tag.size() >= kTypeTagBytes ||
      identity.type_tag.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("type tag '", identity.type_tag, "' is longer than ",
                     kTypeTagBytes - 1, " characters or holds a NUL"));
  }
  const absl::Time deadline = absl::Now() + kCreateTimeout;
  for (;;) {
    absl::StatusOr<std::unique_ptr<Control>> fresh =
        CreateFresh(options, identity);
    if (fresh.ok() || !absl::IsAlreadyExists(fresh.status())) return fresh;
    absl::StatusOr<std::unique_ptr<Control>> old = Resume(options, identity);
    if (old.ok()) {
      *resumed = true;
      return old;
    }
    // Unavailable: the name changed under us (removed, or another creator
    // is half-way); try again, within the deadline.
    if (!absl::IsUnavailable(old.status()) || absl::Now() >= deadline) {
      return old.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Builds both segments unnamed, complete and locked, then names them:
// control first (the atomic, exclusive step that decides between racing
// creators), then data. AlreadyExists when the control name exists.
absl::StatusOr<std::unique_ptr<Control>> Control::CreateFresh(
    const shm::SharedRingOptions& options, const RingIdentity& identity) {
  const ControlLayout layout = ControlLayout::For(
      options.ring.capacity, options.ring.max_consumers, identity.kind);
  const size_t data_bytes =
      static_cast<size_t>(options.ring.capacity) * identity.event_size;
  const int32_t pid = CurrentPid();
  const uint64_t start = ProcessStartTicks(pid);
  const uint64_t creation_id = NewCreationId();

  auto control = std::unique_ptr<Control>(new Control());
  control->name_ = options.ring.name;
  control->producer_ = true;
  RINGFLOW_ASSIGN_OR_RETURN(
      control->control_,
      Segment::CreateUnnamed(ControlSegmentName(options.ring.name),
                             layout.control_bytes, options.mode));
  RINGFLOW_ASSIGN_OR_RETURN(
      control->data_,
      Segment::CreateUnnamed(DataSegmentName(options.ring.name),
                             kDataHeaderBytes + data_bytes, options.mode));
  // Unnamed files: nobody else can hold these locks yet.
  if (!control->control_.TryLockByte(kProducerLockByte) ||
      !control->data_.TryLockByte(kProducerLockByte)) {
    return absl::InternalError(absl::StrCat("ring '", options.ring.name,
                                            "': cannot lock its new segments"));
  }

  // Initialise everything before `ready`. The segments are zero-filled.
  char* base = static_cast<char*>(control->control_.data());
  auto* h = new (base) ControlHeader{};
  h->magic = kMagic;
  h->layout_version = kLayoutVersion;
  h->header_bytes = sizeof(ControlHeader);
  h->event_size = identity.event_size;
  h->event_alignment = identity.event_alignment;
  h->producer_type = static_cast<uint32_t>(options.ring.producer_type);
  h->capacity = options.ring.capacity;
  h->max_consumers = static_cast<uint32_t>(options.ring.max_consumers);
  h->wait_strategy = static_cast<uint32_t>(options.ring.wait_strategy);
  h->control_bytes = layout.control_bytes;
  h->data_bytes = data_bytes;
  h->slots_offset = layout.slots_offset;
  h->counters_offset = layout.counters_offset;
  h->counters_bytes = layout.counters_bytes;
  h->consumer_timeout_ns = absl::ToInt64Nanoseconds(options.consumer_timeout);
  h->max_stall_ns =
      options.slow_consumer_policy == shm::SlowConsumerPolicy::kEvict
          ? absl::ToInt64Nanoseconds(options.max_stall)
          : 0;
  h->creator_pid = pid;
  h->ring_kind = static_cast<uint32_t>(identity.kind);
  h->creator_start_ticks = start;
  h->creation_id = creation_id;
  std::memcpy(h->type_tag, identity.type_tag.data(), identity.type_tag.size());
  new (base + kCursorOffset) Sequence();
  new (base + kWakeupOffset) core_internal::WakeupSignal();
  new (base + kGateOffset) core_internal::ProducerGate();
  auto* live = new (base + kLivenessOffset) ProducerLiveness{};
  live->pid.store(pid, std::memory_order_relaxed);
  live->start_ticks.store(start, std::memory_order_relaxed);
  live->heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
  // Zero (the segment is zero-filled); a resumed ring keeps its mark.
  new (base + kSourceMarkOffset) SourceMark{};
  if (identity.kind == RingKind::kBytes) {
    // Tail, floor and cached gating at byte 0, the drain lock free, the
    // counters zero (all published by the release store of `ready`).
    new (base + kByteTailOffset) Sequence(0);
    new (base + kByteFloorOffset) Sequence(0);
    new (base + kByteDrainLockOffset) std::atomic<uint32_t>(0);
    new (base + kByteCachedGatingOffset) Sequence(0);
    new (base + kByteCountersOffset) core_internal::ByteRingCounters(
        options.ring.counters,
        options.ring.producer_type == ProducerType::kMulti);
  } else {
    auto* available =
        reinterpret_cast<std::atomic<int64_t>*>(base + kAvailableOffset);
    for (int64_t i = 0; i < options.ring.capacity; ++i) {
      // Relaxed: published by the release store of `ready` below.
      new (&available[i]) std::atomic<int64_t>(kInitialSequence);
    }
  }
  auto* slots = reinterpret_cast<ConsumerSlot*>(base + layout.slots_offset);
  for (int i = 0; i < options.ring.max_consumers; ++i) {
    auto* slot = new (&slots[i]) ConsumerSlot{};
    slot->sequence.StoreRelaxed(kInitialSequence);
    slot->counters.store(-1, std::memory_order_relaxed);
  }
  // The block always exists (consumers in other processes allocate their
  // counters in it); `counters` only decides the producer's own.
  std::string error;
  const core_internal::CountersBlock block =
      core_internal::CountersBlock::Initialize(
          base + layout.counters_offset, layout.counters_bytes,
          layout.counters_capacity, /*reuse_delay_ns=*/1'000'000'000, &error);
  if (!block.valid()) return absl::InternalError(error);
  auto* data_header = static_cast<DataHeader*>(control->data_.data());
  data_header->magic = kDataMagic;
  data_header->creation_id = creation_id;
  data_header->events_offset = kDataHeaderBytes;
  data_header->data_bytes = data_bytes;
  // Release: every field and structure above is complete before `ready`
  // reads 1. Pairs with the acquire load in ReadGeometry. (Linking the
  // names below is a syscall, which orders them too; the release keeps the
  // rule local.)
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(&h->ready))
      .store(1, std::memory_order_release);
  RINGFLOW_RETURN_IF_ERROR(control->Adopt(&identity));

  RINGFLOW_RETURN_IF_ERROR(control->control_.Link());
  // The name is ours now. A data segment left under the data name by a dead
  // ring of ours is replaced; anything else stops the creation, and the
  // control name we just took is given back.
  for (int attempt = 0;; ++attempt) {
    const absl::Status linked = control->data_.Link();
    if (linked.ok()) break;
    absl::Status why = linked;
    if (absl::IsAlreadyExists(linked) && attempt < 3) {
      absl::StatusOr<Segment> stale = Segment::Open(
          DataSegmentName(options.ring.name), Segment::Access::kReadOnly);
      if (!stale.ok() && absl::IsNotFound(stale.status())) continue;
      if (stale.ok()) {
        absl::StatusOr<Segment::FileInfo> info = stale->Stat();
        DataHeader old{};
        if (stale->size() >= sizeof(old)) {
          std::memcpy(&old, stale->data(), sizeof(old));
        }
        if (!info.ok()) {
          why = info.status();
        } else if (info->uid != ::geteuid()) {
          why = absl::AlreadyExistsError(absl::StrCat(
              "its data segment name is taken by a file of uid ", info->uid));
        } else if (old.magic != kDataMagic) {
          why = absl::AlreadyExistsError(
              "its data segment name is taken by a file that is not a "
              "ringflow data segment");
        } else if (stale->ByteLockedByOther(kProducerLockByte)) {
          why = absl::AlreadyExistsError(
              "its data segment name is held by a live producer (the ring "
              "was removed while in use)");
        } else {
          // A dead ring's data segment of ours: unlinked (or, if the name
          // changed under us meanwhile, left alone); link again.
          (void)stale->Unlink();
          continue;
        }
      } else {
        why = stale.status();
      }
    }
    (void)control->control_.Unlink();
    return Prefixed(options.ring.name, why);
  }
  return control;
}

absl::StatusOr<std::unique_ptr<Control>> Control::Resume(
    const shm::SharedRingOptions& options, const RingIdentity& identity) {
  const std::string& name = options.ring.name;
  absl::StatusOr<Segment> opened =
      Segment::Open(ControlSegmentName(name), Segment::Access::kReadWrite);
  if (!opened.ok()) {
    if (absl::IsNotFound(opened.status())) {
      return absl::UnavailableError(
          absl::StrCat("ring '", name, "' vanished while being resumed"));
    }
    return absl::AlreadyExistsError(absl::StrCat(
        "ring '", name,
        "' exists and cannot be resumed: ", opened.status().message()));
  }
  auto control = std::unique_ptr<Control>(new Control());
  control->name_ = name;
  control->control_ = std::move(*opened);
  RINGFLOW_ASSIGN_OR_RETURN(const Segment::FileInfo info,
                            control->control_.Stat());
  const uint32_t euid = ::geteuid();
  const int32_t owner_pid = RecordedProducer(control->control_);
  if (info.uid != euid) {
    return absl::PermissionDeniedError(
        absl::StrCat("ring '", name, "' belongs to uid ", info.uid,
                     " (producer ", PidText(owner_pid),
                     "), not to this process's uid ", euid, ": not resumed"));
  }
  if ((info.mode & 0777u & ~options.mode) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "ring '%s' has mode 0%o, which grants more than the requested 0%o: "
        "not resumed",
        name, info.mode & 0777u, options.mode));
  }
  if (!control->control_.TryLockByte(kProducerLockByte)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "ring '", name, "' has a live producer (", PidText(owner_pid), ")"));
  }
  control->producer_ = true;
  if (absl::Status adopted = control->Adopt(&identity); !adopted.ok()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "ring '", name, "' exists and cannot be resumed by this producer: ",
        adopted.message(), " (remove it with `ringflow rm ", name, "`)"));
  }
  const RingGeometry& g = control->geometry_;
  if (g.capacity != options.ring.capacity ||
      g.max_consumers != options.ring.max_consumers ||
      g.producer_type != options.ring.producer_type) {
    return absl::AlreadyExistsError(absl::StrCat(
        "ring '", name, "' exists with capacity ", g.capacity, ", ",
        g.max_consumers, " consumers, ",
        std::string(ProducerTypeName(g.producer_type)),
        " producer; this producer asks for ", options.ring.capacity, ", ",
        options.ring.max_consumers, ", ",
        std::string(ProducerTypeName(options.ring.producer_type)),
        " (remove it with `ringflow rm ", name, "`)"));
  }
  absl::StatusOr<Segment> data =
      Segment::Open(DataSegmentName(name), Segment::Access::kReadWrite);
  if (!data.ok()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "ring '", name, "' cannot be resumed: ", data.status().message()));
  }
  control->data_ = std::move(*data);
  RINGFLOW_ASSIGN_OR_RETURN(const Segment::FileInfo data_info,
                            control->data_.Stat());
  absl::Status valid = ValidateData(control->data_.data(),
                                    control->data_.size(), control->geometry_);
  if (valid.ok() && data_info.uid != euid) {
    valid = absl::PermissionDeniedError(
        absl::StrCat("its data segment belongs to uid ", data_info.uid));
  }
  if (valid.ok() && !control->data_.TryLockByte(kProducerLockByte)) {
    valid = absl::FailedPreconditionError(
        "its data segment is held by a live producer");
  }
  if (!valid.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("ring '", name, "' cannot be resumed: ", valid.message()));
  }

  // A byte ring's records are recovered by SharedByteRing (byte_control.h),
  // which knows the record format; here only the liveness is taken over.
  if (g.kind == RingKind::kBytes) {
    control->TakeOverLiveness();
    return control;
  }
  // Resume at the last published sequence. For a multi-producer ring,
  // claims the dead producer never finished are discarded: entries
  // published above the first gap are cleared so they are not read as new
  // events when the sequences are claimed again.
  const int64_t published = control->PublishedSequence();
  const int64_t claimed = control->cursor().LoadAcquire();
  for (int64_t s = published + 1; s <= claimed && s - published <= g.capacity;
       ++s) {
    std::atomic<int64_t>& entry = control->available()[s & (g.capacity - 1)];
    // Relaxed: the ring has no producer; consumers cannot pass the gap.
    if (entry.load(std::memory_order_relaxed) == s) {
      entry.store(kInitialSequence, std::memory_order_relaxed);
    }
  }
  control->cursor().StoreSeqCst(published);
  control->TakeOverLiveness();
  return control;
}

void Control::TakeOverLiveness() noexcept {
  ProducerLiveness& live = liveness();
  live.start_ticks.store(ProcessStartTicks(CurrentPid()),
                         std::memory_order_relaxed);
  live.heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
  // Release: the liveness fields above are visible with the pid. Partner:
  // RecordedProducer / tools' acquire loads of the pid.
  live.pid.store(CurrentPid(), std::memory_order_release);
  gate().Reopen();
}

namespace {

// Whether `uid`/`gid` own files this process may trust.
bool Trusted(const Segment::FileInfo& info, const AttachOptions& options) {
  if (info.uid == ::geteuid()) return true;
  if (std::find(options.trusted_uids.begin(), options.trusted_uids.end(),
                info.uid) != options.trusted_uids.end()) {
    return true;
  }
  return std::find(options.trusted_gids.begin(), options.trusted_gids.end(),
                   info.gid) != options.trusted_gids.end();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Control>> Control::Attach(
    std::string_view ring, const AttachOptions& options) {
  RINGFLOW_RETURN_IF_ERROR(ValidateRingName(ring));
  const absl::Time deadline = absl::Now() + options.timeout;
  for (;;) {
    auto control = std::unique_ptr<Control>(new Control());
    control->name_ = std::string(ring);
    RINGFLOW_ASSIGN_OR_RETURN(
        control->control_,
        Segment::Open(ControlSegmentName(ring), Segment::Access::kReadWrite));
    RINGFLOW_ASSIGN_OR_RETURN(const Segment::FileInfo info,
                              control->control_.Stat());
    if (!Trusted(info, options)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "ring '", std::string(ring), "' belongs to uid ", info.uid, " (gid ",
          info.gid, "), which is neither this process's uid ", ::geteuid(),
          " nor a trusted uid or gid (AttachOptions::trusted_uids / "
          "trusted_gids): not attached"));
    }
    absl::Status valid = control->Adopt(options.expected);
    bool data_missing = false;
    if (valid.ok()) {
      absl::StatusOr<Segment> data =
          Segment::Open(DataSegmentName(ring), Segment::Access::kReadOnly);
      if (data.ok()) {
        control->data_ = std::move(*data);
        absl::StatusOr<Segment::FileInfo> data_info = control->data_.Stat();
        valid = data_info.status();
        if (valid.ok() && data_info->uid != info.uid) {
          valid = absl::FailedPreconditionError(
              absl::StrCat("data segment belongs to uid ", data_info->uid,
                           ", its control segment to uid ", info.uid));
        }
        if (valid.ok()) {
          valid = ValidateData(control->data_.data(), control->data_.size(),
                               control->geometry_);
        }
        if (valid.ok()) return control;
      } else if (absl::IsNotFound(data.status())) {
        // Named control, data not named yet: a creator between its two
        // links. Wait for it, within the deadline.
        data_missing = true;
        valid = absl::UnavailableError(absl::StrCat(
            "its data segment does not exist (", data.status().message(), ")"));
      } else {
        valid = data.status();
      }
    }
    if (!absl::IsUnavailable(valid)) return Prefixed(ring, valid);
    if (absl::Now() >= deadline) {
      if (data_missing) {
        // Not a creator between its links after all: the ring has no data
        // segment.
        return absl::NotFoundError(
            absl::StrCat("ring '", std::string(ring), "': ", valid.message()));
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "ring '", std::string(ring), "' did not become ready within ",
          absl::FormatDuration(options.timeout), ": ", valid.message()));
    }
    // Attach is a setup path with a deadline: poll at a coarse interval.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

absl::StatusOr<std::unique_ptr<Control>> Control::Inspect(
    std::string_view ring) {
  RINGFLOW_RETURN_IF_ERROR(ValidateRingName(ring));
  auto control = std::unique_ptr<Control>(new Control());
  control->name_ = std::string(ring);
  RINGFLOW_ASSIGN_OR_RETURN(
      control->control_,
      Segment::Open(ControlSegmentName(ring), Segment::Access::kReadOnly));
  if (absl::Status valid = control->Adopt(nullptr); !valid.ok()) {
    return Prefixed(ring, valid);
  }
  return control;
}

absl::Status Control::Remove(std::string_view ring, bool force) {
  RINGFLOW_RETURN_IF_ERROR(ValidateRingName(ring));
  const std::string cname = ControlSegmentName(ring);
  const std::string dname = DataSegmentName(ring);
  absl::StatusOr<Segment> control =
      Segment::Open(cname, Segment::Access::kReadOnly);
  absl::StatusOr<Segment> data =
      Segment::Open(dname, Segment::Access::kReadOnly);
  if (!control.ok() && absl::IsNotFound(control.status()) && !data.ok() &&
      absl::IsNotFound(data.status())) {
    return absl::NotFoundError(
        absl::StrCat("ring '", std::string(ring), "' does not exist"));
  }
  if (!force) {
    if (!control.ok() && !absl::IsNotFound(control.status())) {
      return Prefixed(ring, absl::FailedPreconditionError(absl::StrCat(
                                control.status().message(),
                                ": not removed (force removes it anyway)")));
    }
    RingUsers users;
    if (control.ok()) {
      auto inspected = std::unique_ptr<Control>(new Control());
      inspected->name_ = std::string(ring);
      inspected->control_ = std::move(*control);
      if (absl::Status valid = inspected->Adopt(nullptr); !valid.ok()) {
        return Prefixed(ring, absl::FailedPreconditionError(absl::StrCat(
                                  "not a ringflow ring (", valid.message(),
                                  "): not removed (force removes it anyway)")));
      }
      users = inspected->Users();
      control = std::move(inspected->control_);
    }
    if (users.producer_pid == 0 && data.ok() &&
        data->ByteLockedByOther(kProducerLockByte)) {
      users.producer_pid = -1;  // a producer holds the data segment
    }
    if (!users.empty()) {
      std::string who;
      if (users.producer_pid > 0) {
        who = absl::StrCat("producer pid ", users.producer_pid);
      } else if (users.producer_pid < 0) {
        who = "a producer";
      }
      if (!users.consumer_pids.empty()) {
        absl::StrAppend(&who, who.empty() ? "" : ", ", "consumer pids ",
                        absl::StrJoin(users.consumer_pids, " "));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("ring '", std::string(ring), "' is in use (", who,
                       "): not removed (force removes it anyway)"));
    }
  }
  // Unlink exactly the files we looked at (a name that now names another
  // file is left alone); with force, also names we could not open as
  // segments (a FIFO, a symlink, an empty file).
  absl::Status removed = absl::OkStatus();
  if (force && !control.ok() && !absl::IsNotFound(control.status())) {
    removed.Update(Segment::Remove(cname));
  }
  if (force && !data.ok() && !absl::IsNotFound(data.status())) {
    removed.Update(Segment::Remove(dname));
  }
  if (control.ok()) removed.Update(control->Unlink());
  if (data.ok()) removed.Update(data->Unlink());
  return removed;
}

int64_t Control::PublishedSequence() const noexcept {
  if (geometry_.kind == RingKind::kBytes) {
    // No availability buffer: the claimed frontier (acquire, pairs with the
    // producers' tail stores), without a pending mark.
    return byte_tail().LoadAcquire() & ~int64_t{1};
  }
  const int64_t cursor = this->cursor().LoadAcquire();
  if (producer_type() == ProducerType::kSingle) return cursor;
  const int64_t from = std::max<int64_t>(
      {0, cursor - capacity() + 1, MinimumSequence(cursor) + 1});
  return published_cursor().Published(from, std::memory_order_acquire);
}

absl::Status Control::CheckIntact() const {
  const auto check = [&](const Segment& segment, size_t size) -> absl::Status {
    if (segment.data() == nullptr) return absl::OkStatus();
    if (!segment.NamesThisFile()) {
      return absl::NotFoundError(absl::StrCat("ring '", name_, "': segment '",
                                              segment.name(),
                                              "' was removed or replaced"));
    }
    RINGFLOW_ASSIGN_OR_RETURN(const Segment::FileInfo info, segment.Stat());
    if (info.size < size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ring '", name_, "': segment '", segment.name(),
          "' was truncated to ", info.size, " bytes (", size, " expected)"));
    }
    return absl::OkStatus();
  };
  RINGFLOW_RETURN_IF_ERROR(check(control_, geometry_.layout.control_bytes));
  RINGFLOW_RETURN_IF_ERROR(
      check(data_, kDataHeaderBytes + geometry_.data_bytes));
  // The size is checked: this read cannot fault (short of a truncation in
  // the next microseconds, which the trust model leaves to the owner).
  if (header().creation_id != geometry_.creation_id) {
    return absl::NotFoundError(absl::StrCat(
        "ring '", name_, "': its header was rewritten (creation id changed)"));
  }
  return absl::OkStatus();
}

void Control::ProducerHeartbeat() noexcept {
  // Relaxed: a liveness statistic.
  liveness().heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
}

bool Control::ProducerAlive() const noexcept {
  if (producer_) return true;
  return control_.ByteLockedByOther(kProducerLockByte);
}

RingUsers Control::Users() const {
  RingUsers users;
  if (ProducerAlive()) {
    // Acquire: pairs with the (re)starting producer's release store of its
    // pid (CreateFresh publishes it with `ready`, Resume explicitly).
    const int32_t pid = liveness().pid.load(std::memory_order_acquire);
    users.producer_pid = pid > 0 ? pid : -1;
  }
  for (int i = 0; i < max_consumers(); ++i) {
    if (!control_.ByteLockedByOther(SlotLockByte(i))) continue;
    // Relaxed: display only.
    const int32_t pid = slot(i).pid.load(std::memory_order_relaxed);
    users.consumer_pids.push_back(pid);
  }
  return users;
}

}  // namespace ringflow::shm_internal
