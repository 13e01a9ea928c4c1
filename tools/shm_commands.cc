// tools/shm_commands.cc — the commands that look at rings from outside.
//
//   ringflow list                      rings under /dev/shm with our magic
//   ringflow stat NAME [--json] [--watch] [--count=N]
//   ringflow rm NAME
//   ringflow consume NAME [--name=C] [--verify] [--max_events=N]
//                    [--start=latest|oldest]
//   ringflow serve-metrics NAME... [--listen=HOST:PORT] [--serve_seconds=S]
//
// Each command accepts only its own flags (kListSpec ... below).
// Errors: one line on stderr naming what was wrong, exit status 1.
//
// Files under /dev/shm are untrusted: anyone may create a FIFO, a symlink
// or a directory there under a ring's name. The commands check that a
// ring's paths are regular files (lstat, no symlinks followed) before the
// library opens them, since opening a FIFO blocks.

#include "tools/shm_commands.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/observability/control_metrics_source.h"
#include "ringflow/observability/metrics_exporter.h"
#include "ringflow/shm/internal/byte_control.h"
#include "ringflow/shm/internal/byte_record_walk.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/shared_consumer.h"
#include "tools/command_line.h"
#include "tools/json.h"
#include "tools/latency_histogram.h"
#include "tools/tick.h"

// Each flag belongs to one command (its CommandSpec below).
ABSL_FLAG(bool, json, false, "print JSON instead of a table");
ABSL_FLAG(bool, watch, false, "repeat the report every second");
ABSL_FLAG(int, count, 0,
          "with --watch: stop after N reports, 0 to 1000000 (0: forever)");
ABSL_FLAG(std::string, name, "", "the consumer's name (empty: one is made up)");
ABSL_FLAG(bool, verify, false,
          "check every tick's sequence, payload and checksum");
ABSL_FLAG(int64_t, max_events, 0,
          "stop after N events, 0 to 10^18 (0: until the end-of-stream "
          "tick)");
ABSL_FLAG(std::string, start, "latest", "where to start: latest | oldest");
ABSL_FLAG(std::string, listen, "127.0.0.1:9464",
          "host:port to serve /metrics on (port 0 picks a free one)");
ABSL_FLAG(bool, force, false,
          "remove even a ring in use (its producer and consumers keep their "
          "mappings, and a new producer may take the name) or a file that is "
          "not a ring");
ABSL_FLAG(double, serve_seconds, 0,
          "stop after S seconds, 0 to 604800 (0: until interrupted)");

namespace ringflow::tools {
namespace {

using shm_internal::ConsumerSlot;
using shm_internal::Control;

constexpr const char* kShmDir = shm_internal::kShmDirectory;
constexpr int kMaxWatchCount = 1'000'000;
constexpr int64_t kMaxConsumeEvents = 1'000'000'000'000'000'000;
constexpr double kMaxServeSeconds = 7 * 24 * 3600;

constexpr CommandSpec kListSpec{"list", "ringflow list", {}};
constexpr absl::string_view kStatFlags[] = {"json", "watch", "count"};
constexpr CommandSpec kStatSpec{
    "stat", "ringflow stat NAME [--json] [--watch [--count=N]]", kStatFlags};
constexpr absl::string_view kRmFlags[] = {"force"};
constexpr CommandSpec kRmSpec{
    "rm",
    "ringflow rm NAME [--force]\n\n"
    "Refuses a ring whose producer or consumers are alive (naming their "
    "pids) and a file that is not a ringflow ring, unless --force.",
    kRmFlags};
constexpr absl::string_view kConsumeFlags[] = {"name", "verify", "max_events",
                                               "start"};
constexpr CommandSpec kConsumeSpec{
    "consume",
    "ringflow consume NAME [--name=C] [--verify] [--max_events=N] "
    "[--start=latest|oldest]\n\n"
    "Exit status 0 only when the stream ended cleanly (the end-of-stream tick "
    "or --max_events reached) and, with --verify, every tick checked out; 1 "
    "when the producer died, this consumer was evicted, or a tick was lost, "
    "duplicated or corrupt.",
    kConsumeFlags};
constexpr absl::string_view kServeMetricsFlags[] = {"listen", "serve_seconds"};
constexpr CommandSpec kServeMetricsSpec{
    "serve-metrics",
    "ringflow serve-metrics NAME... [--listen=HOST:PORT] [--serve_seconds=S]",
    kServeMetricsFlags};

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "ringflow %s: %s\n", command,
               std::string(status.ToString()).c_str());
  return 1;
}

std::string StateName(uint32_t word) {
  switch (shm_internal::ConsumerSlot::StateOf(word)) {
    case shm_internal::ConsumerSlot::kFree:
      return "free";
    case shm_internal::ConsumerSlot::kAttaching:
      return "attaching";
    case shm_internal::ConsumerSlot::kJoining:
      return "joining";
    case shm_internal::ConsumerSlot::kActive:
      return "active";
    case shm_internal::ConsumerSlot::kEvicted:
      return "evicted";
  }
  return "?";
}

// Strings read from shared memory are untrusted: bounded by their arrays,
// and escaped (JsonEscape) in JSON.
std::string SlotName(const shm_internal::ConsumerSlot& slot) {
  return std::string(slot.name, strnlen(slot.name, sizeof(slot.name)));
}
std::string TypeTag(const shm_internal::ControlHeader& h) {
  return std::string(h.type_tag, strnlen(h.type_tag, sizeof(h.type_tag)));
}

void PrintStat(const shm_internal::Control& control, bool json) {
  const shm_internal::ControlHeader& h = control.header();
  const int64_t now = shm_internal::MonotonicNanos();
  const int64_t cursor = control.cursor().LoadAcquire();
  const int64_t published = control.PublishedSequence();
  const shm_internal::ProducerLiveness& live = control.liveness();
  const int32_t pid = live.pid.load(std::memory_order_acquire);
  const bool alive = control.ProducerAlive();
  const double beat_age =
      static_cast<double>(now -
                          live.heartbeat_ns.load(std::memory_order_relaxed)) /
      1e9;
  std::string consumers;
  std::string table;
  for (int i = 0; i < control.max_consumers(); ++i) {
    const shm_internal::ConsumerSlot& slot = control.slot(i);
    const uint32_t word = slot.state.load(std::memory_order_acquire);
    if (shm_internal::ConsumerSlot::StateOf(word) ==
            shm_internal::ConsumerSlot::kFree &&
        slot.evictions.load(std::memory_order_relaxed) == 0) {
      continue;
    }
    const int64_t sequence = slot.sequence.LoadAcquire();
    const int64_t lag = std::max<int64_t>(0, published - sequence);
    const double age =
        static_cast<double>(now -
                            slot.heartbeat_ns.load(std::memory_order_relaxed)) /
        1e9;
    const uint64_t evictions = slot.evictions.load(std::memory_order_relaxed);
    const int32_t consumer_pid = slot.pid.load(std::memory_order_relaxed);
    absl::StrAppendFormat(
        &consumers,
        "%s{\"slot\":%d,\"name\":\"%s\",\"state\":\"%s\",\"pid\":%d,"
        "\"sequence\":%d,\"lag\":%d,\"heartbeat_age_s\":%.3f,\"evictions\":%u}",
        consumers.empty() ? "" : ",", i, JsonEscape(SlotName(slot)),
        StateName(word), consumer_pid, sequence, lag, age, evictions);
    absl::StrAppendFormat(&table,
                          "  %-4d %-24s %-9s %8d %14d %10d %9.3fs %9u\n", i,
                          SlotName(slot), StateName(word), consumer_pid,
                          sequence, lag, age, evictions);
  }
  std::string counters;
  std::string counter_table;
  if (const auto* block = control.counters()) {
    block->ForEach([&](const core_internal::CounterView& c) {
      if (c.type == core_internal::CounterType::kHistogramBucket) return;
      absl::StrAppendFormat(
          &counters, "%s{\"name\":\"%s\",\"labels\":\"%s\",\"value\":%u}",
          counters.empty() ? "" : ",", JsonEscape(c.name), JsonEscape(c.labels),
          c.value);
      absl::StrAppendFormat(&counter_table, "  %-46s %-36s %14u\n",
                            std::string(c.name), std::string(c.labels),
                            c.value);
    });
  }
  if (json) {
    std::printf(
        "{\"ring\":\"%s\",\"capacity\":%lld,\"event_size\":%llu,"
        "\"type_tag\":\"%s\",\"producer_type\":\"%s\",\"wait_strategy\":\"%s\","
        "\"cursor\":%lld,\"published\":%lld,\"producer\":{\"pid\":%d,"
        "\"alive\":%s,\"heartbeat_age_s\":%.3f},\"consumers\":[%s],"
        "\"counters\":[%s]}\n",
        JsonEscape(control.ring_name()).c_str(),
        static_cast<long long>(h.capacity),
        static_cast<unsigned long long>(h.event_size),
        JsonEscape(TypeTag(h)).c_str(),
        std::string(ProducerTypeName(control.producer_type())).c_str(),
        std::string(
            WaitStrategyName(static_cast<WaitStrategyKind>(h.wait_strategy)))
            .c_str(),
        static_cast<long long>(cursor), static_cast<long long>(published), pid,
        alive ? "true" : "false", beat_age, consumers.c_str(),
        counters.c_str());
    return;
  }
  std::printf(
      "ring %s: capacity %s, event %llu bytes (tag '%s'), %s producer, "
      "%s wait\n",
      control.ring_name().c_str(), WithSeparators(h.capacity).c_str(),
      static_cast<unsigned long long>(h.event_size), TypeTag(h).c_str(),
      std::string(ProducerTypeName(control.producer_type())).c_str(),
      std::string(
          WaitStrategyName(static_cast<WaitStrategyKind>(h.wait_strategy)))
          .c_str());
  std::printf(
      "producer pid %d (%s), heartbeat %.3fs ago; cursor %s, "
      "published %s\n",
      pid, alive ? "alive" : "gone", beat_age, WithSeparators(cursor).c_str(),
      WithSeparators(published).c_str());
  std::printf("  %-4s %-24s %-9s %8s %14s %10s %10s %9s\n%s", "slot",
              "consumer", "state", "pid", "sequence", "lag", "heartbeat",
              "evictions", table.c_str());
  if (!counter_table.empty())
    std::printf("counters\n%s", counter_table.c_str());
}

// `stat` of a byte ring: geometry, tail, producer liveness, the producer
// counters, and each reader's position and lag in bytes.
// Each reader's lag in records: the committed data records between its
// position and the tail, counted on a read-only mapping of the records
// (the readers' own counts stay in their processes). -1 for every reader
// when the data segment cannot be mapped or is not this ring's; a walk
// that stops early (a claim in flight) counts what it passed.
std::vector<int64_t> ReaderLagRecords(const shm_internal::Control& control,
                                      const shm_internal::ByteRingStat& stat) {
  std::vector<int64_t> lag(stat.readers.size(), -1);
  auto data = shm_internal::Segment::Open(
      shm_internal::DataSegmentName(control.ring_name()),
      shm_internal::Segment::Access::kReadOnly);
  if (!data.ok() || !shm_internal::ValidateData(data->data(), data->size(),
                                                control.geometry())
                         .ok()) {
    return lag;
  }
  const auto* records = static_cast<const std::byte*>(data->data()) +
                        shm_internal::kDataHeaderBytes;
  for (size_t i = 0; i < stat.readers.size(); ++i) {
    const shm_internal::ByteReaderStat& r = stat.readers[i];
    lag[i] = shm_internal::CountCommittedRecords(records, stat.capacity,
                                                 r.position, stat.tail)
                 .records;
  }
  return lag;
}

void PrintByteStat(const shm_internal::Control& control,
                   const shm_internal::ByteRingStat& stat, bool json) {
  const std::vector<int64_t> lag_records = ReaderLagRecords(control, stat);
  const int64_t now = shm_internal::MonotonicNanos();
  const shm_internal::ProducerLiveness& live = control.liveness();
  // As PrintStat: display values of another process, each a recent one;
  // the creator's `ready` store (acquired by Inspect) published them, and
  // nothing printed here depends on their order.
  const int32_t pid = live.pid.load(std::memory_order_acquire);
  const bool alive = control.ProducerAlive();
  const double beat_age =
      static_cast<double>(now -
                          live.heartbeat_ns.load(std::memory_order_relaxed)) /
      1e9;
  std::string readers;
  std::string table;
  for (size_t i = 0; i < stat.readers.size(); ++i) {
    const shm_internal::ByteReaderStat& r = stat.readers[i];
    const shm_internal::ConsumerSlot& slot = control.slot(r.slot);
    // Relaxed: a display value (the reader's own heartbeat store is
    // relaxed too); it orders nothing.
    const double age =
        static_cast<double>(now -
                            slot.heartbeat_ns.load(std::memory_order_relaxed)) /
        1e9;
    const std::string state =
        r.state == shm_internal::ConsumerSlot::kEvicted ? "evicted" : "active";
    absl::StrAppendFormat(
        &readers,
        "%s{\"slot\":%d,\"name\":\"%s\",\"state\":\"%s\",\"pid\":%d,"
        "\"position\":%d,\"lag_bytes\":%d,\"lag_records\":%d,"
        "\"heartbeat_age_s\":%.3f,\"evictions\":%u}",
        readers.empty() ? "" : ",", r.slot, JsonEscape(r.name), state, r.pid,
        r.position, r.lag_bytes, lag_records[i], age, r.evictions);
    absl::StrAppendFormat(
        &table, "  %-4d %-24s %-9s %8d %16s %14s %11s %9.3fs %9u\n", r.slot,
        r.name, state, r.pid, WithSeparators(r.position),
        WithSeparators(r.lag_bytes),
        lag_records[i] < 0 ? "?" : WithSeparators(lag_records[i]), age,
        r.evictions);
  }
  if (json) {
    std::printf(
        "{\"ring\":\"%s\",\"kind\":\"bytes\",\"capacity\":%lld,"
        "\"producer_type\":\"%s\",\"tail\":%lld,\"gating\":%lld,"
        "\"producer\":{\"pid\":%d,\"alive\":%s,\"heartbeat_age_s\":%.3f},"
        "\"records\":%llu,\"payload_bytes\":%llu,\"padding_bytes\":%llu,"
        "\"skipped_bytes\":%llu,\"aborted_records\":%llu,"
        "\"recovered_records\":%llu,\"recovered_bytes\":%llu,"
        "\"full_waits\":%llu,\"readers\":[%s]}\n",
        JsonEscape(control.ring_name()).c_str(),
        static_cast<long long>(stat.capacity),
        std::string(ProducerTypeName(stat.producer_type)).c_str(),
        static_cast<long long>(stat.tail), static_cast<long long>(stat.gating),
        pid, alive ? "true" : "false", beat_age,
        static_cast<unsigned long long>(stat.records),
        static_cast<unsigned long long>(stat.payload_bytes),
        static_cast<unsigned long long>(stat.padding_bytes),
        static_cast<unsigned long long>(stat.skipped_bytes),
        static_cast<unsigned long long>(stat.aborted_records),
        static_cast<unsigned long long>(stat.recovered_records),
        static_cast<unsigned long long>(stat.recovered_bytes),
        static_cast<unsigned long long>(stat.full_waits), readers.c_str());
    return;
  }
  std::printf("byte ring %s: capacity %s bytes, %s producer\n",
              control.ring_name().c_str(),
              WithSeparators(stat.capacity).c_str(),
              std::string(ProducerTypeName(stat.producer_type)).c_str());
  std::printf("producer pid %d (%s), heartbeat %.3fs ago; tail %s bytes\n", pid,
              alive ? "alive" : "gone", beat_age,
              WithSeparators(stat.tail).c_str());
  std::printf(
      "records %s (%s payload bytes), padding %s bytes, skipped %s bytes "
      "(%s aborted claims), recovered %s records (%s bytes), full waits %s\n",
      WithSeparators(static_cast<int64_t>(stat.records)).c_str(),
      WithSeparators(static_cast<int64_t>(stat.payload_bytes)).c_str(),
      WithSeparators(static_cast<int64_t>(stat.padding_bytes)).c_str(),
      WithSeparators(static_cast<int64_t>(stat.skipped_bytes)).c_str(),
      WithSeparators(static_cast<int64_t>(stat.aborted_records)).c_str(),
      WithSeparators(static_cast<int64_t>(stat.recovered_records)).c_str(),
      WithSeparators(static_cast<int64_t>(stat.recovered_bytes)).c_str(),
      WithSeparators(static_cast<int64_t>(stat.full_waits)).c_str());
  std::printf("  %-4s %-24s %-9s %8s %16s %14s %11s %10s %9s\n%s", "slot",
              "reader", "state", "pid", "position", "lag bytes", "lag records",
              "heartbeat", "evictions", table.c_str());
}

}  // namespace

// (The library's own opens never block and refuse such files too.)
absl::Status CheckRingFiles(const std::string& ring) {
  // A valid name has no '/', so the paths stay in /dev/shm.
  if (absl::Status valid = shm_internal::ValidateRingName(ring); !valid.ok()) {
    return valid;
  }
  for (const std::string& name : {shm_internal::ControlSegmentName(ring),
                                  shm_internal::DataSegmentName(ring)}) {
    RINGFLOW_RETURN_IF_ERROR(shm_internal::CheckRegularOrAbsent(name));
  }
  return absl::OkStatus();
}

int ListCommand(int argc, char** argv) {
  const auto args = ParseCommand(argc, argv, kListSpec);
  if (!args.empty()) {
    return Fail("list", absl::InvalidArgumentError(absl::StrCat(
                            "unexpected argument '", args[0], "'")));
  }
  DIR* dir = opendir(kShmDir);
  if (dir == nullptr) {
    return Fail("list",
                absl::UnavailableError(absl::StrCat(
                    "cannot read ", kShmDir, ": ", std::strerror(errno))));
  }
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    const std::string file = entry->d_name;
    // ':' is in no ring name: "<ring>:data" is a ring's data segment.
    if (file[0] == '.' || file.find(':') != std::string::npos) continue;
    // Only regular files, looked at without opening or following them: a
    // FIFO would block the open, a symlink may point anywhere.
    struct stat st;
    if (fstatat(dirfd(dir), file.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    names.push_back(file);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  std::printf("%-32s %12s %8s %10s %-9s %9s %-6s\n", "ring", "capacity",
              "event", "cursor", "producer", "consumers", "kind");
  for (const std::string& name : names) {
    if (!shm_internal::ValidateRingName(name).ok()) continue;
    // Checked again by name: the file may have been swapped since the scan,
    // and the data segment is opened too.
    if (const absl::Status files = CheckRingFiles(name); !files.ok()) {
      std::printf("%-32s (%s)\n", name.c_str(),
                  std::string(files.message()).c_str());
      continue;
    }
    auto segment =
        shm_internal::Segment::Open(shm_internal::ControlSegmentName(name),
                                    shm_internal::Segment::Access::kReadOnly);
    if (!segment.ok()) continue;
    if (!shm_internal::ValidateControl(segment->data(), segment->size(),
                                       nullptr)
             .ok()) {
      continue;  // not a ringflow ring (or not ready)
    }
    auto control = shm_internal::Control::Inspect(name);
    if (!control.ok()) {
      std::printf("%-32s (%s)\n", name.c_str(),
                  std::string(control.status().message()).c_str());
      continue;
    }
    int active = 0;
    for (int i = 0; i < (*control)->max_consumers(); ++i) {
      active +=
          shm_internal::ConsumerSlot::StateOf(
              (*control)->slot(i).state.load(std::memory_order_acquire)) ==
          shm_internal::ConsumerSlot::kActive;
    }
    const bool bytes = (*control)->kind() == shm_internal::RingKind::kBytes;
    // A byte ring: records of any length ("-"), its tail as the cursor.
    int64_t cursor = (*control)->cursor().LoadAcquire();
    if (bytes) {
      auto stat = shm_internal::ReadByteRingStat(**control);
      if (!stat.ok()) continue;
      cursor = stat->tail;
    }
    std::printf(
        "%-32s %12lld %8s %10lld %-9s %9d %-6s\n", name.c_str(),
        static_cast<long long>((*control)->capacity()),
        bytes ? "-" : std::to_string((*control)->header().event_size).c_str(),
        static_cast<long long>(cursor),
        (*control)->ProducerAlive() ? "alive" : "gone", active,
        bytes ? "bytes" : "events");
  }
  return 0;
}

int StatCommand(int argc, char** argv) {
  const auto args = ParseCommand(argc, argv, kStatSpec);
  if (args.size() != 1) {
    return Fail("stat", absl::InvalidArgumentError("expected one ring name"));
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const bool watch = absl::GetFlag(FLAGS_watch);
  const int count = absl::GetFlag(FLAGS_count);
  if (absl::Status valid =
          CheckFlagRange("count", int64_t{count}, 0, kMaxWatchCount);
      !valid.ok()) {
    return Fail("stat", valid);
  }
  if (absl::Status files = CheckRingFiles(args[0]); !files.ok()) {
    return Fail("stat", files);
  }
  auto control = shm_internal::Control::Inspect(args[0]);
  if (!control.ok()) return Fail("stat", control.status());
  for (int n = 0;; ++n) {
    // A tool only reads, and must survive what others do to the files: a
    // truncated segment would raise SIGBUS on the next read.
    if (absl::Status intact = (*control)->CheckIntact(); !intact.ok()) {
      return Fail("stat", intact);
    }
    if ((*control)->kind() == shm_internal::RingKind::kBytes) {
      auto stat = shm_internal::ReadByteRingStat(**control);
      if (!stat.ok()) return Fail("stat", stat.status());
      PrintByteStat(**control, *stat, json);
    } else {
      PrintStat(**control, json);
    }
    std::fflush(stdout);
    if (!watch || (count > 0 && n + 1 >= count)) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (!json) std::printf("\n");
  }
  return 0;
}

int RmCommand(int argc, char** argv) {
  const auto args = ParseCommand(argc, argv, kRmSpec);
  if (args.size() != 1) {
    return Fail("rm", absl::InvalidArgumentError("expected one ring name"));
  }
  // Without --force, removes only a ring's segments, never another file
  // that happens to carry the name, and never a ring in use.
  const bool force = absl::GetFlag(FLAGS_force);
  if (absl::Status files = CheckRingFiles(args[0]); !files.ok() && !force) {
    return Fail(
        "rm", absl::Status(files.code(), absl::StrCat(files.message(),
                                                      ": not removed (--force "
                                                      "removes it anyway)")));
  }
  const absl::Status removed = shm_internal::Control::Remove(args[0], force);
  if (!removed.ok()) return Fail("rm", removed);
  std::printf("removed ring %s\n", args[0].c_str());
  return 0;
}

int ConsumeCommand(int argc, char** argv) {
  const auto args = ParseCommand(argc, argv, kConsumeSpec);
  if (args.size() != 1) {
    return Fail("consume",
                absl::InvalidArgumentError("expected one ring name"));
  }
  const std::string start = absl::GetFlag(FLAGS_start);
  if (start != "latest" && start != "oldest") {
    return Fail("consume", absl::InvalidArgumentError(absl::StrCat(
                               "--start=", start, " is not latest or oldest")));
  }
  const int64_t max_events = absl::GetFlag(FLAGS_max_events);
  if (absl::Status valid =
          CheckFlagRange("max_events", max_events, 0, kMaxConsumeEvents);
      !valid.ok()) {
    return Fail("consume", valid);
  }
  if (absl::Status files = CheckRingFiles(args[0]); !files.ok()) {
    return Fail("consume", files);
  }
  shm::SharedConsumerOptions options;
  options.name = absl::GetFlag(FLAGS_name);
  options.type_tag = kTickTypeTag;
  options.start = start == "oldest" ? shm::StartPosition::kOldest
                                    : shm::StartPosition::kLatest;
  auto consumer = shm::SharedConsumer<Tick>::Attach(args[0], options);
  if (!consumer.ok()) return Fail("consume", consumer.status());
  // A consumer reads the mapped segments directly; if another process of
  // the owner's uid truncates them mid-read (docs/shared-memory.md, "Trust
  // and failure model"), say so and exit 1 instead of dying of SIGBUS.
  struct sigaction bus {};
  bus.sa_handler = [](int) {
    static constexpr char kMessage[] =
        "ringflow consume: a segment of the ring was truncated under this "
        "consumer (SIGBUS); stopping\n";
    (void)!write(2, kMessage, sizeof(kMessage) - 1);
    _exit(1);
  };
  sigemptyset(&bus.sa_mask);
  sigaction(SIGBUS, &bus, nullptr);
  shm::SharedConsumer<Tick>& c = **consumer;
  // Ready line: a parent (the demo) waits for it before publishing.
  std::printf("consumer %s attached to %s at sequence %lld\n", c.name().c_str(),
              args[0].c_str(), static_cast<long long>(c.sequence()));
  std::fflush(stdout);

  const bool verify = absl::GetFlag(FLAGS_verify);
  StreamVerifier verifier(c.sequence() + 1);
  // Publish-to-read latency of each tick (its publish_ns is the
  // producer's steady clock, CLOCK_MONOTONIC: one clock on one host).
  LatencyHistogram latency;
  int64_t received = 0;
  shm::ConsumerState status = shm::ConsumerState::kOk;
  while (max_events == 0 || received < max_events) {
    status = c.WaitForEvents(absl::Seconds(1));
    if (status == shm::ConsumerState::kTimeout) {
      // Idle for a second: make sure the segments are still whole. (A dead
      // producer needs no check here: WaitForEvents returns kProducerGone
      // within a heartbeat interval, once every event it published was
      // read.)
      if (absl::Status intact = c.control().CheckIntact(); !intact.ok()) {
        return Fail("consume", intact);
      }
      continue;
    }
    if (status != shm::ConsumerState::kOk) break;
    bool end_of_stream = false;
    if (auto batch =
            c.TryLeaseBatch(max_events == 0 ? 4096 : max_events - received)) {
      int64_t sequence = batch->first_sequence();
      for (const Tick& tick : *batch) {
        if (IsEndOfStream(tick)) {  // the demo's last tick
          end_of_stream = true;
          break;
        }
        if (verify) {
          verifier.Observe(tick, sequence);
          latency.Record(SteadyNanos() - tick.publish_ns);
        }
        ++sequence;
        ++received;
      }
    }
    if (end_of_stream) {
      status = shm::ConsumerState::kStopped;
      break;
    }
  }
  // Clean ends: the end-of-stream tick, or --max_events reached. The loop
  // leaves otherwise only with kEvicted or kProducerGone.
  const bool clean = status == shm::ConsumerState::kStopped ||
                     (max_events > 0 && received >= max_events);
  const bool verified =
      !verify || (verifier.lost() == 0 && verifier.duplicated() == 0 &&
                  verifier.corrupt() == 0);
  if (verify && latency.count() > 0) {
    std::printf(
        "consumer %s latency (publish to read): p50 %lld ns, p99 %lld ns, "
        "max %lld ns\n",
        c.name().c_str(), static_cast<long long>(latency.Percentile(0.50)),
        static_cast<long long>(latency.Percentile(0.99)),
        static_cast<long long>(latency.max()));
  }
  std::printf(
      "consumer %s: %s events, %lld lost, %lld duplicated, %lld corrupt, "
      "checksum %016llx, stopped: %s\n",
      c.name().c_str(), WithSeparators(received).c_str(),
      static_cast<long long>(verifier.lost()),
      static_cast<long long>(verifier.duplicated()),
      static_cast<long long>(verifier.corrupt()),
      static_cast<unsigned long long>(verifier.checksum()),
      clean ? "done" : std::string(shm::ConsumerStateName(status)).c_str());
  std::fflush(stdout);
  if (!clean) {
    return Fail("consume",
                status == shm::ConsumerState::kEvicted
                    ? absl::AbortedError(absl::StrCat(
                          "consumer ", c.name(), " was evicted from ring '",
                          args[0], "' after ", received,
                          " events (too slow, or its heartbeat stalled)"))
                    : absl::UnavailableError(absl::StrCat(
                          "the producer of ring '", args[0], "' is gone after ",
                          received,
                          " events: the stream ended without its end-of-stream "
                          "tick")));
  }
  if (!verified) {
    return Fail("consume",
                absl::DataLossError(absl::StrCat(
                    "verification failed: ", verifier.lost(), " lost, ",
                    verifier.duplicated(), " duplicated, ", verifier.corrupt(),
                    " corrupt")));
  }
  return 0;
}

int ServeMetricsCommand(int argc, char** argv) {
  const auto args = ParseCommand(argc, argv, kServeMetricsSpec);
  if (args.empty()) {
    return Fail("serve-metrics",
                absl::InvalidArgumentError("expected at least one ring name"));
  }
  std::set<std::string> seen;
  for (const std::string& name : args) {
    if (!seen.insert(name).second) {
      return Fail(
          "serve-metrics",
          absl::InvalidArgumentError(absl::StrCat(
              "ring '", name,
              "' is named twice (each series would be exported twice)")));
    }
  }
  const double seconds = absl::GetFlag(FLAGS_serve_seconds);
  if (absl::Status valid =
          CheckFlagRange("serve_seconds", seconds, 0.0, kMaxServeSeconds);
      !valid.ok()) {
    return Fail("serve-metrics", valid);
  }
  for (const std::string& name : args) {
    if (absl::Status files = CheckRingFiles(name); !files.ok()) {
      return Fail("serve-metrics", files);
    }
  }
  auto exporter = observability::MetricsExporter::Create(
      {.listen_address = absl::GetFlag(FLAGS_listen)});
  if (!exporter.ok()) return Fail("serve-metrics", exporter.status());
  for (const std::string& name : args) {
    auto control = shm_internal::Control::Inspect(name);
    if (!control.ok()) return Fail("serve-metrics", control.status());
    (*exporter)->Add(std::make_shared<observability::ControlMetricsSource>(
        std::move(*control)));
  }
  std::printf("serving %zu ring(s) on %s\n", args.size(),
              (*exporter)->url().c_str());
  std::fflush(stdout);
  static std::atomic<bool> stop{false};
  signal(SIGINT, [](int) { stop.store(true); });
  signal(SIGTERM, [](int) { stop.store(true); });
  // In range (checked above): the product fits an int64_t.
  const auto until =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (!stop.load() &&
         (seconds <= 0 || std::chrono::steady_clock::now() < until)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

}  // namespace ringflow::tools
