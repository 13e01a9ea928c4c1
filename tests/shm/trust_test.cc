// tests/shm/trust_test.cc
//
// Shared memory as a trust boundary (issue 11): what a hostile or careless
// process can do to /dev/shm, and what ringflow answers. Each test names the
// issue item it pins; each failed on the code before the fix.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/layout.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "support/shm_event.h"
#include "support/shm_files.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow::shm {
namespace {

using ::ringflow::shm_internal::Segment;
using ::ringflow::testing::ChildProcess;
using ::ringflow::testing::DescribeWaitStatus;
using ::ringflow::testing::Fields;
using ::ringflow::testing::FillShmEvent;
using ::ringflow::testing::kShmEventTag;
using ::ringflow::testing::PayloadOf;
using ::ringflow::testing::PlantSegment;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::ShmEvent;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::UniqueRingName;
using ::testing::AllOf;
using ::testing::HasSubstr;

using Ring = SharedRing<ShmEvent>;

struct OtherEvent {
  int64_t a, b, c;
};

constexpr absl::Duration kGuard = absl::Seconds(60);

SharedRingOptions OptionsFor(const std::string& name, int64_t capacity = 64,
                             int max_consumers = 4) {
  SharedRingOptions options;
  options.ring.name = name;
  options.ring.capacity = capacity;
  options.ring.max_consumers = max_consumers;
  return options;
}

SharedConsumerOptions ConsumerOptions() {
  SharedConsumerOptions options;
  options.type_tag = kShmEventTag;
  return options;
}

// Starts `shm_child produce` for `name` and waits for its "created" line;
// the ring then has a live producer until the child is killed or its stdin
// closes.
std::optional<ChildProcess> StartProducer(const std::string& name,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {RINGFLOW_SHM_CHILD, "produce",
                                   "ring=" + name, "capacity=64",
                                   "max_consumers=4"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(argv);
  if (!child.ok()) return std::nullopt;
  std::string skipped;
  if (!child->ReadLineStartingWith("created", kGuard, &skipped)) {
    ADD_FAILURE() << "producer did not start: " << skipped;
    return std::nullopt;
  }
  return std::move(*child);
}

// Polls everything available, checking each event's content; returns how
// many were read.
int64_t PollChecked(SharedConsumer<ShmEvent>& consumer) {
  int64_t read = 0;
  consumer.Poll([&](const ShmEvent& e, int64_t sequence, bool) {
    EXPECT_EQ(e.sequence, sequence);
    EXPECT_EQ(e.payload, PayloadOf(sequence));
    ++read;
    return true;
  });
  return read;
}

// Leaves `name` as a ring whose producer is gone (it exited).
void LeaveDeadRing(const std::string& name,
                   std::vector<std::string> extra = {}) {
  std::optional<ChildProcess> producer = StartProducer(name, std::move(extra));
  ASSERT_TRUE(producer.has_value());
  producer->CloseStdin();
  producer->WaitOrKill(kGuard);
}

// ---- item 1: ownership and mode --------------------------------------------

TEST(ShmTrustTest, ResumeRefusesARingWhoseModeIsWiderThanRequested) {
  const std::string name = UniqueRingName("mode");
  RingRemover remover(name);
  LeaveDeadRing(name, {"mode=432"});  // 0660
  EXPECT_THAT(Ring::Create(OptionsFor(name), kShmEventTag),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("0660"), HasSubstr("0600"))));
  SharedRingOptions options = OptionsFor(name);
  options.mode = 0660;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  EXPECT_TRUE(ring->resumed());
}

// ---- item 2: Create never replaces what it cannot validate -----------------

TEST(ShmTrustTest, CreateOfAnotherTypeLeavesALiveRingUntouched) {
  const std::string name = UniqueRingName("live");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(OptionsFor(name), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<ShmEvent>::Attach(name, ConsumerOptions()));
  for (const char* tag : {"other-tag", kShmEventTag}) {
    EXPECT_THAT(
        SharedRing<OtherEvent>::Create(OptionsFor(name), tag),
        StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("live producer")));
  }
  EXPECT_THAT(Ring::Create(OptionsFor(name), "other-tag"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // The live ring still works end to end, and a new consumer still joins.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  EXPECT_EQ(PollChecked(*consumer), 50);
  EXPECT_OK(SharedConsumer<ShmEvent>::Attach(name, ConsumerOptions()).status());
}

TEST(ShmTrustTest, CreateOfAnotherTypeKeepsADeadRing) {
  const std::string name = UniqueRingName("dead");
  RingRemover remover(name);
  LeaveDeadRing(name);
  EXPECT_THAT(SharedRing<OtherEvent>::Create(OptionsFor(name), kShmEventTag),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr("event size"), HasSubstr("rm"))));
  EXPECT_OK(shm_internal::Control::Inspect(name).status())
      << "the dead ring was removed";
}

TEST(ShmTrustTest, CreateNeverDeletesAFileThatIsNotARing) {
  const std::string name = UniqueRingName("file");
  RingRemover remover(name);
  {
    ASSERT_OK_AND_ASSIGN(
        Segment file,
        PlantSegment(shm_internal::ControlSegmentName(name), 4096, 0600));
    std::memcpy(file.data(), "precious", 8);
  }
  EXPECT_THAT(Ring::Create(OptionsFor(name), kShmEventTag),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr(name), HasSubstr("magic"))));
  ASSERT_OK_AND_ASSIGN(Segment file,
                       Segment::Open(shm_internal::ControlSegmentName(name),
                                     Segment::Access::kReadOnly));
  EXPECT_EQ(std::memcmp(file.data(), "precious", 8), 0);
  EXPECT_THAT(shm_internal::Control::Remove(name),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a ringflow ring")));
}

// ---- item 3: segment names cannot collide ----------------------------------

TEST(ShmTrustTest, ARingNamedLikeAnotherRingsDataSegmentIsIndependent) {
  const std::string name = UniqueRingName("col");
  const std::string twin = name.substr(0, kMaxNameLength - 5) + ".data";
  RingRemover remover(name);
  RingRemover twin_remover(twin);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(OptionsFor(name), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(auto other,
                       Ring::Create(OptionsFor(twin, 128), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<ShmEvent>::Attach(name, ConsumerOptions()));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
    ASSERT_TRUE(other->PublishEvent([](ShmEvent& e, int64_t) {
      e.sequence = -7;
      e.payload = 7;
    }));
  }
  EXPECT_EQ(PollChecked(*consumer), 50);
  EXPECT_EQ(consumer->state(), ConsumerState::kOk);
}

TEST(ShmTrustTest, AttachRefusesADataSegmentOfAnotherRing) {
  const std::string a = UniqueRingName("ida");
  const std::string b = UniqueRingName("idb");
  RingRemover remove_a(a);
  RingRemover remove_b(b);
  ASSERT_OK_AND_ASSIGN(auto ring_a, Ring::Create(OptionsFor(a), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(auto ring_b, Ring::Create(OptionsFor(b), kShmEventTag));
  // Same geometry, other ring: put b's data segment under a's data name.
  ASSERT_EQ(
      ::rename(shm_internal::ShmPath(shm_internal::DataSegmentName(b)).c_str(),
               shm_internal::ShmPath(shm_internal::DataSegmentName(a)).c_str()),
      0);
  EXPECT_THAT(SharedConsumer<ShmEvent>::Attach(a, ConsumerOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(a), HasSubstr("belongs to ring"))));
}

// ---- item 4: exactly one producer ------------------------------------------

TEST(ShmTrustTest, ASecondCreateInTheSameProcessIsAlreadyExists) {
  const std::string name = UniqueRingName("twice");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto first,
                       Ring::Create(OptionsFor(name), kShmEventTag));
  EXPECT_THAT(
      Ring::Create(OptionsFor(name), kShmEventTag),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("this process")));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(first->PublishEvent(FillShmEvent));
  EXPECT_EQ(first->Cursor(), 4);
}

TEST(ShmTrustTest, OfTwoRacingCreatorsExactlyOneWins) {
  const int kPairs = 200;
  int both = 0, neither = 0, resumed = 0;
  std::vector<std::string> errors;
  for (int pair = 0; pair < kPairs; ++pair) {
    const std::string name = UniqueRingName("race");
    RingRemover remover(name);
    std::vector<ChildProcess> racers;
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<ChildProcess> racer = ChildProcess::Spawn(
          {RINGFLOW_SHM_CHILD, "create-race", "ring=" + name});
      ASSERT_TRUE(racer.ok());
      racers.push_back(std::move(*racer));
    }
    for (auto& racer : racers) racer.WriteLine("go");
    int won = 0;
    for (auto& racer : racers) {
      std::optional<std::string> line =
          racer.ReadLineStartingWith("status", kGuard);
      ASSERT_TRUE(line.has_value());
      const std::string code = Fields(*line).Get("code");
      if (code == "OK") {
        ++won;
        std::optional<std::string> how =
            racer.ReadLineStartingWith("resumed", kGuard);
        ASSERT_TRUE(how.has_value());
        resumed += *how == "resumed=1";
      } else if (code != "ALREADY_EXISTS") {
        errors.push_back(*line);
      }
    }
    both += won == 2;
    neither += won == 0;
    for (auto& racer : racers) {
      racer.CloseStdin();
      racer.WaitOrKill(kGuard);
    }
  }
  EXPECT_EQ(both, 0) << "pairs where both creators won";
  EXPECT_EQ(neither, 0) << "pairs where neither won";
  EXPECT_EQ(resumed, 0) << "winners that resumed instead of creating";
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

// ---- item 5: a full tmpfs is an error, not SIGBUS --------------------------

// Runs `shm_child tiny-tmpfs <args>` (its own mount namespace with a 1 MiB
// tmpfs on /dev/shm); skips when the namespace cannot be made here.
class ShmTinyTmpfsTest : public ::testing::Test {
 protected:
  std::vector<std::string> Run(std::vector<std::string> args, int* status) {
    std::vector<std::string> argv = {RINGFLOW_SHM_CHILD, "tiny-tmpfs"};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(argv);
    EXPECT_TRUE(child.ok());
    if (!child.ok()) return {};
    std::vector<std::string> lines;
    while (std::optional<std::string> line = child->ReadLine(kGuard)) {
      lines.push_back(*line);
    }
    *status = child->WaitOrKill(kGuard);
    return lines;
  }
};

TEST_F(ShmTinyTmpfsTest, CreateIsResourceExhaustedNamingTheBytes) {
  int status = 0;
  const std::vector<std::string> lines = Run({"capacity=65536"}, &status);
  ASSERT_FALSE(lines.empty()) << DescribeWaitStatus(status);
  if (lines[0].starts_with("skip")) GTEST_SKIP() << lines[0];
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << DescribeWaitStatus(status) << " " << ::testing::PrintToString(lines);
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_THAT(lines[0],
              AllOf(HasSubstr("RESOURCE_EXHAUSTED"),
                    HasSubstr("needs 1052672 bytes"), HasSubstr("bytes free")));
  EXPECT_EQ(lines[1], "leftover files=0");
}

TEST_F(ShmTinyTmpfsTest, ARingThatFitsIsUsedToTheLastSlot) {
  int status = 0;
  const std::vector<std::string> lines = Run({"capacity=1024"}, &status);
  ASSERT_FALSE(lines.empty()) << DescribeWaitStatus(status);
  if (lines[0].starts_with("skip")) GTEST_SKIP() << lines[0];
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);
  EXPECT_THAT(lines[0], HasSubstr("code=OK"));
  EXPECT_EQ(lines[1], "published 1024");
  EXPECT_EQ(lines[2], "leftover files=0");
}

TEST_F(ShmTinyTmpfsTest, TheDemoFailsWithAMessageNotSigbus) {
  int status = 0;
  const std::vector<std::string> lines =
      Run({std::string("exec=") + RINGFLOW_TOOL}, &status);
  ASSERT_FALSE(lines.empty()) << DescribeWaitStatus(status);
  if (lines[0].starts_with("skip")) GTEST_SKIP() << lines[0];
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0)
      << DescribeWaitStatus(status) << " " << ::testing::PrintToString(lines);
}

// ---- item 6: no shared header field steers an index after attach -----------

// A process that can map the control segment rewrites header fields (and
// the counters block header and slot counter indexes) at random while a
// producer and a consumer run through many laps. Both keep going with
// exactly the stream they would have had: every value they index with was
// validated once and kept in private memory. (Before: max_consumers = 1000
// overflowed the producer's gating scan, slots_offset = 2^40 crashed its
// housekeeping thread.) Attaches made between writes get a Status.
TEST(ShmLiveHeaderFuzzTest, RandomHeaderWritesWhileRunningSteerNothing) {
  const std::string name = UniqueRingName("fuzz");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(OptionsFor(name), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<ShmEvent>::Attach(name, ConsumerOptions()));
  ASSERT_OK_AND_ASSIGN(Segment writer,
                       Segment::Open(shm_internal::ControlSegmentName(name),
                                     Segment::Access::kReadWrite));
  const shm_internal::RingGeometry geometry = ring->control().geometry();
  auto* bytes = static_cast<unsigned char*>(writer.data());
  std::vector<unsigned char> pristine(
      bytes, bytes + sizeof(shm_internal::ControlHeader));

  const int64_t kEvents = ringflow::testing::Events(400'000);
  std::atomic<bool> consumer_done{false};
  int64_t read = 0, bad = 0;
  std::thread reader([&] {
    while (read < kEvents) {
      if (consumer->WaitForEvents(absl::Seconds(30)) != ConsumerState::kOk) {
        break;
      }
      consumer->Poll([&](const ShmEvent& e, int64_t sequence, bool) {
        bad += e.sequence != sequence || e.payload != PayloadOf(sequence) ||
               sequence != read;
        ++read;
        return true;
      });
    }
    consumer_done.store(true, std::memory_order_release);
  });
  std::thread producer([&] {
    for (int64_t i = 0; i < kEvents; ++i) {
      if (!ring->PublishEvent(FillShmEvent)) return;
    }
  });

  // Header fields that used to steer something, at their offsets.
  struct Field {
    size_t offset, size;
  };
  const Field targets[] = {
      {offsetof(shm_internal::ControlHeader, capacity), 8},
      {offsetof(shm_internal::ControlHeader, max_consumers), 4},
      {offsetof(shm_internal::ControlHeader, producer_type), 4},
      {offsetof(shm_internal::ControlHeader, wait_strategy), 4},
      {offsetof(shm_internal::ControlHeader, slots_offset), 8},
      {offsetof(shm_internal::ControlHeader, counters_offset), 8},
      {offsetof(shm_internal::ControlHeader, counters_bytes), 8},
      {offsetof(shm_internal::ControlHeader, control_bytes), 8},
      {offsetof(shm_internal::ControlHeader, consumer_timeout_ns), 8},
      {offsetof(shm_internal::ControlHeader, max_stall_ns), 8},
      {offsetof(shm_internal::ControlHeader, event_size), 8},
      {geometry.layout.counters_offset + 12, 4},  // counters capacity
  };
  std::mt19937_64 random(20261206);
  int attaches = 0, refused = 0;
  for (int round = 0; !consumer_done.load(std::memory_order_acquire); ++round) {
    const Field& f = targets[random() % std::size(targets)];
    const uint64_t value = round % 3 == 0
                               ? uint64_t{1} << (random() % 48)
                               : (round % 3 == 1 ? uint64_t{1000} : random());
    std::memcpy(bytes + f.offset, &value, f.size);  // little-endian low bytes
    if (round % 64 == 0) {
      // A newcomer validates what it finds: a Status either way, never a
      // crash (it may attach when the write happened to be harmless).
      SharedConsumerOptions options = ConsumerOptions();
      options.attach_timeout = absl::Milliseconds(1);
      const absl::Status attached =
          SharedConsumer<ShmEvent>::Attach(name, options).status();
      ++attaches;
      refused += !attached.ok();
      if (!attached.ok()) {
        EXPECT_FALSE(attached.message().empty());
      }
      std::memcpy(bytes, pristine.data(), pristine.size());
    }
    if (round % 1024 == 1023) std::this_thread::yield();
  }
  producer.join();
  reader.join();
  EXPECT_EQ(read, kEvents);
  EXPECT_EQ(bad, 0);
  EXPECT_GT(attaches, 0);
  EXPECT_GT(refused, 0);
}

// ---- item 7: a tool notices truncation before it reads ----------------------

TEST(ShmTrustTest, CheckIntactNamesATruncatedOrRemovedSegment) {
  const std::string name = UniqueRingName("trunc");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(OptionsFor(name), kShmEventTag));
  ASSERT_OK_AND_ASSIGN(auto tool, shm_internal::Control::Inspect(name));
  EXPECT_OK(tool->CheckIntact());
  // The producer goes first: its housekeeping thread would touch the
  // truncated pages (SIGBUS) while the tool below checks them.
  ring.reset();
  ASSERT_EQ(
      ::truncate(
          shm_internal::ShmPath(shm_internal::ControlSegmentName(name)).c_str(),
          0),
      0);
  EXPECT_THAT(tool->CheckIntact(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(name), HasSubstr("truncated"))));
  ASSERT_OK(shm_internal::Control::Remove(name, /*force=*/true));
  EXPECT_THAT(tool->CheckIntact(), StatusIs(absl::StatusCode::kNotFound));
}

// ---- item 8: a consumer cannot move the producer's cursor -------------------

template <typename T>
constexpr bool kReadOnly = std::is_const_v<std::remove_reference_t<T>>;
using ConsumerControl =
    decltype(std::declval<const SharedConsumer<ShmEvent>&>().control());
static_assert(kReadOnly<ConsumerControl>, "a consumer's view is read-only");
static_assert(
    kReadOnly<decltype(std::declval<ConsumerControl>().cursor())> &&
        kReadOnly<decltype(std::declval<ConsumerControl>().slot(0))> &&
        kReadOnly<decltype(std::declval<ConsumerControl>().gate())> &&
        kReadOnly<decltype(std::declval<ConsumerControl>().liveness())> &&
        kReadOnly<decltype(std::declval<ConsumerControl>().header())>,
    "nothing reached through SharedConsumer::control() is writable");

// ---- item 9: an attacher killed inside the join leaks no slot ---------------

TEST(ShmTrustTest, AttachersKilledInsideTheJoinLeaveNoSlotBehind) {
  const std::string name = UniqueRingName("park");
  RingRemover remover(name);
  const int kSlots = 4;
  ASSERT_OK_AND_ASSIGN(
      auto ring, Ring::Create(OptionsFor(name, 64, kSlots), kShmEventTag));
  for (int i = 0; i < kSlots; ++i) {
    absl::StatusOr<ChildProcess> parked = ChildProcess::Spawn(
        {RINGFLOW_SHM_CHILD, "park-attach", "ring=" + name});
    ASSERT_TRUE(parked.ok());
    ASSERT_TRUE(parked->ReadLineStartingWith("parked", kGuard).has_value());
    parked->Kill(SIGKILL);
    parked->WaitOrKill(kGuard);
  }
  std::vector<std::unique_ptr<SharedConsumer<ShmEvent>>> consumers;
  for (int i = 0; i < kSlots; ++i) {
    ASSERT_OK_AND_ASSIGN(auto consumer, SharedConsumer<ShmEvent>::Attach(
                                            name, ConsumerOptions()));
    consumers.push_back(std::move(consumer));
  }
}

// ---- item 10: a dead producer is seen on every consumer path ----------------

// kill -9 of the producer, then each read path in turn until it reports the
// producer gone; the detection times (kill to report) are printed as
// p50 / p99 / max for docs/shared-memory.md. The test checks only that every
// path reports it (no timing assertion).
TEST(ShmTrustTest, EveryConsumerPathReportsADeadProducer) {
  const int kTrials = ringflow::testing::kScale > 1 ? 12 : 52;
  std::vector<int64_t> detect_us;
  const char* kPaths[] = {"wait", "poll", "lease", "run"};
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::string path = kPaths[trial % 4];
    SCOPED_TRACE("trial " + std::to_string(trial) + " path " + path);
    const std::string name = UniqueRingName("gone");
    RingRemover remover(name);
    std::optional<ChildProcess> producer = StartProducer(name);
    ASSERT_TRUE(producer.has_value());
    ASSERT_OK_AND_ASSIGN(auto consumer, SharedConsumer<ShmEvent>::Attach(
                                            name, ConsumerOptions()));
    // Make the consumer's liveness schedule as stale as a busy reader's.
    (void)consumer->state();
    ASSERT_TRUE(producer->Kill(SIGKILL));
    producer->WaitOrKill(kGuard);
    const absl::Time killed = absl::Now();
    const absl::Time deadline = killed + kGuard;
    ConsumerState seen = ConsumerState::kOk;
    if (path == "wait") {
      while (seen != ConsumerState::kProducerGone && absl::Now() < deadline) {
        seen = consumer->WaitForEvents(absl::Seconds(1));
      }
    } else if (path == "run") {
      struct Handler {
        void OnEvent(const ShmEvent&, int64_t, bool) {}
      } handler;
      std::atomic<bool> stop{false};
      seen = consumer->Run(handler, stop);
    } else {
      while (seen != ConsumerState::kProducerGone && absl::Now() < deadline) {
        if (path == "poll") {
          consumer->Poll([](const ShmEvent&, int64_t, bool) { return true; });
        } else {
          (void)consumer->TryLease();
        }
        seen = consumer->state();
      }
    }
    EXPECT_EQ(seen, ConsumerState::kProducerGone);
    detect_us.push_back(absl::ToInt64Microseconds(absl::Now() - killed));
  }
  std::sort(detect_us.begin(), detect_us.end());
  const auto at = [&](double q) {
    return detect_us[std::min(detect_us.size() - 1,
                              static_cast<size_t>(q * detect_us.size()))];
  };
  std::printf(
      "dead producer detected after kill -9 (%zu kills, us): p50 %lld "
      "p99 %lld max %lld\n",
      detect_us.size(), static_cast<long long>(at(0.5)),
      static_cast<long long>(at(0.99)),
      static_cast<long long>(detect_us.back()));
}

// ---- item 11: dead consumers' slots are reclaimed by the attacher ----------

// No producer runs (so no housekeeping evicts anyone): two consumers are
// killed in their active slots, and the next two attaches take those slots
// over at once instead of reporting every slot taken.
TEST(ShmTrustTest, AnAttacherTakesOverTheSlotsOfDeadConsumers) {
  const std::string name = UniqueRingName("full");
  RingRemover remover(name);
  LeaveDeadRing(name);
  {
    // Fill every slot with a live consumer.
    std::vector<ChildProcess> holders;
    for (int i = 0; i < 4; ++i) {
      absl::StatusOr<ChildProcess> holder =
          ChildProcess::Spawn({RINGFLOW_SHM_CHILD, "stall", "ring=" + name});
      ASSERT_TRUE(holder.ok());
      ASSERT_TRUE(holder->ReadLineStartingWith("ready", kGuard).has_value());
      holders.push_back(std::move(*holder));
    }
    EXPECT_THAT(SharedConsumer<ShmEvent>::Attach(name, ConsumerOptions()),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("live consumers")));
    for (ChildProcess& holder : holders) {
      holder.Kill(SIGKILL);
      holder.WaitOrKill(kGuard);
    }
  }
  std::vector<std::unique_ptr<SharedConsumer<ShmEvent>>> consumers;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(auto consumer, SharedConsumer<ShmEvent>::Attach(
                                            name, ConsumerOptions()));
    consumers.push_back(std::move(consumer));
  }
}

// ---- item 12: options that evict healthy consumers or open the ring --------

TEST(ShmTrustTest, OptionsThatWouldEvictIdleConsumersAreRefused) {
  const std::string name = UniqueRingName("opts");
  RingRemover remover(name);
  SharedRingOptions options = OptionsFor(name);
  options.consumer_timeout = absl::Milliseconds(150);
  EXPECT_THAT(Ring::Create(options, kShmEventTag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("150ms"), HasSubstr("heartbeat"))));
  options.consumer_timeout = absl::Milliseconds(400);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  SharedConsumerOptions consumer = ConsumerOptions();
  consumer.heartbeat_interval = absl::Milliseconds(250);
  EXPECT_THAT(SharedConsumer<ShmEvent>::Attach(name, consumer),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("250ms"), HasSubstr("400ms"))));
  consumer.heartbeat_interval = absl::Milliseconds(200);
  EXPECT_OK(SharedConsumer<ShmEvent>::Attach(name, consumer).status());
}

TEST(ShmTrustTest, AWorldWritableModeNeedsToBeAskedFor) {
  const std::string name = UniqueRingName("open");
  RingRemover remover(name);
  SharedRingOptions options = OptionsFor(name);
  for (uint32_t mode : {0666u, 0777u & ~0111u, 0602u}) {
    options.mode = mode;
    EXPECT_THAT(Ring::Create(options, kShmEventTag),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("world_writable")))
        << std::oct << mode;
  }
  options.mode = 0666;
  options.world_writable = true;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  struct stat st;
  ASSERT_EQ(
      ::stat(
          shm_internal::ShmPath(shm_internal::ControlSegmentName(name)).c_str(),
          &st),
      0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
}

// ---- items 17, 18 (library side): planted files and live rings -------------

TEST(ShmTrustTest, AFifoUnderARingsNameIsRefusedWithoutBlocking) {
  const std::string name = UniqueRingName("fifo");
  const std::string path =
      shm_internal::ShmPath(shm_internal::ControlSegmentName(name));
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_THAT(
      shm_internal::Control::Inspect(name),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("not a regular file"), HasSubstr("FIFO"))));
  EXPECT_THAT(
      SharedConsumer<ShmEvent>::Attach(name, ConsumerOptions()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("FIFO")));
  EXPECT_THAT(Ring::Create(OptionsFor(name), kShmEventTag),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("FIFO")));
  EXPECT_THAT(shm_internal::Control::Remove(name),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_OK(shm_internal::Control::Remove(name, /*force=*/true));
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST(ShmTrustTest, RemoveRefusesARingInUseNamingThePids) {
  const std::string name = UniqueRingName("inuse");
  RingRemover remover(name);
  std::optional<ChildProcess> producer = StartProducer(name);
  ASSERT_TRUE(producer.has_value());
  absl::StatusOr<ChildProcess> consumer =
      ChildProcess::Spawn({RINGFLOW_SHM_CHILD, "stall", "ring=" + name});
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE(consumer->ReadLineStartingWith("ready", kGuard).has_value());
  EXPECT_THAT(shm_internal::Control::Remove(name),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("producer pid " +
                                       std::to_string(producer->pid())),
                             HasSubstr(std::to_string(consumer->pid())))));
  EXPECT_OK(shm_internal::Control::Inspect(name).status());
  producer->Kill(SIGKILL);
  producer->WaitOrKill(kGuard);
  EXPECT_THAT(shm_internal::Control::Remove(name),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("consumer pids")));
  EXPECT_OK(shm_internal::Control::Remove(name, /*force=*/true));
  consumer->Kill(SIGKILL);
  consumer->WaitOrKill(kGuard);
}

// ---- issue 12: a producer's deadline forms on a shared ring
// ------------------

// A live consumer that stopped reading keeps the ring full: the deadline
// form gives the producer control back with nothing claimed. Once that
// consumer is killed, the same call's wait lets housekeeping evict it and
// the claim succeeds.
TEST(ShmDeadlineTest, ATimedClaimReturnsOnAStalledConsumerAndOutwaitsADeadOne) {
  const std::string name = UniqueRingName("deadline");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(OptionsFor(name), kShmEventTag));
  absl::StatusOr<ChildProcess> consumer = ChildProcess::Spawn(
      {RINGFLOW_SHM_CHILD, "stall", "ring=" + name, "name=stalled"});
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE(consumer->ReadLineStartingWith("ready", kGuard).has_value());
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  EXPECT_EQ(ring->Next(1, absl::Milliseconds(20)), std::nullopt);
  EXPECT_FALSE(ring->PublishEvent(FillShmEvent, absl::Milliseconds(20)));
  EXPECT_EQ(ring->Cursor(), 63);
  ASSERT_TRUE(consumer->Kill(SIGKILL));
  consumer->WaitOrKill(kGuard);
  EXPECT_TRUE(ring->PublishEvent(FillShmEvent, kGuard));
  EXPECT_EQ(ring->Cursor(), 64);
}

}  // namespace
}  // namespace ringflow::shm
