// A ByteRing's metrics through ByteRingMetricsSource, as a scrape reads
// them: a known history (records of several lengths, an abort, a short
// commit, a refused TryClaim, a timed-out Claim, a wrap behind a padding
// record) read in part by one of two readers, and the exact value of every
// ring counter and of each reader's position, lag and statistics.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/observability/byte_ring_metrics_source.h"
#include "ringflow/observability/control_metrics_source.h"
#include "ringflow/observability/metric_families.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_byte_ring.h"
#include "support/obs_exposition.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::prometheus::MetricFamily;
using ::ringflow::observability::BuildMetricFamilies;
using ::ringflow::observability::ByteRingMetricsSource;
using ::ringflow::observability::RingSnapshot;
using ::ringflow::testing::FindFamily;
using ::ringflow::testing::MetricLabels;
using ::ringflow::testing::Value;
using ::testing::Optional;

std::vector<MetricFamily> Scrape(const ByteRingMetricsSource& source) {
  std::vector<RingSnapshot> snapshots;
  source.Collect(snapshots);
  return BuildMetricFamilies(std::span<const RingSnapshot>(snapshots));
}

bool PublishBytes(ByteRing& ring, int64_t length) {
  const std::vector<std::byte> bytes(static_cast<size_t>(length),
                                     std::byte{0x5a});
  return ring.TryPublish(std::span<const std::byte>(bytes));
}

std::unique_ptr<ByteRing> MakeRing() {
  auto ring = ByteRing::Create({.capacity = 256,
                                .producer_type = ProducerType::kSingle,
                                .wait_strategy = WaitStrategyKind::kBusySpin,
                                .name = "journal"});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

TEST(ByteRingMetricsSourceTest, ExportsEveryCounterPositionAndLag) {
  std::unique_ptr<ByteRing> ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(ByteReader writer,
                       ring->RegisterReader("writer", ReaderStart::kOldest));

  // Records take 8 header bytes plus their payload padded to 8.
  ASSERT_TRUE(PublishBytes(*ring, 100));  // [0, 112)
  ASSERT_TRUE(PublishBytes(*ring, 60));   // [112, 184)
  {
    std::optional<WriteClaim> claim = ring->TryClaim(50);  // [184, 248)
    ASSERT_TRUE(claim.has_value());
    claim->Abort();  // a 64-byte skip record
  }
  // 48 bytes would cross the end while the writer holds 0: refused.
  EXPECT_FALSE(ring->TryClaim(40).has_value());
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      ring->Claim(40, absl::Milliseconds(1)).status()));

  // The writer reads both records and passes the aborted claim.
  int64_t read = 0;
  EXPECT_EQ(writer.ReadBatch([&](std::span<const std::byte> record, int64_t,
                                 bool) { read += std::ssize(record); }),
            2);
  EXPECT_EQ(read, 160);
  ASSERT_EQ(writer.position(), 248);

  // Registered now: starts at the writer's 248, reads nothing.
  ASSERT_OK_AND_ASSIGN(ByteReader audit,
                       ring->RegisterReader("audit", ReaderStart::kLatest));

  // Padding [248, 256), then the record at [256, 304).
  ASSERT_TRUE(PublishBytes(*ring, 40));
  {
    std::optional<WriteClaim> claim = ring->TryClaim(24);  // [304, 336)
    ASSERT_TRUE(claim.has_value());
    claim->Commit(10);  // a 24-byte record and an 8-byte skip record
  }
  {
    std::optional<ReadClaim> record = writer.TryRead();
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->data().size(), 40u);
  }
  ASSERT_EQ(writer.position(), 304);
  ASSERT_EQ(ring->ClaimedPosition(), 336);

  const ByteRingMetricsSource source(*ring, {&writer, &audit});
  const std::vector<MetricFamily> families = Scrape(source);
  const MetricLabels r{{"ring", "journal"}};
  EXPECT_THAT(Value(families, "ringflow_byte_ring_capacity_bytes", r),
              Optional(256.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_claimed_bytes_total", r),
              Optional(336.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_records_published_total", r),
              Optional(4.0));
  EXPECT_THAT(
      Value(families, "ringflow_byte_ring_payload_bytes_published_total", r),
      Optional(210.0));  // 100 + 60 + 40 + 10
  EXPECT_THAT(Value(families, "ringflow_byte_ring_padding_bytes_total", r),
              Optional(8.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_skipped_bytes_total", r),
              Optional(72.0));  // the 64-byte abort, the 8-byte short tail
  EXPECT_THAT(Value(families, "ringflow_byte_ring_aborted_records_total", r),
              Optional(1.0));
  EXPECT_THAT(Value(families, "ringflow_producer_full_waits_total", r),
              Optional(1.0));
  EXPECT_THAT(Value(families, "ringflow_producer_try_next_failures_total", r),
              Optional(1.0));

  const MetricLabels w{{"ring", "journal"}, {"consumer", "writer"}};
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_position_bytes", w),
              Optional(304.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_lag_bytes", w),
              Optional(32.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_records_total", w),
              Optional(3.0));
  EXPECT_THAT(
      Value(families, "ringflow_byte_ring_reader_payload_bytes_total", w),
      Optional(200.0));
  EXPECT_THAT(
      Value(families, "ringflow_byte_ring_reader_skipped_bytes_total", w),
      Optional(72.0));  // the abort and the padding

  const MetricLabels a{{"ring", "journal"}, {"consumer", "audit"}};
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_position_bytes", a),
              Optional(248.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_lag_bytes", a),
              Optional(88.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_records_total", a),
              Optional(0.0));
  EXPECT_THAT(
      Value(families, "ringflow_byte_ring_reader_payload_bytes_total", a),
      Optional(0.0));
  EXPECT_THAT(
      Value(families, "ringflow_byte_ring_reader_skipped_bytes_total", a),
      Optional(0.0));
}

TEST(ByteRingMetricsSourceTest, LeavesOutEventSlotFamilies) {
  std::unique_ptr<ByteRing> ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(ByteReader reader, ring->RegisterReader("writer"));
  ASSERT_TRUE(PublishBytes(*ring, 16));
  const std::vector<MetricFamily> families =
      Scrape(ByteRingMetricsSource(*ring));
  for (const char* name :
       {"ringflow_ring_capacity_events", "ringflow_events_published_total",
        "ringflow_ring_remaining_capacity_events", "ringflow_consumer_sequence",
        "ringflow_consumer_lag_events"}) {
    EXPECT_EQ(FindFamily(families, name), nullptr) << name;
  }
  EXPECT_THAT(Value(families, "ringflow_byte_ring_records_published_total",
                    {{"ring", "journal"}}),
              Optional(1.0));
}

TEST(ByteRingMetricsSourceTest, ExportsOnlyPositionAndLagOfReadersNotPassed) {
  std::unique_ptr<ByteRing> ring = MakeRing();
  ASSERT_OK_AND_ASSIGN(ByteReader reader, ring->RegisterReader("writer"));
  ASSERT_TRUE(PublishBytes(*ring, 16));  // [0, 24)
  const std::vector<MetricFamily> families =
      Scrape(ByteRingMetricsSource(*ring));
  const MetricLabels w{{"ring", "journal"}, {"consumer", "writer"}};
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_position_bytes", w),
              Optional(0.0));
  EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_lag_bytes", w),
              Optional(24.0));
  EXPECT_EQ(FindFamily(families, "ringflow_byte_ring_reader_records_total"),
            nullptr);
}

TEST(ByteRingMetricsSourceTest, DropsAReaderThatLeft) {
  std::unique_ptr<ByteRing> ring = MakeRing();
  { ASSERT_OK_AND_ASSIGN(ByteReader reader, ring->RegisterReader("writer")); }
  const std::vector<MetricFamily> families =
      Scrape(ByteRingMetricsSource(*ring));
  EXPECT_EQ(FindFamily(families, "ringflow_byte_ring_reader_lag_bytes"),
            nullptr);
  EXPECT_THAT(Value(families, "ringflow_byte_ring_capacity_bytes",
                    {{"ring", "journal"}}),
              Optional(256.0));
}

// The same families for a byte ring in shared memory, read from its control
// segment by the producer's process and by a sidecar (Control::Inspect):
// ControlMetricsSource, plus the recovered-claim counters of a shared
// ring.
TEST(ByteRingMetricsSourceTest, ControlMetricsSourceExportsASharedByteRing) {
  const testing::RingRemover remover(testing::UniqueRingName("bytemetrics"));
  shm::SharedByteRingOptions options;
  options.ring.name = remover.name();
  options.ring.capacity = 256;
  options.ring.producer_type = ProducerType::kSingle;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<shm::SharedByteRing> ring,
                       shm::SharedByteRing::Create(options));
  ASSERT_OK_AND_ASSIGN(ByteReader reader,
                       ring->RegisterReader("writer", ReaderStart::kOldest));
  const std::vector<std::byte> bytes(100, std::byte{0x5a});
  ASSERT_TRUE(ring->TryPublish(std::span<const std::byte>(bytes)));  // [0,112)
  ASSERT_TRUE(ring->TryPublish(
      std::span<const std::byte>(bytes).first(60)));  // [112, 184)
  ASSERT_EQ(reader.ReadBatch([](std::span<const std::byte>, int64_t, bool) {}),
            2);
  ASSERT_TRUE(ring->TryPublish(
      std::span<const std::byte>(bytes).first(8)));  // [184, 200)

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<shm_internal::Control> inspected,
                       shm_internal::Control::Inspect(remover.name()));
  const observability::ControlMetricsSource own(ring->control());
  const observability::ControlMetricsSource sidecar(std::move(inspected));
  for (const observability::ControlMetricsSource* source : {&own, &sidecar}) {
    std::vector<RingSnapshot> snapshots;
    source->Collect(snapshots);
    const std::vector<MetricFamily> families =
        BuildMetricFamilies(std::span<const RingSnapshot>(snapshots));
    const MetricLabels r{{"ring", remover.name()}};
    EXPECT_THAT(Value(families, "ringflow_byte_ring_capacity_bytes", r),
                Optional(256.0));
    EXPECT_THAT(Value(families, "ringflow_byte_ring_claimed_bytes_total", r),
                Optional(200.0));
    EXPECT_THAT(
        Value(families, "ringflow_byte_ring_records_published_total", r),
        Optional(3.0));
    EXPECT_THAT(
        Value(families, "ringflow_byte_ring_payload_bytes_published_total", r),
        Optional(168.0));
    EXPECT_THAT(
        Value(families, "ringflow_byte_ring_recovered_records_total", r),
        Optional(0.0));
    const MetricLabels w{{"ring", remover.name()}, {"consumer", "writer"}};
    EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_position_bytes", w),
                Optional(184.0));
    EXPECT_THAT(Value(families, "ringflow_byte_ring_reader_lag_bytes", w),
                Optional(16.0));
    // No event-ring families for a byte ring.
    EXPECT_EQ(FindFamily(families, "ringflow_ring_capacity_events"), nullptr);
  }
}

}  // namespace
}  // namespace ringflow
