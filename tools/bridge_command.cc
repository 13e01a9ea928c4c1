// tools/bridge_command.cc — `ringflow bridge out | in`: a ring in shared
// memory to a NATS JetStream subject, and a stream back into a ring
// (ringflow::bridge, docs/bridge.md).
//
//   ringflow bridge out RING --server=URL --stream=S --subject=X
//       a sink attached to RING by name: the demo's ticks (an event ring
//       tagged tools::kTickTypeTag) each as its bytes, or a byte ring's
//       records as they are; with --create_stream it first makes stream S
//       (subject X, --replicas copies).
//   ringflow bridge in RING --server=URL --stream=S --durable=D
//       a source: creates (or resumes) the tick ring RING in shared memory
//       and is its producer; the last applied stream sequence lives in the
//       ring's control segment, so a restarted `bridge in` goes on exactly
//       once.
//
// Both run until SIGINT or SIGTERM (or --seconds), print a status line
// every second (--quiet: only the last) with the bridge's counters, and
// exit 0 after a clean stop, 1 on an error (named).

#include "tools/bridge_command.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/jetstream.h"
#include "ringflow/bridge/jetstream_byte_sink.h"
#include "ringflow/bridge/jetstream_sink.h"
#include "ringflow/bridge/jetstream_source.h"
#include "ringflow/bridge/shm_source_mark_store.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_byte_reader.h"
#include "ringflow/shm/shared_ring.h"
#include "tools/command_line.h"
#include "tools/shm_commands.h"
#include "tools/tick.h"

ABSL_FLAG(std::string, server, "nats://127.0.0.1:4222",
          "NATS server URL(s), comma-separated (the client learns the rest "
          "of the cluster from the one it reaches)");
ABSL_FLAG(std::string, stream, "", "the JetStream stream (required)");
ABSL_FLAG(std::string, subject, "",
          "bridge out: the subject to publish to, one of the stream's "
          "(required)");
ABSL_FLAG(std::string, durable, "",
          "bridge in: the durable pull consumer's name (required)");
ABSL_FLAG(std::string, user, "", "NATS user (with --password)");
ABSL_FLAG(std::string, password, "", "NATS password");
ABSL_FLAG(int64_t, window, 256,
          "bridge out: most messages in flight, a power of two in [1, "
          "65536]; bridge in: most messages per fetch");
ABSL_FLAG(bool, create_stream, false,
          "bridge out: create the stream (subject --subject, --replicas "
          "copies, file storage) when it does not exist");
ABSL_FLAG(int, replicas, 1, "with --create_stream: 1 to 5 copies");
ABSL_FLAG(int64_t, ring_capacity, 65'536,
          "bridge in: the ring's capacity when it is created, a power of "
          "two in [1, 16777216]");
ABSL_FLAG(double, run_seconds, 0,
          "stop after this long, 0 to 86400 (0: until SIGINT or SIGTERM)");
ABSL_FLAG(bool, quiet, false, "print only the final status line");

namespace ringflow::tools {
namespace {

constexpr absl::string_view kBridgeFlags[] = {
    "server",   "stream",        "subject",     "durable",
    "user",     "password",      "window",      "create_stream",
    "replicas", "ring_capacity", "run_seconds", "quiet"};
constexpr CommandSpec kBridgeSpec{
    "bridge",
    "ringflow bridge out RING --server=URL --stream=S --subject=X "
    "[--create_stream [--replicas=N]] [--window=N]\n"
    "       ringflow bridge in RING --server=URL --stream=S --durable=D "
    "[--ring_capacity=N] [--window=N]\n"
    "       (both: [--user=U --password=P] [--run_seconds=S] [--quiet])\n\n"
    "out: a sink attached to ring RING (the demo's ticks, or a byte ring's "
    "records) publishing each event to JetStream subject X with a message "
    "id of (ring, its creation id, sequence), at most --window "
    "unacknowledged; the ring holds what is not acknowledged, so an outage "
    "is backpressure, not loss. in: a durable pull consumer D of stream S "
    "publishing into the tick ring RING (created or resumed here), exactly "
    "once across restarts (the last applied stream sequence is kept in the "
    "ring). Both print their counters every second and run until SIGINT, "
    "SIGTERM or --run_seconds.",
    kBridgeFlags};

std::atomic<bool> stop_requested{false};

void OnStopSignal(int) {
  // Relaxed: a stop request; the bridge's Run polls it.
  stop_requested.store(true, std::memory_order_relaxed);
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "ringflow bridge: %s\n", status.ToString().c_str());
  return 1;
}

std::string CountersLine(const char* role, const std::string& ring,
                         const bridge::BridgeCounters& c) {
  return absl::StrCat("bridge ", role, " ", ring, ": published ", c.published(),
                      ", acked ", c.acked(), ", duplicates ", c.duplicates(),
                      ", in flight ", c.in_flight(), ", redelivered skipped ",
                      c.redelivered_skipped(), ", reconnects ", c.reconnects(),
                      ", errors ", c.errors());
}

// Runs `run(stop)` on a thread while this one prints the counters each
// second and turns a signal or the deadline into `stop`.
absl::Status Drive(const char* role, const std::string& ring,
                   const bridge::BridgeCounters& counters,
                   const std::function<absl::Status(std::atomic<bool>&)>& run) {
  std::atomic<bool> stop{false};
  absl::Status result;
  std::atomic<bool> finished{false};
  std::thread worker([&] {
    result = run(stop);
    // Release: `result` is read after the acquire load below (and the join).
    finished.store(true, std::memory_order_release);
  });
  const double seconds = absl::GetFlag(FLAGS_run_seconds);
  const absl::Time deadline = seconds > 0 ? absl::Now() + absl::Seconds(seconds)
                                          : absl::InfiniteFuture();
  const bool quiet = absl::GetFlag(FLAGS_quiet);
  absl::Time next_line = absl::Now() + absl::Seconds(1);
  // Acquire: pairs with the worker's release store.
  while (!finished.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Relaxed: the handler's flag; no data rides on it.
    if (stop_requested.load(std::memory_order_relaxed) ||
        absl::Now() >= deadline) {
      // Relaxed: Run polls it.
      stop.store(true, std::memory_order_relaxed);
    }
    if (!quiet && absl::Now() >= next_line) {
      std::printf("%s\n", CountersLine(role, ring, counters).c_str());
      std::fflush(stdout);
      next_line += absl::Seconds(1);
    }
  }
  worker.join();
  std::printf("%s; stopped: %s\n", CountersLine(role, ring, counters).c_str(),
              result.ok() ? "done" : "error");
  std::fflush(stdout);
  return result;
}

absl::StatusOr<bridge::BridgeOptions> OptionsFromFlags(bool sink) {
  bridge::BridgeOptions options;
  options.servers = absl::GetFlag(FLAGS_server);
  options.stream = absl::GetFlag(FLAGS_stream);
  options.subject = absl::GetFlag(FLAGS_subject);
  options.durable = absl::GetFlag(FLAGS_durable);
  options.user = absl::GetFlag(FLAGS_user);
  options.password = absl::GetFlag(FLAGS_password);
  options.window = absl::GetFlag(FLAGS_window);
  RINGFLOW_RETURN_IF_ERROR(CheckFlagRange("window", options.window, 1, 65536));
  RINGFLOW_RETURN_IF_ERROR(CheckFlagRange(
      "run_seconds", absl::GetFlag(FLAGS_run_seconds), 0.0, 86400.0));
  RINGFLOW_RETURN_IF_ERROR(bridge::ValidateBridgeOptions(options, sink));
  return options;
}

absl::Status CreateStreamIfAsked(const bridge::BridgeOptions& options) {
  if (!absl::GetFlag(FLAGS_create_stream)) return absl::OkStatus();
  const int replicas = absl::GetFlag(FLAGS_replicas);
  RINGFLOW_RETURN_IF_ERROR(CheckFlagRange("replicas", int64_t{replicas}, 1, 5));
  RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<bridge::NatsConnection> connection,
                            bridge::NatsConnection::Connect(options));
  RINGFLOW_ASSIGN_OR_RETURN(
      std::unique_ptr<bridge::JetStream> js,
      bridge::JetStream::Create(*connection, options.request_timeout));
  bridge::StreamSpec spec;
  spec.name = options.stream;
  spec.subjects = {options.subject};
  spec.replicas = replicas;
  return js->EnsureStream(spec);
}

absl::Status BridgeOut(const std::string& ring) {
  RINGFLOW_ASSIGN_OR_RETURN(bridge::BridgeOptions options,
                            OptionsFromFlags(/*sink=*/true));
  RINGFLOW_RETURN_IF_ERROR(CheckRingFiles(ring));
  RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<shm_internal::Control> inspected,
                            shm_internal::Control::Inspect(ring));
  const bool bytes = inspected->kind() == shm_internal::RingKind::kBytes;
  inspected.reset();
  RINGFLOW_RETURN_IF_ERROR(CreateStreamIfAsked(options));
  if (bytes) {
    shm::SharedByteReaderOptions reader_options;
    reader_options.name = "bridge";
    reader_options.start = ReaderStart::kOldest;
    RINGFLOW_ASSIGN_OR_RETURN(
        std::unique_ptr<shm::SharedByteReader> reader,
        shm::SharedByteReader::Attach(ring, reader_options));
    if (options.id.empty()) options.id = ring;
    RINGFLOW_ASSIGN_OR_RETURN(
        auto sink, bridge::JetStreamByteSink<shm::SharedByteReader>::Create(
                       *reader, options));
    // Ready line: a parent (demo-cluster) waits for it before publishing.
    std::printf("bridge out %s: attached as reader '%s' at byte %lld\n",
                ring.c_str(), reader->name().c_str(),
                static_cast<long long>(reader->position()));
    std::fflush(stdout);
    return Drive("out", ring, sink->counters(),
                 [&](std::atomic<bool>& stop) { return sink->Run(stop); });
  }
  shm::SharedConsumerOptions consumer;
  consumer.type_tag = kTickTypeTag;
  RINGFLOW_ASSIGN_OR_RETURN(
      auto sink, bridge::JetStreamSink<Tick>::Attach(
                     ring,
                     [](const Tick& tick, std::string& out) {
                       out.assign(reinterpret_cast<const char*>(&tick),
                                  sizeof(tick));
                     },
                     options, consumer));
  std::printf("bridge out %s: attached as consumer '%s' at sequence %lld\n",
              ring.c_str(), options.id.empty() ? "bridge" : options.id.c_str(),
              static_cast<long long>(sink->start_sequence()));
  std::fflush(stdout);
  return Drive("out", ring, sink->counters(),
               [&](std::atomic<bool>& stop) { return sink->Run(stop); });
}

absl::Status BridgeIn(const std::string& ring) {
  RINGFLOW_ASSIGN_OR_RETURN(bridge::BridgeOptions options,
                            OptionsFromFlags(/*sink=*/false));
  const int64_t capacity = absl::GetFlag(FLAGS_ring_capacity);
  if (capacity < 1 || capacity > (int64_t{1} << 24) ||
      (capacity & (capacity - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ring_capacity=", capacity,
                     " is not a power of two in [1, 16777216]"));
  }
  RINGFLOW_RETURN_IF_ERROR(CheckRingFiles(ring));
  shm::SharedRingOptions ring_options;
  ring_options.ring.name = ring;
  ring_options.ring.capacity = capacity;
  RINGFLOW_ASSIGN_OR_RETURN(
      std::unique_ptr<shm::SharedRing<Tick>> shared,
      shm::SharedRing<Tick>::Create(ring_options, kTickTypeTag));
  bridge::ShmSourceMarkStore marks(shared->control());
  RINGFLOW_ASSIGN_OR_RETURN(
      auto source, bridge::JetStreamSource<shm::SharedRing<Tick>>::Create(
                       *shared,
                       [](const char* data, size_t size, Tick& out) {
                         // A message that is not a tick is stored as an
                         // all-zero tick, which every verifying consumer counts
                         // as corrupt.
                         if (size == sizeof(Tick)) {
                           std::memcpy(&out, data, sizeof(Tick));
                         } else {
                           out = Tick{};
                         }
                       },
                       options, &marks));
  std::printf("bridge in %s: %s ring, applied stream sequence %llu\n",
              ring.c_str(), shared->resumed() ? "resumed" : "created",
              static_cast<unsigned long long>(source->applied_sequence()));
  std::fflush(stdout);
  return Drive("in", ring, source->counters(),
               [&](std::atomic<bool>& stop) { return source->Run(stop); });
}

}  // namespace

int BridgeCommand(int argc, char** argv) {
  const std::vector<std::string> args = ParseCommand(argc, argv, kBridgeSpec);
  if (args.size() != 2 || (args[0] != "out" && args[0] != "in")) {
    return Fail(absl::InvalidArgumentError(
        args.empty() ? std::string("expected 'out RING' or 'in RING'")
                     : absl::StrCat("expected 'out RING' or 'in RING', got '",
                                    absl::StrJoin(args, " "), "'")));
  }
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const absl::Status status =
      args[0] == "out" ? BridgeOut(args[1]) : BridgeIn(args[1]);
  return status.ok() ? 0 : Fail(status);
}

}  // namespace ringflow::tools
