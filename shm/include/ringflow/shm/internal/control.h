// ringflow/shm/internal/control.h
//
// Provides `Control`: one mapped shared-memory ring — its control segment
// (header, cursor, liveness, consumer slots, counters) and its data segment
// — with the operations SharedRing and SharedConsumer share: create or
// resume (producer), attach with validation (consumers), inspect (tools),
// remove, the slot table, eviction and liveness. Non-template: the event
// type enters only as a RingIdentity (size, alignment, tag) checked on
// attach.
//
// Trust (docs/shared-memory.md, "Trust and failure model"): a ring is
// resumed only when its files belong to this process's euid, grant nothing
// beyond the requested mode, validate for the same event type and shape,
// and carry no live producer's lock; consumers attach only to rings owned
// by their euid or by a uid/gid they name as trusted. Geometry is read once
// from a validated header into private memory (geometry()); no later write
// to the header moves an index or an offset. Nothing is unlinked that was
// not proved to be a dead ring of this euid (or removed with force).
//
// Who calls what: Create/Attach/Inspect/Remove on setup paths; slot
// operations are lock-free (CAS on slot state words) and safe across
// processes; heartbeat and liveness reads from any thread of any process.

#ifndef RINGFLOW_SHM_INTERNAL_CONTROL_H_
#define RINGFLOW_SHM_INTERNAL_CONTROL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/byte_ring_counters.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/counters_block.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/shm/internal/layout.h"
#include "ringflow/shm/internal/liveness.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/shared_ring_options.h"

namespace ringflow::shm_internal {

// How a consumer (or tool) attaches.
struct AttachOptions {
  const RingIdentity* expected = nullptr;  // the event type, when known
  // How long to wait for a ring whose data segment is not named yet.
  absl::Duration timeout = absl::Seconds(2);
  // Owners trusted beyond this process's euid: a ring whose files belong
  // to another uid is attached only when that uid, or the files' group, is
  // listed here.
  std::vector<uint32_t> trusted_uids;
  std::vector<uint32_t> trusted_gids;
};

// Who is using a ring, by liveness lock (segment.h): pids of the producer
// and of consumers in other processes whose locks are held.
struct RingUsers {
  int32_t producer_pid = 0;  // 0: no live producer
  std::vector<int32_t> consumer_pids;
  bool empty() const { return producer_pid == 0 && consumer_pids.empty(); }
};

static_assert(sizeof(core_internal::ByteRingCounters) == 128 &&
                  std::is_standard_layout_v<core_internal::ByteRingCounters>,
              "a byte ring's counters fill their 128 bytes at "
              "kByteCountersOffset, read by offset from other processes");

class Control {
 public:
  // Producer side. Creates the ring's segments; when they exist, resumes
  // the ring only if it is provably this euid's dead ring of the same type
  // and shape (cursor and consumers kept). Otherwise: AlreadyExists (a live
  // producer, naming its pid; another type or shape; something that is not
  // a ringflow ring), PermissionDenied (another owner, or a mode wider than
  // requested, naming uid and mode), ResourceExhausted (tmpfs too small,
  // naming the bytes). `resumed` tells which happened.
  static absl::StatusOr<std::unique_ptr<Control>> CreateOrResume(
      const shm::SharedRingOptions& options, const RingIdentity& identity,
      bool* resumed);

  // Consumer side. Maps the control segment read-write and the data
  // segment read-only after validating both (ownership, header, type, the
  // data segment's creation id).
  static absl::StatusOr<std::unique_ptr<Control>> Attach(
      std::string_view ring, const AttachOptions& options);

  // Tools. Maps the control segment read-only (no data segment, any owner
  // the OS lets us read) after validating it. Such a Control only reads:
  // call CheckIntact() before each read pass.
  static absl::StatusOr<std::unique_ptr<Control>> Inspect(
      std::string_view ring);

  // Removes both segments of `ring`. Refuses (FailedPrecondition naming the
  // pids) while a producer or consumer holds its liveness lock, and
  // anything that is not a ringflow ring, unless `force`. NotFound when
  // neither segment exists.
  static absl::Status Remove(std::string_view ring, bool force = false);

  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  const std::string& ring_name() const noexcept { return name_; }
  // The validated geometry, in private memory.
  const RingGeometry& geometry() const noexcept { return geometry_; }
  // Header fields for display only (they may have been rewritten since
  // validation; nothing may index with them).
  const ControlHeader& header() const noexcept {
    return *At<const ControlHeader>(0);
  }

  // Producer / consumer structures. The const overloads are what a
  // consumer's public API hands out: read-only.
  Sequence& cursor() noexcept { return *At<Sequence>(kCursorOffset); }
  const Sequence& cursor() const noexcept {
    return *At<const Sequence>(kCursorOffset);
  }
  core_internal::WakeupSignal& wakeup() const noexcept {
    // Mutable from const: waiting on the word writes nothing (a futex wait
    // and the waiter count, which consumers maintain by protocol).
    return *At<core_internal::WakeupSignal>(kWakeupOffset);
  }
  core_internal::ProducerGate& gate() noexcept {
    return *At<core_internal::ProducerGate>(kGateOffset);
  }
  const core_internal::ProducerGate& gate() const noexcept {
    return *At<const core_internal::ProducerGate>(kGateOffset);
  }
  ProducerLiveness& liveness() noexcept {
    return *At<ProducerLiveness>(kLivenessOffset);
  }
  const ProducerLiveness& liveness() const noexcept {
    return *At<const ProducerLiveness>(kLivenessOffset);
  }
  // The bridge source's mark (layout.h): written only by a bridge source
  // (bridge/), zero at creation, kept on resume.
  SourceMark& source_mark() noexcept {
    return *At<SourceMark>(kSourceMarkOffset);
  }
  const SourceMark& source_mark() const noexcept {
    return *At<const SourceMark>(kSourceMarkOffset);
  }
  // ---- byte ring (kind() == RingKind::kBytes; layout.h's region at 896) --
  // The producers' claimed frontier (| 1 while a kMulti claim is in its
  // pending step), the drain floor, the drain lock (0 free, else the
  // holder's pid), the kMulti cached gating position, and the producers'
  // byte counters (ByteRingCounters: records, payload, padding, skipped,
  // aborted, full waits, try-claim failures, recovered records and bytes).
  // Tools read them through the const overloads.
  RingKind kind() const noexcept { return geometry_.kind; }
  Sequence& byte_tail() noexcept { return *At<Sequence>(kByteTailOffset); }
  const Sequence& byte_tail() const noexcept {
    return *At<const Sequence>(kByteTailOffset);
  }
  Sequence& byte_floor() noexcept { return *At<Sequence>(kByteFloorOffset); }
  const Sequence& byte_floor() const noexcept {
    return *At<const Sequence>(kByteFloorOffset);
  }
  std::atomic<uint32_t>& byte_drain_lock() noexcept {
    return *At<std::atomic<uint32_t>>(kByteDrainLockOffset);
  }
  Sequence& byte_cached_gating() noexcept {
    return *At<Sequence>(kByteCachedGatingOffset);
  }
  core_internal::ByteRingCounters& byte_counters() noexcept {
    return *At<core_internal::ByteRingCounters>(kByteCountersOffset);
  }
  const core_internal::ByteRingCounters& byte_counters() const noexcept {
    return *At<const core_internal::ByteRingCounters>(kByteCountersOffset);
  }
  std::atomic<int64_t>* available() const noexcept {
    return At<std::atomic<int64_t>>(kAvailableOffset);
  }
  // `i` in [0, max_consumers()).
  ConsumerSlot& slot(int i) noexcept {
    return At<ConsumerSlot>(geometry_.layout.slots_offset)[i];
  }
  const ConsumerSlot& slot(int i) const noexcept {
    return At<const ConsumerSlot>(geometry_.layout.slots_offset)[i];
  }
  int max_consumers() const noexcept { return geometry_.max_consumers; }
  int64_t capacity() const noexcept { return geometry_.capacity; }
  ProducerType producer_type() const noexcept {
    return geometry_.producer_type;
  }
  uint64_t creation_id() const noexcept { return geometry_.creation_id; }
  core_internal::CountersBlock* counters() noexcept {
    return counters_.valid() ? &counters_ : nullptr;
  }
  const core_internal::CountersBlock* counters() const noexcept {
    return counters_.valid() ? &counters_ : nullptr;
  }
  // The events (after the data header); null for an inspecting Control.
  void* data() const noexcept {
    return data_.data() == nullptr
               ? nullptr
               : static_cast<char*>(data_.data()) + kDataHeaderBytes;
  }
  core_internal::PublishedCursor published_cursor() const noexcept {
    return core_internal::PublishedCursor(producer_type(),
                                          const_cast<Sequence*>(&cursor()),
                                          available(), capacity());
  }
  // Highest sequence up to which every event is published (byte ring: the
  // claimed frontier in bytes, byte_tail() without its pending mark).
  int64_t PublishedSequence() const noexcept;

  // Whether the ring this Control mapped is still the one under its name,
  // whole: both segments still named by the files we mapped, still at least
  // the validated size, the creation id unchanged. A tool calls it before
  // each read pass: a truncated file would raise SIGBUS on the next read.
  // FailedPrecondition (truncated, rewritten) or NotFound (removed or
  // replaced), naming what changed.
  absl::Status CheckIntact() const;

  // ---- consumer slots ------------------------------------------------------
  // Takes a free slot, or one whose owner is provably gone (its liveness
  // lock is free), for this process named `name` (made unique with #2,
  // #3...). The slot's lock is taken before the slot turns kAttaching, so
  // a claimant that dies at any point leaves a reclaimable slot. Late-
  // joiner protocol: the slot turns active (seq_cst), then its sequence is
  // set from the cursor so the producer never laps it. `oldest` starts at
  // the oldest event still protected by the other consumers (a two-step
  // handshake through kJoining, see JoinAtOldest).
  absl::StatusOr<int> RegisterConsumer(std::string_view name, bool oldest);
  // Frees slot `index` if it still belongs to `generation`, and drops its
  // lock.
  void UnregisterConsumer(int index, uint32_t generation) noexcept;
  // The ConsumerHandle of slot `index` (just registered by this process):
  // its sequence, counters (when the slot's counters index, read back from
  // the writable segment, addresses a whole run of them), name and
  // generation; destroying it unregisters the slot (or calls `release`
  // with this Control, the index and the generation, when given: a byte
  // reader's exit, byte_control.h).
  core_internal::ConsumerHandle ConsumerHandleFor(
      int index, core_internal::ConsumerHandle::ReleaseFn release = nullptr);
  // Lowest sequence over gating (kActive, kJoining) slots, or
  // `default_value`, from a scan during which no slot changed state.
  // Lock-free; retries only while consumers join or leave. Never
  // allocates, no syscalls.
  int64_t MinimumSequence(int64_t default_value) const noexcept;
  // Evicts active consumers whose liveness lock is free (process gone),
  // whose heartbeat is older than consumer_timeout, or (kEvict policy) that
  // held back the producer at `wrap_point` for longer than max_stall since
  // `stall_started_ns`; frees kAttaching slots of dead claimants. Returns
  // how many were evicted or freed. Housekeeping only (syscalls).
  int EvictDeadConsumers(int64_t wrap_point, int64_t stall_started_ns) noexcept;

  // Test-only: when set, RegisterConsumer calls hook(slot) right after the slot
  // turned kAttaching, before anything else is written to it (a test parks
  // an attacher there and kills it). Null in production.
  static void SetAttachHookForTesting(void (*hook)(int slot)) noexcept;

  // ---- liveness ------------------------------------------------------------
  void ProducerHeartbeat() noexcept;
  // True while a producer holds the ring's producer lock (the producer's
  // own Control answers true). A syscall: call it at most every heartbeat.
  bool ProducerAlive() const noexcept;
  // The live producer and consumers (by lock), for tools and Remove.
  RingUsers Users() const;

 private:
  Control() = default;
  template <typename T>
  T* At(size_t offset) const noexcept {
    return reinterpret_cast<T*>(static_cast<char*>(control_.data()) + offset);
  }
  static absl::StatusOr<std::unique_ptr<Control>> CreateFresh(
      const shm::SharedRingOptions& options, const RingIdentity& identity);
  static absl::StatusOr<std::unique_ptr<Control>> Resume(
      const shm::SharedRingOptions& options, const RingIdentity& identity);
  // Resume: this process becomes the ring's producer (liveness, gate).
  void TakeOverLiveness() noexcept;
  // Sets up geometry_, counters_ and the slot lock table from control_.
  absl::Status Adopt(const RingIdentity* expected);
  // Whether a slot other than `except` that is being attached or is attached
  // (kAttaching, kJoining, kActive) carries `name`.
  bool NameTaken(std::string_view name, int except) const;
  void JoinAtLatest(ConsumerSlot& slot, uint32_t generation) noexcept;
  void JoinAtOldest(ConsumerSlot& slot, uint32_t generation) noexcept;
  // Where a start=oldest joiner starts when no other consumer is active:
  // the cursor (event ring) or the drain floor (byte ring, whose joins
  // hold the drain lock, byte_control.h).
  const Sequence& JoinBase() const noexcept {
    return geometry_.kind == RingKind::kBytes ? byte_floor() : cursor();
  }
  // Lowest sequence over kActive slots other than `self`, or
  // `default_value`.
  int64_t OthersMinimum(const ConsumerSlot& self,
                        int64_t default_value) const noexcept;

  std::string name_;
  RingGeometry geometry_;  // validated; private memory
  shm_internal::Segment control_;
  shm_internal::Segment data_;
  core_internal::CountersBlock counters_;
  bool producer_ = false;  // this Control holds the producer lock
  // Per slot: the descriptor (own open file) holding that slot's lock for
  // a consumer of this process, or -1. Written by RegisterConsumer, exchanged
  // by UnregisterConsumer (any thread).
  std::unique_ptr<std::atomic<int>[]> slot_fds_;
};

}  // namespace ringflow::shm_internal

#endif  // RINGFLOW_SHM_INTERNAL_CONTROL_H_
