#include "ringflow/core/internal/consumer_counters.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace ringflow::core_internal {

std::vector<CounterSpec> ConsumerCounters::Specs(std::string_view ring,
                                                 std::string_view consumer,
                                                 std::string& storage) {
  storage = absl::StrCat("ring=\"", std::string(ring), "\",consumer=\"",
                         std::string(consumer), "\"");
  const std::string_view labels = storage;
  std::vector<CounterSpec> specs(kCount);
  specs[kEvents] = {"ringflow_consumer_events_total",
                    "Events handed to the consumer.", labels,
                    CounterType::kCounter};
  specs[kBatches] = {"ringflow_consumer_batches_total",
                     "Batches handed to the consumer.", labels,
                     CounterType::kCounter};
  specs[kEmptyPolls] = {"ringflow_consumer_empty_polls_total",
                        "Polls and lease attempts that found nothing.", labels,
                        CounterType::kCounter};
  specs[kExceptions] = {"ringflow_consumer_handler_exceptions_total",
                        "Exceptions thrown by the consumer's handler.", labels,
                        CounterType::kCounter};
  specs[kMaxLag] = {"ringflow_consumer_max_lag_events",
                    "Most events seen waiting at a batch start.", labels,
                    CounterType::kGauge};
  specs[kBatchSizeSum] = {"ringflow_consumer_batch_size_events",
                          "Events per batch.", labels,
                          CounterType::kHistogramSum};
  for (int i = 0; i < kBuckets; ++i) {
    specs[kFirstBucket + i] = {
        "ringflow_consumer_batch_size_events", "Events per batch.", labels,
        CounterType::kHistogramBucket,
        i == kBuckets - 1 ? std::numeric_limits<uint64_t>::max()
                          : uint64_t{1} << i};
  }
  return specs;
}

std::vector<CounterSpec> ProducerCounters::Specs(std::string_view ring,
                                                 std::string& storage) {
  storage = absl::StrCat("ring=\"", std::string(ring), "\"");
  const std::string_view labels = storage;
  std::vector<CounterSpec> specs(kCount);
  specs[kFullWaits] = {"ringflow_producer_full_waits_total",
                       "Claims that found the ring full and waited.", labels,
                       CounterType::kCounter};
  specs[kTryNextFailures] = {"ringflow_producer_try_next_failures_total",
                             "TryNext calls refused on a full ring.", labels,
                             CounterType::kCounter};
  return specs;
}

}  // namespace ringflow::core_internal
