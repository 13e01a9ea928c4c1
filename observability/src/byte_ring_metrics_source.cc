#include "ringflow/observability/byte_ring_metrics_source.h"

#include <algorithm>
#include <cassert>
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
#include "ringflow/observability/internal/byte_ring_snapshot.h"
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
    std::string error;
    const int first = block_.Allocate(specs, &error);
    // Sized by the caller, and every spec is a literal of this file: a
    // malformed one (a help text over 63 bytes) is a bug caught by the
    // tests, not a scrape-time condition.
    assert(first >= 0 && "a byte-ring metric spec is malformed");
    if (first < 0) return;
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

}  // namespace

RingSnapshot ByteRingMetricsSource::Snapshot() const {
  observability_internal::ByteRingFigures f;
  // Reader positions first, then the claimed position: lag >= 0.
  const core_internal::ConsumerTable& table = ring_.readers();
  table.ForEachActive([&](int index, const Sequence& sequence) {
    observability_internal::ByteReaderFigures reader;
    reader.name = table.name(index);
    // Acquire: pairs with the reader's release store of its position.
    reader.position = sequence.LoadAcquire();
    const auto statistics = std::find_if(
        readers_.begin(), readers_.end(),
        [&](const ByteReader* r) { return r->name() == reader.name; });
    if (statistics != readers_.end()) {
      reader.read = observability_internal::ByteReaderFigures::Read{
          (*statistics)->records_read(), (*statistics)->bytes_read(),
          (*statistics)->skipped_bytes()};
    }
    f.readers.push_back(std::move(reader));
  });
  f.claimed = ring_.ClaimedPosition();
  f.name = ring_.options().name;
  f.capacity = ring_.capacity();
  f.records = ring_.records_published();
  f.payload_bytes = ring_.payload_bytes_published();
  f.padding_bytes = ring_.padding_bytes();
  f.skipped_bytes = ring_.skipped_bytes();
  f.aborted_records = ring_.aborted_records();
  f.full_waits = ring_.full_waits();
  f.try_claim_failures = ring_.try_claim_failures();
  return observability_internal::ByteRingSnapshot(f);
}

}  // namespace ringflow::observability

namespace ringflow::observability_internal {

using core_internal::CountersBlock;
using core_internal::CounterSpec;
using core_internal::CounterType;
using observability::RingSnapshot;
using observability::ScrapeBlock;

RingSnapshot ByteRingSnapshot(const ByteRingFigures& f) {
  const std::string ring_labels = absl::StrCat("ring=\"", f.name, "\"");
  // One group of CountersBlock::kGroup values for the ring, one per reader.
  auto scrape = std::make_shared<ScrapeBlock>(
      CountersBlock::kGroup * (1 + static_cast<int>(f.readers.size())));
  std::vector<CounterSpec> specs = {
      {"ringflow_byte_ring_capacity_bytes",
       "Bytes of record storage in the ring.", ring_labels,
       CounterType::kGauge},
      {"ringflow_byte_ring_claimed_bytes_total",
       "Bytes claimed so far (the tail position).", ring_labels},
      {"ringflow_byte_ring_records_published_total", "Data records committed.",
       ring_labels},
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
  };
  std::vector<uint64_t> values = {static_cast<uint64_t>(f.capacity),
                                  static_cast<uint64_t>(f.claimed),
                                  f.records,
                                  f.payload_bytes,
                                  f.padding_bytes,
                                  f.skipped_bytes,
                                  f.aborted_records,
                                  f.full_waits,
                                  f.try_claim_failures};
  if (f.recovered_records && f.recovered_bytes) {
    specs.push_back({"ringflow_byte_ring_recovered_records_total",
                     "Dead producer's claims skipped when the ring resumed.",
                     ring_labels});
    specs.push_back({"ringflow_byte_ring_recovered_bytes_total",
                     "Bytes of the dead producer's claims skipped on resume.",
                     ring_labels});
    values.push_back(*f.recovered_records);
    values.push_back(*f.recovered_bytes);
  }
  scrape->Add(specs, values);

  for (const ByteReaderFigures& reader : f.readers) {
    const std::string labels =
        absl::StrCat(ring_labels, ",consumer=\"", reader.name, "\"");
    std::vector<CounterSpec> reader_specs = {
        {"ringflow_byte_ring_reader_position_bytes",
         "Bytes the reader has released (its position).", labels,
         CounterType::kGauge},
        {"ringflow_byte_ring_reader_lag_bytes",
         "Claimed bytes the reader has not released yet.", labels,
         CounterType::kGauge},
    };
    std::vector<uint64_t> reader_values = {
        static_cast<uint64_t>(reader.position),
        static_cast<uint64_t>(
            std::max<int64_t>(0, f.claimed - reader.position))};
    if (reader.read) {
      reader_specs.push_back({"ringflow_byte_ring_reader_records_total",
                              "Data records the reader has read.", labels});
      reader_specs.push_back(
          {"ringflow_byte_ring_reader_payload_bytes_total",
           "Payload bytes of the records the reader has read.", labels});
      reader_specs.push_back(
          {"ringflow_byte_ring_reader_skipped_bytes_total",
           "Padding and skip-record bytes the reader passed.", labels});
      reader_values.push_back(reader.read->records);
      reader_values.push_back(reader.read->payload_bytes);
      reader_values.push_back(reader.read->skipped_bytes);
    }
    scrape->Add(reader_specs, reader_values);  // copies the labels
  }

  RingSnapshot snapshot;
  snapshot.ring = f.name;
  snapshot.capacity = observability::kNoEventSlots;
  snapshot.counters = scrape->block();
  snapshot.keep_alive = std::move(scrape);
  return snapshot;
}

}  // namespace ringflow::observability_internal
