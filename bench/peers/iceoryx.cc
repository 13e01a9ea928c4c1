// bench/peers/iceoryx.cc — the iceoryx peer (iceoryx.h): RouDi's
// lifetime, the bench's side of each run, and the child processes.
// Compiled twice (bench/CMakeLists.txt): with RINGFLOW_BENCH_ICEORYX=1 and
// iceoryx_posh into ringflow_bench when CMake finds iceoryx, and with 0
// (the column skipped, no iceoryx symbol) otherwise and into
// ringflow_bench_static.

#include "iceoryx.h"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#if RINGFLOW_BENCH_ICEORYX

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "../byte_framing.h"
#include "../harness.h"
#include "../shared_topologies.h"
#include "../topology.h"
#include "absl/time/time.h"
#include "ringflow/core/config.h"
#include "tools/internal/child_process.h"
#include "warnings.h"

RINGFLOW_BENCH_PEER_WARNINGS_OFF
#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/publisher.hpp"
#include "iceoryx_posh/popo/subscriber.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
RINGFLOW_BENCH_PEER_WARNINGS_ON

namespace ringflow::bench {
namespace {

using shared_internal::CrossProcessRun;
using shared_internal::MonotonicNs;
using shared_internal::Say;
using tools_internal::ChildProcess;
using tools_internal::DescribeWaitStatus;
using tools_internal::SpawnOptions;

// RouDi's file lock: iceoryx 2.0 runs one RouDi per machine.
constexpr char kRouDiLock[] = "/tmp/roudi.lock";
constexpr char kRouDiReady[] = "RouDi is ready for clients";
// iceoryx's apps' Unix sockets: /tmp/<runtime name>.
constexpr char kSocketDir[] = "/tmp/";
// Mempools: 64-byte payloads for the int64 rows (256 queued per
// subscriber, 8 loaned per publisher, two publishers in a ping-pong); 128
// and 1152 bytes for SharedByteOneToOne's 64- and 1024-byte records (an
// untyped chunk also holds its 40-byte chunk header).
constexpr char kRouDiConfig[] =
    "# ringflow_bench's private RouDi config\n"
    "[general]\nversion = 1\n\n[[segment]]\n\n"
    "[[segment.mempool]]\nsize = 64\ncount = 4096\n"
    "[[segment.mempool]]\nsize = 128\ncount = 1024\n"
    "[[segment.mempool]]\nsize = 1152\ncount = 1024\n";
constexpr absl::Duration kRouDiStartTimeout = absl::Seconds(20);
constexpr absl::Duration kRouDiStopTimeout = absl::Seconds(10);
// How long a child waits for RouDi to connect its publisher and
// subscriber (RouDi's discovery loop runs every 100 ms).
constexpr int64_t kConnectTimeoutNs = 20'000'000'000;

// iox-roudi's path in PATH, or empty.
std::string FindRouDi() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = std::min(dirs.find(':'), dirs.size());
    std::string candidate(dirs.substr(0, colon));
    dirs.remove_prefix(std::min(colon + 1, dirs.size()));
    if (candidate.empty()) continue;
    candidate += "/iox-roudi";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// "rfbench-iox-<pid>": a child's runtime name (and its socket in /tmp).
std::string RuntimeName(pid_t pid) {
  return "rfbench-iox-" + std::to_string(pid);
}

// ---- RouDi -------------------------------------------------------------

// One scenario's RouDi: started by the first run that needs it, stopped by
// Stop (idempotent), the destructor, the exit handler or, if the bench
// dies, by the kernel (the child's PR_SET_PDEATHSIG).
class RouDiSession {
 public:
  RouDiSession() = default;
  RouDiSession(const RouDiSession&) = delete;
  RouDiSession& operator=(const RouDiSession&) = delete;
  ~RouDiSession() { Stop(); }

  // Starts RouDi unless it runs; Fails the run when it cannot start or
  // exited. Forwards what it wrote since the last call to stderr.
  void Ensure(CrossProcessRun& run);

  // SIGTERM (RouDi removes its shared memory and sockets), a bounded wait,
  // then SIGKILL. Never fails.
  void Stop() noexcept;

 private:
  void Forward() {
    while (std::optional<std::string> line =
               roudi_->ReadLine(absl::ZeroDuration())) {
      std::fprintf(stderr, "iox-roudi: %s\n", line->c_str());
    }
  }

  std::unique_ptr<ChildProcess> roudi_;
  std::string config_;  // the private config file, removed by Stop
};

RouDiSession* live_roudi = nullptr;  // the one running; scenario thread

// Removes what a RouDi that did not shut down cleanly leaves: its two
// shared-memory segments (management, and the payload segment named after
// this process's group, as the default config has it), its socket and
// its lock files.
void RemoveRouDiLeftovers(const std::string& how_it_ended) {
  std::vector<std::string> paths = {"/dev/shm/iceoryx_mgmt", "/tmp/roudi",
                                    kRouDiLock, "/tmp/iox-unique-roudi.lock"};
  if (const group* g = getgrgid(getegid()); g != nullptr) {
    paths.push_back(std::string("/dev/shm/") + g->gr_name);
  }
  std::string removed;
  for (const std::string& path : paths) {
    if (unlink(path.c_str()) == 0) removed += " " + path;
  }
  std::fprintf(stderr,
               "ringflow_bench: iox-roudi %s at shutdown; removed what it "
               "left:%s\n",
               how_it_ended.c_str(),
               removed.empty() ? " nothing" : removed.c_str());
}

void StopLiveRouDi() {
  if (live_roudi != nullptr) live_roudi->Stop();
}

void RouDiSession::Ensure(CrossProcessRun& run) {
  if (roudi_ != nullptr) {
    Forward();
    if (!roudi_->Running()) {
      const std::optional<int> status = roudi_->Wait(absl::ZeroDuration());
      run.Fail("iox-roudi " +
               (status ? DescribeWaitStatus(*status) : std::string("ended")) +
               " between runs");
    }
    return;
  }
  if (const std::string why = IceoryxSkipReason(); !why.empty()) {
    run.Fail("iceoryx: " + why);
  }
  const std::string binary = FindRouDi();
  char config[] = "/tmp/rfbench-roudi-XXXXXX";
  const int fd = mkstemp(config);  // mode 0600
  if (fd < 0) {
    run.Fail(std::string("mkstemp(/tmp/rfbench-roudi-XXXXXX): ") +
             std::strerror(errno));
  }
  config_ = config;
  const ssize_t written = write(fd, kRouDiConfig, sizeof(kRouDiConfig) - 1);
  close(fd);
  if (written != static_cast<ssize_t>(sizeof(kRouDiConfig) - 1)) {
    run.Fail("writing RouDi config " + config_ + " failed");
  }
  static const bool registered = std::atexit(StopLiveRouDi) == 0;
  (void)registered;
  // This binary again, which sets PR_SET_PDEATHSIG and execs iox-roudi
  // (posix_spawn cannot set it): RouDi's stdout is our pipe.
  absl::StatusOr<ChildProcess> spawned = ChildProcess::SpawnSelf(
      {"ringflow_bench",
       "--shared_consumer=iox-roudi:" + std::to_string(getpid()) + ":" +
           binary + ":" + config_,
       "--events=1000"},
      {.stdin_from = SpawnOptions::Input::kDevNull});
  if (!spawned.ok()) {
    run.Fail("starting iox-roudi: " + std::string(spawned.status().message()));
  }
  roudi_ = std::make_unique<ChildProcess>(*std::move(spawned));
  live_roudi = this;
  std::string before;
  if (!roudi_->ReadLineStartingWith(kRouDiReady, kRouDiStartTimeout, &before)) {
    const bool ended = roudi_->output_closed();
    run.Fail(binary + " -c " + config_ + " " +
             (ended ? std::string("ended")
                    : "was not ready after " +
                          absl::FormatDuration(kRouDiStartTimeout)) +
             " before '" + kRouDiReady + "'; it wrote: " + before);
  }
}

void RouDiSession::Stop() noexcept {
  if (roudi_ != nullptr && roudi_->pid() > 0) {
    roudi_->Kill(SIGTERM);
    // Forwards what it writes while shutting down, until it exits.
    const absl::Time deadline = absl::Now() + kRouDiStopTimeout;
    while (std::optional<std::string> line =
               roudi_->ReadLine(deadline - absl::Now())) {
      std::fprintf(stderr, "iox-roudi: %s\n", line->c_str());
    }
    std::optional<int> status = roudi_->Wait(kRouDiStopTimeout);
    if (!status) {
      std::fprintf(stderr,
                   "ringflow_bench: iox-roudi did not stop %s after SIGTERM; "
                   "killing it\n",
                   absl::FormatDuration(kRouDiStopTimeout).c_str());
      status = roudi_->WaitOrKill(absl::ZeroDuration());
    }
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      // iceoryx 2.0's RouDi aborts at shutdown when a registered process
      // died without deregistering (a killed child: kill(2) fails with
      // ESRCH, POSH__ROUDI_PROCESS_SHUTDOWN_FAILED), leaving its shared
      // memory and files. They are this RouDi's: it held RouDi's lock
      // from its start until now.
      RemoveRouDiLeftovers(DescribeWaitStatus(*status));
    }
  }
  roudi_.reset();
  if (!config_.empty()) unlink(std::exchange(config_, {}).c_str());
  if (live_roudi == this) live_roudi = nullptr;
}

// The cleanup of a run: the children's sockets and lock files (a killed
// child leaves /tmp/<runtime name> and its .lock), then RouDi.
struct RunCleanup {
  RouDiSession* session;
  std::vector<std::string> sockets;
  void operator()() {
    for (const std::string& path : sockets) {
      struct stat st {};
      if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path.c_str());
      }
      const std::string lock = path + ".lock";  // the runtime's file lock
      if (lstat(lock.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        unlink(lock.c_str());
      }
    }
    session->Stop();
  }
};

ChildProcess& SpawnChild(CrossProcessRun& run, RunCleanup& cleanup,
                         const std::string& role_and_arg, int64_t events) {
  ChildProcess& child = run.Spawn(role_and_arg, events);
  cleanup.sockets.push_back(kSocketDir + RuntimeName(child.pid()));
  return child;
}

// ---- the bench's side --------------------------------------------------

// The end of a one-to-one run after the subscriber's "done" line: the
// publisher's "done start_ns=T" (its clock before the first loan), read
// before the publisher is told it may go (its stdin closed: the
// subscriber has taken every sample) and both are expected to exit 0. T,
// or Fail()s naming the line.
int64_t EndPublisher(CrossProcessRun& run, ChildProcess& sub,
                     ChildProcess& pub) {
  const std::string published = run.Line(pub, "done");
  int64_t start_ns = 0;
  if (std::sscanf(published.c_str(), "done start_ns=%" SCNd64, &start_ns) !=
      1) {
    run.Fail("publisher process: " + published);
  }
  pub.CloseStdin();
  run.ExpectExitZero(sub, "subscriber process");
  run.ExpectExitZero(pub, "publisher process");
  return start_ns;
}

Metrics IceoryxOneToOne(const RunContext& ctx, RouDiSession& session) {
  const int64_t n = ctx.events;
  RunCleanup cleanup{&session, {}};
  CrossProcessRun run(ctx, [&] { cleanup(); });
  session.Ensure(run);
  const std::string id = shared_internal::UniqueName("rfbench");
  ChildProcess& sub = SpawnChild(run, cleanup, "iox-sub:" + id, n);
  run.AwaitReady(sub, "subscriber process");
  ChildProcess& pub = SpawnChild(run, cleanup, "iox-pub:" + id, n);
  const shared_internal::StreamReport got = shared_internal::ParseStreamReport(
      run, run.LineWatching(sub, "done", pub, "publisher process"),
      "subscriber process");
  const int64_t start_ns = EndPublisher(run, sub, pub);
  const int64_t elapsed_ns =
      shared_internal::CheckStream(run, got, n, start_ns, "subscriber process");
  return {MegaEventsPerSecond(n, elapsed_ns)};
}

Metrics IceoryxPingPong(const RunContext& ctx, RouDiSession& session,
                        bool blocking) {
  RunCleanup cleanup{&session, {}};
  CrossProcessRun run(ctx, [&] { cleanup(); });
  session.Ensure(run);
  const std::string id = shared_internal::UniqueName("rfbench");
  const std::string wait = blocking ? "wait:" : "spin:";
  ChildProcess& ponger =
      SpawnChild(run, cleanup, "iox-pong-" + wait + id, ctx.events);
  run.AwaitReady(ponger, "ponger process");
  ChildProcess& pinger =
      SpawnChild(run, cleanup,
                 "iox-ping-" + wait + id + ":" + std::to_string(ctx.budget_ns),
                 ctx.events);
  const std::string done =
      run.LineWatching(pinger, "done", ponger, "ponger process");
  shared_internal::PingCounts counts;
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
  if (std::sscanf(done.c_str(),
                  "done sent=%" SCNd64 " received=%" SCNd64 " wrong=%" SCNd64
                  " p50=%lf p99=%lf p999=%lf",
                  &counts.sent, &counts.received, &counts.wrong, &p50, &p99,
                  &p999) != 6) {
    run.Fail("pinger process: " + done);
  }
  const int64_t echoed = shared_internal::ReadEchoed(run, ponger);
  pinger.CloseStdin();  // the ponger took the stop value: the pinger may go
  run.ExpectExitZero(ponger, "ponger process");
  run.ExpectExitZero(pinger, "pinger process");
  // The pinger timed every round trip it counts (PingLoop) and reports
  // their percentiles only.
  if (const std::string problem =
          shared_internal::VerifyPings(counts, std::nullopt, echoed);
      !problem.empty()) {
    run.Fail(problem);
  }
  return {p50, p99, p999};
}

// SharedByteOneToOne: records of `n` bytes (byte_framing.h) from an
// UntypedPublisher (loan(n), write, publish) in one child to an
// UntypedSubscriber (take, check, release) in another.
Metrics IceoryxBytes(const RunContext& ctx, RouDiSession& session, int64_t n) {
  const int64_t events = ctx.events;
  RunCleanup cleanup{&session, {}};
  CrossProcessRun run(ctx, [&] { cleanup(); });
  session.Ensure(run);
  const std::string id =
      shared_internal::UniqueName("rfbench") + ":" + std::to_string(n);
  ChildProcess& sub = SpawnChild(run, cleanup, "iox-bytes-sub:" + id, events);
  run.AwaitReady(sub, "subscriber process");
  ChildProcess& pub = SpawnChild(run, cleanup, "iox-bytes-pub:" + id, events);
  const std::string done =
      run.LineWatching(sub, "done", pub, "publisher process");
  const int64_t start_ns = EndPublisher(run, sub, pub);
  return shared_internal::CheckByteReport(run, done, n, events, start_ns,
                                          "subscriber process");
}

// ---- the child processes -----------------------------------------------

// iceoryx's cxx::expected, inlined here, draws g++ 12's -Wnull-dereference
// (paths it cannot prove unreachable): silenced for the child code, as
// for the other peers' adapters (warnings.h).
RINGFLOW_BENCH_PEER_WARNINGS_OFF

// Says "error WHAT" and ends the child (its runtime deregisters).
[[noreturn]] void Die(const std::string& what) {
  Say("error " + what);
  std::exit(1);
}

void InitRuntime() {
  // Warnings and errors only (the default is verbose: a line per
  // registration on the bench's stderr).
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(
      iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
  const std::string name = RuntimeName(getpid());
  iox::runtime::PoshRuntime::initRuntime(
      iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name));
}

// An iceoryx name (at most 100 characters; ours are shorter).
iox::capro::IdString_t Id(const std::string& text) {
  return {iox::cxx::TruncateToCapacity, text};
}

// Service "ringflow/bench/<id><suffix>".
iox::capro::ServiceDescription Service(std::string_view id,
                                       std::string_view suffix) {
  const std::string instance = std::string(id) + std::string(suffix);
  return {Id("ringflow"), Id("bench"), Id(instance)};
}

// Lossless: a full subscriber queue makes publish wait (both policies are
// needed: iceoryx blocks only when the publisher waits for consumers and
// the subscriber asks to block its producer).
iox::popo::PublisherOptions PublisherOptions() {
  iox::popo::PublisherOptions options;
  options.historyCapacity = 0;
  options.subscriberTooSlowPolicy =
      iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
  return options;
}
iox::popo::SubscriberOptions SubscriberOptions() {
  iox::popo::SubscriberOptions options;
  options.queueCapacity = iox::MAX_SUBSCRIBER_QUEUE_CAPACITY;
  options.historyRequest = 0;
  options.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
  return options;
}

using Publisher = iox::popo::Publisher<int64_t>;
using Subscriber = iox::popo::Subscriber<int64_t>;

// Polls `connected` (RouDi connects ports in its discovery loop, which
// signals nothing to the publisher) every millisecond until it holds;
// Dies naming `what` after kConnectTimeoutNs.
template <typename Connected>
void AwaitConnection(Connected&& connected, const char* what) {
  const int64_t deadline = MonotonicNs() + kConnectTimeoutNs;
  while (!connected()) {
    if (MonotonicNs() > deadline) {
      Die(std::string(what) + " not connected after " +
          std::to_string(kConnectTimeoutNs / 1'000'000'000) + " s");
    }
    const timespec poll_interval{0, 1'000'000};
    nanosleep(&poll_interval, nullptr);
  }
}

// Loan, write, publish.
void Send(Publisher& publisher, int64_t value) {
  auto loaned = publisher.loan();
  if (loaned.has_error()) {
    Die("loan failed (iox AllocationError " +
        std::to_string(static_cast<int>(loaned.get_error())) + ")");
  }
  *loaned.value() = value;
  loaned.value().publish();
}

// Whether take() gave a sample (`taken`, its result); false when the
// queue was empty; Dies on any other error.
template <typename Taken>
bool Arrived(const Taken& taken) {
  if (!taken.has_error()) return true;
  if (taken.get_error() != iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) {
    Die("take failed (too many chunks held)");
  }
  return false;
}

// Take, read, release (the sample's destructor): the next value, spinning
// on take or, with `waitset`, waiting in it while the queue is empty.
int64_t Receive(Subscriber& subscriber, iox::popo::WaitSet<>* waitset) {
  for (;;) {
    auto taken = subscriber.take();
    if (Arrived(taken)) return *taken.value();
    if (waitset != nullptr) {
      (void)waitset->wait();
    } else {
      CpuRelax();
    }
  }
}

// The WaitSet for Receive: null when not `blocking` (Receive spins);
// else `waitset`, emplaced and attached to `subscriber`'s HAS_DATA state.
// Dies when it cannot attach.
iox::popo::WaitSet<>* AttachWaitSet(
    bool blocking, Subscriber& subscriber,
    std::optional<iox::popo::WaitSet<>>& waitset) {
  if (!blocking) return nullptr;
  waitset.emplace();
  if (waitset->attachState(subscriber, iox::popo::SubscriberState::HAS_DATA)
          .has_error()) {
    Die("WaitSet::attachState failed");
  }
  return &*waitset;
}

// Keeps the process (and its publisher's chunks, which a subscriber may
// still be taking) until the bench closes our stdin.
void AwaitStdinClosed() {
  char buf[64];
  for (;;) {
    const ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

int RunSubscriber(std::string_view id, int64_t n, bool pin) {
  shared_internal::ChildSetup(pin, 1);
  InitRuntime();
  Subscriber subscriber(Service(id, ""), SubscriberOptions());
  Say("ready");
  int64_t sum = 0;
  int64_t first = -1;
  int64_t count = 0;
  while (count < n) {
    auto taken = subscriber.take();
    if (!Arrived(taken)) {
      CpuRelax();
      continue;
    }
    const int64_t v = *taken.value();
    if (count == 0) first = v;
    sum += v;
    ++count;
  }  // each sample released when `taken` goes
  shared_internal::SayDone(
      {.sum = sum, .first = first, .count = count, .end_ns = MonotonicNs()});
  return 0;
}

int RunPublisher(std::string_view id, int64_t n, bool pin) {
  shared_internal::ChildSetup(pin, 0);
  InitRuntime();
  Publisher publisher(Service(id, ""), PublisherOptions());
  AwaitConnection([&] { return publisher.hasSubscribers(); }, "publisher");
  const int64_t start_ns = MonotonicNs();
  for (int64_t i = 0; i < n; ++i) Send(publisher, i);
  Say("done start_ns=" + std::to_string(start_ns));
  AwaitStdinClosed();
  return 0;
}

// A byte role's start (StartByteChild): ChildSetup(pin, slot), then its
// "ID:N", the service id and the record size (at most what the largest
// mempool's chunk holds); ends the child (exit status 1) after saying why
// when it is not one.
shared_internal::ByteChildArg StartByteRole(std::string_view arg, bool pin,
                                            int slot) {
  std::optional<shared_internal::ByteChildArg> start =
      shared_internal::StartByteChild(arg, pin, slot,
                                      "ID:N with N in [16, 1024]",
                                      /*max_n=*/1024);
  if (!start) std::exit(1);
  return *std::move(start);
}

int RunByteSubscriber(std::string_view arg, int64_t events, bool pin) {
  const auto [id, n] = StartByteRole(arg, pin, 1);
  InitRuntime();
  iox::popo::UntypedSubscriber subscriber(Service(id, "-bytes"),
                                          SubscriberOptions());
  return shared_internal::ReadByteRecords(n, events, [&](ByteSink& sink) {
    auto taken = subscriber.take();
    if (!Arrived(taken)) {
      CpuRelax();
      return true;
    }
    const void* payload = taken.value();
    const uint32_t size =
        iox::mepoo::ChunkHeader::fromUserPayload(payload)->userPayloadSize();
    sink.Take(static_cast<const std::byte*>(payload), size);
    subscriber.release(payload);
    return true;
  });
}

int RunBytePublisher(std::string_view arg, int64_t events, bool pin) {
  const auto [id, n] = StartByteRole(arg, pin, 0);
  InitRuntime();
  iox::popo::UntypedPublisher publisher(Service(id, "-bytes"),
                                        PublisherOptions());
  AwaitConnection([&] { return publisher.hasSubscribers(); }, "publisher");
  const Framing framing(n);
  const int64_t start_ns = MonotonicNs();
  for (int64_t i = 0; i < events; ++i) {
    auto loaned = publisher.loan(static_cast<uint32_t>(n), 8);
    if (loaned.has_error()) {
      Die("loan(" + std::to_string(n) + ") failed (iox AllocationError " +
          std::to_string(static_cast<int>(loaned.get_error())) + ")");
    }
    framing.Write(static_cast<std::byte*>(loaned.value()), i);
    publisher.publish(loaned.value());
  }
  Say("done start_ns=" + std::to_string(start_ns));
  AwaitStdinClosed();
  return 0;
}

int RunPinger(std::string_view arg, int64_t events, bool blocking, bool pin) {
  shared_internal::ChildSetup(pin, 0);
  const size_t colon = arg.rfind(':');
  int64_t budget_ns = 0;
  if (colon == std::string_view::npos ||
      std::sscanf(std::string(arg.substr(colon + 1)).c_str(), "%" SCNd64,
                  &budget_ns) != 1) {
    Die("bad pinger argument '" + std::string(arg) +
        "', expected ID:BUDGET_NS");
  }
  const std::string_view id = arg.substr(0, colon);
  InitRuntime();
  Publisher pings(Service(id, "-ping"), PublisherOptions());
  Subscriber pongs(Service(id, "-pong"), SubscriberOptions());
  AwaitConnection(
      [&] {
        return pings.hasSubscribers() &&
               pongs.getSubscriptionState() == iox::SubscribeState::SUBSCRIBED;
      },
      "pinger");
  std::optional<iox::popo::WaitSet<>> waitset;
  iox::popo::WaitSet<>* wait = AttachWaitSet(blocking, pongs, waitset);
  const shared_internal::PingStats stats = shared_internal::PingLoop(
      events, budget_ns, [&](int64_t v) { Send(pings, v); },
      [&] { return Receive(pongs, wait); });
  Send(pings, -1);  // stop
  char line[200];
  std::snprintf(line, sizeof(line),
                "done sent=%" PRId64 " received=%" PRId64 " wrong=%" PRId64
                " p50=%.1f p99=%.1f p999=%.1f",
                stats.sent, stats.received, stats.wrong,
                stats.histogram.Quantile(0.50), stats.histogram.Quantile(0.99),
                stats.histogram.Quantile(0.999));
  Say(line);
  AwaitStdinClosed();
  return 0;
}

int RunPonger(std::string_view id, bool blocking, bool pin) {
  shared_internal::ChildSetup(pin, 1);
  InitRuntime();
  Subscriber pings(Service(id, "-ping"), SubscriberOptions());
  Publisher pongs(Service(id, "-pong"), PublisherOptions());
  std::optional<iox::popo::WaitSet<>> waitset;
  iox::popo::WaitSet<>* wait = AttachWaitSet(blocking, pings, waitset);
  Say("ready");
  int64_t echoed = 0;
  for (;;) {
    const int64_t v = Receive(pings, wait);
    if (v < 0) break;  // the stop value
    Send(pongs, v);
    ++echoed;
  }
  Say("done echoed=" + std::to_string(echoed));
  return 0;
}

// iox-roudi:PPID:PATH:CONFIG: dies with the bench (SIGTERM: RouDi then
// removes its shared memory and sockets), then becomes iox-roudi.
int ExecRouDi(std::string_view arg) {
  const size_t first = arg.find(':');
  const size_t second =
      first == std::string_view::npos ? first : arg.find(':', first + 1);
  if (second == std::string_view::npos) {
    Say("error bad iox-roudi argument '" + std::string(arg) + "'");
    return 1;
  }
  const std::string parent(arg.substr(0, first));
  const std::string binary(arg.substr(first + 1, second - first - 1));
  const std::string config(arg.substr(second + 1));
  // RouDi's log (stderr) into the pipe too: the bench shows it when RouDi
  // fails to start, and forwards what it writes between runs.
  dup2(STDOUT_FILENO, STDERR_FILENO);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The bench died before prctl: nobody would stop this RouDi.
  if (std::to_string(getppid()) != parent) return 1;
  const char* argv[] = {"iox-roudi", "-c", config.c_str(), "-m",      "off",
                        "-k",        "1",  "-l",           "warning", nullptr};
  execv(binary.c_str(), const_cast<char* const*>(argv));
  Say("error execv " + binary + ": " + std::strerror(errno));
  return 1;
}

RINGFLOW_BENCH_PEER_WARNINGS_ON

}  // namespace

std::string IceoryxSkipReason() {
  if (FindRouDi().empty()) {
    return "skipped: iox-roudi not found in PATH (Debian package iceoryx; "
           "make deps)";
  }
  const int fd = open(kRouDiLock, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (!held) flock(fd, LOCK_UN);
    close(fd);
    if (held) {
      return std::string("skipped: another iox-roudi is running (it holds ") +
             kRouDiLock + "); iceoryx 2.0 runs one RouDi per machine";
    }
  }
  return {};
}

RunFn IceoryxRun(const Scenario& s) {
  auto session = std::make_shared<RouDiSession>();
  if (s.topology == Topology::kOneToOne && s.batch == 1) {
    return [session](const RunContext& ctx) {
      return IceoryxOneToOne(ctx, *session);
    };
  }
  if (s.record_bytes > 0 && s.producers == 1) {
    return [session, n = s.record_bytes](const RunContext& ctx) {
      return IceoryxBytes(ctx, *session, n);
    };
  }
  if (s.topology == Topology::kPingPong) {
    const bool blocking = s.wait == WaitStrategyKind::kBlocking;
    return [session, blocking](const RunContext& ctx) {
      return IceoryxPingPong(ctx, *session, blocking);
    };
  }
  return nullptr;
}

std::optional<int> RunIceoryxChild(std::string_view role, std::string_view arg,
                                   int64_t events, bool pin) {
  if (role == "iox-roudi") return ExecRouDi(arg);
  if (role == "iox-sub") return RunSubscriber(arg, events, pin);
  if (role == "iox-pub") return RunPublisher(arg, events, pin);
  if (role == "iox-bytes-sub") return RunByteSubscriber(arg, events, pin);
  if (role == "iox-bytes-pub") return RunBytePublisher(arg, events, pin);
  if (role == "iox-ping-spin" || role == "iox-ping-wait") {
    return RunPinger(arg, events, role == "iox-ping-wait", pin);
  }
  if (role == "iox-pong-spin" || role == "iox-pong-wait") {
    return RunPonger(arg, role == "iox-pong-wait", pin);
  }
  return std::nullopt;
}

}  // namespace ringflow::bench

#else  // !RINGFLOW_BENCH_ICEORYX

namespace ringflow::bench {

std::string IceoryxSkipReason() {
  return "skipped: this ringflow_bench was built without iceoryx (CMake "
         "found no iceoryx_posh: libiceoryx-posh-dev, make deps; "
         "ringflow_bench_static never links it)";
}

RunFn IceoryxRun(const Scenario& /*s*/) { return nullptr; }

std::optional<int> RunIceoryxChild(std::string_view role,
                                   std::string_view /*arg*/, int64_t /*events*/,
                                   bool /*pin*/) {
  if (role.substr(0, 4) != "iox-") return std::nullopt;
  std::printf("error built without iceoryx\n");
  return 1;
}

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_ICEORYX
