// tests/shm/ring_contract_test.cc
//
// Issue 12, item 1 and 2: one ring contract. RingBuffer and SharedRing are
// both ProducerRing and ConsumerRing (one implementation, SequencedRing), so
// what the shared ring lacked before (const operator[], IsClosed,
// try_next_failures, options(), a configurable wait timeout) behaves the
// same on both; AttachedRing (a consumer process's view) is a
// ConsumerRing, and an unchanged BatchEventProcessor with a const E&
// handler and an EventPoller run on it. The concepts reject a ring missing
// a member.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/shm/internal/attached_ring.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_ring.h"
#include "support/shm_event.h"
#include "support/shm_files.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"

namespace ringflow::shm {
namespace {

using ::ringflow::testing::kShmEventTag;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::ShmEvent;
using ::ringflow::testing::UniqueRingName;

// ---- the concepts -----------------------------------------------------------

static_assert(ProducerRing<RingBuffer<ShmEvent>>);
static_assert(ConsumerRing<RingBuffer<ShmEvent>>);
static_assert(ProducerRing<SharedRing<ShmEvent>>);
static_assert(ConsumerRing<SharedRing<ShmEvent>>);
static_assert(ConsumerRing<shm_internal::AttachedRing<ShmEvent>>);
static_assert(!ProducerRing<shm_internal::AttachedRing<ShmEvent>>,
              "a consumer process's view cannot publish");
static_assert(ConsumerRingOf<RingBuffer<ShmEvent>, const ShmEvent>);
static_assert(!ConsumerRingOf<RingBuffer<ShmEvent>, int64_t>,
              "a processor of int64_t events cannot run on a ShmEvent ring");

// A ring kind that forgot NewBarrier: every processor refuses it.
struct NoBarrierRing {
  using EventType = int64_t;
  absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumer(
      std::string_view);
  RingSlots<int64_t> slots();
  core_internal::PublishedCursor published_cursor() const;
  int64_t PublishedSequence() const;
  int64_t capacity() const;
};
static_assert(!ConsumerRing<NoBarrierRing>);
template <typename R>
concept PollerAccepts = requires(R& r) {
  EventPoller<int64_t>::Create(r);
};
static_assert(PollerAccepts<RingBuffer<int64_t>>);
static_assert(!PollerAccepts<NoBarrierRing>,
              "EventPoller::Create is constrained by ConsumerRingOf");

// ---- what SharedRing gained from the shared implementation ------------------

std::unique_ptr<SharedRing<ShmEvent>> MakeRing(const std::string& name,
                                               RingOptions ring = {}) {
  SharedRingOptions options;
  options.ring = ring;
  options.ring.name = name;
  auto created = SharedRing<ShmEvent>::Create(options, kShmEventTag);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? std::move(*created) : nullptr;
}

TEST(RingContractTest, SharedRingAndRingBufferAgreeOnTheProducerContract) {
  const std::string name = UniqueRingName("contract");
  RingRemover remover(name);
  RingOptions ring;
  ring.capacity = 4;
  ring.producer_type = ProducerType::kSingle;
  auto shared = MakeRing(name, ring);
  ASSERT_NE(shared, nullptr);
  ring.name = "contract";
  ASSERT_OK_AND_ASSIGN(auto local, RingBuffer<ShmEvent>::Create(ring));
  // One consumer each, which never moves: the fifth claim fails at once.
  ASSERT_OK_AND_ASSIGN(auto shared_slot, shared->RegisterConsumer("c"));
  ASSERT_OK_AND_ASSIGN(auto local_slot, local->RegisterConsumer("c"));
  auto exercise = [](auto& r) {
    EXPECT_EQ(r.options().capacity, 4);
    EXPECT_EQ(r.options().producer_type, ProducerType::kSingle);
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(r.TryPublishEvent([](ShmEvent& e, int64_t s) {
        e.sequence = s;
        e.payload = 100 + static_cast<uint64_t>(s);
      }));
    }
    EXPECT_FALSE(r.TryNext().has_value());
    EXPECT_FALSE(r.TryNext().has_value());
    EXPECT_EQ(r.try_next_failures(), 2u);
    const auto& view = r;  // the const operator[]
    EXPECT_EQ(view[3].payload, 103u);
    EXPECT_FALSE(r.IsClosed());
    r.Close();
    EXPECT_TRUE(r.IsClosed());
    EXPECT_FALSE(r.IsHalted());
    EXPECT_FALSE(r.PublishEvent([](ShmEvent&, int64_t) {}));
    r.Reopen();
    EXPECT_FALSE(r.IsClosed());
    EXPECT_EQ(r.PublishedSequence(), 3);
  };
  exercise(*shared);
  exercise(*local);
}

// The shared ring honours RingOptions::wait_timeout (it was a hard-coded
// 100 ms): a kTimeoutBlocking processor on it times out while idle.
TEST(RingContractTest, SharedRingHonoursTheWaitTimeout) {
  const std::string name = UniqueRingName("contract-timeout");
  RingRemover remover(name);
  RingOptions ring;
  ring.capacity = 16;
  ring.wait_strategy = WaitStrategyKind::kTimeoutBlocking;
  ring.wait_timeout = absl::Milliseconds(1);
  auto shared = MakeRing(name, ring);
  ASSERT_NE(shared, nullptr);
  struct Handler {
    std::atomic<int64_t> timeouts{0};
    std::atomic<int64_t> sum{0};
    void OnEvent(ShmEvent& e, int64_t, bool) {
      sum.fetch_add(static_cast<int64_t>(e.payload), std::memory_order_relaxed);
    }
    void OnTimeout(int64_t) {
      timeouts.fetch_add(1, std::memory_order_relaxed);
    }
  } handler;
  ASSERT_OK_AND_ASSIGN(
      auto processor,
      (BatchEventProcessor<ShmEvent, Handler>::Create(*shared, handler)));
  std::thread thread([&] { processor->Run(); });
  // Spin until it timed out twice with nothing published (no deadline:
  // a wait_timeout that is ignored hangs here and fails by ctest timeout).
  while (handler.timeouts.load(std::memory_order_relaxed) < 2) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(
      shared->PublishEvent([](ShmEvent& e, int64_t) { e.payload = 7; }));
  while (handler.sum.load(std::memory_order_relaxed) != 7) {
    std::this_thread::yield();
  }
  processor->Halt();
  thread.join();
}

// ---- the consumer process's view -------------------------------------------

std::unique_ptr<shm_internal::AttachedRing<ShmEvent>> AttachView(
    const std::string& name, bool oldest) {
  const shm_internal::RingIdentity identity =
      IdentityOf<ShmEvent>(kShmEventTag);
  shm_internal::AttachOptions attach;
  attach.expected = &identity;
  auto control = shm_internal::Control::Attach(name, attach);
  EXPECT_TRUE(control.ok()) << control.status();
  if (!control.ok()) return nullptr;
  return std::make_unique<shm_internal::AttachedRing<ShmEvent>>(
      std::move(*control), oldest, absl::ToInt64Nanoseconds(absl::Seconds(1)));
}

// An unchanged BatchEventProcessor with a const ShmEvent& handler runs on
// the read-only view, gating the producer through a real shared slot: a
// 16-slot ring carries 20000 events with an exact sum and order.
TEST(RingContractTest, ProcessorRunsOnTheAttachedView) {
  const std::string name = UniqueRingName("contract-view");
  RingRemover remover(name);
  RingOptions ring;
  ring.capacity = 16;
  ring.producer_type = ProducerType::kSingle;
  auto shared = MakeRing(name, ring);
  ASSERT_NE(shared, nullptr);
  auto view = AttachView(name, /*oldest=*/false);
  ASSERT_NE(view, nullptr);
  struct Reader {
    int64_t count = 0;
    uint64_t sum = 0;
    int64_t out_of_order = 0;
    std::atomic<int64_t> done{-1};
    void OnEvent(const ShmEvent& e, int64_t sequence, bool) {
      if (e.sequence != sequence) ++out_of_order;
      sum += e.payload;
      ++count;
      // Release: publishes count/sum to the test thread's acquire.
      done.store(sequence, std::memory_order_release);
    }
  } reader;
  ASSERT_OK_AND_ASSIGN(auto processor,
                       (BatchEventProcessor<const ShmEvent, Reader>::Create(
                           *view, reader, {}, {.name = "reader"})));
  EXPECT_GE(ringflow::testing::FindSlot(shared->control(), "reader"), 0);
  std::thread thread([&] { processor->Run(); });
  constexpr int64_t kEvents = 20'000;
  for (int64_t i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(shared->PublishEvent([](ShmEvent& e, int64_t s) {
      e.sequence = s;
      e.payload = static_cast<uint64_t>(s) * 3;
    }));
  }
  while (reader.done.load(std::memory_order_acquire) != kEvents - 1) {
    std::this_thread::yield();
  }
  processor->Halt();
  thread.join();
  EXPECT_EQ(reader.count, kEvents);
  EXPECT_EQ(reader.sum,
            3u * static_cast<uint64_t>(kEvents * (kEvents - 1) / 2));
  EXPECT_EQ(reader.out_of_order, 0);
}

// A poller on the view: leases are read-only slots of the mapping.
TEST(RingContractTest, PollerLeasesFromTheAttachedView) {
  const std::string name = UniqueRingName("contract-lease");
  RingRemover remover(name);
  auto shared = MakeRing(name);
  ASSERT_NE(shared, nullptr);
  auto view = AttachView(name, /*oldest=*/false);
  ASSERT_NE(view, nullptr);
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<ShmEvent>::Create(*view));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(shared->PublishEvent([](ShmEvent& e, int64_t s) {
      e.payload = 10 + static_cast<uint64_t>(s);
    }));
  }
  auto batch = poller->TryLeaseBatch(8);
  ASSERT_TRUE(batch.has_value());
  uint64_t sum = 0;
  for (const ShmEvent& e : *batch) sum += e.payload;
  EXPECT_EQ(sum, 10u + 11u + 12u);
  static_assert(
      std::is_const_v<std::remove_reference_t<decltype(*batch->begin())>>,
      "leases of the read-only mapping are const");
}

}  // namespace
}  // namespace ringflow::shm
