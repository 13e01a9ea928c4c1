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
// fails loudly (Fail) unless C == N, S == N(N-1)/2, F == 0, T is after the
// first claim and the child exits 0; every wait on the child is bounded by
// ctx.timeout_s, after which the child is killed. The ring has a name
// unique to this process and run and is removed on every path that
// returns, and before every Fail. The "done" line is a StreamReport
// (shared_internal below): the cross-process peers' consumers write it and
// their runs check it with the same code.
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
// in shared_internal below; so do the byte-record runs
// (shared_byte_bench.cc, peers/boost_message_queue.h, peers/iceoryx.h),
// whose reader children report a ByteSink line (byte_framing.h).
//
// Thread-safety: each call builds its own ring, threads and child and tears
// them down before returning; call from one thread at a time.

#ifndef RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_
#define RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "byte_framing.h"
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

// A run's named resource (a SharedRing's segments, a Boost segment or
// message queue): `remove(name)` runs on construction (a stale one of a
// recycled pid), on destruction and at every Remove() (a CrossProcessRun's
// cleanup, before a Fail); removing what is not there is no error, and
// mappings of it stay valid. Scenario thread only.
class NameRemover {
 public:
  using RemoveFn = void (*)(const std::string& name);
  NameRemover(std::string name, RemoveFn remove);
  NameRemover(const NameRemover&) = delete;
  NameRemover& operator=(const NameRemover&) = delete;
  ~NameRemover() { Remove(); }

  void Remove() const { remove_(name_); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  RemoveFn remove_;
};

// A NameRemover's RemoveFn for a SharedRing's segments
// (shm_internal::Control::Remove, its status ignored).
void RemoveSharedRing(const std::string& name);

// The parent's side of one cross-process run: the children it started,
// killed and reaped on every path (the destructor, and Fail before it
// reports), and `cleanup` (remove segments, stop a daemon) run before any
// Fail. SharedOneToOneInProcess uses one without children, for the
// cleanup. Scenario thread only.
class CrossProcessRun {
 public:
  CrossProcessRun(const RunContext& ctx, std::function<void()> cleanup);
  CrossProcessRun(const CrossProcessRun&) = delete;
  CrossProcessRun& operator=(const CrossProcessRun&) = delete;
  ~CrossProcessRun();

  // Starts this binary as --shared_consumer=ROLE_AND_ARG --events=N
  // [--pin] (ROLE_AND_ARG: ROLE:ARG, or SharedOneToOne's ring name; see
  // RunSharedConsumer), its stdin a pipe (CloseStdin tells a child it may
  // exit); Fail()s naming the role when it cannot.
  tools_internal::ChildProcess& Spawn(const std::string& role_and_arg,
                                      int64_t events);
  // The child's next line; Fail()s when it ends first or after
  // ctx.timeout_s, and when the line starts with "error".
  std::string Line(tools_internal::ChildProcess& child,
                   const std::string& waiting_for);
  // Line(child, "ready"); Fail()s with "WHO: LINE" for any other line.
  void AwaitReady(tools_internal::ChildProcess& child, const std::string& who);
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

// The ping side's counts (PingLoop's, or a pinger child's report).
struct PingCounts {
  int64_t sent = 0;
  int64_t received = 0;
  int64_t wrong = 0;  // pongs whose value was not their ping's
};

// What the ping side of a round-trip run saw.
struct PingStats : PingCounts {
  LatencyHistogram histogram;  // one sample per round trip, ns
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
// was made, every one was timed (`timed` of them: the histogram's count
// where this process pinged; empty for a pinger child, which reports its
// percentiles only) and the ponger echoed exactly the pings sent
// (`echoed`, from ReadEchoed); else the first problem.
std::string VerifyPings(const PingCounts& counts, std::optional<int64_t> timed,
                        int64_t echoed);

// The ponger's "done echoed=N" line: N, or Fail()s naming the line.
int64_t ReadEchoed(CrossProcessRun& run, tools_internal::ChildProcess& ponger);

// The end of a run whose ponger is a child and whose ping side is this
// process, after PingLoop: sends the stop value (-1) with `send`, reads
// the ponger's "done echoed=N" (ReadEchoed), expects it to exit 0, then
// checks the pings (VerifyPings; Fail()s with the problem). The round
// trips' {p50, p99, p99.9} ns.
Metrics EndPingPong(CrossProcessRun& run, tools_internal::ChildProcess& ponger,
                    const PingStats& stats,
                    const std::function<void(int64_t)>& send);

// ---- one-to-one streams of int64 values 0..N-1 (SharedOneToOne's shape) --
//
// A consumer child reports what it read as one line,
//   done sum=S first=F count=C end_ns=T
// written by SayDone and read by ReadStreamReport / ParseStreamReport; the
// parent checks it with CheckStream.

// What a stream's consumer read.
struct StreamReport {
  int64_t sum = 0;
  int64_t first = -1;  // the first value read
  int64_t count = 0;
  int64_t end_ns = 0;  // MonotonicNs() after the last value
};

// The consumer child's "done ..." line for `report` (Say).
void SayDone(const StreamReport& report);

// `line`, a consumer child's "done ..." line, parsed; Fail()s with
// "WHO: LINE" when it is not one.
StreamReport ParseStreamReport(CrossProcessRun& run, const std::string& line,
                               const std::string& who);

// The consumer child's next line (CrossProcessRun::Line, waiting for
// "done"), parsed as ParseStreamReport does.
StreamReport ReadStreamReport(CrossProcessRun& run,
                              tools_internal::ChildProcess& child,
                              const std::string& who);

// Empty when a stream of values 0..n-1 arrived whole: report.count values
// summing to SumBelow(n), the first one 0; else the first problem.
std::string VerifyStream(const StreamReport& report, int64_t n);

// The stream's time, report.end_ns - start_ns (start_ns: MonotonicNs()
// before the first value was sent); Fail()s with VerifyStream's problem,
// or when the consumer (`who`) finished before start_ns.
int64_t CheckStream(CrossProcessRun& run, const StreamReport& report, int64_t n,
                    int64_t start_ns, const std::string& who);

// ---- byte-record streams (SharedByteOneToOne's shape) ----------------------

// A byte-record child's role argument "NAME:N".
struct ByteChildArg {
  std::string name;  // a queue, ring or service name
  int64_t n = 0;     // the record size, bytes
};

// A byte-record child's start: ChildSetup(pin, slot), then its role
// argument (ParseByteRoleArg, and N <= max_n); empty after saying "error
// bad argument 'ARG', expected EXPECTED" when it is not one.
std::optional<ByteChildArg> StartByteChild(
    std::string_view arg, bool pin, int slot, const std::string& expected,
    int64_t max_n = std::numeric_limits<int64_t>::max());

// A reader child's run once its end is open: a ByteSink for n-byte
// records, "ready", then `read(sink)` until `events` records arrived
// (each call hands what arrived, if anything, to sink.Take; it returns
// false after saying "error WHAT" when the reader cannot go on), then the
// sink's "done ..." line (ByteSink::Report) with MonotonicNs() after the
// last record. The exit status: 0, or 1 when `read` gave up.
template <typename Read>
int ReadByteRecords(int64_t n, int64_t events, Read&& read) {
  const Framing framing(n);
  ByteSink sink(framing, 1);
  Say("ready");
  while (sink.count < events) {
    if (!read(sink)) return 1;
  }
  Say(sink.Report(MonotonicNs()));
  return 0;
}

// The parent's check of a reader child's "done ..." line `done`
// (ParseByteReport: n-byte records 0..events-1, whole and in order), after
// the child exited 0: the run's {Mrec/s, GB/s} from start_ns (MonotonicNs()
// before the first record was sent) to the reader's end; Fail()s with the
// problem, or when the reader (`who`) finished before start_ns.
Metrics CheckByteReport(CrossProcessRun& run, const std::string& done,
                        int64_t n, int64_t events, int64_t start_ns,
                        const std::string& who);

}  // namespace shared_internal

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_SHARED_TOPOLOGIES_H_
