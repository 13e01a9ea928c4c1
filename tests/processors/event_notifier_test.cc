// EventNotifier: an eventfd that an epoll loop sleeps on instead of a
// reader thread. Checked by content: a publish wakes an armed loop; events
// published before the arm make Arm refuse to sleep; a busy producer pays
// one eventfd write per arming (counted), none while nobody is armed; a
// ShardedPoller's loop is woken by a new producer's first event; notifiers
// destroyed while a producer fires leave every event delivered.

#include "ringflow/processors/event_notifier.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/sharded_poller.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
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

// An epoll instance watching one fd for reading.
class Epoll {
 public:
  explicit Epoll(int fd) : ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    EXPECT_EQ(::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &e), 0);
  }
  ~Epoll() { ::close(ep_); }
  // Blocks until the fd is readable; how many fds were.
  int Wait() {
    epoll_event e{};
    return ::epoll_wait(ep_, &e, 1, -1);
  }

 private:
  int ep_;
};

int64_t PollAll(EventPoller<int64_t>& poller, int64_t& sum) {
  int64_t n = 0;
  while (poller.Poll([&](const int64_t& v, int64_t, bool) {
    sum += v;
    ++n;
  }) == PollState::kProcessing) {
  }
  return n;
}

TEST(EventNotifierTest, NeedsARingWhoseProducersWakeReaders) {
  auto ring = MakeRing(WaitStrategyKind::kBusySpin, 8);
  EXPECT_THAT(EventNotifier::Create(*ring).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_strategy busy-spin")));
}

TEST(EventNotifierTest, AFullTableIsResourceExhaustedUntilANotifierGoes) {
  // One eventfd per notifier: the soft fd limit (1024 on many systems) may
  // be below the table's size plus the process's other fds.
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  const rlim_t needed = core_internal::kMaxNotifiers + 64;
  if (files.rlim_cur < needed) {
    if (files.rlim_max < needed) {
      GTEST_SKIP() << "the hard fd limit " << files.rlim_max << " is below the "
                   << needed << " this test needs";
    }
    files.rlim_cur = needed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &files), 0);
  }
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 8);
  std::vector<std::unique_ptr<EventNotifier>> notifiers;
  for (int i = 0; i < core_internal::kMaxNotifiers; ++i) {
    ASSERT_OK_AND_ASSIGN(auto notifier, EventNotifier::Create(*ring));
    notifiers.push_back(std::move(notifier));
  }
  EXPECT_THAT(EventNotifier::Create(*ring).status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(absl::StrCat(core_internal::kMaxNotifiers,
                                              " notifiers"))));
  notifiers.pop_back();
  EXPECT_OK(EventNotifier::Create(*ring).status());
}

TEST(EventNotifierTest, ArmRefusesToSleepWhenEventsAreAlreadyThere) {
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 8);
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<int64_t>::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto notifier, EventNotifier::Create(*ring));
  ASSERT_TRUE(ring->TryPublishEvent([](int64_t& e, int64_t) { e = 5; }));
  EXPECT_FALSE(notifier->Arm(*poller));  // poll instead
  EXPECT_EQ(ring->wait_strategy().signal()->Waiters(), 0u);
  int64_t sum = 0;
  EXPECT_EQ(PollAll(*poller, sum), 1);
  EXPECT_TRUE(notifier->Arm(*poller));  // nothing left: may sleep
  notifier->Disarm();
  EXPECT_EQ(ring->wait_strategy().signal()->Waiters(), 0u);
  EXPECT_EQ(notifier->wakes(), 0u);
}

TEST(EventNotifierTest, APublishWakesALoopAsleepInEpoll) {
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 64);
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<int64_t>::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto notifier, EventNotifier::Create(*ring));
  Epoll epoll(notifier->fd());
  int64_t sum = 0;
  for (int64_t round = 1; round <= 20; ++round) {
    ASSERT_TRUE(notifier->Arm(*poller));
    std::thread producer([&] {
      ASSERT_TRUE(
          ring->PublishEvent([round](int64_t& e, int64_t) { e = round; }));
    });
    EXPECT_EQ(epoll.Wait(), 1);  // woken by the publish
    producer.join();
    notifier->Disarm();
    EXPECT_EQ(PollAll(*poller, sum), 1);
  }
  EXPECT_EQ(sum, 20 * 21 / 2);
  EXPECT_EQ(notifier->wakes(), 20u);
}

TEST(EventNotifierTest, ABusyProducerPaysOneWritePerArming) {
  const int64_t n = Events(100'000);
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 1 << 17);
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<int64_t>::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto notifier, EventNotifier::Create(*ring));
  ASSERT_TRUE(notifier->Arm(*poller));
  // Armed, but the loop is busy elsewhere: n publishes, one write.
  std::thread producer([&] {
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(ring->PublishEvent([i](int64_t& e, int64_t) { e = i; }));
    }
  });
  producer.join();
  EXPECT_EQ(notifier->wakes(), 1u);
  EXPECT_EQ(ring->wait_strategy().signal()->Waiters(), 0u);
  notifier->Disarm();
  int64_t sum = 0;
  EXPECT_EQ(PollAll(*poller, sum), n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
  // Not armed: publishing writes nothing at all.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ring->PublishEvent([](int64_t& e, int64_t) { e = 0; }));
  }
  EXPECT_EQ(notifier->wakes(), 1u);
}

TEST(EventNotifierTest, AShardedLoopIsWokenByANewProducersFirstEvent) {
  ShardedRingOptions options;
  options.shard.capacity = 64;
  options.shard.wait_strategy = WaitStrategyKind::kBlocking;
  ASSERT_OK_AND_ASSIGN(auto ring, ShardedRing<int64_t>::Create(options));
  ASSERT_OK_AND_ASSIGN(auto poller, ShardedPoller<int64_t>::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto notifier, EventNotifier::Create(*ring));
  Epoll epoll(notifier->fd());
  int64_t seen = 0;
  int sleeps = 0;
  for (int p = 0; p < 5; ++p) {
    std::thread producer([&] {
      auto shard = ring->RegisterProducer();
      ASSERT_OK(shard.status());
      ASSERT_TRUE((*shard)->PublishEvent([](int64_t& e, int64_t) { e = 1; }));
    });
    // The loop: poll; arm; sleep only when Arm allows it (a registration or
    // an event since the last poll makes it refuse).
    while (seen < p + 1) {
      poller->Poll([&](const int64_t& v, int64_t, bool) { seen += v; });
      if (seen < p + 1 && notifier->Arm(*poller)) {
        EXPECT_EQ(epoll.Wait(), 1);
        ++sleeps;
      }
      notifier->Disarm();
    }
    producer.join();
  }
  // Every sleep ended with a write (a registration's or an event's wake;
  // a fire that raced a refused Arm adds one more).
  EXPECT_GE(notifier->wakes(), static_cast<uint64_t>(sleeps));
  EXPECT_EQ(seen, 5);
}

TEST(EventNotifierTest, NotifiersComeAndGoWhileAProducerFires) {
  auto ring = MakeRing(WaitStrategyKind::kBlocking, 1 << 10);
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<int64_t>::Create(*ring));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> published{0};
  std::thread producer([&] {
    // Values 0, 1, 2, ...: `i` moves only when a publish succeeds (a full
    // ring's failed try must not skip a value the sum below counts on).
    for (int64_t i = 0; !stop.load(std::memory_order_acquire);) {
      if (ring->TryPublishEvent([i](int64_t& e, int64_t) { e = i; })) {
        published.fetch_add(1, std::memory_order_relaxed);
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  int64_t polled = 0;
  int64_t sum = 0;
  for (int round = 0; round < Events(2000) + 10; ++round) {
    ASSERT_OK_AND_ASSIGN(auto notifier, EventNotifier::Create(*ring));
    // Destroyed armed or not: its Disarm races the producer's fire.
    (void)notifier->Arm(*poller);
    EXPECT_LE(notifier->wakes(), 1u);
    polled += PollAll(*poller, sum);
  }
  stop.store(true, std::memory_order_release);
  producer.join();
  polled += PollAll(*poller, sum);
  EXPECT_EQ(polled, published.load());
  EXPECT_EQ(sum, published.load() * (published.load() - 1) / 2);
  EXPECT_EQ(ring->wait_strategy().signal()->Waiters(), 0u);
}

}  // namespace
}  // namespace ringflow
