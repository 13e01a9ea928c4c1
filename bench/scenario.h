// bench/scenario.h
//
// A scenario as data: its shape (a Topology with its producers, consumers
// and batch), its sizes, what it measures (Measure), and the columns of
// its table row (ringflow in one or more setups, the peers, the bound).
// What a scenario verifies follows from its Topology (each kind below
// names its check; topology.h's Verify functions are those checks, and
// every implementation of a kind calls them), or, for a family's own shape
// (kOwn), from that family's file. A run whose check does not hold fails
// the process loudly.
//
// Who implements what, each once:
//   scenarios.cc           the registry: every LMAX-shaped scenario, one
//                          entry each, and the list of families
//   ringflow_topologies.*  ringflow (RingflowRun), every kind
//   shared_topologies.*    ringflow over shared memory (SharedRun),
//                          kOneToOne with a batch of 1 and kPingPong
//   sharded_topologies.*   the ShardedRing and ShardedQueue columns
//   peer_topologies.h      any peer adapter (MakePeerRun<P>), the kinds that
//                          adapter's API offers; peers.cc lists the peers
//                          with what each offers (PeerApi), and a scenario
//                          picks its peers by that (PeersWith)
//   async_bench.cc, byte_bench.cc, bridge_bench.cc
//                          a family each: its scenarios, whose columns
//                          carry their runs (Runner::kOwn)
//   topology_bench.cc      the bounds, and the run loop over the columns
//
// Adding a scenario of an existing kind is one entry in scenarios.cc;
// adding a peer is one adapter header under peers/ and one line in
// peers.cc; adding a family is one file with its scenarios and one line in
// AllScenarios.
//
// Thread-safety: plain values, built and read by the scenario thread.

#ifndef RINGFLOW_BENCH_SCENARIO_H_
#define RINGFLOW_BENCH_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness.h"
#include "report.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/processors/batch_event_processor.h"
#include "topology.h"

namespace ringflow::bench {

inline constexpr int64_t kDefaultCapacity = int64_t{1} << 16;  // LMAX
inline constexpr int64_t kBaseEvents = 20'000'000;  // OneToOne's default
// ProcessorOptions::stream_backoff_pauses as shipped.
inline constexpr int kDefaultBackoff = ProcessorOptions{}.stream_backoff_pauses;

// The shape of a scenario, and what its runs verify. Events are the values
// 0..N-1 unless said otherwise.
enum class Topology : uint8_t {
  // 1 producer -> 1 consumer, `batch` events per claim (ringflow) or bulk
  // push (peers). Checks the sum N(N-1)/2.
  kOneToOne,
  // 1 producer -> kConsumers consumers that each see every event. Checks
  // every consumer's sum.
  kOneToThreeMulticast,
  // producer -> +1 -> +1 -> sink, each stage behind the previous one.
  // Checks that each event passed both stages, and the sum.
  kOneToThreePipeline,
  // producer -> {fizz, buzz} in parallel -> fizzbuzz. Checks each event's
  // value at the join and the fizzbuzz count ceil(N / 15).
  kOneToThreeDiamond,
  // `producers` producers (producer p publishes p, p + P, ...) -> 1
  // consumer. Checks the sum and each producer's order (a peer that does
  // not keep a producer's order, kProducerFifo false, the sum only).
  kManyToOne,
  // `producers` producers (as kManyToOne) -> `consumers` competing
  // consumers. Checks that every event was handled exactly once, and the
  // count.
  kManyToWorkers,
  // Round trips between two rings (queues), each timed; {p50, p99, p99.9}
  // ns. Checks that every pong carries its ping's value and that every
  // round trip was timed.
  kPingPong,
  // A family's own shape (Async, Bytes, Bridge): every column carries its
  // run (Column::run), and the family's file says what that run checks.
  kOwn,
};

// Which API reads a ringflow ring (kOneToOne with a batch of 1 only; every
// other kind reads with BatchEventProcessors, or a WorkerPool).
enum class Reader : uint8_t {
  kBatchEventProcessor,
  kPoll,        // EventPoller::Poll in a spinning loop
  kLeaseBatch,  // EventPoller::TryLeaseBatch, released batch by batch
};

// How ringflow runs a column.
struct RingflowSetup {
  Reader reader = Reader::kBatchEventProcessor;
  // kManyToOne and kManyToWorkers (kSingle takes one producer); the other
  // kinds have one producer on a kSingle ring.
  ProducerType producer_type = ProducerType::kSingle;
  // RingOptions::counters and ProcessorOptions::stream_backoff_pauses:
  // kOneToOne with a batch of 1 and a BatchEventProcessor only.
  bool counters = true;
  int backoff_pauses = kDefaultBackoff;
};

// Who runs a column: one implementation of each Topology per runner.
enum class Runner : uint8_t {
  kRingflow,            // RingflowRun with the column's `ringflow` setup
  kSharedCrossProcess,  // SharedRun: the consumer in a child process
  kSharedInProcess,     // SharedRun: both sides in this process
  kPeer,                // PeerRun for the peer whose name is the column's
  kBound,               // ceiling (k = batch), or floor for kPingPong
  kShardedRing,   // ShardedRing + ShardedEventProcessor (sharded_topologies)
  kShardedQueue,  // ShardedQueue through the peers' run code
  kOwn,           // Column::run: a family's column (Topology::kOwn)
};

// One timed, verified run of a column (a Fail() ends the process when its
// check does not hold).
using RunFn = std::function<Metrics(const RunContext&)>;

// One column of a scenario's row.
struct Column {
  std::string name;    // kRingflowColumn, a peer, kBoundColumn, or another
                       // ringflow setup (report.h)
  std::string detail;  // what exactly runs; empty for a bound: its own
  Runner runner = Runner::kRingflow;
  RingflowSetup ringflow;        // kRingflow
  int bound_backoff_pauses = 0;  // kBound: the raw ring consumer's backoff
  RunFn run;                     // kOwn
};

// What a row measures, and how the run loop treats its runs.
struct Measure {
  std::string unit = "M ev/s";
  std::vector<std::string> metrics = {"throughput"};
  bool higher_is_better = true;
  // Each run stops at its time budget (Scenario::budget_ms), not after a
  // number of events: the warm-up does not calibrate its events.
  bool by_budget = false;
  std::string bound_label;  // empty: "ceil k=<batch>"
};

// Round-trip or wake-up latencies in ns, each run within its time budget.
inline Measure LatencyMeasure(std::vector<std::string> metrics = {"p50", "p99",
                                                                  "p99.9"}) {
  return {.unit = "ns",
          .metrics = std::move(metrics),
          .higher_is_better = false,
          .by_budget = true,
          .bound_label = "floor"};
}

// One scenario: a row of the table (a row per metric for kPingPong).
struct Scenario {
  std::string name;
  std::string family;  // --scenarios also takes it (OneToOneBatch, ...)
  Topology topology = Topology::kOneToOne;
  int producers = 1;  // kManyToOne, kManyToWorkers
  int consumers = 1;  // kManyToWorkers; the 1->3 kinds have kConsumers
  int64_t batch = 1;  // kOneToOne: events per claim or push
  // kPingPong's wait: kBusySpin or kBlocking (peers: their blocking
  // variants). The other kinds spin, or spin then yield when their threads
  // outnumber the CPUs (StrategyFor).
  WaitStrategyKind wait = WaitStrategyKind::kBusySpin;

  int64_t events = 0;        // full run (scaled by --events)
  int64_t smoke_events = 0;  // --smoke
  int64_t multiple_of = 1;   // events rounded down to a multiple of this
  int64_t capacity = kDefaultCapacity;  // --capacity replaces the default
  int64_t record_bytes = 0;             // Bytes family: payload bytes per
                                        // record (> 0: a byte-record row)
  int rep_factor = 1;                   // repetitions = --reps x this
  int64_t budget_ms = 0;                // kPingPong: time limit per run
  int64_t smoke_budget_ms = 0;          // the same with --smoke
  // Not in the default selection; runs when named (by name or family) and
  // in every --smoke run, so that ctest keeps it verified.
  bool opt_in = false;
  int threads = 0;    // Async family: threads running the io_context
  bool bound = true;  // false: the row has no bound column
  Measure measure;    // throughput in M ev/s unless the scenario says
  // Why this build cannot measure the row (its table line says so instead);
  // empty: measured.
  std::string skip;

  // The row, in this order: `ringflow`, the `peers` (each with
  // `peer_detail`), `columns`, then the bound unless `columns` places it.
  Column ringflow;
  std::vector<std::string> peers;
  std::string peer_detail;
  std::vector<Column> columns;
  // Why the peer columns left out of `peers` are n/a, unless
  // `not_applicable` names the column itself.
  std::string others;
  std::map<std::string, std::string> not_applicable;
  // When set, ringflow's ratio is to this column, not to the best peer.
  std::string compare_to;
  // The ratios the summary reports for this row, with their targets.
  std::vector<Comparison> comparisons;
  std::string note;
};

// The ringflow column, read as `setup` says.
inline Column Ringflow(std::string detail, RingflowSetup setup = {}) {
  return {kRingflowColumn, std::move(detail), Runner::kRingflow, setup};
}
// The bound, placed where it stands in Scenario::columns.
inline Column Bound() {
  return {.name = kBoundColumn, .runner = Runner::kBound};
}

// Every scenario, in table order (scenarios.cc).
std::vector<Scenario> AllScenarios();

// What a peer's API offers (peers.cc fills it in, from each in-process
// adapter's traits, peers.h): a scenario picks its peer columns by it.
struct PeerApi {
  bool in_process = false;  // its queues live in this process
  bool spsc = false;        // one producer and one consumer per queue
  bool bulk = false;        // bulk push and pop
  bool blocking = false;    // a blocking wait (the Blocking PingPongs)
  bool lock_free = false;   // false: a lock-based reference
  bool shm_events = false;  // int64_t across processes: SharedOneToOne and
                            // SharedPingPong
  bool shm_bytes = false;   // byte records across processes:
                            // SharedByteOneToOne
};
// The peer columns whose API `offers` accepts, in column order.
std::vector<std::string> PeersWith(bool (*offers)(const PeerApi&));
// What peer `column` offers; empty when there is no such peer.
std::optional<PeerApi> PeerApiOf(std::string_view column);
// Why peer `column` cannot run on this machine (iceoryx without RouDi),
// or empty.
std::string PeerUnavailable(std::string_view column);
// The run of scenario `s` for the peer column `peer`, or null when there
// is no such peer or its API does not offer `s`'s topology.
RunFn PeerRun(const Scenario& s, std::string_view peer);

// The families whose columns carry their own runs (Topology::kOwn), each
// in its own file: Async (async_bench.cc: NotifierWake, and the AsyncQueue
// rows when the bench is built with ringflow::async, RINGFLOW_BENCH_ASYNC),
// Bytes (byte_bench.cc: ByteRing rows in and across processes), Bridge
// (bridge_bench.cc: rings through NATS JetStream against bare nats.c, when
// built with ringflow::bridge, RINGFLOW_BENCH_BRIDGE; otherwise its columns
// are n/a). A new family is one such file and one line in AllScenarios.
std::vector<Scenario> AsyncScenarios();
std::vector<Scenario> ByteScenarios();
std::vector<Scenario> BridgeScenarios();
// A column that runs `run` (Runner::kOwn).
inline Column Own(std::string name, std::string detail, RunFn run) {
  return {.name = std::move(name),
          .detail = std::move(detail),
          .runner = Runner::kOwn,
          .run = std::move(run)};
}
// The cross-process rows of the Bytes family: SharedByteOneToOne<n>.
inline constexpr char kSharedBytePrefix[] = "SharedByteOneToOne";
// ringflow's run of SharedByteOneToOne<n> (shared_byte_bench.cc), and its
// child process (role rf-bytes): the exit status, empty for other roles.
RunFn SharedByteRun(int64_t n);
std::optional<int> RunSharedByteChild(std::string_view role,
                                      std::string_view arg, int64_t events,
                                      bool pin);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_SCENARIO_H_
