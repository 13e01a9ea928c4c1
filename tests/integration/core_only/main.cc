// main.cc — a core-only ringflow program: a RingBuffer, a
// BatchEventProcessor on its own thread and an EventPoller in the
// producer's loop, both seeing every event. Includes and links only the
// core and processors components. Exits 0 only when both consumers saw
// exactly 1 + 2 + ... + kEvents.

#include <cstdint>
#include <cstdio>
#include <thread>

#include "ringflow/processors.h"

namespace {

constexpr int64_t kEvents = 100'000;
constexpr int64_t kExpected = kEvents * (kEvents + 1) / 2;

struct Value {
  int64_t value = 0;
};

struct Sum {
  int64_t total = 0;
  void OnEvent(Value& v, int64_t /*sequence*/, bool /*end_of_batch*/) noexcept {
    total += v.value;
  }
};

}  // namespace

int main() {
  auto ring = ringflow::RingBuffer<Value>::Create(
      {.capacity = 1024, .producer_type = ringflow::ProducerType::kSingle});
  if (!ring.ok()) {
    std::fprintf(stderr, "%s\n", ring.status().ToString().c_str());
    return 1;
  }
  Sum batch_sum;
  auto processor =
      ringflow::BatchEventProcessor<Value, Sum>::Create(**ring, batch_sum);
  auto poller = ringflow::EventPoller<Value>::Create(**ring);
  if (!processor.ok() || !poller.ok()) {
    std::fprintf(stderr, "consumer setup failed\n");
    return 1;
  }
  std::thread consumer([&] { (*processor)->Run(); });

  int64_t poll_sum = 0;
  auto add = [&poll_sum](const Value& v, int64_t, bool) {
    poll_sum += v.value;
  };
  for (int64_t i = 1; i <= kEvents; ++i) {
    if (!(*ring)->PublishEvent(
            [i](Value& v, int64_t) noexcept { v.value = i; })) {
      std::fprintf(stderr, "publish %lld refused\n", static_cast<long long>(i));
      return 1;
    }
    // The poller gates the producer too: drain it well before the ring
    // (1024 slots) is full.
    if (i % 64 == 0) (*poller)->Poll(add);
  }
  while ((*poller)->Poll(add) == ringflow::PollState::kProcessing) {
  }
  // Acquire: pairs with the processor's release store after each batch, so
  // batch_sum is complete once the last sequence is seen.
  while ((*processor)->sequence().LoadAcquire() < kEvents - 1) {
    std::this_thread::yield();
  }
  (*processor)->Halt();
  consumer.join();

  std::printf("core_only: batch sum %lld, poll sum %lld\n",
              static_cast<long long>(batch_sum.total),
              static_cast<long long>(poll_sum));
  return batch_sum.total == kExpected && poll_sum == kExpected ? 0 : 1;
}
