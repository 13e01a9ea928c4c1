// SharedEventNotifier: a consumer of a shared ring waits in epoll instead of
// a thread of its own. Checked by content: an epoll loop woken by a
// producer in another process reads exactly the events published; events
// published before Arm make it refuse to sleep; a disarmed busy consumer is
// never registered on the ring's futex (the producer pays no wake) and
// gets no eventfd write; an armed loop learns that the producer process was
// killed, or that it was evicted; Disarm and the destructor take an asleep
// helper out of its futex wait. Epoll timeouts are hang guards that fail
// the test, never synchronisation.

#include "ringflow/shm/shared_event_notifier.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
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
using ::ringflow::testing::FillShmEvent;
using ::ringflow::testing::FindSlot;
using ::ringflow::testing::kShmEventTag;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::ShmEvent;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::StreamCheck;
using ::ringflow::testing::UniqueRingName;
using ::ringflow::testing::WaitUntil;
using ::ringflow::testing::Watchdog;
using ::testing::HasSubstr;

using Ring = SharedRing<ShmEvent>;
using Consumer = SharedConsumer<ShmEvent>;
using Notifier = SharedEventNotifier<ShmEvent>;

// Hang guards: far above any expected duration; exceeding one fails.
constexpr absl::Duration kGuard = absl::Seconds(60);
constexpr int kEpollGuardMs = 10'000;

// An epoll instance watching one fd for reading.
class Epoll {
 public:
  explicit Epoll(int fd) : ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    EXPECT_EQ(::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &e), 0);
  }
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;
  ~Epoll() { ::close(ep_); }

  // How many fds are readable within `timeout_ms` (0: right now).
  int Wait(int timeout_ms) {
    epoll_event e{};
    int n;
    do {
      n = ::epoll_wait(ep_, &e, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    return n;
  }

 private:
  const int ep_;
};

SharedConsumerOptions ConsumerOptions() {
  SharedConsumerOptions options;
  options.name = "loop";
  options.type_tag = kShmEventTag;
  return options;
}

// A ring of this process (the producer here), blocking by default.
std::unique_ptr<Ring> MakeRing(
    const std::string& name, int64_t capacity,
    WaitStrategyKind wait = WaitStrategyKind::kBlocking) {
  SharedRingOptions options;
  options.ring.name = name;
  options.ring.capacity = capacity;
  options.ring.producer_type = ProducerType::kSingle;
  options.ring.wait_strategy = wait;
  auto ring = Ring::Create(options, kShmEventTag);
  EXPECT_OK(ring.status());
  return ring.ok() ? std::move(ring).value() : nullptr;
}

// `shm_child produce` for `name`, after its "created" line; it publishes
// `count` events at "go" and lives until killed or its stdin closes.
std::optional<ChildProcess> StartProducer(const std::string& name,
                                          int64_t capacity, int64_t count) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
      {RINGFLOW_SHM_CHILD, "produce", "ring=" + name,
       "capacity=" + std::to_string(capacity), "producer=single",
       "count=" + std::to_string(count)});
  if (!child.ok()) {
    ADD_FAILURE() << "cannot start " << RINGFLOW_SHM_CHILD << ": "
                  << child.status();
    return std::nullopt;
  }
  std::string skipped;
  if (!child->ReadLineStartingWith("created", kGuard, &skipped)) {
    ADD_FAILURE() << "producer did not start: " << skipped;
    return std::nullopt;
  }
  return std::move(*child);
}

// Polls everything available into `check`; how many events were read.
int64_t PollAll(Consumer& consumer, StreamCheck& check) {
  const int64_t before = check.count;
  while (consumer.Poll([&](const ShmEvent& event, int64_t sequence, bool) {
    check.Add(event, sequence);
  }) == PollState::kProcessing) {
  }
  return check.count - before;
}

void ExpectExactly(const StreamCheck& check, int64_t first, int64_t last) {
  EXPECT_EQ(check.count, last - first + 1) << check.ToString();
  EXPECT_EQ(check.first, first) << check.ToString();
  EXPECT_EQ(check.last, last) << check.ToString();
  EXPECT_EQ(check.checksum, ChecksumOf(first, last)) << check.ToString();
  EXPECT_EQ(check.order_violations, 0) << check.ToString();
  EXPECT_EQ(check.content_violations, 0) << check.ToString();
}

// Kills the process if a destructor or Disarm hangs: the test cannot go
// on, and a hung ctest run says less than this message.
Watchdog HangGuard(const char* what) {
  return Watchdog(kGuard, [what] {
    std::fprintf(stderr, "hang guard: %s did not return\n", what);
    std::_Exit(1);
  });
}

// The number of threads registered as asleep on the ring's futex: what the
// producer reads on every publish (non-zero: a wake syscall).
uint32_t Sleepers(const Consumer& consumer) {
  return consumer.control().wakeup().Waiters();
}

// ---- 1: a producer in another process wakes the epoll loop -----------------

TEST(SharedEventNotifierTest,
     AProducerProcessWakesAnEpollLoopThatReadsEveryEvent) {
  // A small ring: the child's 10,000 events come in bursts of at most 64
  // (it blocks while the loop is behind), so the loop arms again and again.
  const int64_t n = 10'000;
  const std::string name = UniqueRingName("nfy1");
  RingRemover remover(name);
  std::optional<ChildProcess> producer = StartProducer(name, 64, n);
  ASSERT_TRUE(producer.has_value());
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  ASSERT_EQ(consumer->sequence(), -1);
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());
  ASSERT_TRUE(producer->WriteLine("go"));
  StreamCheck check;
  int64_t slept = 0;  // epoll_waits that ended with the fd readable
  while (check.count < n) {
    PollAll(*consumer, check);
    if (check.count >= n) break;
    if (notifier->Arm()) {
      ASSERT_EQ(epoll.Wait(kEpollGuardMs), 1)
          << "a publish did not wake the loop after " << check.ToString();
      ++slept;
    }
    notifier->Disarm();
    ASSERT_EQ(notifier->state(), ConsumerState::kOk);
  }
  ExpectExactly(check, 0, n - 1);
  // Every eventfd write woke one epoll_wait, and each woke for one.
  EXPECT_EQ(notifier->wakes(), static_cast<uint64_t>(slept));
  EXPECT_GE(slept, 1);
  std::string skipped;
  const std::optional<std::string> done =
      producer->ReadLineStartingWith("done", kGuard, &skipped);
  ASSERT_TRUE(done.has_value()) << skipped;
  EXPECT_EQ(testing::Fields(*done).Int("cursor"), n - 1) << *done;
  producer->CloseStdin();
  const int status = producer->WaitOrKill(kGuard);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << DescribeWaitStatus(status);
}

// ---- 2: no lost wakeup
// -------------------------------------------------------

TEST(SharedEventNotifierTest, ArmRefusesToSleepWhenEventsAreAlreadyPublished) {
  const std::string name = UniqueRingName("nfy2");
  RingRemover remover(name);
  auto ring = MakeRing(name, 64);
  ASSERT_NE(ring, nullptr);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());

  ASSERT_TRUE(ring->PublishEvents(3, FillShmEvent));
  EXPECT_FALSE(notifier->Arm());  // events are there: poll, do not sleep
  notifier->Disarm();
  EXPECT_EQ(epoll.Wait(0), 0);  // nothing was written for them
  StreamCheck check;
  EXPECT_EQ(PollAll(*consumer, check), 3);

  ASSERT_TRUE(notifier->Arm());  // drained: may sleep
  ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  ASSERT_EQ(epoll.Wait(kEpollGuardMs), 1) << "the publish after Arm was lost";
  notifier->Disarm();
  EXPECT_EQ(epoll.Wait(0), 0);  // drained
  EXPECT_EQ(PollAll(*consumer, check), 1);
  ExpectExactly(check, 0, 3);
  EXPECT_EQ(notifier->wakes(), 1u);
  EXPECT_EQ(notifier->state(), ConsumerState::kOk);
}

// Publishes racing Arm from another thread: every epoll_wait after a true
// Arm must end with the fd readable (else a wakeup was lost and the guard
// fails the test), and the loop reads every event exactly once.
TEST(SharedEventNotifierTest, NoWakeupIsLostWhenPublishesRaceArm) {
  const int64_t n = Events(20'000);
  const std::string name = UniqueRingName("nfy2r");
  RingRemover remover(name);
  auto ring = MakeRing(name, 256);
  ASSERT_NE(ring, nullptr);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());
  std::thread producer([&ring, n] {
    std::mt19937_64 random(7);
    for (int64_t i = 0; i < n; ++i) {
      if (!ring->PublishEvent(FillShmEvent)) return;
      if (random() % 16 == 0) std::this_thread::yield();  // vary the race
    }
  });
  StreamCheck check;
  int64_t slept = 0;
  bool lost = false;
  while (check.count < n && !lost) {
    PollAll(*consumer, check);
    if (check.count >= n) break;
    if (notifier->Arm()) {
      lost = epoll.Wait(kEpollGuardMs) != 1;
      slept += lost ? 0 : 1;
    }
    notifier->Disarm();
  }
  if (lost) ring->Halt();  // release a producer blocked on the full ring
  producer.join();
  ASSERT_FALSE(lost) << "lost wakeup after " << check.ToString();
  ExpectExactly(check, 0, n - 1);
  EXPECT_EQ(notifier->wakes(), static_cast<uint64_t>(slept));
}

// ---- 3: nobody armed, nothing paid
// -------------------------------------------

TEST(SharedEventNotifierTest, ADisarmedBusyConsumerCostsTheProducerNoWake) {
  const std::string name = UniqueRingName("nfy3");
  RingRemover remover(name);
  auto ring = MakeRing(name, 1024);
  ASSERT_NE(ring, nullptr);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());
  StreamCheck check;

  // One armed round first, so the helper has run and gone idle.
  ASSERT_TRUE(notifier->Arm());
  ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  ASSERT_EQ(epoll.Wait(kEpollGuardMs), 1);
  notifier->Disarm();
  ASSERT_EQ(PollAll(*consumer, check), 1);
  ASSERT_EQ(notifier->wakes(), 1u);

  // Then a busy consumer that never arms: 200 bursts of 50.
  int64_t not_zero = 0;  // publishes that found a sleeper registered
  for (int burst = 0; burst < 200; ++burst) {
    for (int i = 0; i < 50; ++i) {
      not_zero += Sleepers(*consumer) != 0 ? 1 : 0;
      ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
    }
    ASSERT_EQ(PollAll(*consumer, check), 50);
  }
  EXPECT_EQ(not_zero, 0) << "the disarmed helper was registered on the futex";
  EXPECT_EQ(notifier->wakes(), 1u);  // no eventfd write while disarmed
  EXPECT_EQ(epoll.Wait(0), 0);
  ExpectExactly(check, 0, 10'000);
}

// ---- 4: the producer process dies while the loop sleeps
// ----------------------

TEST(SharedEventNotifierTest,
     AnArmedLoopLearnsThatTheProducerProcessWasKilled) {
  const std::string name = UniqueRingName("nfy4");
  RingRemover remover(name);
  std::optional<ChildProcess> producer = StartProducer(name, 64, 0);
  ASSERT_TRUE(producer.has_value());
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());
  ASSERT_TRUE(notifier->Arm());
  // The helper is asleep on the futex (hang guard, not a timing step).
  ASSERT_TRUE(WaitUntil([&] { return Sleepers(*consumer) == 1; }, kGuard));
  ASSERT_TRUE(producer->Kill(SIGKILL));
  const int status = producer->WaitOrKill(kGuard);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << DescribeWaitStatus(status);
  ASSERT_EQ(epoll.Wait(kEpollGuardMs), 1) << "the loop was not told";
  notifier->Disarm();
  EXPECT_EQ(notifier->state(), ConsumerState::kProducerGone);
  EXPECT_EQ(notifier->wakes(), 1u);
  EXPECT_EQ(Sleepers(*consumer), 0u);
  // It stays gone: Arm will not let the loop sleep on a dead ring.
  EXPECT_FALSE(notifier->Arm());
  notifier->Disarm();
  EXPECT_EQ(notifier->state(), ConsumerState::kProducerGone);
}

// The producer's eviction, done by hand on an armed consumer (in this
// process a producer never evicts its own consumers for silence, and an
// armed consumer holds nobody back): the slot turns kEvicted, then the
// futex is woken, as housekeeping does.
TEST(SharedEventNotifierTest, AnArmedLoopLearnsThatItWasEvicted) {
  const std::string name = UniqueRingName("nfy4e");
  RingRemover remover(name);
  auto ring = MakeRing(name, 64);
  ASSERT_NE(ring, nullptr);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());
  ASSERT_TRUE(notifier->Arm());
  ASSERT_TRUE(WaitUntil([&] { return Sleepers(*consumer) == 1; }, kGuard));
  const int index = FindSlot(ring->control(), "loop");
  ASSERT_GE(index, 0);
  // The slot table is in the read-write control segment; the const view is
  // what the ring hands out.
  auto& slot =
      const_cast<shm_internal::ConsumerSlot&>(ring->control().slot(index));
  uint32_t word = slot.state.load(std::memory_order_acquire);
  ASSERT_TRUE(slot.state.compare_exchange_strong(
      word,
      shm_internal::ConsumerSlot::Word(
          shm_internal::ConsumerSlot::GenerationOf(word),
          shm_internal::ConsumerSlot::kEvicted),
      std::memory_order_acq_rel));
  ring->control().wakeup().WakeAll();
  ASSERT_EQ(epoll.Wait(kEpollGuardMs), 1) << "the loop was not told";
  notifier->Disarm();
  EXPECT_EQ(notifier->state(), ConsumerState::kEvicted);
  EXPECT_EQ(notifier->wakes(), 1u);
  EXPECT_FALSE(notifier->Arm());
  notifier->Disarm();
}

// ---- Disarm and destruction take the helper out of its sleep ----------------

TEST(SharedEventNotifierTest,
     DisarmWithoutEventsWakesTheHelperAndTakesTheConsumerBack) {
  const std::string name = UniqueRingName("nfyd");
  RingRemover remover(name);
  auto ring = MakeRing(name, 64);
  ASSERT_NE(ring, nullptr);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());
  StreamCheck check;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(notifier->Arm());
    ASSERT_TRUE(WaitUntil([&] { return Sleepers(*consumer) == 1; }, kGuard));
    {
      Watchdog guard = HangGuard("Disarm of an asleep helper");
      notifier->Disarm();  // the loop woke for another fd
    }
    EXPECT_EQ(Sleepers(*consumer), 0u);  // the producer pays nothing now
    // Disarmed: a publish writes nothing, and the loop reads it itself.
    ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
    EXPECT_EQ(epoll.Wait(0), 0);
    EXPECT_EQ(PollAll(*consumer, check), 1);
  }
  EXPECT_EQ(notifier->wakes(), 0u);
  ExpectExactly(check, 0, 19);
}

TEST(SharedEventNotifierTest, DestroyingAnArmedNotifierJoinsItsThread) {
  const std::string name = UniqueRingName("nfy5");
  RingRemover remover(name);
  auto ring = MakeRing(name, 64);
  ASSERT_NE(ring, nullptr);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
    ASSERT_TRUE(notifier->Arm());
    // Odd rounds: the helper is surely asleep on the futex; even rounds:
    // wherever it is right after Arm.
    if (round % 2 == 1) {
      ASSERT_TRUE(WaitUntil([&] { return Sleepers(*consumer) == 1; }, kGuard));
    }
    {
      Watchdog guard = HangGuard("~SharedEventNotifier while armed");
      notifier.reset();
    }
    EXPECT_EQ(Sleepers(*consumer), 0u);  // unregistered on the way out
  }
  // The consumer is still usable: a new notifier wakes for a publish.
  ASSERT_OK_AND_ASSIGN(auto notifier, Notifier::Create(*consumer));
  Epoll epoll(notifier->fd());
  ASSERT_TRUE(notifier->Arm());
  ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  ASSERT_EQ(epoll.Wait(kEpollGuardMs), 1);
  notifier->Disarm();
  StreamCheck check;
  EXPECT_EQ(PollAll(*consumer, check), 1);
  ExpectExactly(check, 0, 0);
}

// ---- setup errors
// ------------------------------------------------------------

TEST(SharedEventNotifierTest, RefusesARingWhoseProducerNeverWakesSleepers) {
  const std::string name = UniqueRingName("nfyy");
  RingRemover remover(name);
  auto ring = MakeRing(name, 64, WaitStrategyKind::kYielding);
  ASSERT_NE(ring, nullptr);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       Consumer::Attach(name, ConsumerOptions()));
  EXPECT_THAT(Notifier::Create(*consumer),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_strategy yielding")));
}

}  // namespace
}  // namespace ringflow::shm
