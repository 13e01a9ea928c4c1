#include "ringflow/core/consumer_table.h"

#include <atomic>
#include <cstdint>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringflow {

absl::StatusOr<int> ConsumerTable::Acquire(int64_t initial) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < capacity_; ++i) {
    Slot& slot = slots_[i];
    // Relaxed: state is only written under mu_, which we hold.
    if (slot.state.load(std::memory_order_relaxed) != kFree) continue;
    // Relaxed: published by the seq_cst state store below.
    slot.sequence.StoreRelaxed(initial);
    // Seq_cst: the slot turns active before high_water_ covers it and is
    // ordered against the caller's later seq_cst re-store of the sequence
    // (the late-joiner protocol in RingBuffer::RegisterConsumer).
    slot.state.store(kActive, std::memory_order_seq_cst);
    if (i >= high_water_.load(std::memory_order_relaxed)) {
      // Seq_cst: pairs with the acquire load in MinimumSequence.
      high_water_.store(i + 1, std::memory_order_seq_cst);
    }
    return i;
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "all ", capacity_, " consumer slots are taken; raise "
      "RingOptions::max_consumers"));
}

void ConsumerTable::Release(int index) {
  std::lock_guard<std::mutex> lock(mu_);
  // Release: the producer may reuse the consumer's last slots from now on.
  // Pairs with the acquire state load in MinimumSequence.
  slots_[index].state.store(kFree, std::memory_order_release);
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

}  // namespace ringflow
