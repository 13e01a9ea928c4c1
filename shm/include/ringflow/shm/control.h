// ringflow/shm/control.h
//
// Provides `Control`: one mapped shared-memory ring — its control segment
// (header, cursor, liveness, consumer slots, counters) and its data segment
// — with the operations SharedRing and SharedConsumer share: create or
// resume (producer), attach with validation (consumers, tools), the slot
// table, eviction and liveness. Non-template: the event type enters only as
// a RingIdentity (size, alignment, tag) checked on attach.
//
// Who calls what: Create/Attach on setup paths; slot operations are
// lock-free (CAS on slot state words) and safe across processes; heartbeat
// and liveness reads from any thread of any process.

#ifndef RINGFLOW_SHM_CONTROL_H_
#define RINGFLOW_SHM_CONTROL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/consumer_counters.h"
#include "ringflow/core/producer_gate.h"
#include "ringflow/core/published_cursor.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wakeup_signal.h"
#include "ringflow/observability/counters_block.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/layout.h"

namespace ringflow::shm {

// What the event type must match on attach.
struct RingIdentity {
  size_t event_size = 0;
  uint32_t event_alignment = 0;
  std::string type_tag;  // < 64 characters; "" matches only ""
};

// What a slow consumer gets (DESIGN.md section 5).
enum class SlowConsumerPolicy : uint8_t {
  kBlock,  // the producer waits (lossless); the default
  kEvict,  // evicted after max_stall of holding the producer back
};

struct SharedRingOptions {
  std::string name;  // [A-Za-z0-9_.-], 1..32 characters
  int64_t capacity = 1024;
  ProducerType producer_type = ProducerType::kSingle;
  WaitStrategyKind wait_strategy = WaitStrategyKind::kBlocking;
  int max_consumers = 16;
  uint32_t mode = 0600;  // segment permissions; umask never widens them
  // A consumer whose process is gone is evicted at once; one whose
  // heartbeat is older than this is evicted too.
  absl::Duration consumer_timeout = absl::Seconds(2);
  SlowConsumerPolicy slow_consumer_policy = SlowConsumerPolicy::kBlock;
  absl::Duration max_stall = absl::Seconds(5);  // kEvict only
  bool counters = true;
};

// Checks a control segment image: every header field, the sizes derived
// from them, and (when `expected` is set) the event type. Never reads past
// `size`. FailedPrecondition names the first mismatch (e.g. "event size 24
// != 32"); Unavailable when the creator has not marked it ready.
absl::Status ValidateControl(const void* data, size_t size,
                             const RingIdentity* expected);

// Validates a ring name (it becomes segment names "/<name>", "/<name>.data").
absl::Status ValidateRingName(std::string_view name);

std::string ControlSegmentName(std::string_view ring);
std::string DataSegmentName(std::string_view ring);

class Control {
 public:
  // Producer side. Creates the ring's segments; when they exist and their
  // producer is dead, resumes the ring (same identity and capacity: cursor
  // and consumers kept; otherwise they are recreated). AlreadyExists when a
  // live producer owns it. `resumed` tells which happened.
  static absl::StatusOr<std::unique_ptr<Control>> CreateOrResume(
      const SharedRingOptions& options, const RingIdentity& identity,
      bool* resumed);

  // Consumer / tool side. Maps the control segment read-write and the data
  // segment read-only, after ValidateControl (with `expected` when given);
  // waits for `ready` up to `timeout`, then DeadlineExceeded.
  static absl::StatusOr<std::unique_ptr<Control>> Attach(
      std::string_view ring, const RingIdentity* expected,
      absl::Duration timeout);

  // Removes both segments of `ring` (mappings stay valid).
  static absl::Status Remove(std::string_view ring);

  const std::string& ring_name() const noexcept { return name_; }
  ControlHeader& header() const noexcept { return *At<ControlHeader>(0); }
  Sequence& cursor() const noexcept { return *At<Sequence>(kCursorOffset); }
  WakeupSignal& wakeup() const noexcept {
    return *At<WakeupSignal>(kWakeupOffset);
  }
  ProducerGate& gate() const noexcept { return *At<ProducerGate>(kGateOffset); }
  ProducerLiveness& liveness() const noexcept {
    return *At<ProducerLiveness>(kLivenessOffset);
  }
  std::atomic<int64_t>* available() const noexcept {
    return At<std::atomic<int64_t>>(kAvailableOffset);
  }
  ConsumerSlot& slot(int i) const noexcept {
    return At<ConsumerSlot>(header().slots_offset)[i];
  }
  int max_consumers() const noexcept {
    return static_cast<int>(header().max_consumers);
  }
  int64_t capacity() const noexcept { return header().capacity; }
  ProducerType producer_type() const noexcept {
    return static_cast<ProducerType>(header().producer_type);
  }
  observability::CountersBlock* counters() noexcept {
    return counters_.valid() ? &counters_ : nullptr;
  }
  const observability::CountersBlock* counters() const noexcept {
    return counters_.valid() ? &counters_ : nullptr;
  }
  void* data() const noexcept { return data_.data(); }
  PublishedCursor published_cursor() const noexcept {
    return PublishedCursor(producer_type(), &cursor(), available(), capacity());
  }
  // Highest sequence up to which every event is published.
  int64_t PublishedSequence() const noexcept;

  // ---- consumer slots ------------------------------------------------------
  // Takes a free slot (or one whose evicted owner is gone) for this process
  // named `name` (made unique with #2, #3...), with the late-joiner
  // protocol: the slot turns active (seq_cst), then its sequence is set from
  // the cursor so the producer never laps it. `oldest` starts at the oldest
  // event still protected by the other consumers instead of the latest
  // (a two-step handshake through kJoining, see JoinAtOldest).
  absl::StatusOr<int> AcquireSlot(std::string_view name, bool oldest);
  // Frees slot `index` if it still belongs to `generation`.
  void ReleaseSlot(int index, uint32_t generation) noexcept;
  // Lowest sequence over gating (kActive, kJoining) slots, or
  // `default_value`, from a scan during which no slot changed state.
  // Lock-free; retries only while consumers join or leave.
  int64_t MinimumSequence(int64_t default_value) const noexcept;
  // Evicts active consumers whose process is gone, whose heartbeat is older
  // than consumer_timeout, or (kEvict policy) that held back the producer at
  // `wrap_point` for longer than max_stall since `stall_started_ns`.
  // Returns how many were evicted. Any thread of the producer process.
  int EvictDeadConsumers(int64_t wrap_point, int64_t stall_started_ns) noexcept;

  // ---- liveness ------------------------------------------------------------
  void ProducerHeartbeat() noexcept;
  // True while the producer process recorded in the liveness block runs.
  bool ProducerAlive() const noexcept;

 private:
  Control() = default;
  template <typename T>
  T* At(size_t offset) const noexcept {
    return reinterpret_cast<T*>(static_cast<char*>(control_.data()) + offset);
  }
  // Whether a slot other than `except` that is being attached or is attached
  // (kAttaching, kJoining, kActive) carries `name`.
  bool NameTaken(std::string_view name, int except) const;
  void JoinAtLatest(ConsumerSlot& slot, uint32_t generation) noexcept;
  void JoinAtOldest(ConsumerSlot& slot, uint32_t generation) noexcept;
  // Lowest sequence over kActive slots other than `self`, or
  // `default_value`.
  int64_t OthersMinimum(const ConsumerSlot& self,
                        int64_t default_value) const noexcept;
  bool EvictedOwnerGone(const ConsumerSlot& slot) const noexcept;

  std::string name_;
  shm_internal::Segment control_;
  shm_internal::Segment data_;
  observability::CountersBlock counters_;
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_CONTROL_H_
