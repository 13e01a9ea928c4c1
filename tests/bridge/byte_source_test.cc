// JetStreamByteSource: a stream into an in-process ByteRing, each message
// one record, checked byte for byte and by order. One single-node
// JetStream server for the suite (nats_cluster.h).

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/bridge/jetstream.h"
#include "ringflow/bridge/jetstream_byte_sink.h"
#include "ringflow/bridge/jetstream_byte_source.h"
#include "ringflow/core/byte_ring.h"
#include "support/status_matchers.h"
#include "tests/bridge/nats_cluster.h"

namespace ringflow::bridge_testing {
namespace {

using ::ringflow::testing::IsOk;
using ::ringflow::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Record k: 8 bytes of k, then k % 300 bytes of a pattern of k.
std::string Record(int64_t k) {
  std::string r(8 + static_cast<size_t>(k % 300), '\0');
  std::memcpy(r.data(), &k, 8);
  for (size_t i = 8; i < r.size(); ++i) {
    r[i] = static_cast<char>((k * 7 + static_cast<int64_t>(i)) & 0xff);
  }
  return r;
}

template <typename Pred>
bool PollUntil(Pred&& pred, absl::Duration limit = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));  // between polls
  }
  return true;
}

class JetStreamByteSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = NatsCluster::Start({.nodes = 1});
    if (!c.ok()) {
      *status_ = c.status();
      return;
    }
    server_ = c->release();
    *status_ = server_->WaitReady(absl::Seconds(30), 1);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (absl::IsNotFound(*status_)) GTEST_SKIP() << *status_;
    ASSERT_THAT(*status_, IsOk());
  }
  static bridge::BridgeOptions Options(std::string stream) {
    bridge::BridgeOptions o;
    o.servers = server_->urls();
    o.stream = std::move(stream);
    o.ack_timeout = absl::Seconds(2);
    o.request_timeout = absl::Seconds(2);
    return o;
  }
  // Creates `stream` on `subject` and fills it with records 0..n-1
  // through a JetStreamByteSink.
  static void Fill(const std::string& stream, const std::string& subject,
                   int64_t n) {
    bridge::BridgeOptions o = Options(stream);
    o.subject = subject;
    {
      auto conn = *bridge::NatsConnection::Connect(o);
      auto js = *bridge::JetStream::Create(*conn, absl::Seconds(2));
      bridge::StreamSpec spec;
      spec.name = stream;
      spec.subjects = {subject};
      ASSERT_THAT(js->EnsureStream(spec), IsOk());
    }
    auto ring = *ByteRing::Create({.capacity = 64 * 1024,
                                   .producer_type = ProducerType::kSingle,
                                   .name = "fill"});
    auto reader = *ring->RegisterReader("bridge");
    auto sink = *bridge::JetStreamByteSink<ByteReader>::Create(reader, o);
    std::atomic<bool> stop{false};
    std::thread t([&] { (void)sink->Run(stop); });
    for (int64_t k = 0; k < n; ++k) {
      const std::string r = Record(k);
      ring->Publish(std::as_bytes(std::span(r.data(), r.size())));
    }
    const bool acked = PollUntil([&] { return sink->acked_records() == n; });
    stop = true;
    t.join();
    ASSERT_TRUE(acked);
  }

  static tools_internal::NatsCluster* server_;
  static absl::Status* status_;
};
tools_internal::NatsCluster* JetStreamByteSourceTest::server_ = nullptr;
absl::Status* JetStreamByteSourceTest::status_ = new absl::Status();

TEST_F(JetStreamByteSourceTest, EveryMessageBecomesOneRecordInOrder) {
  constexpr int64_t kRecords = 2000;
  Fill("BSRC", "bsrc.a", kRecords);
  // Small ring: the source waits for room (backpressure) many times.
  auto ring = *ByteRing::Create(
      {.capacity = 4096, .producer_type = ProducerType::kSingle, .name = "in"});
  ASSERT_OK_AND_ASSIGN(ByteReader reader, ring->RegisterReader("check"));
  bridge::BridgeOptions o = Options("BSRC");
  o.durable = "bin";
  o.window = 32;
  ASSERT_OK_AND_ASSIGN(auto source,
                       bridge::JetStreamByteSource::Create(*ring, o));
  std::atomic<bool> stop{false};
  absl::Status status;
  std::thread t([&] { status = source->Run(stop); });
  int64_t next = 0;
  int64_t bad = 0;
  const bool all = PollUntil([&] {
    reader.ReadBatch([&](std::span<const std::byte> r, int64_t, bool) {
      const std::string want = Record(next);
      if (r.size() != want.size() ||
          std::memcmp(r.data(), want.data(), want.size()) != 0) {
        ++bad;
      }
      ++next;
    });
    return next >= kRecords;
  });
  // Nothing more arrives: the source applied the stream's last sequence.
  const bool caught_up = PollUntil([&] {
    return source->applied_sequence() == static_cast<uint64_t>(kRecords);
  });
  stop = true;
  t.join();
  ASSERT_TRUE(all) << next;
  ASSERT_TRUE(caught_up);
  reader.ReadBatch([&](std::span<const std::byte>, int64_t, bool) { ++next; });
  EXPECT_EQ(next, kRecords);
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(source->counters().published(), static_cast<uint64_t>(kRecords));
  EXPECT_THAT(status, IsOk());
}

TEST_F(JetStreamByteSourceTest, AMessageLargerThanARecordIsInvalidArgument) {
  Fill("BBIG", "bbig.a", 0);
  {
    bridge::BridgeOptions o = Options("BBIG");
    // One message larger than the receiving ring's records.
    const std::string big(3000, 'z');
    auto ring = *ByteRing::Create({.capacity = 64 * 1024, .name = "bigf"});
    auto reader = *ring->RegisterReader("bridge");
    o.subject = "bbig.a";
    auto sink = *bridge::JetStreamByteSink<ByteReader>::Create(reader, o);
    ring->Publish(std::as_bytes(std::span(big.data(), big.size())));
    std::atomic<bool> stop{false};
    std::thread t([&] { (void)sink->Run(stop); });
    const bool acked = PollUntil([&] { return sink->acked_records() == 1; });
    stop = true;
    t.join();
    ASSERT_TRUE(acked);
  }
  auto ring = *ByteRing::Create({.capacity = 4096,
                                 .producer_type = ProducerType::kSingle,
                                 .name = "small"});
  bridge::BridgeOptions o = Options("BBIG");
  o.durable = "big";
  ASSERT_OK_AND_ASSIGN(auto source,
                       bridge::JetStreamByteSource::Create(*ring, o));
  std::atomic<bool> stop{false};
  EXPECT_THAT(source->Run(stop),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("BBIG"), HasSubstr("sequence 1"),
                             HasSubstr("3000"))));
  EXPECT_EQ(source->applied_sequence(), 0u);
}

}  // namespace
}  // namespace ringflow::bridge_testing
