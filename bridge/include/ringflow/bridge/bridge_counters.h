// ringflow/bridge/bridge_counters.h
//
// Provides `BridgeCounters`, the statistics of one bridge (a JetStreamSink
// or a JetStreamSource), and `BridgeCountersSnapshot`, a plain copy of them
// that metrics code (Prometheus, `ringflow stat`) reads:
//
//   published            messages handed to nats.c (sink; re-sends count
//                        again) or events published into the ring (source)
//   acked                publishes the stream acknowledged (sink) or
//                        messages acknowledged to the stream (source)
//   duplicates           sink: acks with jsPubAck.Duplicate (the stream's
//                        duplicate window dropped a re-send)
//   in_flight            sink: published, not yet acknowledged (a gauge)
//   redelivered_skipped  source: messages at or below the applied stream
//                        sequence, acked and skipped
//   reconnects           times the connection was re-established
//   errors               failed publishes, error acks, timeouts, failed
//                        fetches and acks
//
// Bind moves them into a shared ring's counters block (ringflow_bridge_*
// families, docs/metrics.md), so tools and metrics of that ring see them.
//
// Thread-safety: every value is a relaxed atomic (core_internal::Counter).
// Writers are the bridge's thread and nats.c's callback threads; readers
// any thread. Relaxed is enough everywhere: these are statistics and
// publish no data. Bind runs before the writers start.

#ifndef RINGFLOW_BRIDGE_BRIDGE_COUNTERS_H_
#define RINGFLOW_BRIDGE_BRIDGE_COUNTERS_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/counter.h"
#include "ringflow/core/internal/counters_block.h"

namespace ringflow::bridge {

struct BridgeCountersSnapshot {
  uint64_t published = 0;
  uint64_t acked = 0;
  uint64_t duplicates = 0;
  int64_t in_flight = 0;
  uint64_t redelivered_skipped = 0;
  uint64_t reconnects = 0;
  uint64_t errors = 0;
};

class BridgeCounters {
 public:
  BridgeCounters() noexcept {
    // Relaxed: before any other thread can see this object.
    for (int i = 0; i < kCount; ++i) {
      values_[i].store(&local_[i], std::memory_order_relaxed);
    }
  }
  ~BridgeCounters() {
    if (block_ != nullptr) block_->Free(first_, kCount);
  }
  BridgeCounters(const BridgeCounters&) = delete;
  BridgeCounters& operator=(const BridgeCounters&) = delete;

  // Moves the counters into `block`, the counters block of a ring in
  // shared memory, as the ringflow_bridge_* families labelled ring="ring",
  // bridge="role" ("out" or "in"): `ringflow stat`, `ringflow
  // serve-metrics` and every ControlMetricsSource of that ring then show
  // them, from any process. They stay until this object goes (a process
  // killed leaves its last values behind). False, and the counters stay
  // private, when the block is full or a label is malformed. Setup path;
  // a count a nats.c callback adds while Bind copies may be lost (these
  // are statistics).
  bool Bind(core_internal::CountersBlock* block, std::string_view ring,
            std::string_view role) {
    if (block == nullptr || block_ != nullptr) return false;
    const std::string labels = absl::StrCat(
        "ring=\"", std::string(ring), "\",bridge=\"", std::string(role), "\"");
    const core_internal::CounterSpec specs[kCount] = {
        {"ringflow_bridge_published_total",
         "Messages handed to NATS (out) or events into the ring (in).", labels},
        {"ringflow_bridge_acked_total",
         "Publishes the stream acked (out); messages acked (in).", labels},
        {"ringflow_bridge_duplicates_total",
         "Re-sends the stream's duplicate window dropped.", labels},
        {"ringflow_bridge_in_flight_messages",
         "Published and not yet acknowledged.", labels,
         core_internal::CounterType::kGauge},
        {"ringflow_bridge_redelivered_skipped_total",
         "Redelivered messages already applied, acked and skipped.", labels},
        {"ringflow_bridge_reconnects_total",
         "Times the NATS connection was re-established.", labels},
        {"ringflow_bridge_errors_total",
         "Failed publishes, error acks, timeouts, failed fetches.", labels},
    };
    const int first = block->Allocate(specs, nullptr);
    if (first < 0) return false;
    for (int i = 0; i < kCount; ++i) {
      block->value(first + i).Set(local_[i].Load());
      // Release: the block's counter (and the value copied into it)
      // before any writer or reader uses it; pairs with Value()'s acquire.
      values_[i].store(&block->value(first + i), std::memory_order_release);
    }
    block_ = block;
    first_ = first;
    return true;
  }

  // Readers. Any thread. Wait-free.
  uint64_t published() const noexcept { return Load(kPublished); }
  uint64_t acked() const noexcept { return Load(kAcked); }
  uint64_t duplicates() const noexcept { return Load(kDuplicates); }
  int64_t in_flight() const noexcept {
    return static_cast<int64_t>(Load(kInFlight));
  }
  uint64_t redelivered_skipped() const noexcept {
    return Load(kRedeliveredSkipped);
  }
  uint64_t reconnects() const noexcept { return Load(kReconnects); }
  uint64_t errors() const noexcept { return Load(kErrors); }

  BridgeCountersSnapshot Snapshot() const noexcept {
    return {published(),           acked(),      duplicates(), in_flight(),
            redelivered_skipped(), reconnects(), errors()};
  }

  // Writers (the bridge and its nats.c callbacks). Wait-free: relaxed
  // fetch_add / store (Counter), statistics that publish no data.
  void AddPublished(uint64_t n = 1) noexcept { Value(kPublished).Add(n); }
  void AddAcked(uint64_t n = 1) noexcept { Value(kAcked).Add(n); }
  void AddDuplicates(uint64_t n = 1) noexcept { Value(kDuplicates).Add(n); }
  void SetInFlight(int64_t n) noexcept {
    Value(kInFlight).Set(static_cast<uint64_t>(n));
  }
  void AddRedeliveredSkipped(uint64_t n = 1) noexcept {
    Value(kRedeliveredSkipped).Add(n);
  }
  void AddReconnects(uint64_t n = 1) noexcept { Value(kReconnects).Add(n); }
  void AddErrors(uint64_t n = 1) noexcept { Value(kErrors).Add(n); }

 private:
  enum Index : int {
    kPublished,
    kAcked,
    kDuplicates,
    kInFlight,
    kRedeliveredSkipped,
    kReconnects,
    kErrors,
    kCount
  };

  core_internal::Counter& Value(Index index) const noexcept {
    // Acquire: pairs with Bind's release store of the block's counter.
    return *values_[index].load(std::memory_order_acquire);
  }
  uint64_t Load(Index index) const noexcept { return Value(index).Load(); }

  core_internal::Counter local_[kCount];  // until Bind
  // local_ or the block's counters: written by Bind, read by everyone.
  std::atomic<core_internal::Counter*> values_[kCount];
  core_internal::CountersBlock* block_ = nullptr;
  int first_ = -1;
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_BRIDGE_COUNTERS_H_
