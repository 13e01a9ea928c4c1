// tests/shm/shm_child.cc
//
// The helper program the multi-process shm tests fork/exec. One verb per
// run, arguments as key=value words; it reports on stdout, one line per
// step ("ready ...", "result ..."), flushed at once, and the test reads
// those lines as its handshake. Nothing here sleeps to synchronise.
//
//   consume ring=R [method=batch|lease|poll|poll-only] [count=N]
//           [start=latest|oldest] [name=NAME] [heartbeat_ms=100]
//           [idle_ms=30000] [batch=256] [delay_us=0] [beat=0]
//       Attaches with SharedConsumer<ShmEvent>, prints "ready name=...",
//       reads `count` events (count=-1: until stopped or killed) with one
//       read method, checking order and content (poll-only: Poll in a loop
//       and nothing else, for at most idle_ms), spinning delay_us per event
//       (a slow consumer) and calling status() before each wait if beat=1,
//       then prints "result <StreamCheck> status=<ok|timeout|evicted|
//       producer-gone|stuck-ok>" (stuck-ok: WaitForEvents said kOk for
//       idle_ms but no read returned anything). Exit 0 when it read `count`
//       events with no violation.
//   stall ring=R
//       Attaches, prints "ready", then does nothing (no heartbeat) until a
//       "go" line; then WaitForEvents(5 s) and TryLease once: "after
//       wait=<status> lease=0|1 status=<status()>".
//   attach ring=R
//       Attaches and prints "status code=<absl code> <message>" (the
//       permission tests run it as another user). Exit 0 when OK.
//   scribble ring=R
//       Attaches, leases the first event, prints "leased sequence=..", and
//       writes into it through a const_cast: the read-only data mapping must
//       kill it with SIGSEGV. Prints "wrote" and exits 3 if it survives.
//   produce ring=R [capacity=1024] [producer=single|multi (default:
//   RingOptions')] [count=-1]
//           [consumer_timeout_ms=2000]
//       SharedRing<ShmEvent>::Create, prints "created resumed=0|1
//       cursor=C", waits for a "go" line (exit 1 if stdin closes first),
//       publishes `count` events after the cursor (-1: until killed),
//       prints "done cursor=C" and exits when its stdin closes.
//   idle ring=R [heartbeat_ms=2000] [idle_ms=2000]
//       Attaches, prints "ready", measures its CPU time (getrusage) around
//       WaitForEvents(idle_ms) on an empty ring ("idle status=..
//       cpu_us=.."), then prints "waiting" and blocks in WaitForEvents until
//       the next publish ("woke status=.. t_ns=<CLOCK_MONOTONIC> ...").
//   churn ring=R [rounds=100] [events=64] [start=latest|oldest|alternate]
//         [nice=N]
//       Attaches and detaches `rounds` times (start=alternate: latest and
//       oldest in turn), reading `events` events each time while the producer
//       wraps: "result rounds=.. events=.. order_violations=..
//       content_violations=.. latest_violations=.. oldest_violations=..
//       oldest_backlog=.. [round=.. start=.. (the first bad read)]".
//   create-race ring=R
//       Waits for a "go" line, then SharedRing<ShmEvent>::Create (capacity
//       64) and prints its "status code=..." line, then "resumed=0|1" when
//       it won; holds the ring until stdin closes.
//   park-attach ring=R
//       Attaches with a test hook that prints "parked slot=N" right after
//       the slot turned kAttaching and then waits forever (to be killed).
//   tiny-tmpfs [capacity=65536] [tmpfs=1m] [exec=PROGRAM]
//       In a new mount namespace with a `tmpfs`-sized tmpfs on /dev/shm,
//       creates a ring of `capacity` ShmEvents: prints "skip <reason>" when
//       the namespace cannot be made, else "status code=..." and then
//       "leftover files=N" (what is left in /dev/shm afterwards). With
//       exec=PROGRAM it prints "exec" and runs `PROGRAM demo` there instead.
//   image out=PATH [kind=events|bytes]
//       Writes the control segment image of a fresh small ring (an event
//       ring, or a byte ring) to PATH (the fuzzer's seed corpus).
//   byte-read ring=R [count=N] [start=latest|oldest] [name=NAME]
//             [method=batch|claim] [first_seq=0]
//       Attaches with SharedByteReader, prints "ready name=..", reads
//       `count` records of the shm_bytes.h framing (checking every length,
//       byte and each producer's order), printing "gone position=P" each
//       time a wait reports kProducerGone (and waiting on), then "result
//       <ByteStreamCheck> skipped=<skipped bytes> gone=<times>
//       status=<state>". Exit 0 when it read `count` records cleanly.
//   byte-produce ring=R [capacity=4096] [producer=single|multi] [count=N]
//                [die_in_claim=0|1] [max_readers=8]
//       SharedByteRing::Create, prints "created resumed=0|1", waits for
//       "go", publishes `count` records of producer 0 (seq 0..count-1),
//       then with die_in_claim=1 claims one more record of seq `count`,
//       fills half of it, prints "claimed position=P bytes=B" (B: the
//       claim's size in the ring, header and padding to the record
//       included) and raises SIGKILL on itself; else prints "done" and
//       exits when its stdin closes.

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/shm/internal/byte_control.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/shared_byte_reader.h"
#include "ringflow/shm/shared_byte_ring.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "support/shm_bytes.h"
#include "support/shm_event.h"

namespace {

using ringflow::testing::Fields;
using ringflow::testing::FillShmEvent;
using ringflow::testing::kShmEventTag;
using ringflow::testing::PayloadOf;
using ringflow::testing::ShmEvent;
using ringflow::testing::StreamCheck;
namespace shm = ringflow::shm;
namespace shm_internal = ringflow::shm_internal;

// One line to stdout, unbuffered: the parent may be waiting for it.
void Say(const std::string& line) {
  const std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(1, data.data() + done, data.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Busy for `ns` nanoseconds: a slow consumer's work per event.
void Spin(int64_t ns) {
  if (ns <= 0) return;
  const int64_t until = ringflow::shm_internal::MonotonicNanos() + ns;
  while (ringflow::shm_internal::MonotonicNanos() < until) {
  }
}

int Fail(const std::string& what) {
  Say(absl::StrCat("error ", what));
  return 1;
}

std::string StatusLine(const absl::Status& status) {
  return absl::StrCat("status code=", absl::StatusCodeToString(status.code()),
                      " ", status.message());
}

// User + system CPU time of RUSAGE_SELF or RUSAGE_THREAD.
int64_t CpuMicros(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  return int64_t{usage.ru_utime.tv_sec} * 1'000'000 + usage.ru_utime.tv_usec +
         int64_t{usage.ru_stime.tv_sec} * 1'000'000 + usage.ru_stime.tv_usec;
}

absl::StatusOr<std::unique_ptr<shm::SharedConsumer<ShmEvent>>> AttachAs(
    const Fields& args, shm::StartPosition start) {
  shm::SharedConsumerOptions options;
  options.name = args.Get("name", "");
  options.type_tag = kShmEventTag;
  options.start = start;
  options.heartbeat_interval =
      absl::Milliseconds(args.Int("heartbeat_ms", 100));
  if (const int64_t uid = args.Int("trust_uid", -1); uid >= 0) {
    options.trusted_uids.push_back(static_cast<uint32_t>(uid));
  }
  if (const int64_t gid = args.Int("trust_gid", -1); gid >= 0) {
    options.trusted_gids.push_back(static_cast<uint32_t>(gid));
  }
  return shm::SharedConsumer<ShmEvent>::Attach(args.Get("ring"), options);
}

int Consume(const Fields& args) {
  const std::string method = args.Get("method", "batch");
  if (method != "batch" && method != "lease" && method != "poll" &&
      method != "poll-only") {
    return Fail(absl::StrCat("unknown method ", method));
  }
  const int64_t count = args.Int("count", -1);
  const int64_t batch = args.Int("batch", 256);
  const absl::Duration idle = absl::Milliseconds(args.Int("idle_ms", 30'000));
  const int64_t delay_ns = args.Int("delay_us", 0) * 1000;
  const bool beat = args.Int("beat", 0) != 0;
  auto consumer = AttachAs(args, args.Get("start", "latest") == "oldest"
                                     ? shm::StartPosition::kOldest
                                     : shm::StartPosition::kLatest);
  if (!consumer.ok()) return Fail(StatusLine(consumer.status()));
  shm::SharedConsumer<ShmEvent>& c = **consumer;
  Say(absl::StrCat("ready name=", c.name(), " pid=", ::getpid(),
                   " sequence=", c.sequence()));
  StreamCheck check;
  std::string status = "ok";
  if (method == "poll-only") {
    // A user's own loop: Poll and nothing else (no WaitForEvents, no
    // status()), until `count` events or `idle` passed.
    const absl::Time deadline = absl::Now() + idle;
    while ((count < 0 || check.count < count) && absl::Now() < deadline) {
      const ringflow::PollState state =
          c.Poll([&](const ShmEvent& event, int64_t sequence, bool) {
            check.Add(event, sequence);
          });
      if (state != ringflow::PollState::kProcessing) sched_yield();
    }
    status = std::string(shm::ConsumerStateName(c.state()));
  }
  absl::Time last_progress = absl::Now();
  while (method != "poll-only" && (count < 0 || check.count < count)) {
    if (beat) (void)c.state();  // an explicit heartbeat
    const shm::ConsumerState s = c.WaitForEvents(idle);
    if (s != shm::ConsumerState::kOk) {
      status = std::string(shm::ConsumerStateName(s));
      break;
    }
    const int64_t before = check.count;
    const int64_t want =
        count < 0 ? batch : std::min(batch, count - check.count);
    if (method == "batch") {
      if (auto leased = c.TryLeaseBatch(want)) {
        for (int64_t i = 0; i < leased->size(); ++i) {
          check.Add((*leased)[i], leased->first_sequence() + i);
          Spin(delay_ns);
        }
      }
    } else if (method == "lease") {
      if (auto lease = c.TryLease()) {
        check.Add(**lease, lease->sequence());
        Spin(delay_ns);
      }
    } else {
      c.Poll([&](const ShmEvent& event, int64_t sequence, bool) {
        check.Add(event, sequence);
        Spin(delay_ns);
        return count < 0 || check.count < count;
      });
    }
    if (check.count != before) {
      last_progress = absl::Now();
    } else if (absl::Now() - last_progress > idle) {
      // WaitForEvents keeps saying events are ready, yet no read returns
      // any: report it instead of spinning forever.
      status = "stuck-ok";
      break;
    }
  }
  Say(absl::StrCat("result ", check.ToString(), " status=", status));
  const bool clean = check.order_violations == 0 &&
                     check.content_violations == 0 &&
                     (count < 0 || check.count == count);
  return clean && status == "ok" ? 0 : 2;
}

int Attach(const Fields& args) {
  auto consumer = AttachAs(args, shm::StartPosition::kLatest);
  Say(StatusLine(consumer.status()));
  return consumer.ok() ? 0 : 1;
}

int Stall(const Fields& args) {
  auto consumer = AttachAs(args, shm::StartPosition::kLatest);
  if (!consumer.ok()) return Fail(StatusLine(consumer.status()));
  Say("ready");
  std::string line;
  bool go = false;
  while (!go && std::getline(std::cin, line)) go = line == "go";
  if (!go) return Fail("stdin closed before go");
  const shm::ConsumerState waited =
      (*consumer)->WaitForEvents(absl::Seconds(5));
  const bool leased = (*consumer)->TryLease().has_value();
  Say(absl::StrCat("after wait=", std::string(shm::ConsumerStateName(waited)),
                   " lease=", leased ? 1 : 0, " status=",
                   std::string(shm::ConsumerStateName((*consumer)->state()))));
  return 0;
}

int Scribble(const Fields& args) {
  auto consumer = AttachAs(args, shm::StartPosition::kLatest);
  if (!consumer.ok()) return Fail(StatusLine(consumer.status()));
  Say("ready");
  if ((*consumer)->WaitForEvents(absl::Seconds(60)) !=
      shm::ConsumerState::kOk) {
    return Fail("no event arrived");
  }
  auto lease = (*consumer)->TryLease();
  if (!lease) return Fail("no lease");
  Say(absl::StrCat("leased sequence=", lease->sequence(),
                   " payload=", (*lease)->payload));
  // Die by the signal itself: no sanitizer report, no core file.
  ::signal(SIGSEGV, SIG_DFL);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  auto& event = const_cast<ShmEvent&>(**lease);
  std::atomic_ref<uint64_t>(event.payload)
      .store(0xdeadbeef, std::memory_order_relaxed);
  Say("wrote");
  return 3;
}

int Produce(const Fields& args) {
  shm::SharedRingOptions options;
  options.ring.name = args.Get("ring");
  options.ring.capacity = args.Int("capacity", 1024);
  options.ring.max_consumers = static_cast<int>(args.Int("max_consumers", 16));
  // Default: RingOptions' own (kMulti).
  if (args.Get("producer", "") == "single") {
    options.ring.producer_type = ringflow::ProducerType::kSingle;
  } else if (args.Get("producer", "") == "multi") {
    options.ring.producer_type = ringflow::ProducerType::kMulti;
  }
  options.consumer_timeout =
      absl::Milliseconds(args.Int("consumer_timeout_ms", 2000));
  options.mode = static_cast<uint32_t>(args.Int("mode", 0600));
  options.world_writable = args.Int("world_writable", 0) != 0;
  auto ring = shm::SharedRing<ShmEvent>::Create(options, kShmEventTag);
  if (!ring.ok()) return Fail(StatusLine(ring.status()));
  Say(absl::StrCat("created resumed=", (*ring)->resumed() ? 1 : 0,
                   " cursor=", (*ring)->Cursor()));
  std::string line;
  bool go = false;
  while (!go && std::getline(std::cin, line)) go = line == "go";
  if (!go) return Fail("stdin closed before go");
  const int64_t count = args.Int("count", -1);
  for (int64_t i = 0; count < 0 || i < count; ++i) {
    if (!(*ring)->PublishEvent(FillShmEvent)) return Fail("publish failed");
  }
  Say(absl::StrCat("done cursor=", (*ring)->Cursor()));
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

int Idle(const Fields& args) {
  auto consumer = AttachAs(args, shm::StartPosition::kLatest);
  if (!consumer.ok()) return Fail(StatusLine(consumer.status()));
  shm::SharedConsumer<ShmEvent>& c = **consumer;
  Say("ready");
  const int64_t process_before = CpuMicros(RUSAGE_SELF);
  const int64_t thread_before = CpuMicros(RUSAGE_THREAD);
  const int64_t wall_before = ringflow::shm_internal::MonotonicNanos();
  const shm::ConsumerState idle =
      c.WaitForEvents(absl::Milliseconds(args.Int("idle_ms", 2000)));
  const int64_t wall_ns =
      ringflow::shm_internal::MonotonicNanos() - wall_before;
  Say(absl::StrCat("idle status=", std::string(shm::ConsumerStateName(idle)),
                   " cpu_us=", CpuMicros(RUSAGE_SELF) - process_before,
                   " thread_cpu_us=", CpuMicros(RUSAGE_THREAD) - thread_before,
                   " wall_us=", wall_ns / 1000));
  Say("waiting");
  const shm::ConsumerState woke = c.WaitForEvents(absl::Seconds(60));
  const int64_t woke_ns = ringflow::shm_internal::MonotonicNanos();
  auto lease = c.TryLease();
  Say(absl::StrCat("woke status=", std::string(shm::ConsumerStateName(woke)),
                   " t_ns=", woke_ns,
                   " sequence=", lease ? lease->sequence() : -1, " valid=",
                   lease && (*lease)->sequence == lease->sequence() &&
                           (*lease)->payload == PayloadOf(lease->sequence())
                       ? 1
                       : 0));
  return 0;
}

int Churn(const Fields& args) {
  const int64_t rounds = args.Int("rounds", 100);
  const int64_t events = args.Int("events", 64);
  const std::string mode = args.Get("start", "alternate");
  // A low priority gets the attach preempted mid-protocol more often.
  if (args.Has("nice")) ::setpriority(PRIO_PROCESS, 0, args.Int("nice", 0));
  int64_t read = 0;
  int64_t order = 0;
  int64_t content[2] = {0, 0};  // by start position: latest, oldest
  int64_t oldest_backlog = 0;
  std::string first_bad;
  for (int64_t round = 0; round < rounds; ++round) {
    const bool oldest =
        mode == "oldest" || (mode != "latest" && round % 2 == 1);
    auto consumer = AttachAs(args, oldest ? shm::StartPosition::kOldest
                                          : shm::StartPosition::kLatest);
    if (!consumer.ok()) return Fail(StatusLine(consumer.status()));
    shm::SharedConsumer<ShmEvent>& c = **consumer;
    const int64_t start = c.sequence();
    const int64_t published = c.PublishedSequence();
    if (oldest) oldest_backlog += std::max<int64_t>(0, published - start);
    StreamCheck check;
    while (check.count < events) {
      const shm::ConsumerState s = c.WaitForEvents(absl::Seconds(30));
      if (s != shm::ConsumerState::kOk) {
        return Fail(absl::StrCat("round ", round, ": ",
                                 std::string(shm::ConsumerStateName(s))));
      }
      if (auto leased = c.TryLeaseBatch(events - check.count)) {
        for (int64_t i = 0; i < leased->size(); ++i) {
          const ShmEvent& event = (*leased)[i];
          const int64_t sequence = leased->first_sequence() + i;
          const int64_t bad_before = check.content_violations;
          check.Add(event, sequence);
          if (check.content_violations != bad_before && first_bad.empty()) {
            first_bad = absl::StrCat(
                "round=", round, " start=", oldest ? "oldest" : "latest",
                " attached_at=", start, " published_at_attach=", published,
                " read=", sequence, " found=", event.sequence);
          }
        }
      }
    }
    read += check.count;
    order += check.order_violations;
    content[oldest ? 1 : 0] += check.content_violations;
  }
  Say(absl::StrCat(
      "result rounds=", rounds, " events=", read, " order_violations=", order,
      " content_violations=", content[0] + content[1],
      " latest_violations=", content[0], " oldest_violations=", content[1],
      " oldest_backlog=", oldest_backlog, " ", first_bad));
  return order == 0 && content[0] + content[1] == 0 ? 0 : 2;
}

int CreateRace(const Fields& args) {
  std::string line;
  bool go = false;
  while (!go && std::getline(std::cin, line)) go = line == "go";
  if (!go) return Fail("stdin closed before go");
  shm::SharedRingOptions options;
  options.ring.name = args.Get("ring");
  options.ring.capacity = 64;
  auto ring = shm::SharedRing<ShmEvent>::Create(options, kShmEventTag);
  Say(StatusLine(ring.status()));
  if (ring.ok()) Say(absl::StrCat("resumed=", (*ring)->resumed() ? 1 : 0));
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

int ParkAttach(const Fields& args) {
  shm_internal::Control::SetAttachHookForTesting([](int slot) {
    Say(absl::StrCat("parked slot=", slot));
    for (;;) ::pause();
  });
  auto consumer = AttachAs(args, shm::StartPosition::kLatest);
  return Fail(StatusLine(consumer.status()));  // not reached
}

int TinyTmpfs(const Fields& args) {
  if (::unshare(CLONE_NEWNS) != 0) {
    Say(absl::StrCat("skip unshare(CLONE_NEWNS): ", std::strerror(errno)));
    return 0;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Say(absl::StrCat("skip mount --make-rprivate /: ", std::strerror(errno)));
    return 0;
  }
  const std::string size = "size=" + args.Get("tmpfs", "1m");
  if (::mount("tmpfs", "/dev/shm", "tmpfs", 0, size.c_str()) != 0) {
    Say(absl::StrCat("skip mount tmpfs on /dev/shm: ", std::strerror(errno)));
    return 0;
  }
  if (const std::string program = args.Get("exec", ""); !program.empty()) {
    // `ringflow demo` in the tiny namespace: the caller checks how it ends.
    Say("exec");
    ::execl(program.c_str(), program.c_str(), "demo", nullptr);
    return Fail(absl::StrCat("exec ", program, ": ", std::strerror(errno)));
  }
  shm::SharedRingOptions options;
  options.ring.name = "tiny";
  options.ring.capacity = args.Int("capacity", 65536);
  // The shape whose size the test names (1052672 bytes at 65536 slots).
  options.ring.producer_type = ringflow::ProducerType::kSingle;
  options.ring.max_consumers = 16;
  {
    auto ring = shm::SharedRing<ShmEvent>::Create(options, kShmEventTag);
    Say(StatusLine(ring.status()));
    if (ring.ok()) {
      for (int64_t i = 0; i < options.ring.capacity; ++i) {
        (*ring)->PublishEvent(FillShmEvent);
      }
      Say(absl::StrCat("published ", options.ring.capacity));
    }
  }
  (void)shm_internal::Control::Remove("tiny");
  int leftover = 0;
  if (DIR* dir = ::opendir("/dev/shm")) {
    while (dirent* entry = ::readdir(dir)) {
      leftover += entry->d_name[0] != '.';
    }
    ::closedir(dir);
  }
  Say(absl::StrCat("leftover files=", leftover));
  return 0;
}

int Image(const Fields& args) {
  const std::string ring_name = absl::StrCat("t", ::getpid(), "-image");
  (void)shm_internal::Control::Remove(ring_name);
  if (args.Get("kind", "events") == "bytes") {
    shm::SharedByteRingOptions options;
    options.ring.name = ring_name;
    options.ring.capacity = 64;
    options.ring.max_readers = 1;
    auto ring = shm::SharedByteRing::Create(options);
    if (!ring.ok()) return Fail(StatusLine(ring.status()));
  } else {
    shm::SharedRingOptions options;
    options.ring.name = ring_name;
    options.ring.capacity = 4;
    options.ring.max_consumers = 1;
    auto ring = shm::SharedRing<ShmEvent>::Create(options, kShmEventTag);
    if (!ring.ok()) return Fail(StatusLine(ring.status()));
  }  // the producer's housekeeping thread stops here
  auto segment = ringflow::shm_internal::Segment::Open(
      shm_internal::ControlSegmentName(ring_name),
      ringflow::shm_internal::Segment::Access::kReadOnly);
  if (!segment.ok()) {
    (void)shm_internal::Control::Remove(ring_name);
    return Fail(StatusLine(segment.status()));
  }
  std::ofstream out(args.Get("out"), std::ios::binary);
  out.write(static_cast<const char*>(segment->data()),
            static_cast<std::streamsize>(segment->size()));
  (void)shm_internal::Control::Remove(ring_name);
  if (!out) return Fail("cannot write the image");
  Say(absl::StrCat("image bytes=", segment->size()));
  return 0;
}

}  // namespace

int ByteRead(const Fields& args) {
  shm::SharedByteReaderOptions options;
  options.name = args.Get("name", "");
  options.start = args.Get("start", "latest") == "oldest"
                      ? ringflow::ReaderStart::kOldest
                      : ringflow::ReaderStart::kLatest;
  options.attach_timeout = absl::Seconds(30);
  auto reader = shm::SharedByteReader::Attach(args.Get("ring"), options);
  if (!reader.ok()) return Fail(StatusLine(reader.status()));
  shm::SharedByteReader& r = **reader;
  Say(absl::StrCat("ready name=", r.name()));
  const int64_t count = args.Int("count", -1);
  const int64_t first_seq = args.Int("first_seq", 0);
  const bool batch = args.Get("method", "batch") == "batch";
  ringflow::testing::ByteStreamCheck check;
  int64_t gone = 0;
  shm::ConsumerState state = shm::ConsumerState::kOk;
  while (count < 0 || check.count < count) {
    state = r.Wait();
    if (state == shm::ConsumerState::kProducerGone) {
      ++gone;
      Say(absl::StrCat("gone position=", r.position()));
      // Wait for a producer again: each wait reports kProducerGone at most
      // once per heartbeat interval while none runs.
      continue;
    }
    if (state != shm::ConsumerState::kOk) break;
    if (batch) {
      r.ReadBatch([&](std::span<const std::byte> record, int64_t, bool) {
        check.Check(record, first_seq);
      });
    } else if (auto claim = r.TryRead()) {
      check.Check(claim->data(), first_seq);
    }
  }
  Say(absl::StrCat("result ", check.ToString(), " skipped=", r.skipped_bytes(),
                   " gone=", gone,
                   " status=", std::string(shm::ConsumerStateName(state))));
  const bool clean = check.order_violations == 0 &&
                     check.content_violations == 0 &&
                     (count < 0 || check.count == count);
  return clean ? 0 : 2;
}

int ByteProduce(const Fields& args) {
  shm::SharedByteRingOptions options;
  options.ring.name = args.Get("ring");
  options.ring.capacity = args.Int("capacity", 4096);
  options.ring.max_readers = static_cast<int>(args.Int("max_readers", 8));
  options.ring.producer_type = args.Get("producer", "single") == "multi"
                                   ? ringflow::ProducerType::kMulti
                                   : ringflow::ProducerType::kSingle;
  auto ring = shm::SharedByteRing::Create(options);
  if (!ring.ok()) return Fail(StatusLine(ring.status()));
  Say(absl::StrCat("created resumed=", (*ring)->resumed() ? 1 : 0));
  std::string line;
  bool go = false;
  while (!go && std::getline(std::cin, line)) go = line == "go";
  if (!go) return Fail("stdin closed before go");
  const int64_t count = args.Int("count", 0);
  for (int64_t seq = 0; seq < count; ++seq) {
    const std::vector<std::byte> record =
        ringflow::testing::ByteRecord(0, static_cast<uint64_t>(seq));
    if (!(*ring)->Publish(record)) return Fail("publish failed");
  }
  if (args.Int("die_in_claim", 0) != 0) {
    const auto seq = static_cast<uint64_t>(count);
    const size_t length = ringflow::testing::ByteRecordLength(0, seq);
    const int64_t before = (*ring)->ClaimedPosition();
    auto claim = (*ring)->Claim(static_cast<int64_t>(length));
    if (!claim) return Fail("claim failed");
    std::memset(claim->data().data(), 0x5a, length / 2);
    Say(absl::StrCat("claimed position=", claim->position(),
                     " bytes=", (*ring)->ClaimedPosition() - before));
    // Die by the signal itself, inside the claim: no destructor aborts it.
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::raise(SIGKILL);
    return 3;
  }
  Say("done");
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return Fail("usage: shm_child VERB key=value...");
  std::string words;
  for (int i = 2; i < argc; ++i) absl::StrAppend(&words, argv[i], " ");
  const Fields args(words);
  const std::string_view verb = argv[1];
  if (verb == "consume") return Consume(args);
  if (verb == "attach") return Attach(args);
  if (verb == "scribble") return Scribble(args);
  if (verb == "stall") return Stall(args);
  if (verb == "produce") return Produce(args);
  if (verb == "idle") return Idle(args);
  if (verb == "churn") return Churn(args);
  if (verb == "image") return Image(args);
  if (verb == "byte-read") return ByteRead(args);
  if (verb == "byte-produce") return ByteProduce(args);
  if (verb == "create-race") return CreateRace(args);
  if (verb == "park-attach") return ParkAttach(args);
  if (verb == "tiny-tmpfs") return TinyTmpfs(args);
  return Fail(absl::StrCat("unknown verb ", std::string(verb)));
}
