// bench/shared_topologies.cc — SharedOneToOne: the producer side (ring,
// child process, timing, verification) and the consumer process;
// SharedPingPong: the ping side and the ponger process; the helpers the
// cross-process peers share (shared_internal); the child roles' dispatch.

#include "shared_topologies.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "byte_framing.h"
#include "harness.h"
#include "peers/boost_interprocess.h"
#include "peers/boost_message_queue.h"
#include "peers/iceoryx.h"
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

using shared_internal::CrossProcessRun;
using shared_internal::MonotonicNs;
using shared_internal::NameRemover;
using shared_internal::PingStats;
using shared_internal::Say;
using shared_internal::StreamReport;

// The ring's segments, removed now (a stale ring of a recycled pid), at
// the end and before any Fail; its name "rfbench-<pid>-<run>" is unique
// per process and run, within the 32 characters a ring name may have.
class RingRemover : public NameRemover {
 public:
  RingRemover()
      : NameRemover(shared_internal::UniqueName("rfbench"),
                    shared_internal::RemoveSharedRing) {}
};

// SharedOneToOne's ring (named `name`); Fail()s when it cannot be made.
std::unique_ptr<SharedRing> MakeSharedRing(CrossProcessRun& run,
                                           const std::string& name) {
  const RunContext& ctx = run.ctx();
  auto ring = SharedRing::Create({
      .ring = {.capacity = ctx.capacity,
               .producer_type = ProducerType::kSingle,
               .wait_strategy = WaitStrategyKind::kBusySpin,
               .max_consumers = 2,
               .name = name},
      // A consumer process is evicted at once when it dies; a live one
      // only after this long without a heartbeat. On a loaded 2-core
      // machine a spinning consumer may be descheduled for seconds, and an
      // eviction would fail the run: the child's bounded waits below are
      // what catches a stuck consumer.
      .consumer_timeout = absl::Seconds(ctx.timeout_s),
  });
  if (!ring.ok()) {
    run.Fail("SharedRing::Create(" + name + "): " + ring.status().ToString());
  }
  return std::move(*ring);
}

// What the consumer read, and how its SharedConsumer::Run ended.
struct SharedSum {
  StreamReport report;
  shm::ConsumerState status = shm::ConsumerState::kOk;
};

// The consumer loop, the same in the child process and in
// SharedOneToOneInProcess: SharedConsumer::Run (a BatchEventProcessor on
// the attached ring: busy-spinning reads, the stream backoff, liveness
// checks at every batch) until `n` events were read, the consumer is
// evicted or the producer is gone.
SharedSum ConsumeShared(SharedConsumer& consumer, int64_t n) noexcept {
  struct Summer {
    StreamReport* r;
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
  Summer summer{&r.report, n, &stop};
  const shm::ConsumerState status = consumer.Run(summer, stop);
  if (status != shm::ConsumerState::kStopped) r.status = status;
  r.report.end_ns = MonotonicNs();
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

// The consumer's problem (SharedOneToOneInProcess): empty when it read
// exactly 0, 1, ..., n-1 by count, sum and first value (VerifyStream) and
// the producer published them all; else the first problem.
std::string Verify(const SharedSum& got, int64_t n, bool refused) {
  if (got.status != shm::ConsumerState::kOk) {
    return "consumer stopped after " + std::to_string(got.report.count) +
           " events: " + std::string(shm::ConsumerStateName(got.status));
  }
  if (refused) return "the ring refused a claim";
  return shared_internal::VerifyStream(got.report, n);
}

// ---- SharedPingPong --------------------------------------------------------

// A ring of SharedPingPong: kSingle, `wait`, the scenario's capacity.
absl::StatusOr<std::unique_ptr<SharedRing>> CreatePingPongRing(
    const std::string& name, int64_t capacity, WaitStrategyKind wait,
    int timeout_s) {
  return SharedRing::Create({
      .ring = {.capacity = capacity,
               .producer_type = ProducerType::kSingle,
               .wait_strategy = wait,
               .max_consumers = 2,
               .name = name},
      // As MakeSharedRing: the bounded waits on the other side catch a
      // stuck process; a descheduled live one must not be evicted.
      .consumer_timeout = absl::Seconds(timeout_s),
  });
}

// Waits for the next event on `consumer` (spinning on Poll, or blocking in
// WaitForEvents first when `blocking`) and returns its value; empty after
// `timeout_ns` without one, or when the other side is gone (`why` says).
std::optional<int64_t> NextValue(SharedConsumer& consumer, bool blocking,
                                 int64_t timeout_ns, std::string& why) {
  int64_t value = 0;
  bool got = false;
  auto take_one = [&](const int64_t& v, int64_t /*sequence*/,
                      bool /*end_of_batch*/) noexcept {
    value = v;
    got = true;
    return false;  // one event: the next one is the next call's
  };
  const int64_t deadline = NowNs() + timeout_ns;
  for (uint64_t spins = 1;; ++spins) {
    (void)consumer.Poll(take_one);
    if (got) return value;
    if (blocking) {
      const shm::ConsumerState s = consumer.WaitForEvents(
          absl::Nanoseconds(std::max<int64_t>(1, deadline - MonotonicNs())));
      if (s == shm::ConsumerState::kOk) continue;
      why = s == shm::ConsumerState::kTimeout
                ? std::string("nothing arrived in time")
                : std::string(shm::ConsumerStateName(s));
      return std::nullopt;
    }
    CpuRelax();
    if ((spins & 0xFFFF) == 0) {  // now and then: is the other side there?
      const shm::ConsumerState s = consumer.state();
      if (s != shm::ConsumerState::kOk) {
        why = std::string(shm::ConsumerStateName(s));
        return std::nullopt;
      }
      if (NowNs() > deadline) {
        why = "nothing arrived in time";
        return std::nullopt;
      }
    }
  }
}

// The ponger process of SharedPingPong (rf-pong-spin / rf-pong-block,
// ARG "PING,PONG,CAPACITY,TIMEOUT_S"): echoes every ping on the pong ring
// until it reads -1.
int RunRingflowPonger(std::string_view arg, bool blocking, bool pin) {
  shared_internal::ChildSetup(pin, 1);
  std::vector<std::string> parts;
  for (size_t start = 0; start <= arg.size();) {
    const size_t comma = std::min(arg.find(',', start), arg.size());
    parts.emplace_back(arg.substr(start, comma - start));
    start = comma + 1;
  }
  int64_t capacity = 0;
  int timeout_s = 0;
  if (parts.size() != 4 ||
      std::sscanf(parts[2].c_str(), "%" SCNd64, &capacity) != 1 ||
      std::sscanf(parts[3].c_str(), "%d", &timeout_s) != 1) {
    Say("error bad ponger argument '" + std::string(arg) +
        "', expected PING,PONG,CAPACITY,TIMEOUT_S");
    return 1;
  }
  auto in = SharedConsumer::Attach(parts[0], {.name = "ponger"});
  if (!in.ok()) {
    Say("error SharedConsumer::Attach(" + parts[0] +
        "): " + in.status().ToString());
    return 1;
  }
  auto out = CreatePingPongRing(
      parts[1], capacity,
      blocking ? WaitStrategyKind::kBlocking : WaitStrategyKind::kBusySpin,
      timeout_s);
  if (!out.ok()) {
    Say("error SharedRing::Create(" + parts[1] +
        "): " + out.status().ToString());
    return 1;
  }
  Say("ready");
  int64_t echoed = 0;
  for (;;) {
    std::string why;
    const std::optional<int64_t> v =
        NextValue(**in, blocking, int64_t{timeout_s} * 1'000'000'000, why);
    if (!v) {
      Say("error ping ring " + parts[0] + " after " + std::to_string(echoed) +
          " pings: " + why);
      return 1;
    }
    if (*v < 0) break;  // the stop value
    if (!(*out)->PublishEvent(
            [value = *v](int64_t& e, int64_t) noexcept { e = value; })) {
      Say("error pong ring " + parts[1] + " refused a claim");
      return 1;
    }
    ++echoed;
  }
  Say("done echoed=" + std::to_string(echoed));
  return 0;
}

// A child role (RunSharedConsumer with ROLE:ARG).
int RunChildRole(std::string_view role, std::string_view arg, int64_t events,
                 bool pin) {
  if (role == "rf-pong-spin" || role == "rf-pong-block") {
    return RunRingflowPonger(arg, role == "rf-pong-block", pin);
  }
  if (std::optional<int> status = RunBoostShmChild(role, arg, events, pin)) {
    return *status;
  }
  if (std::optional<int> status = RunIceoryxChild(role, arg, events, pin)) {
    return *status;
  }
  if (std::optional<int> status =
          RunBoostMessageQueueChild(role, arg, events, pin)) {
    return *status;
  }
  if (std::optional<int> status = RunSharedByteChild(role, arg, events, pin)) {
    return *status;
  }
  std::fprintf(stderr, "ringflow_bench: unknown child role '%.*s'\n",
               static_cast<int>(role.size()), role.data());
  return 2;
}

}  // namespace

Metrics SharedOneToOne(const RunContext& ctx) {
  const int64_t n = ctx.events;
  RingRemover remover;
  CrossProcessRun run(ctx, [&] { remover.Remove(); });
  std::unique_ptr<SharedRing> ring = MakeSharedRing(run, remover.name());
  // This executable again; its stdout is the pipe the handshake lines come
  // back on.
  ChildProcess& child = run.Spawn(remover.name(), n);
  run.AwaitReady(child, "consumer process");

  int64_t start_ns = 0;  // written by the producer, read after join
  bool refused = false;
  std::thread producer = Spawn(0, 2, [&] {
    start_ns = MonotonicNs();
    refused = !ProduceShared(*ring, n);
  });
  // "error ...": the producer may still wait for the child; Fail kills it.
  const StreamReport got =
      shared_internal::ReadStreamReport(run, child, "consumer process");
  producer.join();  // the child read every event: the producer is done
  run.ExpectExitZero(child, "consumer process");
  if (refused) run.Fail("the ring refused a claim");
  const int64_t elapsed_ns =
      shared_internal::CheckStream(run, got, n, start_ns, "consumer process");
  return {MegaEventsPerSecond(n, elapsed_ns)};
}

Metrics SharedOneToOneInProcess(const RunContext& ctx) {
  const int64_t n = ctx.events;
  RingRemover remover;
  CrossProcessRun run(ctx, [&] { remover.Remove(); });  // no child
  std::unique_ptr<SharedRing> ring = MakeSharedRing(run, remover.name());
  auto consumer = SharedConsumer::Attach(remover.name(), {.name = "bench"});
  if (!consumer.ok()) {
    run.Fail("SharedConsumer::Attach: " + consumer.status().ToString());
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
  if (!clock.WaitFinished(ctx.timeout_s)) run.Fail("", /*timed_out=*/true);
  reader.join();
  producer.join();
  const std::string problem = Verify(got, n, refused);
  if (!problem.empty()) run.Fail(problem);
  return {MegaEventsPerSecond(n, clock.elapsed_ns())};
}

int RunSharedConsumer(std::string_view ring, int64_t events, bool pin) {
  if (const size_t colon = ring.find(':'); colon != std::string_view::npos) {
    return RunChildRole(ring.substr(0, colon), ring.substr(colon + 1), events,
                        pin);
  }
  // Dies with the bench: a spinning orphan would skew every later run.
  shared_internal::ChildSetup(pin, 1);
  auto consumer = SharedConsumer::Attach(ring, {.name = "bench"});
  if (!consumer.ok()) {
    Say("error SharedConsumer::Attach: " + consumer.status().ToString());
    return 1;
  }
  Say("ready");
  const SharedSum got = ConsumeShared(**consumer, events);
  if (got.status != shm::ConsumerState::kOk) {
    Say("error consumer stopped after " + std::to_string(got.report.count) +
        " events: " + std::string(shm::ConsumerStateName(got.status)));
    return 1;
  }
  shared_internal::SayDone(got.report);
  return 0;
}

Metrics SharedPingPong(const RunContext& ctx, WaitStrategyKind wait) {
  const bool blocking = wait == WaitStrategyKind::kBlocking;
  RingRemover ping_name;
  RingRemover pong_name;
  auto ping =
      CreatePingPongRing(ping_name.name(), ctx.capacity, wait, ctx.timeout_s);
  CrossProcessRun run(ctx, [&] {
    ping_name.Remove();
    pong_name.Remove();
  });
  if (!ping.ok()) {
    run.Fail("SharedRing::Create(" + ping_name.name() +
             "): " + ping.status().ToString());
  }
  ChildProcess& ponger = run.Spawn(
      std::string(blocking ? "rf-pong-block:" : "rf-pong-spin:") +
          ping_name.name() + "," + pong_name.name() + "," +
          std::to_string(ctx.capacity) + "," + std::to_string(ctx.timeout_s),
      ctx.events);
  run.AwaitReady(ponger, "ponger process");
  // Attached before the first ping: the first pong is after this slot.
  auto pong = SharedConsumer::Attach(pong_name.name(), {.name = "pinger"});
  if (!pong.ok()) {
    run.Fail("SharedConsumer::Attach(" + pong_name.name() +
             "): " + pong.status().ToString());
  }
  SharedRing& ping_ring = **ping;
  SharedConsumer& pongs = **pong;
  const int64_t timeout_ns = int64_t{ctx.timeout_s} * 1'000'000'000;
  auto send = [&](int64_t v) {
    if (!ping_ring.PublishEvent([v](int64_t& e, int64_t) noexcept { e = v; })) {
      run.Fail("the ping ring refused a claim");
    }
  };
  const PingStats stats = shared_internal::PingLoop(
      ctx.events, ctx.budget_ns, send, [&]() -> int64_t {
        std::string why;
        const std::optional<int64_t> v =
            NextValue(pongs, blocking, timeout_ns, why);
        if (!v) run.Fail("pong ring " + pong_name.name() + ": " + why);
        return *v;
      });
  return shared_internal::EndPingPong(run, ponger, stats, send);
}

// ---- shared_internal -------------------------------------------------------

namespace shared_internal {

int64_t MonotonicNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string UniqueName(std::string_view prefix) {
  static int64_t runs = 0;  // the scenario thread only
  return std::string(prefix) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(runs++);
}

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

void ChildSetup(bool pin, int slot) {
  // Dies with the bench: a spinning orphan would skew every later run.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (pin) {
    Pinning::Get().Enable();
    Pinning::Get().PinSelf(slot, 2);
  }
}

NameRemover::NameRemover(std::string name, RemoveFn remove)
    : name_(std::move(name)), remove_(remove) {
  Remove();  // a stale one of a recycled pid
}

void RemoveSharedRing(const std::string& name) {
  (void)shm_internal::Control::Remove(name);
}

CrossProcessRun::CrossProcessRun(const RunContext& ctx,
                                 std::function<void()> cleanup)
    : ctx_(ctx), cleanup_(std::move(cleanup)) {}

CrossProcessRun::~CrossProcessRun() { KillAll(); }

void CrossProcessRun::KillAll() {
  for (const std::unique_ptr<ChildProcess>& child : children_) {
    if (child->pid() > 0) child->WaitOrKill(absl::ZeroDuration());
  }
}

ChildProcess& CrossProcessRun::Spawn(const std::string& role_and_arg,
                                     int64_t events) {
  std::vector<std::string> args = {"ringflow_bench",
                                   "--shared_consumer=" + role_and_arg,
                                   "--events=" + std::to_string(events)};
  if (Pinning::Get().enabled()) args.push_back("--pin");
  absl::StatusOr<ChildProcess> spawned =
      ChildProcess::SpawnSelf(args, {.stdin_from = SpawnOptions::Input::kPipe});
  if (!spawned.ok()) {
    Fail("starting child '" + role_and_arg +
         "': " + std::string(spawned.status().message()));
  }
  children_.push_back(std::make_unique<ChildProcess>(*std::move(spawned)));
  return *children_.back();
}

std::string CrossProcessRun::Line(ChildProcess& child,
                                  const std::string& waiting_for) {
  std::optional<std::string> line =
      child.ReadLine(absl::Seconds(ctx_.timeout_s));
  if (!line) {
    if (child.output_closed()) {
      const pid_t pid = child.pid();
      std::optional<int> status = child.Wait(absl::Seconds(1));
      Fail("child process " + std::to_string(pid) + " ended (" +
           (status ? DescribeWaitStatus(*status) : std::string("running")) +
           ") before '" + waiting_for + "'");
    }
    Fail("", /*timed_out=*/true);
  }
  if (line->rfind("error", 0) == 0) {
    Fail("child process (waiting for '" + waiting_for + "'): " + *line);
  }
  return *std::move(line);
}

void CrossProcessRun::AwaitReady(ChildProcess& child, const std::string& who) {
  if (const std::string line = Line(child, "ready"); line != "ready") {
    Fail(who + ": " + line);
  }
}

std::string CrossProcessRun::LineWatching(ChildProcess& child,
                                          const std::string& waiting_for,
                                          ChildProcess& other,
                                          const std::string& other_name) {
  const absl::Time deadline = absl::Now() + absl::Seconds(ctx_.timeout_s);
  for (;;) {
    const pid_t pid = other.pid();
    if (const std::optional<int> status = other.Wait(absl::ZeroDuration());
        status && (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)) {
      Fail(other_name + " " + std::to_string(pid) + " " +
           DescribeWaitStatus(*status) + " while waiting for '" + waiting_for +
           "'");
    }
    // A slice, then a look at the other end again.
    const absl::Duration slice =
        std::min(absl::Milliseconds(100), deadline - absl::Now());
    if (std::optional<std::string> line = child.ReadLine(slice)) {
      if (line->rfind("error", 0) == 0) {
        Fail("child process (waiting for '" + waiting_for + "'): " + *line);
      }
      return *std::move(line);
    }
    if (child.output_closed() || absl::Now() >= deadline) {
      return Line(child, waiting_for);  // fails as Line does
    }
  }
}

void CrossProcessRun::ExpectExitZero(ChildProcess& child,
                                     const std::string& who) {
  const std::optional<int> status = child.Wait(absl::Seconds(ctx_.timeout_s));
  if (!status) {
    Fail(who + " still running " + std::to_string(ctx_.timeout_s) +
         " s after its last line");
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    Fail(who + " " + DescribeWaitStatus(*status));
  }
}

void CrossProcessRun::Fail(const std::string& what, bool timed_out) {
  KillAll();
  if (cleanup_) std::exchange(cleanup_, nullptr)();
  if (timed_out) FailTimeout(ctx_.scenario, ctx_.impl, ctx_.timeout_s);
  bench::Fail(ctx_.scenario, ctx_.impl, what);
}

int64_t ReadEchoed(CrossProcessRun& run, tools_internal::ChildProcess& ponger) {
  const std::string done = run.Line(ponger, "done");
  int64_t echoed = -1;
  if (std::sscanf(done.c_str(), "done echoed=%" SCNd64, &echoed) != 1) {
    run.Fail("ponger process: " + done);
  }
  return echoed;
}

std::string VerifyPings(const PingCounts& counts, std::optional<int64_t> timed,
                        int64_t echoed) {
  if (counts.received < 1) return "no round trip";
  if (counts.received != counts.sent) {
    return "pongs received is " + std::to_string(counts.received) +
           ", expected " + std::to_string(counts.sent);
  }
  if (counts.wrong != 0) {
    return std::to_string(counts.wrong) + " pongs with the wrong value";
  }
  if (timed && *timed != counts.received) {
    return "round trips timed is " + std::to_string(*timed) + ", expected " +
           std::to_string(counts.received);
  }
  if (echoed != counts.sent) {
    return "the ponger echoed " + std::to_string(echoed) + " pings, " +
           std::to_string(counts.sent) + " were sent";
  }
  return {};
}

Metrics EndPingPong(CrossProcessRun& run, tools_internal::ChildProcess& ponger,
                    const PingStats& stats,
                    const std::function<void(int64_t)>& send) {
  send(-1);  // the stop value
  const int64_t echoed = ReadEchoed(run, ponger);
  run.ExpectExitZero(ponger, "ponger process");
  const std::string problem =
      VerifyPings(stats, stats.histogram.count(), echoed);
  if (!problem.empty()) run.Fail(problem);
  return Percentiles(stats.histogram);
}

namespace {

// start_ns < end_ns, where end_ns is the reader's (`who`) clock after the
// last value or record and start_ns the sender's before the first: the
// run's time, or Fail()s.
int64_t ElapsedNs(CrossProcessRun& run, int64_t start_ns, int64_t end_ns,
                  const std::string& who) {
  if (end_ns <= start_ns) {
    run.Fail("the " + who + " finished (end_ns=" + std::to_string(end_ns) +
             ") before the start (start_ns=" + std::to_string(start_ns) + ")");
  }
  return end_ns - start_ns;
}

}  // namespace

// The stream's "done" line: SayDone writes it, ParseStreamReport reads it
// (the same fields, in the same order).
void SayDone(const StreamReport& report) {
  char line[160];
  std::snprintf(line, sizeof(line),
                "done sum=%" PRId64 " first=%" PRId64 " count=%" PRId64
                " end_ns=%" PRId64,
                report.sum, report.first, report.count, report.end_ns);
  Say(line);
}

StreamReport ParseStreamReport(CrossProcessRun& run, const std::string& line,
                               const std::string& who) {
  StreamReport report;
  if (std::sscanf(line.c_str(),
                  "done sum=%" SCNd64 " first=%" SCNd64 " count=%" SCNd64
                  " end_ns=%" SCNd64,
                  &report.sum, &report.first, &report.count,
                  &report.end_ns) != 4) {
    run.Fail(who + ": " + line);
  }
  return report;
}

StreamReport ReadStreamReport(CrossProcessRun& run,
                              tools_internal::ChildProcess& child,
                              const std::string& who) {
  return ParseStreamReport(run, run.Line(child, "done"), who);
}

std::string VerifyStream(const StreamReport& report, int64_t n) {
  if (report.count != n) {
    return "count is " + std::to_string(report.count) + ", expected " +
           std::to_string(n);
  }
  if (report.sum != SumBelow(n)) {
    return "sum is " + std::to_string(report.sum) + ", expected " +
           std::to_string(SumBelow(n));
  }
  if (report.first != 0) {
    return "first value is " + std::to_string(report.first) + ", expected 0";
  }
  return {};
}

int64_t CheckStream(CrossProcessRun& run, const StreamReport& report, int64_t n,
                    int64_t start_ns, const std::string& who) {
  if (const std::string problem = VerifyStream(report, n); !problem.empty()) {
    run.Fail(problem);
  }
  return ElapsedNs(run, start_ns, report.end_ns, who);
}

std::optional<ByteChildArg> StartByteChild(std::string_view arg, bool pin,
                                           int slot,
                                           const std::string& expected,
                                           int64_t max_n) {
  ChildSetup(pin, slot);
  ByteChildArg parsed;
  if (!ParseByteRoleArg(arg, parsed.name, parsed.n) || parsed.n > max_n) {
    Say("error bad argument '" + std::string(arg) + "', expected " + expected);
    return std::nullopt;
  }
  return parsed;
}

Metrics CheckByteReport(CrossProcessRun& run, const std::string& done,
                        int64_t n, int64_t events, int64_t start_ns,
                        const std::string& who) {
  std::string problem;
  const int64_t end_ns = ParseByteReport(done, Framing(n), events, problem);
  if (!problem.empty()) run.Fail(problem);
  return ByteRates(events, n, ElapsedNs(run, start_ns, end_ns, who));
}
}  // namespace shared_internal

}  // namespace ringflow::bench
