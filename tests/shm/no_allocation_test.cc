// tests/shm/no_allocation_test.cc
//
// Issue 11, item 13: the producer of a shared ring whose only consumer died
// with the ring full waits for the housekeeping thread to evict it, and
// neither the producer's thread nor housekeeping calls operator new or
// delete meanwhile (before: the producer's wait read /proc/<pid>/stat
// through std::ifstream and std::istringstream, and kept its stall start in
// a function-level thread_local).

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_ring.h"
#include "support/counting_new.h"  // replaces operator new / delete
#include "support/shm_event.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"

namespace ringflow::shm {
namespace {

using ::ringflow::testing::ChildProcess;
using ::ringflow::testing::FillShmEvent;
using ::ringflow::testing::kShmEventTag;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::ShmEvent;
using ::ringflow::testing::StartCounting;
using ::ringflow::testing::StopCounting;
using ::ringflow::testing::UniqueRingName;

constexpr absl::Duration kGuard = absl::Seconds(60);

TEST(ShmNoAllocationTest, AFullRingWithADeadConsumerCostsNoAllocation) {
  const std::string name = UniqueRingName("noalloc");
  RingRemover remover(name);
  SharedRingOptions options;
  options.ring.name = name;
  options.ring.capacity = 64;
  options.ring.max_consumers = 2;
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedRing<ShmEvent>::Create(options, kShmEventTag));
  absl::StatusOr<ChildProcess> consumer = ChildProcess::Spawn(
      {RINGFLOW_SHM_CHILD, "stall", "ring=" + name, "name=victim"});
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE(consumer->ReadLineStartingWith("ready", kGuard).has_value());
  const int slot = ringflow::testing::FindSlot(ring->control(), "victim");
  ASSERT_GE(slot, 0);
  // Fill the ring: the next claim waits on the consumer.
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(ring->PublishEvent(FillShmEvent));
  ASSERT_TRUE(consumer->Kill(SIGKILL));
  consumer->WaitOrKill(kGuard);

  StartCounting();
  // Each of these waits until housekeeping evicted the dead consumer (the
  // first one) and then runs free.
  for (int i = 0; i < 10'000; ++i) {
    if (!ring->PublishEvent(FillShmEvent)) break;
  }
  const auto counts = StopCounting();
  EXPECT_EQ(ring->Cursor(), 64 + 10'000 - 1);
  EXPECT_EQ(counts.allocations, 0) << "operator new on a stalled producer";
  EXPECT_EQ(counts.deallocations, 0);
  EXPECT_EQ(
      shm_internal::ConsumerSlot::StateOf(
          ring->control().slot(slot).state.load(std::memory_order_acquire)),
      shm_internal::ConsumerSlot::kEvicted);
}

}  // namespace
}  // namespace ringflow::shm
