#include "ringflow/core/internal/consumer_table.h"

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

absl::StatusOr<int> ConsumerTable::Register(int64_t initial,
                                            std::string_view requested) {
  if (!requested.empty()) {
    if (absl::Status s = ValidateName("consumer name", requested); !s.ok()) {
      return s;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
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

    // Relaxed: published by the seq_cst state store below.
    slot.sequence.StoreRelaxed(initial);
    // Seq_cst: the slot turns active after its fields are set, and this is
    // the store half of the late-joiner handshake (RegisterConsumer).
    slot.state.store(kActive, std::memory_order_seq_cst);
    if (i >= high_water_.load(std::memory_order_relaxed)) {
      // Seq_cst: pairs with the acquire load in MinimumSequence.
      high_water_.store(i + 1, std::memory_order_seq_cst);
    }
    return i;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("all ", capacity_,
                   " consumer slots are taken; raise "
                   "RingOptions::max_consumers"));
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
