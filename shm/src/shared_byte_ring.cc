// SharedByteRing: creation, resumption (claim recovery), the timed claim,
// in-process readers and housekeeping (shared_byte_ring.h).
#include "ringflow/shm/shared_byte_ring.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/futex.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/shm/shared_ring_options.h"

namespace ringflow::shm {

absl::StatusOr<std::unique_ptr<SharedByteRing>> SharedByteRing::Create(
    const SharedByteRingOptions& options) {
  RINGFLOW_RETURN_IF_ERROR(ValidateByteRingOptions(options.ring));
  SharedRingOptions shared;
  shared.ring.name = options.ring.name;
  shared.ring.capacity = options.ring.capacity;
  shared.ring.producer_type = options.ring.producer_type;
  shared.ring.wait_strategy = options.ring.wait_strategy;
  shared.ring.wait_timeout = options.ring.wait_timeout;
  shared.ring.max_consumers = options.ring.max_readers;
  shared.ring.counters = options.ring.counters;
  shared.mode = options.mode;
  shared.world_writable = options.world_writable;
  shared.consumer_timeout = options.consumer_timeout;
  shared.slow_consumer_policy = options.slow_consumer_policy;
  shared.max_stall = options.max_stall;
  shm_internal::RingIdentity identity;
  identity.event_size = 1;
  identity.event_alignment = static_cast<uint32_t>(kByteRecordAlignment);
  identity.kind = shm_internal::RingKind::kBytes;
  bool resumed = false;
  RINGFLOW_ASSIGN_OR_RETURN(
      std::unique_ptr<shm_internal::Control> control,
      shm_internal::Control::CreateOrResume(shared, identity, &resumed));
  return std::unique_ptr<SharedByteRing>(
      new SharedByteRing(options, std::move(control), resumed));
}

SharedByteRing::SharedByteRing(const SharedByteRingOptions& options,
                               std::unique_ptr<shm_internal::Control> control,
                               bool resumed)
    : control_(std::move(control)),
      resumed_(resumed),
      gating_(control_.get(), &stall_),
      readers_(shm_internal::ExternalReadersFor(&gating_)),
      state_(options.ring,
             shm_internal::ByteRingPartsFor(*control_, &readers_)) {
  if (resumed_) {
    // The dead producer may have died holding the drain lock, and inside
    // claims: both are undone before any claim of ours.
    shm_internal::ReleaseStaleByteDrainLock(*control_);
    (void)state_.RecoverClaims();
  }
  housekeeping_ = std::thread([this] { Housekeeping(); });
}

SharedByteRing::~SharedByteRing() {
  // Relaxed: the wake below (release) carries it.
  stopping_.store(true, std::memory_order_relaxed);
  stall_.wake.fetch_add(1, std::memory_order_release);
  core_internal::FutexWake(&stall_.wake, 1);
  housekeeping_.join();
}

absl::StatusOr<WriteClaim> SharedByteRing::Claim(int64_t length,
                                                 absl::Duration timeout) {
  RINGFLOW_RETURN_IF_ERROR(ValidateRecordLength(length));
  core_internal::ClaimLayout layout;
  const core_internal::ClaimStatus status =
      state_.ClaimWithin(length, timeout, layout);
  if (status == core_internal::ClaimStatus::kClaimed) {
    return core_internal::WriteClaimAccess::Make(&state_, layout);
  }
  return core_internal::ClaimFailure(status, control_->ring_name(), length,
                                     timeout, state_.capacity());
}

absl::StatusOr<ByteReader> SharedByteRing::RegisterReader(std::string_view name,
                                                          ReaderStart start) {
  RINGFLOW_ASSIGN_OR_RETURN(
      shm_internal::ByteReaderJoin join,
      shm_internal::JoinByteReader(*control_, name, start));
  return core_internal::ByteReaderAccess::Make(&state_, std::move(join.handle),
                                               join.start, join.discard_below);
}

void SharedByteRing::Housekeeping() noexcept {
  // Acquire: pairs with the release increments of `wake`.
  uint32_t seen = stall_.wake.load(std::memory_order_acquire);
  // Relaxed: the destructor's store is ordered before its release
  // increment of `wake`, which the acquire loads here see first.
  while (!stopping_.load(std::memory_order_relaxed)) {
    control_->ProducerHeartbeat();
    // Relaxed: hints from the stalled producer (SharedGating::OnStall);
    // eviction re-checks every reader against the slot table.
    control_->EvictDeadConsumers(
        stall_.wrap_point.load(std::memory_order_relaxed),
        stall_.started_ns.load(std::memory_order_relaxed));
    core_internal::FutexWait(&stall_.wake, seen, kHousekeepingPeriodNs);
    seen = stall_.wake.load(std::memory_order_acquire);
  }
}

}  // namespace ringflow::shm
