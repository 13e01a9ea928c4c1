// The byte ring in shared memory (issue 14): readers in other processes
// attached by name (shm_child byte-read) and in this one, broadcast, a
// producer killed inside a claim and restarted (its claim recovered as a
// skip record, counted), a killed reader evicted, wrong-kind attaches,
// foreign and truncated data segments, record headers rewritten under a
// reader, and a multi-producer ring read by another process. Every check
// is on content: each record's length and bytes, each producer's order,
// exact counts and byte sums. No sleep synchronises anything.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/record_header.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/shm/internal/byte_control.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/layout.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/shared_byte_reader.h"
#include "ringflow/shm/shared_byte_ring.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_record_processor.h"
#include "ringflow/shm/shared_ring.h"
#include "support/core_test_util.h"
#include "support/shm_bytes.h"
#include "support/shm_event.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"

namespace ringflow::shm {
namespace {

using ::ringflow::testing::ByteRecord;
using ::ringflow::testing::ByteStreamCheck;
using ::ringflow::testing::ChildProcess;
using ::ringflow::testing::DescribeWaitStatus;
using ::ringflow::testing::Fields;
using ::ringflow::testing::FindSlot;
using ::ringflow::testing::kShmEventTag;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::ShmEvent;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::UniqueRingName;
using ::ringflow::testing::WaitUntil;
using ::ringflow::testing::Watchdog;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Hang guard for one child step: far above any expected duration, never a
// timing assertion.
constexpr absl::Duration kStepGuard = absl::Seconds(120);

SharedByteRingOptions OptionsFor(const std::string& name, int64_t capacity,
                                 ProducerType type = ProducerType::kSingle) {
  SharedByteRingOptions options;
  options.ring.name = name;
  options.ring.capacity = capacity;
  options.ring.producer_type = type;
  options.ring.max_readers = 8;
  return options;
}

absl::StatusOr<ChildProcess> SpawnReader(const std::string& ring, int64_t count,
                                         const std::string& name) {
  return ChildProcess::Spawn({RINGFLOW_SHM_CHILD, "byte-read", "ring=" + ring,
                              absl::StrCat("count=", count), "start=oldest",
                              "name=" + name});
}

// The child's "result ..." line, parsed; empty fields when it never came.
Fields ResultOf(ChildProcess& child) {
  std::optional<std::string> line =
      child.ReadLineStartingWith("result", kStepGuard);
  EXPECT_TRUE(line.has_value()) << "no result line";
  return Fields(line.value_or(""));
}

void Publish(SharedByteRing& ring, uint32_t producer, uint64_t from,
             uint64_t to) {
  for (uint64_t seq = from; seq < to; ++seq) {
    ASSERT_TRUE(ring.Publish(ByteRecord(producer, seq))) << seq;
  }
}

// ---- readers in other processes ---------------------------------------------

TEST(ShmByteRingTest, AReaderProcessGetsEveryRecordAcrossManyLaps) {
  const std::string name = UniqueRingName("br1");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedByteRing::Create(OptionsFor(name, 4096)));
  EXPECT_FALSE(ring->resumed());
  constexpr int64_t kRecords = 4000;  // ~600 KB through 4 KB: ~150 laps
  ASSERT_OK_AND_ASSIGN(ChildProcess reader, SpawnReader(name, kRecords, "far"));
  ASSERT_TRUE(reader.ReadLineStartingWith("ready", kStepGuard).has_value());
  Watchdog watchdog(kStepGuard, [&] { ring->Halt(); });
  Publish(*ring, 0, 0, kRecords);
  const Fields result = ResultOf(reader);
  EXPECT_FALSE(watchdog.Disarm());
  EXPECT_EQ(result.Int("count"), kRecords);
  EXPECT_EQ(result.Int("order_violations"), 0);
  EXPECT_EQ(result.Int("content_violations"), 0);
  EXPECT_EQ(result.Int("bytes"),
            static_cast<int64_t>(ring->payload_bytes_published()));
  EXPECT_EQ(result.Int("skipped"), static_cast<int64_t>(ring->padding_bytes()));
  EXPECT_GT(ring->padding_bytes(), 0u);
  EXPECT_EQ(ring->records_published(), static_cast<uint64_t>(kRecords));
  EXPECT_EQ(result.Get("status"), "ok");
  EXPECT_EQ(reader.Wait(kStepGuard), 0);
}

TEST(ShmByteRingTest, TwoReaderProcessesEachGetEveryRecord) {
  const std::string name = UniqueRingName("br2");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedByteRing::Create(OptionsFor(name, 8192)));
  constexpr int64_t kRecords = 2000;
  ASSERT_OK_AND_ASSIGN(ChildProcess a, SpawnReader(name, kRecords, "a"));
  ASSERT_OK_AND_ASSIGN(ChildProcess b, SpawnReader(name, kRecords, "b"));
  ASSERT_TRUE(a.ReadLineStartingWith("ready", kStepGuard).has_value());
  ASSERT_TRUE(b.ReadLineStartingWith("ready", kStepGuard).has_value());
  Watchdog watchdog(kStepGuard, [&] { ring->Halt(); });
  Publish(*ring, 3, 0, kRecords);
  for (ChildProcess* child : {&a, &b}) {
    const Fields result = ResultOf(*child);
    EXPECT_EQ(result.Int("count"), kRecords);
    EXPECT_EQ(result.Int("order_violations"), 0);
    EXPECT_EQ(result.Int("content_violations"), 0);
    EXPECT_EQ(result.Int("bytes"),
              static_cast<int64_t>(ring->payload_bytes_published()));
    EXPECT_EQ(child->Wait(kStepGuard), 0);
  }
  EXPECT_FALSE(watchdog.Disarm());
}

// Two producer threads (kMulti) and a reader process: every record, each
// producer's records in its order.
TEST(ShmByteRingTest, TwoProducerThreadsKeepTheirOrderForAReaderProcess) {
  const std::string name = UniqueRingName("brm");
  RingRemover remover(name);
  // ThreadSanitizer cannot see the reader process release its position, so
  // one producer thread reusing bytes another wrote a lap earlier looks
  // like a race to it: under TSan the ring holds every record (no lap;
  // the wraps are covered in process, tests/core/byte_ring_concurrent_test).
  const int64_t capacity =
      core_testing::kThreadSanitizer ? int64_t{1} << 20 : 8192;
  ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(OptionsFor(
                                      name, capacity, ProducerType::kMulti)));
  constexpr int64_t kPerProducer = 1500;
  ASSERT_OK_AND_ASSIGN(ChildProcess reader,
                       SpawnReader(name, 2 * kPerProducer, "multi"));
  ASSERT_TRUE(reader.ReadLineStartingWith("ready", kStepGuard).has_value());
  Watchdog watchdog(kStepGuard, [&] { ring->Halt(); });
  std::thread p1([&] { Publish(*ring, 1, 0, kPerProducer); });
  std::thread p2([&] { Publish(*ring, 2, 0, kPerProducer); });
  p1.join();
  p2.join();
  const Fields result = ResultOf(reader);
  EXPECT_FALSE(watchdog.Disarm());
  EXPECT_EQ(result.Int("count"), 2 * kPerProducer);
  EXPECT_EQ(result.Int("order_violations"), 0);
  EXPECT_EQ(result.Int("content_violations"), 0);
  EXPECT_EQ(result.Int("bytes"),
            static_cast<int64_t>(ring->payload_bytes_published()));
  EXPECT_EQ(reader.Wait(kStepGuard), 0);
}

// ---- crashes ----------------------------------------------------------------

class ShmByteRingCrashTest : public ::testing::TestWithParam<ProducerType> {};

// A producer process dies (SIGKILL) between claim and commit. Its reader
// waits at the claim and sees kProducerGone; a restarted producer resumes
// the ring, turns the claim into a skip record (counted), and goes on: the
// reader gets every committed record of both, in order, 0 lost.
TEST_P(ShmByteRingCrashTest, AProducerKilledInsideAClaimIsRecovered) {
  const std::string name = UniqueRingName("brk");
  RingRemover remover(name);
  const std::string producer_type =
      GetParam() == ProducerType::kMulti ? "multi" : "single";
  constexpr int64_t kBefore = 300;  // ~45 KB through a 4 KB ring
  constexpr int64_t kAfter = 300;
  ASSERT_OK_AND_ASSIGN(
      ChildProcess producer,
      ChildProcess::Spawn({RINGFLOW_SHM_CHILD, "byte-produce", "ring=" + name,
                           "capacity=4096", "producer=" + producer_type,
                           absl::StrCat("count=", kBefore), "die_in_claim=1"}));
  ASSERT_TRUE(producer.ReadLineStartingWith("created resumed=0", kStepGuard)
                  .has_value());
  ASSERT_OK_AND_ASSIGN(ChildProcess reader,
                       SpawnReader(name, kBefore + kAfter, "survivor"));
  ASSERT_TRUE(reader.ReadLineStartingWith("ready", kStepGuard).has_value());
  ASSERT_TRUE(producer.WriteLine("go"));
  const std::optional<std::string> claimed =
      producer.ReadLineStartingWith("claimed", kStepGuard);
  ASSERT_TRUE(claimed.has_value());
  const int64_t claim_bytes = Fields(*claimed).Int("bytes");
  ASSERT_GT(claim_bytes, 0);
  const std::optional<int> died = producer.Wait(kStepGuard);
  ASSERT_TRUE(died.has_value());
  EXPECT_TRUE(WIFSIGNALED(*died) && WTERMSIG(*died) == SIGKILL)
      << DescribeWaitStatus(*died);
  // The reader read every committed record and waits at the dead claim.
  ASSERT_TRUE(reader.ReadLineStartingWith("gone", kStepGuard).has_value());

  SharedByteRingOptions options = OptionsFor(name, 4096, GetParam());
  ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(options));
  EXPECT_TRUE(ring->resumed());
  EXPECT_EQ(ring->recovered_records(), 1u);
  EXPECT_EQ(ring->recovered_bytes(), static_cast<uint64_t>(claim_bytes));
  Watchdog watchdog(kStepGuard, [&] { ring->Halt(); });
  Publish(*ring, 0, kBefore, kBefore + kAfter);
  const Fields result = ResultOf(reader);
  EXPECT_FALSE(watchdog.Disarm());
  EXPECT_EQ(result.Int("count"), kBefore + kAfter);
  EXPECT_EQ(result.Int("order_violations"), 0);
  EXPECT_EQ(result.Int("content_violations"), 0);
  EXPECT_GE(result.Int("gone"), 1);
  // The counters live in the ring: both producers' records, the padding of
  // both, and the recovered claim the reader passed as a skip record.
  EXPECT_EQ(ring->records_published(), static_cast<uint64_t>(kBefore + kAfter));
  EXPECT_EQ(result.Int("bytes"),
            static_cast<int64_t>(ring->payload_bytes_published()));
  EXPECT_EQ(
      result.Int("skipped"),
      static_cast<int64_t>(ring->padding_bytes() + ring->recovered_bytes()));
  EXPECT_EQ(reader.Wait(kStepGuard), 0);
}

INSTANTIATE_TEST_SUITE_P(ProducerTypes, ShmByteRingCrashTest,
                         ::testing::Values(ProducerType::kSingle,
                                           ProducerType::kMulti),
                         [](const auto& param_info) {
                           return param_info.param == ProducerType::kMulti
                                      ? std::string("Multi")
                                      : std::string("Single");
                         });

// Recovery in one process, step by step. A kMulti ring with a claim that
// is never finished (its WriteClaim is parked where no destructor runs,
// as if its thread died) and two records committed after it; the
// producer goes away. A reader sees the first record, then waits at the
// claim: kProducerGone. The restarted producer turns exactly that claim
// into a skip record; the two later records and new ones follow.
TEST(ShmByteRingTest, RecoverySkipsOnlyTheUnfinishedClaim) {
  const std::string name = UniqueRingName("brr");
  RingRemover remover(name);
  const SharedByteRingOptions options =
      OptionsFor(name, 4096, ProducerType::kMulti);
  SharedByteReaderOptions reader_options;
  reader_options.start = ReaderStart::kOldest;
  reader_options.name = "after";
  std::unique_ptr<SharedByteReader> reader;
  int64_t claim_bytes = 0;
  alignas(WriteClaim) unsigned char parked[sizeof(WriteClaim)];
  {
    ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(options));
    ASSERT_OK_AND_ASSIGN(reader,
                         SharedByteReader::Attach(name, reader_options));
    Publish(*ring, 0, 0, 1);
    const int64_t before = ring->ClaimedPosition();
    std::optional<WriteClaim> claim = ring->TryClaim(40);
    ASSERT_TRUE(claim.has_value());
    claim_bytes = ring->ClaimedPosition() - before;
    new (parked) WriteClaim(std::move(*claim));  // never committed
    Publish(*ring, 0, 1, 3);
  }  // the producer is gone; its claim stays unfinished
  ByteStreamCheck check;
  ASSERT_EQ(reader->Wait(), ConsumerState::kOk);
  reader->ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
    check.Check(record);
  });
  EXPECT_EQ(check.count, 1);
  EXPECT_EQ(reader->Wait(), ConsumerState::kProducerGone);
  ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(options));
  EXPECT_TRUE(ring->resumed());
  EXPECT_EQ(ring->recovered_records(), 1u);
  EXPECT_EQ(ring->recovered_bytes(), static_cast<uint64_t>(claim_bytes));
  Publish(*ring, 0, 3, 5);
  while (check.count < 5 && reader->Wait() == ConsumerState::kOk) {
    reader->ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
      check.Check(record);
    });
  }
  EXPECT_EQ(check.count, 5);
  EXPECT_EQ(check.order_violations, 0);
  EXPECT_EQ(check.content_violations, 0);
  EXPECT_EQ(reader->skipped_bytes(), ring->padding_bytes() + claim_bytes);
  EXPECT_EQ(reader->state(), ConsumerState::kOk);
}

// A reader that attaches laps after the start joins where the readers
// already there are (kOldest: their minimum; kLatest: the tail), never at
// the floor the ring was created with, whose bytes were reused: a join at
// the floor gated the producer behind a position no reader could pass.
TEST(ShmByteRingTest, ALateReaderJoinsAtTheOtherReadersNotTheFloor) {
  const std::string name = UniqueRingName("blate");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(OptionsFor(
                                      name, 4096, ProducerType::kSingle)));
  ASSERT_OK_AND_ASSIGN(ByteReader first,
                       ring->RegisterReader("first", ReaderStart::kOldest));
  ByteStreamCheck check;
  uint64_t published = 0;
  // Ten laps, read as they come.
  while (ring->ClaimedPosition() < 10 * 4096) {
    Publish(*ring, 0, published, published + 8);
    published += 8;
    first.ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
      check.Check(record);
    });
  }
  for (const ReaderStart start : {ReaderStart::kOldest, ReaderStart::kLatest}) {
    const int64_t at = first.position();  // first has read everything
    ASSERT_EQ(at, ring->ClaimedPosition());
    SharedByteReaderOptions options;
    options.start = start;
    options.name = start == ReaderStart::kOldest ? "late-oldest" : "late";
    ASSERT_OK_AND_ASSIGN(auto late, SharedByteReader::Attach(name, options));
    ASSERT_EQ(late->position(), at);  // (at the floor it would stall)
    // The producer laps the ring twice more while both read.
    ByteStreamCheck late_check;
    const auto first_seq = static_cast<int64_t>(published);
    for (int lap = 0; lap < 2 * 4096 / 64; ++lap) {
      Publish(*ring, 0, published, published + 1);
      ++published;
      first.ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
        check.Check(record);
      });
      late->ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
        late_check.Check(record, first_seq);
      });
    }
    EXPECT_EQ(late_check.count, 2 * 4096 / 64);
    EXPECT_EQ(late_check.order_violations, 0);
    EXPECT_EQ(late_check.content_violations, 0);
  }
  EXPECT_EQ(check.order_violations, 0);
  EXPECT_EQ(check.content_violations, 0);
  EXPECT_EQ(static_cast<uint64_t>(check.count), published);
}

// The same RecordProcessor runs on a shared byte ring: on a reader in the
// producer's process (RecordProcessor::Create on the SharedByteRing) and on
// an attached SharedByteReader (shm::CreateRecordProcessor, its processor
// view). Both see every record in order; the attached one keeps waiting
// through a producer restart and ends Run when the ring is halted.
struct StreamHandler {
  void OnRecord(std::span<const std::byte> record, int64_t, bool) noexcept {
    check.Check(record);
    // Release: pairs with the test thread's acquire load.
    count.store(check.count, std::memory_order_release);
  }
  ByteStreamCheck check;
  std::atomic<int64_t> count{0};
};

TEST(ShmByteRingTest, RecordProcessorsRunOnBothKindsOfSharedReader) {
  const std::string name = UniqueRingName("bproc");
  RingRemover remover(name);
  const SharedByteRingOptions options = OptionsFor(name, 4096);
  StreamHandler local_handler;
  StreamHandler attached_handler;
  std::unique_ptr<SharedByteReader> reader;
  std::unique_ptr<shm::SharedRecordProcessor<StreamHandler>> attached;
  std::thread attached_thread;
  {
    ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(options));
    ASSERT_OK_AND_ASSIGN(
        auto local,
        RecordProcessor<StreamHandler>::Create(
            *ring, local_handler, {.name = "local"}, ReaderStart::kOldest));
    SharedByteReaderOptions reader_options;
    reader_options.name = "attached";
    ASSERT_OK_AND_ASSIGN(reader,
                         SharedByteReader::Attach(name, reader_options));
    ASSERT_OK_AND_ASSIGN(attached,
                         shm::CreateRecordProcessor(*reader, attached_handler));
    EXPECT_EQ(attached->name(), "attached");
    std::thread local_thread([&] { local->Run(); });
    attached_thread = std::thread([&] { attached->Run(); });
    Publish(*ring, 0, 0, 300);  // about 10 laps of a 4 KiB ring
    ASSERT_TRUE(WaitUntil(
        [&] {
          return local_handler.count.load(std::memory_order_acquire) == 300;
        },
        kStepGuard));
    local->Halt();
    local_thread.join();
  }  // the producer goes; the attached processor keeps waiting
  {
    ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(options));
    EXPECT_TRUE(ring->resumed());
    Publish(*ring, 0, 300, 400);
    ASSERT_TRUE(WaitUntil(
        [&] {
          return attached_handler.count.load(std::memory_order_acquire) == 400;
        },
        kStepGuard));
    ring->Halt();  // Run returns once it has read everything
    attached_thread.join();
  }
  EXPECT_EQ(attached->status(), absl::OkStatus());
  EXPECT_EQ(local_handler.check.order_violations, 0);
  EXPECT_EQ(local_handler.check.content_violations, 0);
  EXPECT_EQ(attached_handler.check.count, 400);
  EXPECT_EQ(attached_handler.check.order_violations, 0);
  EXPECT_EQ(attached_handler.check.content_violations, 0);
}

// The view a record processor runs (RecordReader): records, then kTimeout
// while no producer runs (never kAlerted: a restarted producer goes on),
// records again after the restart, kAlerted on Alert and on eviction.
TEST(ShmByteRingTest, TheProcessorViewWaitsThroughAProducerRestart) {
  const std::string name = UniqueRingName("bpv");
  RingRemover remover(name);
  const SharedByteRingOptions options = OptionsFor(name, 4096);
  auto ring = SharedByteRing::Create(options);
  ASSERT_OK(ring.status());
  SharedByteReaderOptions reader_options;
  reader_options.start = ReaderStart::kOldest;
  reader_options.name = "processor";
  ASSERT_OK_AND_ASSIGN(auto reader,
                       SharedByteReader::Attach(name, reader_options));
  SharedByteReader::ProcessorView& view = reader->processor_view();
  ByteStreamCheck check;
  const auto read = [&] {
    return view.ReadBatch([&](std::span<const std::byte> record, int64_t,
                              bool) { check.Check(record); });
  };
  Publish(**ring, 0, 0, 3);
  WaitResult result = view.Wait();
  ASSERT_EQ(result.status, WaitStatus::kAvailable);
  EXPECT_EQ(result.available, view.position());
  EXPECT_EQ(read(), 3);
  ring->reset();  // the producer goes
  EXPECT_EQ(view.Wait().status, WaitStatus::kTimeout);
  EXPECT_EQ(reader->state(), ConsumerState::kProducerGone);
  ASSERT_OK_AND_ASSIGN(auto restarted, SharedByteRing::Create(options));
  EXPECT_TRUE(restarted->resumed());
  EXPECT_EQ(restarted->recovered_records(), 0u);
  Publish(*restarted, 0, 3, 5);
  ASSERT_EQ(view.Wait().status, WaitStatus::kAvailable);
  EXPECT_EQ(read(), 2);
  EXPECT_EQ(check.count, 5);
  EXPECT_EQ(check.order_violations, 0);
  EXPECT_EQ(check.content_violations, 0);
  view.Alert();
  EXPECT_EQ(view.Wait().status, WaitStatus::kAlerted);
  view.ClearAlert();
  EXPECT_EQ(view.Wait().status, WaitStatus::kTimeout);
  // Evicted (as the housekeeper would): kAlerted, and state() says why.
  shm_internal::ConsumerSlot& slot =
      restarted->control().slot(FindSlot(restarted->control(), "processor"));
  uint32_t word = slot.state.load(std::memory_order_acquire);
  ASSERT_TRUE(slot.state.compare_exchange_strong(
      word, shm_internal::ConsumerSlot::Word(
                shm_internal::ConsumerSlot::GenerationOf(word),
                shm_internal::ConsumerSlot::kEvicted)));
  EXPECT_EQ(view.Wait().status, WaitStatus::kAlerted);
  EXPECT_EQ(reader->state(), ConsumerState::kEvicted);
}

// A kMulti producer that died inside its claim step (the tail carries the
// pending mark, the claim's first word was never stamped) left a 0 word
// below the tail: it becomes a skip record up to the tail.
TEST(ShmByteRingTest, RecoveryClosesAClaimStepThatNeverFinished) {
  const std::string name = UniqueRingName("brp");
  RingRemover remover(name);
  const SharedByteRingOptions options =
      OptionsFor(name, 4096, ProducerType::kMulti);
  int64_t tail = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(options));
    Publish(*ring, 0, 0, 2);
    tail = ring->ClaimedPosition();
  }
  {
    // What a claimer that won the CAS and died at once leaves behind.
    ASSERT_OK_AND_ASSIGN(
        shm_internal::Segment control,
        shm_internal::Segment::Open(shm_internal::ControlSegmentName(name),
                                    shm_internal::Segment::Access::kReadWrite));
    auto* base = static_cast<char*>(control.data());
    reinterpret_cast<Sequence*>(base + shm_internal::kByteTailOffset)
        ->StoreSeqCst((tail + 96) | 1);
  }
  SharedByteReaderOptions reader_options;
  reader_options.start = ReaderStart::kOldest;
  ASSERT_OK_AND_ASSIGN(auto ring, SharedByteRing::Create(options));
  EXPECT_TRUE(ring->resumed());
  EXPECT_EQ(ring->recovered_records(), 1u);
  EXPECT_EQ(ring->recovered_bytes(), 96u);
  EXPECT_EQ(ring->ClaimedPosition(), tail + 96);
  ASSERT_OK_AND_ASSIGN(auto reader,
                       SharedByteReader::Attach(name, reader_options));
  Publish(*ring, 0, 2, 4);
  ByteStreamCheck check;
  while (check.count < 4 && reader->Wait() == ConsumerState::kOk) {
    reader->ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
      check.Check(record);
    });
  }
  EXPECT_EQ(check.count, 4);
  EXPECT_EQ(check.order_violations, 0);
  EXPECT_EQ(check.content_violations, 0);
  EXPECT_EQ(reader->skipped_bytes(), ring->padding_bytes() + 96);
}

// A reader process killed while it gates the producer is evicted; the
// producer goes on, and a reader of this process still gets every record.
TEST(ShmByteRingTest, AKilledReaderIsEvictedAndTheProducerGoesOn) {
  const std::string name = UniqueRingName("brv");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedByteRing::Create(OptionsFor(name, 4096)));
  ASSERT_OK_AND_ASSIGN(ChildProcess victim, SpawnReader(name, -1, "victim"));
  ASSERT_TRUE(victim.ReadLineStartingWith("ready", kStepGuard).has_value());
  ASSERT_OK_AND_ASSIGN(ByteReader local,
                       ring->RegisterReader("local", ReaderStart::kOldest));
  ASSERT_TRUE(victim.Kill(SIGKILL));
  ASSERT_TRUE(victim.Wait(kStepGuard).has_value());
  Watchdog watchdog(kStepGuard, [&] { ring->Halt(); });
  constexpr int64_t kRecords = 1000;  // far more than the ring holds
  ByteStreamCheck check;
  for (int64_t seq = 0; seq < kRecords; ++seq) {
    const std::vector<std::byte> record =
        ByteRecord(0, static_cast<uint64_t>(seq));
    if (seq % 2 == 0) {
      ASSERT_TRUE(ring->Publish(record));
    } else {  // gathered from two pieces
      const std::span<const std::byte> whole(record);
      const std::span<const std::byte> pieces[] = {whole.first(16),
                                                   whole.subspan(16)};
      ASSERT_TRUE(ring->Publish(std::span(pieces)));
    }
    while (auto claim = local.TryRead()) check.Check(claim->data());
  }
  EXPECT_FALSE(watchdog.Disarm());
  EXPECT_EQ(check.count, kRecords);
  EXPECT_EQ(check.order_violations, 0);
  EXPECT_EQ(check.content_violations, 0);
  const int slot = FindSlot(ring->control(), "victim");
  ASSERT_GE(slot, 0);
  EXPECT_EQ(
      shm_internal::ConsumerSlot::StateOf(
          ring->control().slot(slot).state.load(std::memory_order_acquire)),
      shm_internal::ConsumerSlot::kEvicted);
  EXPECT_GE(
      ring->control().slot(slot).evictions.load(std::memory_order_relaxed), 1u);
}

// The timed claim's errors, named: too long, no room in time (nothing
// claimed), closed.
TEST(ShmByteRingTest, TimedClaimsNameWhyTheyFailed) {
  const std::string name = UniqueRingName("btc");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedByteRing::Create(OptionsFor(name, 256)));
  EXPECT_THAT(ring->Claim(ring->MaxRecordSize() + 1, absl::Milliseconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat(ring->MaxRecordSize() + 1))));
  ASSERT_OK_AND_ASSIGN(ByteReader stuck,
                       ring->RegisterReader("stuck", ReaderStart::kOldest));
  while (ring->TryPublish(ByteRecord(0, 0))) {
  }
  const int64_t tail = ring->ClaimedPosition();
  EXPECT_THAT(
      ring->Claim(16, absl::Milliseconds(5)),
      StatusIs(absl::StatusCode::kDeadlineExceeded,
               AllOf(HasSubstr(name), HasSubstr("nothing was claimed"))));
  EXPECT_EQ(ring->ClaimedPosition(), tail);
  EXPECT_GE(ring->try_claim_failures(), 1u);
  EXPECT_EQ(ring->full_waits(), 1u);
  ring->Close();
  EXPECT_THAT(
      ring->Claim(16, absl::Milliseconds(5)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is closed")));
}

// ---- kinds and segments
// -------------------------------------------------------

TEST(ShmByteRingTest, AttachesOfTheWrongKindAreRefusedNamingBothKinds) {
  const std::string bytes = UniqueRingName("bkb");
  const std::string events = UniqueRingName("bke");
  RingRemover remove_bytes(bytes);
  RingRemover remove_events(events);
  ASSERT_OK_AND_ASSIGN(auto byte_ring,
                       SharedByteRing::Create(OptionsFor(bytes, 4096)));
  SharedRingOptions event_options;
  event_options.ring.name = events;
  event_options.ring.capacity = 64;
  ASSERT_OK_AND_ASSIGN(auto event_ring, SharedRing<ShmEvent>::Create(
                                            event_options, kShmEventTag));
  SharedConsumerOptions consumer;
  consumer.type_tag = kShmEventTag;
  EXPECT_THAT(SharedConsumer<ShmEvent>::Attach(bytes, consumer),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(bytes),
                             HasSubstr("byte ring, not an event ring"))));
  EXPECT_THAT(SharedByteReader::Attach(events, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(events),
                             HasSubstr("event ring, not a byte ring"))));
  // A producer of the other kind does not take the name over either, dead
  // previous producer or not.
  byte_ring.reset();
  event_ring.reset();
  event_options.ring.name = bytes;
  EXPECT_THAT(SharedRing<ShmEvent>::Create(event_options, kShmEventTag),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("byte ring, not an event ring")));
  EXPECT_THAT(SharedByteRing::Create(OptionsFor(events, 4096)),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("event ring, not a byte ring")));
}

TEST(ShmByteRingTest, ForeignTruncatedAndRewrittenDataSegmentsAreRefused) {
  const std::string a = UniqueRingName("bda");
  const std::string b = UniqueRingName("bdb");
  RingRemover remove_a(a);
  RingRemover remove_b(b);
  ASSERT_OK_AND_ASSIGN(auto ring_a,
                       SharedByteRing::Create(OptionsFor(a, 4096)));
  ASSERT_OK_AND_ASSIGN(auto ring_b,
                       SharedByteRing::Create(OptionsFor(b, 4096)));
  // Same geometry, other ring: b's data segment under a's data name.
  ASSERT_EQ(
      ::rename(shm_internal::ShmPath(shm_internal::DataSegmentName(b)).c_str(),
               shm_internal::ShmPath(shm_internal::DataSegmentName(a)).c_str()),
      0);
  EXPECT_THAT(SharedByteReader::Attach(a, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(a), HasSubstr("belongs to ring"))));
  ASSERT_EQ(::truncate(
                shm_internal::ShmPath(shm_internal::DataSegmentName(a)).c_str(),
                1000),
            0);
  EXPECT_THAT(SharedByteReader::Attach(a, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(a), HasSubstr("truncated"))));
  // A ring's own data segment rewritten: not a ringflow data segment.
  const std::string c = UniqueRingName("bdc");
  RingRemover remove_c(c);
  ASSERT_OK_AND_ASSIGN(auto ring_c,
                       SharedByteRing::Create(OptionsFor(c, 4096)));
  {
    ASSERT_OK_AND_ASSIGN(
        shm_internal::Segment data,
        shm_internal::Segment::Open(shm_internal::DataSegmentName(c),
                                    shm_internal::Segment::Access::kReadWrite));
    std::memset(data.data(), 0x41, 8);
  }
  EXPECT_THAT(SharedByteReader::Attach(c, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(c), HasSubstr("not a ringflow data"))));
}

// What a tool reads of a byte ring from outside (Control::Inspect):
// geometry, tail, counters and each reader's position and lag, exactly.
TEST(ShmByteRingTest, AToolReadsTheRingAndItsReadersFromOutside) {
  const std::string name = UniqueRingName("bst");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedByteRing::Create(OptionsFor(name, 4096)));
  ASSERT_OK_AND_ASSIGN(ByteReader reader,
                       ring->RegisterReader("half", ReaderStart::kOldest));
  Publish(*ring, 0, 0, 10);
  int64_t read = 0;
  while (read < 5) {
    if (auto claim = reader.TryRead()) ++read;
  }
  {
    std::optional<WriteClaim> aborted = ring->TryClaim(100);
    ASSERT_TRUE(aborted.has_value());
  }
  ASSERT_OK_AND_ASSIGN(auto tool, shm_internal::Control::Inspect(name));
  ASSERT_OK(tool->CheckIntact());
  EXPECT_EQ(tool->kind(), shm_internal::RingKind::kBytes);
  ASSERT_OK_AND_ASSIGN(const shm_internal::ByteRingStat stat,
                       shm_internal::ReadByteRingStat(*tool));
  EXPECT_EQ(stat.capacity, 4096);
  EXPECT_EQ(stat.producer_type, ProducerType::kSingle);
  EXPECT_EQ(stat.tail, ring->ClaimedPosition());
  EXPECT_EQ(stat.records, 10u);
  EXPECT_EQ(stat.payload_bytes, ring->payload_bytes_published());
  EXPECT_EQ(stat.aborted_records, 1u);
  EXPECT_EQ(stat.skipped_bytes, 112u);  // header + 100 bytes padded to 104
  EXPECT_EQ(stat.recovered_records, 0u);
  EXPECT_EQ(stat.gating, reader.position());
  ASSERT_EQ(stat.readers.size(), 1u);
  EXPECT_EQ(stat.readers[0].name, "half");
  EXPECT_EQ(stat.readers[0].pid, ::getpid());
  EXPECT_EQ(stat.readers[0].state, shm_internal::ConsumerSlot::kActive);
  EXPECT_EQ(stat.readers[0].position, reader.position());
  EXPECT_EQ(stat.readers[0].lag_bytes, stat.tail - reader.position());
  EXPECT_EQ(tool->PublishedSequence(), stat.tail);

  const std::string events = UniqueRingName("bse");
  RingRemover remove_events(events);
  SharedRingOptions event_options;
  event_options.ring.name = events;
  event_options.ring.capacity = 64;
  ASSERT_OK_AND_ASSIGN(auto event_ring, SharedRing<ShmEvent>::Create(
                                            event_options, kShmEventTag));
  ASSERT_OK_AND_ASSIGN(auto event_tool, shm_internal::Control::Inspect(events));
  EXPECT_THAT(shm_internal::ReadByteRingStat(*event_tool),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("event ring, not a byte ring")));
}

// A byte ring's control image: valid for its own kind, and each
// corruption of what is specific to byte rings is named.
TEST(ShmByteRingTest, CorruptedByteRingHeadersAreNamed) {
  const std::string name = UniqueRingName("bhv");
  RingRemover remover(name);
  std::vector<uint8_t> image;
  {
    // Copied once the producer is gone: its housekeeping thread writes the
    // heartbeat into the segment.
    ASSERT_OK_AND_ASSIGN(auto ring,
                         SharedByteRing::Create(OptionsFor(name, 4096)));
    ring.reset();
    ASSERT_OK_AND_ASSIGN(
        shm_internal::Segment control,
        shm_internal::Segment::Open(shm_internal::ControlSegmentName(name),
                                    shm_internal::Segment::Access::kReadOnly));
    const auto* bytes = static_cast<const uint8_t*>(control.data());
    image.assign(bytes, bytes + control.size());
  }
  const auto validate = [&](const std::vector<uint8_t>& copy,
                            const shm_internal::RingIdentity* expected) {
    return shm_internal::ValidateControl(copy.data(), copy.size(), expected);
  };
  shm_internal::RingIdentity bytes_identity{1, 8, "",
                                            shm_internal::RingKind::kBytes};
  shm_internal::RingIdentity events_identity{1, 8, "",
                                             shm_internal::RingKind::kEvents};
  EXPECT_OK(validate(image, nullptr));
  EXPECT_OK(validate(image, &bytes_identity));
  EXPECT_THAT(validate(image, &events_identity),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("byte ring, not an event ring")));
  struct Case {
    std::function<void(shm_internal::ControlHeader&)> corrupt;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& h) { h.ring_kind = 7; }, "ring kind 7 is unknown"},
      {[](auto& h) { h.event_size = 2; }, "byte ring with event size 2"},
      {[](auto& h) { h.event_alignment = 16; }, "alignment 16"},
      {[](auto& h) { h.capacity = 32; }, "capacity 32"},
      // An event ring's layout under a byte ring's header (and back).
      {[](auto& h) { h.ring_kind = 0; }, "control layout"},
      {[](auto& h) { h.slots_offset += 128; }, "control layout"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    std::vector<uint8_t> copy = image;
    c.corrupt(*reinterpret_cast<shm_internal::ControlHeader*>(copy.data()));
    EXPECT_THAT(
        validate(copy, nullptr),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(c.message)));
  }
}

// Record headers are not trusted: whatever committed word a process writes
// at a reader's position, the reader either reads a record inside the
// ring's buffer or stops there with kHalted and a DataLoss status; it
// never reads outside the mapping and never hangs.
TEST(ShmByteRingTest, RewrittenRecordHeadersStopTheReaderWithAStatus) {
  const std::string name = UniqueRingName("bfz");
  RingRemover remover(name);
  constexpr int64_t kCapacity = 4096;
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedByteRing::Create(OptionsFor(name, kCapacity)));
  ring->Close();  // only this test writes the buffer
  auto* buffer = static_cast<std::byte*>(ring->control().data());
  std::mt19937_64 random(14);
  int halted = 0;
  int read = 0;
  int passed = 0;  // a skip record that fits: passed, nothing after it
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    SharedByteReaderOptions options;
    options.start = ReaderStart::kOldest;
    ASSERT_OK_AND_ASSIGN(auto reader, SharedByteReader::Attach(name, options));
    const int64_t position = reader->position();
    const auto lap = static_cast<uint32_t>(position / kCapacity);
    // A committed word of the right lap with either flag and any length
    // (every other round one near the ring's size).
    const uint64_t length =
        round % 2 == 0 ? random() & core_internal::RecordHeader::kLengthMask
                       : random() % (2 * kCapacity);
    const uint64_t word =
        (uint64_t{lap} << 32) | core_internal::RecordHeader::kDoneBit |
        (random() & core_internal::RecordHeader::kSkipBit) | length;
    std::atomic_ref<uint64_t>(
        *reinterpret_cast<uint64_t*>(buffer + (position & (kCapacity - 1))))
        .store(word, std::memory_order_release);
    const ConsumerState state = reader->WaitFor(absl::Milliseconds(1));
    if (state == ConsumerState::kHalted) {
      ++halted;
      EXPECT_THAT(
          reader->status(),
          StatusIs(absl::StatusCode::kDataLoss,
                   AllOf(HasSubstr(name), HasSubstr(absl::StrCat(position)))));
      EXPECT_FALSE(reader->TryRead().has_value());
      continue;
    }
    if (auto claim = reader->TryRead()) {
      ++read;
      // Inside the reader's own (read-only) mapping of the records.
      const auto* mapped =
          static_cast<const std::byte*>(reader->control().data());
      EXPECT_GE(claim->data().data(), mapped);
      EXPECT_LE(claim->data().data() + claim->data().size(),
                mapped + kCapacity);
    } else {
      EXPECT_EQ(state, ConsumerState::kTimeout);
      ++passed;
    }
  }
  // Every outcome happened: lengths below 2^30 nearly never fit a 4 KB
  // ring, those below 8 KB often do.
  EXPECT_GT(halted, 100);
  EXPECT_GT(read, 0);
  EXPECT_GT(passed, 0);
  EXPECT_EQ(halted + read + passed, 200);
}

}  // namespace
}  // namespace ringflow::shm
