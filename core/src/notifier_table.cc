// ringflow/core/src/notifier_table.cc: the process's notifier table (see
// the header).

#include "ringflow/core/internal/notifier_table.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "ringflow/core/config.h"
#include "ringflow/core/internal/wakeup_signal.h"

namespace ringflow::core_internal {
namespace {

enum Phase : uint64_t { kIdle = 0, kArmed = 1, kFiring = 2, kPhaseMask = 3 };

struct Entry {
  // Which signal (an EventNotifier) or ring storage (a SpaceNotifier);
  // written before the tag that publishes it.
  std::atomic<const void*> key{nullptr};
  // A SpaceNotifier; written before the tag, read by firers (relaxed)
  // before they compare-exchange that tag.
  std::atomic<bool> space{false};
  std::atomic<uint64_t> state{0};  // (tag << 2) | phase
  std::atomic<uint64_t> wakes{0};  // eventfd writes (statistic)
  int fd = -1;                     // fixed while registered
  bool used = false;               // guarded by the mutex
};

struct Table {
  std::mutex mu;
  std::array<Entry, kMaxNotifiers> entries;
  std::atomic<int> high{0};   // one past the highest index ever used
  std::atomic<int> count{0};  // registered notifiers
  uint64_t next_tag = 1;      // guarded by mu
};

Table& TheTable() {
  static Table table;  // never destroyed before the notifiers using it
  return table;
}

int Add(const void* key, bool space, int fd) {
  Table& t = TheTable();
  std::lock_guard<std::mutex> lock(t.mu);
  for (int i = 0; i < kMaxNotifiers; ++i) {
    Entry& e = t.entries[i];
    if (e.used) continue;
    e.used = true;
    e.fd = fd;
    // Relaxed: published by the release store of the new tag below.
    e.space.store(space, std::memory_order_relaxed);
    // Relaxed: a statistic; published with the entry by the tag below.
    e.wakes.store(0, std::memory_order_relaxed);
    // Relaxed: published by the release store of the new tag below.
    e.key.store(key, std::memory_order_relaxed);
    // Release: a publisher that reads this tag (acquire) sees the signal
    // and fd above.
    e.state.store(t.next_tag++ << 2 | kIdle, std::memory_order_release);
    // Relaxed load: `high` is written only under the mutex we hold.
    // Release store: pairs with the acquire load in FireArmed, which then
    // sees this entry's tag and key.
    if (i >= t.high.load(std::memory_order_relaxed)) {
      t.high.store(i + 1, std::memory_order_release);
    }
    // Relaxed: a publisher finds the count through the waiter handshake
    // (the arm's seq_cst Register happens after this).
    t.count.fetch_add(1, std::memory_order_relaxed);
    return i;
  }
  return -1;
}

// Moves an armed entry to kFiring (ours to write), writes its eventfd
// once, then back to kIdle. False when it was not armed any more.
bool FireOne(Entry& e, uint64_t state) noexcept {
  const uint64_t tag = state & ~kPhaseMask;
  // Acq_rel: the same registration, still armed, becomes ours to fire.
  if (!e.state.compare_exchange_strong(state, tag | kFiring,
                                       std::memory_order_acq_rel)) {
    return false;
  }
  const uint64_t one = 1;
  // An eventfd write of 8 bytes cannot be short; EAGAIN (counter at its
  // maximum) still leaves the fd readable.
  [[maybe_unused]] const ssize_t written = ::write(e.fd, &one, sizeof one);
  // Relaxed: a statistic (wakes()); publishes no data.
  e.wakes.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// Releases a fired entry back to its owner.
void EndFire(Entry& e, uint64_t state) noexcept {
  // Release: the owner's Disarm may reuse the fd after this.
  e.state.store((state & ~kPhaseMask) | kIdle, std::memory_order_release);
}

// Fires every armed entry of kind `space` keyed `key`: one eventfd write
// each, then `disarmed()` (drops the arming's registration), then the entry
// goes back to its owner.
template <typename Disarmed>
void FireArmed(const void* key, bool space, Disarmed disarmed) noexcept {
  Table& t = TheTable();
  // Acquire: pairs with Add's release of `high`.
  const int high = t.high.load(std::memory_order_acquire);
  for (int i = 0; i < high; ++i) {
    Entry& e = t.entries[i];
    // Acquire: pairs with Add's release of the tag.
    const uint64_t state = e.state.load(std::memory_order_acquire);
    // Relaxed, both: published with the tag just read.
    if ((state & kPhaseMask) != kArmed ||
        e.space.load(std::memory_order_relaxed) != space ||
        e.key.load(std::memory_order_relaxed) != key) {
      continue;
    }
    if (!FireOne(e, state)) continue;
    disarmed();
    EndFire(e, state);
  }
}

}  // namespace

std::atomic<int> armed_space_notifiers{0};

int AddNotifier(const WakeupSignal* signal, int fd) {
  return Add(signal, /*space=*/false, fd);
}

int AddSpaceNotifier(const void* ring_key, int fd) {
  return Add(ring_key, /*space=*/true, fd);
}

void RemoveNotifier(int index) {
  Table& t = TheTable();
  std::lock_guard<std::mutex> lock(t.mu);
  Entry& e = t.entries[index];
  // A new tag: a publisher holding the old one cannot match it any more.
  e.state.store(t.next_tag++ << 2 | kIdle, std::memory_order_release);
  // Relaxed: the new tag above already keeps publishers off this entry.
  e.key.store(nullptr, std::memory_order_relaxed);
  e.used = false;
  // Relaxed: AnyNotifiers is a hint; a stale non-zero costs one scan.
  t.count.fetch_sub(1, std::memory_order_relaxed);
}

void ArmNotifier(int index, WakeupSignal& signal) noexcept {
  Entry& e = TheTable().entries[index];
  // Relaxed: the phase is kIdle here (only this owner arms), so only the
  // tag is read, and it changes only in Add/Remove, before and after the
  // owner's use.
  const uint64_t tag = e.state.load(std::memory_order_relaxed) & ~kPhaseMask;
  // Relaxed: published by the seq_cst Register below, which a publisher's
  // seq_cst load of the waiter count reads before it fires.
  e.state.store(tag | kArmed, std::memory_order_relaxed);
  signal.Register();
}

void DisarmNotifier(int index, WakeupSignal& signal) noexcept {
  Entry& e = TheTable().entries[index];
  // Acquire: pairs with a publisher's release store of kIdle after a fire.
  uint64_t state = e.state.load(std::memory_order_acquire);
  const uint64_t tag = state & ~kPhaseMask;
  uint64_t armed = tag | kArmed;
  // Acq_rel: whoever moves it out of kArmed drops the waiter registration,
  // exactly once.
  if (e.state.compare_exchange_strong(armed, tag | kIdle,
                                      std::memory_order_acq_rel)) {
    signal.Unregister();
    return;
  }
  // Acquire: pairs with the publisher's release store of kIdle after its
  // write: the fd is ours again once it leaves kFiring.
  while ((e.state.load(std::memory_order_acquire) & kPhaseMask) == kFiring) {
    CpuRelax();
  }
}

uint64_t NotifierWakes(int index) noexcept {
  // Relaxed: a statistic.
  return TheTable().entries[index].wakes.load(std::memory_order_relaxed);
}

bool AnyNotifiers() noexcept {
  // Relaxed: a publisher that matters reads it after the seq_cst load of
  // the waiter count that saw an arm's Register, which AddNotifier's
  // increment happens before.
  return TheTable().count.load(std::memory_order_relaxed) != 0;
}

void FireNotifiers(WakeupSignal& signal) noexcept {
  FireArmed(&signal, /*space=*/false,
            [&signal] { signal.Unregister(); });  // the arm's registration
}

bool RegisterMembarrier() noexcept {
  static const bool registered =
      ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
                0) == 0;
  return registered;
}

void ArmSpaceNotifier(int index) noexcept {
  Entry& e = TheTable().entries[index];
  // Relaxed: see ArmNotifier (only the owner arms).
  const uint64_t tag = e.state.load(std::memory_order_relaxed) & ~kPhaseMask;
  // Relaxed, both: published to every consumer by the membarrier below.
  e.state.store(tag | kArmed, std::memory_order_relaxed);
  armed_space_notifiers.fetch_add(1, std::memory_order_relaxed);
  // Every running thread of this process executes a full barrier before
  // this returns (RegisterMembarrier succeeded in SpaceNotifier::Create).
  ::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

void DisarmSpaceNotifier(int index) noexcept {
  Entry& e = TheTable().entries[index];
  // Acquire: pairs with a consumer's release store of kIdle after a fire.
  const uint64_t tag = e.state.load(std::memory_order_acquire) & ~kPhaseMask;
  uint64_t armed = tag | kArmed;
  // Acq_rel: whoever moves it out of kArmed drops the armed count, once.
  if (e.state.compare_exchange_strong(armed, tag | kIdle,
                                      std::memory_order_acq_rel)) {
    // Relaxed: the count is the consumers' hint (AfterConsumerAdvance); a
    // stale non-zero costs them one table scan, never a missed wake.
    armed_space_notifiers.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  // Acquire: pairs with EndFire's release store.
  while ((e.state.load(std::memory_order_acquire) & kPhaseMask) == kFiring) {
    CpuRelax();
  }
}

void FireSpaceNotifiers(const void* ring_key) noexcept {
  FireArmed(ring_key, /*space=*/true, [] {
    // Relaxed: as in DisarmSpaceNotifier.
    armed_space_notifiers.fetch_sub(1, std::memory_order_relaxed);
  });
}

}  // namespace ringflow::core_internal
