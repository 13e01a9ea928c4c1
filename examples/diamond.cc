// diamond.cc — a handler graph: journal and risk in parallel, then matcher.
//
//                  +--> journal --+
//   producer --> ring             +--> matcher
//                  +--> risk -----+
//
// What it shows:
//   * HandleEventsWith(journal, risk).Then(matcher): journal and risk each
//     see every event on their own thread, in parallel; matcher sees an
//     event only after *both* have finished with it,
//   * stages annotating the event in place (each writes its own field; the
//     downstream barrier makes those writes visible to matcher),
//   * Name() labelling a handler in errors and metrics.
//
// Each order has quantity `id % 200`; risk rejects quantities above
// kRiskLimit. The producer clears both stamps when it refills a slot, so if
// matcher ever ran ahead of journal or risk it would see a stale `false`.
//
// Run:   build/dev/examples/example_diamond
// Prints: diamond: matched 50000 orders: 37750 approved, 12250 rejected,
//         0 seen before journal/risk
// Exits non-zero when matcher saw an order before journal or risk, or when
// the counts differ from the arithmetic.

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/ringflow.h"

namespace {

constexpr int64_t kOrders = 50'000;
constexpr int64_t kRiskLimit = 150;

struct Order {
  int64_t id = 0;
  int64_t quantity = 0;
  // Each stage writes only its own field: no two threads write one field.
  bool journaled = false;     // written by Journal
  bool approved = false;      // written by Risk
  bool risk_checked = false;  // written by Risk
};

class Journal {
 public:
  void OnEvent(Order& order, int64_t /*sequence*/,
               bool /*end_of_batch*/) noexcept {
    checksum_ += order.id;  // stands in for appending to a file
    order.journaled = true;
  }
  std::string_view Name() const { return "journal"; }
  int64_t checksum() const { return checksum_; }

 private:
  int64_t checksum_ = 0;
};

class Risk {
 public:
  void OnEvent(Order& order, int64_t /*sequence*/,
               bool /*end_of_batch*/) noexcept {
    order.approved = order.quantity <= kRiskLimit;
    order.risk_checked = true;
  }
  std::string_view Name() const { return "risk"; }
};

class Matcher {
 public:
  void OnEvent(Order& order, int64_t /*sequence*/,
               bool /*end_of_batch*/) noexcept {
    if (!order.journaled || !order.risk_checked) ++out_of_order_;
    ++(order.approved ? approved_ : rejected_);
  }
  std::string_view Name() const { return "matcher"; }

  int64_t approved() const { return approved_; }
  int64_t rejected() const { return rejected_; }
  int64_t out_of_order() const { return out_of_order_; }

 private:
  int64_t approved_ = 0;
  int64_t rejected_ = 0;
  int64_t out_of_order_ = 0;
};

absl::Status Run() {
  RINGFLOW_ASSIGN_OR_RETURN(
      auto disruptor,
      ringflow::Disruptor<Order>::Create(
          {.ring = {.capacity = 256,
                    .producer_type = ringflow::ProducerType::kSingle}}));

  Journal journal;
  Risk risk;
  Matcher matcher;
  // Graph errors are kept and returned by Start().
  disruptor->HandleEventsWith(journal, risk).Then(matcher);
  RINGFLOW_RETURN_IF_ERROR(disruptor->Start());

  for (int64_t id = 0; id < kOrders; ++id) {
    disruptor->PublishEvent([id](Order& order, int64_t /*sequence*/) noexcept {
      order.id = id;
      order.quantity = id % 200;
      order.journaled = false;
      order.approved = false;
      order.risk_checked = false;
    });
  }
  RINGFLOW_RETURN_IF_ERROR(disruptor->Shutdown(absl::Seconds(5)));

  // Quantities cycle 0..199; 0..kRiskLimit pass.
  const int64_t expected_approved =
      (kOrders / 200) * (kRiskLimit + 1) +
      (kOrders % 200 < kRiskLimit + 1 ? kOrders % 200 : kRiskLimit + 1);
  const int64_t expected_checksum = kOrders * (kOrders - 1) / 2;
  std::printf(
      "diamond: matched %lld orders: %lld approved, %lld rejected, "
      "%lld seen before journal/risk\n",
      static_cast<long long>(matcher.approved() + matcher.rejected()),
      static_cast<long long>(matcher.approved()),
      static_cast<long long>(matcher.rejected()),
      static_cast<long long>(matcher.out_of_order()));
  if (matcher.out_of_order() != 0) {
    return absl::InternalError(
        absl::StrCat("matcher ran ahead of journal/risk on ",
                     matcher.out_of_order(), " orders"));
  }
  if (matcher.approved() != expected_approved ||
      matcher.approved() + matcher.rejected() != kOrders ||
      journal.checksum() != expected_checksum) {
    return absl::InternalError(absl::StrCat(
        "expected ", expected_approved, " approved of ", kOrders,
        " and journal checksum ", expected_checksum, ", got ",
        matcher.approved(), " of ", matcher.approved() + matcher.rejected(),
        " and ", journal.checksum()));
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "diamond: FAILED: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
