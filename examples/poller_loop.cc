// poller_loop.cc — consuming from your own loop with EventPoller.
//
// What it shows:
//   * EventPoller: no processor thread; your loop calls Poll(handler) when
//     it likes, and Poll says what it found:
//       kProcessing  it handled at least one event
//       kGating      events are published, but an upstream consumer has not
//                    finished them yet
//       kIdle        nothing new was published
//   * a two-stage pipeline in one loop: `aggregator` is created behind
//     `validator` (its dependents), so it only sees validated events,
//   * a handler that returns bool to bound the work done per Poll.
//
// First a single-threaded walk-through shows each state once; then a
// producer thread publishes kEvents prices while the loop polls both stages
// and does "other work" whenever both are idle.
//
// Run:   build/dev/examples/example_poller_loop
// Prints (poll counts vary from run to run):
//   poller_loop: walk-through idle -> gating -> processing -> idle ok
//   poller_loop: 20000 events, sum 200010000 (expected 200010000);
//                polls: 1234 processing, 5 gating, 678 idle
// Exits non-zero when a state or the sum is not what is expected.

#include <cstdint>
#include <cstdio>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/ringflow.h"

namespace {

constexpr int64_t kEvents = 20'000;
constexpr int64_t kMaxPerPoll = 64;

using ringflow::PollState;

struct Price {
  int64_t value = 0;
};

const char* StateName(PollState state) {
  switch (state) {
    case PollState::kProcessing:
      return "processing";
    case PollState::kGating:
      return "gating";
    case PollState::kIdle:
      return "idle";
  }
  return "?";
}

absl::Status Expect(PollState got, PollState want, const char* step) {
  if (got == want) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(step, ": Poll returned ",
                                          StateName(got), ", expected ",
                                          StateName(want)));
}

absl::Status Run() {
  using Ring = ringflow::RingBuffer<Price>;
  using Poller = ringflow::EventPoller<Price>;
  RINGFLOW_ASSIGN_OR_RETURN(
      auto ring,
      Ring::Create(
          {.capacity = 256, .producer_type = ringflow::ProducerType::kSingle}));
  // Both pollers gate the producer from now on. aggregator waits for
  // validator: pass validator's sequence as its upstream dependent.
  RINGFLOW_ASSIGN_OR_RETURN(auto validator, Poller::Create(*ring));
  RINGFLOW_ASSIGN_OR_RETURN(auto aggregator,
                            Poller::Create(*ring, {&validator->sequence()}));

  int64_t validated = 0;
  int64_t invalid = 0;
  int64_t aggregated = 0;
  int64_t sum = 0;
  // void form: handles every available event.
  auto validate = [&](const Price& price, int64_t /*sequence*/,
                      bool /*end_of_batch*/) {
    ++validated;
    if (price.value <= 0) ++invalid;
  };
  // bool form: returning false ends this Poll after the current event, so
  // one busy stage cannot starve the rest of the loop.
  int64_t this_poll = 0;
  auto aggregate = [&](const Price& price, int64_t /*sequence*/,
                       bool /*end_of_batch*/) {
    sum += price.value;
    ++aggregated;
    return ++this_poll < kMaxPerPoll;
  };

  // ---- walk-through, all on this thread ------------------------------------
  RINGFLOW_RETURN_IF_ERROR(
      Expect(aggregator->Poll(aggregate), PollState::kIdle, "empty ring"));
  for (int i = 0; i < 3; ++i) {
    ring->PublishEvent(
        [](Price& p, int64_t sequence) noexcept { p.value = sequence + 1; });
  }
  RINGFLOW_RETURN_IF_ERROR(Expect(aggregator->Poll(aggregate),
                                  PollState::kGating,
                                  "published, validator behind"));
  RINGFLOW_RETURN_IF_ERROR(
      Expect(validator->Poll(validate), PollState::kProcessing, "validator"));
  this_poll = 0;
  RINGFLOW_RETURN_IF_ERROR(Expect(aggregator->Poll(aggregate),
                                  PollState::kProcessing, "aggregator"));
  RINGFLOW_RETURN_IF_ERROR(
      Expect(aggregator->Poll(aggregate), PollState::kIdle, "drained"));
  std::printf(
      "poller_loop: walk-through idle -> gating -> processing -> "
      "idle ok\n");

  // ---- a producer thread and the user's loop ------------------------------
  // kSingle: from here on only this thread claims (thread start hands over).
  std::thread producer([&ring] {
    for (int64_t i = 0; i < kEvents - 3; ++i) {
      ring->PublishEvent(
          [](Price& p, int64_t sequence) noexcept { p.value = sequence + 1; });
    }
  });

  int64_t processing = 0;
  int64_t gating = 0;
  int64_t idle = 0;
  while (aggregated < kEvents) {
    const PollState v = validator->Poll(validate);
    this_poll = 0;
    const PollState a = aggregator->Poll(aggregate);
    switch (a) {
      case PollState::kProcessing:
        ++processing;
        break;
      case PollState::kGating:
        ++gating;
        break;
      case PollState::kIdle:
        ++idle;
        break;
    }
    if (v == PollState::kIdle && a != PollState::kProcessing) {
      // Nothing to do for either stage: timers, sockets, ... would go here.
      std::this_thread::yield();
    }
  }
  producer.join();

  const int64_t expected = kEvents * (kEvents + 1) / 2;
  std::printf(
      "poller_loop: %lld events, sum %lld (expected %lld); polls: %lld "
      "processing, %lld gating, %lld idle\n",
      static_cast<long long>(aggregated), static_cast<long long>(sum),
      static_cast<long long>(expected), static_cast<long long>(processing),
      static_cast<long long>(gating), static_cast<long long>(idle));
  if (sum != expected || validated != kEvents || invalid != 0 ||
      aggregated != kEvents) {
    return absl::InternalError(absl::StrCat("validated ", validated, " (",
                                            invalid, " invalid), aggregated ",
                                            aggregated, " summing to ", sum));
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "poller_loop: FAILED: %s\n",
                 status.ToString().c_str());
    return 1;
  }
  return 0;
}
