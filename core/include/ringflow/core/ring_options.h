// ringflow/core/ring_options.h
//
// Provides `RingOptions`, the setup parameters of a ring, and
// `ValidateRingOptions`, which names the first bad value it finds.
//
// Thread-safety: plain value types.

#ifndef RINGFLOW_CORE_RING_OPTIONS_H_
#define RINGFLOW_CORE_RING_OPTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ringflow {

// Who may call the claim functions (Next/TryNext/PublishEvent...).
enum class ProducerType : uint8_t {
  kSingle,  // exactly one thread claims; no atomic read-modify-write
  kMulti,   // any number of threads claim concurrently
};

// How a consumer waits for the next sequence. Chosen once at setup; the
// waiting loop of each strategy is a template on the hot path.
enum class WaitStrategyKind : uint8_t {
  kBusySpin,         // spins with a pause hint: lowest latency, burns a core
  kYielding,         // spins, then sched_yield(): low latency, burns a core
  kSleeping,         // spins, yields, then sleeps: low CPU, higher latency
  kBlocking,         // futex: zero CPU while idle; wakes on publish
  kTimeoutBlocking,  // kBlocking that reports a timeout to the handler
};

std::string_view ProducerTypeName(ProducerType type);
std::string_view WaitStrategyName(WaitStrategyKind kind);

// Limits checked by ValidateRingOptions.
inline constexpr int64_t kMaxCapacity = int64_t{1} << 30;
inline constexpr int kMaxConsumers = 256;

struct RingOptions {
  // Number of event slots; a power of two in [1, kMaxCapacity].
  int64_t capacity = 1024;
  // Multi is the safe default; pick kSingle when exactly one thread claims.
  ProducerType producer_type = ProducerType::kMulti;
  WaitStrategyKind wait_strategy = WaitStrategyKind::kBlocking;
  // kTimeoutBlocking only: how long a consumer waits before OnTimeout.
  absl::Duration wait_timeout = absl::Milliseconds(100);
  // Size of the consumer slot table: processors, pollers and workers each
  // take one slot. In [1, kMaxConsumers].
  int max_consumers = 32;
  // The `ring` label of its metrics: 1 to kMaxNameLength characters from
  // [A-Za-z0-9_.#-].
  std::string name = "ring";
  // Keep relaxed-atomic statistics (observability). Off: every update is
  // skipped by one predictable branch.
  bool counters = true;
};

// Longest ring or consumer name (they become metric label values).
inline constexpr size_t kMaxNameLength = 32;

// InvalidArgument naming `what` and the bad `name` unless it is 1 to
// kMaxNameLength characters from [A-Za-z0-9_.#-].
absl::Status ValidateName(std::string_view what, std::string_view name);

// The producer type and wait strategy are known values, and a
// kTimeoutBlocking wait has a positive timeout (every ring kind's options).
absl::Status ValidateProducerAndWait(ProducerType producer_type,
                                     WaitStrategyKind wait_strategy,
                                     absl::Duration wait_timeout);

// The name for consumer slot `slot`: `requested` (or "consumer-<slot>" when
// empty), made unique with "#2", "#3"... while taken(name) says it is in
// use; never longer than kMaxNameLength.
template <typename Taken>
std::string UniqueConsumerName(std::string_view requested, int slot,
                               Taken&& taken) {
  const std::string base = requested.empty()
                               ? "consumer-" + std::to_string(slot)
                               : std::string(requested);
  std::string name = base;
  for (int n = 2; taken(std::string_view(name)); ++n) {
    // Built by append: g++ 12 -O2 misreports "#" + to_string as -Wrestrict.
    std::string suffix = "#";
    suffix += std::to_string(n);
    name = base.substr(0, kMaxNameLength - suffix.size()) + suffix;
  }
  return name;
}

// `name` made valid for ValidateName: bad characters become '_', too long
// names are cut (used for names derived from handler types).
std::string SanitizeName(std::string_view name);

// Returns InvalidArgument naming the first bad field and its value, or OK.
// `event_size` (sizeof the event type) bounds the total allocation.
absl::Status ValidateRingOptions(const RingOptions& options,
                                 std::size_t event_size);

}  // namespace ringflow

#endif  // RINGFLOW_CORE_RING_OPTIONS_H_
