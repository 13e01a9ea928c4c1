// Tests for AsyncReader: a coroutine reading a ring through leases, woken
// by a producer thread (RingBuffer and ShardedRing); cancelled waits and
// timeouts that lease nothing and leave the reader's position where it
// was; a closed, fully read ring; a ring whose producers never wake.

#include "ringflow/async/async_reader.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "asio/co_spawn.hpp"
#include "asio/experimental/awaitable_operators.hpp"
#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/sharded_poller.h"
#include "support/asio_spawn.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow::async {
namespace {

using asio::awaitable;
using ::ringflow::testing::Events;
using ::ringflow::testing::Spawn;
using ::ringflow::testing::StatusIs;
using ::testing::HasSubstr;

using Ring = RingBuffer<int64_t>;

std::unique_ptr<Ring> MakeRing(WaitStrategyKind wait, int64_t capacity) {
  auto ring = Ring::Create({.capacity = capacity,
                            .producer_type = ProducerType::kSingle,
                            .wait_strategy = wait});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

TEST(AsyncReaderTest, ASpinningRingIsRefused) {
  auto ring = MakeRing(WaitStrategyKind::kBusySpin, 8);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  EXPECT_THAT(AsyncReader<int64_t>::Create(*ring, *poller).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_strategy busy-spin")));
}

// A producer thread publishes in bursts into a small ring; the reader
// task leases batches until it has every event, in order.
TEST(AsyncReaderTest, BatchesFromAProducerThreadArriveInOrder) {
  const int64_t n = Events(200'000);
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 256);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(auto reader,
                       AsyncReader<int64_t>::Create(*ring, *poller));
  asio::io_context io;
  int64_t count = 0;
  bool in_order = true;
  Spawn(io, [&]() -> awaitable<void> {
    while (count < n) {
      absl::StatusOr<LeaseBatch<int64_t>> batch = co_await reader.NextBatch(64);
      EXPECT_OK(batch.status());
      if (!batch.ok()) co_return;
      for (int64_t v : *batch) in_order &= (v == count++);
    }
  });
  std::thread producer([&] {
    for (int64_t i = 0; i < n; ++i) {
      ring->PublishEvent([i](int64_t& e, int64_t) { e = i; });
    }
  });
  io.run();
  producer.join();
  EXPECT_EQ(count, n);
  EXPECT_TRUE(in_order);
}

TEST(AsyncReaderTest, AShardedRingsReaderGetsEveryProducersEvents) {
  const int64_t per = Events(50'000);
  auto ring =
      ShardedRing<int64_t>::Create({.shard = {.capacity = 128}}).value();
  auto poller = ShardedPoller<int64_t>::Create(*ring).value();
  using Reader = AsyncReader<int64_t, ShardedPoller<int64_t>>;
  ASSERT_OK_AND_ASSIGN(Reader reader, Reader::Create(*ring, *poller));
  asio::io_context io;
  int64_t sum = 0, count = 0;
  Spawn(io, [&]() -> awaitable<void> {
    while (count < 2 * per) {
      auto batch = co_await reader.NextBatch(32);
      EXPECT_OK(batch.status());
      if (!batch.ok()) co_return;
      for (int64_t v : *batch) {
        sum += v;
        ++count;
      }
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&] {
      auto producer = ring->RegisterProducer().value();
      for (int64_t i = 1; i <= per; ++i) {
        producer->PublishEvent([i](int64_t& e, int64_t) { e = i; });
      }
    });
  }
  io.run();
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(count, 2 * per);
  EXPECT_EQ(sum, 2 * (per * (per + 1) / 2));
}

// A wait cancelled through `||` leases nothing: the next lease is the
// first event.
TEST(AsyncReaderTest, ACancelledWaitLeavesThePositionWhereItWas) {
  using namespace asio::experimental::awaitable_operators;
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 8);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(auto reader,
                       AsyncReader<int64_t>::Create(*ring, *poller));
  asio::io_context io;
  Spawn(io, [&]() -> awaitable<void> {
    asio::steady_timer timer(io, std::chrono::milliseconds(2));
    auto first =
        co_await (reader.NextLease() || timer.async_wait(asio::use_awaitable));
    EXPECT_EQ(first.index(), 1u);
    EXPECT_EQ(poller->sequence().LoadRelaxed(), -1);
    ring->PublishEvent([](int64_t& e, int64_t) { e = 7; });
    absl::StatusOr<Lease<int64_t>> lease = co_await reader.NextLease();
    EXPECT_OK(lease.status());
    if (!lease.ok()) co_return;
    EXPECT_EQ(lease->sequence(), 0);
    EXPECT_EQ(**lease, 7);
  });
  io.run();
}

TEST(AsyncReaderTest, TimeoutAndClosedAndReadAreNamed) {
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 8);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(auto reader,
                       AsyncReader<int64_t>::Create(*ring, *poller));
  asio::io_context io;
  Spawn(io, [&]() -> awaitable<void> {
    EXPECT_THAT(co_await reader.WaitForEvents(absl::Milliseconds(3)),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         HasSubstr("nothing was leased")));
    ring->PublishEvent([](int64_t& e, int64_t) { e = 1; });
    ring->Close();
    // Closed, but one event is still to read.
    EXPECT_OK(co_await reader.WaitForEvents());
    {
      auto batch = co_await reader.NextBatch(8);
      EXPECT_OK(batch.status());
    }
    EXPECT_THAT(co_await reader.NextBatch(8),
                StatusIs(absl::StatusCode::kOutOfRange,
                         HasSubstr("closed and this reader has read all")));
  });
  io.run();
}

}  // namespace
}  // namespace ringflow::async
