// core_umbrella.cc — the core component alone, through its umbrella header
// only: a RingBuffer with a hand-made consumer (a registered Sequence and a
// SequenceBarrier), single-threaded. Exits 0 only when the consumer reads
// back exactly the three published values as one batch.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>

#include "ringflow/core.h"

int main() {
  ringflow::RingOptions options{
      .capacity = 8,
      .producer_type = ringflow::ProducerType::kSingle,
      .wait_strategy = ringflow::WaitStrategyKind::kBusySpin};
  auto ring = ringflow::RingBuffer<int64_t>::Create(options);
  if (!ring.ok()) return 1;
  auto slot = (*ring)->RegisterConsumer("reader");  // gates the producer
  if (!slot.ok()) return 1;
  std::unique_ptr<ringflow::SequenceBarrier> barrier = (*ring)->NewBarrier();

  for (int64_t value : {10, 20, 30}) {
    std::optional<int64_t> seq = (*ring)->Next();  // checked: nullopt if closed
    if (!seq) return 1;
    (**ring)[*seq] = value;
    (*ring)->Publish(*seq);
  }

  ringflow::Sequence& sequence = slot->sequence();
  ringflow::WaitResult result = barrier->WaitFor(sequence.LoadAcquire() + 1);
  if (result.status != ringflow::WaitStatus::kAvailable) return 1;
  int64_t sum = 0;
  for (int64_t s = sequence.LoadAcquire() + 1; s <= result.available; ++s) {
    sum += (**ring)[s];
  }
  // Release: the slots up to result.available may be reused.
  sequence.StoreRelease(result.available);

  std::printf("core_umbrella: batch [0..%lld] sum %lld\n",
              static_cast<long long>(result.available),
              static_cast<long long>(sum));
  return result.available == 2 && sum == 60 ? 0 : 1;
}
