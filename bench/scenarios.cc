// bench/scenarios.cc — the registry: every topology scenario, in table
// order (scenario.h says what the fields mean). A new scenario is one more
// entry; its topology's implementations already exist.

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "peers/boost_interprocess.h"
#include "peers/boost_message_queue.h"
#include "peers/iceoryx.h"
#include "report.h"
#include "scenario.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

// Peer columns by what their APIs offer (PeerApi).
bool InProcess(const PeerApi& p) { return p.in_process; }
bool Spsc(const PeerApi& p) { return p.in_process && p.spsc; }
bool Bulk(const PeerApi& p) { return p.in_process && p.bulk; }
bool Blocking(const PeerApi& p) { return p.in_process && p.blocking; }
// One queue per edge of a graph: the SPSC queues, and the lock-based
// reference.
bool Edge(const PeerApi& p) { return p.in_process && (p.spsc || !p.lock_free); }
bool Mpmc(const PeerApi& p) { return p.in_process && !p.spsc; }
bool LockFreeMpmc(const PeerApi& p) { return Mpmc(p) && p.lock_free; }
bool ShmEvents(const PeerApi& p) { return p.shm_events; }
bool ShmEventsBlocking(const PeerApi& p) { return p.shm_events && p.blocking; }

// Why a cross-process peer is n/a in the other rows.
std::string CrossProcessOnly(const PeerApi& p) {
  if (p.shm_events && p.shm_bytes)
    return "a cross-process peer: Shared rows only";
  if (p.shm_events) {
    return "a cross-process peer: SharedOneToOne and SharedPingPong only";
  }
  return "a cross-process byte-record peer: SharedByteOneToOne only";
}

constexpr const char* kNoBulk = "no bulk push/pop API";
constexpr const char* kSpscShape =
    "MPMC queue; the SPSC peers (one queue per edge) are the natural build";
constexpr const char* kNeedsMpmc = "single producer / single consumer only";

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

// "4 threads on 2 CPUs: spin then yield" (the wait ModeFor chooses).
std::string ThreadsOnCpus(int threads) {
  return std::to_string(threads) + " threads on " +
         std::to_string(Pinning::Get().cpus()) + " CPUs: " +
         (ModeFor(threads) == WaitMode::kBusySpin ? "busy spin"
                                                  : "spin then yield");
}

std::string Count(int n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

Scenario OneToOneBatch(int64_t k) {
  const std::string ks = std::to_string(k);
  return {.name = "OneToOneBatch" + ks,
          .family = "OneToOneBatch",
          .batch = k,
          .events = kBaseEvents,
          .smoke_events = 6400,
          .ringflow = Ringflow("PublishEvents(k), BatchEventProcessor"),
          .peers = PeersWith(Bulk),
          .peer_detail = "bulk push of k, bulk pop",
          .others = kNoBulk,
          .note = "ringflow: PublishEvents(" + ks + "); peers: bulk push of " +
                  ks + ", bulk pop of up to " + std::to_string(kPopBulkMax)};
}

Scenario OneToOnePoller(bool lease) {
  return {.name = lease ? "OneToOneLease" : "OneToOnePoller",
          .events = kBaseEvents,
          .smoke_events = 5000,
          .ringflow =
              Ringflow(lease ? "EventPoller::TryLeaseBatch" : "Poll",
                       {.reader = lease ? Reader::kLeaseBatch : Reader::kPoll}),
          .peers = PeersWith(Spsc),
          .peer_detail = "one push / one pop per event",
          .others =
              "measured in OneToOne (same shape); the SPSC peers "
              "repeat here as the reference",
          .note = lease ? "ringflow: EventPoller::TryLeaseBatch (whole "
                          "available batch, read in place, released at "
                          "once), PollerOptions::stream_backoff_pauses = "
                          "256; peers as OneToOne"
                        : "ringflow: EventPoller::Poll in a spinning loop, "
                          "PollerOptions::stream_backoff_pauses = 256; "
                          "peers as OneToOne"};
}

Scenario PingPong(bool blocking) {
  Scenario s{.name = blocking ? "PingPongBlocking" : "PingPongBusySpin",
             .family = "PingPong",
             .topology = Topology::kPingPong,
             .wait = blocking ? WaitStrategyKind::kBlocking
                              : WaitStrategyKind::kBusySpin,
             .events = blocking ? 100'000 : 1'000'000,
             .smoke_events = blocking ? 500 : 2000,
             .capacity = 1024,  // LMAX PingPong
             .budget_ms = 500,
             .smoke_budget_ms = 100,
             .measure = LatencyMeasure(),
             .ringflow = Ringflow(blocking ? "two rings, kBlocking"
                                           : "two rings, kBusySpin"),
             .peers = PeersWith(blocking ? Blocking : InProcess),
             .peer_detail = blocking ? "two queues, blocking pop"
                                     : "two queues, spinning pop",
             .others = "no blocking wait"};
  s.note = "round trip between two rings of " + std::to_string(s.capacity) +
           " (" +
           (blocking ? "ringflow kBlocking; peers with a blocking wait"
                     : "ringflow kBusySpin; peers spin") +
           "), histogram per round trip, closed loop (no coordinated "
           "omission); each run stops after " +
           std::to_string(s.events) + " round trips or " +
           std::to_string(s.budget_ms) + " ms";
  return s;
}

// PingPong across two processes: ringflow over two SharedRings, and the
// cross-process peers (boost-shm busy spin only: it has no blocking wait).
Scenario SharedPingPong(bool blocking) {
  Scenario s{
      .name = blocking ? "SharedPingPongBlocking" : "SharedPingPongBusySpin",
      .family = "SharedPingPong",
      .topology = Topology::kPingPong,
      .wait =
          blocking ? WaitStrategyKind::kBlocking : WaitStrategyKind::kBusySpin,
      .events = blocking ? 100'000 : 1'000'000,
      // At least 1000: the child processes take --events (>= 1000).
      .smoke_events = 1000,
      .capacity = 1024,  // as PingPong
      .budget_ms = 500,
      .smoke_budget_ms = 100,
      .measure = LatencyMeasure(),
      .ringflow = {kRingflowColumn,
                   blocking ? "two SharedRings, kBlocking, ponger in a child "
                              "process"
                            : "two SharedRings, kBusySpin, ponger in a child "
                              "process",
                   Runner::kSharedCrossProcess},
      .peers = PeersWith(blocking ? ShmEventsBlocking : ShmEvents),
      .peer_detail = blocking ? "pinger and ponger in two child processes, "
                                "each waiting in a WaitSet"
                              : "ponger in a child process (iceoryx: pinger "
                                "too), spinning",
      .others = "in-process queues: measured in PingPong",
      .compare_to = kIceoryxColumn,
      .comparisons = {{.b = kIceoryxColumn, .target = 0.5}}};
  if (blocking) {
    s.not_applicable[kBoostShmColumn] =
        "a raw lock-free ring has no blocking wait";
  }
  s.note =
      "round trip between two processes over two rings of " +
      std::to_string(s.capacity) + " (" +
      (blocking ? "ringflow kBlocking: SharedConsumer::WaitForEvents, a "
                  "futex in the shared control segment; iceoryx: WaitSet "
                  "attached to the subscriber's HAS_DATA state"
                : "ringflow kBusySpin: SharedConsumer::Poll in a spinning "
                  "loop; boost-shm: spsc_queue pop in a spinning loop; "
                  "iceoryx: take in a spinning loop") +
      "), histogram per round trip, closed loop; ringflow and boost-shm ping "
      "from the bench process, iceoryx from a second child process (its "
      "runtime is once per process and cannot outlive the RouDi the bench "
      "starts per scenario); iceoryx: Publisher<int64_t> loan/publish "
      "(WAIT_FOR_CONSUMER), Subscriber<int64_t> take/release "
      "(BLOCK_PRODUCER); every pong checked against its ping; each run stops "
      "after " +
      std::to_string(s.events) + " round trips or " +
      std::to_string(s.budget_ms) +
      " ms; ratio against iceoryx (target <= 0.5)";
  return s;
}

// The sharded column of a Scaling row: a ShardedEventProcessor over one
// shard per producer, or (competing consumers) the ShardedQueue.
Column Sharded(bool pool, int producers, int consumers) {
  if (pool) {
    return {kShardedColumn,
            "ShardedQueue, " + Count(producers, "producer token") + ", " +
                Count(consumers, "consumer token"),
            Runner::kShardedQueue};
  }
  return {
      kShardedColumn,
      "ShardedRing, " + Count(producers, "shard") + ", ShardedEventProcessor",
      Runner::kShardedRing};
}

// ThreeToOne's and WorkerPool's shapes over 1-8 producers and 1 or 3
// consumers, for a machine with at least producers + consumers cores.
Scenario Scaling(int producers, int consumers) {
  const bool pool = consumers > 1;
  const std::string publishing =
      Count(producers, "producer") +
      " (producer p publishes p, p+P, ... one at a time; ringflow kMulti "
      "ring, PublishEvent), ";
  const std::string threads = ThreadsOnCpus(producers + consumers);
  const std::string lock_free_only =
      "Scaling runs the lock-free MPMC peers only; the mutex is measured in "
      "ThreeToOne and WorkerPool";
  return {.name = "ScalingP" + std::to_string(producers) + "C" +
                  std::to_string(consumers),
          .family = "Scaling",
          .topology = pool ? Topology::kManyToWorkers : Topology::kManyToOne,
          .producers = producers,
          .consumers = consumers,
          .events = kBaseEvents / 4,
          .smoke_events = 4000,
          .multiple_of = kScalingMultiple,
          .opt_in = true,
          .ringflow = Ringflow(
              pool ? "kMulti ring, WorkerPool of " + std::to_string(consumers)
                   : "kMulti ring, BatchEventProcessor",
              {.producer_type = ProducerType::kMulti}),
          .peers = PeersWith(LockFreeMpmc),
          .peer_detail = "MPMC queue, " + Count(producers, "producer") + ", " +
                         Count(consumers, "consumer"),
          .columns = {Sharded(pool, producers, consumers)},
          .others = kNeedsMpmc,
          .not_applicable = {{"mutex", lock_free_only}},
          .comparisons = {{.a = kShardedColumn, .b = "mc-cq"},
                          {.a = kShardedColumn, .b = "aq-mpmc"}},
          .note = pool
                      ? publishing + std::to_string(consumers) +
                            " competing consumers (" + threads +
                            "); each event handled exactly once and the count "
                            "checked; ringflow WorkerPool; peers: the scenario "
                            "thread pushes a -1 per consumer once the "
                            "consumers' counts reach N"
                      : publishing + "1 consumer (" + threads +
                            "); sum and per-producer order checked; ringflow "
                            "BatchEventProcessor; aq-mpmc: sum only (as "
                            "ThreeToOne)"};
}

// Many producers without a shared cursor: a ShardedRing (one
// single-producer shard per producer) against the RingBuffer it replaces.
Scenario ShardedScenario(int producers) {
  const bool one = producers == 1;
  const std::string threads = ThreadsOnCpus(producers + 1);
  Scenario s{
      .name = one ? "ShardedOneToOne" : "ShardedThreeToOne",
      .family = "Sharded",
      .topology = one ? Topology::kOneToOne : Topology::kManyToOne,
      .producers = producers,
      .events = one ? kBaseEvents : kBaseEvents / 4,
      .smoke_events = 3000,
      .multiple_of = producers,
      .ringflow = {kRingflowColumn,
                   "ShardedRing, " + Count(producers, "shard") +
                       ", ShardedEventProcessor",
                   Runner::kShardedRing},
      .peers = one ? std::vector<std::string>{}
                   : std::vector<std::string>{"mc-cq", "aq-mpmc"},
      .peer_detail = "MPMC queue, 3 producers",
      .columns = {one ? Column{"OneToOne",
                               "RingBuffer (kSingle), BatchEventProcessor"}
                      : Column{"kMulti",
                               "RingBuffer (kMulti), BatchEventProcessor",
                               Runner::kRingflow,
                               {.producer_type = ProducerType::kMulti}}},
      .others = one ? "in-process queues: measured in OneToOne"
                    : "measured in ThreeToOne",
      .compare_to = one ? "OneToOne" : "kMulti"};
  s.comparisons = {{.b = s.compare_to, .target = one ? 0.9 : 1.5}};
  if (!one) s.comparisons.push_back({.b = "mc-cq", .target = 2});
  s.note = one ? "one producer registered on a ShardedRing (its shard is a "
                 "kSingle RingBuffer), ShardedEventProcessor with the default "
                 "stream backoff, busy spin, sum and order checked; OneToOne: "
                 "the same events through one RingBuffer; target >= 0.9"
               : "3 producers, each with its own shard, 1 "
                 "ShardedEventProcessor (" +
                     threads +
                     "), sum and per-producer order checked; kMulti: "
                     "ThreeToOne's ringflow run; mc-cq with producer and "
                     "consumer tokens; aq-mpmc: sum only; targets >= 1.5x "
                     "kMulti and >= 2x mc-cq";
  return s;
}

// The ShardedQueue through the very code that runs the MPMC peers
// (peer_topologies.h): 1P1C with tokens, bulk of 1000, 3P3C.
Scenario QueueScenario(int64_t batch, int producers, int consumers) {
  const bool many = producers > 1;
  const std::string name = many        ? "QueueThreeToThree"
                           : batch > 1 ? "QueueBulk" + std::to_string(batch)
                                       : "QueueOneToOne";
  Scenario s{
      .name = name,
      .family = "Queue",
      .topology = many ? Topology::kManyToWorkers : Topology::kOneToOne,
      .producers = producers,
      .consumers = consumers,
      .batch = batch,
      .events = many ? kBaseEvents / 4 : kBaseEvents,
      .smoke_events = 3000,
      .multiple_of = many ? producers : batch,
      .ringflow = {kRingflowColumn,
                   batch > 1 ? "ShardedQueue, TryEnqueueBulk / TryDequeueBulk"
                             : "ShardedQueue, TryEnqueue / TryDequeue, tokens",
                   Runner::kShardedQueue},
      .peers = batch > 1 ? std::vector<std::string>{"mc-cq"}
                         : std::vector<std::string>{"mc-cq", "aq-mpmc"},
      .peer_detail = batch > 1 ? "bulk push of k, bulk pop"
                               : "tokens where the library has them",
      .others = batch > 1 ? kNoBulk : "not an MPMC queue"};
  s.note =
      "the ShardedQueue (kBusySpin, one shard per producer token) in the "
      "peers' own harness: " +
      std::string(
          many ? "3 producers, 3 competing consumers (" + ThreadsOnCpus(6) +
                     "), each value handled exactly once "
                     "(checked)"
          : batch > 1 ? "bulk enqueue of " + std::to_string(batch) +
                            ", bulk dequeue of up to " +
                            std::to_string(kPopBulkMax) + ", sum checked"
                      : "one item per call with producer and "
                        "consumer tokens, sum checked") +
      "; mc-cq with its tokens and bulk calls; target >= 1.5x mc-cq";
  s.comparisons = {{.b = "mc-cq", .target = 1.5}};
  return s;
}

// "4 threads on 2 CPUs: spin then yield" for the 1 -> 3 and 3 -> 1 rows.
std::string Yield4() { return ThreadsOnCpus(4); }

Scenario OneToOne() {
  return {.name = "OneToOne",
          .events = kBaseEvents,
          .smoke_events = 5000,
          .ringflow = Ringflow("PublishEvent, BatchEventProcessor"),
          .peers = PeersWith(InProcess),
          .peer_detail = "one push / one pop per event",
          // Two more references, listed below the table: the stream backoff's
          // effect, and the raw ring given the same backoff.
          .columns = {Bound(),
                      {kOneToOneNoBackoff,
                       "PublishEvent, BatchEventProcessor, "
                       "stream_backoff_pauses = 0",
                       Runner::kRingflow,
                       {.backoff_pauses = 0}},
                      {.name = kRawRingWithBackoff,
                       .detail = "raw ring, cursor published every event, "
                                 "consumer with ringflow's stream backoff",
                       .runner = Runner::kBound,
                       .bound_backoff_pauses = kDefaultBackoff}},
          .comparisons = {{.a = kRawRingWithBackoff,
                           .b = kBestPeer,
                           .why = "the most a ring that stores its cursor once "
                                  "per event shows against that peer here"}},
          .note = "ringflow: PublishEvent + BatchEventProcessor, busy spin"};
}

// One producer, three consumers in the graph `topology`: a queue per edge
// for the peers.
Scenario OneToThree(Topology topology) {
  Scenario s{.topology = topology,
             .consumers = kConsumers,
             .events = kBaseEvents / 4,
             .smoke_events = 3000,
             .peers = PeersWith(Edge),
             .peer_detail = "a queue per edge",
             .others = kSpscShape};
  switch (topology) {
    case Topology::kOneToThreeMulticast:
      s.name = "OneToThreeMulticast";
      s.ringflow = Ringflow("3 BatchEventProcessors on one ring");
      s.peer_detail = "one queue per consumer";
      s.note = "every consumer sees every event (" + Yield4() +
               "); peers: one SPSC queue per consumer";
      break;
    case Topology::kOneToThreePipeline:
      s.name = "OneToThreePipeline";
      s.ringflow = Ringflow("3 dependent BatchEventProcessors");
      s.note = "stage1 +1 -> stage2 +1 -> sum (" + Yield4() +
               "); peers: a queue between stages";
      break;
    default:
      s.name = "OneToThreeDiamond";
      s.ringflow = Ringflow("fizz, buzz -> fizzbuzz processors");
      s.note = "fizz, buzz in parallel -> fizzbuzz count (" + Yield4() +
               "); ringflow event {int64 value; bool fizz, buzz}; peers: "
               "four queues (fan out, join)";
      break;
  }
  return s;
}

// Three producers into one consumer (kManyToOne), or one producer into
// three competing consumers (kManyToWorkers): the MPMC peers.
Scenario ManyTo(Topology topology) {
  const bool pool = topology == Topology::kManyToWorkers;
  return {.name = pool ? "WorkerPool" : "ThreeToOne",
          .topology = topology,
          .producers = pool ? 1 : kProducers,
          .consumers = pool ? kConsumers : 1,
          .events = kBaseEvents / 4,
          .smoke_events = 3000,
          .multiple_of = pool ? 1 : kProducers,
          .ringflow = pool ? Ringflow("WorkerPool, 3 WorkProcessors")
                           : Ringflow("kMulti ring, BatchEventProcessor",
                                      {.producer_type = ProducerType::kMulti}),
          .peers = PeersWith(Mpmc),
          .peer_detail =
              pool ? "MPMC queue, 3 consumers" : "MPMC queue, 3 producers",
          .others = kNeedsMpmc,
          .note = pool ? "1 producer, 3 competing consumers (" + Yield4() +
                             "), each event handled exactly once (checked)"
                       : "3 producers, 1 consumer (" + Yield4() +
                             "), sum and per-producer order checked; ringflow "
                             "kMulti; aq-mpmc: sum only (atomic_queue's MPMC "
                             "mode does not keep a producer's order when that "
                             "producer is preempted between claiming and "
                             "filling a slot)"};
}

Scenario CountersOverhead() {
  return {.name = "CountersOverhead",
          .events = kBaseEvents,
          .smoke_events = 5000,
          .rep_factor = 3,
          .ringflow = Ringflow("OneToOne, counters = true"),
          .columns = {{"counters off",
                       "OneToOne, counters = false",
                       Runner::kRingflow,
                       {.counters = false}}},
          .others = "ringflow against itself",
          .compare_to = "counters off",
          .comparisons = {{.b = "counters off",
                           .target = 0.97,
                           .why = "RingOptions::counters = true / false"}},
          .note =
              "OneToOne with RingOptions::counters = true (ringflow "
              "column) vs false; target on/off >= 0.97"};
}

// OneToOne across two processes, beside the same events in process.
Scenario SharedOneToOne() {
  const std::string in_process_one_to_one = "in-process OneToOne";
  const std::string in_process_shared_ring = "in-process SharedRing";
  return {.name = "SharedOneToOne",
          .events = kBaseEvents,
          .smoke_events = 5000,
          .ringflow = {kRingflowColumn,
                       "SharedRing -> SharedConsumer in another process",
                       Runner::kSharedCrossProcess},
          .peers = PeersWith(ShmEvents),
          .peer_detail =
              "producer here (iceoryx: in a child process too), "
              "consumer in a child process, spinning",
          .columns = {Column{in_process_one_to_one,
                             "OneToOne: RingBuffer, BatchEventProcessor"},
                      {in_process_shared_ring,
                       "SharedRing -> SharedConsumer, both in this process",
                       Runner::kSharedInProcess}},
          .others = "in-process queues: measured in OneToOne",
          .compare_to = in_process_one_to_one,
          .comparisons = {{.b = in_process_one_to_one,
                           .target = 0.9,
                           .why = "the process boundary and the shared ring"},
                          {.b = kIceoryxColumn, .target = 3}},
          .note =
              "OneToOne across two processes (ringflow column): "
              "shm::SharedRing (kSingle, kBusySpin, counters on), "
              "PublishEvent one at a time, in this process; "
              "shm::SharedConsumer::Run (a BatchEventProcessor, busy spin, "
              "stream backoff) in a child process (this binary "
              "re-executed), timed from the first claim to the child's "
              "CLOCK_MONOTONIC after its last event. " +
              in_process_one_to_one +
              ": the OneToOne run (RingBuffer, BatchEventProcessor, "
              "counters on). " +
              in_process_shared_ring +
              ": the cross-process run's producer and consumer as two "
              "threads of this process (the shm ring without the process "
              "boundary). All 2 threads, busy spin; target shared / "
              "in-process OneToOne >= 0.9. boost-shm: "
              "boost::lockfree::spsc_queue<int64_t> in a "
              "boost::interprocess::managed_shared_memory segment, spinning "
              "push here, spinning pop in the child. iceoryx: "
              "Publisher<int64_t> loan/write/publish "
              "(WAIT_FOR_CONSUMER, lossless) in one child process, "
              "Subscriber<int64_t> take/read/release (queue 256, "
              "BLOCK_PRODUCER) spinning in another (iceoryx's runtime is "
              "once per process and cannot outlive the RouDi the bench "
              "starts per scenario), timed from the publisher's first loan; "
              "every peer's count, sum and first value checked (target "
              "ringflow >= 3x iceoryx)"};
}

// What every row gets once the list is built: its family (its own name
// when it has none), and the peers that cannot run here or do not run
// across processes named n/a with their reasons.
void Complete(std::vector<Scenario>& all) {
  // Why a peer cannot run on this machine, asked once per peer.
  std::map<std::string, std::string> unavailable;
  for (const std::string& column : PeerColumns()) {
    unavailable[column] = PeerUnavailable(column);
  }
  for (Scenario& s : all) {
    if (s.family.empty()) s.family = s.name;
    std::erase_if(s.peers, [&](const std::string& column) {
      const std::string& why = unavailable[column];
      if (why.empty()) return false;
      s.not_applicable[column] = why;
      if (s.compare_to == column) s.compare_to.clear();
      return true;
    });
    // The cross-process peers outside their rows: n/a by name, with why
    // (not the scenario's `others`).
    for (const std::string& column : PeerColumns()) {
      const std::optional<PeerApi> api = PeerApiOf(column);
      if (!api->in_process &&
          std::ranges::find(s.peers, column) == s.peers.end()) {
        s.not_applicable.emplace(column, CrossProcessOnly(*api));
      }
    }
  }
}

}  // namespace

std::vector<Scenario> AllScenarios() {
  std::vector<Scenario> all = {
      OneToOne(),
      OneToOneBatch(10),
      OneToOneBatch(64),
      OneToOnePoller(/*lease=*/false),
      OneToOnePoller(/*lease=*/true),
      OneToThree(Topology::kOneToThreeMulticast),
      OneToThree(Topology::kOneToThreePipeline),
      OneToThree(Topology::kOneToThreeDiamond),
      ManyTo(Topology::kManyToOne),
      ManyTo(Topology::kManyToWorkers),
      PingPong(/*blocking=*/false),
      PingPong(/*blocking=*/true),
      CountersOverhead(),
      SharedOneToOne(),
      SharedPingPong(/*blocking=*/false),
      SharedPingPong(/*blocking=*/true),
      ShardedScenario(1),
      ShardedScenario(kProducers),
      QueueScenario(1, 1, 1),
      QueueScenario(1000, 1, 1),
      QueueScenario(1, kProducers, kConsumers),
  };
  // The families in their own files.
  for (auto* family : {AsyncScenarios, ByteScenarios, BridgeScenarios}) {
    for (Scenario& s : family()) all.push_back(std::move(s));
  }
  for (int consumers : kScalingConsumers) {
    for (int producers : kScalingProducers) {
      all.push_back(Scaling(producers, consumers));
    }
  }
  Complete(all);
  return all;
}

}  // namespace ringflow::bench
