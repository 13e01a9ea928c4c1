// Tests for AsyncPublisher: a producer task that suspends while its ring is
// full and is woken by a consumer thread's progress (every event arrives,
// in order); a cancelled or timed-out publish publishes nothing; a closed
// ring and a bad room request are named.

#include "ringflow/async/async_publisher.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

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
#include "ringflow/processors/event_poller.h"
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
using Publisher = AsyncPublisher<Ring>;

std::unique_ptr<Ring> MakeRing(int64_t capacity) {
  auto ring = Ring::Create({.capacity = capacity,
                            .producer_type = ProducerType::kSingle,
                            .wait_strategy = WaitStrategyKind::kYielding});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

TEST(AsyncPublisherTest, AFullRingSuspendsTheTaskUntilAConsumerMakesRoom) {
  const int64_t n = Events(100'000);
  auto ring = MakeRing(16);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(Publisher publisher, Publisher::Create(*ring));
  asio::io_context io;
  Spawn(io, [&]() -> awaitable<void> {
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_OK(
          co_await publisher.PublishEvent([i](int64_t& e, int64_t) { e = i; }));
    }
  });
  std::atomic<bool> in_order{true};
  std::thread consumer([&] {
    int64_t next = 0;
    while (next < n) {
      const PollState state =
          poller->Poll([&](const int64_t& v, int64_t, bool) {
            if (v != next) in_order.store(false, std::memory_order_relaxed);
            ++next;
          });
      if (state != PollState::kProcessing) std::this_thread::yield();
    }
  });
  io.run();
  consumer.join();
  EXPECT_TRUE(in_order.load());
  EXPECT_EQ(ring->Cursor(), n - 1);
}

TEST(AsyncPublisherTest, CancelledAndTimedOutPublishesPublishNothing) {
  using namespace asio::experimental::awaitable_operators;
  auto ring = MakeRing(4);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(Publisher publisher, Publisher::Create(*ring));
  asio::io_context io;
  Spawn(io, [&]() -> awaitable<void> {
    for (int64_t i = 0; i < 4; ++i) {
      EXPECT_OK(
          co_await publisher.PublishEvent([i](int64_t& e, int64_t) { e = i; }));
    }
    EXPECT_THAT(co_await publisher.PublishEvent(
                    [](int64_t& e, int64_t) { e = 99; }, absl::Milliseconds(3)),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         HasSubstr("nothing was published")));
    asio::steady_timer timer(io, std::chrono::milliseconds(2));
    auto first =
        co_await (publisher.PublishEvent([](int64_t& e, int64_t) { e = 98; }) ||
                  timer.async_wait(asio::use_awaitable));
    EXPECT_EQ(first.index(), 1u);
    EXPECT_EQ(ring->Cursor(), 3) << "neither publish claimed a slot";
    int64_t sum = 0;
    poller->Poll([&](const int64_t& v, int64_t, bool) { sum += v; });
    EXPECT_EQ(sum, 0 + 1 + 2 + 3);
    EXPECT_OK(co_await publisher.WaitForSpace(4));
    EXPECT_OK(
        co_await publisher.PublishEvent([](int64_t& e, int64_t) { e = 4; }));
  });
  io.run();
  EXPECT_EQ(ring->Cursor(), 4);
}

TEST(AsyncPublisherTest, AClosedRingAndABadRoomRequestAreNamed) {
  auto ring = MakeRing(4);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(Publisher publisher, Publisher::Create(*ring));
  asio::io_context io;
  Spawn(io, [&]() -> awaitable<void> {
    EXPECT_THAT(co_await publisher.WaitForSpace(5),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("n 5 is outside [1, capacity 4]")));
    ring->Close();
    EXPECT_THAT(
        co_await publisher.PublishEvent([](int64_t& e, int64_t) { e = 1; }),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("closed")));
  });
  io.run();
  EXPECT_EQ(ring->Cursor(), -1);
}

}  // namespace
}  // namespace ringflow::async
