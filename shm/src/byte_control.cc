// The byte ring's parts, joins and drain lock in shared memory
// (byte_control.h).
#include "ringflow/shm/internal/byte_control.h"

#include <errno.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/producer_backoff.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/shm/internal/liveness.h"

namespace ringflow::shm_internal {

core_internal::ByteRingParts ByteRingPartsFor(
    Control& control, const core_internal::ExternalReaders* readers) {
  core_internal::ByteRingParts parts;
  parts.buffer = static_cast<std::byte*>(control.data());
  parts.tail = &control.byte_tail();
  parts.floor = &control.byte_floor();
  parts.drain_lock = &control.byte_drain_lock();
  parts.cached_gating = &control.byte_cached_gating();
  parts.gate = &control.gate();
  parts.signal = &control.wakeup();
  parts.counters = &control.byte_counters();
  parts.readers = readers;
  parts.lock_tag = static_cast<uint32_t>(CurrentPid());
  parts.stamp_claims = true;
  return parts;
}

ByteRingOptions ByteOptionsFor(const Control& control,
                               WaitStrategyKind wait_strategy,
                               int64_t wait_timeout_ns) {
  const RingGeometry& g = control.geometry();
  ByteRingOptions options;
  options.capacity = g.capacity;
  options.producer_type = g.producer_type;
  // A blocking wait wakes at least every `wait_timeout_ns` (a reader
  // process heartbeats between its waits).
  options.wait_strategy = wait_strategy == WaitStrategyKind::kBlocking
                              ? WaitStrategyKind::kTimeoutBlocking
                              : wait_strategy;
  options.wait_timeout = absl::Nanoseconds(wait_timeout_ns);
  options.max_readers = g.max_consumers;
  options.name = control.ring_name();
  return options;
}

core_internal::ExternalReaders ExternalReadersFor(const SharedGating* gating) {
  core_internal::ExternalReaders readers;
  readers.owner = gating;
  readers.minimum = [](const void* owner, int64_t default_value) noexcept {
    return static_cast<const SharedGating*>(owner)->MinimumSequence(
        default_value);
  };
  readers.on_stall = [](const void* owner, int64_t wrap_point,
                        uint32_t tries) noexcept {
    static_cast<const SharedGating*>(owner)->OnStall(wrap_point, tries);
  };
  return readers;
}

namespace {

// The reader's exit (its handle's release): raises the floor to its
// position while its slot is still its own and active, then frees it.
void RetireByteReader(void* owner, int index, uint32_t generation) noexcept {
  auto& control = *static_cast<Control*>(owner);
  if (index < 0 || index >= control.max_consumers()) return;
  ConsumerSlot& slot = control.slot(index);
  const bool locked = LockByteDrain(control, /*timeout_ns=*/2'000'000'000);
  // Acquire: the slot's state as the producer's eviction left it; an
  // evicted reader's position is not trusted (it may have read on past
  // records the producer reused), eviction raised the floor already.
  const uint32_t word = slot.state.load(std::memory_order_acquire);
  if (locked && word == ConsumerSlot::Word(generation, ConsumerSlot::kActive)) {
    // Acquire: pairs with the reader's release of its position.
    const int64_t position = slot.sequence.LoadAcquire();
    // Relaxed: the floor is written under the drain lock only.
    if (position > control.byte_floor().LoadRelaxed()) {
      // Seq_cst: as ByteRingState::RetireReader (before the slot turns
      // free, so a producer whose scan misses the slot reads this floor).
      control.byte_floor().StoreSeqCst(position);
    }
  }
  control.UnregisterConsumer(index, generation);
  if (locked) UnlockByteDrain(control);
}

}  // namespace

absl::StatusOr<ByteReaderJoin> JoinByteReader(Control& control,
                                              std::string_view name,
                                              ReaderStart start) {
  if (control.kind() != RingKind::kBytes || control.data() == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("ring '", control.ring_name(), "' is not a byte ring ",
                     "mapped for reading"));
  }
  if (!LockByteDrain(control, /*timeout_ns=*/2'000'000'000)) {
    return absl::UnavailableError(absl::StrCat(
        "byte ring '", control.ring_name(), "': its drain lock is held by pid ",
        // Relaxed: the holder's tag for the message; it orders nothing.
        control.byte_drain_lock().load(std::memory_order_relaxed),
        " for more than 2 s"));
  }
  // Under the drain lock: no producer drains (raises the floor) while the
  // slot joins at the oldest record (Control::JoinAtOldest, whose base is
  // the floor for a byte ring; the proof is ByteRingState::JoinReader's).
  absl::StatusOr<int> index = control.RegisterConsumer(name, /*oldest=*/true);
  UnlockByteDrain(control);
  if (!index.ok()) return index.status();
  ByteReaderJoin join;
  join.handle = control.ConsumerHandleFor(*index, &RetireByteReader);
  // Relaxed: stored by the join on this thread.
  join.start = join.handle.sequence().LoadRelaxed();
  if (start == ReaderStart::kLatest) {
    // As ByteRing::RegisterReader: claims this load (acquire, pairs with
    // the producers' tail stores) leaves out start at or above it.
    join.discard_below = control.byte_tail().LoadAcquire() & ~int64_t{1};
  }
  return join;
}

bool LockByteDrain(Control& control, int64_t timeout_ns) noexcept {
  const auto tag = static_cast<uint32_t>(CurrentPid());
  std::atomic<uint32_t>& lock = control.byte_drain_lock();
  core_internal::ProducerBackoff backoff;
  const int64_t deadline = MonotonicNanos() + timeout_ns;
  // Acquire: pairs with the release in UnlockByteDrain and
  // ByteRingState::UnlockDrain (the previous holder's floor and slots).
  while (lock.exchange(tag, std::memory_order_acquire) != 0) {
    if (backoff.tries() > 1024 && backoff.tries() % 256 == 0) {
      ReleaseStaleByteDrainLock(control);
      if (MonotonicNanos() >= deadline) return false;
    }
    backoff.Pause();
  }
  return true;
}

void UnlockByteDrain(Control& control) noexcept {
  // Release: publishes the floor and slot changes made under the lock.
  // Pairs with the acquire exchanges of the next holder.
  control.byte_drain_lock().store(0, std::memory_order_release);
}

bool ReleaseStaleByteDrainLock(Control& control) noexcept {
  std::atomic<uint32_t>& lock = control.byte_drain_lock();
  // Relaxed: a hint; the CAS below decides.
  uint32_t holder = lock.load(std::memory_order_relaxed);
  if (holder == 0 || holder == static_cast<uint32_t>(CurrentPid()) ||
      holder > static_cast<uint32_t>(INT32_MAX)) {
    return false;
  }
  if (::kill(static_cast<pid_t>(holder), 0) == 0 || errno != ESRCH) {
    return false;
  }
  // Acq_rel: frees exactly the dead holder's lock; what it wrote under the
  // lock (a floor it raised) stays as it was.
  return lock.compare_exchange_strong(holder, 0, std::memory_order_acq_rel,
                                      std::memory_order_relaxed);
}

void RaiseByteFloor(Control& control, int64_t position) noexcept {
  if (!LockByteDrain(control, /*timeout_ns=*/2'000'000'000)) return;
  // Relaxed: the floor is written under the drain lock only.
  if (position > control.byte_floor().LoadRelaxed()) {
    // Seq_cst: read by producers before their gating scan
    // (ByteRingState::Gating) and by joiners.
    control.byte_floor().StoreSeqCst(position);
  }
  UnlockByteDrain(control);
}

absl::StatusOr<ByteRingStat> ReadByteRingStat(const Control& control) {
  if (control.kind() != RingKind::kBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ring '", control.ring_name(), "' is an ",
        std::string(RingKindName(control.kind())), ", not a byte ring"));
  }
  using Counters = core_internal::ByteRingCounters;
  const Counters& counters = control.byte_counters();
  ByteRingStat stat;
  stat.capacity = control.capacity();
  stat.producer_type = control.producer_type();
  // Acquire: pairs with the producers' tail stores and the drainers'
  // floor stores; display only.
  stat.tail = control.byte_tail().LoadAcquire() & ~int64_t{1};
  stat.floor = control.byte_floor().LoadAcquire();
  stat.records = counters.Get(Counters::kRecords);
  stat.payload_bytes = counters.Get(Counters::kPayloadBytes);
  stat.padding_bytes = counters.Get(Counters::kPaddingBytes);
  stat.skipped_bytes = counters.Get(Counters::kSkippedBytes);
  stat.aborted_records = counters.Get(Counters::kAbortedRecords);
  stat.full_waits = counters.Get(Counters::kFullWaits);
  stat.try_claim_failures = counters.Get(Counters::kTryClaimFailures);
  stat.recovered_records = counters.Get(Counters::kRecoveredRecords);
  stat.recovered_bytes = counters.Get(Counters::kRecoveredBytes);
  const int64_t readers = control.MinimumSequence(INT64_MAX);
  stat.gating = readers == INT64_MAX ? stat.floor : readers;
  for (int i = 0; i < control.max_consumers(); ++i) {
    const ConsumerSlot& slot = control.slot(i);
    // Acquire: pairs with the state changes of the slot's owner and of
    // eviction; the fields below are display only (relaxed).
    const auto state =
        ConsumerSlot::StateOf(slot.state.load(std::memory_order_acquire));
    if (state != ConsumerSlot::kActive && state != ConsumerSlot::kEvicted) {
      continue;
    }
    ByteReaderStat reader;
    reader.slot = i;
    reader.name.assign(slot.name, strnlen(slot.name, sizeof(slot.name)));
    // Relaxed: display values, written before the slot turned active
    // (the state's acquire load above orders them).
    reader.pid = slot.pid.load(std::memory_order_relaxed);
    reader.state = state;
    reader.position = slot.sequence.LoadAcquire();
    reader.lag_bytes = std::max<int64_t>(0, stat.tail - reader.position);
    reader.evictions = slot.evictions.load(std::memory_order_relaxed);
    stat.readers.push_back(std::move(reader));
  }
  return stat;
}

}  // namespace ringflow::shm_internal
