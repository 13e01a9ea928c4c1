// Multi-threaded tests for ByteRing: one producer and three producers
// against two readers that read from the start (one by batches, one record
// at a time and slower) and a reader that joins while the producers run,
// for the blocking, timeout-blocking and yielding wait strategies; Halt
// releasing a reader blocked in Wait and a producer blocked on a full ring.
//
// Every record has a length drawn from 1..kMaxLength and carries its
// producer id, its per-producer index (as many bytes as fit) and bytes
// derived from both, with a checksum at the end when it is 16 bytes or
// longer. Producers mix waiting and non-waiting claims, Publish, gather
// Publish, short commits and aborted claims. Readers check every byte,
// per-producer order and exact counts (records, payload bytes, skipped
// bytes against the ring's padding and skip counters).
// Threads synchronise on values (the ring's counters, atomics), never on
// sleeps.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/core/write_claim.h"
#include "support/core_test_util.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::core_testing::SpinUntil;
using ::ringflow::core_testing::WaitStrategyParamName;
using ::ringflow::testing::Events;
using ::ringflow::testing::IsOk;

constexpr int64_t kCapacity = 4096;
constexpr int64_t kMaxLength = 300;
constexpr int kMaxProducers = 3;

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

int64_t LengthOf(int producer, uint64_t index) {
  return 1 + static_cast<int64_t>(
                 Mix(index * kMaxProducers + static_cast<uint64_t>(producer)) %
                 kMaxLength);
}

uint32_t Fnv1a(std::span<const std::byte> bytes) {
  uint32_t hash = 2166136261u;
  for (std::byte b : bytes) {
    hash = (hash ^ static_cast<uint32_t>(b)) * 16777619u;
  }
  return hash;
}

// Record (producer, index): byte 0 the producer, bytes 1..8 the index
// (little endian, truncated to what fits), then bytes derived from both;
// records of 16 bytes or more end with the FNV-1a checksum of the rest.
void FillRecord(std::span<std::byte> out, int producer, uint64_t index) {
  const size_t n = out.size();
  const size_t body = n >= 16 ? n - 4 : n;
  const uint64_t seed = Mix(index ^ (uint64_t{0x9e37} << producer));
  for (size_t k = 0; k < body; ++k) {
    if (k == 0) {
      out[k] = static_cast<std::byte>(producer);
    } else if (k <= 8) {
      out[k] = static_cast<std::byte>(index >> (8 * (k - 1)));
    } else {
      out[k] = static_cast<std::byte>(seed >> (8 * (k % 8)) ^ k);
    }
  }
  if (n >= 16) {
    const uint32_t sum = Fnv1a(out.first(body));
    std::memcpy(out.data() + body, &sum, sizeof(sum));
  }
}

// Whether `record` is exactly record (producer, index).
bool CheckRecord(std::span<const std::byte> record, int producer,
                 uint64_t index) {
  if (static_cast<int64_t>(record.size()) != LengthOf(producer, index)) {
    return false;
  }
  if (record.size() >= 16) {
    uint32_t sum;
    std::memcpy(&sum, record.data() + record.size() - 4, sizeof(sum));
    if (sum != Fnv1a(record.first(record.size() - 4))) return false;
  }
  std::array<std::byte, kMaxLength> expected;
  FillRecord(std::span(expected).first(record.size()), producer, index);
  return std::equal(record.begin(), record.end(), expected.begin());
}

// What a reader saw. Written by its thread, read after joining it.
struct ReaderLog {
  std::array<uint64_t, kMaxProducers> next{};  // next expected index
  std::array<int64_t, kMaxProducers> first{-1, -1, -1};
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t bad = 0;
  std::string first_bad;
  bool alerted = false;

  // `from_start`: the reader saw every record, so each producer's first
  // record is its index 0; otherwise indices start anywhere.
  void See(std::span<const std::byte> record, int64_t position, bool from_start,
           int producers) {
    ++records;
    bytes += static_cast<int64_t>(record.size());
    const int producer =
        record.empty() ? -1
                       : static_cast<int>(std::to_integer<uint8_t>(record[0]));
    bool good = producer >= 0 && producer < producers;
    if (good) {
      if (first[producer] < 0 && !from_start) {
        // Joined late: learn the index from the record (>= 9 bytes carry
        // all of it; shorter ones are identified by the next longer one).
        uint64_t index = 0;
        std::memcpy(&index, record.data() + 1,
                    std::min<size_t>(8, record.size() - 1));
        if (record.size() < 9) {
          // Too short to carry the whole index: wait for a longer one.
          --records;
          bytes -= static_cast<int64_t>(record.size());
          return;
        }
        next[producer] = index;
      }
      if (first[producer] < 0) first[producer] = next[producer];
      good = CheckRecord(record, producer, next[producer]);
      ++next[producer];
    }
    if (!good && bad++ == 0) {
      first_bad = "record at " + std::to_string(position) + " (" +
                  std::to_string(record.size()) + " bytes) from producer " +
                  std::to_string(producer);
    }
  }
};

struct ProducerLog {
  int64_t aborts = 0;
  int64_t short_commits = 0;
  int64_t bytes = 0;
};

// Writes records 0..count-1 of `producer`, mixing the claim forms.
void Produce(ByteRing& ring, int producer, uint64_t count, ProducerLog& log) {
  uint64_t random = Mix(static_cast<uint64_t>(producer) + 1);
  std::array<std::byte, kMaxLength + 64> scratch;
  for (uint64_t index = 0; index < count; ++index) {
    random = Mix(random);
    const int64_t length = LengthOf(producer, index);
    const std::span<std::byte> bytes =
        std::span(scratch).first(static_cast<size_t>(length));
    switch (random % 10) {
      case 0: {  // an aborted claim first (not a record of this producer)
        std::optional<WriteClaim> junk = ring.Claim(length);
        ASSERT_TRUE(junk.has_value());
        std::memset(junk->data().data(), 0xee, junk->data().size());
        if (random & 1024) junk->Abort();  // else: destroyed, aborted
        ++log.aborts;
      }
        [[fallthrough]];
      case 1:
      case 2:
      case 3: {  // waiting claim, written in place
        std::optional<WriteClaim> claim = ring.Claim(length);
        ASSERT_TRUE(claim.has_value());
        FillRecord(claim->data(), producer, index);
        claim->Commit();
        break;
      }
      case 4: {  // a longer claim, committed short
        const int64_t extra = static_cast<int64_t>((random >> 8) % 64) + 1;
        std::optional<WriteClaim> claim = ring.Claim(length + extra);
        ASSERT_TRUE(claim.has_value());
        FillRecord(claim->data().first(static_cast<size_t>(length)), producer,
                   index);
        claim->Commit(length);
        ++log.short_commits;
        break;
      }
      case 5:
      case 6: {  // non-waiting claim, retried
        std::optional<WriteClaim> claim;
        while (!(claim = ring.TryClaim(length))) std::this_thread::yield();
        FillRecord(claim->data(), producer, index);
        claim->Commit();
        break;
      }
      case 7:
      case 8: {  // copy in
        FillRecord(bytes, producer, index);
        ASSERT_TRUE(ring.Publish(std::span<const std::byte>(bytes)));
        break;
      }
      default: {  // gather
        FillRecord(bytes, producer, index);
        const size_t cut = static_cast<size_t>(random >> 16) % bytes.size();
        const std::span<const std::byte> pieces[] = {bytes.first(cut),
                                                     bytes.subspan(cut)};
        ASSERT_TRUE(
            ring.Publish(std::span<const std::span<const std::byte>>(pieces)));
        break;
      }
    }
    log.bytes += length;
  }
}

class ByteRingConcurrentTest
    : public ::testing::TestWithParam<std::tuple<int, WaitStrategyKind>> {
 protected:
  int producers() const { return std::get<0>(GetParam()); }
  WaitStrategyKind wait_strategy() const { return std::get<1>(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(
    Topologies, ByteRingConcurrentTest,
    ::testing::Combine(::testing::Values(1, 3),
                       ::testing::Values(WaitStrategyKind::kBlocking,
                                         WaitStrategyKind::kTimeoutBlocking,
                                         WaitStrategyKind::kYielding)),
    [](const ::testing::TestParamInfo<std::tuple<int, WaitStrategyKind>>& p) {
      return (std::get<0>(p.param) == 1 ? std::string("OneProducer")
                                        : std::string("ThreeProducers")) +
             WaitStrategyParamName(std::get<1>(p.param));
    });

TEST_P(ByteRingConcurrentTest, EveryReaderSeesEveryRecordInProducerOrder) {
  const int n_producers = producers();
  const uint64_t per_producer =
      static_cast<uint64_t>(Events(n_producers == 1 ? 200'000 : 60'000));
  const int64_t total = static_cast<int64_t>(per_producer) * n_producers;

  ByteRingOptions options;
  options.capacity = kCapacity;
  options.producer_type =
      n_producers == 1 ? ProducerType::kSingle : ProducerType::kMulti;
  options.wait_strategy = wait_strategy();
  options.wait_timeout = absl::Milliseconds(1);
  absl::StatusOr<std::unique_ptr<ByteRing>> created = ByteRing::Create(options);
  ASSERT_THAT(created, IsOk());
  ByteRing& ring = **created;

  absl::StatusOr<ByteReader> batch_reader = ring.RegisterReader("batch");
  absl::StatusOr<ByteReader> single_reader = ring.RegisterReader("single");
  ASSERT_THAT(batch_reader, IsOk());
  ASSERT_THAT(single_reader, IsOk());
  // Set by the test thread once every producer is done: the final tail.
  std::atomic<int64_t> final_position{-1};
  auto done = [&](const ByteReader& reader) {
    // Acquire: pairs with the release store after the producers joined.
    const int64_t end = final_position.load(std::memory_order_acquire);
    return end >= 0 && reader.position() >= end;
  };

  ReaderLog batch_log;
  ReaderLog single_log;
  ReaderLog late_log;
  std::thread batch([&] {
    while (batch_log.records < total) {
      const WaitResult result = batch_reader->Wait();
      if (result.status == WaitStatus::kAlerted) {
        batch_log.alerted = true;
        return;
      }
      if (!result.ok()) continue;  // kTimeout: the timeout strategy's tick
      batch_reader->ReadBatch(
          [&](std::span<const std::byte> record, int64_t position, bool) {
            batch_log.See(record, position, true, n_producers);
          });
    }
  });
  std::thread single([&] {
    while (single_log.records < total) {
      std::optional<ReadClaim> claim = single_reader->TryRead();
      if (!claim) {
        if (single_reader->WaitFor(absl::Milliseconds(5)).status ==
            WaitStatus::kAlerted) {
          single_log.alerted = true;
          return;
        }
        continue;
      }
      single_log.See(**claim, claim->position(), true, n_producers);
      claim.reset();
      // A slower reader: it lets the producers wait for it now and then.
      if (single_log.records % 64 == 0) std::this_thread::yield();
    }
  });

  std::vector<ProducerLog> producer_logs(static_cast<size_t>(n_producers));
  std::vector<std::thread> producer_threads;
  for (int p = 0; p < n_producers; ++p) {
    producer_threads.emplace_back(
        [&, p] { Produce(ring, p, per_producer, producer_logs[p]); });
  }

  // A reader that joins while the producers run, once a quarter is out.
  ASSERT_TRUE(SpinUntil([&] {
    return ring.records_published() >= static_cast<uint64_t>(total / 4);
  }));
  const ReaderStart late_start =
      n_producers == 1 ? ReaderStart::kLatest : ReaderStart::kOldest;
  absl::StatusOr<ByteReader> late_reader =
      ring.RegisterReader("late", late_start);
  ASSERT_THAT(late_reader, IsOk());
  std::thread late([&] {
    while (!done(*late_reader)) {
      const int64_t n = late_reader->ReadBatch(
          [&](std::span<const std::byte> record, int64_t position, bool) {
            late_log.See(record, position, false, n_producers);
          });
      if (n == 0 && late_reader->WaitFor(absl::Milliseconds(5)).status ==
                        WaitStatus::kAlerted) {
        late_log.alerted = true;
        return;
      }
    }
  });

  for (std::thread& t : producer_threads) t.join();
  // Release: pairs with the acquire load in `done`.
  final_position.store(ring.ClaimedPosition(), std::memory_order_release);
  // A lost record would leave a reader waiting: turn that into a failure.
  std::atomic<int> finished{0};
  std::thread guard([&] {
    if (!SpinUntil([&] { return finished.load() == 3; })) ring.Halt();
  });
  batch.join();
  finished.fetch_add(1);
  single.join();
  finished.fetch_add(1);
  late.join();
  finished.fetch_add(1);
  guard.join();

  int64_t aborts = 0;
  int64_t payload = 0;
  for (const ProducerLog& log : producer_logs) {
    aborts += log.aborts;
    payload += log.bytes;
  }
  for (const ReaderLog* log : {&batch_log, &single_log}) {
    EXPECT_FALSE(log->alerted);
    EXPECT_EQ(log->records, total);
    EXPECT_EQ(log->bytes, payload);
    EXPECT_EQ(log->bad, 0) << "first bad: " << log->first_bad;
    for (int p = 0; p < n_producers; ++p) {
      EXPECT_EQ(log->next[p], per_producer) << "producer " << p;
      EXPECT_EQ(log->first[p], 0) << "producer " << p;
    }
  }
  EXPECT_FALSE(late_log.alerted);
  EXPECT_EQ(late_log.bad, 0) << "first bad: " << late_log.first_bad;
  for (int p = 0; p < n_producers; ++p) {
    // Consecutive from its first record to each producer's last.
    if (late_log.first[p] >= 0) {
      EXPECT_EQ(late_log.next[p], per_producer) << "producer " << p;
    }
  }
  EXPECT_GT(late_log.records, 0);

  EXPECT_EQ(ring.records_published(), static_cast<uint64_t>(total));
  EXPECT_EQ(ring.payload_bytes_published(), static_cast<uint64_t>(payload));
  EXPECT_EQ(ring.aborted_records(), static_cast<uint64_t>(aborts));
  for (ByteReader* reader : {&*batch_reader, &*single_reader}) {
    // Nothing left but, maybe, skip records after the last data record
    // (an abort or a short commit's tail): this read passes them.
    EXPECT_FALSE(reader->TryRead().has_value());
    EXPECT_EQ(reader->records_read(), static_cast<uint64_t>(total));
    EXPECT_EQ(reader->bytes_read(), static_cast<uint64_t>(payload));
    // Both saw every skip record: padding, aborts and short-commit tails.
    EXPECT_EQ(reader->skipped_bytes(),
              ring.padding_bytes() + ring.skipped_bytes());
    EXPECT_EQ(reader->position(), ring.ClaimedPosition());
  }
  EXPECT_GT(ring.padding_bytes(), 0u);
}

class ByteRingHaltTest : public ::testing::TestWithParam<WaitStrategyKind> {};

INSTANTIATE_TEST_SUITE_P(
    WaitStrategies, ByteRingHaltTest,
    ::testing::ValuesIn(core_testing::kWaitStrategyKinds),
    [](const ::testing::TestParamInfo<WaitStrategyKind>& p) {
      return WaitStrategyParamName(p.param);
    });

TEST_P(ByteRingHaltTest, HaltReleasesBlockedReaderAndProducer) {
  ByteRingOptions options;
  options.capacity = 256;
  options.wait_strategy = GetParam();
  absl::StatusOr<std::unique_ptr<ByteRing>> created = ByteRing::Create(options);
  ASSERT_THAT(created, IsOk());
  ByteRing& ring = **created;
  absl::StatusOr<ByteReader> reader = ring.RegisterReader();
  absl::StatusOr<ByteReader> stuck = ring.RegisterReader("stuck");
  ASSERT_THAT(reader, IsOk());
  ASSERT_THAT(stuck, IsOk());

  std::atomic<int> reads{0};
  WaitResult last;
  std::thread reading([&] {
    for (;;) {
      last = reader->Wait();
      if (last.status == WaitStatus::kAlerted) return;
      if (last.ok()) {
        reads.fetch_add(static_cast<int>(reader->ReadBatch(
            [](std::span<const std::byte>, int64_t, bool) {})));
      }
    }
  });
  // Fill the ring: `stuck` never reads, so the 8th 32-byte record waits.
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(ring.Publish(std::vector<std::byte>(24)));
  }
  std::optional<WriteClaim> blocked;
  std::thread producing([&] { blocked = ring.Claim(24); });
  ASSERT_TRUE(SpinUntil([&] { return ring.full_waits() == 1; }));
  ASSERT_TRUE(SpinUntil([&] { return reads.load() == 7; }));
  ring.Halt();
  producing.join();
  reading.join();
  EXPECT_FALSE(blocked.has_value());
  EXPECT_EQ(last.status, WaitStatus::kAlerted);
  EXPECT_EQ(reader->records_read(), 7u);
}

}  // namespace
}  // namespace ringflow
