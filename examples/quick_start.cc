// quick_start.cc — the smallest ringflow program: one producer, one handler.
//
// What it shows:
//   * an event type (plain struct, pre-allocated in the ring),
//   * a handler: any type with OnEvent(E&, int64_t sequence, bool
//     end_of_batch); no base class, no virtual call per event,
//   * the Disruptor DSL: Create -> HandleEventsWith -> Start ->
//     PublishEvent... -> Shutdown (drains, then joins the handler thread),
//   * setup errors as absl::Status (RINGFLOW_ASSIGN_OR_RETURN).
//
// Run:   build/dev/examples/example_quick_start
// Prints: quick_start: 100000 events, sum 5000050000 (expected 5000050000)
// Exits non-zero if the handler saw a different count or sum.

#include <cstdint>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/ringflow.h"

namespace {

constexpr int64_t kEvents = 100'000;

// The event: one slot of the ring, reused every `capacity` sequences.
struct Tick {
  int64_t value = 0;
};

// Runs on the thread the Disruptor owns. Its fields are read by main only
// after Shutdown() joined that thread, so they need no atomics.
class SumHandler {
 public:
  void OnEvent(Tick& tick, int64_t /*sequence*/,
               bool /*end_of_batch*/) noexcept {
    sum_ += tick.value;
    ++count_;
  }

  int64_t sum() const { return sum_; }
  int64_t count() const { return count_; }

 private:
  int64_t sum_ = 0;
  int64_t count_ = 0;
};

absl::Status Run() {
  // One producer thread (main): kSingle claims without atomic RMW.
  RINGFLOW_ASSIGN_OR_RETURN(
      auto disruptor,
      ringflow::Disruptor<Tick>::Create(
          {.ring = {.capacity = 1024,
                    .producer_type = ringflow::ProducerType::kSingle}}));

  SumHandler sum;  // referenced, not owned: it must outlive the Disruptor
  disruptor->HandleEventsWith(sum);
  RINGFLOW_RETURN_IF_ERROR(disruptor->Start());

  for (int64_t i = 1; i <= kEvents; ++i) {
    // Fill the pre-allocated slot in place; PublishEvent makes it visible.
    disruptor->PublishEvent(
        [i](Tick& tick, int64_t /*sequence*/) noexcept { tick.value = i; });
  }

  // Waits until the handler has seen every published event, then halts.
  RINGFLOW_RETURN_IF_ERROR(disruptor->Shutdown(absl::Seconds(5)));

  const int64_t expected = kEvents * (kEvents + 1) / 2;
  std::printf("quick_start: %lld events, sum %lld (expected %lld)\n",
              static_cast<long long>(sum.count()),
              static_cast<long long>(sum.sum()),
              static_cast<long long>(expected));
  if (sum.count() != kEvents || sum.sum() != expected) {
    return absl::InternalError(absl::StrCat("handler saw ", sum.count(),
                                            " events summing to ", sum.sum()));
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "quick_start: FAILED: %s\n",
                 status.ToString().c_str());
    return 1;
  }
  return 0;
}
