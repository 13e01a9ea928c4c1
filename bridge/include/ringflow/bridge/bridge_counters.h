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
// Thread-safety: every member is a relaxed atomic. Writers are the bridge's
// thread and nats.c's callback threads; readers any thread. Relaxed is
// enough everywhere: these are statistics and publish no data.

#ifndef RINGFLOW_BRIDGE_BRIDGE_COUNTERS_H_
#define RINGFLOW_BRIDGE_BRIDGE_COUNTERS_H_

#include <atomic>
#include <cstdint>

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
  // Readers. Any thread. Wait-free.
  uint64_t published() const noexcept { return Load(published_); }
  uint64_t acked() const noexcept { return Load(acked_); }
  uint64_t duplicates() const noexcept { return Load(duplicates_); }
  int64_t in_flight() const noexcept {
    // Relaxed: a statistic; publishes no data.
    return in_flight_.load(std::memory_order_relaxed);
  }
  uint64_t redelivered_skipped() const noexcept {
    return Load(redelivered_skipped_);
  }
  uint64_t reconnects() const noexcept { return Load(reconnects_); }
  uint64_t errors() const noexcept { return Load(errors_); }

  BridgeCountersSnapshot Snapshot() const noexcept {
    return {published(),           acked(),      duplicates(), in_flight(),
            redelivered_skipped(), reconnects(), errors()};
  }

  // Writers (the bridge and its nats.c callbacks). Wait-free.
  void AddPublished(uint64_t n = 1) noexcept { Add(published_, n); }
  void AddAcked(uint64_t n = 1) noexcept { Add(acked_, n); }
  void AddDuplicates(uint64_t n = 1) noexcept { Add(duplicates_, n); }
  void SetInFlight(int64_t n) noexcept {
    // Relaxed: a statistic; publishes no data.
    in_flight_.store(n, std::memory_order_relaxed);
  }
  void AddRedeliveredSkipped(uint64_t n = 1) noexcept {
    Add(redelivered_skipped_, n);
  }
  void AddReconnects(uint64_t n = 1) noexcept { Add(reconnects_, n); }
  void AddErrors(uint64_t n = 1) noexcept { Add(errors_, n); }

 private:
  static uint64_t Load(const std::atomic<uint64_t>& a) noexcept {
    // Relaxed: a statistic; publishes no data.
    return a.load(std::memory_order_relaxed);
  }
  static void Add(std::atomic<uint64_t>& a, uint64_t n) noexcept {
    // Relaxed: a statistic; publishes no data.
    a.fetch_add(n, std::memory_order_relaxed);
  }

  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> redelivered_skipped_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_BRIDGE_COUNTERS_H_
