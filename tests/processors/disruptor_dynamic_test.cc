// Tests for handlers joining and leaving a running Disruptor (AddHandler,
// EventHandlerGroup::AddHandler, RemoveHandler): where a joiner starts
// (StartAt::kCursor / kOldest), that it never reads a lapped slot, drain and
// abandon on removal, that a removed handler stops gating the producer,
// ordering behind an upstream handler, errors, Shutdown/Halt with dynamic
// handlers, and one run on a shm::SharedRing.
//
// Every test publishes from a producer thread that runs flat out; the test
// thread only waits for conditions (SpinUntil), never for time. Handler
// records are plain fields, read after the handler's thread was joined
// (RemoveHandler, Shutdown or Halt); `seen` is the only field read while it
// runs.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/disruptor.h"
#include "ringflow/processors/event_handler_group.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/shm/shared_ring.h"
#include "support/proc_harness.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::UniqueRingName;
using ::ringflow::testing::ValueOf;
using ::testing::AllOf;
using ::testing::HasSubstr;

using D = Disruptor<TestEvent>;

constexpr absl::Duration kDrainTimeout = absl::Seconds(60);

DisruptorOptions Options(int64_t capacity,
                         ProducerType type = ProducerType::kSingle) {
  DisruptorOptions options;
  options.ring.capacity = capacity;
  options.ring.producer_type = type;
  return options;
}

std::unique_ptr<D> MakeDisruptor(const DisruptorOptions& options) {
  auto d = D::Create(options);
  EXPECT_OK(d.status());
  return std::move(d).value();
}

int64_t SumOfValues(int64_t lo, int64_t hi) {
  int64_t sum = 0;
  for (int64_t s = lo; s <= hi; ++s) sum += ValueOf(s);
  return sum;
}

// Publishes values 0..n-1 from its own thread, flat out. Join() waits for
// the last publish (or a halted ring).
template <typename Ring>
class Producer {
 public:
  Producer(Ring& ring, int64_t n)
      : thread_([&ring, n, this] { ok_ = testing::PublishValues(ring, n); }) {}
  ~Producer() { Join(); }
  bool Join() {
    if (thread_.joinable()) thread_.join();
    return ok_;
  }

 private:
  bool ok_ = false;  // written by the thread, read after join
  std::thread thread_;
};

// As Producer, but it stops after the first half until Open(): a test that
// joins a handler while the producer runs opens the gate after the join,
// so events are still to come when it joins (without the gate, a
// descheduled test thread let the producer finish first under ASan, and a
// joiner at the cursor had nothing to see).
template <typename Ring>
class GatedProducer {
 public:
  GatedProducer(Ring& ring, int64_t n)
      : thread_([&ring, n, this] {
          ok_ = testing::PublishValues(ring, n / 2);
          while (!open_.load(std::memory_order_acquire)) {
            std::this_thread::yield();
          }
          for (int64_t i = n / 2; ok_ && i < n; ++i) {
            ok_ = ring.PublishEvent([](TestEvent& e, int64_t seq) {
              e.value = ValueOf(seq);
              e.a_mark = -1;
              e.b_mark = -1;
            });
          }
        }) {}
  ~GatedProducer() {
    Open();
    Join();
  }
  void Open() { open_.store(true, std::memory_order_release); }
  bool Join() {
    if (thread_.joinable()) thread_.join();
    return ok_;
  }

 private:
  std::atomic<bool> open_{false};  // set by the test thread
  bool ok_ = false;                // written by the thread, read after join
  std::thread thread_;
};

// Records what it handled: first/last sequence, count, sum of values, gaps
// (a sequence that is not last + 1) and mismatches (a value that is not
// ValueOf(sequence): a lapped or torn slot). With `upstream_marks`, also
// counts events whose a_mark the upstream stage had not written yet.
class Recorder {
 public:
  explicit Recorder(bool upstream_marks = false)
      : upstream_marks_(upstream_marks) {}

  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (first == -1) first = sequence;
    if (last != -1 && sequence != last + 1) ++gaps;
    if (event.value != ValueOf(sequence)) ++mismatches;
    if (upstream_marks_ && event.a_mark != event.value) ++order_violations;
    last = sequence;
    ++count;
    sum += event.value;
    // Relaxed: progress for the test's waits; the record is read after join.
    seen.store(count, std::memory_order_relaxed);
  }
  void OnShutdown() { shut_down = true; }

  // Checks the record is exactly [lo, hi], in order, with the right values.
  void ExpectExactly(int64_t lo, int64_t hi) const {
    EXPECT_EQ(first, lo);
    EXPECT_EQ(last, hi);
    EXPECT_EQ(count, hi - lo + 1);
    EXPECT_EQ(sum, SumOfValues(lo, hi));
    EXPECT_EQ(gaps, 0);
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(order_violations, 0);
  }

  int64_t first = -1;
  int64_t last = -1;
  int64_t count = 0;
  int64_t sum = 0;
  int64_t gaps = 0;
  int64_t mismatches = 0;
  int64_t order_violations = 0;
  bool shut_down = false;
  std::atomic<int64_t> seen{0};

 private:
  const bool upstream_marks_;
};

// The upstream stage: marks each event as handled.
struct Marker {
  void OnEvent(TestEvent& event, int64_t /*sequence*/, bool /*end*/) {
    event.a_mark = event.value;
  }
};

// Holds the first event it gets until released: it (and the ring, behind
// it) stops while the test does something.
class Holder {
 public:
  void OnEvent(TestEvent& /*event*/, int64_t /*sequence*/, bool /*end*/) {
    // Acquire: pairs with Release(); nothing rides on it but the wait.
    while (held_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  void Release() { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{true};
};

// Throws at its first event: under ExceptionPolicy::Halt its processor
// halts at sequence -1 and gates the producer until it is removed.
struct Thrower {
  void OnEvent(TestEvent& /*event*/, int64_t /*sequence*/, bool /*end*/) {
    throw std::runtime_error("thrower");
  }
};

// Counts its constructions and destructions (an owned handler's lifetime).
struct Lifetime : Recorder {
  static inline std::atomic<int> alive{0};
  Lifetime() { alive.fetch_add(1, std::memory_order_relaxed); }
  ~Lifetime() { alive.fetch_sub(1, std::memory_order_relaxed); }
};

// ---- joining ---------------------------------------------------------------

TEST(DisruptorDynamicTest, AddedAtCursorSeesAContiguousRunToTheEnd) {
  const int64_t n = Events(400'000);
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  Recorder late;
  d->HandleEventsWith(base);
  ASSERT_OK(d->Start());
  GatedProducer producer(d->ring(), n);
  ASSERT_TRUE(SpinUntil([&] { return d->ring().Cursor() >= n / 4; }));
  const int64_t before = d->ring().Cursor();
  ASSERT_OK(d->AddHandler(late, StartAt::kCursor));
  const int64_t after = d->ring().Cursor();
  producer.Open();
  ASSERT_TRUE(producer.Join());
  ASSERT_OK(d->Shutdown(kDrainTimeout));

  base.ExpectExactly(0, n - 1);
  // It joined at a cursor between the two reads and saw everything after.
  EXPECT_GE(late.first, before + 1);
  EXPECT_LE(late.first, after + 1);
  late.ExpectExactly(late.first, n - 1);
  EXPECT_TRUE(late.shut_down);
}

// The base handler holds event 0, so the ring fills and the oldest event
// still in it is 0; a kOldest joiner starts there, far behind the cursor.
TEST(DisruptorDynamicTest, AddedAtOldestStartsAtTheOldestEventInTheRing) {
  const int64_t capacity = 64;
  const int64_t n = Events(200'000);
  auto d = MakeDisruptor(Options(capacity));
  Holder holder;
  d->HandleEventsWith(holder);
  ASSERT_OK(d->Start());
  Producer producer(d->ring(), n);
  // The producer stops at a full ring: capacity events ahead of -1.
  ASSERT_TRUE(SpinUntil([&] { return d->ring().Cursor() == capacity - 1; }));
  const int64_t cursor = d->ring().Cursor();
  Recorder late;
  ASSERT_OK(d->AddHandler(late, StartAt::kOldest));
  holder.Release();
  ASSERT_TRUE(producer.Join());
  ASSERT_OK(d->Shutdown(kDrainTimeout));

  EXPECT_LE(late.first, cursor);  // before the cursor at the add
  late.ExpectExactly(0, n - 1);   // the oldest: event 0
}

// Repeated kOldest joins (and abandons) while the producer laps a 16-slot
// ring flat out: every joiner starts inside the ring and never reads a
// slot the producer lapped (each event carries its own sequence).
TEST(DisruptorDynamicTest, OldestJoinersNeverSeeALappedSlot) {
  for (ProducerType type : {ProducerType::kSingle, ProducerType::kMulti}) {
    SCOPED_TRACE(type == ProducerType::kSingle ? "single" : "multi");
    const int64_t capacity = 16;
    const int64_t n = Events(2'000'000);
    auto d = MakeDisruptor(Options(capacity, type));
    Recorder base;
    d->HandleEventsWith(base);
    ASSERT_OK(d->Start());
    Producer producer(d->ring(), n);
    int joins = 0;
    for (; joins < 200 && d->ring().Cursor() < n - 4 * capacity; ++joins) {
      Recorder joiner;
      const int64_t before = d->ring().Cursor();
      ASSERT_OK(d->AddHandler(joiner, StartAt::kOldest));
      const int64_t after = d->ring().Cursor();
      // Wait for one event so the joiner reads while the producer laps.
      if (!SpinUntil([&] {
            return joiner.seen.load(std::memory_order_relaxed) > 0 ||
                   d->ring().Cursor() >= n - 1;
          })) {
        ADD_FAILURE() << "joiner " << joins << " saw nothing";
      }
      ASSERT_OK_AND_ASSIGN(const int64_t last,
                           d->RemoveHandler(joiner, RemoveMode::kAbandon));
      if (joiner.count > 0) {
        // Inside the ring when it joined: not above the cursor, and not
        // below the base handler, which the producer never laps.
        EXPECT_LE(joiner.first, after + 1) << "joiner " << joins;
        EXPECT_GE(joiner.first, before - capacity) << "joiner " << joins;
        joiner.ExpectExactly(joiner.first, last);
      }
    }
    ASSERT_TRUE(producer.Join());
    ASSERT_OK(d->Shutdown(kDrainTimeout));
    EXPECT_GT(joins, 0);
    base.ExpectExactly(0, n - 1);
  }
}

// A handler added behind an upstream handler sees each event only after
// the upstream handled it, from either start.
TEST(DisruptorDynamicTest, AddedAfterAnUpstreamHandlerSeesEventsAfterIt) {
  for (StartAt start : {StartAt::kCursor, StartAt::kOldest}) {
    SCOPED_TRACE(start == StartAt::kCursor ? "cursor" : "oldest");
    const int64_t n = Events(400'000);
    auto d = MakeDisruptor(Options(64));
    Marker marker;
    d->HandleEventsWith(marker);
    ASSERT_OK(d->Start());
    GatedProducer producer(d->ring(), n);
    ASSERT_TRUE(SpinUntil([&] { return d->ring().Cursor() >= n / 4; }));
    const int64_t before = d->ring().Cursor();
    Recorder down(/*upstream_marks=*/true);
    ASSERT_OK(d->After(marker).AddHandler(down, start));
    producer.Open();
    ASSERT_TRUE(producer.Join());
    ASSERT_OK(d->Shutdown(kDrainTimeout));

    EXPECT_GT(down.first, before - 64);
    if (start == StartAt::kCursor) {
      EXPECT_GT(down.first, before);
    }
    down.ExpectExactly(down.first, n - 1);  // order_violations == 0 too
  }
}

// ---- leaving ---------------------------------------------------------------

TEST(DisruptorDynamicTest, RemoveWithDrainHandlesEveryEventPublishedBefore) {
  const int64_t n = Events(400'000);
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  Recorder leaver;
  d->HandleEventsWith(base, leaver);
  ASSERT_OK(d->Start());
  Producer producer(d->ring(), n);
  ASSERT_TRUE(SpinUntil([&] { return d->ring().Cursor() >= n / 4; }));
  const int64_t published = d->ring().PublishedSequence();
  ASSERT_OK_AND_ASSIGN(const int64_t last,
                       d->RemoveHandler(leaver, RemoveMode::kDrain));
  // Its thread was joined: its record is final.
  EXPECT_GE(last, published);
  leaver.ExpectExactly(0, last);
  EXPECT_TRUE(leaver.shut_down);
  ASSERT_TRUE(producer.Join());
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  base.ExpectExactly(0, n - 1);
}

TEST(DisruptorDynamicTest, RemoveWithAbandonKeepsAContiguousPrefix) {
  const int64_t n = Events(400'000);
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  Recorder leaver;
  d->HandleEventsWith(base, leaver);
  ASSERT_OK(d->Start());
  Producer producer(d->ring(), n);
  ASSERT_TRUE(SpinUntil([&] { return d->ring().Cursor() >= n / 4; }));
  ASSERT_OK_AND_ASSIGN(const int64_t last,
                       d->RemoveHandler(leaver, RemoveMode::kAbandon));
  leaver.ExpectExactly(0, last);
  ASSERT_TRUE(producer.Join());
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  base.ExpectExactly(0, n - 1);
}

// A handler halted by its exception policy stays in the graph at -1 and
// gates the producer at a full ring; removing it (abandon) releases its
// slot and the producer goes on far past the capacity.
TEST(DisruptorDynamicTest, RemovedHandlerNoLongerGatesTheProducer) {
  const int64_t capacity = 64;
  const int64_t n = 20 * capacity;
  DisruptorOptions options = Options(capacity);
  options.exception_policy = ExceptionPolicy::Halt();
  auto d = MakeDisruptor(options);
  Recorder base;
  Thrower thrower;
  d->HandleEventsWith(base, thrower);
  ASSERT_OK(d->Start());
  Producer producer(d->ring(), n);
  ASSERT_TRUE(SpinUntil([&] { return d->ring().Cursor() == capacity - 1; }));
  // Drain cannot succeed: the policy halted it.
  EXPECT_THAT(d->RemoveHandler(thrower, RemoveMode::kDrain),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("Thrower")));
  ASSERT_OK_AND_ASSIGN(const int64_t last,
                       d->RemoveHandler(thrower, RemoveMode::kAbandon));
  EXPECT_EQ(last, -1);
  ASSERT_TRUE(producer.Join());  // would hang if the slot still gated
  EXPECT_EQ(d->ring().Cursor(), n - 1);
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  base.ExpectExactly(0, n - 1);
}

TEST(DisruptorDynamicTest, RemovingAnOwnedHandlerDestroysIt) {
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  d->HandleEventsWith(base);
  ASSERT_OK(d->Start());
  auto owned = std::make_unique<Lifetime>();
  const Lifetime* raw = owned.get();
  const int alive = Lifetime::alive.load(std::memory_order_relaxed);
  ASSERT_OK(d->AddHandler(std::move(owned)));
  EXPECT_EQ(Lifetime::alive.load(std::memory_order_relaxed), alive);
  ASSERT_TRUE(testing::PublishValues(d->ring(), 1000));
  ASSERT_OK_AND_ASSIGN(const int64_t last,
                       d->RemoveHandler(*raw, RemoveMode::kDrain));
  EXPECT_EQ(last, 999);
  EXPECT_EQ(Lifetime::alive.load(std::memory_order_relaxed), alive - 1);
  ASSERT_OK(d->Shutdown(kDrainTimeout));
}

// ---- Shutdown and Halt -----------------------------------------------------

TEST(DisruptorDynamicTest, ShutdownDrainsAndJoinsDynamicHandlers) {
  const int64_t n = Events(100'000);
  int threads_made = 0;
  DisruptorOptions options = Options(64);
  options.thread_factory = [&](std::function<void()> body) {
    ++threads_made;  // controlling thread only
    return std::thread(std::move(body));
  };
  auto d = MakeDisruptor(options);
  Recorder base;
  d->HandleEventsWith(base);
  ASSERT_OK(d->Start());
  Recorder head;
  Recorder behind;
  ASSERT_OK(d->AddHandler(head, StartAt::kOldest));
  ASSERT_OK(d->After(base).AddHandler(behind));
  EXPECT_EQ(threads_made, 3);  // the thread factory made every thread
  ASSERT_TRUE(testing::PublishValues(d->ring(), n));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  for (const Recorder* r : {&base, &head, &behind}) {
    r->ExpectExactly(0, n - 1);
    EXPECT_TRUE(r->shut_down);
  }
}

TEST(DisruptorDynamicTest, HaltStopsAndJoinsDynamicHandlers) {
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  d->HandleEventsWith(base);
  ASSERT_OK(d->Start());
  Recorder late;
  ASSERT_OK(d->AddHandler(late));
  Producer producer(d->ring(), Events(1'000'000));
  ASSERT_TRUE(
      SpinUntil([&] { return late.seen.load(std::memory_order_relaxed) > 0; }));
  d->Halt();
  producer.Join();  // the halted ring makes a waiting producer return
  EXPECT_TRUE(late.shut_down);
  late.ExpectExactly(late.first, late.last);
}

// ---- errors ----------------------------------------------------------------

TEST(DisruptorDynamicTest, RejectsCallsBeforeStartAndAfterShutdown) {
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  Recorder other;
  d->HandleEventsWith(base);
  EXPECT_THAT(d->AddHandler(other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("before Start")));
  EXPECT_THAT(d->RemoveHandler(base, RemoveMode::kAbandon),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("before Start")));
  ASSERT_OK(d->Start());
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  EXPECT_THAT(d->AddHandler(other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("after Shutdown/Halt")));
  EXPECT_THAT(d->RemoveHandler(base, RemoveMode::kDrain),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("after Shutdown/Halt")));
}

TEST(DisruptorDynamicTest, RejectsUnknownAndRemovedHandlers) {
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  Recorder stranger;
  Marker gone;
  d->HandleEventsWith(base, gone);
  ASSERT_OK(d->Start());
  EXPECT_THAT(d->RemoveHandler(stranger, RemoveMode::kAbandon),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Recorder")));
  ASSERT_OK(d->RemoveHandler(gone, RemoveMode::kDrain).status());
  EXPECT_THAT(d->RemoveHandler(gone, RemoveMode::kDrain),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Marker")));
  // A group naming a handler that has left cannot take new handlers.
  EXPECT_THAT(
      d->After(gone).AddHandler(stranger),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Marker")));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
}

TEST(DisruptorDynamicTest, RefusesToRemoveAHandlerOthersRunAfter) {
  auto d = MakeDisruptor(Options(64));
  Marker marker;
  Recorder down;
  Recorder late;
  d->HandleEventsWith(marker).Then(down);
  ASSERT_OK(d->Start());
  ASSERT_OK(d->After(marker).AddHandler(late));
  EXPECT_THAT(
      d->RemoveHandler(marker, RemoveMode::kDrain),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("'Marker'"), HasSubstr("'Recorder'"),
                     HasSubstr("'Recorder#2'"), HasSubstr("remove those"))));
  // Once its dependents left, it may leave too.
  ASSERT_OK(d->RemoveHandler(down, RemoveMode::kDrain).status());
  ASSERT_OK(d->RemoveHandler(late, RemoveMode::kAbandon).status());
  ASSERT_OK(d->RemoveHandler(marker, RemoveMode::kDrain).status());
  ASSERT_TRUE(testing::PublishValues(d->ring(), 1000));  // nothing gates
  ASSERT_OK(d->Shutdown(kDrainTimeout));
}

TEST(DisruptorDynamicTest, RejectsDuplicatesAndPoolWorkers) {
  auto d = MakeDisruptor(Options(64));
  Recorder base;
  std::vector<Marker> workers(2);
  d->HandleEventsWith(base);
  d->HandleEventsWithWorkerPool(std::span<Marker>(workers));
  ASSERT_OK(d->Start());
  EXPECT_THAT(d->AddHandler(base), StatusIs(absl::StatusCode::kAlreadyExists,
                                            HasSubstr("Recorder")));
  EXPECT_THAT(d->RemoveHandler(workers[0], RemoveMode::kDrain),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("Marker"), HasSubstr("pool"))));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
}

TEST(DisruptorDynamicTest, ReportsNoFreeConsumerSlot) {
  DisruptorOptions options = Options(64);
  options.ring.max_consumers = 1;
  auto d = MakeDisruptor(options);
  Recorder base;
  Recorder late;
  d->HandleEventsWith(base);
  ASSERT_OK(d->Start());
  EXPECT_THAT(d->AddHandler(late, StartAt::kOldest),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // The failed add left nothing behind: the same handler joins later.
  ASSERT_OK(d->RemoveHandler(base, RemoveMode::kDrain).status());
  ASSERT_OK(d->AddHandler(late));
  ASSERT_TRUE(testing::PublishValues(d->ring(), 100));
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  late.ExpectExactly(0, 99);
}

// ---- on a ring in shared memory ---------------------------------------------

TEST(DisruptorDynamicTest, JoinsAndLeavesOnASharedRing) {
  using Ring = shm::SharedRing<TestEvent>;
  const std::string name = UniqueRingName("dsl-dyn");
  RingRemover remover(name);
  shm::SharedRingOptions ring_options;
  ring_options.ring.name = name;
  ring_options.ring.capacity = 64;
  ring_options.consumer_timeout = absl::Seconds(60);  // slow sanitized runs
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(ring_options, "dsl-dyn"));
  ASSERT_OK_AND_ASSIGN(auto d,
                       (Disruptor<TestEvent, Ring>::Wrap(std::move(ring))));
  Recorder base;
  Recorder late;
  Recorder leaver;
  d->HandleEventsWith(base, leaver);
  ASSERT_OK(d->Start());
  const int64_t n = Events(200'000);
  Producer producer(d->ring(), n);
  ASSERT_TRUE(SpinUntil([&] { return d->ring().Cursor() >= n / 4; }));
  const int64_t before = d->ring().Cursor();
  ASSERT_OK(d->AddHandler(late));
  Recorder oldest;  // the shm join handshake (Control::JoinAtOldest)
  const int64_t cursor_at_oldest_add = d->ring().Cursor();
  ASSERT_OK(d->AddHandler(oldest, StartAt::kOldest));
  const int64_t published = d->ring().PublishedSequence();
  ASSERT_OK_AND_ASSIGN(const int64_t last,
                       d->RemoveHandler(leaver, RemoveMode::kDrain));
  EXPECT_GE(last, published);
  ASSERT_TRUE(producer.Join());
  ASSERT_OK(d->Shutdown(kDrainTimeout));
  base.ExpectExactly(0, n - 1);
  leaver.ExpectExactly(0, last);
  EXPECT_GT(late.first, before);
  late.ExpectExactly(late.first, n - 1);
  EXPECT_LE(oldest.first, cursor_at_oldest_add + 1);
  oldest.ExpectExactly(oldest.first, n - 1);
}

}  // namespace
}  // namespace ringflow
