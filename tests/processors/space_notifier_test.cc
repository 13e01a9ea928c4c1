// SpaceNotifier: an eventfd a producer's epoll loop sleeps on while its
// ring is full. Checked by content: a producer that publishes everything
// through arm / epoll_wait / retry against a slow consumer (an EventPoller,
// a BatchEventProcessor, leases) delivers every event in order; Arm
// refuses to sleep when there is room; consumers pay no eventfd write
// while nobody is armed, and one per arming while somebody is.

#include "ringflow/processors/space_notifier.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/event_poller.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;

using Ring = RingBuffer<int64_t>;

std::unique_ptr<Ring> MakeRing(int64_t capacity) {
  auto ring = Ring::Create({.capacity = capacity,
                            .producer_type = ProducerType::kSingle,
                            .wait_strategy = WaitStrategyKind::kYielding});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

// Blocks until `fd` is readable. A 10 s bound is a hang guard only.
bool WaitReadable(int fd) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = fd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  const int n = ::epoll_wait(ep, &e, 1, 10'000);
  ::close(ep);
  return n == 1;
}

// Publishes 0..n-1, waiting for space on the notifier whenever the ring is
// full; how many times it armed.
int64_t PublishThroughNotifier(Ring& ring, SpaceNotifier& space, int64_t n) {
  int64_t armings = 0;
  for (int64_t i = 0; i < n; ++i) {
    while (!ring.TryPublishEvent([i](int64_t& e, int64_t) { e = i; })) {
      ++armings;
      if (space.Arm(ring)) {
        EXPECT_TRUE(WaitReadable(space.fd())) << "no wake at event " << i;
      }
      space.Disarm();
    }
  }
  return armings;
}

TEST(SpaceNotifierTest, AProducerLoopWaitsForAPollerToMakeRoom) {
  const int64_t n = Events(100'000);
  auto ring = MakeRing(8);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(auto space, SpaceNotifier::Create(*ring));
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
  const int64_t armings = PublishThroughNotifier(*ring, *space, n);
  consumer.join();
  EXPECT_TRUE(in_order.load());
  // One write per arming at most, not one per consumer batch.
  EXPECT_LE(space->wakes(), static_cast<uint64_t>(armings));
}

TEST(SpaceNotifierTest, ABatchEventProcessorAndLeasesWakeIt) {
  const int64_t n = Events(20'000);
  auto ring = MakeRing(16);
  struct Sum {
    int64_t total = 0;
    void OnEvent(const int64_t& v, int64_t, bool) { total += v; }
  } sum;
  auto processor =
      BatchEventProcessor<int64_t, Sum>::Create(*ring, sum).value();
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(auto space, SpaceNotifier::Create(*ring));
  std::thread run([&] { processor->Run(); });
  int64_t leased_sum = 0;
  std::thread leases([&] {
    int64_t seen = 0;
    while (seen < n) {
      if (auto batch = poller->TryLeaseBatch(3)) {
        for (int64_t v : *batch) leased_sum += v;
        seen += batch->size();
      } else {
        std::this_thread::yield();  // two consumers and a producer, 2 CPUs
      }
    }
  });
  PublishThroughNotifier(*ring, *space, n);
  leases.join();
  while (processor->sequence().LoadAcquire() < n - 1) std::this_thread::yield();
  processor->Halt();
  run.join();
  EXPECT_EQ(sum.total, n * (n - 1) / 2);
  EXPECT_EQ(leased_sum, n * (n - 1) / 2);
}

TEST(SpaceNotifierTest, ArmRefusesToSleepWhenThereIsRoom) {
  auto ring = MakeRing(4);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(auto space, SpaceNotifier::Create(*ring));
  EXPECT_FALSE(space->Arm(*ring));
  for (int64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring->TryPublishEvent([](int64_t& e, int64_t) { e = 1; }));
  }
  EXPECT_FALSE(space->Arm(*ring, 0));
  ASSERT_TRUE(space->Arm(*ring));
  // The consumer frees room after the arming: the fd is readable.
  int64_t got = 0;
  poller->Poll([&](const int64_t& v, int64_t, bool) { got += v; });
  EXPECT_EQ(got, 4);
  EXPECT_TRUE(WaitReadable(space->fd()));
  space->Disarm();
  EXPECT_EQ(space->wakes(), 1u);
  EXPECT_FALSE(space->Arm(*ring)) << "room for 4 now";
}

// Nobody armed: a busy consumer writes nothing. Armed once: one write,
// however many batches follow.
TEST(SpaceNotifierTest, ConsumersWriteOncePerArmingAndNeverWhileDisarmed) {
  auto ring = MakeRing(8);
  auto poller = EventPoller<int64_t>::Create(*ring).value();
  ASSERT_OK_AND_ASSIGN(auto space, SpaceNotifier::Create(*ring));
  auto cycle = [&] {
    for (int k = 0; k < 8; ++k) {
      ASSERT_TRUE(ring->TryPublishEvent([](int64_t& e, int64_t) { e = 0; }));
    }
    for (int k = 0; k < 8; ++k) {
      poller->Poll([](const int64_t&, int64_t, bool) { return false; });
    }
  };
  for (int r = 0; r < 1000; ++r) cycle();
  EXPECT_EQ(space->wakes(), 0u);
  for (int k = 0; k < 8; ++k) {
    ASSERT_TRUE(ring->TryPublishEvent([](int64_t& e, int64_t) { e = 0; }));
  }
  ASSERT_TRUE(space->Arm(*ring));
  for (int k = 0; k < 8; ++k) {
    poller->Poll([](const int64_t&, int64_t, bool) { return false; });
  }
  for (int r = 0; r < 1000; ++r) cycle();
  EXPECT_EQ(space->wakes(), 1u);
  space->Disarm();
}

}  // namespace
}  // namespace ringflow
