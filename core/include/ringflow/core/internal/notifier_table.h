// ringflow/core/internal/notifier_table.h
//
// Provides the process's table of eventfd notifiers (EventNotifier, in
// processors/event_notifier.h): which wakeup signal each one watches, its
// eventfd, and whether it is armed. WakeupSignal::WakeAll fires the armed
// ones of its signal: one eventfd write per arming, then the notifier is
// idle again, so a producer publishing into a ring whose reader is armed
// but busy makes one write, not one per event.
//
// Process-local on purpose: a WakeupSignal may live in shared memory, which
// another process can write, so nothing it holds may lead the producer to a
// file descriptor or a pointer. This table is found by the signal's
// address; WakeAll looks at it only while this process has a notifier at
// all (AnyNotifiers).
//
// An entry's state word is (registration tag << 2) | phase. The tag changes
// with every registration in the slot, so a producer that read an entry
// just before it was reused cannot fire the new registration by mistake:
// its compare-exchange carries the old tag.
//
// Thread-safety: Add/Remove under the table's mutex (setup path); Arm and
// Disarm from the notifier's owner; Fire from any publisher.

#ifndef RINGFLOW_CORE_INTERNAL_NOTIFIER_TABLE_H_
#define RINGFLOW_CORE_INTERNAL_NOTIFIER_TABLE_H_

#include <atomic>
#include <cstdint>

namespace ringflow::core_internal {

class WakeupSignal;

// One per waiting reader, poller or async task that has waited: an async
// program with a thousand receiver tasks needs a thousand. A fire scans
// the entries in use only while some notifier of its signal is armed.
inline constexpr int kMaxNotifiers = 1024;

// Registers `fd` as a notifier of `signal`: its index, or -1 when the
// table is full. Setup path.
int AddNotifier(const WakeupSignal* signal, int fd);
// The notifier must be disarmed. Setup path.
void RemoveNotifier(int index);
// Arms notifier `index` and registers it as a waiter of its signal.
// Owner thread.
void ArmNotifier(int index, WakeupSignal& signal) noexcept;
// Disarms it if a publisher has not fired it meanwhile (then the waiter
// registration is dropped here; a fired one dropped it already). Waits out
// a fire in progress. Owner thread.
void DisarmNotifier(int index, WakeupSignal& signal) noexcept;
// Eventfd writes made for notifier `index` (statistic; relaxed).
uint64_t NotifierWakes(int index) noexcept;
// True while this process has a notifier (relaxed).
bool AnyNotifiers() noexcept;
// Fires every armed notifier of `signal`. Publisher side, from WakeAll.
void FireNotifiers(WakeupSignal& signal) noexcept;

// ---- space notifiers (SpaceNotifier: a producer waiting for room) -------
//
// Keyed by the ring's slot storage (every reader of the ring knows it).
// The handshake is asymmetric, because its reader side runs on every
// consumer batch: a consumer stores its sequence (release), then reads the
// process's armed count with a relaxed load and only a compiler fence in
// between (AfterConsumerAdvance). The producer arms (relaxed), then calls
// membarrier(PRIVATE_EXPEDITED), which makes every running thread of the
// process execute a full barrier before it returns, then re-reads the
// gating sequences. Either a consumer's sequence store came before its
// barrier (the producer's re-read sees it) or its count load came after
// (it sees the arming and fires). Consumers pay one load per batch, no
// fence; the producer pays the syscall once per arming.

// Registers `fd` as a space notifier of the ring whose slots start at
// `ring_key`: its index, or -1 when the table is full. Setup path.
int AddSpaceNotifier(const void* ring_key, int fd);
// Registers this process for membarrier(PRIVATE_EXPEDITED): false (errno
// set) where the kernel refuses. Setup path; idempotent.
bool RegisterMembarrier() noexcept;
// Arms space notifier `index`, then runs the membarrier: after it returns,
// the caller's re-read of the gating sequences completes the handshake.
// Owner thread.
void ArmSpaceNotifier(int index) noexcept;
// Disarms it unless a consumer fired it meanwhile; waits out a fire in
// progress. Owner thread.
void DisarmSpaceNotifier(int index) noexcept;
// Fires the armed space notifiers of `ring_key`. Consumer side, from
// AfterConsumerAdvance.
void FireSpaceNotifiers(const void* ring_key) noexcept;

// Space notifiers armed in this process (relaxed; see above).
extern std::atomic<int> armed_space_notifiers;

// Consumer side, right after a gating sequence store: wakes a producer
// waiting for room on an fd. A relaxed load and a predicted branch while
// no producer is armed. Never allocates.
inline void AfterConsumerAdvance(const void* ring_key) noexcept {
  // Compiler-only fence: keeps the caller's sequence store before the load
  // below in the instruction stream; the CPU-level barrier is the
  // producer's membarrier (see above).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (armed_space_notifiers.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    FireSpaceNotifiers(ring_key);
  }
}

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_NOTIFIER_TABLE_H_
