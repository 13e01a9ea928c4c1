#include "ringflow/core/internal/consumer_table.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/ring_options.h"

namespace ringflow::core_internal {

bool ConsumerTable::NameTaken(std::string_view name) const {
  for (int i = 0; i < capacity_; ++i) {
    // Relaxed: state is only written under mu_, which the caller holds.
    if (slots_[i].state.load(std::memory_order_relaxed) == kActive &&
        name == slots_[i].name) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<int> ConsumerTable::ClaimLocked(std::string_view requested) {
  if (!requested.empty()) {
    if (absl::Status s = ValidateName("consumer name", requested); !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < capacity_; ++i) {
    Slot& slot = slots_[i];
    // Relaxed: state is only written under mu_, which we hold.
    if (slot.state.load(std::memory_order_relaxed) != kFree) continue;

    const std::string name = UniqueConsumerName(
        requested, i, [&](std::string_view n) { return NameTaken(n); });
    std::memcpy(slot.name, name.data(), name.size());
    slot.name[name.size()] = '\0';

    slot.counters = ConsumerCounters();
    slot.counters_index = -1;
    if (counters_ != nullptr) {
      std::string labels;
      const std::vector<CounterSpec> specs =
          ConsumerCounters::Specs(ring_name_, name, labels);
      // A full block (every group taken or resting after a release) leaves
      // this consumer without statistics; registration never fails for it.
      const int first = counters_->Allocate(specs, nullptr);
      if (first >= 0) {
        slot.counters_index = first;
        slot.counters = ConsumerCounters(&counters_->value(first));
      }
    }
    return i;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("all ", capacity_,
                   " consumer slots are taken; raise "
                   "RingOptions::max_consumers"));
}

void ConsumerTable::ActivateLocked(int index) {
  // Seq_cst: the slot turns active after its fields are set, and this is
  // the store half of the late-joiner handshake (partner: the seq_cst state
  // loads in MinimumSequence).
  slots_[index].state.store(kActive, std::memory_order_seq_cst);
  if (index >= high_water_.load(std::memory_order_relaxed)) {
    // Seq_cst: pairs with the seq_cst load in MinimumSequence.
    high_water_.store(index + 1, std::memory_order_seq_cst);
  }
  // Seq_cst: after the stores above; pairs with the two seq_cst loads
  // that bracket MinimumSequence's scan, so a scan that read our slot as
  // free (or below high_water_) and did not retry finished every load
  // before this increment. Relaxed load: written under mu_ only.
  joins_.store(joins_.load(std::memory_order_relaxed) + 1,
               std::memory_order_seq_cst);
}

absl::StatusOr<int> ConsumerTable::Register(int64_t initial,
                                            std::string_view requested) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<int> index = ClaimLocked(requested);
  if (!index.ok()) return index;
  // Relaxed: published by the seq_cst state store in ActivateLocked.
  slots_[*index].sequence.StoreRelaxed(initial);
  ActivateLocked(*index);
  return index;
}

// Both protocols run under mu_, so no other join or release runs meanwhile:
// every other active slot has finished its own handshake, and its sequence
// only grows.
//
// kCursor (as LMAX addGatingSequences): the sequence is set to the cursor
// before the slot turns active and again after, all seq_cst. Partner: the
// producer's FenceBeforeGatingRead (SP: seq_cst cursor store; MP: the
// seq_cst fetch_add claim) followed by its seq_cst scan in
// MinimumSequence. Either the scan sees us active, or our second cursor
// load sees a cursor at least as new as the one the producer stored before
// that scan, so it never claims past `cursor + capacity` on a minimum that
// left us out.
//
// kOldest: begin at S, the lowest sequence another consumer holds, so we
// read S+1.. while the producer can only have claimed up to S + capacity.
// Why this is safe, every load and store below being seq_cst:
//  1. Placeholder P0 = min(other active slots, cursor), stored before the
//     slot turns active. A scan that sees us uses P0 or the final S >= P0.
//  2. After the slot is active (and joins_ incremented), M = min(other
//     active slots, cursor) and S = max(P0, M). A scan that left us out
//     and did not retry loaded every sequence before our increment of
//     joins_ (MinimumSequence's stable scan), hence before our loads of the
//     same sequences: it saw values <= ours (coherence; sequences only
//     grow). Without other consumers its minimum is at most the cursor the
//     producer stored (SP) or claimed (MP) before it, which our cursor
//     load sees.
absl::StatusOr<int> ConsumerTable::Join(const Sequence& cursor, JoinAt at,
                                        std::string_view requested) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<int> index = ClaimLocked(requested);
  if (!index.ok()) return index;
  Sequence& sequence = slots_[*index].sequence;
  if (at == JoinAt::kCursor) {
    // Seq_cst loads and stores: see the protocol above.
    sequence.StoreSeqCst(cursor.LoadSeqCst());
    ActivateLocked(*index);
    sequence.StoreSeqCst(cursor.LoadSeqCst());
  } else {
    // Seq_cst loads and stores: see the protocol above (kOldest).
    const int64_t placeholder =
        OthersMinimumLocked(*index, cursor.LoadSeqCst());
    sequence.StoreSeqCst(placeholder);
    ActivateLocked(*index);
    const int64_t minimum = OthersMinimumLocked(*index, cursor.LoadSeqCst());
    sequence.StoreSeqCst(std::max(placeholder, minimum));
  }
  return index;
}

int64_t ConsumerTable::OthersMinimumLocked(
    int self, int64_t default_value) const noexcept {
  int64_t minimum = default_value;
  // Relaxed: high_water_ and the states are written under mu_, which we
  // hold.
  const int n = high_water_.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i) {
    if (i == self) continue;
    if (slots_[i].state.load(std::memory_order_relaxed) == kActive) {
      // Seq_cst: Join's kOldest step 2 compares the values read here with
      // the ones MinimumSequence read (seq_cst) before our joins_ increment.
      minimum = std::min(minimum, slots_[i].sequence.LoadSeqCst());
    }
  }
  return minimum;
}

void ConsumerTable::Unregister(int index) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = slots_[index];
  // Release: the producer may reuse the consumer's last slots from now on.
  // Pairs with the seq_cst state load in MinimumSequence.
  slot.state.store(kFree, std::memory_order_release);
  if (counters_ != nullptr && slot.counters_index >= 0) {
    counters_->Free(slot.counters_index, ConsumerCounters::kCount);
  }
}

std::string ConsumerTable::name(int index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_[index].name;
}

ConsumerHandle MakeConsumerHandle(ConsumerTable& table, int index) {
  return ConsumerHandle(
      &table,
      [](void* owner, int i, uint32_t) noexcept {
        static_cast<ConsumerTable*>(owner)->Unregister(i);
      },
      index, &table.sequence(index), table.counters(index), table.name(index));
}

int ConsumerTable::ActiveCount() const noexcept {
  int count = 0;
  const int n = high_water_.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    // Relaxed: a statistic.
    if (slots_[i].state.load(std::memory_order_relaxed) == kActive) ++count;
  }
  return count;
}

}  // namespace ringflow::core_internal
