// bench/shared_byte_bench.cc — ringflow's column of SharedByteOneToOne<n>
// (the Bytes family across processes, byte_bench.cc): this process
// creates a shm::SharedByteRing (kSingle, busy spin) and claims, writes
// and commits n-byte records (byte_framing.h) from a producer thread; a
// child process (--shared_consumer=rf-bytes:RING:N) attaches a
// shm::SharedByteReader, reads every record in place with ReadBatch
// (spinning), checks it like every reader of the family and reports its
// ByteSink line (shared_internal::ReadByteRecords). Timed from the producer's
// first claim to the child's CLOCK_MONOTONIC after its last record, as
// SharedOneToOne.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "byte_framing.h"
#include "harness.h"
#include "ringflow/core/config.h"
#include "ringflow/shm/shared_byte_reader.h"
#include "ringflow/shm/shared_byte_ring.h"
#include "scenario.h"
#include "shared_topologies.h"
#include "tools/internal/child_process.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

using shared_internal::CrossProcessRun;
using shared_internal::Say;
using tools_internal::ChildProcess;

Metrics RingflowSharedBytes(const RunContext& ctx, int64_t n) {
  const int64_t events = ctx.events;
  // The segments go on every path: a stale ring of a recycled pid now,
  // the run's before any Fail and at the end (the mappings stay valid).
  // Ring names: [A-Za-z0-9_.-], at most 32 characters.
  shared_internal::NameRemover remover(shared_internal::UniqueName("rfb-bytes"),
                                       shared_internal::RemoveSharedRing);
  const std::string& name = remover.name();
  CrossProcessRun run(ctx, [&] { remover.Remove(); });
  auto ring = shm::SharedByteRing::Create(
      {.ring = {.capacity = ctx.capacity,
                .producer_type = ProducerType::kSingle,
                .wait_strategy = WaitStrategyKind::kBusySpin,
                .name = name}});
  if (!ring.ok()) run.Fail(std::string(ring.status().message()));
  ChildProcess& child =
      run.Spawn("rf-bytes:" + name + ":" + std::to_string(n), events);
  run.AwaitReady(child, "reader process");
  const Framing framing(n);
  int64_t start_ns = 0;  // written by the producer, read after join
  bool claimed_all = true;
  std::thread producer = Spawn(0, 2, [&] {
    start_ns = shared_internal::MonotonicNs();
    for (int64_t i = 0; i < events; ++i) {
      std::optional<WriteClaim> claim = (*ring)->Claim(n);
      if (!claim) {
        claimed_all = false;
        return;
      }
      framing.Write(claim->data().data(), i);
      claim->Commit();
    }
  });
  const std::string done = run.Line(child, "done");
  producer.join();  // the child read every record: the producer is done
  if (!claimed_all) run.Fail("a Claim failed");
  run.ExpectExitZero(child, "reader process");
  return shared_internal::CheckByteReport(run, done, n, events, start_ns,
                                          "reader process");
}

int RunReader(std::string_view arg, int64_t events, bool pin) {
  const std::optional<shared_internal::ByteChildArg> start =
      shared_internal::StartByteChild(arg, pin, 1, "RING:N");
  if (!start) return 1;
  const auto& [ring, n] = *start;
  auto reader = shm::SharedByteReader::Attach(ring, {.name = "bench"});
  if (!reader.ok()) {
    Say("error " + std::string(reader.status().message()));
    return 1;
  }
  uint64_t idle = 0;
  return shared_internal::ReadByteRecords(n, events, [&](ByteSink& sink) {
    const int64_t got = (*reader)->ReadBatch(
        [&](std::span<const std::byte> r, int64_t, bool) noexcept {
          sink.Take(r.data(), static_cast<int64_t>(r.size()));
        });
    if (got == 0) {
      CpuRelax();
      // Now and then: a reader evicted or left without a producer ends.
      if ((++idle & 0xFFFF) == 0 &&
          (*reader)->state() != shm::ConsumerState::kOk) {
        Say("error reader state " +
            std::to_string(static_cast<int>((*reader)->state())));
        return false;
      }
    }
    return true;
  });
}

}  // namespace

RunFn SharedByteRun(int64_t n) {
  return [n](const RunContext& ctx) { return RingflowSharedBytes(ctx, n); };
}

std::optional<int> RunSharedByteChild(std::string_view role,
                                      std::string_view arg, int64_t events,
                                      bool pin) {
  if (role != "rf-bytes") return std::nullopt;
  return RunReader(arg, events, pin);
}

}  // namespace ringflow::bench
