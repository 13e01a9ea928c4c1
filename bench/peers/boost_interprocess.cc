// bench/peers/boost_interprocess.cc — the boost-shm peer: the parent's
// runs and the child processes (boost_interprocess.h).

#include "boost_interprocess.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "../harness.h"
#include "../shared_topologies.h"
#include "../topology.h"
#include "ringflow/core/config.h"
#include "tools/internal/child_process.h"
#include "warnings.h"

RINGFLOW_BENCH_PEER_WARNINGS_OFF
#include "boost/interprocess/allocators/allocator.hpp"
#include "boost/interprocess/managed_shared_memory.hpp"
#include "boost/lockfree/spsc_queue.hpp"
RINGFLOW_BENCH_PEER_WARNINGS_ON

namespace ringflow::bench {
namespace {

namespace bip = boost::interprocess;
using shared_internal::CrossProcessRun;
using shared_internal::MonotonicNs;
using shared_internal::NameRemover;
using shared_internal::Say;
using tools_internal::ChildProcess;

using Segment = bip::managed_shared_memory;
using ShmAllocator = bip::allocator<int64_t, Segment::segment_manager>;
// The buffer comes from the segment (offset pointers), so each process may
// map it at another address.
using ShmQueue =
    boost::lockfree::spsc_queue<int64_t,
                                boost::lockfree::allocator<ShmAllocator>>;

constexpr char kQueue[] = "queue";  // SharedOneToOne's queue
constexpr char kPing[] = "ping";
constexpr char kPong[] = "pong";

// The run's segment, removed now (a stale one of a recycled pid), at the
// end and before any Fail.
class SegmentRemover : public NameRemover {
 public:
  SegmentRemover()
      : NameRemover(shared_internal::UniqueName("rfbench-bx"),
                    [](const std::string& name) {
                      bip::shared_memory_object::remove(name.c_str());
                    }) {}
};

// The segment for `queues` queues of `capacity` values, with the queues
// constructed in it; Fails (naming the segment) when Boost throws.
Segment CreateSegment(CrossProcessRun& run, const std::string& name,
                      int64_t capacity,
                      std::initializer_list<const char*> queues) {
  // Each queue: capacity + 1 values, plus the segment's own bookkeeping.
  const size_t bytes =
      queues.size() * (static_cast<size_t>(capacity) + 1) * sizeof(int64_t) +
      65536;
  try {
    bip::permissions mode;
    mode.set_permissions(0600);
    Segment segment(bip::create_only, name.c_str(), bytes, nullptr, mode);
    for (const char* queue : queues) {
      segment.construct<ShmQueue>(queue)(
          static_cast<size_t>(capacity),
          ShmAllocator(segment.get_segment_manager()));
    }
    return segment;
  } catch (const bip::interprocess_exception& e) {
    run.Fail("boost::interprocess::managed_shared_memory '" + name + "' (" +
             std::to_string(bytes) + " bytes): " + e.what());
  }
}

ShmQueue* Find(Segment& segment, const char* queue) {
  return segment.find<ShmQueue>(queue).first;
}

Metrics BoostShmOneToOne(const RunContext& ctx) {
  const int64_t n = ctx.events;
  SegmentRemover remover;
  CrossProcessRun run(ctx, [&] { remover.Remove(); });
  Segment segment = CreateSegment(run, remover.name(), ctx.capacity, {kQueue});
  ShmQueue& queue = *Find(segment, kQueue);
  ChildProcess& child = run.Spawn("boost-sub:" + remover.name(), n);
  run.AwaitReady(child, "consumer process");
  int64_t start_ns = 0;  // written by the producer, read after join
  std::thread producer = Spawn(0, 2, [&] {
    start_ns = MonotonicNs();
    for (int64_t i = 0; i < n; ++i) {
      while (!queue.push(i)) CpuRelax();
    }
  });
  const shared_internal::StreamReport got =
      shared_internal::ReadStreamReport(run, child, "consumer process");
  producer.join();  // the child popped every value: the producer is done
  run.ExpectExitZero(child, "consumer process");
  const int64_t elapsed_ns =
      shared_internal::CheckStream(run, got, n, start_ns, "consumer process");
  return {MegaEventsPerSecond(n, elapsed_ns)};
}

Metrics BoostShmPingPong(const RunContext& ctx) {
  SegmentRemover remover;
  CrossProcessRun run(ctx, [&] { remover.Remove(); });
  Segment segment =
      CreateSegment(run, remover.name(), ctx.capacity, {kPing, kPong});
  ShmQueue& ping = *Find(segment, kPing);
  ShmQueue& pong = *Find(segment, kPong);
  ChildProcess& ponger = run.Spawn("boost-pong:" + remover.name(), ctx.events);
  run.AwaitReady(ponger, "ponger process");
  auto send = [&](int64_t v) {
    while (!ping.push(v)) CpuRelax();  // one value in flight: never full
  };
  const int64_t timeout_ns = int64_t{ctx.timeout_s} * 1'000'000'000;
  const shared_internal::PingStats stats = shared_internal::PingLoop(
      ctx.events, ctx.budget_ns, send, [&]() -> int64_t {
        int64_t v = 0;
        const int64_t deadline = NowNs() + timeout_ns;
        for (uint64_t spins = 1; !pong.pop(v); ++spins) {
          CpuRelax();
          if ((spins & 0xFFFF) == 0) {  // now and then: still there?
            if (!ponger.Running()) run.Fail("the ponger process ended");
            if (NowNs() > deadline) run.Fail("", /*timed_out=*/true);
          }
        }
        return v;
      });
  return shared_internal::EndPingPong(run, ponger, stats, send);
}

// Opens the parent's segment; empty (after saying why) when it cannot.
std::optional<Segment> OpenSegment(std::string_view name) {
  try {
    return Segment(bip::open_only, std::string(name).c_str());
  } catch (const bip::interprocess_exception& e) {
    Say("error boost::interprocess::managed_shared_memory open '" +
        std::string(name) + "': " + e.what());
    return std::nullopt;
  }
}

int RunConsumer(std::string_view name, int64_t n, bool pin) {
  shared_internal::ChildSetup(pin, 1);
  std::optional<Segment> segment = OpenSegment(name);
  if (!segment) return 1;
  ShmQueue* queue = Find(*segment, kQueue);
  if (queue == nullptr) {
    Say("error no queue '" + std::string(kQueue) + "' in segment '" +
        std::string(name) + "'");
    return 1;
  }
  Say("ready");
  int64_t sum = 0;
  int64_t first = -1;
  int64_t count = 0;
  int64_t v = 0;
  while (count < n) {
    if (!queue->pop(v)) {
      CpuRelax();
      continue;
    }
    if (count == 0) first = v;
    sum += v;
    ++count;
  }
  shared_internal::SayDone(
      {.sum = sum, .first = first, .count = count, .end_ns = MonotonicNs()});
  return 0;
}

int RunPonger(std::string_view name, bool pin) {
  shared_internal::ChildSetup(pin, 1);
  std::optional<Segment> segment = OpenSegment(name);
  if (!segment) return 1;
  ShmQueue* ping = Find(*segment, kPing);
  ShmQueue* pong = Find(*segment, kPong);
  if (ping == nullptr || pong == nullptr) {
    Say("error no ping/pong queues in segment '" + std::string(name) + "'");
    return 1;
  }
  Say("ready");
  int64_t echoed = 0;
  for (;;) {
    int64_t v = 0;
    while (!ping->pop(v)) CpuRelax();
    if (v < 0) break;  // the stop value
    while (!pong->push(v)) CpuRelax();
    ++echoed;
  }
  Say("done echoed=" + std::to_string(echoed));
  return 0;
}

}  // namespace

RunFn BoostShmRun(const Scenario& s) {
  if (s.topology == Topology::kOneToOne && s.batch == 1) {
    return BoostShmOneToOne;
  }
  if (s.topology == Topology::kPingPong &&
      s.wait == WaitStrategyKind::kBusySpin) {
    return BoostShmPingPong;
  }
  return nullptr;
}

std::optional<int> RunBoostShmChild(std::string_view role, std::string_view arg,
                                    int64_t events, bool pin) {
  if (role == "boost-sub") return RunConsumer(arg, events, pin);
  if (role == "boost-pong") return RunPonger(arg, pin);
  return std::nullopt;
}

}  // namespace ringflow::bench
