#include "ringflow/observability/byte_ring_metrics_source.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/counters_block.h"
#include "ringflow/core/sequence.h"
#include "ringflow/observability/metric_families.h"

namespace ringflow::observability {
namespace {

using core_internal::CountersBlock;
using core_internal::CounterSpec;
using core_internal::CounterType;

constexpr size_t kBlockAlignment = 128;  // CountersBlock::Initialize needs it

// A heap CountersBlock that lives as long as the snapshot pointing into it.
class ScrapeBlock {
 public:
  explicit ScrapeBlock(int capacity)
      : bytes_(CountersBlock::BytesFor(capacity)),
        memory_(::operator new (bytes_, std::align_val_t{kBlockAlignment})),
        block_(CountersBlock::Initialize(memory_, bytes_, capacity,
                                         /*reuse_delay_ns=*/0, nullptr)) {}
  ~ScrapeBlock() {
    ::operator delete (memory_, std::align_val_t{kBlockAlignment});
  }
  ScrapeBlock(const ScrapeBlock&) = delete;
  ScrapeBlock& operator=(const ScrapeBlock&) = delete;

  // Allocates one counter per spec (one group) and sets their values.
  void Add(const std::vector<CounterSpec>& specs,
           const std::vector<uint64_t>& values) {
    const int first = block_.Allocate(specs, nullptr);
    if (first < 0) return;  // sized by the caller: does not happen
    for (size_t i = 0; i < values.size(); ++i) {
      block_.value(first + static_cast<int>(i)).Set(values[i]);
    }
  }

  const CountersBlock* block() const noexcept { return &block_; }

 private:
  const size_t bytes_;
  void* const memory_;
  CountersBlock block_;
};

struct ReaderRow {
  std::string name;
  int64_t position = 0;
};

}  // namespace

RingSnapshot ByteRingMetricsSource::Snapshot() const {
  // Reader positions first, then the claimed position: lag >= 0.
  std::vector<ReaderRow> rows;
  const core_internal::ConsumerTable& table = ring_.readers();
  table.ForEachActive([&](int index, const Sequence& sequence) {
    // Acquire: pairs with the reader's release store of its position.
    rows.push_back(ReaderRow{table.name(index), sequence.LoadAcquire()});
  });
  const int64_t claimed = ring_.ClaimedPosition();

  const std::string& name = ring_.options().name;
  const std::string ring_labels = absl::StrCat("ring=\"", name, "\"");
  // One group of CountersBlock::kGroup values for the ring, one per reader.
  auto scrape = std::make_shared<ScrapeBlock>(
      CountersBlock::kGroup * (1 + static_cast<int>(rows.size())));
  scrape->Add(
      {
          {"ringflow_byte_ring_capacity_bytes",
           "Bytes of record storage in the ring.", ring_labels,
           CounterType::kGauge},
          {"ringflow_byte_ring_claimed_bytes_total",
           "Bytes claimed so far (the tail position).", ring_labels},
          {"ringflow_byte_ring_records_published_total",
           "Data records committed.", ring_labels},
          {"ringflow_byte_ring_payload_bytes_published_total",
           "Payload bytes of the committed records.", ring_labels},
          {"ringflow_byte_ring_padding_bytes_total",
           "Bytes of padding records before the buffer's end.", ring_labels},
          {"ringflow_byte_ring_skipped_bytes_total",
           "Bytes of aborted claims and short-commit tails.", ring_labels},
          {"ringflow_byte_ring_aborted_records_total",
           "Claims aborted, explicitly or by destruction.", ring_labels},
          // The RingBuffer producer families, with their help text.
          {"ringflow_producer_full_waits_total",
           "Claims that found the ring full and waited.", ring_labels},
          {"ringflow_producer_try_next_failures_total",
           "TryNext calls refused on a full ring.", ring_labels},
      },
      {static_cast<uint64_t>(ring_.capacity()), static_cast<uint64_t>(claimed),
       ring_.records_published(), ring_.payload_bytes_published(),
       ring_.padding_bytes(), ring_.skipped_bytes(), ring_.aborted_records(),
       ring_.full_waits(), ring_.try_claim_failures()});

  for (const ReaderRow& row : rows) {
    const std::string labels =
        absl::StrCat(ring_labels, ",consumer=\"", row.name, "\"");
    std::vector<CounterSpec> specs = {
        {"ringflow_byte_ring_reader_position_bytes",
         "Bytes the reader has released (its position).", labels,
         CounterType::kGauge},
        {"ringflow_byte_ring_reader_lag_bytes",
         "Claimed bytes the reader has not released yet.", labels,
         CounterType::kGauge},
    };
    std::vector<uint64_t> values = {
        static_cast<uint64_t>(row.position),
        static_cast<uint64_t>(std::max<int64_t>(0, claimed - row.position))};
    const auto statistics = std::find_if(
        readers_.begin(), readers_.end(),
        [&](const ByteReader* r) { return r->name() == row.name; });
    if (statistics != readers_.end()) {
      specs.push_back({"ringflow_byte_ring_reader_records_total",
                       "Data records the reader has read.", labels});
      specs.push_back({"ringflow_byte_ring_reader_payload_bytes_total",
                       "Payload bytes of the records the reader has read.",
                       labels});
      specs.push_back({"ringflow_byte_ring_reader_skipped_bytes_total",
                       "Padding and skip-record bytes the reader passed.",
                       labels});
      values.push_back((*statistics)->records_read());
      values.push_back((*statistics)->bytes_read());
      values.push_back((*statistics)->skipped_bytes());
    }
    scrape->Add(specs, values);  // copies the labels into the block
  }

  RingSnapshot snapshot;
  snapshot.ring = name;
  snapshot.capacity = kNoEventSlots;
  snapshot.counters = scrape->block();
  snapshot.keep_alive = std::move(scrape);
  return snapshot;
}

}  // namespace ringflow::observability
