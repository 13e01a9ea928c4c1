// bench/shared_topologies.cc — SharedOneToOne: the producer side (ring,
// child process, timing, verification) and the consumer process.

#include "shared_topologies.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "harness.h"
#include "ringflow/core/config.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "tools/internal/child_process.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

using tools_internal::ChildProcess;
using tools_internal::DescribeWaitStatus;
using tools_internal::SpawnOptions;

using SharedRing = shm::SharedRing<int64_t>;
using SharedConsumer = shm::SharedConsumer<int64_t>;

// CLOCK_MONOTONIC in nanoseconds: one clock for every process here, so the
// child's end time and the producer's start time subtract.
int64_t MonotonicNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// "rfbench-<pid>-<run>": unique per process and run, within the 32
// characters a ring name may have.
std::string UniqueRingName() {
  static int64_t runs = 0;  // the scenario thread only
  return "rfbench-" + std::to_string(getpid()) + "-" + std::to_string(runs++);
}

// Removes the ring's segments on destruction (the mappings stay valid).
class RingRemover {
 public:
  explicit RingRemover(std::string name) : name_(std::move(name)) {
    (void)shm_internal::Control::Remove(
        name_);  // a stale ring of a recycled pid
  }
  RingRemover(const RingRemover&) = delete;
  RingRemover& operator=(const RingRemover&) = delete;
  ~RingRemover() { (void)shm_internal::Control::Remove(name_); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

std::unique_ptr<SharedRing> MakeSharedRing(const RunContext& ctx,
                                           const RingRemover& remover) {
  auto ring = SharedRing::Create({
      .ring = {.capacity = ctx.capacity,
               .producer_type = ProducerType::kSingle,
               .wait_strategy = WaitStrategyKind::kBusySpin,
               .max_consumers = 2,
               .name = remover.name()},
      // A consumer process is evicted at once when it dies; a live one
      // only after this long without a heartbeat. On a loaded 2-core
      // machine a spinning consumer may be descheduled for seconds, and an
      // eviction would fail the run: the child's bounded waits below are
      // what catches a stuck consumer.
      .consumer_timeout = absl::Seconds(ctx.timeout_s),
  });
  if (!ring.ok()) {
    (void)shm_internal::Control::Remove(remover.name());
    Fail(ctx.scenario, ctx.impl,
         "SharedRing::Create: " + ring.status().ToString());
  }
  return std::move(*ring);
}

// What the consumer read.
struct SharedSum {
  int64_t sum = 0;
  int64_t first = -1;  // the first event's value
  int64_t count = 0;
  int64_t end_ns = 0;  // MonotonicNs() after the last event
  shm::ConsumerState status = shm::ConsumerState::kOk;
};

// The consumer loop, the same in the child process and in
// SharedOneToOneInProcess: SharedConsumer::Run (busy-spinning reads with
// Poll, the stream backoff after small batches, liveness checks) until `n`
// events were read, the consumer is evicted or the producer is gone.
//
// Run reads with Poll: every available event handled in place, the
// sequence released once per batch. The other batch read,
// TryLeaseBatch(INT64_MAX) summing the leased batch, was measured against
// Poll side by side (paired interleaved repetitions, 2-core VM shared with
// other builds): in the two quietest of seven runs (15 reps each) it
// reached 0.75x and 0.80x Poll's throughput across processes (0.87x and
// 0.94x in process); in the five runs with another process spinning on the
// machine the two were within noise (paired medians 0.98x-1.01x over 25
// reps). Poll was never reliably slower.
SharedSum ConsumeShared(SharedConsumer& consumer, int64_t n) noexcept {
  struct Summer {
    SharedSum* r;
    int64_t n;
    std::atomic<bool>* stop;
    void OnEvent(const int64_t& event, int64_t /*sequence*/,
                 bool /*end_of_batch*/) noexcept {
      if (r->count == 0) r->first = event;
      r->sum += event;
      // Relaxed: read by Run on this same thread.
      if (++r->count == n) stop->store(true, std::memory_order_relaxed);
    }
  };
  SharedSum r;
  std::atomic<bool> stop{n <= 0};
  Summer summer{&r, n, &stop};
  const shm::ConsumerState status = consumer.Run(summer, stop);
  if (status != shm::ConsumerState::kStopped) r.status = status;
  r.end_ns = MonotonicNs();
  return r;
}

// Publishes value i at sequence i, one PublishEvent each; false when the
// ring refused a claim.
bool ProduceShared(SharedRing& ring, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) {
    if (!ring.PublishEvent([i](int64_t& e, int64_t) noexcept { e = i; })) {
      return false;
    }
  }
  return true;
}

// Empty when the consumer read exactly 0, 1, ..., n-1 by count, sum and
// first value and the producer published them all; else the first problem.
std::string Verify(const SharedSum& got, int64_t n, bool refused) {
  if (got.status != shm::ConsumerState::kOk) {
    return "consumer stopped after " + std::to_string(got.count) +
           " events: " + std::string(shm::ConsumerStateName(got.status));
  }
  if (refused) return "the ring refused a claim";
  if (got.count != n) {
    return "count is " + std::to_string(got.count) + ", expected " +
           std::to_string(n);
  }
  if (got.sum != SumBelow(n)) {
    return "sum is " + std::to_string(got.sum) + ", expected " +
           std::to_string(SumBelow(n));
  }
  if (got.first != 0) {
    return "first event is " + std::to_string(got.first) + ", expected 0";
  }
  return {};
}

// Writes one line to stdout (the parent's pipe), unbuffered.
void Say(const std::string& text) {
  const std::string data = text + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        write(STDOUT_FILENO, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Ends the process loudly (Fail, or FailTimeout when `timed_out`) after
// killing the consumer process and removing the ring.
[[noreturn]] void FailRun(const RunContext& ctx, ChildProcess* child,
                          const RingRemover& remover, const std::string& what,
                          bool timed_out = false) {
  if (child != nullptr) child->WaitOrKill(absl::ZeroDuration());
  (void)shm_internal::Control::Remove(remover.name());
  if (timed_out) FailTimeout(ctx.scenario, ctx.impl, ctx.timeout_s);
  Fail(ctx.scenario, ctx.impl, what);
}

// The child's next line; fails when it ends first or after ctx.timeout_s.
std::string NextLine(const RunContext& ctx, ChildProcess& child,
                     const RingRemover& remover, const char* waiting_for) {
  if (std::optional<std::string> line =
          child.ReadLine(absl::Seconds(ctx.timeout_s))) {
    return *std::move(line);
  }
  if (child.output_closed()) {
    FailRun(
        ctx, &child, remover,
        std::string("the consumer process ended before '") + waiting_for + "'");
  }
  FailRun(ctx, &child, remover, "", /*timed_out=*/true);
}

}  // namespace

Metrics SharedOneToOne(const RunContext& ctx) {
  const int64_t n = ctx.events;
  RingRemover remover(UniqueRingName());
  std::unique_ptr<SharedRing> ring = MakeSharedRing(ctx, remover);
  // This executable again, with the parent's stdin and environment; its
  // stdout is the pipe the handshake lines come back on.
  std::vector<std::string> args = {"ringflow_bench",
                                   "--shared_consumer=" + remover.name(),
                                   "--events=" + std::to_string(n)};
  if (Pinning::Get().enabled()) args.push_back("--pin");
  absl::StatusOr<ChildProcess> spawned = ChildProcess::SpawnSelf(
      args, {.stdin_from = SpawnOptions::Input::kInherit});
  if (!spawned.ok()) {
    FailRun(ctx, nullptr, remover, std::string(spawned.status().message()));
  }
  ChildProcess& child = *spawned;
  if (const std::string line = NextLine(ctx, child, remover, "ready");
      line != "ready") {
    FailRun(ctx, &child, remover, "consumer process: " + line);
  }

  int64_t start_ns = 0;  // written by the producer, read after join
  bool refused = false;
  std::thread producer = Spawn(0, 2, [&] {
    start_ns = MonotonicNs();
    refused = !ProduceShared(*ring, n);
  });
  const std::string done = NextLine(ctx, child, remover, "done");
  SharedSum got;
  if (std::sscanf(done.c_str(),
                  "done sum=%" SCNd64 " first=%" SCNd64 " count=%" SCNd64
                  " end_ns=%" SCNd64,
                  &got.sum, &got.first, &got.count, &got.end_ns) != 4) {
    // "error ...": the producer may still wait for it; FailRun kills it.
    FailRun(ctx, &child, remover, "consumer process: " + done);
  }
  producer.join();  // the child read every event: the producer is done
  const std::optional<int> status = child.Wait(absl::Seconds(ctx.timeout_s));
  if (!status) {
    FailRun(ctx, &child, remover,
            child.pid() < 0
                ? std::string("consumer process: waitpid failed")
                : "consumer process still running " +
                      std::to_string(ctx.timeout_s) + " s after its last line");
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    FailRun(ctx, &child, remover,
            "consumer process " + DescribeWaitStatus(*status));
  }
  const std::string problem = Verify(got, n, refused);
  if (!problem.empty()) FailRun(ctx, nullptr, remover, problem);
  if (got.end_ns <= start_ns) {
    FailRun(ctx, nullptr, remover,
            "the consumer finished (" + std::to_string(got.end_ns) +
                ") before the producer started (" + std::to_string(start_ns) +
                ")");
  }
  return {MegaEventsPerSecond(n, got.end_ns - start_ns)};
}

Metrics SharedOneToOneInProcess(const RunContext& ctx) {
  const int64_t n = ctx.events;
  RingRemover remover(UniqueRingName());
  std::unique_ptr<SharedRing> ring = MakeSharedRing(ctx, remover);
  auto consumer = SharedConsumer::Attach(remover.name(), {.name = "bench"});
  if (!consumer.ok()) {
    FailRun(ctx, nullptr, remover,
            "SharedConsumer::Attach: " + consumer.status().ToString());
  }
  RunClock clock(2, 1);
  SharedSum got;
  std::thread reader = Spawn(1, 2, [&] {
    clock.Ready();
    got = ConsumeShared(**consumer, n);
    clock.Finish();
  });
  bool refused = false;
  std::thread producer = Spawn(0, 2, [&] {
    clock.Ready();
    clock.WaitGo();
    refused = !ProduceShared(*ring, n);
  });
  clock.Start();
  if (!clock.WaitFinished(ctx.timeout_s)) {
    FailRun(ctx, nullptr, remover, "", /*timed_out=*/true);
  }
  reader.join();
  producer.join();
  const std::string problem = Verify(got, n, refused);
  if (!problem.empty()) FailRun(ctx, nullptr, remover, problem);
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

int RunSharedConsumer(std::string_view ring, int64_t events, bool pin) {
  // Dies with the bench: a spinning orphan would skew every later run.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (pin) {
    Pinning::Get().Enable();
    Pinning::Get().PinSelf(1, 2);
  }
  auto consumer = SharedConsumer::Attach(ring, {.name = "bench"});
  if (!consumer.ok()) {
    Say("error SharedConsumer::Attach: " + consumer.status().ToString());
    return 1;
  }
  Say("ready");
  const SharedSum got = ConsumeShared(**consumer, events);
  if (got.status != shm::ConsumerState::kOk) {
    Say("error consumer stopped after " + std::to_string(got.count) +
        " events: " + std::string(shm::ConsumerStateName(got.status)));
    return 1;
  }
  char line[160];
  std::snprintf(line, sizeof(line),
                "done sum=%" PRId64 " first=%" PRId64 " count=%" PRId64
                " end_ns=%" PRId64,
                got.sum, got.first, got.count, got.end_ns);
  Say(line);
  return 0;
}

}  // namespace ringflow::bench
