// bench/shared_topologies.h
//
// SharedOneToOne: ringflow's OneToOne over shared memory, with the consumer
// in another process. This process creates a shm::SharedRing<int64_t>
// (kSingle, kBusySpin, counters on) and publishes value i at sequence i, one
// PublishEvent at a time, from a producer thread (CPU slot 0 with --pin).
// The consumer is this same binary re-executed (/proc/self/exe
// --shared_consumer=RING --events=N [--pin]; see RunSharedConsumer), which
// attaches with shm::SharedConsumer<int64_t>, pins itself to CPU slot 1,
// and sums the events in SharedConsumer::Run (busy-spinning Poll, each call
// handling every available event, with the stream backoff). It reports
// over a pipe on its stdout, one line per step:
//
//   ready                                     attached, spinning
//   done sum=S first=F count=C end_ns=T       after the last event
//   error WHAT                                it could not go on
//
// T is CLOCK_MONOTONIC, one clock for every process on the machine: the run
// is timed from the producer's first claim (after "ready") to T. The run
// fails loudly (Fail) unless C == N, S == N(N-1)/2, F == 0 and the child
// exits 0; every wait on the child is bounded by ctx.timeout_s, after which
// the child is killed. The ring has a name unique to this process and run
// and is removed on every path that returns, and before every Fail.
//
// SharedOneToOneInProcess runs the same producer and the same consumer loop
// as two threads of this process: SharedOneToOne / SharedOneToOneInProcess
// is the cost of the process boundary alone; SharedOneToOneInProcess /
// RingflowOneToOne that of the shared ring and of reading with
// SharedConsumer::Run instead of a BatchEventProcessor.
//
// SharedPingPong{BusySpin,Blocking} (SharedPingPong): PingPong across two
// processes. This process creates the ping ring (shm::SharedRing<int64_t>,
// kSingle, the scenario's wait strategy, capacity 1024) and starts the
// ponger (--shared_consumer=rf-pong-spin:PING,PONG or rf-pong-block:...),
// which attaches to the ping ring, creates the pong ring with the same
// options and says "ready"; this process then attaches to the pong ring
// and sends ping i, times the round trip until pong i comes back (the
// value checked), for ctx.events round trips or ctx.budget_ns, then sends
// -1, upon which the ponger says "done echoed=C" and exits. Busy spin:
// both sides spin on SharedConsumer::Poll; blocking: both wait in
// SharedConsumer::WaitForEvents (the ring's futex) before each Poll.
//
// The cross-process peers (peers/boost_interprocess.h, peers/iceoryx.h)
// run the same two shapes with their own child roles, through the helpers
// in shared_internal below.
//
// Thread-safety: each call builds its own ring, threads and child and tears
// them down before returning; call from one thread at a time.

#ifndef RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_
#define RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"
#include "scenario.h"
#include "tools/internal/child_process.h"
#include "topology.h"

namespace ringflow::bench {

// One cross-process run; {M events/s}.
Metrics SharedOneToOne(const RunContext& ctx);
// The same on a SharedRing with both sides in this process; {M events/s}.
Metrics SharedOneToOneInProcess(const RunContext& ctx);
// Round trips between two processes over two SharedRings whose wait
// strategy is `wait` (kBusySpin or kBlocking); {p50, p99, p99.9} ns.
Metrics SharedPingPong(const RunContext& ctx, WaitStrategyKind wait);
// SharedOneToOne (or, `in_process`, SharedOneToOneInProcess) for a
// scenario of kOneToOne with a batch of 1, SharedPingPong for kPingPong
// (cross-process only); null for any other. Inline, so that
// shared_topologies.cc compiles as before (see RingflowRun).
inline RunFn SharedRun(const Scenario& s, bool in_process) {
  if (s.topology == Topology::kPingPong && !in_process) {
    return [wait = s.wait](const RunContext& c) {
      return SharedPingPong(c, wait);
    };
  }
  if (s.topology != Topology::kOneToOne || s.batch != 1) return nullptr;
  if (in_process) return SharedOneToOneInProcess;
  return SharedOneToOne;
}

// The child processes of the cross-process scenarios (ringflow_bench
// --shared_consumer=WHAT --events=N [--pin]). WHAT is a ring name (the
// SharedOneToOne consumer: attaches to it, reads N events and reports as
// above on stdout) or ROLE:ARG, a child of SharedPingPong or of a
// cross-process peer (ring names cannot hold ':'): rf-pong-spin and
// rf-pong-block (ARG "PING,PONG"), the roles of peers/boost_interprocess.h
// (boost-*) and of peers/iceoryx.h (iox-*). Returns the process's exit
// status: 0 after "done", 1 after "error", 2 for an unknown role.
int RunSharedConsumer(std::string_view ring, int64_t events, bool pin);

// What the cross-process runs share (this file and the peers' children).
namespace shared_internal {

// CLOCK_MONOTONIC in nanoseconds: one clock for every process here, so a
// child's end time and another process's start time subtract.
int64_t MonotonicNs() noexcept;

// "<prefix>-<pid>-<run>": unique per process and run. Scenario thread.
std::string UniqueName(std::string_view prefix);

// Writes one line to stdout (the parent's pipe), unbuffered. A child's
// handshake: "ready", "done ...", "error WHAT".
void Say(const std::string& text);

// Child processes: dies (SIGKILL) with the bench, so that a spinning
// orphan never skews a later run; pins to CPU slot `slot` of 2 with --pin.
void ChildSetup(bool pin, int slot);

// The parent's side of one cross-process run: the children it started,
// killed and reaped on every path (the destructor, and Fail before it
// reports), and `cleanup` (remove segments, stop a daemon) run before any
// Fail. Scenario thread only.
class CrossProcessRun {
 public:
  CrossProcessRun(const RunContext& ctx, std::function<void()> cleanup);
  CrossProcessRun(const CrossProcessRun&) = delete;
  CrossProcessRun& operator=(const CrossProcessRun&) = delete;
  ~CrossProcessRun();

  // Starts this binary as --shared_consumer=ROLE_AND_ARG --events=N
  // [--pin], its stdin a pipe (CloseStdin tells a child it may exit);
  // Fail()s naming the role when it cannot.
  tools_internal::ChildProcess& Spawn(const std::string& role_and_arg,
                                      int64_t events);
  // The child's next line; Fail()s when it ends first or after
  // ctx.timeout_s, and when the line starts with "error".
  std::string Line(tools_internal::ChildProcess& child,
                   const std::string& waiting_for);
  // Line, but Fail()s as soon as `other` (the other end of the run) ends
  // other than by exiting 0, instead of waiting out ctx.timeout_s for a
  // line that its death means will never come.
  std::string LineWatching(tools_internal::ChildProcess& child,
                           const std::string& waiting_for,
                           tools_internal::ChildProcess& other,
                           const std::string& other_name);
  // Reaps the child (bounded by ctx.timeout_s); Fail()s unless it exited 0.
  void ExpectExitZero(tools_internal::ChildProcess& child,
                      const std::string& who);
  // Kills and reaps every child, runs the cleanup, then Fail (or
  // FailTimeout when `timed_out`).
  [[noreturn]] void Fail(const std::string& what, bool timed_out = false);

  const RunContext& ctx() const { return ctx_; }

 private:
  void KillAll();

  const RunContext& ctx_;
  std::function<void()> cleanup_;
  std::vector<std::unique_ptr<tools_internal::ChildProcess>> children_;
};

// What the ping side of a round-trip run saw.
struct PingStats {
  LatencyHistogram histogram;  // one sample per round trip, ns
  int64_t sent = 0;
  int64_t received = 0;
  int64_t wrong = 0;  // pongs whose value was not their ping's
};

// The ping side's loop, the same for every implementation: `send(v)` sends
// ping v, `receive()` waits for the next pong and returns its value (it
// ends the run itself when none comes). Stops after `events` round trips
// or once `budget_ns` (0: none) has passed; times and checks each.
template <typename Send, typename Receive>
PingStats PingLoop(int64_t events, int64_t budget_ns, Send&& send,
                   Receive&& receive) {
  PingStats stats;
  const int64_t start_ns = NowNs();
  for (int64_t i = 0; i < events; ++i) {
    const int64_t sent_ns = NowNs();
    send(i);
    ++stats.sent;
    const int64_t value = receive();
    const int64_t now = NowNs();
    stats.histogram.Record(now - sent_ns);
    ++stats.received;
    if (value != i) ++stats.wrong;
    if (budget_ns > 0 && now - start_ns > budget_ns) break;
  }
  return stats;
}

// Empty when every ping got its own pong back, at least one round trip
// was timed and the ponger echoed exactly the pings sent (`echoed`, from
// ReadEchoed); else the first problem.
std::string VerifyPings(const PingStats& stats, int64_t echoed);

// The ponger's "done echoed=N" line: N, or Fail()s naming the line.
int64_t ReadEchoed(CrossProcessRun& run, tools_internal::ChildProcess& ponger);

// Empty when a stream of values 0..n-1 arrived whole: `count` values
// summing to SumBelow(n), the first one 0; else the first problem.
std::string VerifyStream(int64_t count, int64_t sum, int64_t first, int64_t n);

}  // namespace shared_internal

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_
