// Tests for BatchEventProcessor: handler callbacks and their order, batch
// boundaries, option validation, the Run/Halt life cycle and the sequence
// it publishes. Exception policies are in exception_policy_test.cc.

#include "ringflow/processors/batch_event_processor.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/exception_policy.h"
#include "support/proc_harness.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow {
namespace {

using ::ringflow::testing::Events;
using ::ringflow::testing::ProcessorThread;
using ::ringflow::testing::PublishValues;
using ::ringflow::testing::SpinUntil;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::TestEvent;
using ::ringflow::testing::ValueOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Ring = RingBuffer<TestEvent>;

std::unique_ptr<Ring> MakeRing(
    int64_t capacity, WaitStrategyKind wait = WaitStrategyKind::kBlocking,
    absl::Duration wait_timeout = absl::Milliseconds(100),
    int max_consumers = 8) {
  auto ring = Ring::Create({.capacity = capacity,
                            .producer_type = ProducerType::kSingle,
                            .wait_strategy = wait,
                            .wait_timeout = wait_timeout,
                            .max_consumers = max_consumers});
  EXPECT_OK(ring.status());
  return std::move(ring).value();
}

// Runs p.Run() on a fresh thread and reports whether it returned by itself
// (within the hang guard). Halts and joins it either way.
template <typename P>
bool RunReturnsByItself(P& p) {
  std::atomic<bool> returned{false};
  std::thread t([&] {
    p.Run();
    returned.store(true, std::memory_order_release);
  });
  const bool ok =
      SpinUntil([&] { return returned.load(std::memory_order_acquire); });
  if (!ok) p.Halt();
  t.join();
  return ok;
}

// ---- handlers ---------------------------------------------------------------

// Records every callback in order, with the thread it ran on. The log is
// read after the processor thread was joined; `handled` can be polled.
class LifecycleHandler {
 public:
  enum class Call { kStart, kEvent, kShutdown };

  void OnStart() {
    log_.push_back(Call::kStart);
    start_thread_ = std::this_thread::get_id();
    // Relaxed: a counter the test polls; the log is read after join.
    starts_.fetch_add(1, std::memory_order_relaxed);
  }
  void OnShutdown() {
    log_.push_back(Call::kShutdown);
    shutdown_thread_ = std::this_thread::get_id();
  }
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    log_.push_back(Call::kEvent);
    values_.push_back(event.value);
    sequences_.push_back(sequence);
    if (std::this_thread::get_id() != start_thread_) ++foreign_thread_events_;
    // Release: pairs with the test's acquire poll of handled().
    handled_.fetch_add(1, std::memory_order_release);
  }

  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int starts() const { return starts_.load(std::memory_order_relaxed); }
  const std::vector<Call>& log() const { return log_; }
  const std::vector<int64_t>& values() const { return values_; }
  const std::vector<int64_t>& sequences() const { return sequences_; }
  std::thread::id start_thread() const { return start_thread_; }
  std::thread::id shutdown_thread() const { return shutdown_thread_; }
  int foreign_thread_events() const { return foreign_thread_events_; }

 private:
  std::vector<Call> log_;
  std::vector<int64_t> values_;
  std::vector<int64_t> sequences_;
  std::thread::id start_thread_;
  std::thread::id shutdown_thread_;
  int foreign_thread_events_ = 0;
  std::atomic<int64_t> handled_{0};
  std::atomic<int> starts_{0};
};

// Records each batch (size, depth) and checks end_of_batch against the
// batch size announced by OnBatchStart, and the event values.
class BatchRecorder {
 public:
  struct Batch {
    int64_t size;
    int64_t depth;
    bool operator==(const Batch&) const = default;
  };

  explicit BatchRecorder(bool keep_details = true)
      : keep_details_(keep_details) {}

  void OnBatchStart(int64_t batch_size, int64_t queue_depth) {
    if (keep_details_) batches_.push_back({batch_size, queue_depth});
    if (batch_size < 1) ++bad_batches_;
    if (queue_depth < batch_size) ++bad_batches_;
    max_batch_ = std::max(max_batch_, batch_size);
    batch_sum_ += batch_size;
    remaining_ = batch_size;
  }
  void OnEvent(TestEvent& event, int64_t sequence, bool end_of_batch) {
    --remaining_;
    if (end_of_batch != (remaining_ == 0)) ++end_mismatches_;
    if (remaining_ < 0) ++end_mismatches_;  // more events than announced
    if (sequence != next_sequence_ || event.value != ValueOf(sequence)) {
      ++content_mismatches_;
    }
    next_sequence_ = sequence + 1;
    if (end_of_batch && keep_details_) end_sequences_.push_back(sequence);
    // Release: pairs with the test's acquire poll of handled().
    handled_.fetch_add(1, std::memory_order_release);
  }

  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  const std::vector<Batch>& batches() const { return batches_; }
  const std::vector<int64_t>& end_sequences() const { return end_sequences_; }
  int64_t batch_sum() const { return batch_sum_; }
  int64_t max_batch() const { return max_batch_; }
  int64_t bad_batches() const { return bad_batches_; }
  int64_t end_mismatches() const { return end_mismatches_; }
  int64_t content_mismatches() const { return content_mismatches_; }

 private:
  const bool keep_details_;
  std::vector<Batch> batches_;
  std::vector<int64_t> end_sequences_;
  int64_t remaining_ = 0;
  int64_t next_sequence_ = 0;
  int64_t batch_sum_ = 0;
  int64_t max_batch_ = 0;
  int64_t bad_batches_ = 0;
  int64_t end_mismatches_ = 0;
  int64_t content_mismatches_ = 0;
  std::atomic<int64_t> handled_{0};
};

class TimeoutRecorder {
 public:
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value != ValueOf(sequence)) ++mismatches_;
    handled_.fetch_add(1, std::memory_order_release);
  }
  void OnTimeout(int64_t sequence) {
    // Relaxed: ordered before the release increment below.
    last_timeout_sequence_.store(sequence, std::memory_order_relaxed);
    // Release: the sequence stored above is visible to a reader that
    // acquired the new count.
    timeouts_.fetch_add(1, std::memory_order_release);
  }

  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t timeouts() const { return timeouts_.load(std::memory_order_acquire); }
  int64_t last_timeout_sequence() const {
    return last_timeout_sequence_.load(std::memory_order_relaxed);
  }
  int64_t mismatches() const { return mismatches_; }

 private:
  std::atomic<int64_t> handled_{0};
  std::atomic<int64_t> timeouts_{0};
  std::atomic<int64_t> last_timeout_sequence_{-100};
  int64_t mismatches_ = 0;  // processor thread; read after join
};

// Only OnEvent: no optional callback, no Name().
class MinimalHandler {
 public:
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end_of_batch*/) {
    if (event.value == ValueOf(sequence)) sum_ += event.value;
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t sum() const { return sum_; }

 private:
  int64_t sum_ = 0;
  std::atomic<int64_t> handled_{0};
};

// The same with a noexcept OnEvent: compiles without the exception path.
class NoexceptMinimalHandler {
 public:
  void OnEvent(TestEvent& event, int64_t sequence,
               bool /*end_of_batch*/) noexcept {
    if (event.value == ValueOf(sequence)) sum_ += event.value;
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t sum() const { return sum_; }

 private:
  int64_t sum_ = 0;
  std::atomic<int64_t> handled_{0};
};

static_assert(EventHandler<MinimalHandler, TestEvent>);
static_assert(!HasOnStart<MinimalHandler> && !HasOnShutdown<MinimalHandler> &&
              !HasOnBatchStart<MinimalHandler> &&
              !HasOnTimeout<MinimalHandler> && !HasName<MinimalHandler>);
static_assert(!kNothrowHandler<MinimalHandler, TestEvent>);
static_assert(kNothrowHandler<NoexceptMinimalHandler, TestEvent>);
static_assert(HasOnStart<LifecycleHandler> && HasOnShutdown<LifecycleHandler>);
static_assert(HasOnBatchStart<BatchRecorder>);
static_assert(HasOnTimeout<TimeoutRecorder>);

using MinimalProcessor = BatchEventProcessor<TestEvent, MinimalHandler>;

int64_t SumOfValues(int64_t n) {
  int64_t sum = 0;
  for (int64_t s = 0; s < n; ++s) sum += ValueOf(s);
  return sum;
}

// ---- option validation
// --------------------------------------------------------

TEST(BatchEventProcessorTest, RejectsZeroMaxBatchSize) {
  auto ring = MakeRing(16);
  MinimalHandler handler;
  EXPECT_THAT(
      MinimalProcessor::Create(*ring, handler, {}, {.max_batch_size = 0}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("max_batch_size 0")));
}

TEST(BatchEventProcessorTest, RejectsNegativeMaxBatchSize) {
  auto ring = MakeRing(16);
  MinimalHandler handler;
  EXPECT_THAT(
      MinimalProcessor::Create(*ring, handler, {}, {.max_batch_size = -5}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("max_batch_size -5")));
}

TEST(BatchEventProcessorTest, RejectsAStreamBackoffOutOfRange) {
  auto ring = MakeRing(16);
  MinimalHandler handler;
  for (const int pauses : {-1, 1025}) {
    EXPECT_THAT(
        MinimalProcessor::Create(*ring, handler, {},
                                 {.stream_backoff_pauses = pauses}),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr(absl::StrCat("stream_backoff_pauses ", pauses,
                                        " must be in [0, "
                                        "1024]"))));
  }
  for (const int pauses : {0, 1024}) {
    EXPECT_OK(MinimalProcessor::Create(*ring, handler, {},
                                       {.stream_backoff_pauses = pauses})
                  .status());
  }
}

TEST(BatchEventProcessorTest, RejectsRewindPolicyWithZeroRewinds) {
  auto ring = MakeRing(16);
  MinimalHandler handler;
  EXPECT_THAT(
      MinimalProcessor::Create(
          *ring, handler, {}, {.exception_policy = ExceptionPolicy::Rewind(0)}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_rewinds 0")));
}

TEST(BatchEventProcessorTest, FailedCreateTakesNoConsumerSlot) {
  auto ring = MakeRing(16, WaitStrategyKind::kBlocking, absl::Milliseconds(100),
                       /*max_consumers=*/1);
  MinimalHandler handler;
  using P = BatchEventProcessor<TestEvent, MinimalHandler>;
  EXPECT_THAT(P::Create(*ring, handler, {}, {.max_batch_size = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto first, P::Create(*ring, handler));
  EXPECT_THAT(P::Create(*ring, handler),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(first->sequence().LoadAcquire(), -1);
}

TEST(BatchEventProcessorTest, DefaultsItsNameToTheHandlerType) {
  auto ring = MakeRing(16);
  MinimalHandler handler;
  using P = BatchEventProcessor<TestEvent, MinimalHandler>;
  ASSERT_OK_AND_ASSIGN(auto unnamed, P::Create(*ring, handler));
  EXPECT_THAT(unnamed->name(), HasSubstr("MinimalHandler"));
  ASSERT_OK_AND_ASSIGN(auto named,
                       P::Create(*ring, handler, {}, {.name = "journal"}));
  EXPECT_EQ(named->name(), "journal");
  EXPECT_OK(named->status());
  EXPECT_EQ(named->exception_count(), 0u);
}

TEST(BatchEventProcessorTest, SequenceStartsBeforeTheFirstEvent) {
  auto ring = MakeRing(16);
  MinimalHandler handler;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      (BatchEventProcessor<TestEvent, MinimalHandler>::Create(*ring, handler)));
  EXPECT_EQ(p->sequence().LoadAcquire(), -1);
  EXPECT_FALSE(p->IsRunning());
}

// ---- callbacks
// ----------------------------------------------------------------

TEST(BatchEventProcessorConcurrentTest,
     CallsOnStartOnceBeforeEventsAndOnShutdownOnceAfterOnProcessorThread) {
  auto ring = MakeRing(64);
  LifecycleHandler handler;
  ASSERT_OK_AND_ASSIGN(
      auto p, (BatchEventProcessor<TestEvent, LifecycleHandler>::Create(
                  *ring, handler)));
  ASSERT_TRUE(PublishValues(*ring, 10));
  std::thread::id processor_thread;
  {
    ProcessorThread<BatchEventProcessor<TestEvent, LifecycleHandler>> t(*p);
    processor_thread = t.id();
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 10; }));
    ASSERT_TRUE(PublishValues(*ring, 5));
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 15; }));
    EXPECT_EQ(handler.starts(), 1);
    t.Stop();
  }
  using Call = LifecycleHandler::Call;
  const std::vector<Call>& log = handler.log();
  ASSERT_EQ(log.size(), 17u);
  EXPECT_EQ(log.front(), Call::kStart);
  EXPECT_EQ(log.back(), Call::kShutdown);
  EXPECT_EQ(std::count(log.begin(), log.end(), Call::kStart), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), Call::kShutdown), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), Call::kEvent), 15);
  for (int64_t s = 0; s < 15; ++s) {
    EXPECT_EQ(handler.sequences()[s], s);
    EXPECT_EQ(handler.values()[s], ValueOf(s));
  }
  EXPECT_EQ(handler.start_thread(), processor_thread);
  EXPECT_EQ(handler.shutdown_thread(), processor_thread);
  EXPECT_NE(handler.start_thread(), std::this_thread::get_id());
  EXPECT_EQ(handler.foreign_thread_events(), 0);
}

TEST(BatchEventProcessorConcurrentTest,
     HandsTheWholeAvailableBatchAndFlagsOnlyItsLastEvent) {
  auto ring = MakeRing(32);
  BatchRecorder handler;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      (BatchEventProcessor<TestEvent, BatchRecorder>::Create(*ring, handler)));
  // Published before Run: the first wait sees all 20 at once.
  ASSERT_TRUE(PublishValues(*ring, 20));
  {
    ProcessorThread<BatchEventProcessor<TestEvent, BatchRecorder>> t(*p);
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 20; }));
  }
  EXPECT_THAT(handler.batches(), ElementsAre(BatchRecorder::Batch{20, 20}));
  EXPECT_THAT(handler.end_sequences(), ElementsAre(19));
  EXPECT_EQ(handler.end_mismatches(), 0);
  EXPECT_EQ(handler.content_mismatches(), 0);
  EXPECT_EQ(p->sequence().LoadAcquire(), 19);
}

// Marks each event in place and keeps a pointer to it; at the end of the
// batch it re-reads every event of the batch through those pointers (the
// "collect, then flush at end_of_batch" pattern). Checks the batch loop
// (two contiguous runs plus the peeled last event, through a restrict
// pointer) hands the right event for every sequence, in order, and that
// writes through the handed references are seen through kept ones.
//
// After each batch it parks until the test Release()s that sequence, so the
// test publishes the next batch while the processor cannot look: the next
// wait then sees all of it at once.
class StashingHandler {
 public:
  void OnEvent(TestEvent& event, int64_t sequence, bool end) noexcept {
    if (event.value != ValueOf(sequence)) ++content_mismatches_;
    if (sequence != next_) ++order_mismatches_;
    next_ = sequence + 1;
    event.a_mark = sequence;  // written through the handed reference
    batch_.push_back(&event);
    if (!end) return;
    for (size_t i = 0; i < batch_.size(); ++i) {
      const int64_t expected = sequence - static_cast<int64_t>(batch_.size()) +
                               1 + static_cast<int64_t>(i);
      if (batch_[i]->a_mark != expected ||
          batch_[i]->value != ValueOf(expected)) {
        ++flush_mismatches_;
      }
    }
    batch_sizes_.push_back(static_cast<int64_t>(batch_.size()));
    batch_.clear();
    // Release: the fields above are read by the test after it sees this.
    handled_.store(sequence + 1, std::memory_order_release);
    // Acquire: pairs with Release(); parks the processor between batches.
    while (released_.load(std::memory_order_acquire) < sequence + 1) {
      std::this_thread::yield();
    }
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  void Release(int64_t events) {
    released_.store(events, std::memory_order_release);
  }
  const std::vector<int64_t>& batch_sizes() const { return batch_sizes_; }
  int content_mismatches() const { return content_mismatches_; }
  int order_mismatches() const { return order_mismatches_; }
  int flush_mismatches() const { return flush_mismatches_; }

 private:
  std::vector<TestEvent*> batch_;
  std::vector<int64_t> batch_sizes_;
  int64_t next_ = 0;
  int content_mismatches_ = 0;
  int order_mismatches_ = 0;
  int flush_mismatches_ = 0;
  std::atomic<int64_t> handled_{0};
  std::atomic<int64_t> released_{0};
};

// Releases a StashingHandler for good when it goes out of scope, so the
// processor thread can always be halted and joined (declare it after the
// ProcessorThread: it is destroyed first).
struct ReleaseAll {
  StashingHandler& handler;
  ~ReleaseAll() { handler.Release(std::numeric_limits<int64_t>::max()); }
};

// Publishes `sizes` batches one after another, each while the processor is
// parked, and checks each was handed whole and intact. Two consecutive
// sizes must fit in `capacity` together (the parked batch is unreleased).
void ExpectBatchesHandedWhole(int64_t capacity,
                              const std::vector<int64_t>& sizes) {
  auto ring = MakeRing(capacity);
  StashingHandler handler;
  ASSERT_OK_AND_ASSIGN(auto p,
                       (BatchEventProcessor<TestEvent, StashingHandler>::Create(
                           *ring, handler)));
  // The first batch is published before the processor starts (a slow
  // start, e.g. under TSan, must not split it); each later one while the
  // processor is parked at the end of the batch before it.
  ASSERT_TRUE(PublishValues(*ring, sizes.front()));
  std::optional<
      ProcessorThread<BatchEventProcessor<TestEvent, StashingHandler>>>
      t;
  ReleaseAll release_all{handler};  // destroyed before `t` is joined
  t.emplace(*p);
  int64_t published = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t size = sizes[i];
    if (i > 0) {
      ASSERT_TRUE(PublishValues(*ring, size));
    }
    handler.Release(published);  // the previous batch may end now
    published += size;
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == published; }))
        << "batch of " << size << " ending at " << published - 1;
  }
  EXPECT_EQ(handler.batch_sizes(), sizes);
  EXPECT_EQ(handler.content_mismatches(), 0);
  EXPECT_EQ(handler.order_mismatches(), 0);
  EXPECT_EQ(handler.flush_mismatches(), 0);
  // The last batch is still being handled (parked): the sequence is the
  // end of the one before it.
  EXPECT_EQ(p->sequence().LoadAcquire(), published - 1 - sizes.back());
}

// A batch that crosses the end of the ring's storage (sequences 28..43 on
// 32 slots: slots 28..31, then 0..11) is handed whole, in sequence order.
TEST(BatchEventProcessorConcurrentTest, BatchAcrossTheWrapIsHandedInOrder) {
  ExpectBatchesHandedWhole(32, {20, 8, 16});
}

// Every batch size from 1 to half the capacity, starting at every slot of
// the ring (filler batches move the start).
TEST(BatchEventProcessorConcurrentTest, EveryBatchSizeAtEveryOffset) {
  constexpr int64_t kCapacity = 32;
  constexpr int64_t kMaxSize = kCapacity / 2;
  std::vector<int64_t> sizes;
  int64_t position = 0;
  auto add = [&](int64_t size) {
    sizes.push_back(size);
    position += size;
  };
  for (int64_t size = 1; size <= kMaxSize; ++size) {
    for (int64_t offset = 0; offset < kCapacity; ++offset) {
      for (int64_t gap =
               (offset - position % kCapacity + kCapacity) % kCapacity;
           gap > 0;) {
        const int64_t filler = std::min(gap, kMaxSize);
        add(filler);
        gap -= filler;
      }
      add(size);
    }
  }
  ExpectBatchesHandedWhole(kCapacity, sizes);
}

// One event per publish on a small ring: the processor keeps up and takes
// its stream backoff after most batches. Every event still arrives once, in
// order, with end_of_batch on exactly the last of each batch, for no
// backoff, the default and the largest allowed.
class ProcessorStreamBackoffTest : public ::testing::TestWithParam<int> {};

TEST_P(ProcessorStreamBackoffTest, DenseStreamArrivesWholeAndInOrder) {
  auto ring = MakeRing(64);
  BatchRecorder handler(/*keep_details=*/false);
  ASSERT_OK_AND_ASSIGN(
      auto p, (BatchEventProcessor<TestEvent, BatchRecorder>::Create(
                  *ring, handler, {}, {.stream_backoff_pauses = GetParam()})));
  const int64_t n = Events(100'000);
  {
    ProcessorThread<BatchEventProcessor<TestEvent, BatchRecorder>> t(*p);
    ASSERT_TRUE(PublishValues(*ring, n));
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == n; }));
  }
  EXPECT_EQ(handler.batch_sum(), n);
  EXPECT_EQ(handler.bad_batches(), 0);
  EXPECT_EQ(handler.end_mismatches(), 0);
  EXPECT_EQ(handler.content_mismatches(), 0);
  EXPECT_EQ(p->sequence().LoadAcquire(), n - 1);
}

INSTANTIATE_TEST_SUITE_P(Pauses, ProcessorStreamBackoffTest,
                         ::testing::Values(0, 16, 1024));

TEST(BatchEventProcessorConcurrentTest, SplitsBatchesAtMaxBatchSize) {
  auto ring = MakeRing(32);
  BatchRecorder handler;
  ASSERT_OK_AND_ASSIGN(auto p,
                       (BatchEventProcessor<TestEvent, BatchRecorder>::Create(
                           *ring, handler, {}, {.max_batch_size = 7})));
  ASSERT_TRUE(PublishValues(*ring, 20));
  {
    ProcessorThread<BatchEventProcessor<TestEvent, BatchRecorder>> t(*p);
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 20; }));
  }
  // Depth is what was available when the batch started.
  EXPECT_THAT(handler.batches(), ElementsAre(BatchRecorder::Batch{7, 20},
                                             BatchRecorder::Batch{7, 13},
                                             BatchRecorder::Batch{6, 6}));
  EXPECT_THAT(handler.end_sequences(), ElementsAre(6, 13, 19));
  EXPECT_EQ(handler.end_mismatches(), 0);
  EXPECT_EQ(handler.content_mismatches(), 0);
}

TEST(BatchEventProcessorConcurrentTest,
     BatchesSumToEventCountAndRespectMaxBatchSizeUnderLoad) {
  const int64_t n = Events(1'000'000);
  constexpr int64_t kMaxBatch = 7;
  auto ring = MakeRing(64);
  BatchRecorder handler(/*keep_details=*/false);
  ASSERT_OK_AND_ASSIGN(auto p,
                       (BatchEventProcessor<TestEvent, BatchRecorder>::Create(
                           *ring, handler, {}, {.max_batch_size = kMaxBatch})));
  {
    ProcessorThread<BatchEventProcessor<TestEvent, BatchRecorder>> t(*p);
    std::thread producer([&] { EXPECT_TRUE(PublishValues(*ring, n)); });
    producer.join();
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == n; }));
  }
  EXPECT_EQ(handler.handled(), n);
  EXPECT_EQ(handler.batch_sum(), n);
  EXPECT_LE(handler.max_batch(), kMaxBatch);
  EXPECT_GE(handler.max_batch(), 1);
  EXPECT_EQ(handler.bad_batches(), 0);
  EXPECT_EQ(handler.end_mismatches(), 0);
  EXPECT_EQ(handler.content_mismatches(), 0);
  EXPECT_EQ(p->sequence().LoadAcquire(), n - 1);
}

TEST(BatchEventProcessorConcurrentTest, CallsOnTimeoutWhenIdle) {
  auto ring =
      MakeRing(16, WaitStrategyKind::kTimeoutBlocking, absl::Milliseconds(1));
  TimeoutRecorder handler;
  ASSERT_OK_AND_ASSIGN(auto p,
                       (BatchEventProcessor<TestEvent, TimeoutRecorder>::Create(
                           *ring, handler)));
  ProcessorThread<BatchEventProcessor<TestEvent, TimeoutRecorder>> t(*p);
  // Idle from the start: OnTimeout gets the last processed sequence, -1.
  ASSERT_TRUE(SpinUntil([&] { return handler.timeouts() >= 1; }));
  EXPECT_EQ(handler.last_timeout_sequence(), -1);
  EXPECT_EQ(handler.handled(), 0);

  ASSERT_TRUE(PublishValues(*ring, 3));
  ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 3; }));
  // Every timeout counted from here on came after the batch [0, 2].
  const int64_t before = handler.timeouts();
  ASSERT_TRUE(SpinUntil([&] { return handler.timeouts() > before; }));
  EXPECT_EQ(handler.last_timeout_sequence(), 2);
  t.Stop();
  EXPECT_EQ(handler.mismatches(), 0);
  EXPECT_EQ(p->sequence().LoadAcquire(), 2);
}

template <typename H>
class MinimalHandlerTest : public ::testing::Test {};
using MinimalHandlers =
    ::testing::Types<MinimalHandler, NoexceptMinimalHandler>;
TYPED_TEST_SUITE(MinimalHandlerTest, MinimalHandlers);

TYPED_TEST(MinimalHandlerTest, HandlerWithOnlyOnEventProcessesEveryEvent) {
  const int64_t n = Events(10'000);
  auto ring = MakeRing(128);
  TypeParam handler;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      (BatchEventProcessor<TestEvent, TypeParam>::Create(*ring, handler)));
  {
    ProcessorThread<BatchEventProcessor<TestEvent, TypeParam>> t(*p);
    ASSERT_TRUE(PublishValues(*ring, n));
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == n; }));
  }
  EXPECT_EQ(handler.sum(), SumOfValues(n));
  EXPECT_EQ(p->sequence().LoadAcquire(), n - 1);
}

// ---- Run / Halt life cycle
// ------------------------------------------------------

TEST(BatchEventProcessorConcurrentTest, RunReturnsAtOnceWhenAlreadyRunning) {
  auto ring = MakeRing(16);
  LifecycleHandler handler;
  using P = BatchEventProcessor<TestEvent, LifecycleHandler>;
  ASSERT_OK_AND_ASSIGN(auto p, P::Create(*ring, handler));
  ProcessorThread<P> t(*p);
  ASSERT_TRUE(SpinUntil([&] { return handler.starts() == 1; }));
  EXPECT_TRUE(p->IsRunning());
  EXPECT_TRUE(RunReturnsByItself(*p));
  // The first Run is unaffected and still handles events.
  EXPECT_TRUE(p->IsRunning());
  ASSERT_TRUE(PublishValues(*ring, 5));
  ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 5; }));
  t.Stop();
  EXPECT_EQ(handler.starts(), 1);
  EXPECT_THAT(handler.sequences(), ElementsAre(0, 1, 2, 3, 4));
}

TEST(BatchEventProcessorConcurrentTest, TwoConcurrentRunsEnterOnlyOnce) {
  auto ring = MakeRing(16);
  LifecycleHandler handler;
  using P = BatchEventProcessor<TestEvent, LifecycleHandler>;
  ASSERT_OK_AND_ASSIGN(auto p, P::Create(*ring, handler));
  ProcessorThread<P> first(*p);
  ProcessorThread<P> second(*p);
  // Exactly one of them returns at once; the other runs the loop.
  ASSERT_TRUE(SpinUntil([&] { return first.returned() || second.returned(); }));
  ASSERT_TRUE(SpinUntil([&] { return handler.starts() == 1; }));
  EXPECT_NE(first.returned(), second.returned());
  ASSERT_TRUE(PublishValues(*ring, 8));
  ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 8; }));
  first.Stop();
  second.Stop();
  EXPECT_EQ(handler.starts(), 1);
  EXPECT_THAT(handler.sequences(), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  using Call = LifecycleHandler::Call;
  EXPECT_EQ(
      std::count(handler.log().begin(), handler.log().end(), Call::kShutdown),
      1);
}

TEST(BatchEventProcessorConcurrentTest, RunAfterHaltReturnsAtOnce) {
  auto ring = MakeRing(16);
  LifecycleHandler handler;
  using P = BatchEventProcessor<TestEvent, LifecycleHandler>;
  ASSERT_OK_AND_ASSIGN(auto p, P::Create(*ring, handler));
  {
    ProcessorThread<P> t(*p);
    ASSERT_TRUE(PublishValues(*ring, 3));
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == 3; }));
  }  // halted and joined
  EXPECT_FALSE(p->IsRunning());
  ASSERT_TRUE(PublishValues(*ring, 2));
  EXPECT_TRUE(RunReturnsByItself(*p));
  // The second Run neither restarted the handler nor consumed anything.
  EXPECT_EQ(handler.starts(), 1);
  EXPECT_EQ(handler.handled(), 3);
  EXPECT_EQ(p->sequence().LoadAcquire(), 2);
}

TEST(BatchEventProcessorConcurrentTest, HaltBeforeRunIsHonoured) {
  auto ring = MakeRing(16);
  LifecycleHandler handler;
  using P = BatchEventProcessor<TestEvent, LifecycleHandler>;
  ASSERT_OK_AND_ASSIGN(auto p, P::Create(*ring, handler));
  ASSERT_TRUE(PublishValues(*ring, 4));
  p->Halt();
  ProcessorThread<P> t(*p);
  EXPECT_TRUE(t.JoinAfterSelfHalt());
  EXPECT_FALSE(p->IsRunning());
  EXPECT_EQ(handler.starts(), 0);
  EXPECT_EQ(handler.handled(), 0);
  EXPECT_TRUE(handler.log().empty());
  EXPECT_EQ(p->sequence().LoadAcquire(), -1);
}

TEST(BatchEventProcessorConcurrentTest, HaltRacingWithStartIsNeverLost) {
  // Halt lands before, during or after Run's start; Run must return
  // every time, and whatever it handled is a prefix of the events.
  const int rounds = static_cast<int>(Events(1'000));
  auto ring = MakeRing(16, WaitStrategyKind::kBlocking, absl::Milliseconds(100),
                       /*max_consumers=*/1);
  for (int i = 0; i < rounds; ++i) {
    LifecycleHandler handler;
    using P = BatchEventProcessor<TestEvent, LifecycleHandler>;
    ASSERT_OK_AND_ASSIGN(auto p, P::Create(*ring, handler));
    std::atomic<bool> returned{false};
    std::thread runner([&] {
      p->Run();
      returned.store(true, std::memory_order_release);
    });
    p->Halt();
    const bool ok =
        SpinUntil([&] { return returned.load(std::memory_order_acquire); });
    if (!ok) p->Halt();
    runner.join();
    ASSERT_TRUE(ok) << "round " << i;
    EXPECT_FALSE(p->IsRunning());
    EXPECT_EQ(handler.handled(), 0);
  }
}

// ---- sequences
// ----------------------------------------------------------------

TEST(BatchEventProcessorConcurrentTest, SequenceIsLastHandledEvent) {
  const int64_t n = 100;
  auto ring = MakeRing(128);
  MinimalHandler handler;
  using P = BatchEventProcessor<TestEvent, MinimalHandler>;
  ASSERT_OK_AND_ASSIGN(auto p, P::Create(*ring, handler));
  ASSERT_TRUE(PublishValues(*ring, n));
  {
    ProcessorThread<P> t(*p);
    ASSERT_TRUE(SpinUntil([&] { return handler.handled() == n; }));
  }
  EXPECT_EQ(p->sequence().LoadAcquire(), n - 1);
  EXPECT_EQ(handler.sum(), SumOfValues(n));
}

// Stage a annotates each event; stage b runs behind a (its barrier depends
// on a's sequence) and must see every annotation.
class AnnotateStage {
 public:
  void OnEvent(TestEvent& event, int64_t /*sequence*/, bool /*end*/) {
    event.a_mark = event.value + 1;
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }

 private:
  std::atomic<int64_t> handled_{0};
};

class CheckAnnotationStage {
 public:
  void OnEvent(TestEvent& event, int64_t sequence, bool /*end*/) {
    if (event.value != ValueOf(sequence) || event.a_mark != event.value + 1) {
      ++mismatches_;
    }
    if (sequence != next_) ++mismatches_;
    next_ = sequence + 1;
    handled_.fetch_add(1, std::memory_order_release);
  }
  int64_t handled() const { return handled_.load(std::memory_order_acquire); }
  int64_t mismatches() const { return mismatches_; }

 private:
  int64_t next_ = 0;
  int64_t mismatches_ = 0;
  std::atomic<int64_t> handled_{0};
};

TEST(BatchEventProcessorConcurrentTest,
     DownstreamProcessorSeesUpstreamWritesAndNeverPassesIt) {
  const int64_t n = Events(1'000'000);
  auto ring = MakeRing(128);
  AnnotateStage a;
  CheckAnnotationStage b;
  using PA = BatchEventProcessor<TestEvent, AnnotateStage>;
  using PB = BatchEventProcessor<TestEvent, CheckAnnotationStage>;
  ASSERT_OK_AND_ASSIGN(auto pa, PA::Create(*ring, a));
  ASSERT_OK_AND_ASSIGN(
      auto pb, PB::Create(*ring, b, {&pa->sequence()}, {.max_batch_size = 16}));
  {
    ProcessorThread<PA> ta(*pa);
    ProcessorThread<PB> tb(*pb);
    std::thread producer([&] { EXPECT_TRUE(PublishValues(*ring, n)); });
    producer.join();
    ASSERT_TRUE(SpinUntil([&] { return b.handled() == n; }));
  }
  EXPECT_EQ(a.handled(), n);
  EXPECT_EQ(b.mismatches(), 0);
  EXPECT_EQ(pa->sequence().LoadAcquire(), n - 1);
  EXPECT_EQ(pb->sequence().LoadAcquire(), n - 1);
}

}  // namespace
}  // namespace ringflow
