// lease.cc — zero-copy reads with TryLease / TryLeaseBatch.
//
// What it shows:
//   * a Lease derefs to the event *in its ring slot* (no copy: the address
//     is the slot's address),
//   * while a lease lives, the producer cannot overwrite its slot: on a
//     full ring TryPublishEvent fails until the lease is released,
//   * one lease at a time per poller; Release() (or the destructor) hands
//     the slot back,
//   * TryLeaseBatch(max): contiguous slots as one iterable range, released
//     together.
//
// Everything runs on one thread with a 4-slot ring, so each step is exact.
//
// Run:   build/dev/examples/example_lease
// Prints: lease: leased seq 0 in place; ring full while leased, publish ok
//         after release; batch of 4 [1..4] sum 140
// Exits non-zero when any step behaves differently.

#include <cstdint>
#include <cstdio>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/ringflow.h"

namespace {

struct Quote {
  int64_t price = 0;
};

absl::Status Check(bool ok, const char* what) {
  return ok ? absl::OkStatus()
            : absl::InternalError(absl::StrCat("expected: ", what));
}

absl::Status Run() {
  RINGFLOW_ASSIGN_OR_RETURN(
      auto ring,
      ringflow::RingBuffer<Quote>::Create(
          {.capacity = 4, .producer_type = ringflow::ProducerType::kSingle}));
  RINGFLOW_ASSIGN_OR_RETURN(auto reader,
                            ringflow::EventPoller<Quote>::Create(*ring));
  auto publish = [&ring](int64_t price) {
    return ring->TryPublishEvent(
        [price](Quote& q, int64_t /*sequence*/) noexcept { q.price = price; });
  };

  // Fill the ring: sequences 0..3 hold 10, 20, 30, 40.
  for (int64_t price = 10; price <= 40; price += 10) {
    RINGFLOW_RETURN_IF_ERROR(Check(publish(price), "room for 4 events"));
  }
  RINGFLOW_RETURN_IF_ERROR(Check(!publish(50), "a full ring refuses"));

  {
    std::optional<ringflow::Lease<Quote>> lease = reader->TryLease();
    RINGFLOW_RETURN_IF_ERROR(Check(lease.has_value(), "a lease on seq 0"));
    RINGFLOW_RETURN_IF_ERROR(Check(lease->sequence() == 0 &&
                                       (*lease)->price == 10 &&
                                       &**lease == &(*ring)[0],
                                   "seq 0, read in place in slot 0"));
    // One lease at a time: the reader is busy until this one is released.
    RINGFLOW_RETURN_IF_ERROR(
        Check(!reader->TryLease().has_value(), "no second lease"));
    // The lease holds slot 0, so the producer cannot reuse it for seq 4.
    RINGFLOW_RETURN_IF_ERROR(
        Check(!publish(50), "the producer waits for a leased slot"));
    RINGFLOW_RETURN_IF_ERROR(
        Check((*lease)->price == 10, "the leased event is unchanged"));

    lease->Release();  // or let it go out of scope
    RINGFLOW_RETURN_IF_ERROR(
        Check(publish(50), "seq 4 reuses slot 0 after the release"));
  }

  int64_t first = -1;
  int64_t last = -1;
  int64_t size = 0;
  int64_t sum = 0;
  {
    std::optional<ringflow::LeaseBatch<Quote>> batch = reader->TryLeaseBatch(8);
    RINGFLOW_RETURN_IF_ERROR(Check(batch.has_value(), "a batch lease"));
    for (const Quote& q : *batch) sum += q.price;  // reads the slots in place
    first = batch->first_sequence();
    last = batch->last_sequence();
    size = batch->size();
    RINGFLOW_RETURN_IF_ERROR(
        Check(!publish(60), "the batch holds all four slots"));
  }  // released here, as one
  RINGFLOW_RETURN_IF_ERROR(
      Check(ring->RemainingCapacity() == 4, "every slot free again"));
  RINGFLOW_RETURN_IF_ERROR(
      Check(!reader->TryLease().has_value(), "nothing left to lease"));

  std::printf(
      "lease: leased seq 0 in place; ring full while leased, publish ok after "
      "release; batch of %lld [%lld..%lld] sum %lld\n",
      static_cast<long long>(size), static_cast<long long>(first),
      static_cast<long long>(last), static_cast<long long>(sum));
  return Check(first == 1 && last == 4 && size == 4 && sum == 140,
               "batch [1..4] holding 20+30+40+50 = 140");
}

}  // namespace

int main() {
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "lease: FAILED: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
