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

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_NOTIFIER_TABLE_H_
