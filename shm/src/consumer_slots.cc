// Control's consumer slot table: the shm twin of ConsumerTable. Claiming,
// the two join protocols, release, the producer's gating scan and
// eviction.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/shm/internal/byte_control.h"
#include "ringflow/shm/internal/control.h"

namespace ringflow::shm_internal {

using shm_internal::CurrentPid;
using shm_internal::MonotonicNanos;
using shm_internal::ProcessStartTicks;

namespace {
// Relaxed: set by a test before any attach; no data rides on it.
std::atomic<void (*)(int)> attach_hook{nullptr};
}  // namespace

void Control::SetAttachHookForTesting(void (*hook)(int slot)) noexcept {
  attach_hook.store(hook, std::memory_order_relaxed);
}

bool Control::NameTaken(std::string_view name, int except) const {
  for (int i = 0; i < max_consumers(); ++i) {
    if (i == except) continue;  // the caller's own slot, still named as before
    const ConsumerSlot& s = slot(i);
    const auto state =
        ConsumerSlot::StateOf(s.state.load(std::memory_order_acquire));
    if ((state == ConsumerSlot::kActive || state == ConsumerSlot::kAttaching ||
         state == ConsumerSlot::kJoining) &&
        name == std::string_view(s.name, strnlen(s.name, sizeof(s.name)))) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<int> Control::RegisterConsumer(std::string_view requested,
                                              bool oldest) {
  if (!requested.empty()) {
    RINGFLOW_RETURN_IF_ERROR(ValidateName("consumer name", requested));
  }
  if (data_.data() == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ring '", name_, "' is only inspected here: no consumer can join"));
  }
  // The lock that proves this consumer alive lives on an open file of its
  // own: locks of one open file do not conflict with each other, and the
  // producer's housekeeping probes through its own.
  RINGFLOW_ASSIGN_OR_RETURN(const int fd, control_.Reopen());
  const int32_t pid = CurrentPid();
  const uint64_t start = ProcessStartTicks(pid);
  for (int i = 0; i < max_consumers(); ++i) {
    ConsumerSlot& s = slot(i);
    // Lock first: a held lock means a live owner (or another claimant);
    // a free lock on a slot that is not kFree means its owner died, at any
    // step, and the slot may be taken over.
    if (!shm_internal::TryLockByte(fd, SlotLockByte(i))) continue;
    // Every live owner, in-process ones too, holds the lock on an open file
    // of its own, which conflicts with ours: past this point the slot is
    // kFree or its owner is gone.
    uint32_t word = s.state.load(std::memory_order_acquire);
    const uint32_t generation = ConsumerSlot::GenerationOf(word) + 1;
    // Acq_rel: the claim is exclusive across processes; the acquire half
    // pairs with the previous owner's release of the slot.
    if (!s.state.compare_exchange_strong(
            word, ConsumerSlot::Word(generation, ConsumerSlot::kAttaching),
            std::memory_order_acq_rel)) {
      // The state changed since we read it (a release or an eviction in
      // between): drop our lock on it and move on.
      shm_internal::UnlockByte(fd, SlotLockByte(i));
      continue;
    }
    if (auto* hook = attach_hook.load(std::memory_order_relaxed)) hook(i);
    // The slot is ours (attaching): fill it in. Relaxed stores below: the
    // seq_cst store of kJoining/kActive further down publishes them to the
    // producer and to tools (acquire loads of the state word).
    const std::string name = UniqueConsumerName(
        requested, i, [&](std::string_view n) { return NameTaken(n, i); });
    std::memset(s.name, 0, sizeof(s.name));
    std::memcpy(s.name, name.data(), name.size());
    s.pid.store(pid, std::memory_order_relaxed);
    s.start_ticks.store(start, std::memory_order_relaxed);
    s.heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
    s.generation.store(generation, std::memory_order_relaxed);
    s.evicted_at_ns.store(0, std::memory_order_relaxed);
    const int old_counters = s.counters.load(std::memory_order_relaxed);
    s.counters.store(-1, std::memory_order_relaxed);
    if (counters_.valid()) {
      // Free ignores an index outside the block (the slot is writable by
      // every consumer process).
      if (old_counters >= 0) {
        counters_.Free(old_counters, core_internal::ConsumerCounters::kCount);
      }
      std::string labels;
      const auto specs =
          core_internal::ConsumerCounters::Specs(name_, name, labels);
      s.counters.store(counters_.Allocate(specs, nullptr),
                       std::memory_order_relaxed);
    }
    // Release: UnregisterConsumer's acquire exchange takes the descriptor.
    slot_fds_[i].store(fd, std::memory_order_release);
    if (oldest) {
      JoinAtOldest(s, generation);
    } else {
      JoinAtLatest(s, generation);
    }
    return i;
  }
  ::close(fd);
  return absl::ResourceExhaustedError(
      absl::StrCat("all ", max_consumers(), " consumer slots of ring '", name_,
                   "' are taken by live consumers"));
}

// Late-joiner protocol (as RingBuffer::RegisterConsumer): the sequence is
// set from the cursor before and after the slot turns active, all seq_cst.
// Partner: the producer's FenceBeforeGatingRead (SP: seq_cst cursor store;
// MP: the seq_cst fetch_add claim) followed by its seq_cst scan of the
// state words in MinimumSequence. Either the producer's scan sees us
// active, or our second cursor load sees a cursor at least as new as the
// one it stored before that scan, so it never claims past
// `latest + capacity` on a minimum that left us out.
void Control::JoinAtLatest(ConsumerSlot& s, uint32_t generation) noexcept {
  s.sequence.StoreSeqCst(cursor().LoadSeqCst());
  s.state.store(ConsumerSlot::Word(generation, ConsumerSlot::kActive),
                std::memory_order_seq_cst);
  s.sequence.StoreSeqCst(cursor().LoadSeqCst());
}

// start=oldest: begin at S, the lowest sequence another fully joined
// consumer holds, so we read S+1.. while the producer can only have
// claimed up to S + capacity. Why this is safe, with every load and store
// below seq_cst:
//  1. Placeholder P0 = min(other active consumers, cursor), stored before
//     the slot turns kJoining (which gates like kActive). A producer scan
//     that sees us uses P0 or the final S >= P0.
//  2. After kJoining, M = min over other *kActive* slots (kJoining ones are
//     someone else's handshake and are skipped) and the cursor, and
//     S = max(P0, M). A producer scan that missed us read our state before
//     our kJoining store; the scan is stable (MinimumSequence re-reads
//     every state word after its sequence loads and retries on a change),
//     so every sequence it used was loaded before that, hence before our
//     loads of the same sequences: it saw values <= ours (coherence of
//     seq_cst loads; sequences only grow once a slot is kActive). If it
//     missed the consumer that gave M too, that consumer was joining and
//     the same argument applied to it bounds the scan by its start <= M.
//     Without other consumers the scan's minimum is at most the cursor the
//     producer stored before it, which our cursor load sees.
//  3. The final S is stored before kActive, so a consumer joining after us
//     and reading us as kActive reads S or later.
void Control::JoinAtOldest(ConsumerSlot& s, uint32_t generation) noexcept {
  const int64_t placeholder = OthersMinimum(s, JoinBase().LoadSeqCst());
  s.sequence.StoreSeqCst(placeholder);
  s.state.store(ConsumerSlot::Word(generation, ConsumerSlot::kJoining),
                std::memory_order_seq_cst);
  const int64_t minimum = OthersMinimum(s, JoinBase().LoadSeqCst());
  s.sequence.StoreSeqCst(std::max(placeholder, minimum));
  // A CAS, not a store: the producer may have evicted us meanwhile (a
  // joiner that stalls it past max_stall), and that must stick; the
  // consumer then reports kEvicted. Seq_cst: the producer's scan and later
  // joiners (OthersMinimum) read the state word seq_cst; a failed CAS
  // leaves kEvicted for the consumer's acquire load in Evicted().
  uint32_t joining = ConsumerSlot::Word(generation, ConsumerSlot::kJoining);
  s.state.compare_exchange_strong(
      joining, ConsumerSlot::Word(generation, ConsumerSlot::kActive),
      std::memory_order_seq_cst);
}

// Event ring: min(default, the others' sequences), default being the
// published cursor, at or above every consumer. Byte ring: the others'
// minimum, or default (the floor) only when there is no other reader: the
// floor rises only while no reader is active, so with readers it is a
// stale lower bound whose bytes were reused (ByteRingState::OthersMinimum).
int64_t Control::OthersMinimum(const ConsumerSlot& self,
                               int64_t default_value) const noexcept {
  int64_t minimum = INT64_MAX;
  for (int i = 0; i < max_consumers(); ++i) {
    const ConsumerSlot& s = slot(i);
    if (&s == &self) continue;
    // Seq_cst loads: see JoinAtOldest, step 2.
    if (ConsumerSlot::StateOf(s.state.load(std::memory_order_seq_cst)) ==
        ConsumerSlot::kActive) {
      minimum = std::min(minimum, s.sequence.LoadSeqCst());
    }
  }
  if (geometry_.kind == RingKind::kBytes) {
    return minimum == INT64_MAX ? default_value : minimum;
  }
  return std::min(minimum, default_value);
}

core_internal::ConsumerHandle Control::ConsumerHandleFor(
    int index, core_internal::ConsumerHandle::ReleaseFn release) {
  ConsumerSlot& s = slot(index);
  // Relaxed: written by this process's RegisterConsumer before it returned
  // the index (same thread, or handed over with the index).
  const int first = s.counters.load(std::memory_order_relaxed);
  core_internal::CountersBlock* block = counters();
  const bool valid =
      block != nullptr && first >= 0 &&
      first <= block->capacity() - core_internal::ConsumerCounters::kCount;
  if (release == nullptr) {
    release = [](void* owner, int i, uint32_t generation) noexcept {
      static_cast<Control*>(owner)->UnregisterConsumer(i, generation);
    };
  }
  return core_internal::ConsumerHandle(
      this, release, index, &s.sequence,
      valid ? core_internal::ConsumerCounters(&block->value(first))
            : core_internal::ConsumerCounters(),
      std::string(s.name, strnlen(s.name, sizeof(s.name))),
      s.generation.load(std::memory_order_relaxed));
}

void Control::UnregisterConsumer(int index, uint32_t generation) noexcept {
  if (index < 0 || index >= max_consumers()) return;
  ConsumerSlot& s = slot(index);
  for (const auto state : {ConsumerSlot::kActive, ConsumerSlot::kEvicted,
                           ConsumerSlot::kJoining}) {
    uint32_t word = ConsumerSlot::Word(generation, state);
    // Release: the producer may reuse our slots once it sees the slot free.
    if (s.state.compare_exchange_strong(
            word, ConsumerSlot::Word(generation, ConsumerSlot::kFree),
            std::memory_order_release, std::memory_order_relaxed)) {
      break;
    }
  }
  // After the slot is free: closing the descriptor drops its lock, so a
  // claimant that sees the lock free also sees the slot free or owned by a
  // newer generation. Acq_rel: pairs with RegisterConsumer's release store.
  const int fd = slot_fds_[index].exchange(-1, std::memory_order_acq_rel);
  if (fd >= 0) ::close(fd);
}

int64_t Control::MinimumSequence(int64_t default_value) const noexcept {
  const int n = max_consumers();  // private copy, <= kMaxConsumers
  std::array<uint32_t, kMaxConsumers> seen;
  for (;;) {
    int64_t minimum = default_value;
    for (int i = 0; i < n; ++i) {
      const ConsumerSlot& s = slot(i);
      // Seq_cst: as ConsumerTable::MinimumSequence (late-joiner handshake,
      // partner: the joiner's seq_cst state store then cursor load).
      seen[i] = s.state.load(std::memory_order_seq_cst);
      if (ConsumerSlot::Gates(seen[i])) {
        // Seq_cst (a plain load on x86): start=oldest joiners compare the
        // values they read with the ones we read (JoinAtOldest, step 2).
        // It also pairs with the consumer's release of its sequence.
        minimum = std::min(minimum, s.sequence.LoadSeqCst());
      }
    }
    // Stable scan: no slot changed state while we read the sequences, so
    // every sequence load above precedes the last state load of each slot.
    // A change means a join, leave or eviction: rare, and we retry.
    bool stable = true;
    for (int i = 0; i < n && stable; ++i) {
      stable = slot(i).state.load(std::memory_order_seq_cst) == seen[i];
    }
    if (stable) return minimum;
  }
}

int Control::EvictDeadConsumers(int64_t wrap_point,
                                int64_t stall_started_ns) noexcept {
  const int64_t now = MonotonicNanos();
  const int32_t self = CurrentPid();
  const bool bytes = geometry_.kind == RingKind::kBytes;
  // A byte ring's drain lock left by a process that died holding it.
  if (bytes) ReleaseStaleByteDrainLock(*this);
  int evicted = 0;
  for (int i = 0; i < max_consumers(); ++i) {
    ConsumerSlot& s = slot(i);
    uint32_t word = s.state.load(std::memory_order_acquire);
    const auto state = ConsumerSlot::StateOf(word);
    if (state == ConsumerSlot::kFree || state == ConsumerSlot::kEvicted) {
      continue;
    }
    // The owner's lock sits on an open file of the owner's; ours never
    // holds a slot lock, so any lock is the owner's.
    const bool gone = !control_.ByteLockedByOther(SlotLockByte(i));
    if (state == ConsumerSlot::kAttaching) {
      // A claimant that died inside RegisterConsumer: hand the slot back.
      // Acq_rel: only the claimant generation we saw is freed.
      if (gone && s.state.compare_exchange_strong(
                      word,
                      ConsumerSlot::Word(ConsumerSlot::GenerationOf(word),
                                         ConsumerSlot::kFree),
                      std::memory_order_acq_rel)) {
        ++evicted;
      }
      continue;
    }
    // Relaxed: liveness fields are statistics written by the consumer.
    const int32_t pid = s.pid.load(std::memory_order_relaxed);
    // In-process consumers (processors on this producer's ring) do not
    // heartbeat: they live exactly as long as we do.
    const bool silent =
        pid != self && now - s.heartbeat_ns.load(std::memory_order_relaxed) >
                           geometry_.consumer_timeout_ns;
    const bool stalling = geometry_.max_stall_ns > 0 && stall_started_ns > 0 &&
                          now - stall_started_ns > geometry_.max_stall_ns &&
                          s.sequence.LoadAcquire() < wrap_point;
    if (!gone && !silent && !stalling) continue;
    // Byte ring: the position the reader had released while it still
    // gated (read before the eviction, so every record below it is intact
    // and committed); the floor rises to it below, or producers with no
    // reader left would drain from an older floor across reused bytes.
    // Acquire: pairs with the reader's release of its position.
    const int64_t position = bytes ? s.sequence.LoadAcquire() : 0;
    // Acq_rel: only the owner generation we saw is evicted.
    if (s.state.compare_exchange_strong(
            word,
            ConsumerSlot::Word(ConsumerSlot::GenerationOf(word),
                               ConsumerSlot::kEvicted),
            std::memory_order_acq_rel)) {
      if (bytes && ConsumerSlot::StateOf(word) == ConsumerSlot::kActive) {
        RaiseByteFloor(*this, position);
      }
      // The time of the eviction itself, not of the scan's start: a dead
      // pid found by a scan that began before the death must not look
      // evicted before it died. Relaxed: a statistic for tools.
      s.evicted_at_ns.store(MonotonicNanos(), std::memory_order_relaxed);
      s.evictions.fetch_add(1, std::memory_order_relaxed);
      ++evicted;
    }
  }
  if (evicted > 0) wakeup().WakeAll();  // evicted consumers notice sooner
  return evicted;
}

}  // namespace ringflow::shm_internal
