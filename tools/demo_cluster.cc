// tools/demo_cluster.cc — `ringflow demo-cluster`: the whole path beyond
// one host, on loopback.
//
//   host A: this process publishes ticks into shared ring ringflow-demo-a
//           at --rate; `ringflow bridge out` (a process) sends them to
//           stream RFDEMO, R3 on a 3-node nats-server cluster started here
//   host B: `ringflow bridge in` (a process) fetches them into shared ring
//           ringflow-demo-b; `ringflow consume --verify` (a process) checks
//           every tick: sequence continuity (0 lost, 0 duplicated), payload
//           and checksum, and the publish-to-read latency across the bridge
//
// Midway the stream's leader is killed (SIGKILL); the stream elects
// another and the bridges go on. The table at the end says events, lost,
// duplicated and the latency p50/p99. Everything started here (servers,
// processes, rings, the cluster's temp dir) is stopped and removed at the
// end, on an error, and on Ctrl-C (SIGINT/SIGTERM end the run early and
// clean up the same way).

#include "tools/demo_cluster.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/jetstream.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_ring.h"
#include "tools/command_line.h"
#include "tools/internal/child_process.h"
#include "tools/internal/nats_cluster.h"
#include "tools/tick.h"

ABSL_FLAG(int64_t, cluster_events, 20'000,
          "ticks to send across the bridge, 1 to 10^9");
ABSL_FLAG(int64_t, rate, 2'000,
          "ticks published per second on host A, 1 to 10^7 (the latency is "
          "measured at this load)");
ABSL_FLAG(bool, kill_leader, true,
          "kill the stream leader (SIGKILL) when half the ticks are out");

namespace ringflow::tools {
namespace {

using tools_internal::ChildProcess;
using tools_internal::NatsCluster;
using tools_internal::SpawnOptions;

constexpr char kStream[] = "RFDEMO";
constexpr char kSubject[] = "rfdemo.ticks";
constexpr char kRingA[] = "ringflow-demo-a";
constexpr char kRingB[] = "ringflow-demo-b";
// Bounds on each wait of the demo (never met in a run that works).
constexpr absl::Duration kStepLimit = absl::Seconds(60);

constexpr absl::string_view kClusterFlags[] = {"cluster_events", "rate",
                                               "kill_leader"};
constexpr CommandSpec kClusterSpec{
    "demo-cluster",
    "ringflow demo-cluster [--cluster_events=N] [--rate=R] "
    "[--kill_leader]\n\n"
    "Starts a 3-node nats-server cluster on 127.0.0.1 (config and store in a "
    "temporary directory), a tick ring on \"host A\" published by this "
    "process, `ringflow bridge out` to an R3 stream, `ringflow bridge in` "
    "into a ring on \"host B\" and a verifying `ringflow consume`; kills the "
    "stream leader midway; prints events, lost, duplicated and the latency "
    "across the bridge. Everything it started is stopped and removed at the "
    "end, also on Ctrl-C. Needs nats-server (make deps).",
    kClusterFlags};

std::atomic<bool> interrupted{false};

void OnInterrupt(int) {
  // Relaxed: a stop request polled by the loops below.
  interrupted.store(true, std::memory_order_relaxed);
}

bool Interrupted() {
  // Relaxed: see OnInterrupt.
  return interrupted.load(std::memory_order_relaxed);
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Removes both demo rings on construction (a demo that died) and at the end.
struct RingsRemover {
  RingsRemover() { Remove(); }
  ~RingsRemover() { Remove(); }
  static void Remove() {
    (void)shm_internal::Control::Remove(kRingA);
    (void)shm_internal::Control::Remove(kRingB);
  }
};

// Starts `ringflow args...` and waits for its first line containing
// `ready_word`; Unavailable naming the process with what it said instead.
absl::StatusOr<ChildProcess> StartTool(const std::vector<std::string>& args,
                                       const std::string& ready_word) {
  std::vector<std::string> argv = {"ringflow"};
  argv.insert(argv.end(), args.begin(), args.end());
  RINGFLOW_ASSIGN_OR_RETURN(
      ChildProcess child,
      ChildProcess::SpawnSelf(argv,
                              {.stdin_from = SpawnOptions::Input::kDevNull}));
  const std::optional<std::string> line = child.ReadLine(kStepLimit);
  if (!line || line->find(ready_word) == std::string::npos) {
    return absl::UnavailableError(
        absl::StrCat("`ringflow ", args[0], " ", args.size() > 1 ? args[1] : "",
                     "` did not start: ", line.value_or("(no output)")));
  }
  return child;
}

// SIGTERM, then everything it still prints (bounded).
std::string StopTool(ChildProcess& child) {
  child.Kill(SIGTERM);
  std::string output = child.ReadToEnd(kStepLimit).value_or("");
  child.WaitOrKill(kStepLimit);
  return output;
}

// The last line of `output` starting with `prefix`, or "".
std::string LastLine(const std::string& output, const std::string& prefix) {
  std::string found;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    if (output.compare(start, prefix.size(), prefix) == 0) {
      found = output.substr(start, end - start);
    }
    start = end + 1;
  }
  return found;
}

int64_t Field(const std::string& line, const std::string& before) {
  const size_t at = line.find(before);
  if (at == std::string::npos) return -1;
  int64_t value = 0;
  bool any = false;
  for (size_t i = at + before.size(); i < line.size(); ++i) {
    if (line[i] >= '0' && line[i] <= '9') {
      value = value * 10 + (line[i] - '0');
      any = true;
    } else if (line[i] != ',') {
      break;
    }
  }
  return any ? value : -1;
}

absl::Status RunCluster(int64_t events, int64_t rate, bool kill_leader) {
  std::printf(
      "ringflow demo-cluster: %s ticks, host A ring -> JetStream stream %s "
      "(R3, 3 nodes on 127.0.0.1) -> host B ring\n",
      WithSeparators(events).c_str(), kStream);
  RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<NatsCluster> cluster,
                            NatsCluster::Start({.nodes = 3}));
  RINGFLOW_RETURN_IF_ERROR(cluster->WaitReady(kStepLimit, /*replicas=*/3));
  std::printf("  cluster: %s (store and configs in %s)\n",
              cluster->urls().c_str(), cluster->dir().c_str());
  std::fflush(stdout);
  bridge::BridgeOptions options;
  options.servers = cluster->urls();
  RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<bridge::NatsConnection> nats,
                            bridge::NatsConnection::Connect(options));
  RINGFLOW_ASSIGN_OR_RETURN(
      std::unique_ptr<bridge::JetStream> js,
      bridge::JetStream::Create(*nats, absl::Seconds(10)));
  bridge::StreamSpec spec;
  spec.name = kStream;
  spec.subjects = {kSubject};
  spec.replicas = 3;
  RINGFLOW_RETURN_IF_ERROR(js->EnsureStream(spec));

  RingsRemover rings;
  shm::SharedRingOptions ring_options;
  ring_options.ring.name = kRingA;
  ring_options.ring.capacity = 65'536;
  RINGFLOW_ASSIGN_OR_RETURN(
      std::unique_ptr<shm::SharedRing<Tick>> ring_a,
      shm::SharedRing<Tick>::Create(ring_options, kTickTypeTag));
  const std::string server = "--server=" + cluster->urls();
  // Host B first: the source creates ring B, the verifier attaches to it
  // before the first tick arrives.
  RINGFLOW_ASSIGN_OR_RETURN(ChildProcess source,
                            StartTool({"bridge", "in", kRingB, server,
                                       absl::StrCat("--stream=", kStream),
                                       "--durable=demo-b", "--quiet"},
                                      "bridge in"));
  RINGFLOW_ASSIGN_OR_RETURN(
      ChildProcess verifier,
      StartTool({"consume", kRingB, "--name=verify", "--verify"}, "attached"));
  // Host A: the sink attaches to ring A before the first tick.
  RINGFLOW_ASSIGN_OR_RETURN(
      ChildProcess sink,
      StartTool(
          {"bridge", "out", kRingA, server, absl::StrCat("--stream=", kStream),
           absl::StrCat("--subject=", kSubject), "--quiet"},
          "attached"));

  std::printf(
      "  host A: this process -> %s -> `ringflow bridge out` (pid %d)\n",
      kRingA, static_cast<int>(sink.pid()));
  std::printf(
      "  host B: `ringflow bridge in` (pid %d) -> %s -> `ringflow consume "
      "--verify` (pid %d)\n",
      static_cast<int>(source.pid()), kRingB, static_cast<int>(verifier.pid()));
  std::fflush(stdout);

  // Publish at `rate`, stamping each tick with the steady clock.
  std::string killed = "none";
  int64_t killed_at = -1;
  const int64_t start_ns = SteadyNanos();
  int64_t published = 0;
  while (published < events && !Interrupted()) {
    const int64_t due = start_ns + published * 1'000'000'000 / rate;
    const int64_t now = SteadyNanos();
    if (now < due) {
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(std::min<int64_t>(due - now, 1'000'000)));
      continue;
    }
    ring_a->PublishEvent([&](Tick& tick, int64_t sequence) {
      FillTick(tick, sequence);
      tick.publish_ns = SteadyNanos();
    });
    ++published;
    if (kill_leader && killed_at < 0 && published == events / 2) {
      absl::StatusOr<bridge::StreamState> state = js->GetStream(kStream);
      const int leader = state.ok() ? cluster->IndexOf(state->leader) : -1;
      if (leader >= 0) {
        cluster->Kill(leader);
        killed = state->leader;
        killed_at = published;
        std::printf(
            "  [%5.1fs] killed the stream leader %s (SIGKILL) after "
            "%s ticks\n",
            static_cast<double>(SteadyNanos() - start_ns) / 1e9, killed.c_str(),
            WithSeparators(published).c_str());
        std::fflush(stdout);
      }
    }
  }
  if (Interrupted()) {
    return absl::CancelledError("interrupted: everything started is removed");
  }
  ring_a->PublishEvent(
      [](Tick& tick, int64_t sequence) { FillEndOfStream(tick, sequence); });
  const int64_t published_ns = SteadyNanos() - start_ns;

  // The verifier stops at the end-of-stream tick.
  std::string report;
  const absl::Time deadline = absl::Now() + 2 * kStepLimit;
  while (!Interrupted() && absl::Now() < deadline) {
    std::optional<std::string> line =
        verifier.ReadLine(absl::Milliseconds(200));
    if (line) {
      absl::StrAppend(&report, *line, "\n");
      if (line->find("stopped:") != std::string::npos) break;
    } else if (!verifier.Running()) {
      break;
    }
  }
  const int64_t delivered_ns = SteadyNanos() - start_ns;
  const std::string sink_out = StopTool(sink);
  const std::string source_out = StopTool(source);
  verifier.WaitOrKill(kStepLimit);
  if (Interrupted()) {
    return absl::CancelledError("interrupted: everything started is removed");
  }

  const std::string summary = LastLine(report, "consumer verify:");
  const std::string latency = LastLine(report, "consumer verify latency");
  const int64_t received = Field(summary, "verify: ");
  const int64_t lost = Field(summary, "events, ");
  const int64_t duplicated = Field(summary, "lost, ");
  const int64_t corrupt = Field(summary, "duplicated, ");
  const bool done = summary.find("stopped: done") != std::string::npos;
  std::printf("\n%-22s %12s %8s %11s %8s\n", "host B (verify)", "events",
              "lost", "duplicated", "corrupt");
  std::printf("%-22s %12s %8lld %11lld %8lld\n", "ringflow-demo-b",
              WithSeparators(std::max<int64_t>(0, received)).c_str(),
              static_cast<long long>(lost), static_cast<long long>(duplicated),
              static_cast<long long>(corrupt));
  const int64_t p50 = Field(latency, "p50 ");
  const int64_t p99 = Field(latency, "p99 ");
  std::printf(
      "\nlatency     publish on host A -> read on host B: p50 %s  p99 %s "
      "(at %s ticks/s)\n",
      p50 < 0 ? "?" : FormatNanos(p50).c_str(),
      p99 < 0 ? "?" : FormatNanos(p99).c_str(), WithSeparators(rate).c_str());
  std::printf(
      "throughput  %s ticks published in %.2f s, all delivered after %.2f s\n",
      WithSeparators(published).c_str(),
      static_cast<double>(published_ns) / 1e9,
      static_cast<double>(delivered_ns) / 1e9);
  std::printf("failover    stream leader killed: %s%s\n", killed.c_str(),
              killed_at < 0
                  ? ""
                  : absl::StrCat(" after ", WithSeparators(killed_at), " ticks")
                        .c_str());
  std::printf("%s\n%s\n", LastLine(sink_out, "bridge out").c_str(),
              LastLine(source_out, "bridge in").c_str());
  std::printf("verified: %s events, %lld lost, %lld duplicated\n",
              WithSeparators(std::max<int64_t>(0, received)).c_str(),
              static_cast<long long>(lost), static_cast<long long>(duplicated));
  if (!done || received != published || lost != 0 || duplicated != 0 ||
      corrupt != 0) {
    return absl::DataLossError(absl::StrCat(
        "verification failed: ", summary.empty() ? report : summary));
  }
  return absl::OkStatus();
}

}  // namespace

int DemoClusterCommand(int argc, char** argv) {
  const std::vector<std::string> args = ParseCommand(argc, argv, kClusterSpec);
  const int64_t events = absl::GetFlag(FLAGS_cluster_events);
  const int64_t rate = absl::GetFlag(FLAGS_rate);
  absl::Status status =
      !args.empty()
          ? absl::InvalidArgumentError(
                absl::StrCat("unexpected argument '", args[0], "'"))
          : CheckFlagRange("cluster_events", events, 1, 1'000'000'000);
  if (status.ok()) status = CheckFlagRange("rate", rate, 1, 10'000'000);
  if (status.ok()) {
    struct sigaction action {};
    action.sa_handler = OnInterrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    status = RunCluster(events, rate, absl::GetFlag(FLAGS_kill_leader));
  }
  if (!status.ok()) {
    std::fprintf(stderr, "ringflow demo-cluster: %s\n",
                 status.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace ringflow::tools
