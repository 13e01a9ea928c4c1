// A shared ring across processes: one producer (this process) and consumer
// processes (shm_child) reading by batch lease, single lease and poll; in-
// process processors beside them; late joiners while the producer wraps;
// and an idle consumer on the blocking strategy. Every consumer reports
// count, checksum and order/content violations; every check is exact.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/disruptor.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "support/proc_harness.h"
#include "support/shm_event.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow::shm {
namespace {

using ::ringflow::testing::ChecksumOf;
using ::ringflow::testing::ChildProcess;
using ::ringflow::testing::DescribeWaitStatus;
using ::ringflow::testing::Events;
using ::ringflow::testing::Fields;
using ::ringflow::testing::FillShmEvent;
using ::ringflow::testing::FindSlot;
using ::ringflow::testing::kShmEventTag;
using ::ringflow::testing::PayloadOf;
using ::ringflow::testing::ProcessorThread;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::ShmEvent;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::StreamCheck;
using ::ringflow::testing::UniqueRingName;
using ::ringflow::testing::WaitUntil;
using ::ringflow::testing::Watchdog;

using Ring = SharedRing<ShmEvent>;

// Hang guard for one child step (attach, a whole run): far above any
// expected duration, never a timing assertion.
constexpr absl::Duration kStepGuard = absl::Seconds(120);

SharedRingOptions RingOptionsFor(const std::string& name, int64_t capacity) {
  SharedRingOptions options;
  options.ring.name = name;
  options.ring.capacity = capacity;
  options.ring.producer_type = ProducerType::kSingle;
  options.ring.wait_strategy = WaitStrategyKind::kBlocking;
  return options;
}

// For the throughput tests: a consumer that is the bottleneck for a while
// (slow sanitized builds, a loaded machine) never heartbeats and would be
// evicted after the default 2 s -- the bug pinned down by
// ShmLivenessTest.ABusySlowConsumerIsNotEvictedUnderTheBlockPolicy.
// A long timeout keeps these tests about what they check.
SharedRingOptions ThroughputRingOptions(const std::string& name,
                                        int64_t capacity) {
  SharedRingOptions options = RingOptionsFor(name, capacity);
  options.consumer_timeout = absl::Seconds(60);
  return options;
}

// A consumer process (shm_child consume) that has attached.
struct ConsumerProcess {
  ChildProcess child;
  Fields ready;  // its "ready ..." line
};

std::optional<ConsumerProcess> StartConsumer(std::vector<std::string> args) {
  args.insert(args.begin(), {RINGFLOW_SHM_CHILD, "consume"});
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(args);
  if (!child.ok()) {
    ADD_FAILURE() << "cannot start " << RINGFLOW_SHM_CHILD << ": "
                  << child.status();
    return std::nullopt;
  }
  std::string skipped;
  std::optional<std::string> ready =
      child->ReadLineStartingWith("ready", kStepGuard, &skipped);
  if (!ready) {
    ADD_FAILURE() << "consumer did not attach: " << skipped;
    return std::nullopt;
  }
  return ConsumerProcess{std::move(*child), Fields(*ready)};
}

// Reads the consumer's "result" line and checks it saw exactly the events
// [first, last] in order with their content, and exited 0.
void ExpectConsumerSaw(ConsumerProcess& consumer, int64_t first, int64_t last,
                       const std::string& who) {
  SCOPED_TRACE(who);
  std::string skipped;
  const std::optional<std::string> line =
      consumer.child.ReadLineStartingWith("result", kStepGuard, &skipped);
  ASSERT_TRUE(line.has_value()) << "no result; it said: " << skipped;
  const Fields result(*line);
  EXPECT_EQ(result.Get("status"), "ok") << *line;
  EXPECT_EQ(result.Int("count"), last - first + 1) << *line;
  EXPECT_EQ(result.Uint("checksum"), ChecksumOf(first, last)) << *line;
  EXPECT_EQ(result.Int("first"), first) << *line;
  EXPECT_EQ(result.Int("last"), last) << *line;
  EXPECT_EQ(result.Int("order_violations"), 0) << *line;
  EXPECT_EQ(result.Int("content_violations"), 0) << *line;
  const int status = consumer.child.WaitOrKill(kStepGuard);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << DescribeWaitStatus(status);
}

// Publishes events [0, n) in claims of 1..max_batch events (seeded sizes).
// A watchdog halts the ring if a consumer keeps the producer blocked.
void PublishAll(Ring& ring, int64_t n, int64_t max_batch, uint64_t seed) {
  Watchdog watchdog(kStepGuard, [&ring] { ring.Halt(); });
  std::mt19937_64 random(seed);
  for (int64_t published = 0; published < n;) {
    const int64_t batch = std::min<int64_t>(
        n - published, 1 + static_cast<int64_t>(random() % max_batch));
    ASSERT_TRUE(ring.PublishEvents(batch, FillShmEvent))
        << "halted after " << published << " events: a consumer stalled";
    published += batch;
  }
  EXPECT_FALSE(watchdog.Disarm());
}

// ---- 1 producer, 3 consumer processes ---------------------------------------

TEST(ShmMultiProcessTest, ThreeConsumerProcessesSeeEveryEventInOrder) {
  // 10 million in a normal build; under a sanitizer a single-lease reader
  // process is ~100x slower, so 100 thousand keep the run bounded.
  const int64_t n =
      ringflow::testing::kScale > 1 ? int64_t{100'000} : Events(10'000'000);
  const std::string name = UniqueRingName("1p3c");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(
      auto ring,
      Ring::Create(ThroughputRingOptions(name, 1 << 16), kShmEventTag));
  std::vector<ConsumerProcess> consumers;
  for (const char* method : {"batch", "lease", "poll"}) {
    std::optional<ConsumerProcess> c = StartConsumer(
        {"ring=" + name, std::string("method=") + method,
         "count=" + std::to_string(n), std::string("name=") + method});
    ASSERT_TRUE(c.has_value()) << method;
    // Attached before anything was published: it starts at sequence 0.
    EXPECT_EQ(c->ready.Int("sequence", 99), -1);
    consumers.push_back(std::move(*c));
  }
  PublishAll(*ring, n, 128, 1);
  ExpectConsumerSaw(consumers[0], 0, n - 1, "batch lease");
  ExpectConsumerSaw(consumers[1], 0, n - 1, "single lease");
  ExpectConsumerSaw(consumers[2], 0, n - 1, "poll");
  EXPECT_EQ(ring->Cursor(), n - 1);
}

// ---- in-process processors beside a consumer process -----------------------

struct CheckingHandler {
  StreamCheck check;
  void OnEvent(const ShmEvent& event, int64_t sequence, bool) {
    check.Add(event, sequence);
  }
};

TEST(ShmMultiProcessTest, BatchEventProcessorAndAConsumerProcessShareTheRing) {
  const int64_t n = Events(1'000'000);
  const std::string name = UniqueRingName("bep");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(
      auto ring, Ring::Create(ThroughputRingOptions(name, 1024), kShmEventTag));
  CheckingHandler handler;
  ProcessorOptions options;
  options.name = "in-process";
  ASSERT_OK_AND_ASSIGN(auto processor,
                       (BatchEventProcessor<ShmEvent, CheckingHandler>::Create(
                           *ring, handler, {}, options)));
  std::optional<ConsumerProcess> outside =
      StartConsumer({"ring=" + name, "method=batch",
                     "count=" + std::to_string(n), "name=outside"});
  ASSERT_TRUE(outside.has_value());
  // Both readers hold a slot of the shared table, where tools see them.
  std::vector<std::string> names;
  for (int i = 0; i < ring->control().max_consumers(); ++i) {
    const shm_internal::ConsumerSlot& slot = ring->control().slot(i);
    if (shm_internal::ConsumerSlot::StateOf(
            slot.state.load(std::memory_order_acquire)) ==
        shm_internal::ConsumerSlot::kActive) {
      names.emplace_back(slot.name);
    }
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("in-process", "outside"));
  {
    ProcessorThread<BatchEventProcessor<ShmEvent, CheckingHandler>> thread(
        *processor);
    PublishAll(*ring, n, 16, 2);
    ASSERT_TRUE(
        WaitUntil([&] { return processor->sequence().LoadAcquire() == n - 1; },
                  kStepGuard));
  }  // halted and joined: `handler` is ours to read
  EXPECT_EQ(handler.check.count, n);
  EXPECT_EQ(handler.check.checksum, ChecksumOf(0, n - 1));
  EXPECT_EQ(handler.check.first, 0);
  EXPECT_EQ(handler.check.order_violations, 0);
  EXPECT_EQ(handler.check.content_violations, 0);
  ExpectConsumerSaw(*outside, 0, n - 1, "consumer process");
}

// A diamond (a, b) -> c built by the Disruptor DSL on a SharedRing, beside
// a consumer process: every stage and the process see every event.
TEST(ShmMultiProcessTest, DisruptorDiamondOnASharedRingBesideAConsumerProcess) {
  const int64_t n = Events(1'000'000);
  const std::string name = UniqueRingName("dsl");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(
      auto ring, Ring::Create(ThroughputRingOptions(name, 1024), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(auto disruptor,
                       (Disruptor<ShmEvent, Ring>::Wrap(std::move(ring))));
  CheckingHandler a;
  CheckingHandler b;
  CheckingHandler c;
  disruptor->HandleEventsWith(a, b).Then(c);
  ASSERT_OK(disruptor->Start());
  std::optional<ConsumerProcess> outside =
      StartConsumer({"ring=" + name, "method=poll",
                     "count=" + std::to_string(n), "name=outside"});
  ASSERT_TRUE(outside.has_value());
  {
    Watchdog watchdog(kStepGuard, [&] { disruptor->ring().Halt(); });
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(disruptor->PublishEvent(FillShmEvent)) << "at " << i;
    }
    EXPECT_FALSE(watchdog.Disarm());
  }
  ASSERT_OK(disruptor->Shutdown(kStepGuard));
  for (const StreamCheck* check : {&a.check, &b.check, &c.check}) {
    EXPECT_EQ(check->count, n);
    EXPECT_EQ(check->checksum, ChecksumOf(0, n - 1));
    EXPECT_EQ(check->order_violations, 0);
    EXPECT_EQ(check->content_violations, 0);
  }
  ExpectConsumerSaw(*outside, 0, n - 1, "consumer process");
}

// ---- late joiners while the producer wraps ----------------------------------

// A producer thread publishing without pause until stopped.
class FreeRunningProducer {
 public:
  explicit FreeRunningProducer(Ring& ring)
      : ring_(ring), thread_([this] {
          while (!stop_.load(std::memory_order_relaxed)) {
            if (!ring_.PublishEvent(FillShmEvent)) return;
          }
        }) {}
  ~FreeRunningProducer() { Stop(); }
  void Stop() {
    // Relaxed: a stop request, no data rides on it.
    stop_.store(true, std::memory_order_relaxed);
    ring_.Halt();  // releases a producer blocked on a full ring
    if (thread_.joinable()) thread_.join();
  }

 private:
  Ring& ring_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Runs `processes` instances of `shm_child churn` side by side (more
// processes than cores: attaches get preempted mid-protocol) and checks
// their reports. Returns the summed oldest backlog.
int64_t ExpectChurnClean(const std::string& name, const std::string& start,
                         int64_t rounds, int processes = 1, int nice = 0) {
  std::vector<ChildProcess> children;
  for (int i = 0; i < processes; ++i) {
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
        {RINGFLOW_SHM_CHILD, "churn", "ring=" + name, "start=" + start,
         "rounds=" + std::to_string(rounds), "events=64",
         "name=joiner" + std::to_string(i), "nice=" + std::to_string(nice)});
    if (!child.ok()) {
      ADD_FAILURE() << "cannot start " << RINGFLOW_SHM_CHILD;
      return -1;
    }
    children.push_back(std::move(*child));
  }
  int64_t backlog = 0;
  for (ChildProcess& child : children) {
    std::string skipped;
    const std::optional<std::string> line =
        child.ReadLineStartingWith("result", kStepGuard, &skipped);
    if (!line) {
      ADD_FAILURE() << "no result; it said: " << skipped;
      continue;
    }
    const Fields result(*line);
    EXPECT_EQ(result.Int("rounds"), rounds) << *line;
    EXPECT_EQ(result.Int("events"), rounds * 64) << *line;
    EXPECT_EQ(result.Int("order_violations"), 0) << *line;
    EXPECT_EQ(result.Int("content_violations"), 0) << *line;
    backlog += result.Int("oldest_backlog");
    const int status = child.WaitOrKill(kStepGuard);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << DescribeWaitStatus(status);
  }
  return backlog;
}

// Nothing gates the producer: it laps the 64-slot ring continuously while
// a process attaches with start=latest again and again. The late-joiner
// protocol must never let the first events it reads be from another lap.
TEST(ShmMultiProcessTest, LatestJoinersOnAFreeRunningRingReadOnlyTheirLap) {
  const std::string name = UniqueRingName("late");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  FreeRunningProducer producer(*ring);
  ASSERT_TRUE(WaitUntil([&] { return ring->Cursor() > 10 * 64; }, kStepGuard));
  ExpectChurnClean(name, "latest", Events(2000), 2);
  producer.Stop();
}

// Regression (Control::RegisterConsumer, start=oldest): the start used to be a
// minimum that included the joiner's own stale cursor value, taken while
// the slot did not gate the producer yet, so a producer lapping the ring
// meanwhile made the joiner start on overwritten slots (a child reported
// "attached_at=884296 published_at_attach=884361 read=884297
// found=884361", 65 behind on a 64-slot ring). Four churning processes at
// nice 19 are preempted mid-attach; the old code failed about one run in
// three on 2 cores. The handshake is now JoinAtOldest (kJoining + a stable
// producer scan).
TEST(ShmMultiProcessTest, OldestJoinersOnAFreeRunningRingReadOnlyTheirLap) {
  const std::string name = UniqueRingName("oldest-free");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  FreeRunningProducer producer(*ring);
  ASSERT_TRUE(WaitUntil([&] { return ring->Cursor() > 10 * 64; }, kStepGuard));
  ExpectChurnClean(name, "oldest", Events(4000), 4, 19);
  producer.Stop();
}

// A slow in-process consumer holds the producer back, so start=oldest
// begins behind the cursor, at the oldest event the ring still protects:
// every event from there on must still be intact, also when the slow
// consumer moves on during the attach.
TEST(ShmMultiProcessTest, OldestJoinersBehindASlowConsumerReadIntactEvents) {
  const std::string name = UniqueRingName("oldest-slow");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(auto poller, EventPoller<ShmEvent>::Create(*ring));
  std::atomic<bool> stop{false};
  StreamCheck slow_check;
  std::thread slow([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      poller->Poll([&](const ShmEvent& event, int64_t sequence, bool) {
        slow_check.Add(event, sequence);
        return slow_check.count % 16 != 0;  // a few events per poll
      });
      std::this_thread::yield();
    }
  });
  FreeRunningProducer producer(*ring);
  ASSERT_TRUE(WaitUntil([&] { return ring->Cursor() > 10 * 64; }, kStepGuard));
  const int64_t backlog = ExpectChurnClean(name, "oldest", Events(2000), 2);
  producer.Stop();
  stop.store(true, std::memory_order_relaxed);
  slow.join();
  EXPECT_GT(backlog, 0) << "start=oldest never began behind the newest event";
  EXPECT_EQ(slow_check.first, 0);
  EXPECT_EQ(slow_check.order_violations, 0);
  EXPECT_EQ(slow_check.content_violations, 0);
}

// Consumer names stay unique while another attach is in either of its
// handshake states (kAttaching, kJoining), not only once it is kActive.
TEST(ShmMultiProcessTest, NamesInAnyAttachStateAreTaken) {
  const std::string name = UniqueRingName("names");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  SharedConsumerOptions options;
  options.type_tag = kShmEventTag;
  options.name = "audit";
  ASSERT_OK_AND_ASSIGN(auto first,
                       SharedConsumer<ShmEvent>::Attach(name, options));
  ASSERT_OK_AND_ASSIGN(auto second,
                       SharedConsumer<ShmEvent>::Attach(name, options));
  EXPECT_EQ(first->name(), "audit");
  EXPECT_EQ(second->name(), "audit#2");
  // A slot caught mid-handshake, as another process would leave it for a
  // moment: its name is taken in both states.
  for (const auto state : {shm_internal::ConsumerSlot::kAttaching,
                           shm_internal::ConsumerSlot::kJoining}) {
    shm_internal::ConsumerSlot& slot = ring->control().slot(2);
    const uint32_t before = slot.state.load(std::memory_order_acquire);
    ASSERT_EQ(shm_internal::ConsumerSlot::StateOf(before),
              shm_internal::ConsumerSlot::kFree);
    // A live claimant holds the slot's liveness lock on an open file of its
    // own; without it the slot would be (rightly) taken over as abandoned.
    ASSERT_OK_AND_ASSIGN(
        shm_internal::Segment claimant,
        shm_internal::Segment::Open(shm_internal::ControlSegmentName(name),
                                    shm_internal::Segment::Access::kReadWrite));
    ASSERT_TRUE(claimant.TryLockByte(shm_internal::SlotLockByte(2)));
    std::strncpy(slot.name, "joiner", sizeof(slot.name));
    // Our own pid: the producer's housekeeping never evicts it meanwhile.
    slot.pid.store(getpid(), std::memory_order_relaxed);
    slot.state.store(shm_internal::ConsumerSlot::Word(1, state),
                     std::memory_order_release);
    options.name = "joiner";
    ASSERT_OK_AND_ASSIGN(auto third,
                         SharedConsumer<ShmEvent>::Attach(name, options));
    EXPECT_EQ(third->name(), "joiner#2") << "state " << state;
    third.reset();  // frees its slot (3)
    slot.state.store(before, std::memory_order_release);
  }
}

// Without a running producer the oldest start is exact: the oldest event
// the slowest consumer still protects, and reading from there sees every
// event up to the cursor.
TEST(ShmMultiProcessTest, OldestJoinerStartsAtTheSlowestConsumer) {
  const std::string name = UniqueRingName("oldest");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(auto slow, EventPoller<ShmEvent>::Create(*ring));
  ASSERT_OK_AND_ASSIGN(auto fast, EventPoller<ShmEvent>::Create(*ring));
  // 100 events; the slow reader has read 50 of them, the fast one all.
  for (int i = 0; i < 100; ++i) {
    if (i == 60) {
      int64_t n = 0;
      slow->Poll([&](const ShmEvent&, int64_t, bool) { return ++n < 50; });
      fast->Poll([](const ShmEvent&, int64_t, bool) {});
    }
    ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  }
  ASSERT_EQ(slow->sequence().LoadAcquire(), 49);
  std::optional<ConsumerProcess> oldest =
      StartConsumer({"ring=" + name, "method=lease", "count=50", "start=oldest",
                     "name=oldest", "idle_ms=60000"});
  ASSERT_TRUE(oldest.has_value());
  EXPECT_EQ(oldest->ready.Int("sequence", -99), 49);
  std::optional<ConsumerProcess> latest =
      StartConsumer({"ring=" + name, "method=lease", "count=1", "start=latest",
                     "name=latest", "idle_ms=60000"});
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->ready.Int("sequence", -99), 99);
  ASSERT_TRUE(ring->PublishEvent(FillShmEvent));  // sequence 100 for `latest`
  ExpectConsumerSaw(*oldest, 50, 99, "start=oldest");
  ExpectConsumerSaw(*latest, 100, 100, "start=latest");
}

// ---- an idle consumer on the blocking strategy ------------------------------

// A consumer process blocked in WaitForEvents on an empty ring sleeps on
// the futex: it uses almost no CPU, and the next publish wakes it. Its
// heartbeat interval (2 s) is its only timed wake-up, so a wake within 1 s
// of the publish came from the publish.
TEST(ShmMultiProcessTest, IdleBlockingConsumerSleepsAndWakesOnPublish) {
  const std::string name = UniqueRingName("idle");
  RingRemover remover(name);
  SharedRingOptions options = RingOptionsFor(name, 1024);
  options.consumer_timeout = absl::Seconds(30);  // above the 2 s heartbeat
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn({RINGFLOW_SHM_CHILD, "idle", "ring=" + name,
                           "heartbeat_ms=2000", "idle_ms=2000", "name=idle"});
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(child->ReadLineStartingWith("ready", kStepGuard).has_value());
  const std::optional<std::string> idle_line =
      child->ReadLineStartingWith("idle", kStepGuard);
  ASSERT_TRUE(idle_line.has_value());
  const Fields idle(*idle_line);
  EXPECT_EQ(idle.Get("status"), "timeout") << *idle_line;
  EXPECT_GE(idle.Int("wall_us"), 2'000'000) << *idle_line;
  // < 2% of one core over the 2 s wait (the whole process, every thread).
  EXPECT_LT(idle.Int("cpu_us"), 40'000) << *idle_line;
  std::cout << "idle consumer: " << *idle_line << "\n";

  ASSERT_TRUE(child->ReadLineStartingWith("waiting", kStepGuard).has_value());
  // The child registered as a sleeper on the ring's wake-up word.
  ASSERT_TRUE(WaitUntil([&] { return ring->control().wakeup().Waiters() > 0; },
                        kStepGuard));
  const int64_t published_ns = shm_internal::MonotonicNanos();
  ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  const std::optional<std::string> woke_line =
      child->ReadLineStartingWith("woke", kStepGuard);
  ASSERT_TRUE(woke_line.has_value());
  const Fields woke(*woke_line);
  EXPECT_EQ(woke.Get("status"), "ok") << *woke_line;
  EXPECT_EQ(woke.Int("sequence"), 0) << *woke_line;
  EXPECT_EQ(woke.Int("valid"), 1) << *woke_line;
  const int64_t wake_ns = woke.Int("t_ns") - published_ns;
  std::cout << "idle consumer woke " << wake_ns / 1000 << " us after publish\n";
  EXPECT_LT(wake_ns, 1'000'000'000) << "woken by its heartbeat timeout, not "
                                       "by the publish";
  const int status = child->WaitOrKill(kStepGuard);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << DescribeWaitStatus(status);
}

// ---- consumer liveness ------------------------------------------------------

// A live consumer process that reads with Poll in its own loop (the poll
// API's purpose; no WaitForEvents, no status()) heartbeats through its idle
// polls and is not evicted as silent. (Regression: Poll, TryLease and
// TryLeaseBatch used not to heartbeat, and such a consumer was evicted
// once consumer_timeout passed without an event: "count=1 ...
// status=evicted".)
TEST(ShmMultiProcessTest, APollingConsumerIsNotEvictedWhileAlive) {
  const std::string name = UniqueRingName("pollonly");
  RingRemover remover(name);
  SharedRingOptions options = RingOptionsFor(name, 64);
  options.consumer_timeout = absl::Milliseconds(300);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  std::optional<ConsumerProcess> poller =
      StartConsumer({"ring=" + name, "method=poll-only", "count=2",
                     "idle_ms=5000", "name=poller"});
  ASSERT_TRUE(poller.has_value());
  const int slot = FindSlot(ring->control(), "poller");
  ASSERT_GE(slot, 0);
  const shm_internal::ConsumerSlot& poller_slot = ring->control().slot(slot);
  ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  ASSERT_TRUE(WaitUntil([&] { return poller_slot.sequence.LoadAcquire() == 0; },
                        kStepGuard));
  // Five consumer timeouts of polling an idle ring: the producer's
  // housekeeping (every 100 ms) must not take it for dead.
  const bool evicted = WaitUntil(
      [&] {
        return shm_internal::ConsumerSlot::StateOf(
                   poller_slot.state.load(std::memory_order_acquire)) ==
               shm_internal::ConsumerSlot::kEvicted;
      },
      absl::Milliseconds(1500));
  EXPECT_FALSE(evicted) << "a live polling consumer was evicted";
  ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  ExpectConsumerSaw(*poller, 0, 1, "poll-only consumer");
}

// WaitForEvents(timeout) on a blocking ring returns at its timeout, not up
// to a heartbeat_interval later. (Regression: each wait step used to sleep
// on the futex for a whole heartbeat_interval, so WaitForEvents(50 ms) with
// a 5 s interval returned after about 5 s.)
TEST(ShmConsumerTest, WaitForEventsReturnsAtItsTimeout) {
  const std::string name = UniqueRingName("waitfor");
  RingRemover remover(name);
  SharedRingOptions options = RingOptionsFor(name, 64);
  options.consumer_timeout = absl::Seconds(60);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  SharedConsumerOptions consumer_options;
  consumer_options.type_tag = kShmEventTag;
  consumer_options.heartbeat_interval = absl::Seconds(5);
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<ShmEvent>::Attach(name, consumer_options));
  const absl::Time start = absl::Now();
  EXPECT_EQ(consumer->WaitForEvents(absl::Milliseconds(50)),
            ConsumerState::kTimeout);
  const absl::Duration waited = absl::Now() - start;
  // Bound: half the heartbeat interval, 50 times the timeout asked for.
  EXPECT_LT(waited, absl::Milliseconds(2500)) << waited;
}

// SharedConsumer::Run hands every event of a dense stream once, in order,
// whatever its stream backoff: none, the default, and the largest allowed.
class ShmRunTest : public ::testing::TestWithParam<int> {};

TEST_P(ShmRunTest, RunHandsEveryEventOnceInOrder) {
  const std::string name = UniqueRingName("run");
  RingRemover remover(name);
  SharedRingOptions options = ThroughputRingOptions(name, 256);
  options.ring.wait_strategy = WaitStrategyKind::kBusySpin;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  SharedConsumerOptions consumer_options;
  consumer_options.type_tag = kShmEventTag;
  consumer_options.processor.stream_backoff_pauses = GetParam();
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<ShmEvent>::Attach(name, consumer_options));

  const int64_t n = Events(200'000);
  struct Checker {
    StreamCheck check;
    int64_t n;
    std::atomic<bool>* stop;
    void OnEvent(const ShmEvent& event, int64_t sequence, bool /*end*/) {
      check.Add(event, sequence);
      // Relaxed: read by Run on this same thread.
      if (check.count == n) stop->store(true, std::memory_order_relaxed);
    }
  };
  std::atomic<bool> stop{false};
  Checker checker{{}, n, &stop};
  ConsumerState status = ConsumerState::kOk;
  std::thread consumer_thread([&] { status = consumer->Run(checker, stop); });
  // Batches of 1-4: the consumer keeps up, so it takes the backoff.
  PublishAll(*ring, n, /*max_batch=*/4, /*seed=*/GetParam());
  consumer_thread.join();

  EXPECT_EQ(status, ConsumerState::kStopped);
  EXPECT_EQ(checker.check.count, n) << checker.check.ToString();
  EXPECT_EQ(checker.check.first, 0);
  EXPECT_EQ(checker.check.last, n - 1);
  EXPECT_EQ(checker.check.order_violations, 0);
  EXPECT_EQ(checker.check.content_violations, 0);
  EXPECT_EQ(checker.check.checksum, ChecksumOf(0, n - 1));
}

INSTANTIATE_TEST_SUITE_P(StreamBackoffPauses, ShmRunTest,
                         ::testing::Values(0, 16, 1024));

TEST(ShmConsumerTest, AttachRejectsAStreamBackoffOutOfRange) {
  const std::string name = UniqueRingName("backoff");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  for (const int pauses : {-1, 1025}) {
    SharedConsumerOptions consumer_options;
    consumer_options.type_tag = kShmEventTag;
    consumer_options.processor.stream_backoff_pauses = pauses;
    EXPECT_THAT(SharedConsumer<ShmEvent>::Attach(name, consumer_options),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::HasSubstr(
                             absl::StrCat("stream_backoff_pauses ", pauses))));
  }
}

TEST(ShmConsumerTest, AttachRejectsBadProcessorOptionsByValue) {
  const std::string name = UniqueRingName("procopts");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  SharedConsumerOptions batch;
  batch.type_tag = kShmEventTag;
  batch.processor.max_batch_size = 0;
  EXPECT_THAT(SharedConsumer<ShmEvent>::Attach(name, batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("max_batch_size 0")));
  SharedConsumerOptions rewind;
  rewind.type_tag = kShmEventTag;
  rewind.processor.exception_policy = {ExceptionAction::kRewind, 0};
  EXPECT_THAT(SharedConsumer<ShmEvent>::Attach(name, rewind),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("max_rewinds 0")));
}

// Run is a BatchEventProcessor: its lifecycle callbacks, max_batch_size and
// exception policy apply. A handler that throws at one sequence halts Run
// (the default policy) with run_status() naming it, and the consumer's
// sequence stops just before it.
TEST(ShmConsumerTest, RunIsAProcessorWithItsCallbacksBatchCapAndPolicy) {
  const std::string name = UniqueRingName("runproc");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(RingOptionsFor(name, 64), kShmEventTag));
  SharedConsumerOptions consumer_options;
  consumer_options.type_tag = kShmEventTag;
  consumer_options.name = "proc";
  consumer_options.processor.max_batch_size = 5;
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<ShmEvent>::Attach(name, consumer_options));
  constexpr int64_t kFailAt = 40;
  struct Lifecycle {
    int starts = 0;
    int shutdowns = 0;
    int64_t largest_batch = 0;
    int64_t handled = 0;
    void OnStart() { ++starts; }
    void OnShutdown() { ++shutdowns; }
    void OnBatchStart(int64_t batch, int64_t /*depth*/) {
      largest_batch = std::max(largest_batch, batch);
    }
    void OnEvent(const ShmEvent& /*event*/, int64_t sequence, bool /*end*/) {
      if (sequence == kFailAt) throw std::runtime_error("bad tick");
      ++handled;
    }
  };
  PublishAll(*ring, 50, /*max_batch=*/8, /*seed=*/1);  // all there at once
  Lifecycle handler;
  std::atomic<bool> stop{false};
  EXPECT_EQ(consumer->Run(handler, stop), ConsumerState::kHalted);
  EXPECT_THAT(consumer->run_status(),
              StatusIs(absl::StatusCode::kAborted,
                       ::testing::AllOf(::testing::HasSubstr("'proc'"),
                                        ::testing::HasSubstr("sequence 40"),
                                        ::testing::HasSubstr("bad tick"))));
  EXPECT_EQ(handler.starts, 1);
  EXPECT_EQ(handler.shutdowns, 1);
  EXPECT_EQ(handler.largest_batch, 5);
  EXPECT_EQ(handler.handled, kFailAt);
  EXPECT_EQ(consumer->sequence(), kFailAt - 1);
  EXPECT_EQ(ConsumerStateName(ConsumerState::kHalted), "halted");
}

}  // namespace
}  // namespace ringflow::shm
