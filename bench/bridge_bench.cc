// bench/bridge_bench.cc — the Bridge family (issue 17): rings bridged
// through NATS JetStream, against the bare nats.c ceiling, in the same run
// on the same 3-node nats-server cluster (127.0.0.1, started once by the
// first run and stopped at exit; tools/internal/nats_cluster.h).
//
//   BridgeR1 / BridgeR3   N 64-byte events through a stream of 1 / 3
//                         replicas (file storage), all published at once:
//                         events/s from the first publish to the last read.
//   BridgeLatencyR1 / R3  the same path at a fixed 2,000 events/s: publish
//                         to read latency p50/p99 of each event.
//   Columns: ringflow = RingBuffer A -> JetStreamSink (message ids,
//   ExpectLastMsgId chaining, window 256) -> stream -> JetStreamSource
//   (durable pull consumer, fetch 256, acks after the ring publish) ->
//   RingBuffer B, read by an EventPoller; raw = a bare nats.c publisher
//   (js_PublishAsync, at most 256 pending, no message id) and a bare pull
//   consumer (fetch 256, ack each) on the same events: the ceiling;
//   raw+ids = raw with Nats-Msg-Id on every publish (the stream's
//   deduplication), so raw / raw+ids is the cost of the ids and raw+ids /
//   ringflow the cost of the rest of exactly-once (the chained publishes,
//   the ring hops, the source's mark); ringflow unchained = the ringflow
//   path with strict_order off (no ExpectLastMsgId), the cost of keeping
//   the stream in ring order across a leader change.
// Every reader checks each event's sequence (0..N-1, in order, once) and a
// checksum; a run with a lost, duplicated or torn event fails.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "scenario.h"
#include "topology.h"

#if RINGFLOW_BENCH_BRIDGE
#include "nats/nats.h"
#include "ringflow/bridge/jetstream.h"
#include "ringflow/bridge/jetstream_sink.h"
#include "ringflow/bridge/jetstream_source.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/processors/event_poller.h"
#include "tools/internal/nats_cluster.h"
#include "tools/latency_histogram.h"
#endif

namespace ringflow::bench {

inline constexpr char kRawColumn[] = "raw nats.c";
inline constexpr char kRawIdsColumn[] = "raw nats.c + ids";
inline constexpr char kUnchainedColumn[] = "ringflow unchained";

#if RINGFLOW_BENCH_BRIDGE
namespace {

using tools_internal::NatsCluster;

constexpr int64_t kWindow = 256;
constexpr int64_t kLatencyRate = 2'000;  // events/s of the latency rows

struct alignas(64) BenchEvent {
  int64_t sequence;
  int64_t publish_ns;
  uint64_t check;
  int64_t pad[5];
};
static_assert(sizeof(BenchEvent) == 64, "one 64-byte message per event");

uint64_t CheckOf(int64_t sequence) {
  return static_cast<uint64_t>(sequence) * 0x9E3779B97F4A7C15ull ^ 0x5bd1e995;
}

// What every reader checks, and the latency of each event.
struct EventSink {
  void See(const BenchEvent& e, int64_t now_ns) {
    if (e.sequence != next || e.check != CheckOf(e.sequence)) ++bad;
    next = e.sequence + 1;
    ++count;
    // Event 0 sets the path up (Produce): not a latency sample.
    if (e.sequence > 0) latency.Record(now_ns - e.publish_ns);
    // Release: Produce's acquire load of `first_read` sees it once read.
    if (count == 1) first_read.store(true, std::memory_order_release);
  }
  bool Arrived() const {
    // Acquire: pairs with the release store in See.
    return first_read.load(std::memory_order_acquire);
  }
  void Verify(const RunContext& ctx) const {
    CheckEqual(ctx, count, ctx.events, "events read");
    CheckEqual(ctx, bad, 0, "events out of order, duplicated or torn");
  }
  int64_t next = 0;
  int64_t count = 0;
  int64_t bad = 0;
  tools::LatencyHistogram latency;
  std::atomic<bool> first_read{false};  // written by the reader thread
};

// The cluster, started by the first run, stopped at exit.
NatsCluster& Cluster(const RunContext& ctx) {
  static std::unique_ptr<NatsCluster> cluster;
  if (cluster == nullptr) {
    auto started = NatsCluster::Start({.nodes = 3});
    if (!started.ok())
      Fail(ctx.scenario, ctx.impl, started.status().ToString());
    cluster = std::move(*started);
    const absl::Status ready = cluster->WaitReady(absl::Seconds(60), 3);
    if (!ready.ok()) Fail(ctx.scenario, ctx.impl, ready.ToString());
  }
  return *cluster;
}

// A fresh stream per run (no earlier run's ids or messages), deleted after.
class Stream {
 public:
  Stream(const RunContext& ctx, int replicas) {
    static int runs = 0;
    name_ = "BENCH" + std::to_string(++runs);
    subject_ = "bench." + std::to_string(runs);
    options_.servers = Cluster(ctx).urls();
    options_.stream = name_;
    options_.subject = subject_;
    options_.window = kWindow;
    auto conn = bridge::NatsConnection::Connect(options_);
    if (!conn.ok()) Fail(ctx.scenario, ctx.impl, conn.status().ToString());
    conn_ = std::move(*conn);
    auto js = bridge::JetStream::Create(*conn_, absl::Seconds(10));
    if (!js.ok()) Fail(ctx.scenario, ctx.impl, js.status().ToString());
    js_ = std::move(*js);
    bridge::StreamSpec spec;
    spec.name = name_;
    spec.subjects = {subject_};
    spec.replicas = replicas;
    const absl::Status made = js_->EnsureStream(spec);
    if (!made.ok()) Fail(ctx.scenario, ctx.impl, made.ToString());
  }
  ~Stream() { (void)js_->DeleteStream(name_); }
  const bridge::BridgeOptions& options() const { return options_; }

 private:
  std::string name_;
  std::string subject_;
  bridge::BridgeOptions options_;
  std::unique_ptr<bridge::NatsConnection> conn_;
  std::unique_ptr<bridge::JetStream> js_;
};

// Publishes events 0..n-1 with `publish(event)`: event 0 alone, and once
// `arrived()` says it was read (the path is set up: connections, the
// durable consumer, the stream's leader), the rest all at once or at
// `rate` events/s (0: at once). Returns when the rest started: the time
// the figures count from.
template <typename Publish, typename Arrived>
int64_t Produce(const RunContext& ctx, int64_t n, int64_t rate,
                Publish&& publish, Arrived&& arrived) {
  BenchEvent first{};
  first.check = CheckOf(0);
  first.publish_ns = NowNs();
  publish(first);
  const int64_t deadline = NowNs() + int64_t{ctx.timeout_s} * 1'000'000'000;
  while (!arrived()) {
    if (NowNs() > deadline) FailTimeout(ctx.scenario, ctx.impl, ctx.timeout_s);
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  const int64_t start = NowNs();
  for (int64_t i = 1; i < n; ++i) {
    if (rate > 0) {
      const int64_t due = start + i * 1'000'000'000 / rate;
      while (NowNs() < due) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
    BenchEvent e{};
    e.sequence = i;
    e.check = CheckOf(i);
    e.publish_ns = NowNs();
    publish(e);
  }
  return start;
}

Metrics Result(const RunContext& ctx, const EventSink& sink, int64_t start_ns,
               int64_t end_ns, bool latency) {
  sink.Verify(ctx);
  if (latency) {
    return {static_cast<double>(sink.latency.Percentile(0.50)),
            static_cast<double>(sink.latency.Percentile(0.99))};
  }
  return {static_cast<double>(ctx.events - 1) * 1e6 /
          static_cast<double>(std::max<int64_t>(1, end_ns - start_ns))};
}

Metrics RingflowBridge(const RunContext& ctx, int replicas, bool chained,
                       bool latency) {
  Stream stream(ctx, replicas);
  using Ring = RingBuffer<BenchEvent>;
  auto a = Ring::Create({.capacity = 4096,
                         .producer_type = ProducerType::kSingle,
                         .wait_strategy = WaitStrategyKind::kYielding,
                         .name = "a"});
  auto b = Ring::Create({.capacity = 4096,
                         .producer_type = ProducerType::kSingle,
                         .wait_strategy = WaitStrategyKind::kYielding,
                         .name = "b"});
  if (!a.ok() || !b.ok()) Fail(ctx.scenario, ctx.impl, "ring create failed");
  bridge::BridgeOptions so = stream.options();
  so.id = "a";
  so.epoch = std::random_device{}() | 1;
  so.strict_order = chained;
  auto sink = bridge::JetStreamSink<BenchEvent>::Create(
      **a,
      [](const BenchEvent& e, std::string& out) {
        out.assign(reinterpret_cast<const char*>(&e), sizeof(e));
      },
      so);
  if (!sink.ok()) Fail(ctx.scenario, ctx.impl, sink.status().ToString());
  bridge::BridgeOptions ro = stream.options();
  ro.durable = "b";
  auto source = bridge::JetStreamSource<Ring>::Create(
      **b,
      [](const char* data, size_t size, BenchEvent& out) {
        if (size == sizeof(out)) std::memcpy(&out, data, sizeof(out));
      },
      ro);
  if (!source.ok()) Fail(ctx.scenario, ctx.impl, source.status().ToString());
  auto poller = EventPoller<BenchEvent>::Create(**b);
  if (!poller.ok()) Fail(ctx.scenario, ctx.impl, poller.status().ToString());

  std::atomic<bool> stop{false};
  std::thread sink_thread([&] { (void)(*sink)->Run(stop); });
  std::thread source_thread([&] { (void)(*source)->Run(stop); });
  EventSink seen;
  int64_t end_ns = 0;
  std::thread reader([&] {
    const int64_t deadline = NowNs() + int64_t{ctx.timeout_s} * 1'000'000'000;
    while (seen.count < ctx.events && NowNs() < deadline) {
      const PollState state =
          (*poller)->Poll([&](const BenchEvent& e, int64_t, bool) {
            seen.See(e, NowNs());
            return true;
          });
      if (state != PollState::kProcessing) std::this_thread::yield();
    }
    end_ns = NowNs();
  });
  const int64_t start_ns = Produce(
      ctx, ctx.events, latency ? kLatencyRate : 0,
      [&](const BenchEvent& e) {
        (*a)->PublishEvent([&](BenchEvent& slot, int64_t) { slot = e; });
      },
      [&] { return seen.Arrived(); });
  reader.join();
  stop = true;
  sink_thread.join();
  source_thread.join();
  return Result(ctx, seen, start_ns, end_ns, latency);
}

// The bare nats.c pair: js_PublishAsync (with or without a message id) and
// a durable pull consumer acking each message.
Metrics RawBridge(const RunContext& ctx, int replicas, bool ids, bool latency) {
  Stream stream(ctx, replicas);
  const bridge::BridgeOptions& o = stream.options();
  auto pub_conn = bridge::NatsConnection::Connect(o);
  auto sub_conn = bridge::NatsConnection::Connect(o);
  if (!pub_conn.ok() || !sub_conn.ok()) {
    Fail(ctx.scenario, ctx.impl, "connect failed");
  }
  std::atomic<int64_t> acked{0};
  bridge::PublishAckHandler acks;
  acks.max_pending = kWindow;
  acks.closure = &acked;
  acks.on_ack = [](void* closure, natsMsg*, bool, uint64_t) {
    // Relaxed: a count read after js_PublishAsyncComplete.
    static_cast<std::atomic<int64_t>*>(closure)->fetch_add(
        1, std::memory_order_relaxed);
  };
  acks.on_error = [](void*, natsMsg*, int, int, const char*) {};
  auto pub_js = bridge::JetStream::Create(**pub_conn, absl::Seconds(10), &acks);
  auto sub_js = bridge::JetStream::Create(**sub_conn, absl::Seconds(10));
  if (!pub_js.ok() || !sub_js.ok()) {
    Fail(ctx.scenario, ctx.impl, "JetStream context failed");
  }
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = o.stream.c_str();
  natsSubscription* sub = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (js_PullSubscribe(&sub, (*sub_js)->get(), o.subject.c_str(), "raw",
                       nullptr, &so, &code) != NATS_OK) {
    Fail(ctx.scenario, ctx.impl, "js_PullSubscribe failed");
  }
  EventSink seen;
  int64_t end_ns = 0;
  std::thread reader([&] {
    const int64_t deadline = NowNs() + int64_t{ctx.timeout_s} * 1'000'000'000;
    while (seen.count < ctx.events && NowNs() < deadline) {
      natsMsgList list;
      std::memset(&list, 0, sizeof(list));
      const natsStatus s =
          natsSubscription_Fetch(&list, sub, kWindow, 250, &code);
      if (s == NATS_OK || list.Count > 0) {
        for (int i = 0; i < list.Count; ++i) {
          BenchEvent e{};
          if (natsMsg_GetDataLength(list.Msgs[i]) == sizeof(e)) {
            std::memcpy(&e, natsMsg_GetData(list.Msgs[i]), sizeof(e));
          }
          seen.See(e, NowNs());
          natsMsg_Ack(list.Msgs[i], nullptr);
        }
      }
      natsMsgList_Destroy(&list);
    }
    end_ns = NowNs();
  });
  std::string id;
  const int64_t start_ns = Produce(
      ctx, ctx.events, latency ? kLatencyRate : 0,
      [&](const BenchEvent& e) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        if (ids) {
          id = "raw:" + std::to_string(e.sequence);
          po.MsgId = id.c_str();
        }
        // A full pending list (StallWait 1 ms) is retried: never skipped.
        while (js_PublishAsync((*pub_js)->get(), o.subject.c_str(), &e,
                               static_cast<int>(sizeof(e)), &po) != NATS_OK) {
        }
      },
      [&] { return seen.Arrived(); });
  reader.join();
  jsPubOptions complete;
  jsPubOptions_Init(&complete);
  complete.MaxWait = 10'000;
  (void)js_PublishAsyncComplete((*pub_js)->get(), &complete);
  natsSubscription_Destroy(sub);
  return Result(ctx, seen, start_ns, end_ns, latency);
}

}  // namespace
#endif  // RINGFLOW_BENCH_BRIDGE

std::vector<Scenario> BridgeScenarios() {
  std::vector<Scenario> rows;
  for (const int replicas : {1, 3}) {
    for (const bool latency : {false, true}) {
      const std::string r = "R" + std::to_string(replicas);
      // Paced at a fixed rate, so the warm-up's calibration keeps a run
      // near kTargetRunSeconds as for the throughput rows.
      Measure measure = {.unit = "k ev/s"};
      if (latency) {
        measure = LatencyMeasure({"p50", "p99"});
        measure.by_budget = false;
      }
      // Each column's run: bare nats.c (with or without message ids), or
      // ringflow's sink and source (chained or not).
      auto run = [replicas, latency](bool raw, bool flag) -> RunFn {
#if RINGFLOW_BENCH_BRIDGE
        if (raw) {
          return [replicas, ids = flag, latency](const RunContext& ctx) {
            return RawBridge(ctx, replicas, ids, latency);
          };
        }
        return [replicas, chained = flag, latency](const RunContext& ctx) {
          return RingflowBridge(ctx, replicas, chained, latency);
        };
#else
        (void)raw;
        (void)flag;
        return nullptr;
#endif
      };
      rows.push_back(
          {.name = latency ? "BridgeLatency" + r : "Bridge" + r,
           .family = "Bridge",
           .topology = Topology::kOwn,
           .events = latency ? 4'000 : 40'000,
           .smoke_events = 200,
           .bound = false,
           .measure = measure,
           .ringflow = Own(kRingflowColumn,
                           "RingBuffer -> JetStreamSink (ids, chained, window "
                           "256) -> stream -> JetStreamSource -> RingBuffer",
                           run(/*raw=*/false, /*chained=*/true)),
           .columns = {Own(kUnchainedColumn,
                           "the same with strict_order off: ids, no "
                           "ExpectLastMsgId chaining (exactly once, but a "
                           "leader change may reorder the stream)",
                           run(/*raw=*/false, /*chained=*/false)),
                       Own(kRawIdsColumn,
                           "js_PublishAsync with Nats-Msg-Id, 256 pending; "
                           "pull consumer, fetch 256, ack each",
                           run(/*raw=*/true, /*ids=*/true)),
                       Own(kRawColumn,
                           "js_PublishAsync, 256 pending; pull consumer, "
                           "fetch 256, ack each",
                           run(/*raw=*/true, /*ids=*/false))},
           .others = "not NATS clients",
           .compare_to = kRawColumn,
           .note = "64-byte events through a " + r +
                   " stream (file storage) on a 3-node nats-server cluster "
                   "on 127.0.0.1 started by the bench; " +
                   (latency ? "paced at 2,000 events/s, publish-to-read "
                              "latency p50/p99"
                            : "published at once, events/s from the first "
                              "publish to the last read") +
                   "; every event's sequence and checksum checked; target "
                   "ringflow >= 0.8x raw nats.c"});
      if (!latency) {
        rows.back().comparisons = {{.b = kRawColumn, .target = 0.8}};
      }
#if !RINGFLOW_BENCH_BRIDGE
      rows.back().skip =
          "built without ringflow::bridge (libnats-dev, "
          "RINGFLOW_BUILD_BRIDGE)";
#endif
    }
  }
  return rows;
}

}  // namespace ringflow::bench
