// bench/topology_bench.cc — ringflow_bench: the LMAX-style topology
// benchmarks, ringflow side by side with the queues a user would pick
// instead and with the hardware bounds, all in one process run.
//
// Method (the project's benchmarking rules): every scenario runs each
// implementation once to warm up, then repeats them interleaved (A B C A B C
// ...), so the repetitions of ringflow and of its peers see the same machine;
// the table shows medians with min-max and ratios of paired repetitions. Every
// run verifies what it moved (sums, counts, per-producer order, exactly-once)
// and the process exits 1 with a loud message when it does not.
//
// Usage:
//   ringflow_bench [--smoke] [--events=N] [--reps=N] [--scenarios=a,b]
//                  [--capacity=N] [--pin] [--json=PATH] [--plot=PATH]
//   --smoke      every scenario tiny (a few thousand events), 1 repetition,
//                no warm-up: checks that the harness builds and verifies;
//                with no --scenarios this includes the opt-in Scaling family
//   --events=N   events of OneToOne (default 20000000); every scenario
//                scales from its own default by the same factor
//   --reps=N     repetitions (default 5; CountersOverhead runs 3x as many)
//   --scenarios  names (OneToOne, ...) or families (OneToOneBatch,
//                PingPong, Scaling) to run; default all but Scaling
//   --pin        pin threads to CPUs in scenarios with no more threads than
//                CPUs
//   --json/--plot  also write the results as JSON / a PNG (gnuplot)
//
// Scaling (opt-in; `make bench-scaling`): ScalingP1C1 ... ScalingP8C3,
// producers P in {1, 2, 4, 8} x consumers C in {1, 3}: P producers on a
// kMulti ring publishing one event at a time into one BatchEventProcessor
// (ThreeToOne's checks: sum, per-producer order) or a WorkerPool of 3
// (WorkerPool's: exactly once, count), against the lock-free MPMC peers
// (aq-mpmc, mc-cq). It runs only when named (--scenarios=Scaling or a name)
// and in --smoke, never in the default run: its P + C threads (up to 11)
// need as many cores, and on a 2-core machine they measure the scheduler,
// not the queues. Run it on a machine with at least P + C cores (the
// table: 16), pinned:
//   ringflow_bench --scenarios=Scaling --pin --json=bench/results/scaling.json
// On a machine without the Debian packages, carry the one file that
// `make bench-static` links (build/release/bench/ringflow_bench_static).
//
// Internal (not in --help): --shared_consumer=RING --events=N [--pin] runs
// this binary as SharedOneToOne's consumer process (shared_topologies.h).
//
// Layout: this file holds the scenario table, the flags and the run loop;
// ringflow_topologies.cc, shared_topologies.cc and peer_topologies.h the
// runs themselves (peers.h adapts each peer queue), bounds.h the ceiling and
// floor, harness.h and topology.h what they share, report.{h,cc} the table,
// JSON and plot.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bounds.h"
#include "harness.h"
#include "peer_topologies.h"
#include "peers.h"
#include "report.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow_topologies.h"
#include "shared_topologies.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

using RunFn = std::function<Metrics(const RunContext&)>;

constexpr int64_t kDefaultCapacity = int64_t{1} << 16;  // LMAX OneToOne
constexpr int64_t kPingPongCapacity = 1024;             // LMAX PingPong
constexpr int64_t kBaseEvents = 20'000'000;             // OneToOne default
// A throughput run aims at this long; slower implementations run fewer
// events (see RunScenario).
constexpr double kTargetRunSeconds = 0.25;
// ProcessorOptions::stream_backoff_pauses as shipped.
constexpr int kDefaultBackoff = ProcessorOptions{}.stream_backoff_pauses;

// ---- bounds ----------------------------------------------------------------

Metrics Ceiling(const RunContext& ctx, int64_t k, int backoff_pauses = 0) {
  const RawRingResult r = RawRingThroughput(ctx, k, backoff_pauses);
  CheckEqual(ctx, r.sum, SumBelow(ctx.events), "sum");
  return {MegaEventsPerSecond(ctx.events, r.elapsed_ns)};
}

Metrics Floor(const RunContext& ctx) {
  const RttResult r = AtomicPingPongRtt(ctx);
  Check(ctx, r.round_trips >= 1, "no round trip");
  CheckEqual(ctx, r.histogram.count(), r.round_trips, "round trips timed");
  return Percentiles(r.histogram);
}

// ---- the scenario table ----------------------------------------------------

struct Impl {
  std::string column;
  std::string detail;
  RunFn run;
};

struct Scenario {
  std::string name;
  std::string family;  // for --scenarios (OneToOneBatch, PingPong)
  std::string unit = "M ev/s";
  bool higher_is_better = true;
  std::vector<std::string> metrics = {"throughput"};
  int64_t events = 0;        // full run
  int64_t smoke_events = 0;  // --smoke
  int64_t multiple_of = 1;   // events rounded down to a multiple of this
  int64_t capacity = kDefaultCapacity;
  int rep_factor = 1;
  int64_t budget_ms = 0;        // latency runs: time limit per run
  int64_t smoke_budget_ms = 0;  // the same with --smoke
  std::string bound_label;
  std::string note;
  std::string compare_to;
  std::string status;  // non-empty: not run, shown as is
  // Not in the default selection (no --scenarios); runs when named, by
  // name or family, and in every --smoke run (so ctest keeps it verified).
  bool opt_in = false;
  std::vector<Impl> impls;
  std::map<std::string, std::string> not_applicable;
};

// Adds one Impl per peer type, made by make.template operator()<P>().
template <typename... Ps, typename Make>
void AddPeers(Scenario& s, const std::string& detail, Make make) {
  (s.impls.push_back(
       Impl{std::string(Ps::kName), detail, make.template operator()<Ps>()}),
   ...);
}

// Every peer column without an Impl is n/a for `reason`.
void MarkOthers(Scenario& s, const std::string& reason) {
  for (const std::string& column : PeerColumns()) {
    bool present = false;
    for (const Impl& impl : s.impls) present |= impl.column == column;
    if (!present) s.not_applicable[column] = reason;
  }
}

constexpr const char* kNoBulk = "no bulk push/pop API";
constexpr const char* kSpscShape =
    "MPMC queue; the SPSC peers (one queue per edge) are the natural build";
constexpr const char* kNeedsMpmc = "single producer / single consumer only";
// SharedOneToOne's other ringflow setups (shown in the notes, JSON, plot).
constexpr const char* kSharedInProcessOneToOne = "in-process OneToOne";
constexpr const char* kSharedInProcessSharedRing = "in-process SharedRing";

// Scaling (opt-in): every producer count x every consumer count.
constexpr std::array<int, 4> kScalingProducers = {1, 2, 4, 8};
constexpr std::array<int, 2> kScalingConsumers = {1, kConsumers};
// Every Scaling row moves the same events: a multiple of each producer count.
constexpr int64_t kScalingMultiple = 8;
static_assert(std::ranges::all_of(kScalingProducers,
                                  [](int p) {
                                    return kScalingMultiple % p == 0;
                                  }),
              "each producer publishes the same number of events");

std::vector<Scenario> AllScenarios() {
  std::vector<Scenario> all;
  const std::string spin2 = "2 threads, busy spin";
  auto threads_on_cpus = [](int threads) {
    return std::to_string(threads) + " threads on " +
           std::to_string(Pinning::Get().cpus()) + " CPUs: " +
           (ModeFor(threads) == WaitMode::kBusySpin ? "busy spin"
                                                    : "spin then yield");
  };
  const std::string yield4 = threads_on_cpus(4);
  auto ceiling = [](int64_t k) {
    return Impl{
        kBoundColumn,
        "raw ring, cursor published every " + std::to_string(k) + " events",
        [k](const RunContext& c) { return Ceiling(c, k); }};
  };
  auto all_peers_one_to_one = [](Scenario& s) {
    AddPeers<AqSpsc, AqMpmc, RwqPeer, McCqPeer, BoostSpscPeer, BoostQueuePeer,
             MutexDequePeer>(
        s, "one push / one pop per event", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerOneToOne<P>(c); };
        });
  };

  {
    Scenario s{.name = "OneToOne", .family = "OneToOne"};
    s.events = kBaseEvents;
    s.smoke_events = 5000;
    s.bound_label = "ceil k=1";
    s.note = "ringflow: PublishEvent + BatchEventProcessor, busy spin";
    s.impls.push_back({kRingflowColumn, "PublishEvent, BatchEventProcessor",
                       [](const RunContext& c) {
                         return RingflowOneToOne(c, /*counters=*/true,
                                                 kDefaultBackoff);
                       }});
    all_peers_one_to_one(s);
    s.impls.push_back(ceiling(1));
    // Two more references, in the summary below the table: the stream
    // backoff's effect, and the raw ring given the same backoff.
    s.impls.push_back({kOneToOneNoBackoff,
                       "PublishEvent, BatchEventProcessor, "
                       "stream_backoff_pauses = 0",
                       [](const RunContext& c) {
                         return RingflowOneToOne(c, /*counters=*/true, 0);
                       }});
    s.impls.push_back(
        {kRawRingWithBackoff,
         "raw ring, cursor published every event, consumer "
         "with ringflow's stream backoff",
         [](const RunContext& c) { return Ceiling(c, 1, kDefaultBackoff); }});
    all.push_back(std::move(s));
  }
  for (int64_t k : {int64_t{10}, int64_t{64}}) {
    Scenario s{.name = "OneToOneBatch" + std::to_string(k),
               .family = "OneToOneBatch"};
    s.events = kBaseEvents;
    s.smoke_events = 6400;
    s.bound_label = "ceil k=" + std::to_string(k);
    s.note = "ringflow: PublishEvents(" + std::to_string(k) +
             "); peers: bulk push of " + std::to_string(k) +
             ", bulk pop of up to " + std::to_string(kPopBulkMax);
    s.impls.push_back(
        {kRingflowColumn, "PublishEvents(k), BatchEventProcessor",
         [k](const RunContext& c) { return RingflowOneToOneBatch(c, k); }});
    AddPeers<McCqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "bulk push of k, bulk pop", [k]<typename P>() -> RunFn {
          return
              [k](const RunContext& c) { return PeerOneToOneBatch<P>(c, k); };
        });
    MarkOthers(s, kNoBulk);
    s.impls.push_back(ceiling(k));
    all.push_back(std::move(s));
  }
  for (bool lease : {false, true}) {
    Scenario s{.name = lease ? "OneToOneLease" : "OneToOnePoller",
               .family = lease ? "OneToOneLease" : "OneToOnePoller"};
    s.events = kBaseEvents;
    s.smoke_events = 5000;
    s.bound_label = "ceil k=1";
    s.note = lease ? "ringflow: EventPoller::TryLeaseBatch (whole available "
                     "batch, read in place, released at once); peers as "
                     "OneToOne"
                   : "ringflow: EventPoller::Poll in a spinning loop; peers "
                     "as OneToOne";
    s.impls.push_back({kRingflowColumn,
                       lease ? "EventPoller::TryLeaseBatch" : "Poll",
                       [lease](const RunContext& c) {
                         return RingflowOneToOnePoller(c, lease);
                       }});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer>(
        s, "one push / one pop per event", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerOneToOne<P>(c); };
        });
    MarkOthers(s,
               "measured in OneToOne (same shape); the SPSC peers repeat "
               "here as the reference");
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "OneToThreeMulticast", .family = "OneToThreeMulticast"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "every consumer sees every event (" + yield4 +
             "); peers: one SPSC queue per consumer";
    s.impls.push_back({kRingflowColumn, "3 BatchEventProcessors on one ring",
                       RingflowMulticast});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "one queue per consumer", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerMulticast<P>(c); };
        });
    MarkOthers(s, kSpscShape);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "OneToThreePipeline", .family = "OneToThreePipeline"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "stage1 +1 -> stage2 +1 -> sum (" + yield4 +
             "); peers: a queue between stages";
    s.impls.push_back({kRingflowColumn, "3 dependent BatchEventProcessors",
                       RingflowPipeline});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "a queue per edge", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerPipeline<P>(c); };
        });
    MarkOthers(s, kSpscShape);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "OneToThreeDiamond", .family = "OneToThreeDiamond"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "fizz, buzz in parallel -> fizzbuzz count (" + yield4 +
             "); ringflow event {int64 value; bool fizz, buzz}; peers: four "
             "queues (fan out, join)";
    s.impls.push_back({kRingflowColumn, "fizz, buzz -> fizzbuzz processors",
                       RingflowDiamond});
    AddPeers<AqSpsc, RwqPeer, BoostSpscPeer, MutexDequePeer>(
        s, "a queue per edge", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerDiamond<P>(c); };
        });
    MarkOthers(s, kSpscShape);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "ThreeToOne", .family = "ThreeToOne"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.multiple_of = kProducers;
    s.bound_label = "ceil k=1";
    s.note = "3 producers, 1 consumer (" + yield4 +
             "), sum and per-producer order checked; ringflow kMulti; "
             "aq-mpmc: sum only (atomic_queue's MPMC mode does not keep a "
             "producer's order when that producer is preempted between "
             "claiming and filling a slot)";
    s.impls.push_back({kRingflowColumn, "kMulti ring, BatchEventProcessor",
                       RingflowThreeToOne});
    AddPeers<AqMpmc, McCqPeer, BoostQueuePeer, MutexDequePeer>(
        s, "MPMC queue, 3 producers", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerThreeToOne<P>(c); };
        });
    MarkOthers(s, kNeedsMpmc);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "WorkerPool", .family = "WorkerPool"};
    s.events = kBaseEvents / 4;
    s.smoke_events = 3000;
    s.bound_label = "ceil k=1";
    s.note = "1 producer, 3 competing consumers (" + yield4 +
             "), each event handled exactly once (checked)";
    s.impls.push_back(
        {kRingflowColumn, "WorkerPool, 3 WorkProcessors", RingflowWorkerPool});
    AddPeers<AqMpmc, McCqPeer, BoostQueuePeer, MutexDequePeer>(
        s, "MPMC queue, 3 consumers", []<typename P>() -> RunFn {
          return [](const RunContext& c) { return PeerWorkerPool<P>(c); };
        });
    MarkOthers(s, kNeedsMpmc);
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  for (bool blocking : {false, true}) {
    Scenario s{.name = blocking ? "PingPongBlocking" : "PingPongBusySpin",
               .family = "PingPong"};
    s.unit = "ns";
    s.higher_is_better = false;
    s.metrics = {"p50", "p99", "p99.9"};
    s.events = blocking ? 100'000 : 1'000'000;
    s.smoke_events = blocking ? 500 : 2000;
    s.capacity = kPingPongCapacity;
    s.budget_ms = 500;
    s.smoke_budget_ms = 100;
    s.bound_label = "floor";
    const WaitStrategyKind wait =
        blocking ? WaitStrategyKind::kBlocking : WaitStrategyKind::kBusySpin;
    s.note = std::string("round trip between two rings of ") +
             std::to_string(kPingPongCapacity) + " (" +
             (blocking ? "ringflow kBlocking; peers with a blocking wait"
                       : "ringflow kBusySpin; peers spin") +
             "), histogram per round trip, closed loop (no coordinated "
             "omission); each run stops after " +
             std::to_string(s.events) + " round trips or " +
             std::to_string(s.budget_ms) + " ms";
    s.impls.push_back(
        {kRingflowColumn,
         blocking ? "two rings, kBlocking" : "two rings, kBusySpin",
         [wait](const RunContext& c) { return RingflowPingPong(c, wait); }});
    if (blocking) {
      AddPeers<BlockingRwqPeer, BlockingMcCqPeer, MutexDequePeer>(
          s, "two queues, blocking pop", []<typename P>() -> RunFn {
            return [](const RunContext& c) { return PeerPingPong<P>(c); };
          });
      MarkOthers(s, "no blocking wait");
    } else {
      AddPeers<AqSpsc, AqMpmc, RwqPeer, McCqPeer, BoostSpscPeer, BoostQueuePeer,
               MutexDequePeer>(
          s, "two queues, spinning pop", []<typename P>() -> RunFn {
            return [](const RunContext& c) { return PeerPingPong<P>(c); };
          });
    }
    s.impls.push_back({kBoundColumn, "two padded atomics, spinning", Floor});
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "CountersOverhead", .family = "CountersOverhead"};
    s.events = kBaseEvents;
    s.smoke_events = 5000;
    s.rep_factor = 3;
    s.bound_label = "ceil k=1";
    s.compare_to = "counters off";
    s.note =
        "OneToOne with RingOptions::counters = true (ringflow column) "
        "vs false; target on/off >= 0.97";
    s.impls.push_back(
        {kRingflowColumn, "OneToOne, counters = true", [](const RunContext& c) {
           return RingflowOneToOne(c, /*counters=*/true, kDefaultBackoff);
         }});
    s.impls.push_back(
        {"counters off", "OneToOne, counters = false", [](const RunContext& c) {
           return RingflowOneToOne(c, /*counters=*/false, kDefaultBackoff);
         }});
    MarkOthers(s, "ringflow against itself");
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  {
    Scenario s{.name = "SharedOneToOne", .family = "SharedOneToOne"};
    s.events = kBaseEvents;
    s.smoke_events = 5000;
    s.bound_label = "ceil k=1";
    s.compare_to = kSharedInProcessOneToOne;
    s.note =
        "OneToOne across two processes (ringflow column): shm::SharedRing "
        "(kSingle, kBusySpin, counters on), PublishEvent one at a time, in "
        "this process; shm::SharedConsumer::Run (Poll, busy spin, stream "
        "backoff) in a child process "
        "(this binary re-executed), timed from the first claim to the "
        "child's CLOCK_MONOTONIC after its last event. " +
        std::string(kSharedInProcessOneToOne) +
        ": the OneToOne run (RingBuffer, BatchEventProcessor, counters on). " +
        kSharedInProcessSharedRing +
        ": the cross-process run's producer and consumer as two threads of "
        "this process (the shm ring without the process boundary). All " +
        spin2 + "; target shared / in-process OneToOne >= 0.9";
    s.impls.push_back({kRingflowColumn,
                       "SharedRing -> SharedConsumer in another process",
                       [](const RunContext& c) { return SharedOneToOne(c); }});
    s.impls.push_back(
        {kSharedInProcessOneToOne, "OneToOne: RingBuffer, BatchEventProcessor",
         [](const RunContext& c) {
           return RingflowOneToOne(c, /*counters=*/true, kDefaultBackoff);
         }});
    s.impls.push_back(
        {kSharedInProcessSharedRing,
         "SharedRing -> SharedConsumer, both in this process",
         [](const RunContext& c) { return SharedOneToOneInProcess(c); }});
    MarkOthers(s, "ringflow against itself");
    s.impls.push_back(ceiling(1));
    all.push_back(std::move(s));
  }
  // Scaling: ThreeToOne's and WorkerPool's shapes over 1-8 producers and 1
  // or 3 consumers, for a machine with at least producers + consumers cores.
  auto count = [](int n, const std::string& noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
  };
  for (int consumers : kScalingConsumers) {
    for (int producers : kScalingProducers) {
      const std::string shape =
          "P" + std::to_string(producers) + "C" + std::to_string(consumers);
      Scenario s{.name = "Scaling" + shape, .family = "Scaling"};
      s.opt_in = true;
      s.events = kBaseEvents / 4;
      s.smoke_events = 4000;
      s.multiple_of = kScalingMultiple;
      s.bound_label = "ceil k=1";
      const std::string threads = threads_on_cpus(producers + consumers);
      const std::string publishing =
          count(producers, "producer") +
          " (producer p publishes p, p+P, ... one at a time; ringflow "
          "kMulti ring, PublishEvent), ";
      if (consumers == 1) {
        s.note = publishing + "1 consumer (" + threads +
                 "); sum and per-producer order checked; ringflow "
                 "BatchEventProcessor; aq-mpmc: sum only (as ThreeToOne)";
        s.impls.push_back({kRingflowColumn, "kMulti ring, BatchEventProcessor",
                           [producers](const RunContext& c) {
                             return RingflowManyToOne(c, producers);
                           }});
      } else {
        s.note = publishing + std::to_string(consumers) +
                 " competing consumers (" + threads +
                 "); each event handled exactly once and the count checked; "
                 "ringflow WorkerPool; peers: the scenario thread pushes a -1 "
                 "per consumer once the consumers' counts reach N";
        s.impls.push_back(
            {kRingflowColumn,
             "kMulti ring, WorkerPool of " + std::to_string(consumers),
             [producers, consumers](const RunContext& c) {
               return RingflowManyToWorkerPool(c, ProducerType::kMulti,
                                               producers, consumers);
             }});
      }
      AddPeers<AqMpmc, McCqPeer>(
          s,
          "MPMC queue, " + count(producers, "producer") + ", " +
              count(consumers, "consumer"),
          [producers, consumers]<typename P>() -> RunFn {
            return [producers, consumers](const RunContext& c) {
              return PeerScaling<P>(c, producers, consumers);
            };
          });
      MarkOthers(s, kNeedsMpmc);
      const std::string lock_free_only =
          "Scaling runs the lock-free MPMC peers only; this one is measured "
          "in ThreeToOne and WorkerPool";
      s.not_applicable[std::string(BoostQueuePeer::kName)] = lock_free_only;
      s.not_applicable[std::string(MutexDequePeer::kName)] = lock_free_only;
      s.impls.push_back(ceiling(1));
      all.push_back(std::move(s));
    }
  }
  return all;
}

// ---- flags -----------------------------------------------------------------

struct Flags {
  bool smoke = false;
  bool pin = false;
  int64_t events = 0;  // 0: defaults
  int reps = 5;
  int64_t capacity = kDefaultCapacity;
  std::vector<std::string> scenarios;
  std::string json;
  std::string plot;
  std::string shared_consumer;  // internal: run as SharedOneToOne's consumer
};

void Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ringflow_bench [--smoke] [--events=N] [--reps=N] "
               "[--scenarios=a,b,...] [--capacity=N] [--pin] [--json=PATH] "
               "[--plot=PATH]\n");
}

bool ParseInt(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) parts.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

// Exits 2 with a message on a bad flag.
Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string_view> {
      if (arg.substr(0, name.size()) == name && arg.size() > name.size() &&
          arg[name.size()] == '=') {
        return arg.substr(name.size() + 1);
      }
      return std::nullopt;
    };
    int64_t number = 0;
    if (arg == "--smoke") {
      flags.smoke = true;
    } else if (arg == "--pin") {
      flags.pin = true;
    } else if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      std::exit(0);
    } else if (auto events = value("--events")) {
      if (!ParseInt(*events, number) || number < 1000) {
        std::fprintf(stderr, "--events must be an integer >= 1000\n");
        std::exit(2);
      }
      flags.events = number;
    } else if (auto reps = value("--reps")) {
      if (!ParseInt(*reps, number) || number < 1 || number > 1000) {
        std::fprintf(stderr, "--reps must be an integer in [1, 1000]\n");
        std::exit(2);
      }
      flags.reps = static_cast<int>(number);
    } else if (auto capacity = value("--capacity")) {
      if (!ParseInt(*capacity, number) || number < 64 ||
          number > (int64_t{1} << 24) || (number & (number - 1)) != 0) {
        std::fprintf(stderr,
                     "--capacity must be a power of two in [64, 2^24]\n");
        std::exit(2);
      }
      flags.capacity = number;
    } else if (auto names = value("--scenarios")) {
      flags.scenarios = Split(*names);
    } else if (auto json = value("--json")) {
      flags.json = std::string(*json);
    } else if (auto plot = value("--plot")) {
      flags.plot = std::string(*plot);
    } else if (auto ring = value("--shared_consumer")) {
      flags.shared_consumer = std::string(*ring);
    } else {
      std::fprintf(stderr, "ringflow_bench: unknown flag '%s'\n", argv[i]);
      Usage(stderr);
      std::exit(2);
    }
  }
  return flags;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) {
        return line.substr(colon + 2);
      }
    }
  }
  return "unknown CPU";
}

// 1-minute load average, or -1.
double LoadAverage() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  if (!(file >> load)) return -1;
  return load;
}

// Microseconds in which some runnable task waited for a CPU since boot
// (Linux PSI), or -1.
int64_t CpuPressureMicros() {
  std::ifstream file("/proc/pressure/cpu");
  std::string line;
  while (std::getline(file, line)) {
    const size_t total = line.find("total=");
    if (line.rfind("some", 0) == 0 && total != std::string::npos) {
      return std::atoll(line.c_str() + total + 6);
    }
  }
  return -1;
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// Runs one scenario: warm-up, then reps interleaved.
ScenarioResult RunScenario(const Scenario& s, const Flags& flags) {
  ScenarioResult result;
  result.name = s.name;
  result.unit = s.unit;
  result.higher_is_better = s.higher_is_better;
  result.metrics = s.metrics;
  result.status = s.status;
  result.note = s.note;
  result.bound_label = s.bound_label;
  result.compare_to = s.compare_to;
  result.not_applicable = s.not_applicable;
  if (!s.status.empty()) return result;

  int64_t events = s.smoke_events;
  if (!flags.smoke) {
    events =
        flags.events == 0
            ? s.events
            : std::max<int64_t>(
                  1000, static_cast<int64_t>(static_cast<double>(s.events) *
                                             static_cast<double>(flags.events) /
                                             static_cast<double>(kBaseEvents)));
  }
  events -= events % s.multiple_of;
  const int reps = flags.smoke ? 1 : flags.reps * s.rep_factor;
  const int64_t capacity =
      s.capacity == kDefaultCapacity ? flags.capacity : s.capacity;
  const int timeout_s = flags.smoke ? 120 : 600;
  result.events = events;
  result.reps = reps;
  for (const Impl& impl : s.impls) {
    result.impls.push_back(
        {impl.column, impl.detail, events,
         std::vector<std::vector<double>>(s.metrics.size())});
  }

  const auto started = std::chrono::steady_clock::now();
  std::fprintf(stderr, "%-20s %lld events, %zu implementations x %d reps ...",
               s.name.c_str(), static_cast<long long>(events), s.impls.size(),
               reps);
  const int64_t budget_ns =
      (flags.smoke ? s.smoke_budget_ms : s.budget_ms) * 1'000'000;
  // Events per implementation: the scenario's count, or fewer for an
  // implementation that would need more than kTargetRunSeconds for it
  // (calibrated on the warm-up run), but never fewer than a tenth.
  std::vector<int64_t> impl_events(s.impls.size(), events);
  if (!flags.smoke) {
    const int64_t warm = std::min(
        events, std::max<int64_t>(s.multiple_of * 1000,
                                  events / 10 - (events / 10) % s.multiple_of));
    for (size_t i = 0; i < s.impls.size(); ++i) {
      const Impl& impl = s.impls[i];
      const auto t0 = std::chrono::steady_clock::now();
      impl.run({s.name, impl.column, warm, capacity, timeout_s, budget_ns / 5});
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      if (!s.higher_is_better || seconds <= 0) continue;  // latency: budget
      const double rate = static_cast<double>(warm) / seconds;
      int64_t n = std::clamp(static_cast<int64_t>(rate * kTargetRunSeconds),
                             warm, events);
      n -= n % s.multiple_of;
      impl_events[i] = n;
    }
  }
  for (size_t i = 0; i < s.impls.size(); ++i) {
    result.impls[i].events = impl_events[i];
  }
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < s.impls.size(); ++i) {
      const Metrics m =
          s.impls[i].run({s.name, s.impls[i].column, impl_events[i], capacity,
                          timeout_s, budget_ns});
      for (size_t k = 0; k < m.size() && k < s.metrics.size(); ++k) {
        result.impls[i].samples[k].push_back(m[k]);
      }
    }
  }
  std::fprintf(
      stderr, " %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
  return result;
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  if (!flags.shared_consumer.empty()) {
    if (flags.events == 0) {
      std::fprintf(stderr, "--shared_consumer needs --events\n");
      return 2;
    }
    return RunSharedConsumer(flags.shared_consumer, flags.events, flags.pin);
  }
  if (flags.pin) Pinning::Get().Enable();
  std::vector<Scenario> scenarios = AllScenarios();

  std::vector<const Scenario*> selected;
  for (const Scenario& s : scenarios) {
    // No --scenarios: everything but the opt-in scenarios, which --smoke
    // still runs (tiny) so that the harness check covers them.
    bool wanted = flags.scenarios.empty() && (!s.opt_in || flags.smoke);
    for (const std::string& name : flags.scenarios) {
      wanted |= name == s.name || name == s.family;
    }
    if (wanted) selected.push_back(&s);
  }
  for (const std::string& name : flags.scenarios) {
    bool known = false;
    for (const Scenario& s : scenarios) {
      known |= name == s.name || name == s.family;
    }
    if (!known) {
      std::fprintf(stderr, "ringflow_bench: unknown scenario '%s'; known:",
                   name.c_str());
      for (const Scenario& s : scenarios) {
        std::fprintf(stderr, " %s", s.name.c_str());
      }
      std::fprintf(stderr, "\n");
      return 2;
    }
  }

  RunInfo info;
  info.date = Today();
  info.cpu_model = CpuModel();
  info.cpus = Pinning::Get().cpus();
  info.reps = flags.smoke ? 1 : flags.reps;
  info.capacity = flags.capacity;
  info.pinned = flags.pin && Pinning::Get().Applies(2);
  info.smoke = flags.smoke;
  if (flags.pin && !info.pinned) {
    std::fprintf(stderr, "--pin: fewer than 2 CPUs available; not pinning\n");
  }

  info.load_before = LoadAverage();
  const int64_t pressure_before = CpuPressureMicros();
  const auto started = std::chrono::steady_clock::now();
  std::vector<ScenarioResult> results;
  for (const Scenario* s : selected) results.push_back(RunScenario(*s, flags));
  info.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  const int64_t pressure_after = CpuPressureMicros();
  if (pressure_before >= 0 && pressure_after >= pressure_before &&
      info.wall_s > 0) {
    info.cpu_pressure =
        std::min(1.0, static_cast<double>(pressure_after - pressure_before) /
                          1e6 / info.wall_s);
  }

  PrintTable(stdout, results, info);
  bool ok = true;
  if (!flags.json.empty()) {
    ok &= WriteJson(flags.json, results, info);
    if (ok) std::printf("JSON written to %s\n", flags.json.c_str());
  }
  if (!flags.plot.empty()) {
    const bool plotted = WritePlot(flags.plot, results, info);
    ok &= plotted;
    if (plotted && std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
      std::printf("plot written to %s\n", flags.plot.c_str());
    }
  }
  std::printf("all scenarios verified\n");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ringflow::bench

int main(int argc, char** argv) { return ringflow::bench::Main(argc, argv); }
